"""Generates distributional_survival.json: reference values from libraries.

Run with an environment that has properscoring 0.1, statsmodels 0.15,
scipy 1.17, numpy 2.x and lifelines 0.30 (none is needed by the tests):

    python tests/reference_data/generate_distributional_survival.py

Each entry records its inputs, the library call that produced the values
and the library version, so the tests can compare without the libraries.
"""

from __future__ import annotations

from importlib.metadata import version
import json
import pathlib

import lifelines
import numpy as np
import pandas as pd
import properscoring
import scipy
from scipy import integrate
from scipy import special
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

OUT = pathlib.Path(__file__).with_name("distributional_survival.json")


def v(name):
  return f"{name} {version(name)}"


def main():
  rng = np.random.default_rng(20261130)
  out = {}

  # CRPS of an ensemble (standard estimator), with repeated members too.
  obs = rng.normal(size=5)
  fc = rng.normal(size=(5, 7))
  fc[1, 3:] = fc[1, 0]  # ties inside one ensemble
  fc[2] = obs[2]  # every member equal to the observation
  out["crps_ensemble"] = {
    "source": f"{v('properscoring')}: crps_ensemble(obs, fc)",
    "obs": obs.tolist(),
    "fc": fc.tolist(),
    "value": properscoring.crps_ensemble(obs, fc).tolist(),
  }

  # CRPS of a Gaussian.
  y = np.array([0.0, 1.0, -2.5, 4.0, 0.3, 10.0])
  mu = np.array([0.0, 0.0, 0.5, -1.0, 0.3, 0.0])
  sig = np.array([1.0, 0.5, 2.0, 0.7, 3.0, 0.4])
  out["crps_gaussian"] = {
    "source": f"{v('properscoring')}: crps_gaussian(y, mu, sig)",
    "y": y.tolist(),
    "mu": mu.tolist(),
    "sig": sig.tolist(),
    "value": properscoring.crps_gaussian(y, mu, sig).tolist(),
  }

  # CRPS of a logistic, by numerical integration of (F(x) - 1{x >= y})^2.
  scale = np.array([1.0, 0.5, 2.0, 0.7, 3.0, 0.4])
  vals = []
  for yi, mi, si in zip(y, mu, scale):
    cdf = lambda x, mi=mi, si=si: stats.logistic.cdf(x, mi, si)
    left = integrate.quad(
      lambda x: cdf(x) ** 2, -np.inf, yi, epsabs=1e-13, epsrel=1e-13
    )[0]
    right = integrate.quad(
      lambda x: (1 - cdf(x)) ** 2, yi, np.inf, epsabs=1e-13, epsrel=1e-13
    )[0]
    vals.append(left + right)
  out["crps_logistic"] = {
    "source": (
      f"{v('scipy')}: integrate.quad of (logistic.cdf(x, loc, "
      f"scale) - 1{{x >= y}})**2 over the real line"
    ),
    "y": y.tolist(),
    "loc": mu.tolist(),
    "scale": scale.tolist(),
    "value": vals,
  }

  # Energy distance in one dimension (scipy returns its square root).
  u = rng.normal(size=9)
  w = rng.normal(size=6) + 0.5
  out["energy_distance"] = {
    "source": f"{v('scipy')}: stats.energy_distance(u, v) ** 2",
    "u": u.tolist(),
    "v": w.tolist(),
    "value": float(stats.energy_distance(u, w) ** 2),
  }

  # Gaussian mixture NLL (diagonal covariances).
  b, k, d = 3, 4, 2
  yt = rng.normal(size=(b, d))
  logits = rng.normal(size=(b, k))
  means = rng.normal(size=(b, k, d))
  scales = rng.uniform(0.3, 2.0, size=(b, k, d))
  nll = []
  for i in range(b):
    logw = logits[i] - special.logsumexp(logits[i])
    comps = [
      stats.multivariate_normal.logpdf(
        yt[i], means[i, j], np.diag(scales[i, j] ** 2)
      )
      for j in range(k)
    ]
    nll.append(-float(special.logsumexp(logw + np.array(comps))))
  out["mdn_nll"] = {
    "source": (
      f"{v('scipy')}: -special.logsumexp(log_softmax(logits) + "
      f"stats.multivariate_normal.logpdf(y, mean, diag(s**2)))"
    ),
    "y": yt.tolist(),
    "logits": logits.tolist(),
    "means": means.tolist(),
    "scales": scales.tolist(),
    "value": nll,
  }

  # Evidential NLL: the NIG marginal is Student-t(2 alpha, gamma,
  # beta (1 + nu) / (nu alpha)).
  yt = rng.normal(size=5)
  gamma = rng.normal(size=5)
  nu = rng.uniform(0.2, 3.0, 5)
  alpha = rng.uniform(1.1, 4.0, 5)
  beta = rng.uniform(0.2, 3.0, 5)
  scale_t = np.sqrt(beta * (1 + nu) / (nu * alpha))
  out["evidential_nll"] = {
    "source": (
      f"{v('scipy')}: -stats.t.logpdf(y, df=2 alpha, loc=gamma, "
      f"scale=sqrt(beta (1 + nu) / (nu alpha)))"
    ),
    "y": yt.tolist(),
    "y_pred": np.stack([gamma, nu, alpha, beta], -1).tolist(),
    "value": (-stats.t.logpdf(yt, 2 * alpha, gamma, scale_t)).tolist(),
  }

  # Cox partial log-likelihood, with ties and strata.
  n = 12
  times = rng.integers(1, 6, n).astype(float)
  events = rng.integers(0, 2, n)
  events[:3] = 1
  eta = rng.normal(size=n)
  strata = rng.integers(0, 2, n)
  cox = {
    "times": times.tolist(),
    "events": events.tolist(),
    "eta": eta.tolist(),
    "strata": strata.tolist(),
  }
  for ties in ("breslow", "efron"):
    for name, st in (("", None), ("_strata", strata)):
      model = PHReg(times, eta[:, None], status=events, ties=ties, strata=st)
      cox[ties + name] = float(model.loglike(np.array([1.0])))
  # lifelines' Efron log-likelihood at a fixed coefficient (data sorted by
  # time, as its fitter sorts them).
  order = np.argsort(times, kind="stable")
  fitter = lifelines.fitters.coxph_fitter.SemiParametricPHFitter()
  _, _, ll = fitter._get_efron_values_single(
    pd.DataFrame(eta[order][:, None]),
    pd.Series(times[order]),
    pd.Series(events[order].astype(bool)),
    pd.Series(np.ones(n)),
    None,
    np.array([1.0]),
  )
  cox["efron_lifelines"] = float(ll)
  cox["source"] = (
    f"{v('statsmodels')}: PHReg(times, eta[:, None], status=events, "
    f"ties=..., strata=...).loglike([1.0]) (sums of log partial "
    f"likelihoods); {v('lifelines')}: "
    f"SemiParametricPHFitter()._get_efron_values_single(eta, times, "
    f"events, 1, None, [1.0]) for 'efron_lifelines'"
  )
  out["cox_ph"] = cox
  out["versions"] = {
    m: version(m)
    for m in ("properscoring", "statsmodels", "scipy", "numpy", "lifelines")
  }
  assert scipy  # the version is read through importlib.metadata
  OUT.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
  main()
