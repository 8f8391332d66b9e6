"""The one shape rule, and the error messages every loss uses.

Rule for element-wise ``(y_true, y_pred)`` losses: the shapes must be equal,
with one exception taken from Keras (``squeeze_or_expand_to_same_rank``): when
the ranks differ by one and the longer shape ends in a size-1 axis, that axis
is dropped (or, when the shorter one is rank 1, added to it), so labels of
shape ``[B]`` meet predictions of shape ``[B, 1]``. Anything else raises:
nothing is broadcast silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import validation


def match_ranks(caller: str, y_true, y_pred, names=("y_true", "y_pred")):
  """Applies the Keras trailing-1 rule and checks the shapes are equal."""
  t, p = jnp.ndim(y_true), jnp.ndim(y_pred)
  if t == p + 1 and y_true.shape[-1] == 1:
    if p == 1:
      y_pred = y_pred[..., None]
    else:
      y_true = jnp.squeeze(y_true, -1)
  elif p == t + 1 and y_pred.shape[-1] == 1:
    if t == 1:
      y_true = y_true[..., None]
    else:
      y_pred = jnp.squeeze(y_pred, -1)
  if y_true.shape != y_pred.shape:
    raise ValueError(
      f"{caller}: {names[0]} and {names[1]} must have the same shape, got "
      f"{names[0]}.shape={tuple(y_true.shape)} and "
      f"{names[1]}.shape={tuple(y_pred.shape)}"
    )
  return y_true, y_pred


def elementwise_inputs(caller: str, y_true, y_pred, *, min_rank: int = 0):
  """The standard entry of an element-wise loss: dtype policy + shape rule.

  Returns ``(y_true, y_pred, out_dtype)`` in the compute dtype, with equal
  shapes (see :func:`match_ranks`) and ``y_pred.ndim >= min_rank``.
  """
  y_true, y_pred, out_dtype = numerics.prediction_and_target(
    caller, y_true, y_pred
  )
  y_true, y_pred = match_ranks(caller, y_true, y_pred)
  check_min_rank(caller, "y_pred", y_pred, min_rank)
  return y_true, y_pred, out_dtype


def check_same_shape(caller: str, **arrays):
  """All named arrays must have exactly the same shape."""
  items = list(arrays.items())
  first_name, first = items[0]
  for name, x in items[1:]:
    if x.shape != first.shape:
      raise ValueError(
        f"{caller}: {first_name} and {name} must have the same shape, got "
        f"{first_name}.shape={tuple(first.shape)} and "
        f"{name}.shape={tuple(x.shape)}"
      )


def check_rank(caller: str, name: str, x, ranks):
  """``x.ndim`` must be one of ``ranks`` (an int, or a collection of ints)."""
  ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
  if jnp.ndim(x) not in ranks:
    want = " or ".join(str(r) for r in ranks)
    raise ValueError(
      f"{caller}: {name} must have rank {want}, got rank {jnp.ndim(x)} "
      f"with shape {tuple(jnp.shape(x))}"
    )


def check_min_rank(caller: str, name: str, x, rank: int):
  if jnp.ndim(x) < rank:
    raise ValueError(
      f"{caller}: {name} must have rank >= {rank}, got shape "
      f"{tuple(jnp.shape(x))}"
    )


def canonical_axis(
  caller: str, axis: Any, ndim: int, name: str = "axis"
) -> int:
  if isinstance(axis, bool) or not isinstance(axis, int):
    raise TypeError(f"{caller}: {name} must be an int, got {axis!r}")
  if not -ndim <= axis < ndim:
    raise ValueError(
      f"{caller}: {name} must be in [{-ndim}, {ndim}) for an input of rank "
      f"{ndim}, got {axis}"
    )
  return axis % ndim


def canonical_axes(caller: str, axis, ndim: int, name: str = "axis"):
  """``None`` (all axes), an int, or a sequence of ints -> sorted tuple."""
  if axis is None:
    return tuple(range(ndim))
  if isinstance(axis, Sequence) and not isinstance(axis, str):
    axes = tuple(canonical_axis(caller, a, ndim, name) for a in axis)
  else:
    axes = (canonical_axis(caller, axis, ndim, name),)
  if len(set(axes)) != len(axes):
    raise ValueError(f"{caller}: {name} has repeated axes, got {axis!r}")
  return tuple(sorted(axes))


def check_labels_shape(caller: str, labels, logits, name="y_true"):
  """Sparse labels ``[...]`` against scores ``[..., num_classes]``.

  Labels of shape ``[..., 1]`` (Keras's habit) are accepted and squeezed.
  """
  if labels.ndim == logits.ndim and labels.shape[-1] == 1:
    labels = jnp.squeeze(labels, -1)
  if labels.shape != logits.shape[:-1]:
    raise ValueError(
      f"{caller}: {name} must have the shape of y_pred without its class axis, "
      f"got {name}.shape={tuple(labels.shape)} and "
      f"y_pred.shape={tuple(logits.shape)}"
    )
  return labels


def row_labels(caller: str, name: str, labels, rows=None, rows_name="y_pred"):
  """Labels ``[N]``, one per row of ``rows`` ``[N, ...]`` when given.

  Labels of shape ``[N, 1]`` (Keras's habit) are accepted and squeezed.
  """
  if labels.ndim == 2 and labels.shape[-1] == 1:
    labels = labels[:, 0]
  check_rank(caller, name, labels, 1)
  if rows is not None and labels.shape[0] != rows.shape[0]:
    raise ValueError(
      f"{caller}: {name} must have one label per row of {rows_name}, got "
      f"{name}.shape={tuple(labels.shape)} and "
      f"{rows_name}.shape={tuple(rows.shape)}"
    )
  return labels


def leading_broadcast(caller: str, name: str, w, shape):
  """Broadcasts ``w`` over ``shape`` from the leading axes.

  ``w`` of shape ``[B]`` applies to values of shape ``[B, T]``; a scalar
  applies everywhere; a trailing size-1 axis beyond ``shape`` is dropped
  (``[B, 1]`` weights for ``[B]`` values, as Keras allows).
  """
  if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
    w = jnp.squeeze(w, -1)
  if w.ndim > len(shape) or any(
    a != b and a != 1 for a, b in zip(w.shape, shape)
  ):
    raise ValueError(
      f"{caller}: {name} must broadcast from the leading axes of the loss "
      f"values of shape {tuple(shape)}, got {name}.shape={tuple(w.shape)}"
    )
  w = jnp.reshape(w, w.shape + (1,) * (len(shape) - w.ndim))
  return jnp.broadcast_to(w, shape)


# ----------------------------------------------------------------------------
# Explicit broadcasting, include-masks and class axes of the optax forms
# (optax broadcasts silently; these broadcast only what is asked for, and
# name the argument when it cannot be done).


def broadcast_to(caller: str, name: str, x, shape, to: str = "the predictions"):
  """``x`` broadcast to ``shape``, or a ValueError naming ``name``."""
  try:
    jnp.broadcast_shapes(jnp.shape(x), tuple(shape))
    return jnp.broadcast_to(x, shape)
  except ValueError:
    raise ValueError(
      f"{caller}: {name} must broadcast to the shape of {to} {tuple(shape)}, "
      f"got {name}.shape={tuple(jnp.shape(x))}"
    ) from None


def include_mask(caller: str, where, shape, axis=None, name: str = "where"):
  """A boolean include-mask of ``shape`` (None stays None).

  A mask of lower rank than ``shape`` gets ``axis`` (an int or a tuple of
  ints) inserted first: a batch-shaped mask then covers every class (the
  optax rule); the result is broadcast explicitly.
  """
  if where is None:
    return None
  where = numerics.as_array(caller, name, where).astype(bool)
  if axis is not None and where.ndim != len(shape):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    where = jnp.expand_dims(where, axes)
  return broadcast_to(caller, name, where, shape, to="the inputs")


def exact_mask(caller: str, where, shape, what: str, name: str = "where"):
  """A boolean mask of exactly ``shape`` (``what`` names that shape in the
  message), never broadcast."""
  mask = numerics.as_array(caller, name, where)
  validation.bool_mask(caller, name, mask)
  if mask.shape != tuple(shape):
    raise ValueError(
      f"{caller}: {name} must have shape {tuple(shape)} ({what}), got "
      f"{name}.shape={tuple(mask.shape)}"
    )
  return mask


def optional_axes(caller: str, axis, ndim: int):
  """An int axis (canonical), a sorted tuple for a sequence, or None (all)."""
  if axis is None:
    return None
  if isinstance(axis, (list, tuple)):
    return canonical_axes(caller, tuple(axis), ndim)
  return canonical_axis(caller, axis, ndim)


def flatten_class_axes(caller: str, x, axis, mask=None):
  """Moves the class axis or axes of ``x`` last and flattens them into one.

  A tuple ``axis`` is taken in the caller's order (not sorted): a flat class
  index then counts through those axes in that order, as NumPy's ravel of
  ``x`` transposed to ``batch + axis`` does. ``mask`` (of ``x``'s shape, or
  None) moves with ``x``.

  Returns:
    ``(x [..., K], mask [..., K] or None)``.
  """
  if isinstance(axis, bool) or not isinstance(axis, (int, tuple)):
    raise ValueError(
      f"{caller}: axis must be an int or a tuple of ints, got {axis!r}"
    )
  items = (axis,) if isinstance(axis, int) else axis
  classes = tuple(canonical_axis(caller, a, x.ndim) for a in items)
  if len(set(classes)) != len(classes):
    raise ValueError(f"{caller}: axis has repeated axes, got {axis!r}")
  batch = tuple(i for i in range(x.ndim) if i not in classes)
  x = jnp.transpose(x, batch + classes)
  x = x.reshape(x.shape[: len(batch)] + (-1,))
  if mask is not None:
    mask = jnp.transpose(mask, batch + classes).reshape(x.shape)
  return x, mask
