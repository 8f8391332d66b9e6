"""``linear_log_probs(..., support=...)`` (issue 25): log-probabilities
renormalised over the ids the sampler could emit.

Reference: the naive path in float64 -- full logits ``x @ w + b``, soft
cap and temperature, every id outside the support set to ``-inf``, then
``log_softmax`` -- values, entropy and gradients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

N, D, V, K = 6, 5, 17, 4


def _data(seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(N, D))
  w = rng.normal(size=(D, V))
  b = rng.normal(size=(V,))
  z = x @ w + b[None, :]
  ids = np.argsort(-z, axis=-1)[:, :K]  # the sampler's top-k
  ids[1, -1] = -1  # a smaller set (a top-p cut), padded
  y = ids[np.arange(N), np.arange(N) % 3]  # sampled from the set
  y[4] = -100
  return x, w, b, y, ids


def naive(x, w, b, y, ids, temperature=1.0, cap=None):
  z = x @ w + b[None, :]
  if cap is not None:
    z = cap * jnp.tanh(z / cap)
  z = z / temperature
  allowed = jnp.zeros(z.shape, bool)
  for j in range(K):
    allowed = allowed | (
      (jnp.arange(V)[None] == ids[:, j : j + 1]) & (ids[:, j : j + 1] >= 0)
    )
  logq = jax.nn.log_softmax(jnp.where(allowed, z, -jnp.inf), axis=-1)
  valid = y != -100
  lp = jnp.take_along_axis(logq, np.where(valid, y, 0)[:, None], -1)[:, 0]
  q = jnp.exp(logq)
  ent = -jnp.sum(jnp.where(allowed, q * logq, 0), -1)
  return jnp.where(valid, lp, 0), jnp.where(valid, ent, 0)


@pytest.mark.parametrize(
  "opts", [dict(), dict(temperature=0.7, logit_softcap=3.0)], ids=str
)
def test_matches_naive_renormalisation(opts, x64):
  x, w, b, y, ids = _data()
  args = dict(
    temperature=opts.get("temperature", 1.0), cap=opts.get("logit_softcap")
  )

  def fused(x, w, b):
    lp, ent = jaxloss.linear_log_probs(
      x, w, y, bias=b, support=ids, return_entropy=True, chunk_size=5, **opts
    )
    return lp, ent

  lp, ent = fused(x, w, b)
  nlp, nent = naive(x, w, b, y, ids, **args)
  np.testing.assert_allclose(lp, nlp, rtol=1e-12, atol=1e-14)
  np.testing.assert_allclose(ent, nent, rtol=1e-12, atol=1e-14)
  g = jax.grad(lambda *a: jnp.sum(fused(*a)[0]), (0, 1, 2))(x, w, b)
  gn = jax.grad(
    lambda x, w, b: jnp.sum(naive(x, w, b, y, ids, **args)[0]), (0, 1, 2)
  )(x, w, b)
  for a, c in zip(g, gn):
    np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_full_support_is_the_plain_log_prob(x64):
  x, w, b, y, _ = _data(1)
  full = np.tile(np.arange(V), (N, 1))
  np.testing.assert_allclose(
    jaxloss.linear_log_probs(x, w, y, bias=b, support=full),
    jaxloss.linear_log_probs(x, w, y, bias=b),
    rtol=1e-12,
  )


def test_ratio_is_one_on_the_sampler_distribution():
  """The figure in docs/lm.md: the sampler draws from the top-k
  renormalised distribution; the training-side ratio
  ``exp(train_logp - sampler_logp)`` at the same parameters is 1 with the
  support and falls below 1 without it."""
  x, w, b, y, ids = (np.asarray(a) for a in _data(2))
  x, w, b = (a.astype(np.float32) for a in (x, w, b))
  sampler = naive(x, w, b, y, ids)[0]
  with_support = jaxloss.linear_log_probs(x, w, y, bias=b, support=ids)
  without = jaxloss.linear_log_probs(x, w, y, bias=b)
  valid = y != -100
  np.testing.assert_allclose(
    np.exp(with_support - sampler)[valid], 1.0, rtol=1e-5
  )
  assert np.all(np.exp(without - sampler)[valid] < 1.0)


def test_support_errors_and_empty_set():
  x, w, b, y, ids = _data(3)
  with pytest.raises(ValueError, match="linear_log_probs: support must"):
    jaxloss.linear_log_probs(x, w, y, support=ids[:, None])
  with pytest.raises(TypeError, match="linear_log_probs: support"):
    jaxloss.linear_log_probs(x, w, y, support=ids.astype(float))
  empty = ids.copy()
  empty[0] = -1
  got = jaxloss.linear_log_probs(x, w, y, support=empty)
  assert np.isnan(got[0]) and np.all(np.isfinite(got[1:]))
  g = jax.grad(
    lambda x: jnp.sum(jaxloss.linear_log_probs(x, w, y, support=empty)[1:])
  )(x)
  assert np.all(np.isfinite(g))


def naive_rule_ids(x, w, b, rule, temperature=1.0):
  """The sampler's set in NumPy float64: full logits / T, sorted."""
  z = (x @ w + b[None, :]) / temperature
  order = np.argsort(-z, axis=-1, kind="stable")
  k = rule.top_k or rule.max_candidates
  vals = np.take_along_axis(z, order, -1)[:, :k]
  ids = order[:, :k].copy()
  keep = np.ones(vals.shape, bool)
  if rule.top_p is not None:
    m = vals.max(-1, keepdims=True)
    if rule.top_k:
      ref = m[:, 0] + np.log(np.exp(vals - m).sum(-1))
    else:
      zm = z.max(-1, keepdims=True)
      ref = zm[:, 0] + np.log(np.exp(z - zm).sum(-1))
    p = np.exp(vals - ref[:, None])
    keep &= (np.cumsum(p, -1) - p) < rule.top_p
  if rule.min_p is not None:
    keep &= vals >= vals[:, :1] + np.log(rule.min_p)
  return np.where(keep, ids, -1)


RULES = [
  jaxloss.SamplingRule(top_k=5),
  jaxloss.SamplingRule(top_k=8, top_p=0.7),
  jaxloss.SamplingRule(top_p=0.8, max_candidates=10),
  jaxloss.SamplingRule(min_p=0.2, max_candidates=12),
]


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_rule_inside_the_scan_equals_the_sampler_ids(rule, x64):
  x, w, b, _, _ = _data(4)
  ids = naive_rule_ids(x, w, b, rule, temperature=0.8)
  y = ids[:, 0].copy()  # the most likely token is always in the set
  y[2] = -100
  kw = dict(bias=b, temperature=0.8, chunk_size=5, return_entropy=True)
  got = jaxloss.linear_log_probs(x, w, y, support=rule, **kw)
  want = jaxloss.linear_log_probs(x, w, y, support=ids, **kw)
  for a, c in zip(got, want):
    np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
  g = jax.grad(
    lambda w: jnp.sum(jaxloss.linear_log_probs(x, w, y, support=rule, **kw)[0])
  )(w)
  gw = jax.grad(
    lambda w: jnp.sum(jaxloss.linear_log_probs(x, w, y, support=ids, **kw)[0])
  )(w)
  np.testing.assert_allclose(g, gw, rtol=1e-10, atol=1e-12)


def test_rule_errors():
  x, w, b, y, _ = _data(5)
  with pytest.raises(ValueError, match="linear_log_probs: support.top_p"):
    jaxloss.linear_log_probs(x, w, y, support=jaxloss.SamplingRule(top_p=1.5))
  with pytest.raises(ValueError, match="linear_log_probs: support.top_k"):
    jaxloss.linear_log_probs(x, w, y, support=jaxloss.SamplingRule(top_k=0))
