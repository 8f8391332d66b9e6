"""Specs for the distributional losses: CRPS, energy score, MMD, energy
distance, mixture density NLL and evidential regression.

References are NumPy float64 loops written from the papers' equations (each
says which). Library values (properscoring, scipy) are compared in
tests/test_distributional.py.
"""

from __future__ import annotations

import math

import numpy as np

import jaxloss
from tests.specs import Spec

M = 5  # ensemble members
D = 3  # dimension of multivariate observations
K = 3  # mixture components


# ------------------------------------------------------------ references


def np_crps_ensemble(y, x, fair=False):
  """Gneiting & Raftery 2007 eq. (21); Ferro 2014 for the fair form."""
  out = []
  for yi, xi in zip(y, x):
    m = len(xi)
    skill = sum(abs(a - yi) for a in xi) / m
    pairs = sum(abs(a - b) for a in xi for b in xi)
    out.append(skill - pairs / (2 * m * (m - 1) if fair else 2 * m * m))
  return np.array(out)


def np_crps_gaussian(y, mu, sig):
  """Gneiting et al. 2005 eq. (5)."""
  out = []
  for a, b, s in zip(y, mu, sig):
    z = (a - b) / s
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    out.append(s * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi)))
  return np.array(out)


def np_crps_logistic(y, loc, scale):
  """Taillardat et al. 2016: s (z - 2 log F(z) - 1)."""
  out = []
  for a, b, s in zip(y, loc, scale):
    z = (a - b) / s
    log_cdf = -np.logaddexp(0.0, -z)
    out.append(s * (z - 2 * log_cdf - 1))
  return np.array(out)


def np_energy_score(y, x, fair=False):
  """Gneiting & Raftery 2007 eq. (22)."""
  out = []
  for yi, xi in zip(y, x):
    m = len(xi)
    skill = sum(np.linalg.norm(a - yi) for a in xi) / m
    pairs = sum(np.linalg.norm(a - b) for a in xi for b in xi)
    out.append(skill - pairs / (2 * m * (m - 1) if fair else 2 * m * m))
  return np.array(out)


def _np_kernel(a, b, kernel, bandwidth):
  bws = bandwidth if isinstance(bandwidth, tuple) else (bandwidth,)
  r2 = float(np.sum((a - b) ** 2))
  if kernel == "gaussian":
    return sum(math.exp(-r2 / (2 * s * s)) for s in bws)
  return sum(s * s / (s * s + r2) for s in bws)


def np_mmd(
  x, y, kernel="gaussian", bandwidth=1.0, estimator="biased", tile_size=128
):
  """Gretton et al. 2012 eqs. (3) (unbiased) and (5) (biased)."""
  del tile_size
  out = []
  for xs, ys in zip(x, y):
    n, m = len(xs), len(ys)
    k = lambda a, b: _np_kernel(a, b, kernel, bandwidth)
    if estimator == "biased":
      kxx = sum(k(a, b) for a in xs for b in xs) / n**2
      kyy = sum(k(a, b) for a in ys for b in ys) / m**2
    else:
      kxx = sum(
        k(xs[i], xs[j]) for i in range(n) for j in range(n) if i != j
      ) / (n * (n - 1))
      kyy = sum(
        k(ys[i], ys[j]) for i in range(m) for j in range(m) if i != j
      ) / (m * (m - 1))
    kxy = sum(k(a, b) for a in xs for b in ys) / (n * m)
    out.append(kxx + kyy - 2 * kxy)
  return np.array(out)


def np_energy_distance(x, y, estimator="biased", tile_size=128):
  """Szekely & Rizzo 2013 eq. (2.1): 2 E|X-Y| - E|X-X'| - E|Y-Y'|."""
  del tile_size
  out = []
  for xs, ys in zip(x, y):
    n, m = len(xs), len(ys)
    dist = lambda a, b: np.linalg.norm(a - b)
    nx, ny = (
      (n * n, m * m) if estimator == "biased" else (n * (n - 1), m * (m - 1))
    )
    exx = sum(dist(a, b) for a in xs for b in xs) / nx
    eyy = sum(dist(a, b) for a in ys for b in ys) / ny
    exy = sum(dist(a, b) for a in xs for b in ys) / (n * m)
    out.append(2 * exy - exx - eyy)
  return np.array(out)


def np_mdn_nll(y, logits, means, scales, variance_floor=1e-6):
  """Bishop 1994 eqs. (23)-(29), diagonal covariances."""
  out = []
  for yi, zi, mi, si in zip(y, logits, means, scales):
    terms = []
    log_z = math.log(sum(math.exp(v) for v in zi))
    for k in range(len(zi)):
      log_n = 0.0
      for d in range(len(yi)):
        var = max(si[k, d] ** 2, variance_floor)
        log_n += -0.5 * (
          (yi[d] - mi[k, d]) ** 2 / var + math.log(var) + math.log(2 * math.pi)
        )
      terms.append(zi[k] - log_z + log_n)
    top = max(terms)
    out.append(-(top + math.log(sum(math.exp(t - top) for t in terms))))
  return np.array(out)


def np_evidential(y, p, coeff=1e-2):
  """Amini et al. 2020 eqs. (8)-(10)."""
  out = []
  for yi, (g, v, a, b) in zip(y, p):
    om = 2 * b * (1 + v)
    nll = (
      0.5 * math.log(math.pi / v)
      - a * math.log(om)
      + (a + 0.5) * math.log(v * (yi - g) ** 2 + om)
      + math.lgamma(a)
      - math.lgamma(a + 0.5)
    )
    out.append(nll + coeff * abs(yi - g) * (2 * v + a))
  return np.array(out)


# ---------------------------------------------------------------- inputs


def _ensemble(rng, b):
  return rng.normal(size=b), rng.normal(size=(b, M)) * 1.5


def _ensemble_edges():
  same = np.full((2, M), 0.7)
  return [
    (np.array([0.7, 0.7]), same),  # every member equals the observation
    (np.array([0.0, 3.0]), same),  # a collapsed ensemble
    (np.array([1e4, -1e4]), np.ones((2, M)) * np.array([[1e4], [-1e4]])),
  ]


def _location_scale(rng, b):
  return (
    rng.normal(size=b) * 2,
    rng.normal(size=b),
    rng.uniform(0.3, 2.0, size=b),
  )


def _location_scale_edges():
  return [
    (np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0])),
    (np.array([1e4, -1e4]), np.array([0.0, 0.0]), np.array([1e-3, 1.0])),
    (np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.array([1e-30, 1e30])),
  ]


def _multi_ensemble(rng, b):
  return rng.normal(size=(b, D)), rng.normal(size=(b, 4, D))


def _multi_ensemble_edges():
  y = np.zeros((2, D))
  return [
    (y, np.zeros((2, 4, D))),  # all members on the observation
    (y + 1.0, np.zeros((2, 4, D))),  # collapsed ensemble
  ]


def _samples(rng, b):
  return rng.normal(size=(b, 5, 2)), rng.normal(size=(b, 4, 2)) + 0.5


def _sample_edges():
  x = np.random.default_rng(0).normal(size=(2, 5, 2))
  return [
    (x, x[:, :4]),  # overlapping samples
    (np.zeros((2, 5, 2)), np.zeros((2, 4, 2))),  # identical points
    (x * 1e3, x[:, :4] * -1e3),  # far apart
  ]


def _mixture(rng, b):
  return (
    rng.normal(size=(b, 2)),
    rng.normal(size=(b, K)),
    rng.normal(size=(b, K, 2)),
    rng.uniform(0.3, 2.0, size=(b, K, 2)),
  )


def _mixture_edges():
  y = np.zeros((2, 2))
  mu = np.zeros((2, K, 2))
  s = np.ones((2, K, 2))
  z = np.zeros((2, K))
  return [
    (y + 1e4, z, mu, s),  # far-away target
    (y, z, mu, s * 1e-8),  # collapsed components (variance floor)
    (y + 1.0, z, mu, s * 1e-8),  # ... away from the target
    (y, np.array([[1e4, -1e4, 0.0]] * 2), mu, s),  # saturated weights
  ]


def _evidential(rng, b):
  p = np.stack(
    [
      rng.normal(size=b),
      rng.uniform(0.2, 3.0, b),
      rng.uniform(1.1, 4.0, b),
      rng.uniform(0.2, 3.0, b),
    ],
    -1,
  )
  return rng.normal(size=b), p


def _evidential_edges():
  return [
    (
      np.array([0.0, 1.0]),
      np.array([[0.0, 1.0, 2.0, 1.0], [1.0, 1.0, 2.0, 1.0]]),
    ),  # y = gamma
    (np.array([1e4, -1e4]), np.array([[0.0, 1e-6, 1.0 + 1e-6, 1e-6]] * 2)),
    (np.array([0.0, 0.0]), np.array([[0.0, 1e6, 1e6, 1e6]] * 2)),
  ]


def _drop_first_target(args):
  return (args[0][:-1],) + tuple(args[1:])


SPECS = [
  Spec(
    "crps_ensemble",
    jaxloss.crps_ensemble,
    _ensemble,
    cls=jaxloss.CRPSEnsemble,
    reference=np_crps_ensemble,
    reference_source="Gneiting & Raftery 2007 eq. (21)",
    edge_inputs=_ensemble_edges,
    mismatch=_drop_first_target,
  ),
  Spec(
    "crps_gaussian",
    jaxloss.crps_gaussian,
    _location_scale,
    cls=jaxloss.CRPSGaussian,
    reference=np_crps_gaussian,
    reference_source="Gneiting et al. 2005 eq. (5)",
    edge_inputs=_location_scale_edges,
    diff_argnums=(1, 2),
  ),
  Spec(
    "crps_logistic",
    jaxloss.crps_logistic,
    _location_scale,
    cls=jaxloss.CRPSLogistic,
    reference=np_crps_logistic,
    reference_source="Taillardat et al. 2016 (logistic CRPS)",
    edge_inputs=_location_scale_edges,
    diff_argnums=(1, 2),
  ),
  Spec(
    "energy_score",
    jaxloss.energy_score,
    _multi_ensemble,
    cls=jaxloss.EnergyScore,
    reference=np_energy_score,
    reference_source="Gneiting & Raftery 2007 eq. (22)",
    edge_inputs=_multi_ensemble_edges,
  ),
  Spec(
    "mmd",
    jaxloss.mmd,
    _samples,
    cls=jaxloss.MMD,
    reference=np_mmd,
    reference_source="Gretton et al. 2012 eq. (5)",
    edge_inputs=_sample_edges,
  ),
  Spec(
    "mmd-multiscale-unbiased",
    jaxloss.mmd,
    _samples,
    kwargs={
      "kernel": "multiscale",
      "bandwidth": (0.5, 2.0),
      "estimator": "unbiased",
    },
    cls=jaxloss.MMD,
    reference=np_mmd,
    reference_source="Gretton et al. 2012 eq. (3)",
    edge_inputs=_sample_edges,
  ),
  Spec(
    "energy_distance",
    jaxloss.energy_distance,
    _samples,
    cls=jaxloss.EnergyDistance,
    reference=np_energy_distance,
    reference_source="Szekely & Rizzo 2013 eq. (2.1)",
    edge_inputs=_sample_edges,
  ),
  Spec(
    "mdn_nll",
    jaxloss.mdn_nll,
    _mixture,
    cls=jaxloss.MDNNLL,
    reference=np_mdn_nll,
    reference_source="Bishop 1994 eqs. (23)-(29)",
    edge_inputs=_mixture_edges,
    diff_argnums=(1, 2, 3),
  ),
  Spec(
    "evidential_regression",
    jaxloss.evidential_regression,
    _evidential,
    kwargs={"coeff": 0.1},
    cls=jaxloss.EvidentialRegression,
    reference=np_evidential,
    reference_source="Amini et al. 2020 eqs. (8)-(10)",
    edge_inputs=_evidential_edges,
    # (gamma, nu > 0, alpha > 1, beta > 0): zeros are outside the domain.
    kinds={1: "none"},
  ),
]
