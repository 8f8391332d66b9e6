"""Packed sequences: per-token values reduced per segment.

A packed row holds several sequences one after another. Flax, T5X and tunix
mark them with ``segment_ids`` (``[..., T]`` integers): ``1, 2, 3, ...`` for
the first, second, third sequence of the row and ``0`` for padding. Every
sequence-level LM function takes ``segment_ids`` and reduces through
:func:`segment_reduce` (or the :class:`Packing` of the preference losses),
so a value never crosses a boundary between two sequences and a packed
batch gives exactly the values of the same sequences unpacked and padded.

The number of segments per row is static (``num_segments``, default ``T``:
a row cannot hold more sequences than tokens). The reduction is one
scatter-add into ``[rows, num_segments]`` (no ``[T, num_segments]``
one-hot), whose gradient is a gather; it works under ``jit``, ``vmap``,
``grad`` and inside ``shard_map`` (rows are independent, so sharding the
batch axis needs no communication).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

REDUCTIONS = ("sum", "mean", "count")


def segment_ids_array(caller, name, segment_ids, shape=None):
  """``segment_ids`` as int32, checked for an integer dtype and, when
  ``shape`` is given, for that shape."""
  ids = numerics.as_array(caller, name, segment_ids)
  validation.integer_dtype(caller, name, ids)
  if shape is not None and tuple(ids.shape) != tuple(shape):
    raise ValueError(
      f"{caller}: {name} must have the shape of the per-token values "
      f"{tuple(shape)}, got {name}.shape={tuple(ids.shape)}"
    )
  if ids.ndim < 1:
    raise ValueError(
      f"{caller}: {name} must have a token axis (rank >= 1), got a scalar"
    )
  return ids.astype(jnp.int32)


def check_num_segments(caller, num_segments):
  validation.positive_integer(
    caller, "num_segments", num_segments, optional=True
  )


def sums_and_counts(values, ids, num_segments, where=None):
  """Per-segment ``(sums, counts)`` ``[..., S]`` of ``values [..., T]``.

  Tokens with id 0 (or ``where`` False) are left out (a NaN there does not
  reach any segment). A row holding an id outside ``[0, S]`` gives NaN in
  every segment of that row (the rule for out-of-range ids). ``values``
  may be None (counts only; sums are None). Both come in the compute
  dtype (float32 for half values).
  """
  lead, t = ids.shape[:-1], ids.shape[-1]
  s = t if num_segments is None else int(num_segments)
  ids2 = ids.reshape((-1, t))
  take = (ids2 > 0) & (ids2 <= s)
  if where is not None:
    take = take & where.reshape(ids2.shape)
  col = jnp.where(take, ids2 - 1, s)  # s is out of bounds: dropped
  row = jnp.arange(ids2.shape[0])[:, None]
  bad = jnp.any((ids2 < 0) | (ids2 > s), axis=-1, keepdims=True)

  def scatter(v, dtype):
    out = jnp.zeros((ids2.shape[0], s), dtype).at[row, col].add(v, mode="drop")
    out = jnp.where(bad, jnp.asarray(jnp.nan, dtype), out)
    return out.reshape(lead + (s,))

  # Sums and counts accumulate in float32 for half inputs (a bfloat16
  # count is exact only up to 256 tokens).
  sums = None
  dtype = jnp.float32
  if values is not None:
    dtype = numerics.compute_dtype(values.dtype)
    v = jnp.where(take, values.reshape(ids2.shape).astype(dtype), 0)
    sums = scatter(v, dtype)
  counts = scatter(take.astype(dtype), dtype)
  return sums, counts


def present(segment_ids, num_segments, where=None):
  """Bool ``[..., S]``: which segments hold at least one token (of
  ``where`` when given)."""
  _, counts = sums_and_counts(None, segment_ids, num_segments, where)
  return counts != 0  # NaN (a bad id) counts as present


@scoped
def segment_reduce(
  values: InputLike | None,
  segment_ids: InputLike,
  *,
  num_segments: int | None = None,
  reduction: str = "sum",
  where: InputLike | None = None,
) -> jax.Array:
  """Per-token values reduced per packed sequence (segment).

  With ``segment_ids`` ``[..., T]`` holding ``1, 2, ...`` for the sequences
  packed into each row and ``0`` for padding (the Flax / tunix packing
  convention), entry ``k - 1`` of the result's last axis is, for segment
  ``k`` of that row::

    "sum":   sum_t [id_t = k] m_t values_t
    "mean":  that sum / count (0 for an empty segment)
    "count": sum_t [id_t = k] m_t

  with ``m`` the mask ``where`` (1 if absent). Tokens outside every segment
  (id 0, or masked) never reach a segment, even holding NaN. A row that
  holds an id below 0 or above ``num_segments`` gives NaN in all its
  segments (no value checks under ``jit``; ``jaxloss.checked`` names the
  bad id). One scatter-add, no ``[T, num_segments]`` one-hot; the gradient
  with respect to ``values`` is a gather.

  Args:
    values: floating ``[..., T]``, or None with ``reduction="count"``.
    segment_ids: integer ``[..., T]``.
    num_segments: static maximum number of segments per row (default
      ``T``).
    reduction: ``"sum"``, ``"mean"`` or ``"count"``.
    where: optional bool ``[..., T]``: which tokens count (e.g. the
      response tokens of each sequence).

  Returns:
    ``[..., num_segments]`` in the values' dtype (accumulated in float32
    for half values; float32 for counts without values).

  Raises:
    TypeError: for non-floating values, non-integer ids or a non-bool mask.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jaxloss
    >>> jaxloss.segment_reduce([[1.0, 2.0, 3.0, 9.0]], [[1, 1, 2, 0]],
    ...                        num_segments=2)
    Array([[3., 3.]], dtype=float32)

  References:
    Krell et al., "Efficient Sequence Packing without Cross-contamination",
    2021 (arXiv:2107.02027); the segment-id convention of Flax's
    ``make_attention_mask`` / T5X packing.
  """
  caller = "segment_reduce"
  validation.choice(caller, "reduction", reduction, REDUCTIONS)
  check_num_segments(caller, num_segments)
  if values is None:
    if reduction != "count":
      raise ValueError(
        f"{caller}: values may be None only with reduction='count', got "
        f"reduction={reduction!r}"
      )
    ids = segment_ids_array(caller, "segment_ids", segment_ids)
    v = None
  else:
    v = numerics.as_float(caller, "values", values)
    ids = segment_ids_array(caller, "segment_ids", segment_ids, v.shape)
  mask = None
  if where is not None:
    mask = shapes.exact_mask(caller, where, ids.shape, "that of segment_ids")
  sums, counts = sums_and_counts(v, ids, num_segments, mask)
  out_dtype = jnp.float32 if v is None else v.dtype
  if reduction == "count":
    return counts.astype(out_dtype)
  assert sums is not None
  out = sums if reduction == "sum" else numerics.safe_divide(sums, counts)
  return out.astype(out_dtype)


@scoped
def segment_broadcast(
  segment_values: InputLike, segment_ids: InputLike
) -> jax.Array:
  """Per-segment values ``[..., S]`` spread back over the tokens.

  ``out[..., t] = segment_values[..., segment_ids[..., t] - 1]``, and 0 at
  padding (id 0); the inverse layout of :func:`jaxloss.segment_reduce`
  (e.g. per-sequence advantages for
  :func:`jaxloss.policy_gradient` on a packed batch). An id above ``S`` or
  below 0 gives NaN at that token.

  Args:
    segment_values: floating ``[..., S]``.
    segment_ids: integer ``[..., T]`` (same leading shape).

  Returns:
    ``[..., T]`` in the values' dtype.

  Examples:
    >>> import jaxloss
    >>> jaxloss.segment_broadcast([[0.5, -1.0]], [[1, 1, 2, 0]])
    Array([[ 0.5,  0.5, -1. ,  0. ]], dtype=float32)
  """
  caller = "segment_broadcast"
  v = numerics.as_float(caller, "segment_values", segment_values)
  ids = segment_ids_array(caller, "segment_ids", segment_ids)
  if v.shape[:-1] != ids.shape[:-1] or v.ndim < 1:
    raise ValueError(
      f"{caller}: segment_values must be [..., S] with the leading shape of "
      f"segment_ids {tuple(ids.shape[:-1])}, got "
      f"segment_values.shape={tuple(v.shape)}"
    )
  s = v.shape[-1]
  out = jnp.take_along_axis(v, jnp.clip(ids - 1, 0, s - 1), axis=-1)
  out = jnp.where(ids > 0, out, 0)
  return jnp.where((ids < 0) | (ids > s), jnp.asarray(jnp.nan, v.dtype), out)


class Packing(NamedTuple):
  """Segment ids of a packed batch for the sequence-level losses.

  ``ids`` holds one ``[..., T]`` array per layout: the preference losses
  take one for every input, or a pair (chosen layout, rejected layout).
  """

  ids: tuple[jax.Array, ...]
  num_segments: int | None

  @classmethod
  def make(cls, caller, segment_ids, num_segments, layouts=1):
    """``None`` when ``segment_ids`` is None; else the checked ids."""
    check_num_segments(caller, num_segments)
    if segment_ids is None:
      return None
    if isinstance(segment_ids, tuple) and layouts > 1:
      if len(segment_ids) != layouts:
        raise ValueError(
          f"{caller}: segment_ids must be one array or a tuple (chosen, "
          f"rejected), got a tuple of {len(segment_ids)}"
        )
      ids = tuple(
        segment_ids_array(caller, "segment_ids", s) for s in segment_ids
      )
    else:
      ids = (segment_ids_array(caller, "segment_ids", segment_ids),) * layouts
    return cls(ids, num_segments)

  def sequences(self, caller, arrays, *, layout, mean=()):
    """Reduces per-token ``arrays`` (name -> ``[..., T]``) per segment:
    sums, or means for the names in ``mean``; ``layout(name)`` picks the
    ids. Returns ``(dict name -> [..., S], present [..., S])`` with
    ``present`` the segments found in every layout."""
    out = {}
    for name, v in arrays.items():
      ids = self.ids[layout(name)]
      if v.shape != ids.shape:
        raise ValueError(
          f"{caller}: with segment_ids, {name} must be per-token values of "
          f"the shape of its segment_ids {tuple(ids.shape)}, got "
          f"{name}.shape={tuple(v.shape)}"
        )
      sums, counts = sums_and_counts(v, ids, self.num_segments)
      out[name] = numerics.safe_divide(sums, counts) if name in mean else sums
    unique = {id(a): a for a in self.ids}.values()
    found = [present(ids, self.num_segments) for ids in unique]
    both = found[0]
    for f in found[1:]:
      if f.shape != both.shape:
        raise ValueError(
          f"{caller}: the chosen and rejected segment_ids must have the same "
          f"leading shape, got {tuple(f.shape)} and {tuple(both.shape)}"
        )
      both = both & f
    return out, both


def sequence_means(values, segment_ids, where, num_segments=None):
  """Token means of ``values [..., T]`` per segment over the tokens of
  ``where``, and the mask of segments holding such a token (``[..., S]``
  each): the per-sequence values of a packed batch."""
  sums, counts = sums_and_counts(values, segment_ids, num_segments, where)
  return numerics.safe_divide(sums, counts), counts != 0
