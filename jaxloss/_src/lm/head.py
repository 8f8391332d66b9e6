"""The chunked LM head shared by the LM losses.

Every fused LM loss (cross-entropy, log-probabilities and entropy,
distillation) evaluates ``z = x @ w (+ b)`` one vocabulary chunk at a time
and never holds the ``[tokens, vocab]`` logits. What they share lives here:
the logits of one chunk (:func:`chunk_logits`), the soft cap
(:func:`softcap`), the offset of a vocabulary shard (:func:`vocab_offset`),
the flattening of ``[..., D]`` hidden states into rows (:func:`token_rows`)
and the backward pass that turns each chunk's logit gradient into the
gradients of ``x``, ``w`` and ``b`` (:func:`head_backward`). The generic
tiling (the scan, the online log-sum-exp, the cross-device combine) is in
:mod:`jaxloss._src.tiling`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import tiling
from jaxloss._src import validation


def chunk_logits(x, w, b, start, size: int, acc) -> jax.Array:
  """Raw logits ``x @ w[:, start:start + size] (+ b[start:...])`` of one
  vocabulary chunk, ``[N, size]`` in ``acc``."""
  z = tiling.matmul(x, tiling.loop_slice(w, start, size, 1), tiling.NN, acc)
  if b is not None:
    z = z + lax.dynamic_slice_in_dim(b, start, size).astype(acc)[None, :]
  return z


def softcap(z, cap: float | None):
  """``(s, t)``: the capped logits ``s = cap * tanh(z / cap)`` and ``t =
  tanh(z / cap)`` (``ds/dz = 1 - t ** 2``); ``(z, None)`` without a cap
  (Gemma 2's logit soft-capping)."""
  if cap is None:
    return z, None
  t = jnp.tanh(z / cap)
  return cap * t, t


def vocab_offset(axis_name, vocab_local: int):
  """The global id of this device's first vocabulary entry when the
  vocabulary is sharded over ``axis_name`` (0 without a mesh axis)."""
  if axis_name is None:
    return 0
  return lax.axis_index(axis_name) * vocab_local


def token_rows(x, labels, valid):
  """Flattens hidden states ``x [..., D]`` into rows ``[N, D]``, the labels
  ``[..., *k]`` into ``[N, *k]`` (0 where not ``valid``: an ignored token
  may hold any id) and ``valid [...]`` into ``[N]``."""
  x2 = x.reshape((-1, x.shape[-1]))
  n = x2.shape[0]
  v1 = valid.reshape((n,))
  y = labels.reshape((n,) + labels.shape[valid.ndim :])
  y = jnp.where(v1.reshape((n,) + (1,) * (y.ndim - 1)), y, 0)
  return x2, y, v1


def head_backward(cfg, x, w, b, valid, dlogits: Callable, refs):
  """The backward pass of a chunked LM head ``z = x @ w (+ b)``.

  For each vocabulary chunk ``dz = dlogits(start, size)`` (the gradient
  with respect to the chunk's raw logits, ``[N, size]`` in the compute
  dtype, 0 at rows that are not ``valid``) gives ``dx += dz @ w_chunk.T``,
  ``dw[:, chunk] = x.T @ dz`` and ``db[chunk] = sum(dz)``; the logits are
  recomputed by ``dlogits``, never stored. With ``axis_name`` (a
  vocab-sharded head) each device saw only its shard, so the embeddings'
  gradient is the ``psum`` of the partial ones; the weight's stays local.

  Args:
    cfg: the kernel's static options: ``cfg.chunk`` (vocabulary entries per
      chunk) and ``cfg.axis_name`` (None, or the mesh axis the vocabulary is
      sharded over).
    x: ``[N, D]``; w: ``[D, V_local]``; b: ``[V_local]`` or None.
    valid: bool ``[N]``.
    dlogits: ``(start, size) -> dz``.
    refs: the arrays ``dlogits`` reads (for the carry's ``shard_map``
      type, see :func:`jaxloss._src.tiling.scan_tiles`).

  Returns:
    ``(dx, dw, db)`` in the dtypes of ``x``, ``w`` and ``b`` (``db`` None
    without a bias).
  """
  acc = numerics.compute_dtype(x.dtype)
  # Ignored tokens' rows must not reach the weight's gradient (0 * NaN).
  x_valid = jnp.where(valid[:, None], x, 0)

  def step(carry, start, size):
    dx, dw, db = carry
    dz = dlogits(start, size).astype(x.dtype)
    wk = tiling.loop_slice(w, start, size, 1)
    dx = dx + tiling.matmul(dz, wk, tiling.NT, acc)
    dw = lax.dynamic_update_slice_in_dim(
      dw, tiling.matmul(x_valid, dz, tiling.TN, acc).astype(w.dtype), start, 1
    )
    if db is not None:
      db = lax.dynamic_update_slice_in_dim(
        db, jnp.sum(dz, axis=0, dtype=acc).astype(b.dtype), start, 0
      )
    return dx, dw, db

  carry = (
    jnp.zeros(x.shape, acc),
    jnp.zeros_like(w),
    None if b is None else jnp.zeros_like(b),
  )
  dx, dw, db = tiling.scan_tiles(
    step, carry, w.shape[1], cfg.chunk, (x, w, b, valid, *refs)
  )
  if cfg.axis_name is not None:
    dx = lax.psum(dx, cfg.axis_name)
  return dx.astype(x.dtype), dw, db


def pick(s, rel):
  """``s[i, rel[i, k]]`` where ``0 <= rel < size`` (the label falls in this
  chunk), else 0: ``[N, K]`` from the tile ``s [N, size]`` and the labels
  relative to the chunk's first entry ``rel [N, K]``."""
  size = s.shape[-1]
  inside = (rel >= 0) & (rel < size)
  got = jnp.take_along_axis(s, jnp.clip(rel, 0, size - 1), axis=-1)
  return jnp.where(inside, got, 0)


# ------------------------------------------------------------ validation


def check_options(caller, *, logit_softcap, chunk_size, ignore_index):
  """The options every chunked LM head takes."""
  validation.check_range(
    caller,
    "logit_softcap",
    logit_softcap,
    low=0.0,
    low_open=True,
    optional=True,
  )
  validation.positive_integer(caller, "chunk_size", chunk_size, optional=True)
  validation.integer(caller, "ignore_index", ignore_index)


def head_arrays(
  caller,
  embeddings,
  weight,
  bias,
  *,
  x_name="embeddings",
  w_name="weight",
  b_name="bias",
):
  """Validates ``embeddings [..., D]``, ``weight [D, V]``, ``bias [V]``;
  returns them in one floating dtype."""
  x = numerics.as_float(caller, x_name, embeddings)
  w = numerics.as_float(caller, w_name, weight)
  if x.ndim < 1:
    raise ValueError(
      f"{caller}: {x_name} must have shape [..., D], got a scalar"
    )
  if w.ndim != 2 or w.shape[0] != x.shape[-1]:
    raise ValueError(
      f"{caller}: {w_name} must have shape [D, V] with D = {x_name}.shape[-1] "
      f"= {x.shape[-1]}, got {w_name}.shape={tuple(w.shape)}"
    )
  arrays = [x, w]
  if bias is not None:
    bias = numerics.as_float(caller, b_name, bias)
    if bias.shape != (w.shape[1],):
      raise ValueError(
        f"{caller}: {b_name} must have shape [V] = ({w.shape[1]},), got "
        f"{b_name}.shape={tuple(bias.shape)}"
      )
    arrays.append(bias)
  dtype = jnp.result_type(*arrays)
  x, w = x.astype(dtype), w.astype(dtype)
  if bias is not None:
    bias = bias.astype(dtype)
  return x, w, bias


def int_labels(caller, name, labels, shape):
  """Integer ``labels`` of shape ``shape`` (the embeddings without their
  last axis), as int32."""
  y = numerics.as_array(caller, name, labels)
  validation.integer_dtype(caller, name, y)
  if y.shape != shape:
    raise ValueError(
      f"{caller}: {name} must have shape {shape} (the embeddings without their "
      f"last axis), got {name}.shape={tuple(y.shape)}"
    )
  return y.astype(jnp.int32)
