"""Policy-gradient losses on per-token log-probabilities: PPO's clipped
surrogate (with dual clip and INTELLECT-2's two-sided clip), GRPO's
KL-regularised form, DAPO's asymmetric clipping and token-level
normalisation, Dr. GRPO's constant normalisation, sequence-level importance
ratios (GSPO, GSPO-token), CISPO, SAPO, GMPO and VESPO, and the corrections
for a sampler that differs from the trainer (truncated or masked importance
weights, off-policy sequence masking, the importance-weighted KL)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.lm import segments
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

KL_ESTIMATORS = ("k1", "k2", "k3")
NORMALIZATIONS = ("token", "sequence", "constant", "none")
OBJECTIVES = ("ppo", "cispo", "sapo", "gmpo", "vespo")
IMPORTANCE_LEVELS = ("token", "sequence", "sequence_token")
SAMPLER_CORRECTIONS = ("tis", "mis")
SAMPLER_LEVELS = ("token", "sequence")
COMPONENTS = (
  "policy_loss",
  "kl",
  "entropy",
  "clip_fraction",
  "clip_fraction_low",
  "clip_fraction_high",
  "ratio_mean",
  "ratio_min",
  "ratio_max",
  "sampler_weight_mean",
  "sampler_masked_fraction",
  "off_policy_masked_fraction",
  "entropy_kept_fraction",
)
# VESPO's bounds on the sequence log-ratio, as in its reference trainer.
_VESPO_LOG_LOW = math.log(1e-8)
_VESPO_LOG_HIGH = 20.0


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


def sequence_mean(values, mask):
  """``[B, 1]`` mean of ``values`` over each row's valid tokens (0 for a row
  without any)."""
  total = jnp.sum(jnp.where(mask, values, 0), axis=-1, keepdims=True)
  count = jnp.sum(mask, axis=-1, keepdims=True, dtype=total.dtype)
  return numerics.safe_divide(total, count)


def importance_log_weight(log_ratio, mask, level):
  """Log importance weight of each token from the per-token log-ratios
  ``log pi - log pi_old`` (masked entries 0):

  * ``"token"``: the log-ratio itself (PPO, GRPO);
  * ``"sequence"``: the row's mean log-ratio, ``[B, 1]`` (GSPO's
    ``log s_i``, the log of the geometric mean of the token ratios);
  * ``"sequence_token"``: ``sg(log s_i) + log_ratio - sg(log_ratio)``
    (GSPO-token: the value of ``log s_i``, the gradient of each token's own
    log-probability).
  """
  if level == "token":
    return log_ratio
  seq = sequence_mean(log_ratio, mask)
  if level == "sequence":
    return seq
  sg = jax.lax.stop_gradient
  return sg(seq) + log_ratio - sg(log_ratio)


def sampler_weights(log_ratio, mask, correction, level, high, low):
  """Importance weights for a sampler (inference engine) that differs from
  the trainer's old policy, from ``log_ratio = old_logps - sampler_logps``
  (masked entries 0), without gradient.

  ``w = exp(log_ratio)`` per token, or ``exp(sum_t log_ratio)`` per sequence
  (``[B, 1]``, the product of the token ratios); ``"tis"`` clips ``w`` to
  ``[low, high]``, ``"mis"`` sets it to 0 outside ``[low, high]`` (a
  missing bound is no bound). Returns ``(weights, rejected)`` with
  ``rejected`` the bool mask of ratios outside the bounds.
  """
  log_ratio = jax.lax.stop_gradient(log_ratio)
  if level == "sequence":
    log_ratio = jnp.sum(log_ratio, axis=-1, keepdims=True)
  w = jnp.exp(log_ratio)
  rejected = jnp.zeros(w.shape, bool)
  if high is not None:
    rejected = rejected | (w > high)
  if low is not None:
    rejected = rejected | (w < low)
  if correction == "tis":
    return jnp.clip(w, low, high), rejected
  return jnp.where(rejected, 0, w), rejected


def off_policy_keep(advantages, logps, behaviour_logps, mask, threshold):
  """DeepSeek-V3.2's off-policy sequence mask (True = keep): a sequence is
  dropped when its advantage is negative and its mean
  ``log pi_behaviour - log pi`` over valid tokens exceeds ``threshold``."""
  gap = jax.lax.stop_gradient(behaviour_logps - logps)
  # "not above" rather than "at most": a NaN statistic keeps its sequence,
  # so that the NaN reaches the loss.
  return (advantages >= 0) | ~(sequence_mean(gap, mask) > threshold)


def entropy_keep(entropy, mask, quantile):
  """The top ``quantile`` of the valid tokens by entropy (True = keep): those
  whose entropy is at least the ``1 - quantile`` quantile (linear
  interpolation) of the valid tokens' entropies (Wang et al. 2025)."""
  ent = jax.lax.stop_gradient(entropy)
  threshold = jnp.nanquantile(jnp.where(mask, ent, jnp.nan), 1.0 - quantile)
  return mask & (ent >= threshold)


def _objective(objective, lw, log_ratio, lp, adv, mask, e_lo, e_hi, options):
  """Per-token policy term, the clipped flag, and the low / high clipped
  flags, for one objective. ``lw`` is the log importance weight,
  ``log_ratio`` the token log-ratio, ``lp`` the (sanitised) log-probs."""
  sg = jax.lax.stop_gradient
  ratio = jnp.exp(lw)
  low = (ratio < 1.0 - e_lo) & (adv < 0)
  high = (ratio > 1.0 + e_hi) & (adv > 0)
  if objective == "ppo":
    clipped = jnp.clip(ratio, 1.0 - e_lo, 1.0 + e_hi)
    unclipped = ratio
    if options["delta"] is not None:
      unclipped = jnp.minimum(ratio, options["delta"])
    surrogate = jnp.minimum(unclipped * adv, clipped * adv)
    is_clipped = unclipped * adv > clipped * adv
    c = options["clip_ratio_c"]
    if c is not None:
      dual = (adv < 0) & (surrogate < c * adv)
      surrogate = jnp.where(dual, c * adv, surrogate)
      is_clipped = is_clipped | dual
    return -surrogate, is_clipped, low, high
  if objective == "cispo":
    clipped = jnp.clip(ratio, 1.0 - e_lo, 1.0 + e_hi)
    return -sg(clipped) * adv * lp, clipped != ratio, low, high
  if objective == "sapo":
    tau = jnp.where(
      adv > 0, options["sapo_temperature_pos"], options["sapo_temperature_neg"]
    )
    gate = jax.nn.sigmoid(tau * (ratio - 1.0)) * (4.0 / tau)
    zero = jnp.zeros(jnp.broadcast_shapes(gate.shape, adv.shape), bool)
    return -gate * adv, zero, low, high
  if objective == "gmpo":
    sign = jnp.sign(adv)
    bounded = jnp.clip(log_ratio, -e_lo, e_hi)
    kept = sign * jnp.minimum(sign * log_ratio, sign * bounded)
    seq_ratio = jnp.exp(sequence_mean(kept, mask))
    seq_adv = sequence_mean(jnp.broadcast_to(adv, mask.shape), mask)
    value = jnp.broadcast_to(-seq_adv * seq_ratio, mask.shape)
    is_clipped = sign * bounded < sign * log_ratio
    low = is_clipped & (adv < 0)
    high = is_clipped & (adv > 0)
    return value, is_clipped, low, high
  # VESPO: a gamma-shaped weight of the sequence ratio, without gradient.
  log_w = jnp.sum(
    jnp.where(mask, jnp.clip(log_ratio, -20.0, 20.0), 0), -1, keepdims=True
  )
  if options["vespo_log_sampler"] is not None:
    log_w = log_w + options["vespo_log_sampler"]
  log_w = sg(jnp.clip(log_w, _VESPO_LOG_LOW, _VESPO_LOG_HIGH))
  pos = adv >= 0
  k = jnp.where(pos, options["vespo_k_pos"], options["vespo_k_neg"])
  lam = jnp.where(pos, options["vespo_lambda_pos"], options["vespo_lambda_neg"])
  phi = jnp.exp(lam + k * log_w - lam * jnp.exp(log_w))
  zero = jnp.zeros(jnp.broadcast_shapes(phi.shape, mask.shape), bool)
  return -phi * adv * lp, zero, low, high


@scoped
def policy_gradient(
  logps: InputLike,
  old_logps: InputLike | None,
  advantages: InputLike,
  *,
  where: InputLike,
  clip_epsilon: float | jax.Array = 0.2,
  clip_epsilon_high: float | jax.Array | None = None,
  objective: str = "ppo",
  importance_level: str = "token",
  clip_ratio_c: float | None = None,
  delta: float | None = None,
  sapo_temperature_pos: float = 1.0,
  sapo_temperature_neg: float = 1.05,
  vespo_k_pos: float = 2.0,
  vespo_lambda_pos: float = 3.0,
  vespo_k_neg: float = 3.0,
  vespo_lambda_neg: float = 2.0,
  sampler_logps: InputLike | None = None,
  sampler_correction: str | None = None,
  sampler_level: str = "token",
  sampler_threshold: float | None = 3.0,
  sampler_threshold_low: float | None = None,
  off_policy_threshold: float | None = None,
  reference_logps: InputLike | None = None,
  kl_coef: float | jax.Array = 0.0,
  kl_estimator: str = "k3",
  kl_importance_weighted: bool = False,
  entropy: InputLike | None = None,
  entropy_coef: float | jax.Array = 0.0,
  top_entropy_quantile: float = 1.0,
  normalization: str = "token",
  normalizer: InputLike | None = None,
  return_components: bool = False,
  segment_ids: InputLike | None = None,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Clipped policy-gradient loss (PPO / GRPO / DAPO / Dr. GRPO / GSPO /
  CISPO / SAPO / GMPO / VESPO), with sampler-mismatch corrections.

  **Importance weight.** With the per-token log-ratio
  ``d_t = logps - old_logps`` (``old_logps=None``: on-policy,
  ``old_logps = stop_gradient(logps)``), the importance weight ``r`` is, by
  ``importance_level``: ``"token"``: ``exp(d_t)``; ``"sequence"`` (GSPO):
  ``s_b = exp(mean_t d_t)`` over the sequence's valid tokens, the
  geometric mean of its token ratios, one per sequence;
  ``"sequence_token"`` (GSPO-token): ``sg(s_b) pi_t / sg(pi_t)``, the
  value of ``s_b`` with the gradient of each token's own log-probability.

  **Objective.** Per token, with advantages ``A`` (per sequence ``[B]`` or
  per token ``[B, T]``), ``e_lo = clip_epsilon`` and
  ``e_hi = clip_epsilon_high`` (``e_lo`` when None)::

    "ppo":   -min(min(r, delta) A, clip(r, 1 - e_lo, 1 + e_hi) A)
             and, with clip_ratio_c = c, max(that, -c A) where A < 0
    "cispo": -sg(clip(r, 1 - e_lo, 1 + e_hi)) A logps
    "sapo":  -(4 / tau) sigmoid(tau (r - 1)) A,
             tau = sapo_temperature_pos if A > 0 else sapo_temperature_neg
    "gmpo":  -A_b exp(mean_t sgn(A) min(sgn(A) d_t, sgn(A) clip(d_t,
             -e_lo, e_hi))), the same at every token of sequence b
             (A_b: the sequence's mean advantage; e_lo, e_hi bound the
             log-ratio, the paper uses 0.4)
    "vespo": -sg(phi(w)) A logps, phi(w) = exp(lam + k log w - lam w),
             log w = clip(sum_t clip(d_t, -20, 20), log 1e-8, 20),
             (k, lam) = (vespo_k_pos, vespo_lambda_pos) if A >= 0 else
             (vespo_k_neg, vespo_lambda_neg)

  (``min(r, delta)``: INTELLECT-2's two-sided clip when ``delta`` is set;
  ``clip_ratio_c``: the dual clip of Ye et al. 2020.) ``"gmpo"`` and
  ``"vespo"`` form their own sequence weights: they take
  ``importance_level="token"``.

  **Sampler mismatch.** With ``sampler_logps`` (the log-probabilities the
  inference engine reported when sampling) and ``sampler_correction``, each
  token's policy term is multiplied by a weight without gradient from
  ``old_logps - sampler_logps``: per token or (``sampler_level=
  "sequence"``) the product over the sequence; ``"tis"`` truncates it to
  ``[sampler_threshold_low, sampler_threshold]``, ``"mis"`` sets it to 0
  outside (a None bound is no bound). Under ``"vespo"`` the token-level
  weights' logarithms join ``log w`` instead. ``off_policy_threshold =
  delta`` drops (masks) the sequences with ``A < 0`` and
  ``mean_t(sampler_logps - logps) > delta`` (``old_logps`` when no
  ``sampler_logps``; DeepSeek-V3.2). ``top_entropy_quantile = q < 1``
  keeps the policy term (and the entropy bonus) only at the valid tokens
  whose ``entropy`` is at least the ``1 - q`` quantile of the valid
  tokens' entropies (Wang et al. 2025; a batch-level statistic).

  **Total.** Per token::

    l_t = w_t m_t p_t + kl_coef k_t - entropy_coef m_t H_t

  with ``p_t`` the objective's term, ``w_t`` the sampler weight, ``m_t``
  the off-policy and entropy masks, ``k_t`` the ``k1``/``k2``/``k3``
  estimate of ``KL(pi || pi_ref)`` (with ``d = reference_logps - logps``:
  ``k1 = -d``, ``k2 = d ** 2 / 2``, ``k3 = exp(d) - d - 1``; GRPO uses ``k3``),
  times ``r`` when ``kl_importance_weighted`` (DeepSeek-V3.2's
  importance-corrected estimate; for ``"gmpo"`` and ``"vespo"``, the token
  ratio). With the mask ``where`` and ``|y_b|`` the number of valid tokens
  of sequence ``b``, the normalisations are::

    "token":    sum_bt l / N            N = number of valid tokens, or
                                        normalizer (DAPO)
    "sequence": sum_b (sum_t l / |y_b|) / B    B, or normalizer (GRPO)
    "constant": sum_bt l / N            N = B * T, or normalizer
                                                         (Dr. GRPO)
    "none":     l                       per token, [B, T] (0 where masked)

  LUSPO is ``importance_level="sequence"``, ``normalization="constant"``,
  ``normalizer=B`` (each sequence's loss times its length, averaged over
  sequences). For gradient accumulation or data parallelism pass the
  *global* divisor as ``normalizer`` and sum the per-shard losses, so that
  the loss scale does not depend on how the batch is split.

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
    old_logps: ``[B, T]`` under the policy that the trainer sampled from
      (before this update), or None (on-policy).
    advantages: ``[B]`` or ``[B, T]``.
    where: ``[B, T]`` mask of the response tokens: booleans, or 0/1
      numbers (a trainer's ``completion_mask``; nonzero counts as a token).
      Per-sequence advantages come from :func:`jaxloss.group_advantages`.
    clip_epsilon: lower clip range (>= 0).
    clip_epsilon_high: upper clip range (DAPO's clip-higher), or None.
    objective: ``"ppo"``, ``"cispo"``, ``"sapo"``, ``"gmpo"`` or
      ``"vespo"``.
    importance_level: ``"token"``, ``"sequence"`` or ``"sequence_token"``.
    clip_ratio_c: dual-clip bound (> 1) for negative advantages
      (``"ppo"``), or None.
    delta: upper bound (>= 1) of the unclipped ratio (``"ppo"``), or None.
    sapo_temperature_pos: SAPO's gate temperature for ``A > 0`` (> 0).
    sapo_temperature_neg: SAPO's gate temperature for ``A <= 0`` (> 0).
    vespo_k_pos: VESPO's power for ``A >= 0`` (>= 0).
    vespo_lambda_pos: VESPO's decay for ``A >= 0`` (> 0).
    vespo_k_neg: VESPO's power for ``A < 0`` (>= 0).
    vespo_lambda_neg: VESPO's decay for ``A < 0`` (> 0).
    sampler_logps: ``[B, T]`` log-probabilities under the sampler.
    sampler_correction: ``"tis"``, ``"mis"`` or None.
    sampler_level: ``"token"`` or ``"sequence"``.
    sampler_threshold: upper bound (> 0) of the sampler weight, or None.
    sampler_threshold_low: lower bound (>= 0) of the sampler weight, or
      None.
    off_policy_threshold: the off-policy sequence mask's threshold, or
      None (off).
    reference_logps: ``[B, T]`` reference-policy log-probabilities, needed
      when ``kl_coef > 0``.
    kl_coef: KL penalty coefficient (>= 0).
    kl_estimator: ``"k1"``, ``"k2"`` or ``"k3"``.
    kl_importance_weighted: multiply the KL estimate by the importance
      weight ``r``.
    entropy: optional ``[B, T]`` per-token entropy (e.g. from
      :func:`jaxloss.linear_log_probs` with ``return_entropy=True``).
    entropy_coef: entropy bonus coefficient (>= 0).
    top_entropy_quantile: the fraction ``q`` in ``[0, 1]`` of tokens kept
      by entropy (1 keeps all; needs ``entropy`` below 1).
    normalization: ``"token"``, ``"sequence"``, ``"constant"`` or
      ``"none"``.
    normalizer: global divisor (see above); not with ``"none"``.
    return_components: also return the logging statistics, each over the
      valid tokens and without gradient: ``"policy_loss"`` (mean of
      ``w m p``), ``"kl"``, ``"entropy"`` (means), ``"clip_fraction"``
      (fraction whose objective term is clipped: PPO's clipped or dual
      branch, CISPO's clipped weight, GMPO's clipped log-ratio; 0 for SAPO
      and VESPO), ``"clip_fraction_low"`` / ``"clip_fraction_high"`` (``r <
      1 - e_lo`` with ``A < 0``, ``r > 1 + e_hi`` with ``A > 0``; for GMPO,
      its log-ratio bounds), ``"ratio_mean"``, ``"ratio_min"``,
      ``"ratio_max"`` (of ``r``), ``"sampler_weight_mean"`` (1 without a
      correction), ``"sampler_masked_fraction"`` (ratios outside the
      bounds), ``"off_policy_masked_fraction"`` and
      ``"entropy_kept_fraction"``. The dict has these keys whatever the
      options (zeros, or ones, where not applicable), so that a trainer's
      logging code has one shape.
    segment_ids: optional integer ``[B, T]`` for packed rows (see above).

  Returns:
    A scalar (``[B, T]`` for ``"none"``) in the promoted dtype of the
    floating inputs (bfloat16 log-probabilities with float32 advantages
    give float32), and the components dict when asked.

  Raises:
    TypeError: for non-floating inputs or a mask that is neither boolean
      nor numeric.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> lp = jnp.log(jnp.array([[0.5, 0.5]]))
    >>> jaxloss.policy_gradient(lp, lp, jnp.array([1.0]),
    ...                         where=jnp.array([[True, True]]))
    Array(-1., dtype=float32)
    >>> jaxloss.policy_gradient(lp, lp - 0.1, jnp.array([1.0]),
    ...                         where=jnp.array([[True, True]]),
    ...                         importance_level="sequence")
    Array(-1.105171, dtype=float32)

  References:
    Schulman et al., "Proximal Policy Optimization Algorithms", 2017
    (arXiv:1707.06347), eq. 7. Ye et al., "Mastering Complex Control in
    MOBA Games with Deep Reinforcement Learning" (dual clip), 2020
    (arXiv:1912.09729). Shao et al., "DeepSeekMath" (GRPO), 2024
    (arXiv:2402.03300), eq. 3-4. Yu et al., "DAPO", 2025
    (arXiv:2503.14476), eq. 8. Liu et al., "Understanding R1-Zero-Like
    Training: A Critical Perspective" (Dr. GRPO), 2025 (arXiv:2503.20783).
    Zheng et al., "Group Sequence Policy Optimization", 2025
    (arXiv:2507.18071), eq. 5-7 and 10-11. MiniMax, "MiniMax-M1" (CISPO),
    2025 (arXiv:2506.13585), section 3.1. Gao et al., "Soft Adaptive
    Policy Optimization", 2025 (arXiv:2511.20347). Zhao et al.,
    "Geometric-Mean Policy Optimization", 2025 (arXiv:2507.20673). Prime
    Intellect, "INTELLECT-2", 2025 (arXiv:2505.07291), section 3.4. VESPO,
    2026 (arXiv:2602.10693); LUSPO, 2026 (arXiv:2602.05261). Yao et al.,
    "Your Efficient RL Framework Secretly Brings You Off-Policy RL
    Training", 2025 (truncated importance sampling). DeepSeek-AI,
    "DeepSeek-V3.2", 2025 (arXiv:2512.02556), eq. 8-9. Wang et al.,
    "Beyond the 80/20 Rule: High-Entropy Minority Tokens Drive Effective
    Reinforcement Learning for LLM Reasoning", 2025 (arXiv:2506.01939).
    The formulas follow TRL's ``GRPOTrainer`` and verl's ``core_algos``
    where the papers leave details open (tests/test_lm_policy.py names the
    versions).
  """
  caller = "policy_gradient"
  validation.check_range(caller, "clip_epsilon", clip_epsilon, low=0.0)
  validation.check_range(
    caller, "clip_epsilon_high", clip_epsilon_high, low=0.0, optional=True
  )
  validation.choice(caller, "objective", objective, OBJECTIVES)
  validation.choice(
    caller, "importance_level", importance_level, IMPORTANCE_LEVELS
  )
  if objective in ("gmpo", "vespo") and importance_level != "token":
    raise ValueError(
      f"{caller}: importance_level must be 'token' with "
      f"objective={objective!r} (it forms its own sequence weight), got "
      f"importance_level={importance_level!r}"
    )
  validation.check_range(
    caller, "clip_ratio_c", clip_ratio_c, low=1.0, low_open=True, optional=True
  )
  validation.check_range(caller, "delta", delta, low=1.0, optional=True)
  for name, value in (
    ("sapo_temperature_pos", sapo_temperature_pos),
    ("sapo_temperature_neg", sapo_temperature_neg),
    ("vespo_lambda_pos", vespo_lambda_pos),
    ("vespo_lambda_neg", vespo_lambda_neg),
  ):
    validation.check_range(caller, name, value, low=0.0, low_open=True)
  validation.check_range(caller, "vespo_k_pos", vespo_k_pos, low=0.0)
  validation.check_range(caller, "vespo_k_neg", vespo_k_neg, low=0.0)
  if sampler_correction is not None:
    validation.choice(
      caller, "sampler_correction", sampler_correction, SAMPLER_CORRECTIONS
    )
  validation.choice(caller, "sampler_level", sampler_level, SAMPLER_LEVELS)
  validation.check_range(
    caller,
    "sampler_threshold",
    sampler_threshold,
    low=0.0,
    low_open=True,
    optional=True,
  )
  validation.check_range(
    caller,
    "sampler_threshold_low",
    sampler_threshold_low,
    low=0.0,
    optional=True,
  )
  if sampler_correction is not None and sampler_logps is None:
    raise ValueError(
      f"{caller}: sampler_logps must be given when sampler_correction is "
      f"set, got sampler_correction={sampler_correction!r} and "
      "sampler_logps=None"
    )
  if (
    objective == "vespo"
    and sampler_correction is not None
    and sampler_level != "token"
  ):
    raise ValueError(
      f"{caller}: sampler_level must be 'token' with objective='vespo', "
      f"got sampler_level={sampler_level!r}"
    )
  validation.check_range(
    caller, "off_policy_threshold", off_policy_threshold, optional=True
  )
  validation.check_range(caller, "kl_coef", kl_coef, low=0.0)
  validation.check_range(caller, "entropy_coef", entropy_coef, low=0.0)
  validation.check_range(
    caller, "top_entropy_quantile", top_entropy_quantile, 0.0, 1.0
  )
  validation.choice(caller, "kl_estimator", kl_estimator, KL_ESTIMATORS)
  validation.flag(caller, "kl_importance_weighted", kl_importance_weighted)
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
  select_entropy = top_entropy_quantile != 1.0
  if select_entropy and entropy is None:
    raise ValueError(
      f"{caller}: entropy must be given when top_entropy_quantile < 1, "
      f"got top_entropy_quantile={top_entropy_quantile!r} and entropy=None"
    )
  arrays = dict(logps=logps, advantages=advantages)
  optional = dict(
    old_logps=old_logps,
    sampler_logps=sampler_logps,
    reference_logps=reference_logps,
    entropy=entropy,
  )
  arrays.update({k: v for k, v in optional.items() if v is not None})
  converted, out_dtype = numerics.floats(caller, **arrays)
  a = dict(zip(arrays, converted))
  lp = a["logps"]
  shapes.check_rank(caller, "logps", lp, 2)
  for name in optional:
    if name in a:
      shapes.check_same_shape(caller, logps=lp, **{name: a[name]})
  mask = numerics.as_array(caller, "where", where)
  mask = validation.binary_mask(caller, "where", mask)
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
  sg = jax.lax.stop_gradient
  # Masked tokens are sanitised before any exponential (finite gradients
  # even when padding holds garbage).
  lp_safe = jnp.where(mask, lp, 0)
  old = a.get("old_logps")
  old = sg(lp_safe) if old is None else jnp.where(mask, old, 0)
  log_ratio = lp_safe - old
  e_lo = clip_epsilon
  e_hi = clip_epsilon if clip_epsilon_high is None else clip_epsilon_high
  lw = importance_log_weight(log_ratio, mask, importance_level)
  ratio = jnp.exp(lw)

  sampler = a.get("sampler_logps")
  sampler = None if sampler is None else jnp.where(mask, sampler, 0)
  weight = None
  rejected = None
  vespo_log_sampler = None
  if sampler_correction is not None:
    assert sampler is not None
    weight, rejected = sampler_weights(
      old - sampler,
      mask,
      sampler_correction,
      sampler_level,
      sampler_threshold,
      sampler_threshold_low,
    )
    if objective == "vespo":
      log_is = jnp.log(jnp.where(mask, weight, 1))
      log_is = jnp.clip(log_is, _VESPO_LOG_LOW, _VESPO_LOG_HIGH)
      vespo_log_sampler = jnp.sum(log_is, axis=-1, keepdims=True)
  options = dict(
    delta=delta,
    clip_ratio_c=clip_ratio_c,
    sapo_temperature_pos=sapo_temperature_pos,
    sapo_temperature_neg=sapo_temperature_neg,
    vespo_k_pos=vespo_k_pos,
    vespo_lambda_pos=vespo_lambda_pos,
    vespo_k_neg=vespo_k_neg,
    vespo_lambda_neg=vespo_lambda_neg,
    vespo_log_sampler=vespo_log_sampler,
  )
  policy, is_clipped, low, high = _objective(
    objective, lw, log_ratio, lp_safe, adv, mask, e_lo, e_hi, options
  )
  if weight is not None and objective != "vespo":
    policy = policy * weight
  keep = mask
  off_keep = None
  if off_policy_threshold is not None:
    behaviour = old if sampler is None else sampler
    off_keep = off_policy_keep(
      adv, lp_safe, behaviour, mask, off_policy_threshold
    )
    keep = keep & off_keep
  ent = a.get("entropy")
  ent_keep = None
  if select_entropy:
    assert ent is not None
    # A quantile of no tokens has no value: say so, not an IndexError.
    empty.require_samples(caller, "logps", mask)
    ent_keep = entropy_keep(ent, mask, top_entropy_quantile)
    keep = keep & ent_keep
  policy = jnp.where(keep, policy, 0)
  per_token = policy
  kl = None
  if reference_logps is not None:
    ref = jnp.where(mask, a["reference_logps"], 0)
    kl = kl_estimate(lp_safe, ref, kl_estimator)
    if kl_importance_weighted:
      kl = kl * (
        jnp.exp(log_ratio) if objective in ("gmpo", "vespo") else ratio
      )
    if kl_coef:
      per_token = per_token + kl_coef * kl
  if ent is not None and entropy_coef:
    bonus_mask = mask if ent_keep is None else ent_keep
    per_token = per_token - entropy_coef * jnp.where(bonus_mask, ent, 0)
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
    v = sg(jnp.where(mask, jnp.broadcast_to(v, mask.shape), 0))
    return numerics.safe_divide(jnp.sum(v), count).astype(out_dtype)

  def fraction(flags):
    return token_mean(flags.astype(dtype))

  def extreme(v, reduce_fn, fill):
    v = sg(jnp.broadcast_to(v, mask.shape))
    value = reduce_fn(jnp.where(mask, v, fill))
    return jnp.where(count > 0, value, 0).astype(out_dtype)

  zero = jnp.zeros((), out_dtype)
  one = jnp.ones((), out_dtype)
  comps = {
    "policy_loss": token_mean(policy),
    "kl": zero if kl is None else token_mean(kl),
    "entropy": zero if ent is None else token_mean(ent),
    "clip_fraction": fraction(is_clipped),
    "clip_fraction_low": fraction(low),
    "clip_fraction_high": fraction(high),
    "ratio_mean": token_mean(ratio),
    "ratio_min": extreme(ratio, jnp.min, jnp.inf),
    "ratio_max": extreme(ratio, jnp.max, -jnp.inf),
    "sampler_weight_mean": one if weight is None else token_mean(weight),
    "sampler_masked_fraction": (
      zero if rejected is None else fraction(rejected)
    ),
    "off_policy_masked_fraction": (
      zero if off_keep is None else fraction(~off_keep)
    ),
    "entropy_kept_fraction": one if ent_keep is None else fraction(ent_keep),
  }
  return out, comps
