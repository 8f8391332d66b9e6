"""Lovász losses (Berman et al. 2018): convex surrogates of the Jaccard loss.

The Lovász extension of the Jaccard loss ``Delta_J`` evaluated at a vector of
non-negative errors ``m`` (one per pixel) is::

    lovasz(m) = sum_i m_(i) g_i,    g_i = Delta_J({1..i}) - Delta_J({1..i-1})

where ``m_(1) >= m_(2) >= ...`` are the errors sorted in decreasing order and
``{1..i}`` is the set of the ``i`` largest errors. With ``G`` the number of
ground-truth pixels and ``gt_(k)`` the label of the ``k``-th sorted pixel,
``Delta_J({1..i}) = 1 - (G - sum_{k<=i} gt_(k)) / (G + sum_{k<=i}
(1 - gt_(k)))``. The sort is a ``jnp.argsort`` (stable), the weights ``g``
depend only on the labels and the order, and the loss is piecewise linear in
the errors; it works under ``jit``, ``vmap`` and ``grad``.
"""

from __future__ import annotations

from collections.abc import Sequence
import numbers

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped


def _jaccard_steps(gt_sorted):
  """The weights ``g`` of the Lovász extension, along the last axis."""
  total = jnp.sum(gt_sorted, axis=-1, keepdims=True)
  intersection = total - jnp.cumsum(gt_sorted, axis=-1)
  union = total + jnp.cumsum(1.0 - gt_sorted, axis=-1)
  jac = 1.0 - numerics.safe_divide(intersection, union)
  return jnp.concatenate([jac[..., :1], jnp.diff(jac, axis=-1)], axis=-1)


def _lovasz_extension(errors, gt):
  """Lovász extension of the Jaccard loss of ``gt`` at ``errors >= 0``.

  Both ``[..., N]``; reduces the last axis. The gradient flows to ``errors``
  only (through the sort's gather); the weights are constants.
  """
  order = jnp.argsort(errors, axis=-1, descending=True, stable=True)
  errors_sorted = jnp.take_along_axis(errors, order, axis=-1)
  gt_sorted = jnp.take_along_axis(gt, order, axis=-1)
  steps = jax.lax.stop_gradient(_jaccard_steps(gt_sorted))
  return jnp.sum(errors_sorted * steps, axis=-1)



@scoped
def lovasz_hinge(y_true, y_pred, *, per_image=True):
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

  Returns:
    ``[B]`` values for ``per_image=True`` (the reduction then averages the
    images, as the authors' mean does); a scalar for ``per_image=False``.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` has rank < 2.
    TypeError: if ``y_pred`` is not floating or ``per_image`` not a bool.

  Example:
    >>> import jaxloss
    >>> jaxloss.lovasz_hinge([[[1.0, 0.0]], [[1.0, 1.0]]],
    ...                      [[[2.0, -1.0]], [[0.5, -0.5]]])
    Array([0., 1.], dtype=float32)

  References:
    Berman, Triki & Blaschko, "The Lovász-Softmax loss: A tractable
    surrogate for the optimization of the intersection-over-union measure in
    neural networks", CVPR 2018.
  """
  fn = "lovasz_hinge"
  validation.flag(fn, "per_image", per_image)
  t, z, dt = shapes.elementwise_inputs(fn, y_true, y_pred, min_rank=2)
  rows = (z.shape[0], -1) if per_image else (1, -1)
  t, z = jnp.reshape(t, rows), jnp.reshape(z, rows)
  errors = jax.nn.relu(1.0 - z * (2.0 * t - 1.0))
  out = _lovasz_extension(errors, t)
  return (out if per_image else out[0]).astype(dt)


def _class_ids(fn, classes, num_classes):
  """``None`` for "all"/"present", else a tuple of valid class ids."""
  if isinstance(classes, str):
    if classes not in ("all", "present"):
      raise ValueError(
          f"{fn}: classes must be 'all', 'present' or a sequence of class "
          f"ids, got {classes!r}"
      )
    return None
  if not isinstance(classes, Sequence) or not classes or not all(
      isinstance(c, numbers.Integral) and not isinstance(c, bool)
      for c in classes
  ):
    raise ValueError(
        f"{fn}: classes must be 'all', 'present' or a non-empty sequence of "
        f"int class ids, got {classes!r}"
    )
  bad = [c for c in classes if not 0 <= c < num_classes]
  if bad:
    raise ValueError(
        f"{fn}: classes must be in [0, {num_classes}), got {tuple(classes)}"
    )
  return tuple(int(c) for c in classes)


@scoped
def lovasz_softmax(y_true, y_pred, *, classes="present", per_image=False):
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

  Returns:
    A scalar for ``per_image=False`` (the default); ``[B]`` values for
    ``per_image=True``.

  Raises:
    ValueError: for bad ``classes``, ``y_pred`` of rank < 2, or labels whose
      shape is not ``y_pred``'s without the class axis.
    TypeError: if ``y_pred`` is not floating, ``y_true`` is boolean or
      ``per_image`` not a bool.

  Example:
    >>> import jaxloss
    >>> jaxloss.lovasz_softmax([[0, 1]], [[[0.8, 0.2], [0.4, 0.6]]])
    Array(0.35, dtype=float32)

  References:
    Berman, Triki & Blaschko, "The Lovász-Softmax loss: A tractable
    surrogate for the optimization of the intersection-over-union measure in
    neural networks", CVPR 2018.
  """
  fn = "lovasz_softmax"
  validation.flag(fn, "per_image", per_image)
  labels = numerics.labels(fn, "y_true", y_true)
  (p,), dt = numerics.floats(fn, y_pred=y_pred)
  shapes.check_min_rank(fn, "y_pred", p, 2)
  labels = shapes.check_labels_shape(fn, labels, p)
  num_classes = p.shape[-1]
  ids = _class_ids(fn, classes, num_classes)
  rows = p.shape[0] if per_image else 1
  p = jnp.reshape(p, (rows, -1, num_classes))
  labels = jnp.reshape(labels, (rows, -1))
  ids_arr = jnp.arange(num_classes) if ids is None else jnp.asarray(ids)
  p = jnp.take(p, ids_arr, axis=-1)
  fg = (labels[..., None] == ids_arr.reshape(1, 1, -1)).astype(p.dtype)
  # fg and p are [rows, N, K]; classes first, pixels last: [rows, K, N].
  fg, p = jnp.swapaxes(fg, -1, -2), jnp.swapaxes(p, -1, -2)
  per_class = _lovasz_extension(jnp.abs(fg - p), fg)  # [rows, K]
  if classes == "present":
    present = jnp.any(fg > 0, axis=-1)
    total = jnp.sum(jnp.where(present, per_class, 0.0), axis=-1)
    out = numerics.safe_divide(total, jnp.sum(present, axis=-1, dtype=p.dtype))
  else:
    out = jnp.mean(per_class, axis=-1)
  return (out if per_image else out[0]).astype(dt)


LovaszHinge = loss_class(lovasz_hinge, "LovaszHinge")
LovaszSoftmax = loss_class(lovasz_softmax, "LovaszSoftmax")
