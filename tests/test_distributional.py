"""Distributional losses: library references, estimator variants, tiling,
edges and errors.

Library values were produced by
tests/reference_data/generate_distributional_survival.py and are stored in
tests/reference_data/distributional_survival.json with the library versions
and calls (properscoring 0.1, scipy 1.17). The generic contract tests run
from tests/specs/distributional.py.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.family_helpers import REF
from tests.family_helpers import close
from tests.specs.distributional import np_crps_ensemble
from tests.specs.distributional import np_energy_distance
from tests.specs.distributional import np_energy_score
from tests.specs.distributional import np_mmd


def test_crps_ensemble_properscoring(x64):
  r = REF["crps_ensemble"]
  close(jaxloss.crps_ensemble(r["obs"], r["fc"]), r["value"], msg=r["source"])


def test_crps_gaussian_properscoring(x64):
  r = REF["crps_gaussian"]
  close(
    jaxloss.crps_gaussian(r["y"], r["mu"], r["sig"]),
    r["value"],
    msg=r["source"],
  )


def test_crps_logistic_numerical_integral(x64):
  r = REF["crps_logistic"]
  close(
    jaxloss.crps_logistic(r["y"], r["loc"], r["scale"]),
    r["value"],
    rtol=1e-9,
    msg=r["source"],
  )


def test_energy_distance_scipy(x64):
  r = REF["energy_distance"]
  u = np.asarray(r["u"])[:, None]
  v = np.asarray(r["v"])[:, None]
  close(jaxloss.energy_distance(u, v), r["value"], msg=r["source"])
  close(jaxloss.energy_distance(u, v, tile_size=4), r["value"], msg=r["source"])


def test_mdn_nll_scipy(x64):
  r = REF["mdn_nll"]
  got = jaxloss.mdn_nll(r["y"], r["logits"], r["means"], r["scales"])
  close(got, r["value"], msg=r["source"])


def test_evidential_nll_is_student_t(x64):
  r = REF["evidential_nll"]
  got = jaxloss.evidential_regression(r["y"], r["y_pred"], coeff=0.0)
  close(got, r["value"], msg=r["source"])


def test_fair_estimators(x64):
  rng = np.random.default_rng(3)
  y, x = rng.normal(size=4), rng.normal(size=(4, 6))
  close(
    jaxloss.crps_ensemble(y, x, fair=True), np_crps_ensemble(y, x, fair=True)
  )
  yv, xv = rng.normal(size=(4, 2)), rng.normal(size=(4, 5, 2))
  for fair in (False, True):
    close(
      jaxloss.energy_score(yv, xv, fair=fair),
      np_energy_score(yv, xv, fair=fair),
    )
    # In one dimension the energy score is the CRPS.
    close(
      jaxloss.energy_score(y[:, None], x[..., None], fair=fair),
      jaxloss.crps_ensemble(y, x, fair=fair),
    )


def test_fair_crps_is_unbiased_for_the_sampling_distribution(x64):
  # Members and observation from N(0, 1): the fair score's mean over many
  # ensembles approaches the Gaussian CRPS, the standard one exceeds it by
  # E|X - X'| / (2M) = 1 / (M sqrt(pi)).
  rng = np.random.default_rng(0)
  m, n = 4, 50_000
  y, x = rng.normal(size=n), rng.normal(size=(n, m))
  truth = float(jnp.mean(jaxloss.crps_gaussian(y, np.zeros(n), np.ones(n))))
  fair = float(jnp.mean(jaxloss.crps_ensemble(y, x, fair=True)))
  standard = float(jnp.mean(jaxloss.crps_ensemble(y, x)))
  assert abs(fair - truth) < 0.01
  assert abs(standard - truth - 1 / (m * math.sqrt(math.pi))) < 0.01


def test_mmd_multiscale_gaussian_reference(x64):
  rng = np.random.default_rng(4)
  x, y = rng.normal(size=(2, 6, 2)), rng.normal(size=(2, 4, 2)) + 1.0
  for kwargs in (
    {"bandwidth": (0.5, 1.0, 2.0)},
    {"kernel": "multiscale", "bandwidth": 0.7},
    {"bandwidth": (0.5, 2.0), "estimator": "unbiased"},
  ):
    close(jaxloss.mmd(x, y, **kwargs), np_mmd(x, y, **kwargs), msg=str(kwargs))


def test_mmd_zero_for_identical_samples_and_positive_otherwise():
  x = np.random.default_rng(5).normal(size=(6, 3))
  assert float(jaxloss.mmd(x, x)) == pytest.approx(0.0, abs=1e-6)
  assert float(jaxloss.energy_distance(x, x)) == pytest.approx(0.0, abs=1e-6)
  assert float(jaxloss.mmd(x, x + 1.0)) > 0.1
  assert float(jaxloss.energy_distance(x, x + 1.0)) > 0.1


@pytest.mark.parametrize(
  "fn, kwargs",
  [
    (jaxloss.mmd, {"bandwidth": (0.5, 2.0), "estimator": "unbiased"}),
    (jaxloss.energy_distance, {}),
  ],
  ids=["mmd", "energy"],
)
def test_tiled_equals_untiled(x64, fn, kwargs):
  # 7 and 5 points in tiles of 3: three and two tiles, both padded.
  rng = np.random.default_rng(6)
  x = jnp.asarray(rng.normal(size=(2, 7, 3)))
  y = jnp.asarray(rng.normal(size=(2, 5, 3)) + 0.3)
  x = x.at[0, 1].set(x[0, 0])  # a repeated point: zero distance

  def total(x, y, tile):
    return jnp.sum(fn(x, y, tile_size=tile, **kwargs))

  want, want_grads = jax.jit(
    jax.value_and_grad(total, (0, 1)), static_argnums=2
  )(x, y, 128)
  ref_fn = np_mmd if fn is jaxloss.mmd else np_energy_distance
  close(want, np.sum(ref_fn(np.asarray(x), np.asarray(y), **kwargs)))
  got, grads = jax.jit(jax.value_and_grad(total, (0, 1)), static_argnums=2)(
    x, y, 3
  )
  close(got, want)
  for g, w in zip(grads, want_grads):
    assert np.all(np.isfinite(g))
    close(g, w)


def test_tiled_mmd_memory_does_not_grow_with_n_times_m():
  # Compiled (not run): value and gradient of a 4096 x 4096 comparison. One
  # [N, M] float32 matrix alone would take 64 MiB.
  n, d = 4096, 4
  x = jax.ShapeDtypeStruct((n, d), jnp.float32)

  def temp_bytes(fn, **kwargs):
    f = jax.jit(jax.grad(lambda a, b: fn(a, b, **kwargs), (0, 1)))
    return f.lower(x, x).compile().memory_analysis().temp_size_in_bytes

  for fn in (jaxloss.mmd, jaxloss.energy_distance):
    assert temp_bytes(fn, tile_size=128) < 8 * 2**20, fn.__name__


def test_tiling_under_vmap(x64):
  rng = np.random.default_rng(7)
  x, y = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 6, 2))
  got = jax.vmap(lambda a, b: jaxloss.mmd(a, b, tile_size=2))(x, y)
  close(got, jaxloss.mmd(x, y))


def test_closed_forms_at_zero_and_negative_scale():
  y, mu = jnp.array([1.5, -2.0]), jnp.array([0.0, 1.0])
  for fn in (jaxloss.crps_gaussian, jaxloss.crps_logistic):
    close(fn(y, mu, jnp.zeros(2)), [1.5, 3.0])
    # The limit is continuous: a tiny scale is close to it.
    close(fn(y, mu, jnp.full(2, 1e-4)), [1.5, 3.0], rtol=1e-3)
    assert np.all(np.isnan(fn(y, mu, -jnp.ones(2))))


def test_mdn_single_component_is_gaussian_nll(x64):
  rng = np.random.default_rng(11)
  y, mu = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
  s = rng.uniform(0.5, 2.0, size=(4, 1))
  got = jaxloss.mdn_nll(y, np.zeros((4, 1)), mu[:, None], s[:, None])
  close(got, jaxloss.gaussian_nll(y, mu, s**2, full=True))
  # The variance floor: a zero scale reads as sqrt(variance_floor).
  close(
    jaxloss.mdn_nll(
      y, np.zeros((4, 1)), mu[:, None], 0 * s[:, None], variance_floor=0.25
    ),
    jaxloss.gaussian_nll(y, mu, np.full((4, 1), 0.25), full=True),
  )


def test_evidential_regulariser(x64):
  y = np.array([0.3, -1.0])
  p = np.array([[0.0, 1.0, 2.0, 1.0], [0.5, 0.5, 3.0, 2.0]])
  diff = jaxloss.evidential_regression(
    y, p, coeff=0.5
  ) - jaxloss.evidential_regression(y, p, coeff=0.0)
  close(diff, 0.5 * np.abs(y - p[:, 0]) * (2 * p[:, 1] + p[:, 2]))
  close(
    jaxloss.evidential_regression(y[:, None], p, coeff=0.5),
    jaxloss.evidential_regression(y, p, coeff=0.5),
  )


@pytest.mark.parametrize(
  "call, match",
  [
    (lambda: jaxloss.crps_ensemble([0.0], [[1.0]], fair=True), "M >= 2"),
    (lambda: jaxloss.energy_score([[0.0]], [[[1.0]]], fair=True), "M >= 2"),
    (
      lambda: jaxloss.crps_gaussian([0.0], [0.0], [1.0, 1.0]),
      "mean and std must have the same shape",
    ),
    (lambda: jaxloss.mmd([[0.0]], [[1.0]], kernel="laplace"), "kernel must"),
    (lambda: jaxloss.mmd([[0.0]], [[1.0]], estimator="v"), "estimator must"),
    (lambda: jaxloss.mmd([[0.0]], [[1.0]], bandwidth=0.0), "bandwidth must"),
    (
      lambda: jaxloss.mmd([[0.0]], [[1.0]], bandwidth=(1.0, -1.0)),
      "bandwidth must",
    ),
    (lambda: jaxloss.mmd([[0.0]], [[1.0]], bandwidth=()), "not be empty"),
    (lambda: jaxloss.mmd([[0.0]], [[1.0]], tile_size=0), "tile_size must"),
    (
      lambda: jaxloss.mmd([[0.0]], [[1.0], [2.0]], estimator="unbiased"),
      "at least 2 samples",
    ),
    (
      lambda: jaxloss.energy_distance([[0.0]], [[1.0, 2.0]]),
      "share their leading axes and D",
    ),
    (lambda: jaxloss.energy_distance([0.0], [1.0]), "rank >= 2"),
    (
      lambda: jaxloss.mdn_nll(
        [[0.0]], [[0.0]], [[[0.0]]], [[[1.0]]], variance_floor=0.0
      ),
      "variance_floor must",
    ),
    (
      lambda: jaxloss.mdn_nll([[0.0]], [[0.0, 1.0]], [[[0.0]]], [[[1.0]]]),
      "logits must have the shape of means",
    ),
    (
      lambda: jaxloss.mdn_nll([[0.0, 1.0]], [[0.0]], [[[0.0]]], [[[1.0]]]),
      "y_true must have the shape of means",
    ),
    (
      lambda: jaxloss.evidential_regression([0.0], [[0.0, 1.0, 2.0]]),
      "last axis of 4",
    ),
    (
      lambda: jaxloss.evidential_regression(
        [0.0], [[0.0, 1.0, 2.0, 1.0]], coeff=-1.0
      ),
      "coeff must",
    ),
    (lambda: jaxloss.cox_ph([1.0], [1], [0.0], ties="exact"), "ties must"),
    (lambda: jaxloss.cox_ph([1.0, 2.0], [1, 1], [0.0]), "same length"),
    (lambda: jaxloss.cox_ph([1.0, 2.0], [1], [0.0, 1.0]), "events must"),
    (
      lambda: jaxloss.cox_ph([1.0, 2.0], [1, 1], [0.0, 1.0], strata=[0]),
      "strata must have one entry",
    ),
    (lambda: jaxloss.cox_ph([[1.0, 2.0]], [1, 1], [[0.0, 1.0]]), "rank 1"),
    (
      lambda: jaxloss.discrete_survival_nll([0], [1, 1], [[0.0, 1.0]]),
      "events must have the shape",
    ),
  ],
)
def test_configuration_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()
