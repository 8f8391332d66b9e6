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

from typing import Any
from typing import NamedTuple
from typing import cast

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import reduction as reduction_lib
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import head
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


class HeadConfig(NamedTuple):
  """Static options of the fused kernel (hashable: a custom_vjp nondiff arg)."""

  chunk: int
  label_smoothing: float
  z_loss: float
  logit_softcap: float | None
  vocab_total: int  # the global vocabulary size (label smoothing's 1/V)
  axis_name: object  # None, or the mesh axis the vocabulary is sharded over
  # Per-token extras (entropy, argmax) gathered in the same pass, and
  # Dynamic Fine-Tuning's stop-gradient target-probability weight.
  extras: bool = False
  dft_scaling: bool = False


def _logits(cfg, x, w, b, start, size, acc):
  """``(s, t)``: the capped logits of one vocab chunk ``[N, size]`` in
  ``acc`` and the cap's ``tanh`` factor (None without a cap)."""
  z = head.chunk_logits(x, w, b, start, size, acc)
  return head.softcap(z, cfg.logit_softcap)


def add_tile(cfg, stats, s, rel_labels, seen):
  """Adds the (capped) logits tile ``s [N, c]`` to the per-token
  statistics ``(log-sum-exp state, target logit, sum of logits relative to
  the running maximum)``; ``rel_labels`` are the labels relative to the
  tile's first entry (the target logit is picked where they fall in the
  tile), ``seen`` the number of vocabulary entries already added."""
  lse, tgt, tot = stats
  m_old = lse.m
  lse, _, _ = tiling.lse_add(lse, s)
  tgt = tgt + head.pick(s, rel_labels[:, None])[:, 0]
  if cfg.label_smoothing:
    tot = tiling.shift_sum(tot, seen, m_old, lse.m)
    tot = tot + jnp.sum(s - tiling.finite_shift(lse.m)[:, None], axis=-1)
  return lse, tgt, tot


def global_stats(cfg, stats, vocab_local):
  """Per-token ``(m, r, target logit, sum of logits relative to m)`` of the
  whole vocabulary, with ``m`` the maximum and ``r = log sum exp(s - m)``
  (the log-sum-exp is ``m + r``; kept apart so that differences with the
  maximum never cancel at large logits)."""
  lse, tgt, tot = combined(cfg, stats, vocab_local)
  # A fully -inf row cannot occur for finite inputs; a NaN propagates.
  return lse.m, jnp.log(lse.se), tgt, tot


def combined(cfg, stats, vocab_local):
  """The per-device statistics (over ``vocab_local`` entries each)
  combined over ``cfg.axis_name`` with one ``pmax`` (maxima) and one
  ``psum`` (rescaled sum-exp, target logit, shifted sum of logits), as
  they are without one; the log-sum-exp state stays unfinished."""
  lse, tgt, tot = stats
  if cfg.axis_name is not None:
    (lse,), (tgt,), (tot,) = tiling.lse_across(
      cfg.axis_name, [lse], [tgt], shifted=[(0, tot, vocab_local)]
    )
  return lse, tgt, tot


def _token_stats(cfg, x, w, b, labels, acc):
  """Global per-token ``(m, r, target logit, relative sum of logits)``
  (see :func:`global_stats`), one vocab chunk at a time; with
  ``cfg.extras`` also ``(entropy, argmax)``."""
  vocab = w.shape[1]
  offset = head.vocab_offset(cfg.axis_name, vocab)
  local_labels = labels - offset

  def step(carry, start, size):
    s, _ = _logits(cfg, x, w, b, start, size, acc)
    if not cfg.extras:
      return add_tile(cfg, carry, s, local_labels - start, start)
    stats, best = carry
    stats = add_tile(cfg, stats, s, local_labels - start, start)
    return stats, _argmax_add(best, s, start)

  zeros = jnp.zeros((x.shape[0],), acc)
  stats = (
    tiling.lse_start(zeros.shape, acc, weighted=cfg.extras),
    zeros,
    zeros,
  )
  best = (
    jnp.full(zeros.shape, -jnp.inf, acc),
    jnp.zeros(zeros.shape, jnp.int32),
  )
  carry = (stats, best) if cfg.extras else stats
  carry = tiling.scan_tiles(step, carry, vocab, cfg.chunk, (x, w, b, labels))
  if not cfg.extras:
    return global_stats(cfg, carry, vocab)
  stats, (top, idx) = cast(tuple[Any, tuple[jax.Array, jax.Array]], carry)
  # one combine across devices for the log-sum-exp and the entropy's sums
  state, tgt, tot = combined(cfg, stats, vocab)
  assert state.sw is not None  # a weighted state (cfg.extras)
  r = jnp.log(state.se)
  # H = lse - E_p[s] = r - E_p[s - m]: no large offset cancels.
  entropy = r - state.sw / state.se
  idx = (idx + offset).astype(jnp.int32)
  if cfg.axis_name is not None:
    # the first (lowest-id) maximum over the whole vocabulary
    g = jax.lax.pmax(top, cfg.axis_name)
    big = jnp.iinfo(jnp.int32).max
    idx = jax.lax.pmin(jnp.where(top == g, idx, big), cfg.axis_name)
  return state.m, r, tgt, tot, entropy, idx


def _argmax_add(best, s, start):
  """Running ``(max, argmax)`` over tiles; ties keep the earlier id."""
  top, idx = best
  tile_top = jnp.max(s, axis=-1)
  tile_idx = (jnp.argmax(s, axis=-1) + start).astype(jnp.int32)
  better = tile_top > top
  return jnp.where(better, tile_top, top), jnp.where(better, tile_idx, idx)


def dft_weight(m, r, tgt):
  """Dynamic Fine-Tuning's per-token weight ``stop_gradient(p_y)``, from
  the maximum ``m`` and ``r = lse - m``."""
  return jax.lax.stop_gradient(jnp.exp((tgt - m) - r))


def token_values(cfg, m, r, tgt, tot, valid):
  """The per-token loss from its statistics (0 where not ``valid``):
  ``lse - (1 - ls) s_y - ls mean(s) + z lse ** 2`` written relative to the
  maximum ``m`` (``lse = m + r``, ``tot = sum(s - m)``), exact at logits
  where ``lse`` and ``s_y`` share a large offset."""
  ls = cfg.label_smoothing
  v = r + (1.0 - ls) * (m - tgt)
  if ls:
    v = v - ls * tot / cfg.vocab_total
  if cfg.dft_scaling:
    v = dft_weight(m, r, tgt) * v
  if cfg.z_loss:
    v = v + cfg.z_loss * jnp.square(m + r)
  return jnp.where(valid, v, 0)


def _fused_fwd(cfg, x, w, b, labels, valid):
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
  m, r, tgt, tot, *more = _token_stats(cfg, x, w, b, labels, acc)
  values = token_values(cfg, m, r, tgt, tot, valid)
  scale = dft_weight(m, r, tgt) if cfg.dft_scaling else None
  res = (x, w, b, labels, valid, m, r, scale)
  if not cfg.extras:
    return values, res
  entropy, idx = more
  return (values, jnp.where(valid, m + r, 0), entropy, idx), res


def dlogits(cfg, s, t, m, r, g, rel_labels, valid, *, scale=None, g_lse=None):
  """Gradient of the per-token values (cotangent ``g [N]``) with respect to
  the raw logits of one chunk, from the capped logits ``s [N, c]``, the
  cap's ``tanh`` factor ``t`` (or None), the global maximum ``m`` and
  ``r = lse - m``, and the labels relative to the chunk's first entry.

  ``d value / d s_v = (g_ce + 2 z lse g + g_lse) softmax(s)_v
  - g_ce (1 - ls) [v = y] - g_ce ls / V``, times ``1 - t ** 2`` under a
  soft cap, with ``g_ce = g * scale`` (Dynamic Fine-Tuning's constant
  weight, 1 when None) and ``g_lse`` the cotangent of a returned
  log-sum-exp (0 when None).
  """
  ls = cfg.label_smoothing
  g = jnp.where(valid, g, 0)
  g_ce = g if scale is None else g * scale
  g_p = g_ce + g * (2.0 * cfg.z_loss * (m + r)) if cfg.z_loss else g_ce
  if g_lse is not None:
    g_p = g_p + jnp.where(valid, g_lse, 0)
  p = jnp.exp((s - m[:, None]) - r[:, None])
  hit = rel_labels[:, None] == jnp.arange(s.shape[-1])[None, :]
  ds = g_p[:, None] * p - jnp.where(hit, g_ce[:, None] * (1.0 - ls), 0)
  if ls:
    ds = ds - (g_ce * (ls / cfg.vocab_total))[:, None]
  if t is not None:
    ds = ds * (1.0 - jnp.square(t))
  # Ignored tokens contribute nothing, even when their inputs are NaN.
  return jnp.where(valid[:, None], ds, 0)


def _fused_bwd(cfg, res, g):
  x, w, b, labels, valid, m, r, scale = res
  acc = numerics.compute_dtype(x.dtype)
  g_lse = None
  if cfg.extras:
    # the entropy and argmax outputs are metrics: no gradient
    g, g_lse, _, _ = g
    g_lse = g_lse.astype(acc)
  g = g.astype(acc)
  local_labels = labels - head.vocab_offset(cfg.axis_name, w.shape[1])

  def dz(start, size):
    s, t = _logits(cfg, x, w, b, start, size, acc)
    rel = local_labels - start
    return dlogits(cfg, s, t, m, r, g, rel, valid, scale=scale, g_lse=g_lse)

  refs = (labels, m, r, g, g_lse, scale)
  dx, dw, db = head.head_backward(cfg, x, w, b, valid, dz, refs)
  return dx, dw, db, None, None


fused_token_losses = tiling.tiled_vjp(_fused_fwd, _fused_bwd)


# ------------------------------------------------------------ validation


def check_options(
  caller, *, label_smoothing, z_loss, logit_softcap, chunk_size, ignore_index
):
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  validation.check_range(caller, "z_loss", z_loss, low=0.0)
  head.check_options(
    caller,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )


def fused_cross_entropy(
  caller,
  embeddings,
  weight,
  labels,
  *,
  bias,
  ignore_index,
  label_smoothing,
  z_loss,
  logit_softcap,
  sample_weight,
  reduction,
  normalizer,
  chunk_size,
  axis_name,
  return_token_stats=False,
  dft_scaling=False,
):
  """The body of :func:`linear_cross_entropy` and of its vocab-parallel
  form (``axis_name``: the weight and bias are this device's shard)."""
  validation.flag(caller, "return_token_stats", return_token_stats)
  validation.flag(caller, "dft_scaling", dft_scaling)
  check_options(
    caller,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    chunk_size=chunk_size,
    ignore_index=ignore_index,
  )
  reduction_lib.check_reduction(caller, reduction)
  suffix = "" if axis_name is None else "_shard"
  x, w, b = head.head_arrays(
    caller,
    embeddings,
    weight,
    bias,
    w_name="weight" + suffix,
    b_name="bias" + suffix,
  )
  y = head.int_labels(caller, "labels", labels, x.shape[:-1])
  out_dtype = numerics.compute_dtype(x.dtype)
  shards = 1 if axis_name is None else tiling.axis_size(caller, axis_name)
  x2, y1, valid = head.token_rows(x, y, y != ignore_index)
  cfg = HeadConfig(
    chunk=tiling.chunk_for(chunk_size, x2.shape[0], w.shape[1]),
    label_smoothing=float(label_smoothing),
    z_loss=float(z_loss),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    vocab_total=w.shape[1] * shards,
    axis_name=axis_name,
    extras=return_token_stats,
    dft_scaling=dft_scaling,
  )
  x2, w, b, y1, valid = tiling.vary_together(
    x2, w, b, y1, valid, exclude=axis_name
  )
  out = fused_token_losses(cfg, x2, w, b, y1, valid)
  values: jax.Array = out[0] if return_token_stats else out  # pyright: ignore[reportAssignmentType,reportIndexIssue]
  # A label outside [0, V) (not ignore_index) makes its token's value NaN.
  values = numerics.nan_at_bad_ids(
    values.reshape(y.shape), y, cfg.vocab_total, ignore_index=ignore_index
  )
  loss = finish(
    caller,
    values,
    valid.reshape(y.shape),
    out_dtype,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
  )
  if not return_token_stats:
    return loss
  _, lse, entropy, idx = out  # pyright: ignore[reportGeneralTypeIssues]
  return loss, token_stats(
    cfg, lse, entropy, idx, y1, valid, y.shape, out_dtype
  )


def token_stats(cfg, lse, entropy, idx, labels, valid, shape, out_dtype):
  """The per-token extras of :func:`linear_cross_entropy`
  (``return_token_stats=True``), each ``shape``; 0 (argmax -1, correct
  False) at ignored tokens."""
  stats = {
    "lse": lse,
    "z_loss": cfg.z_loss * jnp.square(lse),
    "entropy": jax.lax.stop_gradient(jnp.where(valid, entropy, 0)),
    "argmax": jnp.where(valid, idx, -1),
    "correct": valid & (idx == labels),
  }
  return {
    k: (v if k in ("argmax", "correct") else v.astype(out_dtype)).reshape(shape)
    for k, v in stats.items()
  }


def finish(
  caller, values, valid, out_dtype, *, sample_weight, reduction, normalizer
):
  """Weights, masks out ignored tokens and reduces with :func:`reduce`."""
  reduction_lib.check_reduction(caller, reduction)
  if sample_weight is not None:
    sample_weight = numerics.as_array(caller, "sample_weight", sample_weight)
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


@domains.declare(class_ids=domains.ClassIds("labels", "weight", axis=1))
@scoped
def linear_cross_entropy(
  embeddings: InputLike,
  weight: InputLike,
  labels: InputLike,
  *,
  bias: InputLike | None = None,
  ignore_index: int = -100,
  label_smoothing: float = 0.0,
  z_loss: float = 0.0,
  logit_softcap: float | None = None,
  sample_weight: InputLike | None = None,
  reduction: str | None = "mean",
  normalizer: InputLike | None = None,
  chunk_size: int | None = None,
  return_token_stats: bool = False,
  dft_scaling: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
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
    labels: integer class ids ``[...]``; an id outside ``[0, V)`` other
      than ``ignore_index`` makes its token's value NaN (no value checks
      under ``jit``).
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
    return_token_stats: also return per-token statistics gathered in the
      same pass over the vocabulary (see below).
    dft_scaling: weight each token's cross-entropy by the stop-gradient
      probability of its target, ``sg(p_y) * (lse - s[y])`` (Dynamic
      Fine-Tuning); the z-loss term is not weighted.

  Per-token statistics (``return_token_stats=True``): a dict of ``[...]``
  arrays, 0 at ignored tokens: ``"lse"`` (the log-sum-exp of the capped
  logits, differentiable: a loss built on it gets its gradient through
  the same chunked backward pass), ``"z_loss"`` (``z_loss * lse ** 2``, the
  term inside the loss, differentiable), ``"entropy"`` (of
  ``softmax(s)``, no gradient), ``"argmax"`` (int32, the first maximum;
  -1 at ignored tokens) and ``"correct"`` (bool, ``argmax == label``:
  token accuracy is its mean over the non-ignored tokens). Cost: no
  ``[N, V]`` array and no extra matmul; per chunk one more row maximum
  and arg-maximum and one more multiply-add for the entropy's
  ``sum exp(s) s``, and four ``[N]`` vectors of output.

  Returns:
    A scalar, or ``[...]`` for ``reduction="none"``: float32 for
    half-precision inputs (like every fused LM function), else the
    inputs' floating dtype; with ``return_token_stats``, ``(loss, stats)``.

  Raises:
    TypeError: for non-floating embeddings/weight/bias or non-integer labels.
    ValueError: for mismatched shapes or out-of-range options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> w = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> jaxloss.linear_cross_entropy(x, w, jnp.array([0, 2]), chunk_size=2)
    Array(1.2395449, dtype=float32)

  References:
    Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models",
    2024 (arXiv:2411.09009). Chowdhery et al., "PaLM", 2022, section 5
    (z-loss). Gemma Team, "Gemma 2", 2024 (logit soft-capping). Wu et al.,
    "On the Generalization of SFT: A Reinforcement Learning Perspective
    with Reward Rectification" (DFT), 2025 (arXiv:2508.05629).
  """
  return fused_cross_entropy(
    "linear_cross_entropy",
    embeddings,
    weight,
    labels,
    bias=bias,
    ignore_index=ignore_index,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
    chunk_size=chunk_size,
    axis_name=None,
    return_token_stats=return_token_stats,
    dft_scaling=dft_scaling,
  )
