"""Overlap losses: soft Dice, Tversky, Jaccard (IoU), focal Tversky, the
per-class smoothed Dice/Tversky and generalised Dice of the optax form, and
the Lovász surrogates.

One kernel holds the soft counts every index is built from
(:func:`overlap_terms`: ``tp = sum(t p)``, ``fp = sum((1 - t) p)``,
``caller = sum(t (1 - p))`` over ``axis``); the Tversky index
``tp / (tp + alpha fp + beta fn)`` is the one formula behind Tversky, focal
Tversky, Dice (``alpha = beta = 1/2``) and the smoothed per-class form.

The Keras-form losses follow Keras's ``axis`` convention: the sums run over
``axis``, and the default ``axis=None`` sums over *every* axis, batch
included, giving one scalar (Keras's behaviour). Pass e.g.
``axis=(1, 2, 3)`` for one value per image.

The Lovász losses (Berman et al. 2018) are convex surrogates of the Jaccard
loss: the Lovász extension of ``Delta_J`` evaluated at the sorted errors
(see :func:`lovasz_hinge` and :func:`lovasz_softmax`).
"""

from __future__ import annotations

from collections.abc import Sequence
import numbers

import jax
from jax import core as jax_core
import jax.numpy as jnp
import numpy as np

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# ----------------------------------------------------------------------------
# Overlap losses of Keras 3 for segmentation: Dice and Tversky.


def without_ignored(t, p, ignore_index):
  """``t`` and ``p`` with the entries where ``t == ignore_index`` set to 0,
  so they add to no soft count (segmentation-models-pytorch's rule)."""
  if ignore_index is None:
    return t, p
  keep = t != ignore_index
  return jnp.where(keep, t, 0.0), jnp.where(keep, p, 0.0)


def _overlap_inputs(caller, y_true, y_pred, axis, ignore_index):
  validation.axis(caller, axis, optional=True, sequence=True)
  validation.number(caller, "ignore_index", ignore_index, optional=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred)
  t, p = without_ignored(t, p, ignore_index)
  return t, p, dt


def zero_absent(loss, target_mass, zero_absent_classes):
  """``loss``, or 0 where ``target_mass`` (the targets summed over the
  loss's axes) is 0 when ``zero_absent_classes`` is True: a class absent
  from the targets gets loss 0 and still counts in a later mean
  (segmentation-models-pytorch's rule for Dice, Jaccard and Tversky); a NaN
  in ``loss`` stays NaN."""
  if not zero_absent_classes:
    return loss
  return jnp.where(target_mass > 0, loss, 0.0 * loss)  # NaN propagates


def _score_loss(score, log_loss):
  """``1 - score``, or ``-log(max(score, 1e-7))`` with ``log_loss``
  (segmentation-models-pytorch's ``log_loss``)."""
  if log_loss:
    return -jnp.log(jnp.maximum(score, numerics.EPSILON))
  return 1.0 - score


def overlap_terms(caller, y_true, y_pred, axis, ignore_index=None):
  """Soft true positives, false positives, false negatives summed over axis.

  Returns ``(tp, fp, fn, out_dtype)``, with ``tp = sum(t p)``,
  ``fp = sum((1 - t) p)`` and ``fn = sum(t (1 - p))``; entries whose
  target is ``ignore_index`` count nowhere.
  """
  t, p, dt = _overlap_inputs(caller, y_true, y_pred, axis, ignore_index)
  axes = shapes.canonical_axes(caller, axis, p.ndim)
  # Keras's operand order, so Tversky compiles to Keras's program.
  tp = jnp.sum(t * p, axis=axes)
  fn_ = jnp.sum((1.0 - p) * t, axis=axes)
  fp = jnp.sum(p * (1.0 - t), axis=axes)
  return tp, fp, fn_, dt


@scoped
def dice(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  axis: int | tuple[int, ...] | None = None,
  ignore_index: float | None = None,
  log_loss: bool = False,
  zero_absent_classes: bool = False,
) -> jax.Array:
  """Soft Dice loss.

  ``loss = 1 - 2 sum(t p) / (sum(t) + sum(p) + 1e-7)``, sums over ``axis``.
  Entries whose target equals ``ignore_index`` are left out of every sum;
  ``log_loss=True`` gives ``-log(max(Dice, 1e-7))`` instead of
  ``1 - Dice``; ``zero_absent_classes=True`` sets the loss to 0 where
  ``sum(t) = 0`` (segmentation-models-pytorch's three options).

  Args:
    y_true: targets in [0, 1] ``[B, ...]``.
    y_pred: probabilities, shape of ``y_true``.
    axis: the axes summed over; ``None`` (Keras's default) sums over all
      axes, pooling the batch into one value.
    ignore_index: a target value whose entries are left out of every sum
      (``None``: none).
    log_loss: ``-log(max(Dice, 1e-7))`` instead of ``1 - Dice``.
    zero_absent_classes: give 0 (instead of ``1 - 0 / (sum(p) + 1e-7)``,
      i.e. 1) to a value whose targets sum to 0 over ``axis``: a class
      absent from the targets, which still counts in any later mean. With
      one-hot ``[B, H, W, C]`` inputs, ``axis=(0, 1, 2)`` and a mean over
      the ``C`` values this is segmentation-models-pytorch's multi-class
      ``DiceLoss``; ``axis=(1, 2)`` is the same rule per image.

  Returns:
    The inputs' shape without ``axis`` (a scalar for ``axis=None``).

  Examples:
    >>> import jaxloss
    >>> jaxloss.dice([[1.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...              axis=1)
    Array([0.    , 0.3333], dtype=float32)

  References:
    Milletari et al., "V-Net", 3DV 2016; Keras 3 ``keras.losses.dice``.
  """
  # Keras's three sums (faster than sum(t) + sum(p) via overlap_terms; see
  # docs/performance.md).
  validation.flag("dice", "log_loss", log_loss)
  validation.flag("dice", "zero_absent_classes", zero_absent_classes)
  t, p, dt = _overlap_inputs("dice", y_true, y_pred, axis, ignore_index)
  axes = shapes.canonical_axes("dice", axis, p.ndim)
  tp = jnp.sum(t * p, axis=axes)
  target_mass = jnp.sum(t, axis=axes)
  denom = target_mass + jnp.sum(p, axis=axes) + numerics.EPSILON
  loss = _score_loss(2.0 * tp / denom, log_loss)
  return zero_absent(loss, target_mass, zero_absent_classes).astype(dt)


@scoped
def tversky(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 0.5,
  beta: float | jax.Array = 0.5,
  axis: int | tuple[int, ...] | None = None,
  ignore_index: float | None = None,
  zero_absent_classes: bool = False,
) -> jax.Array:
  """Tversky loss (Salehi et al. 2017).

  ``loss = 1 - tp / (tp + alpha fp + beta fn + 1e-7)`` with soft
  ``tp = sum(t p)``, ``fp = sum((1 - t) p)``, ``fn = sum(t (1 - p))`` over
  ``axis``. ``alpha`` weighs false positives and ``beta`` false negatives, as
  the paper and Keras's docstring say; Keras 3.15's code applies them the
  other way round, so ``keras.losses.tversky(alpha=a, beta=b)`` equals
  ``jaxloss.tversky(alpha=b, beta=a)``. ``alpha = beta = 0.5`` is Dice.
  Entries whose target equals ``ignore_index`` are left out of every sum;
  ``zero_absent_classes=True`` sets the loss to 0 where ``sum(t) = 0``
  (``tp + fn = 0``).

  Args:
    y_true: targets in [0, 1] ``[B, ...]``.
    y_pred: probabilities, shape of ``y_true``.
    alpha: the weight of false positives, >= 0.
    beta: the weight of false negatives, >= 0.
    axis: the axes summed over; ``None`` sums over all axes, pooling the
      batch into one value.
    ignore_index: a target value whose entries are left out of every sum
      (``None``: none).
    zero_absent_classes: give 0 to a value whose targets sum to 0 over
      ``axis`` (a class absent from the targets; it still counts in any
      later mean), as segmentation-models-pytorch's ``TverskyLoss``; see
      :func:`jaxloss.dice`.

  Returns:
    The inputs' shape without ``axis`` (a scalar for ``axis=None``).

  Examples:
    >>> import jaxloss
    >>> jaxloss.tversky([[1.0, 0.0, 1.0]], [[1.0, 1.0, 0.0]], alpha=0.9,
    ...                 beta=0.1, axis=1)
    Array([0.5], dtype=float32)

  References:
    Salehi et al., "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017;
    Keras 3 ``keras.losses.tversky``.
  """
  validation.check_range("tversky", "alpha", alpha, low=0.0)
  validation.check_range("tversky", "beta", beta, low=0.0)
  validation.flag("tversky", "zero_absent_classes", zero_absent_classes)
  tp, fp, fn_, dt = overlap_terms("tversky", y_true, y_pred, axis, ignore_index)
  denom = tp + fn_ * beta + fp * alpha + numerics.EPSILON
  loss = zero_absent(1.0 - tp / denom, tp + fn_, zero_absent_classes)
  return loss.astype(dt)


class Dice(Loss, fn=dice):
  """Loss object for :func:`jaxloss.dice`."""

  axis: int | tuple[int, ...] | None = None
  ignore_index: float | None = None
  log_loss: bool = False
  zero_absent_classes: bool = False


class Tversky(Loss, fn=tversky):
  """Loss object for :func:`jaxloss.tversky`."""

  alpha: float | jax.Array = 0.5
  beta: float | jax.Array = 0.5
  axis: int | tuple[int, ...] | None = None
  ignore_index: float | None = None
  zero_absent_classes: bool = False


# ----------------------------------------------------------------------------
# Overlap losses beyond Keras: soft Jaccard (IoU) and focal Tversky.


def _tversky_index(tp, fp, fn_, alpha, beta):
  """``tp / (tp + alpha fp + beta fn + 1e-7)``; Jaccard is alpha = beta = 1."""
  return tp / (tp + alpha * fp + beta * fn_ + numerics.EPSILON)


@scoped
def jaccard(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  axis: int | tuple[int, ...] | None = None,
  ignore_index: float | None = None,
  log_loss: bool = False,
  zero_absent_classes: bool = False,
) -> jax.Array:
  """Soft Jaccard (intersection-over-union) loss.

  With soft ``tp = sum(t p)``, ``fp = sum((1 - t) p)`` and
  ``caller = sum(t (1 - p))`` over ``axis``::

      loss = 1 - tp / (tp + fp + fn + 1e-7)
           = 1 - sum(t p) / (sum(t) + sum(p) - sum(t p) + 1e-7)

  It is :func:`jaxloss.tversky` with ``alpha = beta = 1``. For binary ``t``
  and ``p`` it is one minus the Jaccard index (up to the ``1e-7``); empty
  target and prediction give 1 (the index is 0), or 0 with
  ``zero_absent_classes=True``, which sets the loss to 0 wherever
  ``sum(t) = 0``.

  Args:
    y_true: targets in [0, 1], shape of ``y_pred`` (Keras's trailing-1 rule
      applies).
    y_pred: probabilities in [0, 1], e.g. ``[B, H, W, C]``.
    axis: the axes summed over: ``None`` (every axis, batch included, one
      scalar), an int or a tuple of ints.
    ignore_index: a target value whose entries are left out of every sum
      (``None``: none).
    log_loss: ``-log(max(index, 1e-7))`` instead of ``1 - index``
      (segmentation-models-pytorch's ``log_loss``).
    zero_absent_classes: give 0 to a value whose targets sum to 0 over
      ``axis`` (a class absent from the targets; it still counts in any
      later mean), as segmentation-models-pytorch's ``JaccardLoss``; see
      :func:`jaxloss.dice`.

  Returns:
    ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``), in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if the shapes differ or ``axis`` is out of range.
    TypeError: if ``y_pred`` is not floating.

  Examples:
    >>> import jaxloss
    >>> jaxloss.jaccard([[1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0]], axis=1)
    Array([0.6666667], dtype=float32)

  References:
    Rahman & Wang, "Optimizing Intersection-Over-Union in Deep Neural
    Networks for Image Segmentation", ISVC 2016 (the soft IoU, Eq. 3-4).
  """
  validation.flag("jaccard", "log_loss", log_loss)
  validation.flag("jaccard", "zero_absent_classes", zero_absent_classes)
  tp, fp, fn_, dt = overlap_terms("jaccard", y_true, y_pred, axis, ignore_index)
  index = _tversky_index(tp, fp, fn_, 1.0, 1.0)
  loss = _score_loss(index, log_loss)
  return zero_absent(loss, tp + fn_, zero_absent_classes).astype(dt)


@scoped
def focal_tversky(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 0.5,
  beta: float | jax.Array = 0.5,
  gamma: float | jax.Array = 0.75,
  axis: int | tuple[int, ...] | None = None,
  ignore_index: float | None = None,
  zero_absent_classes: bool = False,
) -> jax.Array:
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
  true one is infinite for ``gamma < 1``). ``zero_absent_classes=True``
  sets the loss to 0 where ``sum(t) = 0``.

  Args:
    y_true: targets in [0, 1], shape of ``y_pred`` (Keras's trailing-1 rule
      applies).
    y_pred: probabilities in [0, 1], e.g. ``[B, H, W, C]``.
    alpha: weight of the false positives, >= 0.
    beta: weight of the false negatives, >= 0.
    gamma: the focal exponent, >= 0.
    axis: the axes summed over: ``None`` (every axis, batch included, one
      scalar), an int or a tuple of ints.
    ignore_index: a target value whose entries are left out of every sum
      (``None``: none).
    zero_absent_classes: give 0 to a value whose targets sum to 0 over
      ``axis`` (a class absent from the targets; it still counts in any
      later mean). segmentation-models-pytorch's ``TverskyLoss(gamma=g)``
      raises the *mean over classes* to ``g``: that is
      ``mean(tversky(..., zero_absent_classes=True)) ** g``, which equals
      this loss for a single class.

  Returns:
    ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``), in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if ``alpha``, ``beta`` or ``gamma`` is negative, the shapes
      differ or ``axis`` is out of range.
    TypeError: if ``y_pred`` is not floating.

  Examples:
    >>> import jaxloss
    >>> jaxloss.focal_tversky([[1.0, 0.0, 1.0, 1.0]], [[1.0, 1.0, 0.0, 1.0]],
    ...                       gamma=0.5, axis=1)
    Array([0.57735026], dtype=float32)

  References:
    Abraham & Khan, "A Novel Focal Tversky Loss Function with Improved
    Attention U-Net for Lesion Segmentation", ISBI 2019 (Eq. 3-4).
  """
  caller = "focal_tversky"
  validation.check_range(caller, "alpha", alpha, low=0.0)
  validation.check_range(caller, "beta", beta, low=0.0)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.flag(caller, "zero_absent_classes", zero_absent_classes)
  tp, fp, fn_, dt = overlap_terms(caller, y_true, y_pred, axis, ignore_index)
  index = _tversky_index(tp, fp, fn_, alpha, beta)
  loss = numerics.safe_pow(1.0 - index, gamma)
  return zero_absent(loss, tp + fn_, zero_absent_classes).astype(dt)


@scoped
def mcc_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  axis: int | tuple[int, ...] | None = None,
  eps: float | jax.Array = 1e-5,
) -> jax.Array:
  """Matthews correlation coefficient loss (Abhishek & Hamarneh 2021).

  With soft counts over ``axis`` plus ``eps``: ``tp = sum(t p) + eps``,
  ``tn = sum((1 - t)(1 - p)) + eps``, ``fp = sum((1 - t) p) + eps``,
  ``fn = sum(t (1 - p)) + eps``::

      loss = 1 - (tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn))

  ``axis=None`` (the default) pools every axis, batch included, as
  segmentation-models-pytorch's ``MCCLoss`` does.

  Args:
    y_true: binary targets in [0, 1], shape of ``y_pred``.
    y_pred: probabilities in [0, 1], e.g. ``[B, H, W]``.
    axis: the axes summed over: ``None`` (every axis, one scalar), an int
      or a tuple of ints.
    eps: added to each count, ``> 0``.

  Returns:
    ``y_pred``'s shape without ``axis`` (a scalar for ``axis=None``).

  Examples:
    >>> import jaxloss
    >>> jaxloss.mcc_loss([[1.0, 0.0]], [[1.0, 0.0]], eps=1e-5)
    Array(0., dtype=float32)

  References:
    Abhishek & Hamarneh, "Matthews correlation coefficient loss for deep
    convolutional networks: application to skin lesion segmentation", ISBI
    2021, eq. (3); ``segmentation_models_pytorch.losses.MCCLoss`` (0.6).
  """
  caller = "mcc_loss"
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  tp, fp, fn_, dt = overlap_terms(caller, y_true, y_pred, axis)
  t, p, _ = shapes.elementwise_inputs(caller, y_true, y_pred)
  axes = shapes.canonical_axes(caller, axis, p.ndim)
  tn = jnp.sum((1.0 - t) * (1.0 - p), axis=axes) + eps
  tp, fp, fn_ = tp + eps, fp + eps, fn_ + eps
  num = tp * tn - fp * fn_
  den = jnp.sqrt((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_))
  return (1.0 - num / den).astype(dt)


class MCCLoss(Loss, fn=mcc_loss):
  """Loss object for :func:`jaxloss.mcc_loss`."""

  axis: int | tuple[int, ...] | None = None
  eps: float | jax.Array = 1e-5


class Jaccard(Loss, fn=jaccard):
  """Loss object for :func:`jaxloss.jaccard`."""

  axis: int | tuple[int, ...] | None = None
  ignore_index: float | None = None
  log_loss: bool = False
  zero_absent_classes: bool = False


class FocalTversky(Loss, fn=focal_tversky):
  """Loss object for :func:`jaxloss.focal_tversky`."""

  alpha: float | jax.Array = 0.5
  beta: float | jax.Array = 0.5
  gamma: float | jax.Array = 0.75
  axis: int | tuple[int, ...] | None = None
  ignore_index: float | None = None
  zero_absent_classes: bool = False


# ----------------------------------------------------------------------------
# Per-class soft Dice/Tversky with additive smoothing (the optax form), its
# class weights, class mask and class reduction, and the generalised Dice.


def class_probabilities(caller, predictions, targets, from_logits):
  """Probabilities and targets ``[B, ..., C]`` in one compute dtype.

  A rank-``r - 1`` side gets a trailing channel axis. From logits: a
  sigmoid for one channel, else a softmax over the last axis. Given
  probabilities of several classes, a concrete input must sum to 1 over
  them (a traced one is not checked).

  Returns:
    ``(probabilities, targets, out_dtype)``.
  """
  p = numerics.as_float(caller, "predictions", predictions)
  dt = p.dtype
  p = p.astype(numerics.compute_dtype(dt))
  t = numerics.as_array(caller, "targets", targets).astype(p.dtype)
  if p.ndim == t.ndim - 1:
    p = p[..., None]
  if t.ndim == p.ndim - 1:
    t = t[..., None]
  shapes.check_same_shape(caller, predictions=p, targets=t)
  if from_logits:
    p = jax.nn.sigmoid(p) if p.shape[-1] == 1 else jax.nn.softmax(p, -1)
  elif p.shape[-1] > 1 and not isinstance(p, jax_core.Tracer):
    sums = np.asarray(jnp.sum(p, axis=-1))
    if not np.allclose(sums, 1.0, rtol=1e-5):
      raise ValueError(
        f"{caller}: predictions must sum to 1 over the class axis when "
        f"apply_softmax=False, got sums in [{sums.min():.6f}, "
        f"{sums.max():.6f}]"
      )
  return p, t, dt


def without_background(num_classes: int, ignore_background: bool):
  """The class mask that drops class 0 (None: keep every class, also when
  there is a single class)."""
  if not ignore_background or num_classes <= 1:
    return None
  return (False,) + (True,) * (num_classes - 1)


def _reduce_classes(caller, values, reduction):
  if reduction == "mean":
    return jnp.mean(values, axis=-1)
  if reduction == "sum":
    return jnp.sum(values, axis=-1)
  if reduction == "none":
    return values
  raise ValueError(
    f"{caller}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
  )


def per_class_tversky(
  caller,
  targets,
  probs,
  *,
  smooth: float | jax.Array = 1.0,
  alpha: float | jax.Array = 0.5,
  beta: float | jax.Array = 0.5,
  axis=None,
  class_weights=None,
  class_mask=None,
  reduction="mean",
  ignore_index=None,
  zero_absent_classes=False,
):
  """The smoothed per-class Tversky loss of probabilities ``[B, ..., C]``.

  Per class, ``1 - (tp + s) / (tp + alpha fp + beta fn + s)`` with soft
  counts ``tp = sum(t p)``, ``fp = sum((1 - t) p)``, ``fn = sum(t (1 - p))``
  over ``axis`` (default: every axis but the first and the last), leaving
  out the entries whose target is ``ignore_index``; ``alpha = beta = 0.5``
  is the Dice loss (Milletari et al. 2016) with smoothing ``s``. With
  ``zero_absent_classes``, 0 where ``sum(t) = 0`` (with a finite gradient
  also for ``s = 0``, where the formula there is ``0 / 0``). Times
  ``class_weights`` ``[C]``; the classes that ``class_mask`` (a static
  sequence of ``C`` booleans, None for all) keeps are then reduced by
  ``reduction`` ("mean", "sum" or "none": ``[B, kept classes]``).
  """
  validation.flag(caller, "zero_absent_classes", zero_absent_classes)
  if axis is None:
    axis = tuple(range(1, probs.ndim - 1))
  elif not isinstance(axis, int):
    axis = tuple(int(a) for a in np.ravel(np.asarray(axis)))
  tp, fp, fn_, _ = overlap_terms(caller, targets, probs, axis, ignore_index)
  denom = tp + alpha * fp + beta * fn_ + smooth
  if zero_absent_classes:  # keep the unused branch away from 0 / 0
    denom = jnp.where(tp + fn_ > 0, denom, 1.0)
  values = 1.0 - (tp + smooth) / denom
  values = zero_absent(values, tp + fn_, zero_absent_classes)
  if class_weights is not None:
    w = numerics.as_array(caller, "class_weights", class_weights)
    shapes.check_rank(caller, "class_weights", w, 1)
    w = w.astype(values.dtype).reshape((1,) * (values.ndim - 1) + (-1,))
    values = values * w
  if class_mask is not None:
    values = values[..., np.flatnonzero(np.asarray(class_mask, bool))]
  return _reduce_classes(caller, values, reduction)


def generalized_dice_weights(targets, epsilon=1e-7):
  """``w_c = 1 / (n_c^2 + eps)``, rescaled to sum to the number of classes,
  with ``n_c`` the target mass of class ``c`` over every other axis."""
  counts = jnp.sum(targets, axis=tuple(range(targets.ndim - 1)))
  weights = 1.0 / (counts**2 + epsilon)
  return weights / jnp.sum(weights) * weights.shape[0]


def generalized_dice(
  caller,
  targets,
  probs,
  *,
  smooth: float | jax.Array = 1.0,
  class_mask=None,
  ignore_index=None,
):
  """Generalised Dice (Sudre et al. 2017): the mean over batch and kept
  classes of ``w_c * dice_c``, ``w_c`` from :func:`generalized_dice_weights`
  of ``targets``; entries whose target is ``ignore_index`` count nowhere
  (neither in the weights nor in the soft counts)."""
  validation.number(caller, "ignore_index", ignore_index, optional=True)
  targets, probs = without_ignored(targets, probs, ignore_index)
  values = per_class_tversky(
    caller,
    targets,
    probs,
    smooth=smooth,
    class_weights=generalized_dice_weights(targets),
    class_mask=class_mask,
    reduction="none",
  )
  return jnp.mean(values)


# ----------------------------------------------------------------------------
# Lovász losses (Berman et al. 2018): convex surrogates of the Jaccard loss.


def _jaccard_steps(gt_sorted):
  """The weights ``g`` of the Lovász extension, along the last axis."""
  total = jnp.sum(gt_sorted, axis=-1, keepdims=True)
  intersection = total - jnp.cumsum(gt_sorted, axis=-1)
  union = total + jnp.cumsum(1.0 - gt_sorted, axis=-1)
  jac = 1.0 - numerics.safe_divide(intersection, union)
  return jnp.concatenate([jac[..., :1], jnp.diff(jac, axis=-1)], axis=-1)


def _lovasz_extension(errors, gt, valid=None):
  """Lovász extension of the Jaccard loss of ``gt`` at ``errors >= 0``.

  Both ``[..., N]``; reduces the last axis. The gradient flows to ``errors``
  only (through the sort's gather); the weights are constants. Entries
  where ``valid`` is False are left out: they sort last, as background,
  and add nothing.
  """
  if valid is not None:
    errors = jnp.where(valid, errors, -1.0)
    gt = jnp.where(valid, gt, 0.0)
  order = jnp.argsort(errors, axis=-1, descending=True, stable=True)
  errors_sorted = jnp.take_along_axis(errors, order, axis=-1)
  if valid is not None:
    errors_sorted = jax.nn.relu(errors_sorted)
  gt_sorted = jnp.take_along_axis(gt, order, axis=-1)
  steps = jax.lax.stop_gradient(_jaccard_steps(gt_sorted))
  return jnp.sum(errors_sorted * steps, axis=-1)


@scoped
def lovasz_hinge(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  per_image: bool = True,
  ignore_index: float | None = None,
) -> jax.Array:
  """Binary Lovász hinge loss on logits (Berman et al. 2018, Eq. 10).

  With signs ``s = 2 t - 1`` and hinge errors ``m = max(1 - s z, 0)`` for
  the logits ``z``, the loss is the Lovász extension of the Jaccard loss of
  the foreground at ``m`` (see the module docstring), computed over the
  pixels of each image (``per_image=True``) or over all pixels of the batch
  at once (``per_image=False``, as the authors' ``per_image=False``). An
  image without foreground pixels gets the largest hinge error.

  Args:
    y_true: binary labels in {0, 1}, ``[B, H, W]`` (any ``[B, ...]``; the
      axes after the first are pixels), shape of ``y_pred`` (Keras's
      trailing-1 rule applies).
    y_pred: logits ``[B, H, W]``.
    per_image: one value per image, or one value for the whole batch.
    ignore_index: a label whose pixels are left out (``None``: none).

  Returns:
    ``[B]`` values for ``per_image=True`` (the reduction then averages the
    images, as the authors' mean does); a scalar for ``per_image=False``.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` has rank < 2.
    TypeError: if ``y_pred`` is not floating or ``per_image`` not a bool.

  Examples:
    >>> import jaxloss
    >>> jaxloss.lovasz_hinge([[[1.0, 0.0]], [[1.0, 1.0]]],
    ...                      [[[2.0, -1.0]], [[0.5, -0.5]]])
    Array([0., 1.], dtype=float32)

  References:
    Berman, Triki & Blaschko, "The Lovász-Softmax loss: A tractable
    surrogate for the optimization of the intersection-over-union measure in
    neural networks", CVPR 2018.
  """
  caller = "lovasz_hinge"
  validation.flag(caller, "per_image", per_image)
  validation.number(caller, "ignore_index", ignore_index, optional=True)
  t, z, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=2)
  if per_image and z.shape[0] == 0:  # an empty batch: an empty result
    return jnp.zeros((0,), dt)
  rows = (z.shape[0], -1) if per_image else (1, -1)
  t, z = jnp.reshape(t, rows), jnp.reshape(z, rows)
  valid = None if ignore_index is None else t != ignore_index
  errors = jax.nn.relu(1.0 - z * (2.0 * t - 1.0))
  out = _lovasz_extension(errors, t, valid)
  return (out if per_image else out[0]).astype(dt)


def _class_ids(caller, classes, num_classes):
  """``None`` for "all"/"present", else a tuple of valid class ids."""
  if isinstance(classes, str):
    if classes not in ("all", "present"):
      raise ValueError(
        f"{caller}: classes must be 'all', 'present' or a sequence of class "
        f"ids, got {classes!r}"
      )
    return None
  if (
    not isinstance(classes, Sequence)
    or not classes
    or not all(
      isinstance(c, numbers.Integral) and not isinstance(c, bool)
      for c in classes
    )
  ):
    raise ValueError(
      f"{caller}: classes must be 'all', 'present' or a non-empty sequence of "
      f"int class ids, got {classes!r}"
    )
  bad = [c for c in classes if not 0 <= c < num_classes]
  if bad:
    raise ValueError(
      f"{caller}: classes must be in [0, {num_classes}), got {tuple(classes)}"
    )
  return tuple(int(c) for c in classes)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def lovasz_softmax(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  classes: str | Sequence[int] = "present",
  per_image: bool = False,
  ignore_index: int | None = None,
) -> jax.Array:
  """Multi-class Lovász-Softmax loss (Berman et al. 2018, Eq. 12).

  For each class ``c``, with foreground ``f_c = [y == c]`` and errors
  ``m_c = |f_c - p_c|`` per pixel, ``loss_c`` is the Lovász extension of the
  Jaccard loss of ``f_c`` at ``m_c`` (see the module docstring). The loss is
  the mean of ``loss_c`` over the classes chosen by ``classes``:

  * ``"present"``: the classes that occur in ``y_true`` (of the image, or of
    the batch); 0 when none does;
  * ``"all"``: every class;
  * a sequence of class ids: those classes, present or not.

  Labels outside ``[0, C)`` belong to no class (they count as background
  for every class).

  Args:
    y_true: integer class labels ``[B, H, W]`` (any ``[B, ...]``; a trailing
      size-1 axis is dropped).
    y_pred: class probabilities ``[B, H, W, C]`` (e.g. a softmax output).
    classes: ``"present"``, ``"all"`` or a sequence of class ids.
    per_image: one value per image, or one value for the whole batch (all
      pixels pooled, the authors' default).
    ignore_index: a label whose pixels are left out (``None``: none).

  Returns:
    A scalar for ``per_image=False`` (the default); ``[B]`` values for
    ``per_image=True``.

  Raises:
    ValueError: for bad ``classes``, ``y_pred`` of rank < 2, or labels whose
      shape is not ``y_pred``'s without the class axis.
    TypeError: if ``y_pred`` is not floating, ``y_true`` is boolean or
      ``per_image`` not a bool.

  Examples:
    >>> import jaxloss
    >>> jaxloss.lovasz_softmax([[0, 1]], [[[0.8, 0.2], [0.4, 0.6]]])
    Array(0.35, dtype=float32)

  References:
    Berman, Triki & Blaschko, "The Lovász-Softmax loss: A tractable
    surrogate for the optimization of the intersection-over-union measure in
    neural networks", CVPR 2018.
  """
  caller = "lovasz_softmax"
  validation.flag(caller, "per_image", per_image)
  validation.integer(caller, "ignore_index", ignore_index, optional=True)
  labels = numerics.labels(caller, "y_true", y_true)
  (p,), dt = numerics.floats(caller, y_pred=y_pred)
  shapes.check_min_rank(caller, "y_pred", p, 2)
  labels = shapes.check_labels_shape(caller, labels, p)
  num_classes = p.shape[-1]
  p = numerics.nan_at_bad_ids(p, labels, num_classes)
  ids = _class_ids(caller, classes, num_classes)
  if per_image and p.shape[0] == 0:  # an empty batch: an empty result
    return jnp.zeros((0,), dt)
  rows = p.shape[0] if per_image else 1
  p = jnp.reshape(p, (rows, -1, num_classes))
  labels = jnp.reshape(labels, (rows, -1))
  ids_arr = jnp.arange(num_classes) if ids is None else jnp.asarray(ids)
  p = jnp.take(p, ids_arr, axis=-1)
  fg = (labels[..., None] == ids_arr.reshape(1, 1, -1)).astype(p.dtype)
  # fg and p are [rows, N, K]; classes first, pixels last: [rows, K, N].
  fg, p = jnp.swapaxes(fg, -1, -2), jnp.swapaxes(p, -1, -2)
  valid = None
  if ignore_index is not None:
    valid = jnp.broadcast_to((labels != ignore_index)[:, None, :], fg.shape)
  per_class = _lovasz_extension(jnp.abs(fg - p), fg, valid)  # [rows, K]
  if classes == "present":
    present = jnp.any(fg > 0, axis=-1)
    total = jnp.sum(jnp.where(present, per_class, 0.0), axis=-1)
    out = numerics.safe_divide(total, jnp.sum(present, axis=-1, dtype=p.dtype))
  else:
    out = jnp.mean(per_class, axis=-1)
  return (out if per_image else out[0]).astype(dt)


class LovaszHinge(Loss, fn=lovasz_hinge):
  """Loss object for :func:`jaxloss.lovasz_hinge`."""

  per_image: bool = True
  ignore_index: float | None = None


class LovaszSoftmax(Loss, fn=lovasz_softmax):
  """Loss object for :func:`jaxloss.lovasz_softmax`."""

  classes: str | Sequence[int] = "present"
  per_image: bool = False
  ignore_index: int | None = None
