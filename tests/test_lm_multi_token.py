"""Multi-token prediction loss (issue 25).

References: ``K`` separate ``jaxloss.linear_cross_entropy`` calls (values
and gradients of the head weight, bias and every depth's hidden states),
and a NumPy float64 transcription of DeepSeek-V3 eq. 24-25
(``lambda / K * sum_k`` token-mean cross-entropy of depth ``k``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

K, B, T, D, V = 3, 2, 5, 6, 19


def _data(seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(K, B, T, D))
  w = rng.normal(size=(D, V))
  b = rng.normal(size=(V,))
  tokens = rng.integers(0, V, size=(B, T + K))
  # depth k predicts the token k + 1 ahead of the main model's target
  y = np.stack([tokens[:, 1 + k : 1 + k + T] for k in range(K)])
  for k in range(K):
    y[k, :, T - k :] = -100  # past the end of the sequence
  return x, w, b, y


def numpy_reference(x, w, b, y, lam):
  per = []
  for k in range(K):
    z = x[k] @ w + b
    m = z.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[..., 0]
    valid = y[k] != -100
    tgt = np.take_along_axis(z, np.where(valid, y[k], 0)[..., None], -1)
    per.append(np.sum(np.where(valid, lse - tgt[..., 0], 0)) / valid.sum())
  return lam / K * np.sum(per), np.array(per)


def test_matches_deepseek_formula(x64):
  x, w, b, y = _data()
  lam = 0.3
  total, per = jaxloss.multi_token_prediction_loss(
    x, w, y, bias=b, depth_weights=np.full(K, lam / K), chunk_size=4
  )
  want_total, want_per = numpy_reference(x, w, b, y, lam)
  np.testing.assert_allclose(per, want_per, rtol=1e-12)
  np.testing.assert_allclose(total, want_total, rtol=1e-12)


@pytest.mark.parametrize(
  "opts", [dict(), dict(z_loss=1e-2, logit_softcap=4.0, label_smoothing=0.1)]
)
def test_equals_separate_calls(opts, x64):
  x, w, b, y = _data(1)
  dw = np.array([0.5, 0.3, 0.2])

  def fused(x, w, b):
    return jaxloss.multi_token_prediction_loss(
      x, w, y, bias=b, depth_weights=dw, chunk_size=4, **opts
    )[0]

  def separate(x, w, b):
    losses = [
      jaxloss.linear_cross_entropy(x[k], w, y[k], bias=b, chunk_size=4, **opts)
      for k in range(K)
    ]
    return jnp.sum(dw * jnp.stack(losses))

  vf, gf = jax.value_and_grad(fused, (0, 1, 2))(x, w, b)
  vs, gs = jax.value_and_grad(separate, (0, 1, 2))(x, w, b)
  np.testing.assert_allclose(vf, vs, rtol=1e-12)
  for a, c in zip(gf, gs):
    np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_traced_weights_normalizer_and_errors():
  x, w, b, y = _data(2)
  x, w = x.astype(np.float32), w.astype(np.float32)
  f = jax.jit(
    lambda dw: jaxloss.multi_token_prediction_loss(
      x, w, y, depth_weights=dw, normalizer=10.0
    )
  )
  total, per = f(jnp.array([1.0, 0.0, 0.0]))
  np.testing.assert_allclose(total, per[0])
  tok = jaxloss.linear_cross_entropy(x[0], w, y[0], reduction="sum")
  np.testing.assert_allclose(per[0], tok / 10.0, rtol=1e-6)
  with pytest.raises(ValueError, match="multi_token_prediction_loss: depth"):
    jaxloss.multi_token_prediction_loss(x, w, y, depth_weights=[1.0])
  with pytest.raises(ValueError, match="multi_token_prediction_loss: labels"):
    jaxloss.multi_token_prediction_loss(x, w, y[:, :1])
