"""Auxiliary losses of mixture-of-experts routers.

* :func:`load_balancing_loss`: the Switch Transformer auxiliary loss over
  a (micro-)batch of tokens, with exact global statistics over a mesh axis
  (``axis_name``) when the tokens are sharded.
* :func:`sequence_load_balancing_loss`: DeepSeek-V3's complementary
  sequence-wise balance loss, one value per sequence (packed rows through
  ``segment_ids``).
* :func:`router_z_loss`: ST-MoE's ``logsumexp(logits) ** 2`` per token.

The balance losses take the router's probabilities (what the gate
computes the balance on: the softmax of the logits, or DeepSeek-V3's
normalised sigmoid affinities ``s / sum(s)``) and the experts each token was
dispatched to (``[..., K]`` integer ids, the top-k the router chose); the
counts carry no gradient, the probabilities do.
"""

from __future__ import annotations

from typing import cast

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import segments
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _router_inputs(caller, router_probs, expert_indices, where, min_rank=2):
  """``(probs [..., E] compute dtype, one-hot counts [..., E], valid [...],
  bad [...] (a counted token with an id outside [0, E)), K, out_dtype)``;
  ``valid`` all True without ``where``."""
  p = numerics.as_float(caller, "router_probs", router_probs)
  shapes.check_min_rank(caller, "router_probs", p, min_rank)
  idx = numerics.as_array(caller, "expert_indices", expert_indices)
  validation.integer_dtype(caller, "expert_indices", idx)
  if idx.ndim != p.ndim or idx.shape[:-1] != p.shape[:-1]:
    raise ValueError(
      f"{caller}: expert_indices must be [..., K] with the leading shape of "
      f"router_probs {tuple(p.shape[:-1])}, got "
      f"expert_indices.shape={tuple(idx.shape)}"
    )
  if where is None:
    valid = jnp.ones(p.shape[:-1], bool)
  else:
    valid = shapes.exact_mask(
      caller, where, p.shape[:-1], "the probabilities without the expert axis"
    )
  out_dtype = p.dtype
  acc = numerics.compute_dtype(p.dtype)
  e = p.shape[-1]
  # An id outside [0, E) at a counted token makes the loss NaN.
  bad_tok = valid & jnp.any(numerics.ids_outside(idx, e), axis=-1)
  hits = jnp.sum(jax.nn.one_hot(idx, e, dtype=acc), axis=-2)  # [..., E]
  hits = jnp.where(valid[..., None], hits, 0)
  probs = jnp.where(valid[..., None], p.astype(acc), 0)
  return probs, hits, valid, bad_tok, idx.shape[-1], out_dtype


def _switch(prob_sums, counts, tokens, k, e):
  """``E * sum_i f_i P_i`` with ``f_i = counts_i / (tokens K)`` and
  ``P_i = prob_sums_i / tokens`` (over the last axis)."""
  f = lax.stop_gradient(numerics.safe_divide(counts, tokens * k))
  p = numerics.safe_divide(prob_sums, tokens)
  return e * jnp.sum(f * p, axis=-1)


@domains.declare(
  class_ids=domains.ClassIds(
    "expert_indices", "router_probs", ignore=None, where="where"
  )
)
@scoped
def load_balancing_loss(
  router_probs: InputLike,
  expert_indices: InputLike,
  *,
  where: InputLike | None = None,
  axis_name: str | tuple[str, ...] | None = None,
) -> jax.Array:
  r"""Switch Transformer load-balancing loss over a batch of tokens.

  With ``N`` tokens (every leading axis, or the tokens of ``where``), ``E``
  experts, ``K`` experts per token, ``p_{t,i}`` the router probabilities
  and ``c_i`` the number of tokens dispatched to expert ``i``::

    f_i  = c_i / (N K)            fraction of dispatches (no gradient)
    P_i  = sum_t p_{t,i} / N      mean router probability
    loss = E * sum_i f_i P_i

  which is 1 for a perfectly uniform router (Fedus et al. eq. 4-6, with
  Megatron-core's ``1 / K`` for top-k). With ``axis_name`` (inside
  ``shard_map``, tokens sharded over that mesh axis) ``c``, ``sum_t p`` and
  ``N`` are ``psum``-ed first: the value is the loss of the *global* batch,
  the same on every device (the global-batch balance of Qiu et al. 2025);
  without it the statistics are those of the local micro-batch. A
  batch-level loss: one scalar; multiply by the auxiliary-loss coefficient
  outside.

  Args:
    router_probs: ``[..., E]`` probabilities (softmax of the router logits).
    expert_indices: integer ``[..., K]``: the experts each token was sent
      to.
    where: optional bool ``[...]``: the tokens that count (padding out).
    axis_name: mesh axis (or axes) the tokens are sharded over, or None.

  Returns:
    A scalar in the probabilities' dtype (computed in float32 for half
    inputs); NaN when a counted token names an expert outside ``[0, E)``.

  Raises:
    TypeError: for non-floating probabilities, non-integer ids or a bad
      mask.
    ValueError: for mismatched shapes or an unbound axis.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> p = jnp.array([[0.7, 0.3], [0.6, 0.4]])
    >>> jaxloss.load_balancing_loss(p, jnp.array([[0], [0]]))
    Array(1.3, dtype=float32)

  References:
    Fedus, Zoph and Shazeer, "Switch Transformers", JMLR 2022
    (arXiv:2101.03961), eq. 4-6. Megatron-core
    ``switch_load_balancing_loss_func``
    (``megatron/core/transformer/moe/moe_utils.py``, 2025). Qiu et al.,
    "Demons in the Detail: On Implementing Load Balancing Loss for Training
    Specialized Mixture-of-Expert Models", 2025 (arXiv:2501.11873).
  """
  caller = "load_balancing_loss"
  probs, hits, valid, bad_tok, k, out_dtype = _router_inputs(
    caller, router_probs, expert_indices, where
  )
  bad = jnp.any(bad_tok)
  if axis_name is not None:
    tiling.axis_size(caller, axis_name)
  e = probs.shape[-1]
  lead = tuple(range(probs.ndim - 1))
  prob_sums = jnp.sum(probs, axis=lead)
  counts = jnp.sum(hits, axis=lead)
  tokens = jnp.sum(valid, dtype=probs.dtype)
  if axis_name is not None:
    prob_sums, counts, tokens, bad = lax.psum(
      (prob_sums, counts, tokens, bad.astype(probs.dtype)), axis_name
    )
  out = _switch(prob_sums, counts, tokens, k, e)
  out = jnp.where(bad > 0, jnp.nan, out)
  return out.astype(out_dtype)


@domains.declare(
  class_ids=domains.ClassIds(
    "expert_indices", "router_probs", ignore=None, where="where"
  )
)
@scoped
def sequence_load_balancing_loss(
  router_probs: InputLike,
  expert_indices: InputLike,
  *,
  where: InputLike | None = None,
  segment_ids: InputLike | None = None,
  num_segments: int | None = None,
) -> jax.Array:
  r"""DeepSeek-V3's sequence-wise auxiliary balance loss, per sequence.

  For each sequence of ``T`` tokens (the tokens of ``where``), ``E``
  experts, ``K`` experts per token, normalised affinities ``s'_{t,i}``
  (``router_probs``) and the top-k dispatch ``1(i in TopK_t)``::

    f_i  = E / (K T) * sum_t 1(i in TopK_t)      (no gradient)
    P_i  = sum_t s'_{t,i} / T
    loss = sum_i f_i P_i

  (DeepSeek-V3 eq. 17-20, without the factor ``alpha``: multiply outside).
  It is the load-balancing loss of :func:`jaxloss.load_balancing_loss`
  computed on each sequence alone; averaging the values over sequences
  gives Megatron-core's ``seq_aux_loss``. For DeepSeek-V3's sigmoid gates
  pass ``s / s.sum(-1, keepdims=True)``; the top-k may come from the
  bias-adjusted scores of auxiliary-loss-free balancing.

  Args:
    router_probs: ``[B, T, E]`` normalised affinities.
    expert_indices: integer ``[B, T, K]``.
    where: optional bool ``[B, T]``: the tokens that count.
    segment_ids: optional integer ``[B, T]`` for packed rows (``1, 2, ...``
      per sequence, 0 for padding): one value per segment.
    num_segments: static maximum number of segments per row (default
      ``T``), with ``segment_ids``.

  Returns:
    ``[B]`` (``[B, S]`` with ``segment_ids``, segment ``k`` at ``k - 1``, 0
    for a missing one) in the probabilities' dtype; NaN for a sequence with
    an expert id outside ``[0, E)``.

  Raises:
    TypeError: for non-floating probabilities, non-integer ids or a bad
      mask.
    ValueError: for mismatched shapes.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> p = jnp.array([[[0.7, 0.3], [0.6, 0.4]]])
    >>> jaxloss.sequence_load_balancing_loss(p, jnp.array([[[0], [0]]]))
    Array([1.3], dtype=float32)

  References:
    DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024 (arXiv:2412.19437),
    eq. 17-20. Megatron-core ``Router._apply_seq_aux_loss``
    (``megatron/core/transformer/moe/router.py``, 2025).
  """
  caller = "sequence_load_balancing_loss"
  segments.check_num_segments(caller, num_segments)
  probs, hits, valid, bad_tok, k, out_dtype = _router_inputs(
    caller, router_probs, expert_indices, where, min_rank=3
  )
  shapes.check_rank(caller, "router_probs", probs, 3)
  e = probs.shape[-1]
  if segment_ids is None:
    prob_sums = jnp.sum(probs, axis=-2)
    counts = jnp.sum(hits, axis=-2)
    tokens = jnp.sum(valid, axis=-1, dtype=probs.dtype)[..., None]
    bad = jnp.any(bad_tok, axis=-1)
  else:
    ids = segments.segment_ids_array(
      caller, "segment_ids", segment_ids, valid.shape
    )
    ids_e = jnp.broadcast_to(ids[:, None, :], (ids.shape[0], e, ids.shape[1]))
    where_e = jnp.broadcast_to(valid[:, None, :], ids_e.shape)

    def per_segment(v):  # [B, T, E] -> [B, S, E]
      sums, _ = segments.sums_and_counts(
        jnp.swapaxes(v, -1, -2), ids_e, num_segments, where_e
      )
      return jnp.swapaxes(cast(jax.Array, sums), -1, -2)

    prob_sums, counts = per_segment(probs), per_segment(hits)
    _, tokens = segments.sums_and_counts(None, ids, num_segments, valid)
    bad_sums, _ = segments.sums_and_counts(
      bad_tok.astype(probs.dtype), ids, num_segments
    )
    bad = cast(jax.Array, bad_sums)
    tokens = tokens[..., None]
  out = _switch(prob_sums, counts, tokens, k, e)
  out = jnp.where(bad > 0, jnp.nan, out)
  return out.astype(out_dtype)


@scoped
def router_z_loss(router_logits: InputLike) -> jax.Array:
  r"""ST-MoE router z-loss per token: ``logsumexp(logits) ** 2``.

  The mean over tokens (:func:`jaxloss.reduce`, or a loss object's mean) is
  the z-loss of Zoph et al. eq. 5 and Megatron-core's ``z_loss_func``;
  multiply by its coefficient (1e-3 in the paper) outside. Under data
  parallelism pass the global token count as ``normalizer``.

  Args:
    router_logits: ``[..., E]``.

  Returns:
    ``[...]`` in the logits' dtype (computed in float32 for half inputs).

  Raises:
    TypeError: for non-floating logits.
    ValueError: for a scalar.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> jaxloss.router_z_loss(jnp.zeros((1, 4)))
    Array([1.9218121], dtype=float32)

  References:
    Zoph et al., "ST-MoE: Designing Stable and Transferable Sparse Expert
    Models", 2022 (arXiv:2202.08906), eq. 5. Megatron-core ``z_loss_func``
    (``megatron/core/transformer/moe/moe_utils.py``, 2025).
  """
  caller = "router_z_loss"
  z = numerics.as_float(caller, "router_logits", router_logits)
  shapes.check_min_rank(caller, "router_logits", z, 1)
  acc = numerics.compute_dtype(z.dtype)
  lse = jax.nn.logsumexp(z.astype(acc), axis=-1)
  return jnp.square(lse).astype(z.dtype)
