"""Specs of ``policy_gradient`` (jaxloss/_src/lm/policy.py), per-token
values against NumPy float64 transcriptions of TRL's and verl's losses
(batch-level normalisation is covered in tests/test_lm_policy.py).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

# ------------------------------------------------------------ policy (issue 24)
#
# The reference below transcribes, in NumPy float64, the per-token loss of
# TRL's GRPOTrainer._compute_loss and the sampler correction of
# GRPOTrainer._generate_and_score_completions (huggingface/trl at commit
# f2cd577, version 1.10.0.dev0: GSPO's sequence level, CISPO, SAPO, the
# two-sided `delta` clip, VESPO's gamma weights, truncated / masked
# sampler importance weights at token and sequence level, the off-policy
# sequence mask, the importance-corrected KL, the entropy-quantile mask),
# and verl's core_algos (volcengine/verl at commit b178a3c, 0.8.0.dev:
# compute_policy_loss_vanilla's dual clip, compute_policy_loss_gspo's
# GSPO-token ratio, compute_policy_loss_geo_mean for GMPO,
# compute_policy_loss_cispo's two-sided clip). ``frozen`` stands for the
# stop-gradient copies of the log-probabilities: the value uses
# ``frozen = lp``; holding ``frozen`` fixed while differencing ``lp`` gives
# the gradient the trainers' autodiff computes.

T_PG = 5


def _rollout(rng, b):
  lp = rng.uniform(-3.0, -0.1, (b, T_PG))
  old = lp + rng.normal(0.0, 0.15, (b, T_PG))
  adv = rng.normal(size=(b,))
  mask = rng.uniform(size=(b, T_PG)) < 0.7
  mask[:, :2] = True
  sampler = old + rng.normal(0.0, 0.2, (b, T_PG))
  ent = rng.uniform(0.1, 3.0, (b, T_PG))
  ref = lp + rng.normal(0.0, 0.2, (b, T_PG))
  return lp, old, adv, mask, sampler, ent, ref


def _rollout_edges():
  b = 3
  lp = np.full((b, T_PG), -30.0)
  lp[1] = -1e-6
  old = np.full((b, T_PG), -1e-6)
  old[1] = -30.0
  adv = np.array([5.0, -5.0, 0.0])
  mask = np.ones((b, T_PG), bool)
  mask[2] = False  # an empty row
  return [(lp, old, adv, mask, old - 3.0, np.zeros((b, T_PG)), lp + 30.0)]


def _seq_mean(v, m):
  return (v * m).sum(-1, keepdims=True) / np.maximum(
    m.sum(-1, keepdims=True), 1
  )


def pg_reference(
  lp,
  old,
  adv,
  mask,
  sampler,
  ent,
  ref,
  *,
  frozen=None,
  clip_epsilon=0.2,
  clip_epsilon_high=None,
  objective="ppo",
  importance_level="token",
  clip_ratio_c=None,
  delta=None,
  sapo_temperature_pos=1.0,
  sapo_temperature_neg=1.05,
  vespo_k_pos=2.0,
  vespo_lambda_pos=3.0,
  vespo_k_neg=3.0,
  vespo_lambda_neg=2.0,
  sampler_correction=None,
  sampler_level="token",
  sampler_threshold=3.0,
  sampler_threshold_low=None,
  off_policy_threshold=None,
  kl_coef=0.0,
  kl_estimator="k3",
  kl_importance_weighted=False,
  entropy_coef=0.0,
  top_entropy_quantile=1.0,
  normalization="none",
  normalizer=None,
):
  sg = lp if frozen is None else frozen
  m = mask.astype(np.float64)
  a = adv[:, None] if adv.ndim == 1 else adv
  e_lo = clip_epsilon
  e_hi = clip_epsilon if clip_epsilon_high is None else clip_epsilon_high
  is_ratio = None
  if sampler_correction is not None:
    diff = (old - sampler) * m
    if sampler_level == "sequence":
      diff = diff.sum(-1, keepdims=True)
    is_ratio = np.exp(diff)
    hi = np.inf if sampler_threshold is None else sampler_threshold
    lo = -np.inf if sampler_threshold_low is None else sampler_threshold_low
    if sampler_correction == "tis":
      is_ratio = np.clip(is_ratio, lo, hi)
    else:
      is_ratio = np.where((is_ratio < lo) | (is_ratio > hi), 0.0, is_ratio)
  entropy_mask = None
  if top_entropy_quantile < 1.0:
    threshold = np.quantile(ent[mask], 1 - top_entropy_quantile)
    entropy_mask = (ent * m >= threshold) & mask
  off_mask = None
  if off_policy_threshold is not None:
    behaviour = old if sampler is None else sampler
    avg = _seq_mean(behaviour - sg, m)
    off_mask = (a >= 0) | (avg <= off_policy_threshold)
  log_ratio = lp - old
  if importance_level == "token":
    log_w = log_ratio
  elif importance_level == "sequence":
    log_w = _seq_mean(log_ratio, m)
  else:  # verl's GSPO-token: sg[log s_i] + log_prob - sg[log_prob]
    log_w = _seq_mean(sg - old, m) + lp - sg
  coef_1 = np.exp(log_w)
  d = ref - lp
  kl = {"k1": -d, "k2": 0.5 * d * d, "k3": np.exp(d) - d - 1}[kl_estimator]
  if kl_importance_weighted:
    kl = kl * (np.exp(log_ratio) if objective in ("gmpo", "vespo") else coef_1)
  if objective == "ppo":
    coef_2 = np.clip(coef_1, 1 - e_lo, 1 + e_hi)
    if delta is not None:
      coef_1 = np.minimum(coef_1, delta)
    per = -np.minimum(coef_1 * a, coef_2 * a)
    if clip_ratio_c is not None:
      per = np.where(a < 0, np.minimum(-a * clip_ratio_c, per), per)
  elif objective == "cispo":
    w = np.clip(
      np.exp(
        _seq_mean(sg - old, m) if importance_level != "token" else sg - old
      ),
      1 - e_lo,
      1 + e_hi,
    )
    per = -w * a * lp
  elif objective == "sapo":
    tau = np.where(a > 0, sapo_temperature_pos, sapo_temperature_neg)
    per = -(1 / (1 + np.exp(-tau * (coef_1 - 1)))) * 4 / tau * a
  elif objective == "gmpo":
    sgn = np.sign(a)
    clamped = np.clip(log_ratio, -e_lo, e_hi)
    kept = sgn * np.minimum(sgn * log_ratio, sgn * clamped)
    ratio = np.exp(_seq_mean(kept, m))
    per = np.broadcast_to(-_seq_mean(a * np.ones_like(lp), m) * ratio, lp.shape)
  else:
    seq = np.sum(np.clip(sg - old, -20.0, 20.0) * m, -1, keepdims=True)
    if is_ratio is not None:
      seq = seq + np.sum(
        np.clip(np.log(np.where(mask, is_ratio, 1.0)), np.log(1e-8), 20.0),
        -1,
        keepdims=True,
      )
    log_w_seq = np.clip(seq, np.log(1e-8), 20.0)
    pos = a >= 0
    k = np.where(pos, vespo_k_pos, vespo_k_neg)
    lam = np.where(pos, vespo_lambda_pos, vespo_lambda_neg)
    phi = np.exp(lam + k * log_w_seq - lam * np.exp(log_w_seq))
    per = -phi * a * lp
  if off_mask is not None:
    per = per * off_mask
  if entropy_mask is not None:
    per = per * entropy_mask
  if is_ratio is not None and objective != "vespo":
    per = per * is_ratio
  per = per + kl_coef * kl
  bonus_mask = mask if entropy_mask is None else entropy_mask
  if entropy_coef:
    per = per - entropy_coef * ent * bonus_mask
  per = per * m
  if normalization == "none":
    return per
  if normalization == "sequence":
    seq_loss = per.sum(-1) / np.maximum(m.sum(-1), 1)
    return seq_loss.sum() / (len(per) if normalizer is None else normalizer)
  if normalizer is not None:
    return per.sum() / normalizer
  if normalization == "token":
    return per.sum() / m.sum()
  return per.sum() / per.size


def policy_gradient(lp, old, adv, mask, sampler, ent, ref, **kwargs):
  """The spec's positional form (per-token values unless told)."""
  kwargs.setdefault("normalization", "none")
  return jaxloss.policy_gradient(
    lp,
    old,
    adv,
    where=mask,
    sampler_logps=sampler,
    entropy=ent,
    reference_logps=ref,
    **kwargs,
  )


PG_SRC = (
  "NumPy float64 transcription of TRL 1.10.0.dev0 (f2cd577) "
  "GRPOTrainer._compute_loss and verl 0.8.0.dev (b178a3c) core_algos"
)


def _pg_spec(name, per_sample=True, grad_check=True, **kwargs):
  return Spec(
    name=name,
    fn=policy_gradient,
    make_inputs=_rollout,
    kwargs=kwargs,
    reference=pg_reference,
    reference_source=PG_SRC,
    edge_inputs=_rollout_edges,
    diff_argnums=(0,),
    per_sample=per_sample,
    value_rank=2,
    # A stop-gradient weight makes autodiff's second derivative differ from
    # the finite difference of its gradient: those specs' gradients are
    # checked against the reference in tests/test_lm_policy.py.
    grad_check=grad_check,
  )


POLICY_SPECS = [
  _pg_spec(
    "pg_gspo_tis",
    importance_level="sequence",
    clip_epsilon=0.05,
    sampler_correction="tis",
    sampler_threshold=1.1,
  ),
  _pg_spec(
    "pg_gspo_token_mis_off_policy",
    grad_check=False,
    importance_level="sequence_token",
    clip_epsilon=0.05,
    sampler_correction="mis",
    sampler_level="sequence",
    sampler_threshold=1.5,
    sampler_threshold_low=0.5,
    off_policy_threshold=0.02,
  ),
  _pg_spec(
    "pg_cispo",
    grad_check=False,
    objective="cispo",
    clip_epsilon=0.1,
    clip_epsilon_high=0.15,
  ),
  _pg_spec(
    "pg_sapo_kl_is",
    objective="sapo",
    kl_coef=0.1,
    kl_importance_weighted=True,
  ),
  _pg_spec("pg_gmpo", objective="gmpo", clip_epsilon=0.1),
  _pg_spec(
    "pg_vespo_tis",
    grad_check=False,
    objective="vespo",
    sampler_correction="tis",
    sampler_threshold=1.2,
  ),
  _pg_spec("pg_dual_clip_delta", clip_ratio_c=1.05, delta=1.1),
  _pg_spec(
    "pg_entropy_quantile",
    per_sample=False,
    top_entropy_quantile=0.4,
    entropy_coef=0.05,
  ),
]
SPECS = POLICY_SPECS
