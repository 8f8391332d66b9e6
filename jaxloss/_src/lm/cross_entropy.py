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

from typing import NamedTuple

import jax
import jax.numpy as jnp

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


def _logits(cfg, x, w, b, start, size, acc):
  """``(s, t)``: the capped logits of one vocab chunk ``[N, size]`` in
  ``acc`` and the cap's ``tanh`` factor (None without a cap)."""
  z = head.chunk_logits(x, w, b, start, size, acc)
  return head.softcap(z, cfg.logit_softcap)


def add_tile(cfg, stats, s, rel_labels):
  """Adds the (capped) logits tile ``s [N, c]`` to the per-token
  statistics ``(log-sum-exp state, target logit, sum of logits)``;
  ``rel_labels`` are the labels relative to the tile's first entry (the
  target logit is picked where they fall in the tile)."""
  lse, tgt, tot = stats
  lse, _, _ = tiling.lse_add(lse, s)
  tgt = tgt + head.pick(s, rel_labels[:, None])[:, 0]
  if cfg.label_smoothing:
    tot = tot + jnp.sum(s, axis=-1)
  return lse, tgt, tot


def global_stats(cfg, stats):
  """Per-token ``(lse, target logit, sum of logits)`` of the whole
  vocabulary: with ``axis_name`` the per-device statistics are combined
  with one ``pmax`` (maxima) and one ``psum`` (rescaled sum-exp, target
  logit, sum of logits)."""
  lse, tgt, tot = stats
  if cfg.axis_name is not None:
    (lse,), (tgt, tot), _ = tiling.lse_across(cfg.axis_name, [lse], [tgt, tot])
  # A fully -inf row cannot occur for finite inputs; a NaN propagates.
  return tiling.finish_lse(lse.m, lse.se), tgt, tot


def _token_stats(cfg, x, w, b, labels, acc):
  """Global per-token ``(lse, target logit, sum of logits)``, one vocab
  chunk at a time."""
  vocab = w.shape[1]
  local_labels = labels - head.vocab_offset(cfg.axis_name, vocab)

  def step(stats, start, size):
    s, _ = _logits(cfg, x, w, b, start, size, acc)
    return add_tile(cfg, stats, s, local_labels - start)

  zeros = jnp.zeros((x.shape[0],), acc)
  stats = (tiling.lse_start(zeros.shape, acc), zeros, zeros)
  stats = tiling.scan_tiles(step, stats, vocab, cfg.chunk, (x, w, b, labels))
  return global_stats(cfg, stats)


def token_values(cfg, lse, tgt, tot, valid):
  """The per-token loss from its statistics (0 where not ``valid``)."""
  ls = cfg.label_smoothing
  v = lse - (1.0 - ls) * tgt
  if ls:
    v = v - ls * tot / cfg.vocab_total
  if cfg.z_loss:
    v = v + cfg.z_loss * jnp.square(lse)
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
  g = g.astype(acc)
  local_labels = labels - head.vocab_offset(cfg.axis_name, w.shape[1])

  def dz(start, size):
    s, t = _logits(cfg, x, w, b, start, size, acc)
    return dlogits(cfg, s, t, lse, g, local_labels - start, valid)

  dx, dw, db = head.head_backward(cfg, x, w, b, valid, dz, (labels, lse, g))
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
):
  """The body of :func:`linear_cross_entropy` and of its vocab-parallel
  form (``axis_name``: the weight and bias are this device's shard)."""
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
  )
  x2, w, b, y1, valid = tiling.vary_together(
    x2, w, b, y1, valid, exclude=axis_name
  )
  values: jax.Array = fused_token_losses(cfg, x2, w, b, y1, valid)  # pyright: ignore[reportAssignmentType]
  return finish(
    caller,
    values.reshape(y.shape),
    valid.reshape(y.shape),
    out_dtype,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
  )


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
) -> jax.Array:
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
    A scalar, or ``[...]`` for ``reduction="none"``: float32 for
    half-precision inputs (like every fused LM function), else the
    inputs' floating dtype.

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
    (z-loss). Gemma Team, "Gemma 2", 2024 (logit soft-capping).
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
  )
