"""RNN-T FastEmit and gradient clamping.

FastEmit's reference is a NumPy float64 transcription of the gradient that
warp-transducer's kernel computes (Yu et al. 2021, eq. (8)): with forward
and backward variables alpha, beta, the occupancies of a node, of its
label emission and of its blank,

  d loss / d z[t, u, v] = p_v (occ(t, u) + lambda occ_emit(t, u))
                          - [v = blank] occ_blank(t, u)
                          - [v = y_{u+1}] (1 + lambda) occ_emit(t, u),

and the value is the plain negative log-likelihood.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss


def _np_rnnt_grad(z, y, blank=0, lam=0.0):
  """Value and gradient of one sequence's loss, float64 loops."""
  T, U1, V = z.shape
  U = U1 - 1
  m = z.max(-1, keepdims=True)
  lp = z - (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))
  p = np.exp(lp)
  bl = lp[..., blank]
  em = np.full((T, U1), -np.inf)
  for u in range(U):
    em[:, u] = lp[:, u, y[u]]
  alpha = np.full((T, U1), -np.inf)
  alpha[0, 0] = 0.0
  for t in range(T):
    for u in range(U1):
      if t == 0 and u == 0:
        continue
      terms = []
      if t > 0:
        terms.append(alpha[t - 1, u] + bl[t - 1, u])
      if u > 0:
        terms.append(alpha[t, u - 1] + em[t, u - 1])
      alpha[t, u] = np.logaddexp.reduce(terms)
  beta = np.full((T, U1), -np.inf)
  beta[T - 1, U] = bl[T - 1, U]
  for t in range(T - 1, -1, -1):
    for u in range(U, -1, -1):
      if t == T - 1 and u == U:
        continue
      terms = []
      if t < T - 1:
        terms.append(bl[t, u] + beta[t + 1, u])
      if u < U:
        terms.append(em[t, u] + beta[t, u + 1])
      beta[t, u] = np.logaddexp.reduce(terms)
  log_p = beta[0, 0]
  grad = np.zeros_like(z)
  for t in range(T):
    for u in range(U1):
      occ = np.exp(alpha[t, u] + beta[t, u] - log_p)
      nxt = beta[t + 1, u] if t < T - 1 else (0.0 if u == U else -np.inf)
      occ_blank = np.exp(alpha[t, u] + bl[t, u] + nxt - log_p)
      occ_emit = 0.0
      if u < U:
        occ_emit = np.exp(alpha[t, u] + em[t, u] + beta[t, u + 1] - log_p)
      grad[t, u] = p[t, u] * (occ + lam * occ_emit)
      grad[t, u, blank] -= occ_blank
      if u < U:
        grad[t, u, y[u]] -= (1 + lam) * occ_emit
  return -log_p, grad


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.5])
def test_fastemit_matches_the_warp_transducer_gradient(lam, x64):
  rng = np.random.default_rng(7)
  z = rng.normal(size=(2, 4, 3, 5))
  y = np.array([[1, 3], [4, 2]])
  loss = jaxloss.rnnt_loss(z, y, fastemit_lambda=lam)
  grads = jax.grad(
    lambda z: jnp.sum(jaxloss.rnnt_loss(z, y, fastemit_lambda=lam))
  )(z)
  for b in range(2):
    value, grad = _np_rnnt_grad(z[b], y[b], lam=lam)
    np.testing.assert_allclose(loss[b], value, rtol=1e-10)
    np.testing.assert_allclose(grads[b], grad, rtol=1e-8, atol=1e-12)


def test_clamp_clips_each_sequence_gradient_before_the_reduction(x64):
  rng = np.random.default_rng(8)
  z = 3.0 * rng.normal(size=(2, 3, 3, 4))
  y = np.array([[1, 2], [3, 1]])
  plain = jax.grad(lambda z: jnp.sum(jaxloss.rnnt_loss(z, y)))(z)
  lengths = (np.array([3, 3]), np.array([2, 2]))
  mean = jax.grad(lambda z: jaxloss.RNNTLoss(clamp=0.05)(z, y, *lengths))(z)
  # The mean scales the clamped per-sequence gradient by 1 / B.
  np.testing.assert_allclose(mean, np.clip(plain, -0.05, 0.05) / 2, rtol=1e-10)
  loose = jax.grad(lambda z: jnp.sum(jaxloss.rnnt_loss(z, y, clamp=100.0)))(z)
  np.testing.assert_allclose(loose, plain, rtol=1e-12)
  np.testing.assert_allclose(
    jaxloss.rnnt_loss(z, y, clamp=0.05), jaxloss.rnnt_loss(z, y), rtol=1e-12
  )


def test_fastemit_rejects_negative_lambda():
  with pytest.raises(ValueError, match="rnnt_loss: fastemit_lambda must be"):
    jaxloss.RNNTLoss(fastemit_lambda=-0.1)
