"""``reduce``: the only code in jaxloss that turns a batch into a scalar.

Also home to the class-weight transform (class ids -> sample weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.typing import InputLike

REDUCTIONS = (
  "sum_over_batch_size",
  "sum",
  "mean",
  "mean_with_sample_weight",
  "none",
  None,
)
_MEAN_LIKE = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def check_reduction(caller: str, reduction: str | None) -> str | None:
  if reduction not in REDUCTIONS:
    raise ValueError(
      f"{caller}: reduction must be one of {REDUCTIONS}, got {reduction!r}"
    )
  return reduction


def reduce(
  values: InputLike,
  *,
  sample_weight: InputLike | None = None,
  where: InputLike | None = None,
  reduction: str | None = "sum_over_batch_size",
  normalizer: float | jax.Array | None = None,
) -> jax.Array:
  r"""Weights, masks and reduces per-sample loss values.

  With ``v`` the values, ``w`` the sample weights broadcast over ``v`` from the
  leading axes (1 if absent) and ``m`` the mask ``where`` likewise (1 if
  absent), the reductions are:

  * ``"sum"``: :math:`\sum v w m`.
  * ``"sum_over_batch_size"`` and ``"mean"`` (the same, as in Keras):
    :math:`\sum v w m / n`, with ``n`` the number of entries with ``m = 1``
    (``v.size`` when there is no mask), or ``normalizer`` when given.
  * ``"mean_with_sample_weight"``: :math:`\sum v w m / \sum w m` (the sum of
    the *broadcast* weights), or ``normalizer`` when given.
  * ``"none"`` / ``None``: :math:`v w m`, element-wise, shape of ``v``.

  A zero divisor (fully masked batch, all-zero weights, an empty batch of
  values ``[0, ...]``) gives 0, with finite gradients: every reduction of an
  empty batch is 0 (``"none"`` returns the empty values). Masked entries
  are excluded with ``where`` rather than multiplied, so a NaN or inf in a
  masked entry does not leak into the result. Sums are accumulated in
  float32 for half-precision values; the result has the dtype of
  ``values``.

  Args:
    values: per-sample loss values, any shape.
    sample_weight: multiplicative weights broadcastable from the leading axes
      of ``values`` (``[B]`` weights apply to ``[B, T]`` values).
    where: boolean include-mask, broadcast like ``sample_weight``.
    reduction: one of ``"sum_over_batch_size"``, ``"sum"``, ``"mean"``,
      ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
    normalizer: an explicit divisor for the mean-like reductions, e.g. the
      global token count across devices or gradient-accumulation steps.

  Returns:
    A scalar, or an array of the shape of ``values`` for ``"none"``.

  Raises:
    ValueError: for an unknown reduction, weights or mask that do not
      broadcast from the leading axes, or a ``normalizer`` with ``"sum"`` or
      ``"none"``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.reduce([1.0, 2.0, 3.0], where=[True, True, False])
    Array(1.5, dtype=float32)
  """
  caller = "reduce"
  check_reduction(caller, reduction)
  values = numerics.as_float(caller, "values", values)
  out_dtype = values.dtype
  dtype = numerics.compute_dtype(out_dtype)
  values = values.astype(dtype)
  if normalizer is not None and reduction not in _MEAN_LIKE:
    raise ValueError(
      f"{caller}: normalizer applies only to the mean-like reductions "
      f"{_MEAN_LIKE}, got reduction={reduction!r}"
    )
  if normalizer is not None:
    number = isinstance(normalizer, (int, float)) and not isinstance(
      normalizer, bool
    )
    normalizer_dtype = getattr(normalizer, "dtype", None)
    scalar_array = (
      normalizer_dtype is not None
      and jnp.ndim(normalizer) == 0
      and jnp.issubdtype(normalizer_dtype, jnp.number)
    )
    if not (number or scalar_array):
      raise TypeError(
        f"{caller}: normalizer must be a number or a scalar numeric array, got "
        f"{normalizer!r}"
      )
  weighted = values
  weight = None
  if sample_weight is not None:
    weight = numerics.as_array(caller, "sample_weight", sample_weight).astype(
      dtype
    )
    weight = shapes.leading_broadcast(
      caller, "sample_weight", weight, values.shape
    )
    weighted = weighted * weight
  mask = None
  if where is not None:
    mask = numerics.as_array(caller, "where", where)
    validation.bool_mask(caller, "where", mask)
    mask = shapes.leading_broadcast(caller, "where", mask, values.shape)
    weighted = jnp.where(mask, weighted, 0)

  if reduction in (None, "none"):
    return weighted.astype(out_dtype)
  total = jnp.sum(weighted)
  if reduction == "sum":
    return total.astype(out_dtype)
  if normalizer is not None:
    divisor = jnp.asarray(normalizer, dtype)
  elif reduction == "mean_with_sample_weight" and weight is not None:
    divisor = jnp.sum(weight if mask is None else jnp.where(mask, weight, 0))
  elif mask is not None:
    divisor = jnp.sum(mask, dtype=dtype)
  else:
    divisor = jnp.asarray(values.size, dtype)
  return numerics.safe_divide(total, divisor).astype(out_dtype)


def class_weights_to_sample_weights(
  y_true: InputLike,
  class_weight: Mapping[int, float] | Sequence[float] | InputLike,
  *,
  num_classes: int | None = None,
) -> jax.Array:
  """Turns per-class weights into per-sample weights, as Keras's ``fit`` does.

  Args:
    y_true: integer labels ``[...]`` or one-hot / probability labels
      ``[..., num_classes]`` (floating, last axis of size > 1). For one-hot
      labels the class is the ``argmax`` (as in Keras).
    class_weight: a mapping ``{class_id: weight}`` (missing classes weigh 1)
      or a sequence/array of one weight per class.
    num_classes: the number of classes. Optional: with a mapping and sparse
      labels and no ``num_classes``, every class missing from the mapping
      (above its largest key included) weighs 1.

  Returns:
    Sample weights of the shape of the sparse labels, ready for
    ``sample_weight=``.
  """
  caller = "class_weights_to_sample_weights"
  y_true = numerics.as_array(caller, "y_true", y_true)
  one_hot = jnp.issubdtype(y_true.dtype, jnp.floating) and (
    y_true.ndim >= 1 and y_true.shape[-1] > 1
  )
  classes = jnp.argmax(y_true, -1) if one_hot else y_true
  if jnp.issubdtype(classes.dtype, jnp.floating):
    classes = classes.astype(jnp.int32)
  # Classes at or above an inferred table size weigh 1 (missing classes).
  open_ended = False
  if isinstance(class_weight, Mapping):
    n = num_classes
    if n is None:
      open_ended = not one_hot
      n = (
        y_true.shape[-1]
        if one_hot
        else max([int(k) for k in class_weight] + [-1]) + 1
      )
    table = np.ones((n,), np.float32)
    for k, v in class_weight.items():
      k = int(k)
      if not 0 <= k < n:
        raise ValueError(
          f"{caller}: class_weight keys must be in [0, {n}), got {k}"
        )
      table[k] = v
    table = jnp.asarray(table)
  else:
    table = numerics.as_array(caller, "class_weight", class_weight)
    if table.ndim != 1:
      raise ValueError(
        f"{caller}: class_weight must be a mapping or a 1-D sequence, got "
        f"shape {tuple(table.shape)}"
      )
    if one_hot and table.shape[0] != y_true.shape[-1]:
      raise ValueError(
        f"{caller}: class_weight must have one entry per class "
        f"({y_true.shape[-1]}), got {table.shape[0]}"
      )
  weights = jax.numpy.take(table, classes, mode="clip")
  if open_ended:
    weights = jnp.where(classes >= table.shape[0], 1, weights)
  return weights
