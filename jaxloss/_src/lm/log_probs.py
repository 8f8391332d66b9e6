"""Per-token log-probabilities and entropy of an LM head, never the logits.

Post-training losses (preference, policy-gradient) start from
``log softmax(x @ w)[y]`` per token, and some also need the entropy of that
softmax. :func:`linear_log_probs` computes both one vocabulary chunk at a
time: the forward pass keeps per-token statistics only (running maximum,
rescaled sum-exp, rescaled sum of ``exp(s) * s`` for the entropy, the target
logits) and a ``jax.custom_vjp`` recomputes each chunk's logits in the
backward pass, so memory grows like ``N * chunk``, never ``N * V``.

The kernel takes ``K >= 1`` labels per token (``[N, K]``), which the top-k
distillation loss uses; with ``axis_name`` it runs on a vocabulary shard
inside ``shard_map`` and combines the statistics with one ``pmax`` and one
``psum``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple
from typing import cast

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import validation
from jaxloss._src.lm.cross_entropy import vary_together
from jaxloss._src.objects import scoped

# One float32 logits tile [tokens, chunk] holds about this many elements.
TILE_ELEMENTS = 1 << 22
MIN_CHUNK = 128


class HeadConfig(NamedTuple):
  """Static options of the LM-head kernels (hashable)."""

  chunk: int
  temperature: float
  logit_softcap: float | None
  entropy: bool
  axis_name: object  # None, or the mesh axis the vocabulary is sharded over


def default_chunk(num_tokens: int, vocab: int) -> int:
  """A vocabulary chunk so that one float32 tile holds about 4M elements."""
  chunk = max(MIN_CHUNK, TILE_ELEMENTS // max(num_tokens, 1))
  return int(min(vocab, chunk))


def matmul(a, b, contract, acc):
  """``dot_general`` of 2-D arrays over ``contract`` ((a axis), (b axis))."""
  return lax.dot_general(a, b, (contract, ((), ())), preferred_element_type=acc)


def weight_columns(w, start, size):
  """Columns ``[start, start + size)`` of ``w``.

  The optimisation barrier ties the weight to the loop-varying start, so
  that the compiler cannot hoist a float32 copy of the whole weight out of
  the loop on backends without half-precision matmuls.
  """
  w, start = lax.optimization_barrier((w, start))
  return lax.dynamic_slice_in_dim(w, start, size, axis=1)


def chunk_logits(cfg, x, w, b, start, size, acc):
  """Scaled logits ``s = softcap(x @ w + b) / temperature`` of one chunk,
  and the factor ``ds/dz`` (a scalar, or an ``[N, size]`` array under a
  soft cap)."""
  z = matmul(x, weight_columns(w, start, size), ((1,), (0,)), acc)
  if b is not None:
    z = z + lax.dynamic_slice_in_dim(b, start, size).astype(acc)[None, :]
  inv_t = 1.0 / cfg.temperature
  if cfg.logit_softcap is None:
    return (z * inv_t if cfg.temperature != 1.0 else z), inv_t
  cap = cfg.logit_softcap
  t = jnp.tanh(z / cap)
  return (cap * inv_t) * t, inv_t * (1.0 - jnp.square(t))


def scan_chunks(step, carry, vocab, chunk, refs):
  """Runs ``step(carry, start, size)`` over the vocabulary chunks (a scan,
  then a shorter tail chunk). Inside ``shard_map`` the initial carry is cast
  to vary like ``refs``, which the scan requires."""
  refs = [r for r in refs if r is not None]
  carry = jax.tree.map(lambda c: vary_together(c, *refs)[0], carry)
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


def vocab_offset(cfg, vocab_local):
  if cfg.axis_name is None:
    return 0
  return lax.axis_index(cfg.axis_name) * vocab_local


def online_update(m, se, sw, s):
  """Adds a tile ``s [N, c]`` to the running ``(max, sum exp(s - m),
  sum exp(s - m) (s - m))`` (``sw`` None when not tracked)."""
  m_new = jnp.maximum(m, jnp.max(s, axis=-1))
  alpha = jnp.exp(m - m_new)
  e = jnp.exp(s - m_new[:, None])
  se_new = se * alpha + jnp.sum(e, axis=-1)
  if sw is None:
    return m_new, se_new, None
  # Re-centre the old sum on the new maximum: exp(a - m') (a - m') =
  # alpha exp(a - m) ((a - m) + (m - m')); empty sums (se = 0) stay 0.
  shift = jnp.where(se > 0, m - m_new, 0)
  sw_new = alpha * (sw + shift * se) + jnp.sum(e * (s - m_new[:, None]), -1)
  return m_new, se_new, sw_new


def combine_shards(axis_name, m, se, sw, others):
  """Global statistics from per-shard ``(m, se, sw)`` and summed
  ``others [.., N]``: one ``pmax`` and one ``psum``."""
  m_g = lax.pmax(m, axis_name)
  alpha = jnp.exp(m - m_g)
  shift = jnp.where(se > 0, m - m_g, 0)
  parts = [se * alpha]
  if sw is not None:
    parts.append(alpha * (sw + shift * se))
  n = len(parts)
  flat = [o.reshape((-1,) + m.shape) for o in others]
  summed = lax.psum(jnp.concatenate([jnp.stack(parts)] + flat), axis_name)
  se = summed[0]
  sw = summed[1] if sw is not None else None
  rest, off = [], n
  for o in others:
    k = o.size // m.size
    rest.append(summed[off : off + k].reshape(o.shape))
    off += k
  return m_g, se, sw, rest


def pick(s, rel):
  """``s[i, rel[i, k]]`` where ``0 <= rel < size``, else 0 (``[N, K]``)."""
  size = s.shape[-1]
  inside = (rel >= 0) & (rel < size)
  got = jnp.take_along_axis(s, jnp.clip(rel, 0, size - 1), axis=-1)
  return jnp.where(inside, got, 0)


def _stats(cfg, x, w, b, labels, acc):
  """Global per-token ``(lse [N], target logits [N, K], E_p[s] [N] or
  None)`` of the scaled logits."""
  n = x.shape[0]
  local = labels - vocab_offset(cfg, w.shape[1])

  def step(carry, start, size):
    m, se, sw, tgt = carry
    s, _ = chunk_logits(cfg, x, w, b, start, size, acc)
    m, se, sw = online_update(m, se, sw, s)
    return m, se, sw, tgt + pick(s, local - start)

  zeros = jnp.zeros((n,), acc)
  carry = (
    jnp.full((n,), -jnp.inf, acc),
    zeros,
    zeros if cfg.entropy else None,
    jnp.zeros(labels.shape, acc),
  )
  m, se, sw, tgt = scan_chunks(
    step, carry, w.shape[1], cfg.chunk, (x, w, b, labels)
  )
  if cfg.axis_name is not None:
    m, se, sw, (tgt,) = combine_shards(cfg.axis_name, m, se, sw, [tgt])
  log_se = jnp.log(se)
  lse = m + log_se
  mean_s = None if sw is None else m + sw / se
  return lse, tgt, mean_s


def _outputs(lse, tgt, mean_s, valid):
  logp = jnp.where(valid[:, None], tgt - lse[:, None], 0)
  if mean_s is None:
    ent = jnp.zeros_like(lse)
  else:
    ent = jnp.where(valid, lse - mean_s, 0)
  return logp, ent


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def head_log_probs(cfg, x, w, b, labels, valid):
  """``(log p [N, K], entropy [N])`` of ``softmax(softcap(x @ w + b) / T)``
  (compute dtype; 0 where not ``valid``; entropy 0 unless
  ``cfg.entropy``).

  Args:
    cfg: a static :class:`HeadConfig`.
    x: ``[N, D]``; w: ``[D, V_local]``; b: ``[V_local]`` or None.
    labels: int32 global ids ``[N, K]`` (any value where not ``valid``).
    valid: bool ``[N]``.
  """
  acc = numerics.compute_dtype(x.dtype)
  return _outputs(*_stats(cfg, x, w, b, labels, acc), valid)


def _head_fwd(cfg, x, w, b, labels, valid):
  acc = numerics.compute_dtype(x.dtype)
  lse, tgt, mean_s = _stats(cfg, x, w, b, labels, acc)
  return (
    _outputs(lse, tgt, mean_s, valid),
    (x, w, b, labels, valid, lse, mean_s),
  )


def _head_bwd(cfg, res, cotangents):
  x, w, b, labels, valid, lse, mean_s = res
  g_lp, g_ent = cotangents
  acc = numerics.compute_dtype(x.dtype)
  n, k = labels.shape
  g_lp = jnp.where(valid[:, None], g_lp.astype(acc), 0)
  g_ent = jnp.where(valid, g_ent.astype(acc), 0)
  g_sum = jnp.sum(g_lp, axis=-1)
  local = labels - vocab_offset(cfg, w.shape[1])
  x_valid = jnp.where(valid[:, None], x, 0)
  rows = jnp.arange(n)[:, None]

  def step(carry, start, size):
    dx, dw, db = carry
    s, ds_dz = chunk_logits(cfg, x, w, b, start, size, acc)
    p = jnp.exp(s - lse[:, None])
    # d log p_k / d s_v = [v = y_k] - p_v;  d H / d s_v = p_v (E_p[s] - s_v).
    coef = -g_sum[:, None]
    if cfg.entropy:
      coef = coef + g_ent[:, None] * (mean_s[:, None] - s)
    ds = p * coef
    rel = local - start
    inside = (rel >= 0) & (rel < size)
    if k == 1:
      hit = rel == jnp.arange(size)[None, :]
      ds = ds + jnp.where(hit & inside, g_lp, 0)
    else:
      ds = ds.at[rows, jnp.clip(rel, 0, size - 1)].add(
        jnp.where(inside, g_lp, 0)
      )
    ds = jnp.where(valid[:, None], ds * ds_dz, 0).astype(x.dtype)
    dx = dx + matmul(ds, weight_columns(w, start, size), ((1,), (1,)), acc)
    dw = lax.dynamic_update_slice_in_dim(
      dw, matmul(x_valid, ds, ((0,), (0,)), acc).astype(w.dtype), start, axis=1
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
  dx, dw, db = scan_chunks(
    step, carry, w.shape[1], cfg.chunk, (x, w, b, labels, valid, lse, g_lp)
  )
  if cfg.axis_name is not None:
    dx = lax.psum(dx, cfg.axis_name)
  return dx.astype(x.dtype), dw, db, None, None


head_log_probs.defvjp(_head_fwd, _head_bwd)


# ------------------------------------------------------------ validation


def check_head_options(
  fn, *, temperature, logit_softcap, chunk_size, ignore_index
):
  validation.check_range(fn, "temperature", temperature, low=0.0, low_open=True)
  if logit_softcap is not None:
    validation.check_range(
      fn, "logit_softcap", logit_softcap, low=0.0, low_open=True
    )
  if chunk_size is not None and (
    isinstance(chunk_size, bool)
    or not isinstance(chunk_size, int)
    or chunk_size < 1
  ):
    raise ValueError(
      f"{fn}: chunk_size must be a positive int or None, got {chunk_size!r}"
    )
  if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
    raise TypeError(f"{fn}: ignore_index must be an int, got {ignore_index!r}")


def head_arrays(
  fn,
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
  x = numerics.as_float(fn, x_name, embeddings)
  w = numerics.as_float(fn, w_name, weight)
  if x.ndim < 1:
    raise ValueError(f"{fn}: {x_name} must have shape [..., D], got a scalar")
  if w.ndim != 2 or w.shape[0] != x.shape[-1]:
    raise ValueError(
      f"{fn}: {w_name} must have shape [D, V] with D = {x_name}.shape[-1] "
      f"= {x.shape[-1]}, got {w_name}.shape={tuple(w.shape)}"
    )
  arrays = [x, w]
  if bias is not None:
    bias = numerics.as_float(fn, b_name, bias)
    if bias.shape != (w.shape[1],):
      raise ValueError(
        f"{fn}: {b_name} must have shape [V] = ({w.shape[1]},), got "
        f"{b_name}.shape={tuple(bias.shape)}"
      )
    arrays.append(bias)
  dtype = jnp.result_type(*arrays)
  x, w = x.astype(dtype), w.astype(dtype)
  if bias is not None:
    bias = bias.astype(dtype)
  return x, w, bias


def int_labels(fn, name, labels, shape):
  y = numerics.as_array(fn, name, labels)
  if not jnp.issubdtype(y.dtype, jnp.integer):
    raise TypeError(f"{fn}: {name} must have an integer dtype, got {y.dtype}")
  if y.shape != shape:
    raise ValueError(
      f"{fn}: {name} must have shape {shape} (the embeddings without their "
      f"last axis), got {name}.shape={tuple(y.shape)}"
    )
  return y.astype(jnp.int32)


def run_head(
  x,
  w,
  b,
  y,
  valid,
  *,
  temperature,
  logit_softcap,
  entropy,
  chunk_size,
  axis_name,
):
  """Flattens ``x [..., D]``, ``y [..., K]``, ``valid [...]`` and runs
  :func:`head_log_probs`; returns ``(log p [..., K], entropy [...])``."""
  batch = valid.shape
  x2 = x.reshape((-1, x.shape[-1]))
  y2 = y.reshape((x2.shape[0], -1))
  v1 = valid.reshape((-1,))
  y2 = jnp.where(v1[:, None], y2, 0)
  vocab = w.shape[1]
  chunk = chunk_size or default_chunk(x2.shape[0], vocab)
  cfg = HeadConfig(
    chunk=int(min(chunk, vocab)),
    temperature=float(temperature),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    entropy=bool(entropy),
    axis_name=axis_name,
  )
  x2, w, b, y2, v1 = vary_together(x2, w, b, y2, v1, exclude=axis_name)
  # custom_vjp's stubs do not carry the wrapped function's return type.
  logp, ent = cast(
    tuple[jax.Array, jax.Array], head_log_probs(cfg, x2, w, b, y2, v1)
  )
  return logp.reshape(batch + (y2.shape[1],)), ent.reshape(batch)


def axis_size(fn, axis_name):
  try:
    return lax.axis_size(axis_name)
  except NameError as e:
    raise ValueError(
      f"{fn}: axis_name must name a mesh axis bound by shard_map, got "
      f"{axis_name!r}"
    ) from e


def _log_probs(
  fn,
  embeddings,
  weight,
  labels,
  *,
  bias,
  temperature,
  logit_softcap,
  ignore_index,
  return_entropy,
  chunk_size,
  axis_name,
):
  check_head_options(
    fn,
    temperature=temperature,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )
  if not isinstance(return_entropy, bool):
    raise TypeError(
      f"{fn}: return_entropy must be a bool, got {return_entropy!r}"
    )
  w_name = "weight" if axis_name is None else "weight_shard"
  b_name = "bias" if axis_name is None else "bias_shard"
  x, w, b = head_arrays(
    fn, embeddings, weight, bias, w_name=w_name, b_name=b_name
  )
  if axis_name is not None:
    axis_size(fn, axis_name)
  y = int_labels(fn, "labels", labels, x.shape[:-1])
  valid = y != ignore_index
  logp, ent = run_head(
    x,
    w,
    b,
    y[..., None],
    valid,
    temperature=temperature,
    logit_softcap=logit_softcap,
    entropy=return_entropy,
    chunk_size=chunk_size,
    axis_name=axis_name,
  )
  logp = logp[..., 0]
  return (logp, ent) if return_entropy else logp


# ------------------------------------------------------------ public API


@scoped
def linear_log_probs(
  embeddings,
  weight,
  labels,
  *,
  bias=None,
  temperature=1.0,
  logit_softcap=None,
  ignore_index=-100,
  return_entropy=False,
  chunk_size=None,
):
  """Per-token ``log p(label)`` (and entropy) of an LM head, chunked.

  With ``z = embeddings @ weight + bias`` (``[..., V]``, accumulated in
  float32 for half inputs), ``s = cap * tanh(z / cap) / T`` under a soft cap
  (else ``s = z / T``) and ``p = softmax(s)``::

    log_prob = s[y] - logsumexp(s)
    entropy  = logsumexp(s) - sum_v p_v s_v        (= -sum_v p_v log p_v)

  both 0 at tokens whose label is ``ignore_index``. The logits are built
  ``chunk_size`` vocabulary entries at a time in the forward and the
  backward pass (a ``jax.custom_vjp`` keeps only per-token statistics), so
  memory grows like ``N * chunk_size``, never ``N * V``. Gradients with
  respect to ``embeddings``, ``weight`` and ``bias`` flow from both outputs
  and equal those of the naive ``log_softmax(x @ w + b)`` path.

  Sequence log-probabilities for the preference losses are sums (or means)
  of these values over each response's tokens, e.g.
  ``jnp.sum(log_probs, axis=-1)`` for ``[B, T]`` labels with the prompt and
  padding set to ``ignore_index``.

  Args:
    embeddings: final hidden states ``[..., D]``.
    weight: LM-head kernel ``[D, V]`` (for tied embeddings, the transposed
      ``[V, D]`` table).
    labels: integer token ids ``[...]`` (the embeddings without their last
      axis); ids outside ``[0, V)`` are not checked (no value checks under
      ``jit``).
    bias: optional ``[V]``.
    temperature: positive; the logits are divided by it (sampling
      temperature of the policy).
    logit_softcap: positive cap (Gemma 2), applied before the temperature,
      or None.
    ignore_index: label value of tokens to skip (prompt, padding).
    return_entropy: also return the per-token entropy.
    chunk_size: vocabulary entries per chunk; None picks one so that a
      float32 tile holds about 4M elements.

  Returns:
    ``log_probs [...]``, or ``(log_probs, entropy)`` with
    ``return_entropy=True``; float32 for half-precision inputs (statistics
    meant to be summed over sequences), else the inputs' dtype.

  Raises:
    TypeError: for non-floating arrays, non-integer labels or a non-bool
      ``return_entropy``.
    ValueError: for mismatched shapes or out-of-range options.

  Example:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0]])
    >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> lp, ent = jaxloss.linear_log_probs(x, w, jnp.array([0]),
    ...                                    return_entropy=True)
    >>> print(f"{float(lp[0]):.4f} {float(ent[0]):.4f}")
    -0.2395 0.6656

  References:
    Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models",
    2024 (arXiv:2411.09009), for the chunked log-sum-exp with recomputation.
  """
  return _log_probs(
    "linear_log_probs",
    embeddings,
    weight,
    labels,
    bias=bias,
    temperature=temperature,
    logit_softcap=logit_softcap,
    ignore_index=ignore_index,
    return_entropy=return_entropy,
    chunk_size=chunk_size,
    axis_name=None,
  )


@scoped
def vocab_parallel_log_probs(
  embeddings,
  weight_shard,
  labels,
  *,
  axis_name,
  bias_shard=None,
  temperature=1.0,
  logit_softcap=None,
  ignore_index=-100,
  return_entropy=False,
  chunk_size=None,
):
  """:func:`jaxloss.linear_log_probs` with the LM head vocab-sharded.

  Call inside ``shard_map``: device ``k`` of ``axis_name`` holds columns
  ``[k * Vs, (k + 1) * Vs)`` of the ``[D, V]`` weight (and of the bias);
  embeddings and global label ids are replicated over ``axis_name``. Each
  device runs the chunked kernel on its shard; the per-token statistics are
  combined with one ``pmax`` and one ``psum`` (maximum; rescaled sum-exp,
  rescaled entropy sum and target logit), and the embeddings' gradient is
  the ``psum`` of the per-shard ones while the weight's stays local. The
  outputs are the same on every device of ``axis_name``.

  Args:
    embeddings: ``[..., D]``, replicated over ``axis_name``.
    weight_shard: ``[D, Vs]``, this device's columns of the LM head.
    labels: global integer token ids ``[...]``.
    axis_name: the mesh axis the vocabulary is sharded over.
    bias_shard: optional ``[Vs]``.
    temperature: as in :func:`jaxloss.linear_log_probs`.
    logit_softcap: as in :func:`jaxloss.linear_log_probs`.
    ignore_index: as in :func:`jaxloss.linear_log_probs`.
    return_entropy: as in :func:`jaxloss.linear_log_probs`.
    chunk_size: as in :func:`jaxloss.linear_log_probs`.

  Returns:
    As :func:`jaxloss.linear_log_probs`.

  Raises:
    TypeError: for non-floating arrays or non-integer labels.
    ValueError: for mismatched shapes, bad options or an unbound axis.

  Example:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("vocab",))
    >>> f = jax.shard_map(
    ...     lambda x, w, y: jaxloss.vocab_parallel_log_probs(
    ...         x, w, y, axis_name="vocab"),
    ...     mesh=mesh, in_specs=(P(), P(None, "vocab"), P()), out_specs=P())
    >>> f(np.ones((1, 2), np.float32), np.zeros((2, 4), np.float32),
    ...   np.array([3]))
    Array([-1.3862944], dtype=float32)

  References:
    Shoeybi et al., "Megatron-LM", 2019, section 3 (vocab-parallel softmax).
  """
  return _log_probs(
    "vocab_parallel_log_probs",
    embeddings,
    weight_shard,
    labels,
    bias=bias_shard,
    temperature=temperature,
    logit_softcap=logit_softcap,
    ignore_index=ignore_index,
    return_entropy=return_entropy,
    chunk_size=chunk_size,
    axis_name=axis_name,
  )
