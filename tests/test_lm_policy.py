"""Tests of ``policy_gradient`` (jaxloss/_src/lm/policy.py).

References:
* NumPy transcriptions of the papers' equations, written here
  independently of the library (each test names the paper and equation).
* ``tests.specs.lm_policy.pg_reference``, a NumPy float64 transcription of
  TRL's ``GRPOTrainer._compute_loss`` (huggingface/trl f2cd577,
  1.10.0.dev0) and verl's ``core_algos`` (volcengine/verl b178a3c,
  0.8.0.dev). Gradients: central differences of that reference in the
  current log-probabilities with its stop-gradient copies held fixed (what
  autodiff of the trainers' code computes).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from tests.specs import lm_policy

# ------------------------------------------------------------ policy


def _rollouts(seed=0, b=4, t=7):
  rng = np.random.default_rng(seed)
  lp = rng.uniform(-3.0, -0.1, (b, t)).astype(np.float32)
  old = (lp + rng.normal(0, 0.3, (b, t))).astype(np.float32)
  ref = (lp + rng.normal(0, 0.3, (b, t))).astype(np.float32)
  adv = rng.normal(size=(b,)).astype(np.float32)
  lengths = np.array([t, 3, 1, 5])[:b]
  mask = np.arange(t)[None, :] < lengths[:, None]
  ent = rng.uniform(0.0, 2.0, (b, t)).astype(np.float32)
  return lp, old, ref, adv, mask, ent


def np_policy(
  lp,
  old,
  ref,
  adv,
  mask,
  ent,
  *,
  eps_lo,
  eps_hi,
  kl_coef,
  estimator,
  ent_coef,
  normalization,
):
  # PPO (Schulman et al. 2017, eq. 7) with DAPO's decoupled clip range
  # (Yu et al. 2025, eq. 8); GRPO's KL term (Shao et al. 2024, eq. 4:
  # pi_ref/pi - log(pi_ref/pi) - 1 is k3; k1, k2 from Schulman 2020).
  lp, old, ref, ent = (a.astype(np.float64) for a in (lp, old, ref, ent))
  a = adv[:, None]
  ratio = np.exp(lp - old)
  per = -np.minimum(ratio * a, np.clip(ratio, 1 - eps_lo, 1 + eps_hi) * a)
  d = ref - lp
  kl = {"k1": -d, "k2": 0.5 * d * d, "k3": np.exp(d) - d - 1}[estimator]
  per = per + kl_coef * kl - ent_coef * ent
  per = np.where(mask, per, 0.0)
  if normalization == "token":  # DAPO, eq. 8
    return per.sum() / mask.sum()
  if normalization == "sequence":  # GRPO, eq. 3
    return np.mean(per.sum(-1) / mask.sum(-1))
  if normalization == "constant":  # Dr. GRPO: sum / (B * T_max)
    return per.sum() / per.size
  return per


@pytest.mark.parametrize(
  "normalization, estimator",
  [("token", "k3"), ("sequence", "k1"), ("constant", "k2"), ("none", "k3")],
)
def test_policy_gradient_matches_numpy(normalization, estimator):
  lp, old, ref, adv, mask, ent = _rollouts()
  opts = dict(
    clip_epsilon=0.2,
    clip_epsilon_high=0.28,
    kl_coef=0.04,
    kl_estimator=estimator,
    entropy_coef=0.01,
    normalization=normalization,
  )
  got = jaxloss.policy_gradient(
    lp, old, adv, where=mask, reference_logps=ref, entropy=ent, **opts
  )
  want = np_policy(
    lp,
    old,
    ref,
    adv,
    mask,
    ent,
    eps_lo=0.2,
    eps_hi=0.28,
    kl_coef=0.04,
    estimator=estimator,
    ent_coef=0.01,
    normalization=normalization,
  )
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_policy_gradient_gradients_and_on_policy(x64):
  lp, old, ref, adv, mask, ent = (
    np.asarray(a, np.float64) if a.dtype.kind == "f" else a
    for a in _rollouts(1)
  )
  f = lambda lp: jaxloss.policy_gradient(
    lp,
    old,
    adv,
    where=mask,
    reference_logps=ref,
    kl_coef=0.1,
    clip_epsilon_high=0.3,
  )
  check_grads(jax.jit(f), (lp,), order=1, modes=["rev"])
  # On-policy (old_logps=None): ratio 1, gradient -A / N per valid token
  # (the REINFORCE gradient, Williams 1992), no clipping.
  g = jax.grad(lambda lp: jaxloss.policy_gradient(lp, None, adv, where=mask))(
    lp
  )
  want = np.where(mask, -adv[:, None] / mask.sum(), 0)
  np.testing.assert_allclose(g, want, rtol=1e-12)


def test_policy_gradient_normalizer_makes_splits_add_up():
  lp, old, ref, adv, mask, _ = _rollouts(2)
  for normalization, den in (
    ("token", mask.sum()),
    ("sequence", 4),
    ("constant", lp.size),
  ):
    full = jaxloss.policy_gradient(
      lp, old, adv, where=mask, normalization=normalization
    )
    halves = sum(
      jaxloss.policy_gradient(
        lp[s],
        old[s],
        adv[s],
        where=mask[s],
        normalization=normalization,
        normalizer=den,
      )
      for s in (slice(0, 2), slice(2, 4))
    )
    np.testing.assert_allclose(halves, full, rtol=1e-5)


def test_policy_gradient_masked_garbage_and_components():
  lp, old, ref, adv, mask, _ = _rollouts(3)
  lp = np.where(mask, lp, 1e4).astype(np.float32)  # garbage in padding
  old = np.where(mask, old, -1e4).astype(np.float32)
  f = jax.jit(
    jax.value_and_grad(
      lambda lp: jaxloss.policy_gradient(
        lp, old, adv, where=mask, reference_logps=ref, kl_coef=0.1
      )
    )
  )
  v, g = f(lp)
  assert np.isfinite(v) and np.all(np.isfinite(g))
  empty = np.zeros_like(mask)
  g = jax.grad(lambda lp: jaxloss.policy_gradient(lp, old, adv, where=empty))(
    lp
  )
  assert np.all(g == 0)
  _, comps = jaxloss.policy_gradient(
    lp, old, adv, where=mask, reference_logps=ref, return_components=True
  )
  ratio = np.exp(np.where(mask, lp - old, 0))
  a = adv[:, None] * np.ones_like(lp)
  clipped = np.clip(ratio, 0.8, 1.2)
  frac = np.sum((ratio * a > clipped * a) & mask) / mask.sum()
  np.testing.assert_allclose(comps["clip_fraction"], frac, rtol=1e-6)


def test_policy_gradient_bf16():
  lp, old, ref, adv, mask, _ = _rollouts(4)
  out = jaxloss.policy_gradient(
    jnp.asarray(lp, jnp.bfloat16),
    jnp.asarray(old, jnp.bfloat16),
    adv,
    where=mask,
  )
  assert out.dtype == jnp.float32  # the advantages' float32 promotes
  out = jaxloss.policy_gradient(
    jnp.asarray(lp, jnp.bfloat16),
    jnp.asarray(old, jnp.bfloat16),
    jnp.asarray(adv, jnp.bfloat16),
    where=mask,
  )
  assert out.dtype == jnp.bfloat16 and np.isfinite(float(out))


PG_SPECS = {s.name: s for s in lm_policy.POLICY_SPECS}


def _pg_data(seed, b=4):
  return lm_policy._rollout(np.random.default_rng(seed), b)


def _numeric_grad(f, x, eps=1e-6):
  g = np.zeros_like(x)
  for idx in np.ndindex(x.shape):
    d = np.zeros_like(x)
    d[idx] = eps
    g[idx] = (f(x + d) - f(x - d)) / (2 * eps)
  return g


NORMALIZATIONS = ["token", "sequence", "constant"]


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("name", sorted(PG_SPECS))
def test_policy_variants_value_and_gradient_match_reference(
  name, normalization, x64
):
  kwargs = dict(PG_SPECS[name].kwargs, normalization=normalization)
  lp, old, adv, mask, sampler, ent, ref = _pg_data(7)
  f = lambda lp: lm_policy.policy_gradient(  # noqa: E731
    lp, old, adv, mask, sampler, ent, ref, **kwargs
  )
  value, grad = jax.value_and_grad(f)(lp)
  want = lm_policy.pg_reference(lp, old, adv, mask, sampler, ent, ref, **kwargs)
  np.testing.assert_allclose(value, want, rtol=1e-10, atol=1e-12)
  numeric = _numeric_grad(
    lambda x: lm_policy.pg_reference(
      x, old, adv, mask, sampler, ent, ref, frozen=lp, **kwargs
    ),
    lp,
  )
  np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_gspo_token_gradient_equals_gspo_with_sequence_advantages(x64):
  # Zheng et al. 2025, eq. 11: with one advantage per sequence, GSPO-token
  # and GSPO have the same gradient.
  lp, old, adv, mask, *_ = _pg_data(3)
  grads = [
    jax.grad(
      lambda lp, level=level: jaxloss.policy_gradient(
        lp, old, adv, where=mask, importance_level=level, clip_epsilon=0.05
      )
    )(lp)
    for level in ("sequence", "sequence_token")
  ]
  np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)
  assert np.any(grads[0] != 0)


def test_luspo_is_gspo_with_constant_normalization_by_b(x64):
  # TRL's loss_type="luspo": (per-sequence loss * |y_i|).mean() over B.
  lp, old, adv, mask, *_ = _pg_data(4)
  m = mask.astype(float)
  log_w = ((lp - old) * m).sum(-1, keepdims=True) / m.sum(-1, keepdims=True)
  coef_1 = np.exp(log_w)
  coef_2 = np.clip(coef_1, 0.8, 1.2)
  per_seq = -np.minimum(coef_1 * adv[:, None], coef_2 * adv[:, None])
  want = (per_seq * m.sum(1, keepdims=True)).mean()
  got = jaxloss.policy_gradient(
    lp,
    old,
    adv,
    where=mask,
    importance_level="sequence",
    normalization="constant",
    normalizer=len(lp),
  )
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_dr_grpo_divisor_is_b_times_max_completion_length(x64):
  # TRL's loss_type="dr_grpo" divides by B * max_completion_length (the
  # configured maximum, not the padded length of this batch).
  lp, old, adv, mask, *_ = _pg_data(5)
  per = lm_policy.pg_reference(lp, old, adv, mask, None, None, lp)
  got = jaxloss.policy_gradient(
    lp, old, adv, where=mask, normalization="constant", normalizer=4 * 256
  )
  np.testing.assert_allclose(got, per.sum() / (4 * 256), rtol=1e-12)


def test_components_match_numpy(x64):
  lp, old, adv, mask, sampler, ent, ref = _pg_data(6)
  _, comps = jaxloss.policy_gradient(
    lp,
    old,
    adv,
    where=mask,
    sampler_logps=sampler,
    sampler_correction="mis",
    sampler_threshold=1.1,
    sampler_threshold_low=0.9,
    off_policy_threshold=0.0,
    entropy=ent,
    top_entropy_quantile=0.5,
    reference_logps=ref,
    return_components=True,
  )
  assert set(comps) == set(jaxloss._src.lm.policy.COMPONENTS)
  n = mask.sum()
  ratio = np.exp(lp - old)[mask]
  np.testing.assert_allclose(comps["ratio_mean"], ratio.mean(), rtol=1e-12)
  np.testing.assert_allclose(comps["ratio_min"], ratio.min(), rtol=1e-12)
  np.testing.assert_allclose(comps["ratio_max"], ratio.max(), rtol=1e-12)
  w = np.exp(old - sampler)
  bad = ((w > 1.1) | (w < 0.9)) & mask
  np.testing.assert_allclose(comps["sampler_masked_fraction"], bad.sum() / n)
  np.testing.assert_allclose(
    comps["sampler_weight_mean"], np.where(bad | ~mask, 0, w).sum() / n
  )
  a = np.broadcast_to(adv[:, None], lp.shape)
  low = (np.exp(lp - old) < 0.8) & (a < 0) & mask
  high = (np.exp(lp - old) > 1.2) & (a > 0) & mask
  np.testing.assert_allclose(comps["clip_fraction_low"], low.sum() / n)
  np.testing.assert_allclose(comps["clip_fraction_high"], high.sum() / n)
  gap = ((sampler - lp) * mask).sum(-1) / mask.sum(-1)
  dropped = (adv < 0) & (gap > 0.0)
  np.testing.assert_allclose(
    comps["off_policy_masked_fraction"],
    (dropped[:, None] & mask).sum() / n,
  )
  kept = (ent >= np.quantile(ent[mask], 0.5)) & mask
  np.testing.assert_allclose(comps["entropy_kept_fraction"], kept.sum() / n)
  np.testing.assert_allclose(comps["entropy"], ent[mask].mean(), rtol=1e-12)
  # Without the options, the dict keeps its keys (one logging shape).
  _, plain = jaxloss.policy_gradient(
    lp, old, adv, where=mask, return_components=True
  )
  assert set(plain) == set(comps)
  assert plain["sampler_weight_mean"] == 1 and plain["kl"] == 0


def test_components_of_each_objective_are_finite_under_jit():
  lp, old, adv, mask, sampler, ent, ref = _pg_data(8)
  for spec in lm_policy.POLICY_SPECS:
    f = jax.jit(
      lambda *a, kw=spec.kwargs: lm_policy.policy_gradient(
        *a, normalization="token", return_components=True, **kw
      )
    )
    value, comps = f(lp, old, adv, mask, sampler, ent, ref)
    assert np.isfinite(value), spec.name
    assert all(np.isfinite(v) for v in comps.values()), spec.name


def test_cispo_keeps_the_gradient_of_clipped_tokens(x64):
  # PPO's clip zeroes the gradient of a token whose ratio left the range;
  # CISPO keeps it, scaled by the clipped weight (MiniMax-M1, eq. 4-5).
  lp = np.array([[-1.0, -1.0]])
  old = lp - np.array([[0.5, 0.0]])  # ratio e^0.5 > 1.2, and 1
  adv = np.array([1.0])
  mask = np.ones_like(lp, bool)
  g_ppo = jax.grad(lambda x: jaxloss.policy_gradient(x, old, adv, where=mask))
  g_cispo = jax.grad(
    lambda x: jaxloss.policy_gradient(
      x, old, adv, where=mask, objective="cispo"
    )
  )
  np.testing.assert_allclose(g_ppo(lp), [[0.0, -0.5]])
  np.testing.assert_allclose(g_cispo(lp), [[-1.2 / 2, -1.0 / 2]])


def test_sapo_gate_is_one_at_ratio_one(x64):
  # SAPO's gate (4 / tau) sigmoid(tau (r - 1)) has derivative 1 at r = 1,
  # so on-policy it gives the plain policy gradient whatever tau.
  lp, _, adv, mask, *_ = _pg_data(9)
  for tau in (0.5, 3.0):
    g = jax.grad(
      lambda x, tau=tau: jaxloss.policy_gradient(
        x,
        None,
        adv,
        where=mask,
        objective="sapo",
        sapo_temperature_pos=tau,
        sapo_temperature_neg=tau,
      )
    )(lp)
    np.testing.assert_allclose(
      g, np.where(mask, -adv[:, None] / mask.sum(), 0), rtol=1e-12
    )


BAD_PG = [
  (dict(objective="grpo"), "objective"),
  (dict(importance_level="seq"), "importance_level"),
  (dict(objective="gmpo", importance_level="sequence"), "importance_level"),
  (dict(clip_ratio_c=1.0), "clip_ratio_c"),
  (dict(delta=0.5), "delta"),
  (dict(sapo_temperature_neg=0.0), "sapo_temperature_neg"),
  (dict(vespo_lambda_pos=-1.0), "vespo_lambda_pos"),
  (dict(sampler_correction="tis"), "sampler_logps"),
  (dict(sampler_correction="is", sampler_logps=np.zeros((2, 3))), "sampler"),
  (dict(sampler_level="batch"), "sampler_level"),
  (dict(sampler_threshold=0.0), "sampler_threshold"),
  (dict(top_entropy_quantile=0.5), "entropy"),
  (dict(top_entropy_quantile=1.5, entropy=np.ones((2, 3))), "quantile"),
  (dict(kl_importance_weighted=1), "kl_importance_weighted"),
  (dict(sampler_logps=np.zeros((2, 4))), "sampler_logps"),
]


@pytest.mark.parametrize("kwargs, name", BAD_PG)
def test_policy_gradient_bad_options_name_the_argument(kwargs, name):
  with pytest.raises(
    (ValueError, TypeError), match=f"policy_gradient: .*{name}"
  ):
    jaxloss.policy_gradient(
      np.zeros((2, 3)),
      None,
      np.zeros(2),
      where=np.ones((2, 3), bool),
      **kwargs,
    )


def _policy_inputs():
  rng = np.random.default_rng(1)
  lp = jnp.asarray(rng.normal(size=(3, 4)) - 2.0, jnp.float32)
  old = lp + jnp.asarray(rng.normal(size=(3, 4)) * 0.1, jnp.float32)
  adv = jnp.asarray([1.0, -0.5, 2.0])
  mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
  return lp, old, adv, mask


@pytest.mark.parametrize("normalization", ["token", "sequence", "constant"])
@pytest.mark.parametrize("mask_dtype", [jnp.float32, jnp.bfloat16, jnp.int32])
def test_policy_gradient_accepts_numeric_01_masks(normalization, mask_dtype):
  lp, old, adv, mask = _policy_inputs()
  f = lambda lp, m: jaxloss.policy_gradient(
    lp, old, adv, where=m, normalization=normalization
  )
  want, want_grad = jax.value_and_grad(f)(lp, jnp.asarray(mask))
  got, got_grad = jax.value_and_grad(f)(lp, jnp.asarray(mask, mask_dtype))
  np.testing.assert_allclose(got, want, rtol=1e-6)
  np.testing.assert_allclose(got_grad, want_grad, rtol=1e-6)
  # The mask matters (the check can fail): everything counted differs.
  assert not np.isclose(f(lp, jnp.ones((3, 4))), want)


def test_policy_gradient_rejects_non_numeric_masks():
  lp, old, adv, mask = _policy_inputs()
  with pytest.raises(TypeError, match="where must be a boolean or 0/1 numeric"):
    jaxloss.policy_gradient(lp, old, adv, where=mask.astype(np.complex64))


def test_policy_gradient_docstring_names_public_functions_only():
  import re

  doc = jaxloss.policy_gradient.__doc__
  for name in re.findall(r":func:`([^`]+)`", doc):
    assert name.startswith("jaxloss."), name
    assert hasattr(jaxloss, name.removeprefix("jaxloss.")), name


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda: jaxloss.policy_gradient(
        np.zeros((2, 3)), None, np.zeros(3), where=np.ones((2, 3), bool)
      ),
      ValueError,
      "policy_gradient: advantages must have shape",
    ),
    (
      # 0/1 numeric masks are accepted; a complex one is not a mask.
      lambda: jaxloss.policy_gradient(
        np.zeros((2, 3)), None, np.zeros(2), where=np.ones((2, 3), complex)
      ),
      TypeError,
      "policy_gradient: where must be a boolean or 0/1 numeric mask",
    ),
    (
      lambda: jaxloss.policy_gradient(
        np.zeros((2, 3)),
        None,
        np.zeros(2),
        where=np.ones((2, 3), bool),
        kl_coef=0.1,
      ),
      ValueError,
      "policy_gradient: reference_logps must be given",
    ),
    (
      lambda: jaxloss.policy_gradient(
        np.zeros((2, 3)),
        None,
        np.zeros(2),
        where=np.ones((2, 3), bool),
        normalization="batch",
      ),
      ValueError,
      "policy_gradient: normalization must be one of",
    ),
    (
      lambda: jaxloss.policy_gradient(
        np.zeros((2, 3)),
        None,
        np.zeros(2),
        where=np.ones((2, 3), bool),
        normalization="none",
        normalizer=4.0,
      ),
      ValueError,
      "policy_gradient: normalizer does not apply",
    ),
  ],
)
def test_errors(call, error, match):
  with pytest.raises(error, match=match):
    call()
