"""LM-scale cross-entropy: the LM head and the loss fused, never the logits.

A language model's loss ``-log softmax(x @ w + b)[y]`` over a vocabulary of
``V`` entries needs a ``[N, V]`` logits array (and its gradient) when written
naively; at ``V = 128k`` that array dominates the memory of a training step.
:func:`linear_cross_entropy` computes the same value and gradients in vocab
chunks: the forward pass keeps only per-token statistics (a running
max/sum-exp, i.e. the log-sum-exp, the target logit and, for label smoothing,
the sum of the logits), and a ``jax.custom_vjp`` recomputes each chunk in the
backward pass from those statistics.

The same core runs inside ``shard_map`` with the vocabulary sharded across
devices (``axis_name``): see :mod:`jaxloss._src.lm.vocab_parallel`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import reduction as reduction_lib
from jaxloss._src import validation
from jaxloss._src.objects import scoped

# Elements of one f32 logits tile [tokens, vocab chunk] for the default chunk.
_TILE_ELEMENTS = 1 << 22
_MIN_CHUNK = 128


class HeadConfig(NamedTuple):
  """Static options of the fused kernel (hashable: a custom_vjp nondiff arg)."""

  chunk: int
  label_smoothing: float
  z_loss: float
  logit_softcap: float | None
  vocab_total: int  # the global vocabulary size (label smoothing's 1/V)
  axis_name: object  # None, or the mesh axis the vocabulary is sharded over


def default_chunk(num_tokens: int, vocab: int) -> int:
  """Vocab chunk so that one float32 logits tile holds about 4M elements."""
  chunk = max(_MIN_CHUNK, _TILE_ELEMENTS // max(num_tokens, 1))
  return int(min(vocab, chunk))


def _dot(a, b, acc):
  """``a @ b`` (2-D) accumulated and returned in ``acc``."""
  return lax.dot_general(
    a, b, (((1,), (0,)), ((), ())), preferred_element_type=acc
  )


def _dot_t(a, b, acc):
  """``a.T @ b`` (contract the leading axes) in ``acc``."""
  return lax.dot_general(
    a, b, (((0,), (0,)), ((), ())), preferred_element_type=acc
  )


def _dot_nt(a, b, acc):
  """``a @ b.T`` (contract the trailing axes) in ``acc``."""
  return lax.dot_general(
    a, b, (((1,), (1,)), ((), ())), preferred_element_type=acc
  )


def _weight_chunk(w, start, size):
  """Columns ``[start, start + size)`` of ``w``.

  The barrier ties the weight to the (loop-varying) chunk start, so that a
  compiler cannot hoist a full-size upcast of the weight out of the loop (a
  backend without half-precision matmuls would otherwise hold a float32
  copy of the whole LM head); only one chunk is ever converted.
  """
  w, start = lax.optimization_barrier((w, start))
  return lax.dynamic_slice_in_dim(w, start, size, axis=1)


def _logits(cfg, x, w, b, start, size, acc):
  """Logits of one vocab chunk ``[N, size]`` in ``acc`` (softcap applied).

  Returns ``(s, z)``: the (capped) logits and the raw ones' tanh factor
  ``s / cap`` (None without a cap), for the derivative of the cap.
  """
  wk = _weight_chunk(w, start, size)
  z = _dot(x, wk, acc)
  if b is not None:
    z = z + lax.dynamic_slice_in_dim(b, start, size).astype(acc)[None, :]
  if cfg.logit_softcap is None:
    return z, None
  cap = jnp.asarray(cfg.logit_softcap, acc)
  t = jnp.tanh(z / cap)
  return cap * t, t


def _scan_chunks(step, carry, vocab, chunk, refs):
  """Runs ``step(carry, start, size)`` over the vocab chunks.

  ``refs`` are the arrays the step reads: inside ``shard_map`` the initial
  carry is cast to vary over their mesh axes (the scan checks that a carry's
  type does not change). A shorter tail chunk runs after the scan.
  """
  carry = vary_like(carry, refs)
  full, tail = vocab // chunk, vocab % chunk
  if full == 1:
    carry = step(carry, 0, chunk)
  elif full:
    carry, _ = lax.scan(
      lambda c, i: (step(c, i * chunk, chunk), None), carry, jnp.arange(full)
    )
  if tail:
    carry = step(carry, full * chunk, tail)
  return carry


def _varying_axes(x):
  """The manual mesh axes ``x`` varies over inside ``shard_map`` (else ())."""
  aval = jax.typeof(x)
  mat = getattr(aval, "mat", None)
  if mat is not None:
    return frozenset(getattr(mat, "varying", ()))
  return frozenset(getattr(aval, "vma", ()))


def vary_together(*arrays, exclude=None):
  """Casts every array to vary over the union of the arrays' manual axes,
  except the (vocabulary) axis ``exclude``.

  Inside ``shard_map`` a weight replicated over the data axis then enters the
  fused kernel with the type of the data-sharded embeddings, and the
  transpose of this cast sums its gradient over that axis, as autodiff
  would. A no-op (no copy) outside ``shard_map``.
  """
  axes = frozenset().union(*(_varying_axes(a) for a in arrays if a is not None))
  if exclude is not None:
    axes -= frozenset(exclude if isinstance(exclude, tuple) else (exclude,))
  out = []
  for a in arrays:
    missing = () if a is None else tuple(sorted(axes - _varying_axes(a)))
    out.append(lax.pcast(a, missing, to="varying") if missing else a)
  return out


def vary_like(carry, refs):
  axes = frozenset().union(*(_varying_axes(r) for r in refs if r is not None))

  def cast(c):
    missing = tuple(sorted(axes - _varying_axes(c)))
    return lax.pcast(c, missing, to="varying") if missing else c

  return jax.tree.map(cast, carry)


def _vocab_offset(cfg, vocab_local):
  if cfg.axis_name is None:
    return 0
  return lax.axis_index(cfg.axis_name) * vocab_local


def _local_stats(cfg, x, w, b, labels, acc):
  """Per-token ``(max, sum-exp relative to max, target logit, sum logits)``
  over this device's vocabulary, one chunk at a time."""
  n = x.shape[0]
  vocab = w.shape[1]
  local_labels = labels - _vocab_offset(cfg, vocab)

  def step(carry, start, size):
    m, se, tgt, tot = carry
    s, _ = _logits(cfg, x, w, b, start, size, acc)
    m_new = jnp.maximum(m, jnp.max(s, axis=-1))
    se = se * jnp.exp(m - m_new) + jnp.sum(jnp.exp(s - m_new[:, None]), -1)
    rel = local_labels - start
    inside = (rel >= 0) & (rel < size)
    picked = jnp.take_along_axis(
      s, jnp.clip(rel, 0, size - 1)[:, None], axis=-1
    )[:, 0]
    tgt = tgt + jnp.where(inside, picked, 0)
    if cfg.label_smoothing:
      tot = tot + jnp.sum(s, axis=-1)
    return m_new, se, tgt, tot

  zeros = jnp.zeros((n,), acc)
  carry = (jnp.full((n,), -jnp.inf, acc), zeros, zeros, zeros)
  return _scan_chunks(step, carry, vocab, cfg.chunk, (x, w, b, labels))


def _token_stats(cfg, x, w, b, labels, acc):
  """Global per-token ``(lse, target logit, sum of logits)``.

  With ``axis_name`` the per-device statistics are combined with two
  collectives: a ``pmax`` of the maxima and one ``psum`` of the stacked
  (rescaled sum-exp, target logit, sum of logits).
  """
  m, se, tgt, tot = _local_stats(cfg, x, w, b, labels, acc)
  if cfg.axis_name is not None:
    m_global = lax.pmax(m, cfg.axis_name)
    se = se * jnp.exp(m - m_global)
    se, tgt, tot = lax.psum(jnp.stack([se, tgt, tot]), cfg.axis_name)
    m = m_global
  # A fully -inf row cannot occur for finite inputs; a NaN propagates.
  lse = m + jnp.log(se)
  return lse, tgt, tot


def token_values(cfg, lse, tgt, tot, valid):
  ls = cfg.label_smoothing
  v = lse - (1.0 - ls) * tgt
  if ls:
    v = v - ls * tot / cfg.vocab_total
  if cfg.z_loss:
    v = v + cfg.z_loss * jnp.square(lse)
  return jnp.where(valid, v, 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def fused_token_losses(cfg, x, w, b, labels, valid):
  """Per-token losses ``[N]`` (compute dtype) of ``x @ w (+ b)``, chunked.

  Args:
    cfg: a static ``HeadConfig``.
    x: embeddings ``[N, D]``.
    w: LM-head weight ``[D, V_local]``.
    b: bias ``[V_local]`` or None.
    labels: int32 global class ids ``[N]`` (0 where not ``valid``).
    valid: bool ``[N]``; invalid tokens give 0 and no gradient.
  """
  acc = numerics.compute_dtype(x.dtype)
  lse, tgt, tot = _token_stats(cfg, x, w, b, labels, acc)
  return token_values(cfg, lse, tgt, tot, valid)


def _fused_fwd(cfg, x, w, b, labels, valid):
  acc = numerics.compute_dtype(x.dtype)
  lse, tgt, tot = _token_stats(cfg, x, w, b, labels, acc)
  return token_values(cfg, lse, tgt, tot, valid), (x, w, b, labels, valid, lse)


def dlogits(cfg, s, t, lse, g, rel_labels, valid):
  """Gradient of the per-token values (cotangent ``g [N]``) with respect to
  the raw logits of one chunk, from the capped logits ``s [N, c]``, the
  cap's ``tanh`` factor ``t`` (or None), the global ``lse`` and the labels
  relative to the chunk's first entry.

  ``d value / d s_v = g (1 + 2 z lse) softmax(s)_v - g (1 - ls) [v = y]
  - g ls / V``, times ``1 - t ** 2`` under a soft cap.
  """
  ls = cfg.label_smoothing
  g = jnp.where(valid, g, 0)
  g_p = g * (1.0 + 2.0 * cfg.z_loss * lse)
  p = jnp.exp(s - lse[:, None])
  hit = rel_labels[:, None] == jnp.arange(s.shape[-1])[None, :]
  ds = g_p[:, None] * p - jnp.where(hit, g[:, None] * (1.0 - ls), 0)
  if ls:
    ds = ds - (g * (ls / cfg.vocab_total))[:, None]
  if t is not None:
    ds = ds * (1.0 - jnp.square(t))
  # Ignored tokens contribute nothing, even when their inputs are NaN.
  return jnp.where(valid[:, None], ds, 0)


def _fused_bwd(cfg, res, g):
  x, w, b, labels, valid, lse = res
  acc = numerics.compute_dtype(x.dtype)
  vocab = w.shape[1]
  g = g.astype(acc)
  local_labels = labels - _vocab_offset(cfg, vocab)
  # Ignored tokens' rows must not reach the weight's gradient (0 * NaN).
  x_valid = jnp.where(valid[:, None], x, 0)

  def step(carry, start, size):
    dx, dw, db = carry
    s, t = _logits(cfg, x, w, b, start, size, acc)
    ds = dlogits(cfg, s, t, lse, g, local_labels - start, valid)
    ds = ds.astype(x.dtype)
    wk = _weight_chunk(w, start, size)
    dx = dx + _dot_nt(ds, wk, acc)
    dw = lax.dynamic_update_slice_in_dim(
      dw, _dot_t(x_valid, ds, acc).astype(w.dtype), start, axis=1
    )
    if db is not None:
      db = lax.dynamic_update_slice_in_dim(
        db, jnp.sum(ds, axis=0, dtype=acc).astype(b.dtype), start, axis=0
      )
    return dx, dw, db

  carry = (
    jnp.zeros(x.shape, acc),
    jnp.zeros_like(w),
    None if b is None else jnp.zeros_like(b),
  )
  dx, dw, db = _scan_chunks(
    step, carry, vocab, cfg.chunk, (x, w, b, labels, valid, lse, g)
  )
  if cfg.axis_name is not None:
    # Each device saw only its vocab shard: the embeddings' gradient is the
    # sum of the partial ones.
    dx = lax.psum(dx, cfg.axis_name)
  return dx.astype(x.dtype), dw, db, None, None


fused_token_losses.defvjp(_fused_fwd, _fused_bwd)


# ------------------------------------------------------------ validation


def check_options(
  fn, *, label_smoothing, z_loss, logit_softcap, chunk_size, ignore_index
):
  validation.check_range(fn, "label_smoothing", label_smoothing, 0.0, 1.0)
  validation.check_range(fn, "z_loss", z_loss, low=0.0)
  validation.check_range(
    fn, "logit_softcap", logit_softcap, low=0.0, low_open=True, optional=True
  )
  if chunk_size is not None and (
    isinstance(chunk_size, bool)
    or not isinstance(chunk_size, int)
    or chunk_size < 1
  ):
    raise ValueError(
      f"{fn}: chunk_size must be a positive int or None, got {chunk_size!r}"
    )
  validation.integer(fn, "ignore_index", ignore_index)


def head_inputs(fn, embeddings, weight, labels, bias):
  """Validates ``embeddings [..., D]``, ``weight [D, V]``, ``labels [...]``
  and ``bias [V]``; returns them with one floating dtype, plus that dtype."""
  x = numerics.as_float(fn, "embeddings", embeddings)
  w = numerics.as_float(fn, "weight", weight)
  y = numerics.as_array(fn, "labels", labels)
  validation.integer_dtype(fn, "labels", y)
  if x.ndim < 1:
    raise ValueError(f"{fn}: embeddings must have shape [..., D], got a scalar")
  if w.ndim != 2:
    raise ValueError(
      f"{fn}: weight must have shape [D, V], got shape {tuple(w.shape)}"
    )
  if w.shape[0] != x.shape[-1]:
    raise ValueError(
      f"{fn}: weight must have shape [D, V] with D = embeddings.shape[-1] "
      f"= {x.shape[-1]}, got weight.shape={tuple(w.shape)}"
    )
  if y.shape != x.shape[:-1]:
    raise ValueError(
      f"{fn}: labels must have the shape of embeddings without its last "
      f"axis, got labels.shape={tuple(y.shape)} and "
      f"embeddings.shape={tuple(x.shape)}"
    )
  arrays = [x, w]
  if bias is not None:
    bias = numerics.as_float(fn, "bias", bias)
    if bias.shape != (w.shape[1],):
      raise ValueError(
        f"{fn}: bias must have shape [V] = ({w.shape[1]},), got "
        f"bias.shape={tuple(bias.shape)}"
      )
    arrays.append(bias)
  dtype = jnp.result_type(*arrays)
  x, w = x.astype(dtype), w.astype(dtype)
  if bias is not None:
    bias = bias.astype(dtype)
  return x, w, y.astype(jnp.int32), bias, dtype


def token_losses(
  fn,
  x,
  w,
  y,
  b,
  *,
  ignore_index,
  label_smoothing,
  z_loss,
  logit_softcap,
  chunk_size,
  vocab_total,
  axis_name,
):
  """Flattens, runs the fused kernel, returns ``(values [...], valid [...])``
  with values in the compute dtype."""
  batch_shape = y.shape
  x2 = x.reshape((-1, x.shape[-1]))
  y1 = y.reshape((-1,))
  valid = y1 != ignore_index
  y1 = jnp.where(valid, y1, 0)
  vocab = w.shape[1]
  chunk = chunk_size or default_chunk(x2.shape[0], vocab)
  cfg = HeadConfig(
    chunk=int(min(chunk, vocab)),
    label_smoothing=float(label_smoothing),
    z_loss=float(z_loss),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    vocab_total=int(vocab_total),
    axis_name=axis_name,
  )
  x2, w, b, y1, valid = vary_together(x2, w, b, y1, valid, exclude=axis_name)
  values: jax.Array = fused_token_losses(cfg, x2, w, b, y1, valid)  # pyright: ignore[reportAssignmentType]
  return values.reshape(batch_shape), valid.reshape(batch_shape)


def finish(
  fn, values, valid, out_dtype, *, sample_weight, reduction, normalizer
):
  """Weights, masks out ignored tokens and reduces with :func:`reduce`."""
  reduction_lib.check_reduction(fn, reduction)
  if sample_weight is not None:
    sample_weight = numerics.as_array(fn, "sample_weight", sample_weight)
    sample_weight = sample_weight.astype(values.dtype)
  out = reduction_lib.reduce(
    values,
    sample_weight=sample_weight,
    where=valid,
    reduction=reduction,
    normalizer=normalizer,
  )
  return out.astype(out_dtype)


# ------------------------------------------------------------ public API


@scoped
def linear_cross_entropy(
  embeddings,
  weight,
  labels,
  *,
  bias=None,
  ignore_index=-100,
  label_smoothing=0.0,
  z_loss=0.0,
  logit_softcap=None,
  sample_weight=None,
  reduction="mean",
  normalizer=None,
  chunk_size=None,
):
  """Cross-entropy of an LM head ``x @ w (+ b)`` without the full logits.

  With ``z = x @ weight + bias`` (``[N, V]``, accumulated in float32 for
  half inputs), ``s = cap * tanh(z / cap)`` when ``logit_softcap`` is set
  (else ``s = z``), ``lse = logsumexp(s)`` and label smoothing ``ls``
  (uniform mixing), the per-token loss is::

    loss = lse - (1 - ls) * s[y] - ls * mean_v(s[v]) + z_loss * lse ** 2

  and 0 for tokens whose label is ``ignore_index``. The logits are computed
  ``chunk_size`` vocabulary entries at a time (forward and backward: a
  ``jax.custom_vjp`` keeps only the per-token log-sum-exp and recomputes each
  chunk in the backward pass), so memory grows like ``N * chunk_size``,
  never ``N * V``. Values and gradients equal the naive
  ``sparse_categorical_crossentropy(labels, x @ w + b, from_logits=True)``.

  Reductions (through :func:`jaxloss.reduce`, ignored tokens masked out):
  ``"mean"``/``"sum_over_batch_size"`` divide ``sum(w_i * loss_i)`` by the
  number of non-ignored tokens (sample weights do not change the divisor) or
  by ``normalizer``; ``"mean_with_sample_weight"`` divides by the sum of the
  non-ignored tokens' weights; ``"sum"`` and ``"none"`` (``[...]``, 0 at
  ignored tokens) are unnormalised. All tokens ignored gives 0 with zero
  (finite) gradients.

  Args:
    embeddings: final hidden states ``[..., D]``.
    weight: LM-head kernel ``[D, V]`` (Flax ``Dense`` layout; for tied
      embeddings pass the transposed ``[V, D]`` table).
    labels: integer class ids ``[...]``; ids outside ``[0, V)`` other than
      ``ignore_index`` are not checked (no value checks under ``jit``).
    bias: optional ``[V]``.
    ignore_index: label value of tokens to skip (e.g. padding).
    label_smoothing: in [0, 1].
    z_loss: coefficient (>= 0) of the ``lse ** 2`` penalty (PaLM).
    logit_softcap: positive cap (Gemma 2) or None.
    sample_weight: per-token weights broadcast from the leading axes.
    reduction: a :func:`jaxloss.reduce` reduction.
    normalizer: explicit divisor of the mean-like reductions (e.g. the global
      token count under data parallelism).
    chunk_size: vocabulary entries per chunk; None picks one so that a
      float32 tile holds about 4M elements.

  Returns:
    A scalar, or ``[...]`` for ``reduction="none"``, in the floating dtype
    of the inputs (statistics are kept in float32 for half inputs).

  Raises:
    TypeError: for non-floating embeddings/weight/bias or non-integer labels.
    ValueError: for mismatched shapes or out-of-range options.

  Example:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> jaxloss.linear_cross_entropy(x, w, jnp.array([0, 2]), chunk_size=2)
    Array(1.2395449, dtype=float32)

  References:
    Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models",
    2024 (arXiv:2411.09009). Chowdhery et al., "PaLM", 2022, section 5
    (z-loss). Gemma Team, "Gemma 2", 2024 (logit soft-capping).
  """
  fn = "linear_cross_entropy"
  check_options(
    fn,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )
  reduction_lib.check_reduction(fn, reduction)
  x, w, y, b, out_dtype = head_inputs(fn, embeddings, weight, labels, bias)
  values, valid = token_losses(
    fn,
    x,
    w,
    y,
    b,
    ignore_index=ignore_index,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    vocab_total=w.shape[1],
    axis_name=None,
  )
  return finish(
    fn,
    values,
    valid,
    out_dtype,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
  )
