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

from typing import NamedTuple
from typing import cast

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import head
from jaxloss._src.lm import sampling
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


class HeadConfig(NamedTuple):
  """Static options of the LM-head kernels (hashable)."""

  chunk: int
  temperature: float
  logit_softcap: float | None
  entropy: bool
  axis_name: object  # None, or the mesh axis the vocabulary is sharded over


def _scaled_logits(cfg, x, w, b, start, size, acc):
  """Scaled logits ``s = softcap(x @ w + b) / temperature`` of one chunk,
  and the factor ``ds/dz`` (a scalar, or an ``[N, size]`` array under a
  soft cap)."""
  z = head.chunk_logits(x, w, b, start, size, acc)
  s, t = head.softcap(z, cfg.logit_softcap)
  inv_t = 1.0 / cfg.temperature
  if cfg.temperature != 1.0:
    s = s * inv_t
  return s, (inv_t if t is None else inv_t * (1.0 - jnp.square(t)))


def _stats(cfg, x, w, b, labels, acc):
  """Global per-token ``(m [N], r [N], target logits [N, K], E_p[s] - m
  [N] or None)`` of the scaled logits: the maximum ``m`` and ``r = lse -
  m`` kept apart, so that ``log p = (s_y - m) - r`` and the entropy
  ``r - (E_p[s] - m)`` never cancel a large common offset."""
  n = x.shape[0]
  local = labels - head.vocab_offset(cfg.axis_name, w.shape[1])

  def step(carry, start, size):
    lse, tgt = carry
    s, _ = _scaled_logits(cfg, x, w, b, start, size, acc)
    lse, _, _ = tiling.lse_add(lse, s)
    return lse, tgt + head.pick(s, local - start)

  carry = (
    tiling.lse_start((n,), acc, weighted=cfg.entropy),
    jnp.zeros(labels.shape, acc),
  )
  lse, tgt = tiling.scan_tiles(
    step, carry, w.shape[1], cfg.chunk, (x, w, b, labels)
  )
  if cfg.axis_name is not None:
    (lse,), (tgt,), _ = tiling.lse_across(cfg.axis_name, [lse], [tgt])
  mean_rel = None if lse.sw is None else lse.sw / lse.se
  return lse.m, jnp.log(lse.se), tgt, mean_rel


def _outputs(m, r, tgt, mean_rel, valid):
  logp = jnp.where(valid[:, None], (tgt - m[:, None]) - r[:, None], 0)
  if mean_rel is None:
    ent = jnp.zeros_like(r)
  else:
    ent = jnp.where(valid, r - mean_rel, 0)
  return logp, ent


def _head_fwd(cfg, x, w, b, labels, valid):
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
  m, r, tgt, mean_rel = _stats(cfg, x, w, b, labels, acc)
  return (
    _outputs(m, r, tgt, mean_rel, valid),
    (x, w, b, labels, valid, m, r, mean_rel),
  )


def _head_bwd(cfg, res, cotangents):
  x, w, b, labels, valid, m, r, mean_rel = res
  g_lp, g_ent = cotangents
  acc = numerics.compute_dtype(x.dtype)
  n, k = labels.shape
  g_lp = jnp.where(valid[:, None], g_lp.astype(acc), 0)
  g_ent = jnp.where(valid, g_ent.astype(acc), 0)
  g_sum = jnp.sum(g_lp, axis=-1)
  local = labels - head.vocab_offset(cfg.axis_name, w.shape[1])
  rows = jnp.arange(n)[:, None]

  def dz(start, size):
    s, ds_dz = _scaled_logits(cfg, x, w, b, start, size, acc)
    s_rel = s - m[:, None]
    p = jnp.exp(s_rel - r[:, None])
    # d log p_k / d s_v = [v = y_k] - p_v;  d H / d s_v = p_v (E_p[s] - s_v).
    coef = -g_sum[:, None]
    if cfg.entropy:
      coef = coef + g_ent[:, None] * (mean_rel[:, None] - s_rel)
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
    return jnp.where(valid[:, None], ds * ds_dz, 0)

  refs = (labels, m, r, g_lp)
  dx, dw, db = head.head_backward(cfg, x, w, b, valid, dz, refs)
  return dx, dw, db, None, None


head_log_probs = tiling.tiled_vjp(_head_fwd, _head_bwd)


# ------------------------------------------------------------ validation


def check_head_options(
  caller, *, temperature, logit_softcap, chunk_size, ignore_index
):
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  head.check_options(
    caller,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )


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
  x2, y2, v1 = head.token_rows(x, y, valid)
  cfg = HeadConfig(
    chunk=tiling.chunk_for(chunk_size, x2.shape[0], w.shape[1]),
    temperature=float(temperature),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    entropy=bool(entropy),
    axis_name=axis_name,
  )
  x2, w, b, y2, v1 = tiling.vary_together(x2, w, b, y2, v1, exclude=axis_name)
  # custom_vjp's stubs do not carry the wrapped function's return type.
  logp, ent = cast(
    tuple[jax.Array, jax.Array], head_log_probs(cfg, x2, w, b, y2, v1)
  )
  return logp.reshape(batch + (y2.shape[1],)), ent.reshape(batch)


def _log_probs(
  caller,
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
  support=None,
):
  check_head_options(
    caller,
    temperature=temperature,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )
  validation.flag(caller, "return_entropy", return_entropy)
  w_name = "weight" if axis_name is None else "weight_shard"
  b_name = "bias" if axis_name is None else "bias_shard"
  x, w, b = head.head_arrays(
    caller, embeddings, weight, bias, w_name=w_name, b_name=b_name
  )
  shards = 1 if axis_name is None else tiling.axis_size(caller, axis_name)
  vocab = w.shape[1] * shards
  y = head.int_labels(caller, "labels", labels, x.shape[:-1])
  valid = y != ignore_index
  if isinstance(support, sampling.SamplingRule):
    sampling.check_rule(caller, support)
    support = sampling.support_ids(
      support,
      x,
      w,
      b,
      temperature=temperature,
      logit_softcap=logit_softcap,
      chunk_size=chunk_size,
    )
  if support is not None:
    return _support_log_probs(
      caller,
      x,
      w,
      b,
      y,
      valid,
      support,
      vocab=vocab,
      ignore_index=ignore_index,
      temperature=temperature,
      logit_softcap=logit_softcap,
      return_entropy=return_entropy,
      chunk_size=chunk_size,
      axis_name=axis_name,
    )
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
  # A label outside [0, V) (not ignore_index) makes its value NaN.
  logp = numerics.nan_at_bad_ids(
    logp[..., 0], y, vocab, ignore_index=ignore_index
  )
  return (logp, ent) if return_entropy else logp


SUPPORT_PAD = -1  # the padding id of a sampler's support


def _support_log_probs(
  caller,
  x,
  w,
  b,
  y,
  valid,
  support,
  *,
  vocab,
  ignore_index,
  return_entropy,
  **head_options,
):
  """Log-probabilities renormalised over the sampler's support ids: the
  chunked kernel gives ``log p`` of the label and of the ``K`` support ids
  (``[..., 1 + K]``, one pass), then ``log q(y) = log p(y) -
  logsumexp_k log p(ids_k)`` over the ids ``>= 0``."""
  ids = numerics.as_array(caller, "support", support)
  validation.integer_dtype(caller, "support", ids)
  if ids.ndim != y.ndim + 1 or ids.shape[:-1] != y.shape:
    raise ValueError(
      f"{caller}: support must have shape [..., K] with the labels' shape "
      f"{tuple(y.shape)} in front, got support.shape={tuple(ids.shape)}"
    )
  member = ids >= 0
  gather = jnp.where(member, ids, 0).astype(jnp.int32)
  logp, _ = run_head(
    x,
    w,
    b,
    jnp.concatenate([y[..., None], gather], axis=-1),
    valid,
    entropy=False,
    **head_options,
  )
  # An empty support gives NaN; the double where keeps gradients finite.
  has = jnp.any(member, axis=-1)
  inside = jnp.where(member | ~has[..., None], logp[..., 1:], -jnp.inf)
  norm = jax.nn.logsumexp(inside, axis=-1)
  norm = jnp.where(valid, jnp.where(has, norm, jnp.nan), 0)
  out = jnp.where(valid, logp[..., 0] - norm, 0)
  # A label or support id outside [0, V) (not padding: ignore_index, -1)
  # makes the value NaN.
  out = numerics.nan_at_bad_ids(out, y, vocab, ignore_index=ignore_index)
  out = numerics.nan_at_bad_ids(
    out, ids, vocab, ignore_index=SUPPORT_PAD, where=valid[..., None]
  )
  if not return_entropy:
    return out
  log_q = jnp.where(member, logp[..., 1:] - norm[..., None], 0)
  ent = -jnp.sum(jnp.where(member, jnp.exp(log_q) * log_q, 0), axis=-1)
  return out, jnp.where(valid, ent, 0)


# ------------------------------------------------------------ public API


@domains.declare(
  class_ids=(
    domains.ClassIds("labels", "weight", axis=1),
    domains.ClassIds("support", "weight", axis=1, ignore=SUPPORT_PAD),
  )
)
@scoped
def linear_log_probs(
  embeddings: InputLike,
  weight: InputLike,
  labels: InputLike,
  *,
  bias: InputLike | None = None,
  temperature: float = 1.0,
  logit_softcap: float | None = None,
  ignore_index: int = -100,
  return_entropy: bool = False,
  chunk_size: int | None = None,
  support: InputLike | None = None,
) -> jax.Array | tuple[jax.Array, jax.Array]:
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
      axis); an id outside ``[0, V)`` other than ``ignore_index`` makes
      its token's value NaN (:func:`jaxloss.checked` names it).
    bias: optional ``[V]``.
    temperature: positive; the logits are divided by it (sampling
      temperature of the policy).
    logit_softcap: positive cap (Gemma 2), applied before the temperature,
      or None.
    ignore_index: label value of tokens to skip (prompt, padding).
    return_entropy: also return the per-token entropy.
    chunk_size: vocabulary entries per chunk; None picks one so that a
      float32 tile holds about 4M elements.
    support: optional integer ``[..., K]``: the distinct token ids the
      sampler could emit at each position (its top-k, or the top-p / min-p
      set padded with -1; any other id outside ``[0, V)`` makes the
      token's value NaN), or a :class:`jaxloss.SamplingRule` evaluated
      inside one more forward pass over the vocabulary chunks (a running
      top-``K`` of the scaled logits; no gradient through the choice of
      the set). The log-probabilities (and entropy) are then
      those of the distribution renormalised over these ids, the one the
      sampler drew from: ``log q(y) = log p(y) - logsumexp_k log p(id_k)``
      (``y`` must be in the set, as a sampled token is). The ``K`` ids go
      through the same chunked pass as the label (``[N, 1 + K]`` values,
      no ``[N, V]`` array).

  Returns:
    ``log_probs [...]``, or ``(log_probs, entropy)`` with
    ``return_entropy=True``; float32 for half-precision inputs (statistics
    meant to be summed over sequences), else the inputs' dtype.

  Raises:
    TypeError: for non-floating arrays, non-integer labels or a non-bool
      ``return_entropy``.
    ValueError: for mismatched shapes or out-of-range options.

  Examples:
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
    support=support,
  )


@domains.declare(
  class_ids=domains.ClassIds("labels", "weight_shard", axis=1, sharded=True)
)
@scoped
def vocab_parallel_log_probs(
  embeddings: InputLike,
  weight_shard: InputLike,
  labels: InputLike,
  *,
  axis_name: str | tuple[str, ...],
  bias_shard: InputLike | None = None,
  temperature: float = 1.0,
  logit_softcap: float | None = None,
  ignore_index: int = -100,
  return_entropy: bool = False,
  chunk_size: int | None = None,
) -> jax.Array | tuple[jax.Array, jax.Array]:
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

  Examples:
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
