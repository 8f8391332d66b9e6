"""Vocab-parallel cross-entropy for ``shard_map`` over a device mesh.

The vocabulary axis of the logits (or of the LM-head weight) is split across
the devices of one mesh axis. Each device reduces its shard to per-token
statistics; two collectives over that axis combine them (a ``pmax`` of the
per-token maxima, then one ``psum`` of the rescaled sum-exp, the target logit
and the sum of the logits), so no device ever holds the full ``[N, V]``
logits. Gradients are exact: each device's logits gradient is local, and the
embeddings' gradient (weight-sharded case) is the ``psum`` of the partial
ones.

Data parallelism composes through ``normalizer``: pass the *global* number
of non-ignored tokens (:func:`count_tokens` with the data axis) and ``psum``
the per-device results over the data axis to get the global mean.

These functions must run inside ``jax.shard_map`` (or another context that
binds ``axis_name``).
"""

from __future__ import annotations

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import reduction as reduction_lib
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import cross_entropy as ce
from jaxloss._src.lm import head
from jaxloss._src.lm import segments
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _shard_fwd(cfg, z, labels, valid):
  """Per-token losses from this device's logits shard ``z [N, Vs]``: the
  fused kernel's statistics of one tile (the whole shard), combined across
  the devices like the fused kernel's."""
  s, _ = head.softcap(z, cfg.logit_softcap)
  rel = labels - head.vocab_offset(cfg.axis_name, z.shape[-1])
  tgt = head.pick(s, rel[:, None])[:, 0]
  lse = tiling.lse_of(s)
  if cfg.label_smoothing:  # relative to the shard's maximum
    tot = jnp.sum(s - tiling.finite_shift(lse.m)[:, None], axis=-1)
  else:
    tot = jnp.zeros_like(tgt)
  m, r, tgt, tot = ce.global_stats(cfg, (lse, tgt, tot), s.shape[-1])
  values = ce.token_values(cfg, m, r, tgt, tot, valid)
  return values, (z, labels, valid, m, r)


def _shard_bwd(cfg, res, g):
  z, labels, valid, m, r = res
  s, t = head.softcap(z, cfg.logit_softcap)
  rel = labels - head.vocab_offset(cfg.axis_name, z.shape[-1])
  dz = ce.dlogits(cfg, s, t, m, r, g.astype(z.dtype), rel, valid)
  return dz, None, None


_shard_token_losses = tiling.tiled_vjp(_shard_fwd, _shard_bwd)


@domains.declare(
  class_ids=domains.ClassIds("labels", "logits_shard", sharded=True)
)
@scoped
def vocab_parallel_cross_entropy(
  logits_shard: InputLike,
  labels: InputLike,
  *,
  axis_name: str | tuple[str, ...],
  ignore_index: int = -100,
  label_smoothing: float = 0.0,
  z_loss: float = 0.0,
  logit_softcap: float | None = None,
  sample_weight: InputLike | None = None,
  reduction: str | None = "mean",
  normalizer: InputLike | None = None,
) -> jax.Array:
  """Sparse cross-entropy of logits sharded along the vocabulary axis.

  Call inside ``shard_map``: device ``k`` of mesh axis ``axis_name`` holds
  vocabulary entries ``[k * Vs, (k + 1) * Vs)`` of the logits. The loss is
  :func:`jaxloss.linear_cross_entropy`'s formula on the full logits,
  ``lse - (1 - ls) s[y] - ls mean(s) + z_loss lse ** 2`` with
  ``s = cap tanh(z / cap)`` under a soft cap, computed from two collectives
  over ``axis_name`` (``pmax`` of the maxima, ``psum`` of the statistics).
  The result is the same on every device of ``axis_name``; the gradient of
  each logits shard is local.

  Args:
    logits_shard: ``[..., Vs]``, this device's slice of the vocabulary.
    labels: global integer class ids ``[...]`` (replicated over
      ``axis_name``).
    axis_name: the mesh axis the vocabulary is sharded over.
    ignore_index: as in :func:`jaxloss.linear_cross_entropy`.
    label_smoothing: as in :func:`jaxloss.linear_cross_entropy`.
    z_loss: as in :func:`jaxloss.linear_cross_entropy`.
    logit_softcap: as in :func:`jaxloss.linear_cross_entropy`.
    sample_weight: as in :func:`jaxloss.linear_cross_entropy`.
    reduction: as in :func:`jaxloss.linear_cross_entropy`.
    normalizer: as in :func:`jaxloss.linear_cross_entropy`. Under data
      parallelism pass ``normalizer=count_tokens(labels,
      axis_name=data_axis)`` and ``psum`` the result over the data axis.

  Returns:
    A scalar, or ``[...]`` for ``reduction="none"``: float32 for
    half-precision logits, else the logits' dtype.

  Raises:
    TypeError: for non-floating logits or non-integer labels.
    ValueError: for mismatched shapes, bad options or an unbound axis.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("vocab",))
    >>> f = jax.shard_map(
    ...     lambda z, y: jaxloss.vocab_parallel_cross_entropy(
    ...         z, y, axis_name="vocab"),
    ...     mesh=mesh, in_specs=(P(None, "vocab"), P()), out_specs=P())
    >>> f(np.array([[0.0, 0.0]], np.float32), np.array([1]))
    Array(0.6931472, dtype=float32)

  References:
    Shoeybi et al., "Megatron-LM", 2019, section 3 (parallel cross-entropy).
  """
  caller = "vocab_parallel_cross_entropy"
  ce.check_options(
    caller,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    chunk_size=None,
    ignore_index=ignore_index,
  )
  reduction_lib.check_reduction(caller, reduction)
  z = numerics.as_float(caller, "logits_shard", logits_shard)
  y = numerics.as_array(caller, "labels", labels)
  validation.integer_dtype(caller, "labels", y)
  if z.ndim < 1 or y.shape != z.shape[:-1]:
    raise ValueError(
      f"{caller}: labels must have the shape of logits_shard without its last "
      f"axis, got labels.shape={tuple(y.shape)} and "
      f"logits_shard.shape={tuple(z.shape)}"
    )
  shards = tiling.axis_size(caller, axis_name)
  out_dtype = numerics.compute_dtype(z.dtype)
  acc = numerics.compute_dtype(out_dtype)
  cfg = ce.HeadConfig(
    chunk=z.shape[-1],
    label_smoothing=float(label_smoothing),
    z_loss=float(z_loss),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    vocab_total=z.shape[-1] * shards,
    axis_name=axis_name,
  )
  y = y.astype(jnp.int32)
  z2, y1, valid = head.token_rows(z.astype(acc), y, y != ignore_index)
  z2, y1, valid = tiling.vary_together(z2, y1, valid, exclude=axis_name)
  values: jax.Array = _shard_token_losses(cfg, z2, y1, valid)  # pyright: ignore[reportAssignmentType]
  return ce.finish(
    caller,
    numerics.nan_at_bad_ids(
      values.reshape(y.shape), y, cfg.vocab_total, ignore_index=ignore_index
    ),
    valid.reshape(y.shape),
    out_dtype,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
  )


@domains.declare(
  class_ids=domains.ClassIds("labels", "weight_shard", axis=1, sharded=True)
)
@scoped
def vocab_parallel_linear_cross_entropy(
  embeddings: InputLike,
  weight_shard: InputLike,
  labels: InputLike,
  *,
  axis_name: str | tuple[str, ...],
  bias_shard: InputLike | None = None,
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
  """:func:`jaxloss.linear_cross_entropy` with the LM head vocab-sharded.

  Call inside ``shard_map``: device ``k`` of ``axis_name`` holds columns
  ``[k * Vs, (k + 1) * Vs)`` of the ``[D, V]`` weight (and of the bias);
  the embeddings and labels are replicated over ``axis_name``. Each device
  runs the chunked kernel on its shard (never more than ``[N, chunk_size]``
  logits), the per-token statistics are combined with one ``pmax`` and one
  ``psum``, and in the backward pass the embeddings' gradient is the
  ``psum`` of the per-shard gradients while the weight's stays local.

  Args:
    embeddings: ``[..., D]``, replicated over ``axis_name``.
    weight_shard: ``[D, Vs]``, this device's columns of the LM head.
    labels: global integer class ids ``[...]``.
    axis_name: the mesh axis the vocabulary is sharded over.
    bias_shard: optional ``[Vs]``.
    ignore_index: as in :func:`jaxloss.linear_cross_entropy`.
    label_smoothing: as in :func:`jaxloss.linear_cross_entropy`.
    z_loss: as in :func:`jaxloss.linear_cross_entropy`.
    logit_softcap: as in :func:`jaxloss.linear_cross_entropy`.
    sample_weight: as in :func:`jaxloss.linear_cross_entropy`.
    reduction: as in :func:`jaxloss.linear_cross_entropy`.
    normalizer: as in :func:`jaxloss.linear_cross_entropy`.
    chunk_size: as in :func:`jaxloss.linear_cross_entropy`.
    return_token_stats: as in :func:`jaxloss.linear_cross_entropy` (the
      entropy's sums join the ``psum``; the argmax is the lowest global id
      of the ``pmax``).
    dft_scaling: as in :func:`jaxloss.linear_cross_entropy`.

  Returns:
    A scalar, or ``[...]`` for ``reduction="none"``, the same on every
    device of ``axis_name``: float32 for half-precision inputs, else the
    embeddings' dtype (and the statistics with ``return_token_stats``).

  Raises:
    TypeError: for non-floating arrays or non-integer labels.
    ValueError: for mismatched shapes, bad options or an unbound axis.

  Examples:
    >>> import jax, numpy as np
    >>> import jaxloss
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.sharding.Mesh(jax.devices()[:1], ("vocab",))
    >>> f = jax.shard_map(
    ...     lambda x, w, y: jaxloss.vocab_parallel_linear_cross_entropy(
    ...         x, w, y, axis_name="vocab"),
    ...     mesh=mesh, in_specs=(P(), P(None, "vocab"), P()), out_specs=P())
    >>> f(np.ones((1, 2), np.float32), np.zeros((2, 4), np.float32),
    ...   np.array([3]))
    Array(1.3862944, dtype=float32)

  References:
    Shoeybi et al., "Megatron-LM", 2019, section 3; Wijmans et al., "Cut
    Your Losses in Large-Vocabulary Language Models", 2024.
  """
  return ce.fused_cross_entropy(
    "vocab_parallel_linear_cross_entropy",
    embeddings,
    weight_shard,
    labels,
    bias=bias_shard,
    ignore_index=ignore_index,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    sample_weight=sample_weight,
    reduction=reduction,
    normalizer=normalizer,
    chunk_size=chunk_size,
    axis_name=axis_name,
    return_token_stats=return_token_stats,
    dft_scaling=dft_scaling,
  )


def count_tokens(
  labels: InputLike,
  *,
  ignore_index: int = -100,
  axis_name: str | tuple[str, ...] | None = None,
  segment_ids: InputLike | None = None,
) -> jax.Array:
  """Number of non-ignored tokens, summed over ``axis_name`` when given.

  With ``segment_ids`` (``[...]`` of the labels' shape, ``1, 2, ...`` per
  packed sequence, 0 for padding) it counts *sequences* instead: the
  segments holding at least one non-ignored token, the global divisor of
  :func:`jaxloss.policy_gradient`'s ``"sequence"`` normalisation and of
  per-sequence means under data parallelism.

  The ``normalizer`` for a global mean under data parallelism: inside
  ``shard_map``, ``count_tokens(labels, axis_name="data")`` counts the
  tokens of the whole global batch (``axis_name`` may be a tuple of axes).

  Examples:
    >>> import jaxloss
    >>> jaxloss.count_tokens([[1, -100], [4, 2]])
    Array(3., dtype=float32)
  """
  y = numerics.as_array("count_tokens", "labels", labels)
  if segment_ids is None:
    n = jnp.sum(y != ignore_index, dtype=jnp.float32)
  else:
    ids = segments.segment_ids_array(
      "count_tokens", "segment_ids", segment_ids, y.shape
    )
    _, counts = segments.sums_and_counts(None, ids, None, y != ignore_index)
    n = jnp.sum(jnp.minimum(counts, 1))  # NaN for a row with a bad id
  return n if axis_name is None else lax.psum(n, axis_name)
