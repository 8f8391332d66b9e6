"""Edge and adversarial inputs: each test pins one behaviour of issue 19.

Every test here failed before its fix: a NaN turned into a finite value, a
silently wrong result, a crash or an error message that did not say what
was wrong. Reference values are closed forms written out in the test.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

NAN = float("nan")


def _all_nan(x):
  return bool(np.all(np.isnan(np.asarray(x))))


# ------------------------------------------------ NaN in, NaN out


def test_lifted_struct_nan_embedding_propagates():
  emb = jnp.array([[0.0, NAN], [0.0, 2.0], [1.0, 0.0]])
  labels = jnp.array([0, 0, 1])
  assert _all_nan(jaxloss.lifted_struct_loss(labels, emb))
  assert _all_nan(jax.jit(jaxloss.lifted_struct_loss)(labels, emb))


def test_lifted_struct_nan_margin_propagates():
  emb = jnp.array([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
  assert _all_nan(jaxloss.lifted_struct_loss([0, 0, 1], emb, margin=NAN))


def test_lifted_struct_unchanged_without_nan():
  emb = [[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]]
  # The documented example value, and 0 when no pair has a negative.
  np.testing.assert_allclose(
      jaxloss.lifted_struct_loss([0, 0, 1], emb), 2.5426219, rtol=1e-6)
  assert jaxloss.lifted_struct_loss([0, 0, 0], emb) == 0.0


def test_robust_loss_nan_alpha_propagates():
  y = jnp.zeros((2, 3))
  p = jnp.ones((2, 3))
  assert _all_nan(jaxloss.robust_loss(y, p, alpha=jnp.nan))
  assert _all_nan(jax.jit(
      lambda a: jaxloss.robust_loss(y, p, alpha=a))(jnp.nan))
  g = jax.grad(lambda q: jnp.sum(jaxloss.robust_loss(y, q, alpha=jnp.nan)))(p)
  assert _all_nan(g)
  # The infinite limits are unchanged: Welsch 1 - exp(-s/2), s = 1.
  np.testing.assert_allclose(
      jaxloss.robust_loss(y, p, alpha=-jnp.inf), 1 - np.exp(-0.5) + 0 * y[:, 0],
      rtol=1e-6)


def test_approx_ndcg_nan_temperature_propagates_under_jit():
  t = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
  s = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
  assert _all_nan(jax.jit(
      lambda s: jaxloss.approx_ndcg(t, s, temperature=NAN))(s))
  assert _all_nan(jax.jit(
      lambda tau: jaxloss.approx_ndcg(t, s, temperature=tau))(jnp.nan))
  got = jax.jit(lambda s: jaxloss.approx_ndcg(t, s, temperature=0.1))(s)
  assert np.all((np.asarray(got) >= -1) & (np.asarray(got) <= 0))
