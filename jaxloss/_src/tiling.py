"""Tiled kernels: the machinery shared by the LM heads and the contrastive
losses.

Both families reduce a ``[rows, cols]`` matrix that is never held whole
(an LM head's ``[tokens, vocab]`` logits, CLIP's and SigLIP's ``[B, B]``
similarities): a scan visits ``[rows, chunk]`` tiles of it, keeps per-row
statistics (an online log-sum-exp, sums), and a ``jax.custom_vjp``
recomputes each tile in the backward pass. Under ``shard_map`` the
per-device statistics are combined with one ``pmax`` and one ``psum``. One
home for each of those ideas:

* chunk sizing: :func:`default_chunk`, :func:`chunk_for`;
* tile products: :func:`matmul` (with :data:`NN`, :data:`NT`, :data:`TN`)
  and :func:`loop_slice`;
* the scan over tiles: :func:`scan_tiles`;
* the online log-sum-exp and its combine across tiles and devices:
  :class:`Lse`, :func:`lse_start`, :func:`lse_add`, :func:`lse_of`,
  :func:`lse_rescale`,
  :func:`finish_lse`, :func:`lse_across`, :func:`psum_together`;
* ``shard_map`` typing: :func:`vary_together`, :func:`vary_like`, and the
  bound-axis check :func:`axis_size`;
* the custom-VJP scaffolding: :func:`tiled_vjp`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp

# One float32 tile [rows, chunk] of the default chunk holds about this many
# elements (16 MiB): large enough for efficient matmuls, small next to the
# [rows, cols] matrix it stands for.
TILE_ELEMENTS = 1 << 22
MIN_CHUNK = 128


def default_chunk(rows: int, cols: int) -> int:
  """Columns per tile so that one float32 tile holds about 4M elements."""
  chunk = max(MIN_CHUNK, TILE_ELEMENTS // max(rows, 1))
  return int(min(cols, chunk))


def chunk_for(chunk_size: int | None, rows: int, cols: int) -> int:
  """The columns per tile: ``chunk_size`` (or :func:`default_chunk`),
  never more than ``cols`` and at least 1."""
  chunk = chunk_size or default_chunk(rows, cols)
  return int(max(1, min(chunk, cols)))


# ------------------------------------------------------------ tile products

# Contracting dimensions of 2-D products for :func:`matmul`.
NN = ((1,), (0,))  # a @ b
NT = ((1,), (1,))  # a @ b.T
TN = ((0,), (0,))  # a.T @ b


def matmul(a, b, contract, acc) -> jax.Array:
  """A 2-D ``dot_general`` over ``contract`` (:data:`NN`, :data:`NT` or
  :data:`TN`), accumulated and returned in ``acc``.

  Half-precision operands stay half (the matmul units take them) while the
  products accumulate in float32.
  """
  return lax.dot_general(a, b, (contract, ((), ())), preferred_element_type=acc)


def loop_slice(array, start, size: int, axis: int) -> jax.Array:
  """``array[start:start + size]`` along ``axis`` inside a loop over tiles.

  The optimisation barrier ties the array to the loop-varying start, so
  that a compiler cannot hoist a full-size upcast of it out of the loop (a
  backend without half-precision matmuls would otherwise hold a float32
  copy of a whole LM head or embedding block); only one tile is converted.
  """
  array, start = lax.optimization_barrier((array, start))
  return lax.dynamic_slice_in_dim(array, start, size, axis=axis)


# ------------------------------------------------------------ the scan


def scan_tiles(step: Callable, carry, total: int, chunk: int, refs):
  """Runs ``carry = step(carry, start, size)`` over the tiles
  ``[start, start + size)`` of ``total`` columns: a ``lax.scan`` over the
  full tiles (a plain call when there is one), then a shorter tail tile.

  ``refs`` are the arrays the step reads: inside ``shard_map`` the initial
  carry is cast to vary over their mesh axes, because a scan checks that
  its carry's type does not change from one step to the next.
  """
  carry = vary_like(carry, refs)
  full, tail = total // chunk, total % chunk
  if full == 1:
    carry = step(carry, 0, chunk)
  elif full:
    carry, _ = lax.scan(
      lambda c, i: (step(c, i * chunk, chunk), None), carry, jnp.arange(full)
    )
  if tail:
    carry = step(carry, full * chunk, tail)
  return carry


# ------------------------------------------------- online log-sum-exp


class Lse(NamedTuple):
  """A log-sum-exp over the last axis of tiles, under construction.

  Per row: the running maximum ``m``, ``se = sum exp(s - m)`` and, when
  tracked (the entropy needs it), ``sw = sum exp(s - m) (s - m)``. Merging
  two partial states (a new tile, or another device's shard) rescales both
  to the larger maximum: :func:`lse_rescale`.
  """

  m: jax.Array
  se: jax.Array
  sw: jax.Array | None = None


def lse_start(shape, dtype, weighted: bool = False) -> Lse:
  """The empty state: ``m = -inf`` and zero sums (``sw`` when
  ``weighted``)."""
  zeros = jnp.zeros(shape, dtype)
  return Lse(
    jnp.full(shape, -jnp.inf, dtype), zeros, zeros if weighted else None
  )


def finite_shift(m):
  """``m`` as a shift for ``exp(s - m)``, 0 where ``m = -inf`` (a row with
  no entry yet, or fully masked), so that the shift itself is never
  ``-inf - -inf = NaN``."""
  return jnp.where(m == -jnp.inf, 0, m)


def lse_of(s) -> Lse:
  """The state of one whole tile ``s [rows, c]`` (its last axis), for a
  row that is complete in one tile (a device's vocabulary shard)."""
  m = jnp.max(s, axis=-1)
  return Lse(m, jnp.sum(jnp.exp(s - finite_shift(m)[..., None]), axis=-1))


def lse_rescale(state: Lse, m_new) -> tuple[Lse, jax.Array]:
  """``state`` re-expressed relative to a maximum ``m_new >= state.m``, and
  the factor ``alpha = exp(m - m_new)`` that carried its sums there."""
  shift = finite_shift(m_new)
  alpha = jnp.exp(state.m - shift)
  sw = state.sw
  if sw is not None:
    # exp(a - m') (a - m') = alpha exp(a - m) ((a - m) + (m - m')); an
    # empty sum (se = 0) stays 0 whatever its maximum.
    sw = alpha * (sw + jnp.where(state.se > 0, state.m - shift, 0) * state.se)
  return Lse(m_new, state.se * alpha, sw), alpha


def lse_add(state: Lse, s) -> tuple[Lse, jax.Array, jax.Array]:
  """Adds the tile ``s [rows, c]`` (its last axis) to ``state``.

  Returns ``(state, alpha, e)``: the new state, the factor that rescaled the
  old sums and ``e = exp(s - m_new)``, for callers that accumulate other
  sums weighted by the same exponentials.
  """
  m_new = jnp.maximum(state.m, jnp.max(s, axis=-1))
  state, alpha = lse_rescale(state, m_new)
  shift = finite_shift(m_new)[..., None]
  e = jnp.exp(s - shift)
  se = state.se + jnp.sum(e, axis=-1)
  sw = state.sw
  if sw is not None:
    sw = sw + jnp.sum(e * (s - shift), axis=-1)
  return Lse(m_new, se, sw), alpha, e


def shift_sum(total, count, m_old, m_new):
  """``total = sum(s - m_old)`` over ``count`` logits, re-expressed as
  ``sum(s - m_new)`` (0 while nothing was summed): a sum of logits kept
  relative to the running maximum, so that it never holds the large
  common offset (logits of 3e5 in float32) that a difference with the
  maximum would cancel."""
  return total + jnp.where(count > 0, count * (m_old - finite_shift(m_new)), 0)


def finish_lse(m, se, *, empty_rows: bool = False) -> jax.Array:
  """``m + log(se)``, the log-sum-exp of a finished state.

  With ``empty_rows`` (masked rows or columns, as in CLIP) a row with no
  entry (``se = 0``) gives ``-inf`` and a NaN sum gives NaN. Without it
  (every row saw finite logits: an LM head) the plain formula is kept: it
  also propagates NaN, and the extra selects would change how XLA fuses
  the kernel around it (a larger compiled buffer in the log-probs kernel).
  """
  if not empty_rows:
    return m + jnp.log(se)
  return jnp.where(
    se > 0,
    finite_shift(m) + jnp.log(jnp.where(se > 0, se, 1)),
    jnp.where(jnp.isnan(se), jnp.nan, -jnp.inf),
  )


def psum_together(axis_name, *arrays) -> list[jax.Array]:
  """The ``psum`` of every array over ``axis_name``, as one collective (the
  arrays are flattened into one vector and split back)."""
  flat = jnp.concatenate([a.reshape((-1,)) for a in arrays])
  summed = lax.psum(flat, axis_name)
  out, offset = [], 0
  for a in arrays:
    out.append(summed[offset : offset + a.size].reshape(a.shape))
    offset += a.size
  return out


def lse_across(
  axis_name,
  states: Sequence[Lse],
  sums: Sequence[Any] = (),
  rescaled: Sequence[tuple[int, Any]] = (),
  shifted: Sequence[tuple[int, Any, int]] = (),
) -> tuple[list[Lse], list[jax.Array], list[jax.Array]]:
  """Global statistics from the per-device ones of a sharded axis.

  One ``pmax`` of every state's maximum, then one ``psum`` of the states'
  sums (rescaled to the global maxima), of ``sums`` as they are, of each
  ``(i, array)`` in ``rescaled`` (a sum weighted by the exponentials of
  state ``i``, rescaled like it) and of each ``(i, array, count)`` in
  ``shifted`` (a sum of ``count`` logits relative to state ``i``'s maximum,
  ``sum(s - m)``, re-expressed relative to the global maximum).

  Returns ``(states, sums, rescaled + shifted)``, global and the same on
  every device.
  """
  maxima = [s.m for s in states]
  if len(maxima) == 1:
    global_max = [lax.pmax(maxima[0], axis_name)]
  else:
    global_max = list(lax.pmax(jnp.stack(maxima), axis_name))
  moved = [lse_rescale(s, m) for s, m in zip(states, global_max)]
  parts = []
  for s, _ in moved:
    parts += [s.se] if s.sw is None else [s.se, s.sw]
  parts += list(sums)
  parts += [a * moved[i][1] for i, a in rescaled]
  parts += [
    a + count * (states[i].m - finite_shift(global_max[i]))
    for i, a, count in shifted
  ]
  summed = psum_together(axis_name, *parts)
  out_states, k = [], 0
  for s, _ in moved:
    if s.sw is None:
      out_states.append(Lse(s.m, summed[k]))
      k += 1
    else:
      out_states.append(Lse(s.m, summed[k], summed[k + 1]))
      k += 2
  n_sums = len(sums)
  return out_states, summed[k : k + n_sums], summed[k + n_sums :]


# ------------------------------------------------------------ shard_map


def varying_axes(x) -> frozenset:
  """The manual mesh axes ``x`` varies over inside ``shard_map`` (else
  empty)."""
  aval = jax.typeof(x)
  mat = getattr(aval, "mat", None)
  if mat is not None:
    return frozenset(getattr(mat, "varying", ()))
  return frozenset(getattr(aval, "vma", ()))


def vary_together(*arrays, exclude=None) -> list:
  """Casts every array to vary over the union of the arrays' manual axes,
  except the axis (or tuple of axes) ``exclude``.

  Inside ``shard_map`` a weight replicated over the data axis then enters a
  tiled kernel with the type of the data-sharded embeddings, and the
  transpose of this cast sums its gradient over that axis, as autodiff
  would. A no-op (no copy) outside ``shard_map``. None entries stay None.
  """
  axes = frozenset().union(*(varying_axes(a) for a in arrays if a is not None))
  if exclude is not None:
    axes -= frozenset(exclude if isinstance(exclude, tuple) else (exclude,))
  out = []
  for a in arrays:
    missing = () if a is None else tuple(sorted(axes - varying_axes(a)))
    out.append(lax.pcast(a, missing, to="varying") if missing else a)
  return out


def vary_like(tree, refs):
  """Casts every leaf of ``tree`` to vary over the manual axes of the
  arrays ``refs`` (None entries skipped): a loop carry that starts as a
  constant must have the type of what the loop adds to it."""
  axes = frozenset().union(*(varying_axes(r) for r in refs if r is not None))

  def cast(c):
    missing = tuple(sorted(axes - varying_axes(c)))
    return lax.pcast(c, missing, to="varying") if missing else c

  return jax.tree.map(cast, tree)


def axis_size(caller: str, axis_name) -> int:
  """The size of the mesh axis ``axis_name``, or a ValueError that names
  ``caller`` when no ``shard_map`` binds it."""
  try:
    return lax.axis_size(axis_name)
  except NameError as e:
    raise ValueError(
      f"{caller}: axis_name must name a mesh axis bound by shard_map, got "
      f"{axis_name!r}"
    ) from e


# ------------------------------------------------------------ custom VJP


def tiled_vjp(forward: Callable, backward: Callable):
  """A ``jax.custom_vjp`` function from its two rules.

  ``forward(cfg, *args) -> (outputs, residuals)`` and ``backward(cfg,
  residuals, cotangents) -> grads``, with ``cfg`` static (hashable). The
  function's value is ``forward``'s outputs (its residuals are dead code
  when no gradient is taken), so a tiled kernel writes its forward pass
  once. Tiled kernels need the custom VJP because autodiff of the scan
  would store every tile for the backward pass.
  """

  def primal(cfg, *args):
    return forward(cfg, *args)[0]

  primal.__name__ = getattr(forward, "__name__", "tiled").removesuffix("_fwd")
  primal.__doc__ = forward.__doc__
  wrapped = jax.custom_vjp(primal, nondiff_argnums=(0,))
  wrapped.defvjp(forward, backward)
  return wrapped
