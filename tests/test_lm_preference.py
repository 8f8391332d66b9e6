"""Tests of the preference variants of issue 24 (DPO loss types, mixtures,
RPO, WPO, LD-DPO, f-divergences; CPO's AlphaPO; KTO's APO-zero).

References: the NumPy float64 transcription of TRL's trainers in
``tests/specs/lm_preference.py`` (``trl_dpo_reference``, ``trl_cpo_reference``,
``trl_wpo_reference``; TRL 1.16.0), and here
transcriptions of TRL's LD-DPO masks and KTO's APO-zero branch. Gradients
are checked against central differences of those float64 references, so
they do not depend on the library's own derivative.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.specs import lm_preference

B = 5
VARIANTS = {s.name: s for s in lm_preference.PREFERENCE_VARIANTS}
GRAD_VARIANTS = [n for n in VARIANTS if n != "wpo_logps"]


def _args(spec, seed):
  rng = np.random.default_rng(seed)
  return tuple(np.asarray(a) for a in spec.make_inputs(rng, B))


def _numeric_grad(f, args, argnum, h=1e-6):
  """Central differences of the summed float64 reference, entry by entry."""
  x = np.asarray(args[argnum], np.float64)
  grad = np.zeros_like(x)
  for i in np.ndindex(x.shape):
    plus, minus = x.copy(), x.copy()
    plus[i] += h
    minus[i] -= h
    a_plus, a_minus = list(args), list(args)
    a_plus[argnum], a_minus[argnum] = plus, minus
    grad[i] = (np.sum(f(*a_plus)) - np.sum(f(*a_minus))) / (2 * h)
  return grad


@pytest.mark.parametrize("name", GRAD_VARIANTS)
def test_gradients_match_reference_differences(name, x64):
  spec = VARIANTS[name]
  args = _args(spec, seed=7)
  ref = lambda *a: spec.reference(*a, **spec.kwargs)  # noqa: E731
  grads = jax.grad(
    lambda *d: jnp.sum(
      spec.fn(*d, *args[len(spec.diff_argnums) :], **spec.kwargs)
    ),
    argnums=spec.diff_argnums,
  )(*args[: len(spec.diff_argnums)])
  for argnum, g in zip(spec.diff_argnums, grads):
    np.testing.assert_allclose(
      g,
      _numeric_grad(ref, args, argnum),
      rtol=1e-6,
      atol=1e-8,
      err_msg=f"{name}: d/d input {argnum} vs {spec.reference_source}",
    )


def test_dpo_sigmoid_gradient_matches_closed_form(x64):
  # Rafailov et al. 2023, section 4: d loss / d pi_c = -beta sigmoid(-beta h).
  # The same check through the mixture and f-divergence machinery.
  pc, pr, rc, rr = _args(VARIANTS["dpo_nca_pair"], 3)
  g = jax.grad(lambda c: jnp.sum(jaxloss.dpo(c, pr, rc, rr, beta=0.4)))(pc)
  h = (pc - rc) - (pr - rr)
  np.testing.assert_allclose(g, -0.4 / (1 + np.exp(0.4 * h)), rtol=1e-12)


def test_mixture_is_the_weighted_sum_and_rpo_is_sigmoid_plus_sft(x64):
  pc, pr, rc, rr, nll = _args(VARIANTS["dpo_mpo"], 4)
  kw = dict(beta=0.2, chosen_nll=nll, bco_reward_mean=0.1)
  one = {
    t: jaxloss.dpo(pc, pr, rc, rr, loss_type=t, **kw)
    for t in ("sigmoid", "bco_pair", "sft")
  }
  mixed = jaxloss.dpo(
    pc,
    pr,
    rc,
    rr,
    loss_type=["sigmoid", "bco_pair", "sft"],
    loss_weights=[0.8, 0.2, 1.0],
    **kw,
  )
  np.testing.assert_allclose(
    mixed,
    0.8 * one["sigmoid"] + 0.2 * one["bco_pair"] + one["sft"],
    rtol=1e-12,
  )
  np.testing.assert_allclose(one["sft"], nll, rtol=0)
  rpo = jaxloss.dpo(pc, pr, rc, rr, rpo_alpha=0.7, **kw)
  np.testing.assert_allclose(
    rpo,
    jaxloss.dpo(
      pc, pr, rc, rr, loss_type=("sigmoid", "sft"), loss_weights=(1, 0.7), **kw
    ),
    rtol=1e-12,
  )
  # Without chosen_nll, the NLL is the sequence's -pi_c (like cpo).
  np.testing.assert_allclose(
    jaxloss.dpo(pc, pr, rc, rr, loss_type="sft"), -pc, rtol=0
  )


def test_bco_reward_mean_component_feeds_a_running_mean(x64):
  pc, pr, rc, rr = _args(VARIANTS["dpo_bco_pair"], 5)
  _, comps = jaxloss.dpo(
    pc, pr, rc, rr, beta=0.3, loss_type="bco_pair", return_components=True
  )
  # TRL <= 0.28: rewards = cat(beta lc, beta lr).mean(), fed to RunningMoments.
  want = np.concatenate([0.3 * (pc - rc), 0.3 * (pr - rr)]).mean()
  np.testing.assert_allclose(comps["reward_mean"], want, rtol=1e-12)
  # The mean carries no gradient into the loss.
  g = jax.grad(
    lambda m: jnp.sum(
      jaxloss.dpo(pc, pr, rc, rr, loss_type="bco_pair", bco_reward_mean=m)
    )
  )(0.5)
  assert g == 0.0


def test_wpo_weights_carry_no_gradient(x64):
  pc, pr, rc, rr, wc, wr = _args(VARIANTS["dpo_wpo"], 6)

  def total(c, a, b):
    return jnp.sum(
      jaxloss.dpo(c, pr, rc, rr, wpo_chosen_logps=a, wpo_rejected_logps=b)
    )

  g_c, g_a, g_b = jax.grad(total, (0, 1, 2))(pc, wc, wr)
  np.testing.assert_array_equal(g_a, 0.0)
  np.testing.assert_array_equal(g_b, 0.0)
  plain = jax.grad(lambda c: jnp.sum(jaxloss.dpo(c, pr, rc, rr)))(pc)
  np.testing.assert_allclose(g_c, plain * np.exp(wc + wr), rtol=1e-12)
  _, comps = jaxloss.dpo(
    pc,
    pr,
    rc,
    rr,
    wpo_chosen_logps=wc,
    wpo_rejected_logps=wr,
    return_components=True,
  )
  np.testing.assert_allclose(comps["weights"], np.exp(wc + wr), rtol=1e-12)


def test_wpo_logps_gradient_is_stopped():
  lp, logits, where = lm_preference._wpo_inputs(np.random.default_rng(0), 2)
  g = jax.grad(
    lambda a, s: jnp.sum(jaxloss.wpo_logps(a, s, where=where)), (0, 1)
  )(lp.astype(np.float32), logits.astype(np.float32))
  assert not np.any(g[0]) and not np.any(g[1])


def test_f_divergence_alpha_one_is_reverse_kl_and_scores_are_capped(x64):
  pc, pr, rc, rr = _args(VARIANTS["dpo_forward_kl"], 8)
  np.testing.assert_allclose(
    jaxloss.dpo(
      pc,
      pr,
      rc,
      rr,
      f_divergence="alpha_divergence",
      f_alpha_divergence_coef=1.0,
    ),
    jaxloss.dpo(pc, pr, rc, rr),
    rtol=0,
  )
  # A log-ratio of -1e4 under forward KL: exp(1e4) overflows; the score is
  # capped at -exp(80), so value and gradient stay finite.
  big = jnp.array([-1e4, 0.0])
  v, g = jax.value_and_grad(
    lambda c: jnp.sum(
      jaxloss.dpo(c, big[::-1], big * 0, big * 0, f_divergence="forward_kl")
    )
  )(big)
  assert np.isfinite(v) and np.all(np.isfinite(g))


# ------------------------------------------------------------ LD-DPO


def _ld_data(seed=0):
  rng = np.random.default_rng(seed)
  c = rng.uniform(-3, -0.1, (B, 6))
  r = rng.uniform(-3, -0.1, (B, 4))
  mc = rng.random((B, 6)) < 0.7  # holes: prompt / padding inside the row
  mr = rng.random((B, 4)) < 0.7
  mr[0] = False  # an empty rejected response
  return c, r, mc, mr


@pytest.mark.parametrize("ld_alpha", [0.0, 0.4, 1.0])
def test_length_desensitized_logps_match_trl(ld_alpha, x64):
  c, r, mc, mr = _ld_data()
  shared = np.minimum(mc.sum(-1), mr.sum(-1))
  got_c, got_r = jaxloss.length_desensitized_logps(
    c, r, chosen_where=mc, rejected_where=mr, ld_alpha=ld_alpha
  )
  np.testing.assert_allclose(
    got_c, lm_preference.trl_ld_reference(c, mc, shared, ld_alpha), rtol=1e-12
  )
  np.testing.assert_allclose(
    got_r, lm_preference.trl_ld_reference(r, mr, shared, ld_alpha), rtol=1e-12
  )
  if ld_alpha == 1.0:
    np.testing.assert_allclose(got_c, np.where(mc, c, 0).sum(-1), rtol=1e-12)
  # d logps / d token = 1 on the shared part, ld_alpha on the tail, 0 masked.
  g = jax.grad(
    lambda x: jnp.sum(
      jaxloss.length_desensitized_logps(
        x, r, chosen_where=mc, rejected_where=mr, ld_alpha=ld_alpha
      )[0]
    )
  )(c)
  pos = np.cumsum(mc, -1)
  want = np.where(mc, np.where(pos <= shared[:, None], 1.0, ld_alpha), 0.0)
  np.testing.assert_allclose(g, want, rtol=0)


# ------------------------------------------------------------ KTO, CPO


def test_kto_apo_zero_unpaired_matches_trl(x64):
  rng = np.random.default_rng(9)
  p, ref = rng.uniform(-20, -5, (2, 6))
  d = np.array([True, False, True, True, False, False])
  got = jaxloss.kto(
    p,
    ref,
    d,
    beta=0.2,
    desirable_weight=1.5,
    undesirable_weight=0.5,
    loss_type="apo_zero_unpaired",
  )
  # TRL 1.16.0 kto_trainer.py, apo_zero_unpaired: chosen 1 - sigmoid(beta
  # r), rejected sigmoid(beta r), times the class weights; no KL term.
  sig = 1 / (1 + np.exp(-0.2 * (p - ref)))
  np.testing.assert_allclose(
    got, np.where(d, 1.5 * (1 - sig), 0.5 * sig), rtol=1e-12
  )
  g = jax.grad(
    lambda x: jnp.sum(
      jaxloss.kto(x, ref, d, beta=0.2, loss_type="apo_zero_unpaired")
    )
  )(p)
  np.testing.assert_allclose(
    g, np.where(d, -0.2, 0.2) * sig * (1 - sig), rtol=1e-12
  )


def test_cpo_alpha_is_a_deprecated_alias_of_cpo_alpha():
  with pytest.warns(DeprecationWarning, match="cpo: alpha is deprecated"):
    old = jaxloss.cpo([-2.0], [-4.0], beta=0.5, alpha=0.3)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    new = jaxloss.cpo([-2.0], [-4.0], beta=0.5, cpo_alpha=0.3)
  np.testing.assert_array_equal(old, new)
  with pytest.raises(TypeError, match="cpo: alpha is a deprecated alias"):
    jaxloss.cpo([-2.0], [-4.0], alpha=0.3, cpo_alpha=0.3)


def test_cpo_alphapo_at_zero_is_cpo_and_simpo(x64):
  c, r = lm_preference._two_avg(np.random.default_rng(1), B)
  np.testing.assert_allclose(
    jaxloss.cpo(c, r, beta=2.0, cpo_alpha=0.0, gamma=0.5),
    jaxloss.simpo(c, r, beta=2.0, gamma=0.5),
    rtol=1e-12,
  )
  # A tiny alpha approaches the log-probability reward (AlphaPO's limit).
  np.testing.assert_allclose(
    jaxloss.cpo(c, r, alphapo_alpha=1e-7),
    jaxloss.cpo(c, r),
    rtol=1e-6,
  )


# ------------------------------------------------------------ errors

P4 = ([-1.0, -2.0], [-2.0, -1.0], [-1.5, -1.5], [-1.5, -1.5])


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda *a: jaxloss.dpo(*a, loss_type=("sigmoid", "nope")),
      ValueError,
      "dpo: loss_type must be one of",
    ),
    (
      lambda *a: jaxloss.dpo(*a, loss_type=()),
      ValueError,
      "dpo: loss_type must be one of .* or a non-empty sequence",
    ),
    (
      lambda *a: jaxloss.dpo(
        *a, loss_type=("sigmoid", "sft"), loss_weights=(1.0,)
      ),
      ValueError,
      "dpo: loss_weights must be a sequence of 2 numbers",
    ),
    (
      lambda *a: jaxloss.dpo(*a, loss_weights=(float("nan"),)),
      ValueError,
      r"dpo: loss_weights\[0\] must be a number",
    ),
    (
      lambda *a: jaxloss.dpo(*a, loss_type="exo_pair"),
      ValueError,
      "dpo: label_smoothing must be > 0 for loss_type 'exo_pair'",
    ),
    (
      lambda *a: jaxloss.dpo(*a, loss_type="sigmoid_norm"),
      ValueError,
      "dpo: loss_type 'sigmoid_norm' needs chosen_lengths",
    ),
    (
      lambda *a: jaxloss.dpo(*a, chosen_lengths=[1, 2]),
      ValueError,
      "dpo: chosen_lengths and rejected_lengths must be given together",
    ),
    (
      lambda *a: jaxloss.dpo(
        *a, loss_type="ipo", chosen_lengths=[1, 2], rejected_lengths=[1]
      ),
      ValueError,
      "dpo: policy_chosen_logps and rejected_lengths",
    ),
    (
      lambda *a: jaxloss.dpo(*a, wpo_chosen_logps=[0.0, 0.0]),
      ValueError,
      "dpo: wpo_chosen_logps and wpo_rejected_logps must be given together",
    ),
    (
      lambda *a: jaxloss.dpo(
        *a,
        loss_type="aot",
        wpo_chosen_logps=[0.0, 0.0],
        wpo_rejected_logps=[0.0, 0.0],
      ),
      ValueError,
      "dpo: WPO weights .* cannot be combined with loss_type 'aot'",
    ),
    (
      lambda *a: jaxloss.dpo(*a, f_divergence="kl"),
      ValueError,
      "dpo: f_divergence must be one of",
    ),
    (
      lambda *a: jaxloss.dpo(*a, f_alpha_divergence_coef=jnp.array(0.5)),
      TypeError,
      "dpo: f_alpha_divergence_coef must be a Python number",
    ),
    (
      lambda *a: jaxloss.dpo(*a, discopop_tau=0.0),
      ValueError,
      "dpo: discopop_tau must be",
    ),
    (
      lambda *a: jaxloss.dpo(*a, rpo_alpha=-1.0),
      ValueError,
      "dpo: rpo_alpha must be",
    ),
    (
      lambda *a: jaxloss.dpo(*a, loss_type="bco_pair", bco_reward_mean=[0, 1]),
      ValueError,
      "dpo: bco_reward_mean must be a scalar",
    ),
    (
      lambda *a: jaxloss.dpo(*(x[0] for x in a), loss_type="aot"),
      ValueError,
      "dpo: loss_type 'aot' sorts over the leading",
    ),
    (
      lambda *a: jaxloss.cpo(a[0], a[1], alphapo_alpha=float("nan")),
      ValueError,
      "cpo: alphapo_alpha must be a number",
    ),
    (
      lambda *a: jaxloss.cpo(a[0], a[1], gamma=-0.1),
      ValueError,
      "cpo: gamma must be",
    ),
    (
      lambda *a: jaxloss.kto(a[0], a[1], a[0] < a[1], loss_type="apo"),
      ValueError,
      "kto: loss_type must be one of",
    ),
    (
      lambda *a: jaxloss.kto(
        a[0], a[1], a[0] < a[1], kl=0.1, loss_type="apo_zero_unpaired"
      ),
      ValueError,
      "kto: loss_type 'apo_zero_unpaired' has no reference point; kl",
    ),
    (
      lambda *a: jaxloss.length_desensitized_logps(
        a[0], a[1], chosen_where=[True, True], rejected_where=[True], ld_alpha=0
      ),
      ValueError,
      "length_desensitized_logps: rejected_token_logps and rejected_where",
    ),
    (
      lambda *a: jaxloss.length_desensitized_logps(
        a[0],
        a[1],
        chosen_where=[True] * 2,
        rejected_where=[True] * 2,
        ld_alpha=1.5,
      ),
      ValueError,
      "length_desensitized_logps: ld_alpha must be in",
    ),
    (
      lambda *a: jaxloss.length_desensitized_logps(
        jnp.stack(a[:2]),
        a[2],
        chosen_where=[[True] * 2] * 2,
        rejected_where=[True] * 2,
        ld_alpha=0.5,
      ),
      ValueError,
      "length_desensitized_logps: chosen_token_logps and rejected_token_logps"
      " must have the same leading shape",
    ),
    (
      lambda *a: jaxloss.wpo_logps(
        [a[0]], [[[0.0, 1.0]]], where=[[True, True]]
      ),
      ValueError,
      "wpo_logps: logits must have shape token_logps.shape",
    ),
  ],
)
def test_bad_options_rejected_at_trace_time(call, error, match):
  args = tuple(jnp.asarray(x) for x in P4)
  with pytest.raises(error, match=match):
    call(*args)
  # The same check fires while tracing, before any value exists.
  with pytest.raises(error, match=match):
    jax.jit(call)(*args)


# ------------------------------------------------------------ stored TRL

TRL = json.loads(
  (
    pathlib.Path(__file__).parent / "reference_data" / "trl_preference.json"
  ).read_text()
)


def _trl_batch_loss(options, tokens):
  """The batch loss TRL's DPOTrainer computes, through jaxloss: per-token
  log-probabilities of [chosen; rejected] rows -> sequence values -> dpo ->
  mean over the pairs."""
  mask = np.asarray(TRL["completion_mask"], bool)
  shift = mask[:, 1:]
  n = shift.shape[0] // 2
  reference = np.asarray(TRL["reference_token_logps"])

  def sequences(t):
    if options.get("ld_alpha") is None:
      s = jnp.sum(jnp.where(shift, t, 0.0), -1)
      return s[:n], s[n:]
    return jaxloss.length_desensitized_logps(
      t[:n],
      t[n:],
      chosen_where=shift[:n],
      rejected_where=shift[n:],
      ld_alpha=options["ld_alpha"],
    )

  pc, pr = sequences(tokens)
  rc, rr = sequences(jnp.asarray(reference))
  lengths = mask.sum(-1)  # completion tokens (the prompt comes first)
  kw = {}
  if "sft" in options["loss_type"]:  # one token-mean NLL over the batch
    nll = -jnp.sum(jnp.where(shift[:n], tokens[:n], 0)) / shift[:n].sum()
    kw["chosen_nll"] = jnp.full(n, nll)
  if options.get("use_weighting"):
    aligned = (tokens - np.asarray(TRL["log_sum_sq_probs"])) * shift
    w = jnp.sum(aligned, -1) / np.maximum(shift.sum(-1), 1)
    kw["wpo_chosen_logps"], kw["wpo_rejected_logps"] = w[:n], w[n:]
  values = jaxloss.dpo(
    pc,
    pr,
    rc,
    rr,
    beta=TRL["beta"],
    loss_type=tuple(options["loss_type"]),
    loss_weights=options.get("loss_weights"),
    label_smoothing=options.get("label_smoothing", 0.0),
    f_divergence=options.get("f_divergence_type", "reverse_kl"),
    f_alpha_divergence_coef=options.get("f_alpha_divergence_coef", 0.5),
    discopop_tau=options.get("discopop_tau", 0.05),
    chosen_lengths=lengths[:n],
    rejected_lengths=lengths[n:],
    **kw,
  )
  return jnp.mean(values)


@pytest.mark.parametrize("name", sorted(TRL["dpo"]))
def test_dpo_matches_stored_trl_values_and_gradients(name, x64):
  case = TRL["dpo"][name]
  tokens = jnp.asarray(TRL["policy_token_logps"])
  loss, grad = jax.value_and_grad(
    lambda t: _trl_batch_loss(case["options"], t)
  )(tokens)
  # float64 in TRL except where its own code runs in float32 (the
  # alpha-divergence clamp table, EXO's epsilon tensor).
  rtol = 1e-5 if "float32" in case["dtype"] else 1e-7
  err = f"{name}: {TRL['provenance']}"
  np.testing.assert_allclose(loss, case["loss"], rtol=rtol, err_msg=err)
  np.testing.assert_allclose(
    grad, case["grad"], rtol=rtol, atol=1e-10, err_msg=err
  )


@pytest.mark.parametrize("name", sorted(TRL["cpo"]))
def test_cpo_matches_stored_trl_values_and_gradients(name, x64):
  case = TRL["cpo"][name]
  o = case["options"]
  c = jnp.asarray(TRL["cpo_chosen_logps"])
  r = jnp.asarray(TRL["cpo_rejected_logps"])

  def losses(c, r):
    return jaxloss.cpo(
      c,
      r,
      beta=o["beta"],
      cpo_alpha=0.0,  # TRL adds its NLL term outside cpo_loss
      alphapo_alpha=o["alpha"],
      gamma=o.get("simpo_gamma", 0.0) if o["loss_type"] == "simpo" else 0.0,
      label_smoothing=o.get("label_smoothing", 0.0),
    )

  err = f"{name}: {TRL['provenance']}"
  np.testing.assert_allclose(losses(c, r), case["losses"], rtol=1e-12)
  gc, gr = jax.grad(lambda c, r: jnp.sum(losses(c, r)), (0, 1))(c, r)
  np.testing.assert_allclose(gc, case["grad_chosen"], rtol=1e-12, err_msg=err)
  np.testing.assert_allclose(gr, case["grad_rejected"], rtol=1e-12, err_msg=err)


# ------------------------------------------------------------ paper formulas

B_PAIRS = 6


def _pairs(seed=0):
  rng = np.random.default_rng(seed)
  return tuple(
    rng.uniform(-30.0, -5.0, size=(B_PAIRS,)).astype(np.float32)
    for _ in range(4)
  )


def _log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def np_dpo(pc, pr, rc, rr, beta, loss_type, eps):
  # Rafailov et al. 2023, eq. 7 (sigmoid; cDPO's smoothing); SLiC-HF
  # (hinge); Azar et al. 2023, eq. 17 (IPO); Chowdhury et al. 2024, eq. 7
  # (robust).
  h = (pc.astype(np.float64) - rc) - (pr - rr)
  if loss_type == "sigmoid":
    return -(1 - eps) * _log_sigmoid(beta * h) - eps * _log_sigmoid(-beta * h)
  if loss_type == "hinge":
    return np.maximum(0.0, 1 - beta * h)
  if loss_type == "ipo":
    return (h - 1 / (2 * beta)) ** 2
  return (
    (1 - eps) * -_log_sigmoid(beta * h) - eps * -_log_sigmoid(-beta * h)
  ) / (1 - 2 * eps)


@pytest.mark.parametrize("loss_type", ["sigmoid", "hinge", "ipo", "robust"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_dpo_matches_paper_formulas(loss_type, eps):
  pc, pr, rc, rr = _pairs()
  got, comps = jaxloss.dpo(
    pc,
    pr,
    rc,
    rr,
    beta=0.3,
    loss_type=loss_type,
    label_smoothing=eps,
    return_components=True,
  )
  np.testing.assert_allclose(
    got, np_dpo(pc, pr, rc, rr, 0.3, loss_type, eps), rtol=1e-5, atol=1e-6
  )
  np.testing.assert_allclose(
    comps["chosen_rewards"], 0.3 * (pc - rc), rtol=1e-5
  )
  np.testing.assert_allclose(
    comps["margins"], 0.3 * ((pc - rc) - (pr - rr)), rtol=1e-4, atol=1e-5
  )
  np.testing.assert_array_equal(
    comps["accuracies"], ((pc - rc) > (pr - rr)).astype(np.float32)
  )


def test_dpo_gradient_is_beta_sigmoid_weighted():
  # Rafailov et al. 2023, section 4 ("What does the DPO update do?"):
  # d loss / d pi_c = -beta * sigmoid(-beta h), d loss / d pi_r = +that.
  pc, pr, rc, rr = _pairs(1)
  g_c, g_r = jax.grad(
    lambda c, r: jnp.sum(jaxloss.dpo(c, r, rc, rr, beta=0.5)), (0, 1)
  )(pc, pr)
  h = (pc - rc) - (pr - rr)
  want = -0.5 / (1 + np.exp(0.5 * h))
  np.testing.assert_allclose(g_c, want, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(g_r, -want, rtol=1e-5, atol=1e-7)


def test_simpo_cpo_orpo_kto_match_paper_formulas():
  pc, pr, rc, rr = _pairs(2)
  c, r = pc / 20.0, pr / 20.0  # length-averaged log-probabilities
  # SimPO, Meng et al. 2024, eq. 6: -log sigmoid(beta (c - r) - gamma).
  np.testing.assert_allclose(
    jaxloss.simpo(c, r, beta=2.5, gamma=0.3),
    -_log_sigmoid(2.5 * (c - r) - 0.3),
    rtol=1e-5,
  )
  # CPO, Xu et al. 2024, eq. 3 and 6: -log sigmoid(beta (c - r)) - log pi(c).
  np.testing.assert_allclose(
    jaxloss.cpo(pc, pr, beta=0.1, cpo_alpha=0.5),
    -_log_sigmoid(0.1 * (pc - pr)) - 0.5 * pc,
    rtol=1e-5,
  )
  nll = np.linspace(1.0, 2.0, B_PAIRS).astype(np.float32)
  np.testing.assert_allclose(
    jaxloss.cpo(pc, pr, beta=0.1, chosen_nll=nll),
    -_log_sigmoid(0.1 * (pc - pr)) + nll,
    rtol=1e-5,
  )
  # ORPO, Hong et al. 2024, eq. 6-7, odds(p) = p / (1 - p).
  pcp, prp = np.exp(c.astype(np.float64)), np.exp(r.astype(np.float64))
  log_or = np.log(pcp / (1 - pcp)) - np.log(prp / (1 - prp))
  np.testing.assert_allclose(
    jaxloss.orpo(c, r, beta=0.2), -c - 0.2 * _log_sigmoid(log_or), rtol=1e-5
  )
  # KTO, Ethayarajh et al. 2024, eq. 8, z0 = max(0, mean KL estimate).
  desirable = np.array([True, False] * (B_PAIRS // 2))
  pk, rk = pc[::-1] + 1.0, rc  # mismatched pairs
  z0 = max(0.0, float(np.mean(pk - rk)))
  rew = pc - rc
  want = np.where(
    desirable,
    1.0 * (1 - 1 / (1 + np.exp(-0.2 * (rew - z0)))),
    2.0 * (1 - 1 / (1 + np.exp(-0.2 * (z0 - rew)))),
  )
  got, comps = jaxloss.kto(
    pc,
    rc,
    desirable,
    policy_kl_logps=pk,
    reference_kl_logps=rk,
    beta=0.2,
    undesirable_weight=2.0,
    return_components=True,
  )
  np.testing.assert_allclose(got, want, rtol=1e-5)
  np.testing.assert_allclose(comps["kl"], z0, rtol=1e-5)
  np.testing.assert_allclose(
    jaxloss.kto(pc, rc, desirable, kl=0.0, beta=0.2, undesirable_weight=2),
    np.where(
      desirable,
      1 - 1 / (1 + np.exp(-0.2 * rew)),
      2 * (1 - 1 / (1 + np.exp(0.2 * rew))),
    ),
    rtol=1e-5,
  )


def test_preference_edges_finite():
  big = np.array([1e4, -1e4, 0.0], np.float32)
  zero = np.zeros(3, np.float32)
  for loss_type in ("sigmoid", "hinge", "ipo", "robust"):
    f = jax.jit(
      jax.value_and_grad(
        lambda a: jnp.sum(
          jaxloss.dpo(
            a, -a, zero, zero, loss_type=loss_type, label_smoothing=0.1
          )
        )
      )
    )
    v, g = f(big)
    assert np.isfinite(v) and np.all(np.isfinite(g))
  # ORPO at average log-probabilities 0 (p = 1) and very negative.
  c = np.array([0.0, -1e-9, -50.0], np.float32)
  f = jax.jit(jax.value_and_grad(lambda c: jnp.sum(jaxloss.orpo(c, c[::-1]))))
  v, g = f(c)
  assert np.isfinite(v) and np.all(np.isfinite(g))
  f = jax.jit(
    jax.value_and_grad(
      lambda c: jnp.sum(jaxloss.simpo(c, -c) + jaxloss.cpo(c, -c))
    )
  )
  v, g = f(big)
  assert np.isfinite(v) and np.all(np.isfinite(g))


def test_preference_bf16_and_reduce():
  pc, pr, rc, rr = (jnp.asarray(a, jnp.bfloat16) for a in _pairs(3))
  out = jaxloss.dpo(pc, pr, rc, rr)
  assert out.dtype == jnp.bfloat16
  ref = np_dpo(
    *(np.asarray(a, np.float32) for a in (pc, pr, rc, rr)), 0.1, "sigmoid", 0.0
  )
  np.testing.assert_allclose(np.asarray(out, np.float32), ref, rtol=2e-2)
  total = jaxloss.reduce(jaxloss.dpo(*_pairs(3)), reduction="mean")
  assert total.shape == ()


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda: jaxloss.dpo([1.0], [1.0], [1.0], [1.0, 2.0]),
      ValueError,
      "dpo: policy_chosen_logps and reference_rejected_logps",
    ),
    (
      lambda: jaxloss.dpo([1.0], [1.0], [1.0], [1.0], loss_type="exo"),
      ValueError,
      "dpo: loss_type must be one of",
    ),
    (
      lambda: jaxloss.dpo([1.0], [1.0], [1.0], [1.0], beta=0.0),
      ValueError,
      "dpo: beta must be in",
    ),
    (
      lambda: jaxloss.dpo([1.0], [1.0], [1.0], [1.0], label_smoothing=0.5),
      ValueError,
      "dpo: label_smoothing must be in",
    ),
    (
      lambda: jaxloss.simpo([1], [1.0]),
      TypeError,
      "simpo: chosen_avg_logps must have a floating dtype",
    ),
    (
      lambda: jaxloss.kto([1.0], [1.0], [1]),
      TypeError,
      "kto: desirable must be a boolean mask",
    ),
    (
      lambda: jaxloss.kto([1.0], [1.0], [True], policy_kl_logps=[1.0]),
      ValueError,
      "kto: policy_kl_logps and reference_kl_logps",
    ),
  ],
)
def test_errors(call, error, match):
  with pytest.raises(error, match=match):
    call()
