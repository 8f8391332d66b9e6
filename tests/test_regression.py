"""Regression losses beyond the generic contracts, with Barron's robust loss.

Sources: closed forms of Barron 2019, eq. (8) and sec. 2 for the robust
loss's special cases; PyTorch 2.13 values stored in tests/reference_data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from tests.family_helpers import X64
from tests.specs.regression import np_barron
from tests.specs.regression import np_robust
from tests.specs.regression import wide_reg_inputs

_X = np.linspace(-6.0, 6.0, 13)[None]


_ZERO = np.zeros_like(_X)


@pytest.mark.parametrize(
  "alpha,closed_form",
  [
    (2.0, lambda s: s / 2),  # L2
    (1.0, lambda s: np.sqrt(s + 1) - 1),  # pseudo-Huber
    (0.0, lambda s: np.log(s / 2 + 1)),  # Cauchy
    (-2.0, lambda s: 2 * s / (s + 4)),  # Geman-McClure
    (-np.inf, lambda s: 1 - np.exp(-s / 2)),  # Welsch
    (np.inf, lambda s: np.expm1(s / 2)),
  ],
  ids=["2", "1", "0", "-2", "-inf", "inf"],
)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_robust_special_cases(alpha, closed_form, scale, x64):
  """Barron 2019, sec. 2 / eq. (8): named losses as special cases."""
  per_elem = jaxloss.robust_loss(_ZERO.T, _X.T, alpha=alpha, scale=scale)
  np.testing.assert_allclose(per_elem, closed_form((_X[0] / scale) ** 2), **X64)


@pytest.mark.parametrize("alpha", [-3.0, -0.5, 0.25, 0.5, 1.5, 3.0])
def test_robust_general_formula(alpha, x64):
  got = jaxloss.robust_loss(_ZERO.T, _X.T, alpha=alpha, scale=0.7)
  want = [np_barron(x, alpha, 0.7) for x in _X[0]]
  np.testing.assert_allclose(got, want, **X64)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("limit", [0.0, 2.0])
def test_robust_stable_near_limits(limit, dtype, x64):
  """Approaching alpha = 0 or 2 from both sides gives the limit's value
  (to the size of the step in alpha), with no cancellation blow-up."""
  x = jnp.asarray(_X.T, dtype)
  at = jaxloss.robust_loss(jnp.zeros_like(x), x, alpha=limit)
  tol = 1e-4 if dtype == jnp.float32 else 1e-9
  for delta in (1e-3, 1e-6, 1e-9, 1e-12):
    for a in (limit - delta, limit + delta):
      near = jaxloss.robust_loss(
        jnp.zeros_like(x), x, alpha=jnp.asarray(a, dtype)
      )
      assert np.all(np.isfinite(near))
      np.testing.assert_allclose(
        near, at, rtol=max(tol, 30 * delta), atol=1e-12
      )


def test_robust_grad_alpha_scale(x64):
  """d/dalpha and d/dscale against finite differences (float64), alpha and
  scale as traced (jitted) inputs, through alpha = 0 (the series branch)."""
  t, p = wide_reg_inputs(np.random.default_rng(5), 2)

  @jax.jit
  def f(a, c):
    return jnp.sum(jaxloss.robust_loss(t, p, alpha=a, scale=c))

  for alpha in (-3.0, 0.0, 1e-4, 0.5, 1.9, 3.0):
    check_grads(
      f,
      (jnp.asarray(alpha), jnp.asarray(0.8)),
      order=1,
      modes=("rev",),
      eps=1e-5,
      atol=1e-5,
      rtol=1e-5,
    )


def test_robust_alpha_gradient_at_two_is_finite_and_positive(x64):
  """The true d/dalpha diverges (logarithmically) at alpha = 2; ours is a
  finite positive value, so a learnable alpha starting at 2 still moves."""
  g = jax.jit(
    jax.grad(lambda a: jnp.sum(jaxloss.robust_loss(_ZERO, _X, alpha=a)))
  )
  at_two = g(2.0)
  assert np.isfinite(at_two) and at_two > g(1.99) > 0


def test_robust_per_dimension_parameters(x64):
  t, p = wide_reg_inputs(np.random.default_rng(6), 3)
  alpha = jnp.asarray([-4.0, 0.0, 1.0, 2.0, -jnp.inf])
  scale = jnp.asarray([0.5, 1.0, 1.5, 2.0, 3.0])
  got = jax.jit(lambda a, c: jaxloss.robust_loss(t, p, alpha=a, scale=c))(
    alpha, scale
  )
  np.testing.assert_allclose(got, np_robust(t, p, alpha, scale), **X64)
  grads = jax.grad(
    lambda a, c: jnp.sum(jaxloss.robust_loss(t, p, alpha=a, scale=c)),
    argnums=(0, 1),
  )(alpha, scale)
  assert all(np.all(np.isfinite(g)) for g in grads)
