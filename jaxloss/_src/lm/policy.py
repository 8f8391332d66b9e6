"""Policy-gradient losses on per-token log-probabilities: PPO's clipped
surrogate, GRPO's KL-regularised form, DAPO's asymmetric clipping and
token-level normalisation, and Dr. GRPO's constant normalisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.lm import segments
from jaxloss._src.objects import scoped

KL_ESTIMATORS = ("k1", "k2", "k3")
NORMALIZATIONS = ("token", "sequence", "constant", "none")


def kl_estimate(logps, reference_logps, estimator):
  """Per-token estimate of ``KL(pi || pi_ref)`` from samples of ``pi``
  (Schulman, "Approximating KL divergence", 2020), with
  ``d = reference_logps - logps``: ``k1 = -d``, ``k2 = d ** 2 / 2``,
  ``k3 = exp(d) - d - 1``."""
  d = reference_logps - logps
  if estimator == "k1":
    return -d
  if estimator == "k2":
    return 0.5 * jnp.square(d)
  return jnp.expm1(d) - d


@scoped
def policy_gradient(
  logps: ArrayLike,
  old_logps: ArrayLike | None,
  advantages: ArrayLike,
  *,
  where: ArrayLike,
  clip_epsilon: float | jax.Array = 0.2,
  clip_epsilon_high: float | jax.Array | None = None,
  reference_logps: ArrayLike | None = None,
  kl_coef: float | jax.Array = 0.0,
  kl_estimator: str = "k3",
  entropy: ArrayLike | None = None,
  entropy_coef: float | jax.Array = 0.0,
  normalization: str = "token",
  normalizer: ArrayLike | None = None,
  return_components: bool = False,
  segment_ids: ArrayLike | None = None,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Clipped policy-gradient loss (PPO / GRPO / DAPO / Dr. GRPO).

  Per token, with ``ratio = exp(logps - old_logps)``, advantages ``A``
  (per sequence ``[B]`` or per token ``[B, T]``), ``e_lo = clip_epsilon``
  and ``e_hi = clip_epsilon_high`` (``e_lo`` when None)::

    l_t = -min(ratio A, clip(ratio, 1 - e_lo, 1 + e_hi) A)
          + kl_coef * k(logps, reference_logps) - entropy_coef * entropy

  with ``k`` the ``k1``/``k2``/``k3`` estimator of ``KL(pi || pi_ref)``
  (see :func:`kl_estimate`; GRPO uses ``k3``). ``old_logps=None`` means
  on-policy (``old_logps = stop_gradient(logps)``: ratio 1, gradient
  ``-A grad log pi``). With ``m`` the mask ``where`` and ``|y_b|`` the
  number of valid tokens of sequence ``b``, the normalisations are::

    "token":    sum_bt m l / N            N = sum m, or normalizer (DAPO)
    "sequence": sum_b (sum_t m l / |y_b|) / B    B, or normalizer (GRPO)
    "constant": sum_bt m l / N            N = B * T, or normalizer
                                                             (Dr. GRPO)
    "none":     m l                       per token, [B, T]

  For gradient accumulation or data parallelism pass the *global* divisor
  (token count, sequence count or ``B * T_max`` of the whole batch) as
  ``normalizer`` and sum the per-shard losses, so that the loss scale does
  not depend on how the batch is split.

  Packed rows: with ``segment_ids`` (``[B, T]``, ``1, 2, ...`` per packed
  sequence, 0 for padding) tokens outside every segment are masked out and
  ``"sequence"`` normalises each *segment* by its own token count, ``B``
  becoming the number of segments holding at least one ``where`` token
  (:func:`jaxloss.count_tokens` with ``segment_ids`` gives the global
  count); advantages must then be per token (spread per-sequence ones with
  :func:`jaxloss.segment_broadcast`). The result equals that of the same
  sequences unpacked, one per row. This is a batch-level loss: it
  takes no per-sample weights (use the mask, or scale the advantages).

  Args:
    logps: ``[B, T]`` log-probabilities of the sampled tokens under the
      current policy (e.g. :func:`jaxloss.linear_log_probs`).
    old_logps: ``[B, T]`` under the sampling policy, or None (on-policy).
    advantages: ``[B]`` or ``[B, T]``.
    where: bool ``[B, T]``, True at response tokens.
    clip_epsilon: lower clip range (>= 0).
    clip_epsilon_high: upper clip range (DAPO's clip-higher), or None.
    reference_logps: ``[B, T]`` reference-policy log-probabilities, needed
      when ``kl_coef > 0``.
    kl_coef: KL penalty coefficient (>= 0).
    kl_estimator: ``"k1"``, ``"k2"`` or ``"k3"``.
    entropy: optional ``[B, T]`` per-token entropy (e.g. from
      :func:`jaxloss.linear_log_probs` with ``return_entropy=True``).
    entropy_coef: entropy bonus coefficient (>= 0).
    normalization: ``"token"``, ``"sequence"``, ``"constant"`` or
      ``"none"``.
    normalizer: global divisor (see above); not with ``"none"``.
    return_components: also return ``{"policy_loss", "kl", "entropy",
      "clip_fraction"}``, each a masked token mean (no gradient).
    segment_ids: optional integer ``[B, T]`` for packed rows (see above).

  Returns:
    A scalar (``[B, T]`` for ``"none"``) in the promoted dtype of the
    floating inputs (bfloat16 log-probabilities with float32 advantages
    give float32), and the components dict when asked.

  Raises:
    TypeError: for non-floating inputs or a non-boolean mask.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> lp = jnp.log(jnp.array([[0.5, 0.5]]))
    >>> jaxloss.policy_gradient(lp, lp, jnp.array([1.0]),
    ...                         where=jnp.array([[True, True]]))
    Array(-1., dtype=float32)

  References:
    Schulman et al., "Proximal Policy Optimization Algorithms", 2017
    (arXiv:1707.06347), eq. 7. Shao et al., "DeepSeekMath" (GRPO), 2024
    (arXiv:2402.03300), eq. 3-4. Yu et al., "DAPO", 2025
    (arXiv:2503.14476), eq. 8. Liu et al., "Understanding R1-Zero-Like
    Training: A Critical Perspective" (Dr. GRPO), 2025 (arXiv:2503.20783).
  """
  caller = "policy_gradient"
  validation.check_range(caller, "clip_epsilon", clip_epsilon, low=0.0)
  validation.check_range(
    caller, "clip_epsilon_high", clip_epsilon_high, low=0.0, optional=True
  )
  validation.check_range(caller, "kl_coef", kl_coef, low=0.0)
  validation.check_range(caller, "entropy_coef", entropy_coef, low=0.0)
  validation.choice(caller, "kl_estimator", kl_estimator, KL_ESTIMATORS)
  validation.choice(caller, "normalization", normalization, NORMALIZATIONS)
  if normalizer is not None and normalization == "none":
    raise ValueError(
      f"{caller}: normalizer does not apply to "
      f"normalization='none', got normalizer={normalizer!r}"
    )
  validation.flag(caller, "return_components", return_components)
  if kl_coef and reference_logps is None:
    raise ValueError(
      f"{caller}: reference_logps must be given when kl_coef > 0, "
      f"got kl_coef={kl_coef!r} and reference_logps=None"
    )
  if entropy_coef and entropy is None:
    raise ValueError(
      f"{caller}: entropy must be given when entropy_coef > 0, "
      f"got entropy_coef={entropy_coef!r} and entropy=None"
    )
  arrays = dict(logps=logps, advantages=advantages)
  if old_logps is not None:
    arrays["old_logps"] = old_logps
  if reference_logps is not None:
    arrays["reference_logps"] = reference_logps
  if entropy is not None:
    arrays["entropy"] = entropy
  converted, out_dtype = numerics.floats(caller, **arrays)
  a = dict(zip(arrays, converted))
  lp = a["logps"]
  shapes.check_rank(caller, "logps", lp, 2)
  for name in ("old_logps", "reference_logps", "entropy"):
    if name in a:
      shapes.check_same_shape(caller, logps=lp, **{name: a[name]})
  mask = numerics.as_array(caller, "where", where)
  validation.bool_mask(caller, "where", mask)
  shapes.check_same_shape(caller, logps=lp, where=mask)
  ids = None
  if segment_ids is not None:
    ids = segments.segment_ids_array(
      caller, "segment_ids", segment_ids, lp.shape
    )
    mask = mask & (ids > 0)
  adv = a["advantages"]
  if adv.shape == lp.shape[:1] and ids is None:
    adv = adv[:, None]
  elif adv.shape != lp.shape:
    raise ValueError(
      f"{caller}: advantages must have shape [B] = {lp.shape[:1]} (not with "
      f"segment_ids) or [B, T] = {lp.shape}, got "
      f"advantages.shape={tuple(adv.shape)}"
    )
  old = a.get("old_logps")
  if old is None:
    old = jax.lax.stop_gradient(lp)
  e_lo = clip_epsilon
  e_hi = clip_epsilon if clip_epsilon_high is None else clip_epsilon_high
  # Masked tokens are sanitised before the exponential (finite gradients
  # even when padding holds garbage).
  log_ratio = jnp.where(mask, lp - old, 0)
  ratio = jnp.exp(log_ratio)
  clipped = jnp.clip(ratio, 1.0 - e_lo, 1.0 + e_hi)
  surrogate = jnp.minimum(ratio * adv, clipped * adv)
  per_token = -surrogate
  kl = None
  if reference_logps is not None:
    ref = jnp.where(mask, a["reference_logps"], 0)
    kl = kl_estimate(jnp.where(mask, lp, 0), ref, kl_estimator)
    if kl_coef:
      per_token = per_token + kl_coef * kl
  ent = a.get("entropy")
  if ent is not None and entropy_coef:
    per_token = per_token - entropy_coef * ent
  per_token = jnp.where(mask, per_token, 0)
  dtype = per_token.dtype
  if normalization == "none":
    out = per_token
  elif normalization == "sequence":
    if ids is None:
      lengths = jnp.sum(mask, axis=-1, dtype=dtype)
      seq = numerics.safe_divide(jnp.sum(per_token, axis=-1), lengths)
      count = jnp.asarray(lp.shape[0], dtype)
    else:
      sums, lengths = segments.sums_and_counts(per_token, ids, None, mask)
      seq = numerics.safe_divide(sums, lengths)
      count = jnp.sum(lengths != 0, dtype=dtype)
    den = count if normalizer is None else jnp.asarray(normalizer, dtype)
    out = numerics.safe_divide(jnp.sum(seq), den)
  else:
    if normalizer is not None:
      den = jnp.asarray(normalizer, dtype)
    elif normalization == "token":
      den = jnp.sum(mask, dtype=dtype)
    else:
      den = jnp.asarray(lp.size, dtype)
    out = numerics.safe_divide(jnp.sum(per_token), den)
  out = out.astype(out_dtype)
  if not return_components:
    return out
  count = jnp.sum(mask, dtype=dtype)

  def token_mean(v):
    v = jax.lax.stop_gradient(jnp.where(mask, v, 0))
    return numerics.safe_divide(jnp.sum(v), count).astype(out_dtype)

  zero = jnp.zeros((), out_dtype)
  is_clipped = (ratio * adv) > (clipped * adv)
  comps = {
    "policy_loss": token_mean(-surrogate),
    "kl": zero if kl is None else token_mean(kl),
    "entropy": zero if ent is None else token_mean(ent),
    "clip_fraction": token_mean(is_clipped.astype(dtype)),
  }
  return out, comps
