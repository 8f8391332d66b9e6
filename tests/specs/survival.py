"""Specs for the survival losses: Cox partial likelihood and the discrete-time
(logistic hazard) NLL.

References are NumPy float64 loops written from the papers' equations (each
says which). statsmodels and lifelines values are compared in
tests/test_survival.py.
"""

from __future__ import annotations

import math

import numpy as np

import jaxloss
from tests.specs import Spec

K = 4  # discrete time intervals


# ------------------------------------------------------------ references


def np_cox_ph(times, events, eta, ties="breslow", strata=None):
  """Cox 1972 with Breslow 1974 / Efron 1977 ties, per stratum, by loops.

  Efron's denominator for a tie group of ``d`` events at time ``t``:
  ``prod_{r=0}^{d-1} (sum_{R(t)} exp(eta) - r / d sum_{D(t)} exp(eta))``.
  """
  n = len(times)
  strata = np.zeros(n, int) if strata is None else np.asarray(strata)
  total, n_events = 0.0, 0
  for s in set(strata.tolist()):
    idx = [i for i in range(n) if strata[i] == s]
    for t in sorted({times[i] for i in idx if events[i]}):
      dead = [i for i in idx if events[i] and times[i] == t]
      risk = sum(math.exp(eta[j]) for j in idx if times[j] >= t)
      tied = sum(math.exp(eta[j]) for j in dead)
      d = len(dead)
      for r, i in enumerate(dead):
        den = risk - (r / d) * tied if ties == "efron" else risk
        total += eta[i] - math.log(den)
      n_events += d
  return np.float64(-total / n_events if n_events else 0.0)


def _np_cox_strata(times, events, eta, strata, ties="breslow"):
  return np_cox_ph(times, events, eta, ties=ties, strata=strata)


def np_discrete_survival(intervals, events, logits):
  """Kvamme & Borgan 2021 eq. (8) (pycox's nll_logistic_hazard)."""
  log_sig = lambda z: -np.logaddexp(0.0, -z)
  out = []
  for tau, e, z in zip(intervals, events, logits):
    ll = sum(log_sig(-z[k]) for k in range(tau))
    ll += log_sig(z[tau]) if e else log_sig(-z[tau])
    out.append(-ll)
  return np.array(out)


# ---------------------------------------------------------------- inputs


def _cox(rng, b):
  times = rng.integers(1, 4, b).astype(float)  # ties are likely
  events = rng.integers(0, 2, b).astype(float)
  events[0] = 1.0
  return times, events, rng.normal(size=b)


def _cox_strata_inputs(rng, b):
  strata = rng.integers(0, 2, b)
  return _cox(rng, b) + (strata,)


def _cox_edges():
  t = np.array([1.0, 2.0, 2.0, 3.0])
  eta = np.array([0.3, -0.2, 0.5, 1.0])
  return [
    (t, np.zeros(4), eta),  # all censored
    (np.ones(4), np.ones(4), eta),  # all tied events
    (t, np.ones(4), np.array([1e4, -1e4, 1e4, -1e4])),  # saturated
    (t[:1], np.ones(1), eta[:1]),  # one sample
  ]


def _cox_strata_edges():
  return [
    case + (np.array([0, 1, 0, 1][: len(case[0])]),) for case in _cox_edges()
  ]


def _cox_strata(times, events, risk_scores, strata, **kwargs):
  return jaxloss.cox_ph(times, events, risk_scores, strata=strata, **kwargs)


# The error tests look for the function's name in the message.
_cox_strata.__name__ = "cox_ph"


def _discrete(rng, b):
  return (
    rng.integers(0, K, b),
    rng.integers(0, 2, b).astype(float),
    rng.normal(size=(b, K)) * 2,
  )


def _discrete_edges():
  z = np.array([[1e4, -1e4, 1e4, -1e4], [-1e4, 1e4, -1e4, 1e4]])
  return [
    (np.array([0, K - 1]), np.array([1.0, 1.0]), z),
    (np.array([0, K - 1]), np.array([0.0, 0.0]), z),  # all censored
    (np.array([K - 1, 2]), np.array([0.0, 1.0]), np.zeros((2, K))),
  ]


def _drop_first_event(args):
  return (args[0], args[1][:-1], args[2])


def _cox_spec(name, fn, inputs, edges, reference, ties, source):
  return Spec(
    name,
    fn,
    inputs,
    kwargs={"ties": ties},
    reference=reference,
    reference_source=source,
    edge_inputs=edges,
    diff_argnums=(2,),
    per_sample=False,
    value_rank=0,
  )


SPECS = [
  _cox_spec(
    "cox_ph",
    jaxloss.cox_ph,
    _cox,
    _cox_edges,
    np_cox_ph,
    "breslow",
    "Cox 1972, Breslow 1974 ties",
  ),
  _cox_spec(
    "cox_ph-efron-strata",
    _cox_strata,
    _cox_strata_inputs,
    _cox_strata_edges,
    _np_cox_strata,
    "efron",
    "Cox 1972, Efron 1977 ties, per stratum",
  ),
  Spec(
    "discrete_survival_nll",
    jaxloss.discrete_survival_nll,
    _discrete,
    cls=jaxloss.DiscreteSurvivalNLL,
    reference=np_discrete_survival,
    reference_source="Kvamme & Borgan 2021 eq. (8)",
    edge_inputs=_discrete_edges,
    diff_argnums=(2,),
    mismatch=_drop_first_event,
  ),
]
