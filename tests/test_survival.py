"""Survival losses: library references, the batch-level Cox object, ties,
strata, edges and errors.

Library values were produced by
tests/reference_data/generate_distributional_survival.py and are stored in
tests/reference_data/distributional_survival.json with the library versions
and calls (statsmodels 0.15, lifelines 0.30). The generic contract tests run
from tests/specs/survival.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.family_helpers import REF
from tests.family_helpers import close
from tests.specs.survival import np_cox_ph


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("stratified", [False, True])
def test_cox_ph_statsmodels(x64, ties, stratified):
  r = REF["cox_ph"]
  strata = r["strata"] if stratified else None
  got = jaxloss.cox_ph(
    r["times"], r["events"], r["eta"], ties=ties, strata=strata
  )
  # statsmodels sums the log partial likelihood; cox_ph is the mean
  # negative one per event.
  want = -r[ties + ("_strata" if stratified else "")] / sum(r["events"])
  close(got, want, msg=r["source"])


def test_cox_ph_efron_lifelines(x64):
  r = REF["cox_ph"]
  got = jaxloss.cox_ph(r["times"], r["events"], r["eta"], ties="efron")
  close(got, -r["efron_lifelines"] / sum(r["events"]), msg=r["source"])


def test_cox_all_censored_is_zero_with_zero_gradient():
  t = jnp.array([1.0, 2.0, 3.0])
  for ties in ("breslow", "efron"):
    value, grad = jax.jit(
      jax.value_and_grad(
        lambda r, ties=ties: jaxloss.cox_ph(t, jnp.zeros(3), r, ties=ties)
      )
    )(jnp.array([0.1, 0.2, 0.3]))
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_cox_without_ties_efron_equals_breslow_and_shift_invariance(x64):
  rng = np.random.default_rng(8)
  t = rng.permutation(10).astype(float)
  e = rng.integers(0, 2, 10)
  e[0] = 1
  eta = rng.normal(size=10)
  b = jaxloss.cox_ph(t, e, eta)
  close(jaxloss.cox_ph(t, e, eta, ties="efron"), b)
  close(jaxloss.cox_ph(t, e, eta + 3.0), b)
  close(b, np_cox_ph(t, e, eta))


def test_cox_strata_pool_events_of_separate_strata(x64):
  r = REF["cox_ph"]
  t, e, eta, s = (
    np.asarray(r[k]) for k in ("times", "events", "eta", "strata")
  )
  total = 0.0
  for k in (0, 1):
    sel = s == k
    total += (
      float(jaxloss.cox_ph(t[sel], e[sel], eta[sel], ties="efron"))
      * e[sel].sum()
    )
  close(jaxloss.cox_ph(t, e, eta, ties="efron", strata=s), total / e.sum())


def test_cox_bool_events_integer_times_and_column_scores():
  t, e = [3, 1, 2, 2], [True, True, False, True]
  eta = np.array([[0.5], [-0.1], [0.2], [1.0]], np.float32)
  want = jaxloss.cox_ph(
    np.array(t, np.float32), np.array(e, np.float32), eta[:, 0], ties="efron"
  )
  close(jaxloss.cox_ph(t, e, eta, ties="efron"), want, rtol=1e-6)


def test_cox_jit_and_vmap_over_score_vectors():
  t = jnp.array([1.0, 2.0, 2.0, 4.0])
  e = jnp.array([1.0, 1.0, 0.0, 1.0])
  etas = jnp.asarray(np.random.default_rng(9).normal(size=(3, 4)), jnp.float32)
  f = jax.jit(lambda r: jaxloss.cox_ph(t, e, r, ties="efron"))
  got = jax.vmap(f)(etas)
  want = [
    np_cox_ph(
      np.asarray(t), np.asarray(e), np.asarray(r, np.float64), ties="efron"
    )
    for r in etas
  ]
  close(got, want, rtol=1e-5)


def test_cox_nan_score_propagates():
  got = jaxloss.cox_ph([1.0, 2.0], [1, 1], [float("nan"), 0.0])
  assert np.isnan(got)


def test_cox_object_is_batch_level():
  t, e, eta = [1.0, 2.0, 3.0], [1, 0, 1], [0.2, -0.4, 0.1]
  loss = jaxloss.CoxPH(ties="efron")
  assert jaxloss.CoxPH.batch_level
  close(loss(t, e, eta), jaxloss.cox_ph(t, e, eta, ties="efron"), rtol=1e-6)
  close(
    loss(t, e, eta, strata=[0, 1, 0]),
    jaxloss.cox_ph(t, e, eta, ties="efron", strata=[0, 1, 0]),
    rtol=1e-6,
  )
  for kwargs in (
    {"sample_weight": [1.0, 2.0, 1.0]},
    {"where": [1, 1, 0]},
    {"normalizer": 3.0},
  ):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"CoxPH: {name} must be None"):
      loss(t, e, eta, **kwargs)
  with pytest.raises(ValueError, match="CoxPH: sample_weight"):
    loss(t, e, eta, [1.0, 2.0, 1.0])  # Keras's positional form
  assert jaxloss.deserialize(jaxloss.serialize(loss)) == loss
  assert jaxloss.get("CoxPH") == jaxloss.CoxPH()
  assert "strata" not in loss.get_config()


def test_discrete_survival_is_the_negative_log_probability(x64):
  # Event at tau: P(T = tau) = h_tau prod_{k < tau} (1 - h_k); censored at
  # tau: P(T > tau) = prod_{k <= tau} (1 - h_k). The pmf and the survival
  # past the last interval sum to 1.
  rng = np.random.default_rng(10)
  z = rng.normal(size=5)
  h = 1 / (1 + np.exp(-z))
  pmf = [h[t] * np.prod(1 - h[:t]) for t in range(5)]
  surv = [np.prod(1 - h[: t + 1]) for t in range(5)]
  taus = np.arange(5)
  logits = np.tile(z, (5, 1))
  close(jaxloss.discrete_survival_nll(taus, np.ones(5), logits), -np.log(pmf))
  close(jaxloss.discrete_survival_nll(taus, np.zeros(5), logits), -np.log(surv))
  assert sum(pmf) + surv[-1] == pytest.approx(1.0)


def test_discrete_survival_out_of_range_interval_is_nan():
  got = jaxloss.discrete_survival_nll(
    [-1, 3, 1], [1, 1, 1], np.zeros((3, 3), np.float32)
  )
  assert np.isnan(got[0]) and np.isnan(got[1]) and np.isfinite(got[2])


def test_type_errors():
  with pytest.raises(TypeError, match="crps_ensemble: fair must be a bool"):
    jaxloss.crps_ensemble([0.0], [[1.0]], fair=1)
  with pytest.raises(TypeError, match="discrete_survival_nll: intervals"):
    jaxloss.discrete_survival_nll([True], [1], [[0.0, 1.0]])
  with pytest.raises(TypeError, match="cox_ph: risk_scores"):
    jaxloss.cox_ph([1.0], [1], [1])
