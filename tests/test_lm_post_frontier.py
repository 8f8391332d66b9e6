"""Tests of the post-training variants of issue 24: the policy-gradient
objectives and sampler corrections, and the distillation supports.

References:
* Policy gradient: ``tests.specs.lm_post.pg_reference``, a NumPy float64
  transcription of TRL's ``GRPOTrainer._compute_loss`` (huggingface/trl
  f2cd577, 1.10.0.dev0) and verl's ``core_algos`` (volcengine/verl b178a3c,
  0.8.0.dev). Gradients: central differences of that reference in the
  current log-probabilities with its stop-gradient copies held fixed (what
  autodiff of the trainers' code computes).
* Distillation: ``tests.specs.lm_post.sparse_distillation_reference``, a
  NumPy float64 transcription of TRL's ``IWOPDTrainer.generalized_jsd_loss``
  (top-k supports, tail bucket; same TRL commit) and of TRL's
  ``GKDTrainer.generalized_jsd_loss`` for ``beta`` at 0 and 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.specs import lm_post as specs

PG_SPECS = {s.name: s for s in specs.POLICY_SPECS}


def _pg_data(seed, b=4):
  return specs._rollout(np.random.default_rng(seed), b)


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
  f = lambda lp: specs.policy_gradient(  # noqa: E731
    lp, old, adv, mask, sampler, ent, ref, **kwargs
  )
  value, grad = jax.value_and_grad(f)(lp)
  want = specs.pg_reference(lp, old, adv, mask, sampler, ent, ref, **kwargs)
  np.testing.assert_allclose(value, want, rtol=1e-10, atol=1e-12)
  numeric = _numeric_grad(
    lambda x: specs.pg_reference(
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
  per = specs.pg_reference(lp, old, adv, mask, None, None, lp)
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
  for spec in specs.POLICY_SPECS:
    f = jax.jit(
      lambda *a, kw=spec.kwargs: specs.policy_gradient(
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


# ------------------------------------------------------------ distillation

D, V = 6, 11


def _heads(seed=0, vt=V):
  rng = np.random.default_rng(seed)
  xs = rng.normal(size=(2, 4, D))
  ws = rng.normal(size=(D, V))
  xt = rng.normal(size=(2, 4, D + 1))
  wt = rng.normal(size=(D + 1, vt))
  y = rng.integers(0, V, size=(2, 4))
  y[0, 1] = -100
  return xs, ws, xt, wt, y


def _naive_distill(xs, ws, xt, wt, y, **kw):
  values = jaxloss.distillation(
    jnp.einsum("...d,dv->...v", xs, ws),
    jnp.einsum("...d,dv->...v", xt, wt),
    where=y != -100,
    **kw,
  )
  return jnp.sum(values) / jnp.sum(y != -100)


@pytest.mark.parametrize(
  "kw",
  [
    dict(divergence="jsd", beta=0.0),
    dict(divergence="jsd", beta=1.0, temperature=1.7),
    dict(divergence="jsd", beta=0.3),
    dict(divergence="tv"),
  ],
)
@pytest.mark.parametrize("vt", [V, V + 5])
def test_linear_distillation_endpoints_and_padded_teacher_match_naive(
  kw, vt, x64
):
  xs, ws, xt, wt, y = _heads(1, vt)
  fused = lambda xs, ws: jaxloss.linear_distillation(  # noqa: E731
    xs, ws, xt, wt, y, chunk_size=4, **kw
  )
  naive = lambda xs, ws: _naive_distill(xs, ws, xt, wt, y, **kw)  # noqa: E731
  v1, g1 = jax.value_and_grad(fused, argnums=(0, 1))(xs, ws)
  v2, g2 = jax.value_and_grad(naive, argnums=(0, 1))(xs, ws)
  np.testing.assert_allclose(v1, v2, rtol=1e-10)
  for a, b in zip(g1, g2, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_jsd_endpoints_are_trl_kl_forms(x64):
  # TRL GKDTrainer.generalized_jsd_loss: beta=0 is F.kl_div(student,
  # teacher, log_target=True) = KL(teacher || student); beta=1 the reverse.
  rng = np.random.default_rng(2)
  s, t = rng.normal(size=(3, V)), rng.normal(size=(3, V))
  lq, lp = specs._log_softmax(s), specs._log_softmax(t)
  fwd = np.sum(np.exp(lp) * (lp - lq), -1)
  rev = np.sum(np.exp(lq) * (lq - lp), -1)
  for beta, want in ((0.0, fwd), (1.0, rev)):
    got = jaxloss.distillation(s, t, divergence="jsd", beta=beta)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # A traced beta selects the same endpoint.
    traced = jax.jit(
      lambda b: jaxloss.distillation(s, t, divergence="jsd", beta=b)
    )(beta)
    np.testing.assert_allclose(traced, want, rtol=1e-12)
  mid = jax.jit(lambda b: jaxloss.distillation(s, t, divergence="jsd", beta=b))
  np.testing.assert_allclose(
    mid(0.3), jaxloss.distillation(s, t, divergence="jsd", beta=0.3)
  )


@pytest.mark.parametrize(
  "kw",
  [
    dict(divergence="forward_kl", top_k=3),
    dict(divergence="reverse_kl", top_k=1),
    dict(divergence="jsd", beta=0.5, top_k=2),
    dict(divergence="tv", top_k=2),
  ],
)
def test_tail_bucket_is_a_lower_bound_and_top_v_is_exact(kw, x64):
  # Merging the classes outside S into one never increases an f-divergence
  # (data-processing inequality); a support of the whole vocabulary is the
  # full divergence.
  rng = np.random.default_rng(3)
  s, t = rng.normal(size=(20, V)) * 2, rng.normal(size=(20, V)) * 2
  full = jaxloss.distillation(s, t, **dict(kw, top_k=None))
  sparse = jaxloss.distillation(s, t, **kw)
  assert np.all(sparse <= full + 1e-12) and np.all(sparse > 0)
  np.testing.assert_allclose(
    jaxloss.distillation(s, t, **dict(kw, top_k=V)), full, rtol=1e-12
  )


def test_linear_topk_tail_matches_unfused(x64):
  rng = np.random.default_rng(4)
  x = rng.normal(size=(2, 3, D))
  w = rng.normal(size=(D, V))
  ids = np.stack([rng.permutation(V)[:4] for _ in range(6)]).reshape(2, 3, 4)
  top = np.take_along_axis(
    specs._log_softmax(rng.normal(size=(2, 3, V)) * 2), ids, -1
  )
  kw = dict(temperature=1.3, renormalize=False, tail=True)
  fused = lambda x, w: jnp.sum(  # noqa: E731
    jaxloss.linear_topk_distillation(x, w, top, ids, chunk_size=4, **kw)
  )
  naive = lambda x, w: jnp.sum(  # noqa: E731
    jaxloss.topk_distillation(jnp.einsum("...d,dv->...v", x, w), top, ids, **kw)
  )
  v1, g1 = jax.value_and_grad(fused, argnums=(0, 1))(x, w)
  v2, g2 = jax.value_and_grad(naive, argnums=(0, 1))(x, w)
  np.testing.assert_allclose(v1, v2, rtol=1e-10)
  for a, b in zip(g1, g2, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
  want = specs.topk_tail_reference(
    np.einsum("...d,dv->...v", x, w), top, ids, temperature=1.3
  )
  np.testing.assert_allclose(v1, want.sum(), rtol=1e-10)


BAD_DISTILL = [
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), beta=-0.1),
    "distillation: beta",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), top_k=0),
    "distillation: top_k",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), tail=1),
    "distillation: tail",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((3, 3))),
    "distillation: teacher_logits must have the leading shape",
  ),
  (
    lambda: jaxloss.topk_distillation(
      np.zeros((2, 5)), np.zeros((2, 2)), np.zeros((2, 2), int), tail=True
    ),
    "topk_distillation: tail=True .* renormalize must be False",
  ),
]


@pytest.mark.parametrize("call, match", BAD_DISTILL)
def test_distillation_bad_options(call, match):
  with pytest.raises((ValueError, TypeError), match=match):
    call()
