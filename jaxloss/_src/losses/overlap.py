"""Overlap losses beyond Keras: soft Jaccard (IoU) and focal Tversky.

Both reuse the soft true positives, false positives and false negatives of
:func:`jaxloss.dice` / :func:`jaxloss.tversky` and their ``axis`` convention:
the sums run over ``axis``, and the default ``axis=None`` sums over *every*
axis, batch included, giving one scalar (Keras's behaviour for Dice). Pass
e.g. ``axis=(1, 2, 3)`` for one value per image.
"""

from __future__ import annotations

from jaxloss._src import numerics
from jaxloss._src import validation
from jaxloss._src.losses.segmentation import overlap_terms
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped


def _tversky_index(tp, fp, fn_, alpha, beta):
  """``tp / (tp + alpha fp + beta fn + 1e-7)``; Jaccard is alpha = beta = 1."""
  return tp / (tp + alpha * fp + beta * fn_ + numerics.EPSILON)


@scoped
def jaccard(y_true, y_pred, *, axis=None):
  """Soft Jaccard (intersection-over-union) loss.

  With soft ``tp = sum(t p)``, ``fp = sum((1 - t) p)`` and
  ``fn = sum(t (1 - p))`` over ``axis``::

      loss = 1 - tp / (tp + fp + fn + 1e-7)
           = 1 - sum(t p) / (sum(t) + sum(p) - sum(t p) + 1e-7)

  It is :func:`jaxloss.tversky` with ``alpha = beta = 1``. For binary ``t``
  and ``p`` it is one minus the Jaccard index (up to the ``1e-7``); empty
  target and prediction give 0.

  Args:
    y_true: targets in [0, 1], shape of ``y_pred`` (Keras's trailing-1 rule
      applies).
    y_pred: probabilities in [0, 1], e.g. ``[B, H, W, C]``.
    axis: the axes summed over: ``None`` (every axis, batch included, one
      scalar), an int or a tuple of ints.

  Returns:
    ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``), in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if the shapes differ or ``axis`` is out of range.
    TypeError: if ``y_pred`` is not floating.

  Example:
    >>> import jaxloss
    >>> jaxloss.jaccard([[1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0]], axis=1)
    Array([0.6666667], dtype=float32)

  References:
    Rahman & Wang, "Optimizing Intersection-Over-Union in Deep Neural
    Networks for Image Segmentation", ISVC 2016 (the soft IoU, Eq. 3-4).
  """
  tp, fp, fn_, dt = overlap_terms("jaccard", y_true, y_pred, axis)
  return (1.0 - _tversky_index(tp, fp, fn_, 1.0, 1.0)).astype(dt)


@scoped
def focal_tversky(y_true, y_pred, *, alpha=0.5, beta=0.5, gamma=0.75,
                  axis=None):
  """Focal Tversky loss (Abraham & Khan 2019).

  With soft ``tp``, ``fp``, ``fn`` over ``axis`` as in
  :func:`jaxloss.tversky`::

      TI = tp / (tp + alpha fp + beta fn + 1e-7)
      loss = (1 - TI) ** gamma

  ``alpha`` weighs false positives and ``beta`` false negatives, as in
  :func:`jaxloss.tversky` (the paper names them the other way round: its
  ``alpha = 0.7`` on false negatives is ``beta=0.7`` here). The paper writes
  the exponent as ``1 / gamma`` with ``gamma = 4/3``; here ``gamma`` is the
  exponent itself, ``0.75`` by default as in the authors' code. ``gamma = 1``
  is :func:`jaxloss.tversky`. The gradient at ``TI = 1`` is taken as 0 (the
  true one is infinite for ``gamma < 1``).

  Args:
    y_true: targets in [0, 1], shape of ``y_pred`` (Keras's trailing-1 rule
      applies).
    y_pred: probabilities in [0, 1], e.g. ``[B, H, W, C]``.
    alpha: weight of the false positives, >= 0.
    beta: weight of the false negatives, >= 0.
    gamma: the focal exponent, >= 0.
    axis: the axes summed over: ``None`` (every axis, batch included, one
      scalar), an int or a tuple of ints.

  Returns:
    ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``), in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if ``alpha``, ``beta`` or ``gamma`` is negative, the shapes
      differ or ``axis`` is out of range.
    TypeError: if ``y_pred`` is not floating.

  Example:
    >>> import jaxloss
    >>> jaxloss.focal_tversky([[1.0, 0.0, 1.0, 1.0]], [[1.0, 1.0, 0.0, 1.0]],
    ...                       gamma=0.5, axis=1)
    Array([0.57735026], dtype=float32)

  References:
    Abraham & Khan, "A Novel Focal Tversky Loss Function with Improved
    Attention U-Net for Lesion Segmentation", ISBI 2019 (Eq. 3-4).
  """
  fn = "focal_tversky"
  validation.check_range(fn, "alpha", alpha, low=0.0)
  validation.check_range(fn, "beta", beta, low=0.0)
  validation.check_range(fn, "gamma", gamma, low=0.0)
  tp, fp, fn_, dt = overlap_terms(fn, y_true, y_pred, axis)
  index = _tversky_index(tp, fp, fn_, alpha, beta)
  return numerics.safe_pow(1.0 - index, gamma).astype(dt)


Jaccard = loss_class(jaccard, "Jaccard")
FocalTversky = loss_class(focal_tversky, "FocalTversky")
