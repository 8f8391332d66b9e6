"""Fused-head extras of ``linear_cross_entropy`` (issue 25): per-token
log-sum-exp (differentiable), z-loss term, entropy, argmax and correctness
from the same chunked pass, and Dynamic Fine-Tuning's token scaling.

Reference: the naive path that materialises ``x @ w`` and applies
``jax.nn.logsumexp`` / ``softmax`` / ``argmax`` (float64), values and
gradients; the vocab-parallel form against the single-device call on 8
simulated devices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss

N, D, V = 7, 5, 23


def _data(seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(N, D)) * 2
  w = rng.normal(size=(D, V))
  y = rng.integers(0, V, N)
  y[2] = -100
  return x, w, y


def naive(x, w, y, cap=None, z=0.0, dft=False, ls=0.0):
  s = x @ w
  if cap:
    s = cap * jnp.tanh(s / cap)
  lse = jax.nn.logsumexp(s, -1)
  valid = y != -100
  tgt = jnp.take_along_axis(s, jnp.where(valid, y, 0)[:, None], -1)[:, 0]
  ce = lse - (1 - ls) * tgt - ls * jnp.mean(s, -1)
  if dft:
    ce = jax.lax.stop_gradient(jnp.exp(tgt - lse)) * ce
  v = jnp.where(valid, ce + z * lse**2, 0)
  ent = -jnp.sum(jax.nn.softmax(s, -1) * jax.nn.log_softmax(s, -1), -1)
  am = jnp.argmax(s, -1)
  return (
    jnp.sum(v) / jnp.sum(valid),
    jnp.where(valid, lse, 0),
    jnp.where(valid, ent, 0),
    jnp.where(valid, am, -1),
  )


CASES = [
  dict(),
  dict(logit_softcap=3.0, z_loss=1e-2, dft_scaling=True),
  dict(z_loss=0.1, dft_scaling=True, label_smoothing=0.1),
]


@pytest.mark.parametrize("opts", CASES, ids=str)
def test_stats_and_gradients_match_naive(opts, x64):
  x, w, y = _data()
  kw = dict(chunk_size=5, **opts)
  loss, st = jaxloss.linear_cross_entropy(
    x, w, y, return_token_stats=True, **kw
  )
  args = dict(
    cap=opts.get("logit_softcap"),
    z=opts.get("z_loss", 0.0),
    dft=opts.get("dft_scaling", False),
    ls=opts.get("label_smoothing", 0.0),
  )
  nl, nlse, nent, nam = naive(x, w, y, **args)
  np.testing.assert_allclose(loss, nl, rtol=1e-12)
  np.testing.assert_allclose(st["lse"], nlse, rtol=1e-12)
  np.testing.assert_allclose(st["z_loss"], args["z"] * nlse**2, rtol=1e-12)
  np.testing.assert_allclose(st["entropy"], nent, rtol=1e-10, atol=1e-12)
  np.testing.assert_array_equal(st["argmax"], nam)
  np.testing.assert_array_equal(st["correct"], (nam == y) & (y != -100))
  # without the extras the loss is the same program's value
  np.testing.assert_allclose(
    jaxloss.linear_cross_entropy(x, w, y, **kw), loss, rtol=1e-12
  )

  def fused(x, w):
    lo, s = jaxloss.linear_cross_entropy(x, w, y, return_token_stats=True, **kw)
    return lo + 0.3 * jnp.sum(s["lse"]) + jnp.sum(s["z_loss"])

  def reference(x, w):
    lo, lse, _, _ = naive(x, w, y, **args)
    return lo + 0.3 * jnp.sum(lse) + args["z"] * jnp.sum(lse**2)

  for a, b in zip(
    jax.grad(fused, (0, 1))(x, w), jax.grad(reference, (0, 1))(x, w)
  ):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_token_accuracy_and_ties():
  # a head whose logits tie: the first maximum wins, across chunks
  x = np.ones((3, 2), np.float32)
  w = np.zeros((2, 6), np.float32)
  w[:, 4] = w[:, 1] = 1.0
  y = np.array([1, 4, -100])
  _, st = jaxloss.linear_cross_entropy(
    x, w, y, chunk_size=2, return_token_stats=True
  )
  np.testing.assert_array_equal(st["argmax"], [1, 1, -1])
  np.testing.assert_array_equal(st["correct"], [True, False, False])


def test_ignored_rows_hold_nan():
  x, w, y = _data(1)
  x = x.astype(np.float32)
  x[2] = np.nan  # the ignored token
  loss, st = jaxloss.linear_cross_entropy(
    x, w.astype(np.float32), y, return_token_stats=True
  )
  assert np.isfinite(loss)
  for k in ("lse", "entropy", "z_loss"):
    assert np.all(np.isfinite(st[k])) and st[k][2] == 0


def test_vocab_parallel_stats_match_single_device():
  if jax.device_count() < 8:
    pytest.skip("needs 8 (simulated) devices")
  mesh = Mesh(np.array(jax.devices()[:8]), ("model",))
  rng = np.random.default_rng(3)
  x = rng.normal(size=(N, D)).astype(np.float32)
  w = rng.normal(size=(D, 8 * 4)).astype(np.float32)
  w[:, 5] = w[:, 21] = 3.0  # a tie across shards: the lower id wins
  x[0] = 1.0
  y = rng.integers(0, 32, N)
  y[3] = -100
  opts = dict(z_loss=1e-2, dft_scaling=True, chunk_size=3)

  def body(x, w):
    loss, st = jaxloss.vocab_parallel_linear_cross_entropy(
      x, w, y, axis_name="model", return_token_stats=True, **opts
    )
    return loss + jnp.sum(st["lse"]), st

  par = jax.shard_map(
    body, mesh=mesh, in_specs=(P(), P(None, "model")), out_specs=P()
  )

  def single(x, w):
    loss, st = jaxloss.linear_cross_entropy(
      x, w, y, return_token_stats=True, **opts
    )
    return loss + jnp.sum(st["lse"]), st

  (got, gst), gg = jax.jit(jax.value_and_grad(par, (0, 1), has_aux=True))(x, w)
  (want, wst), wg = jax.value_and_grad(single, (0, 1), has_aux=True)(x, w)
  np.testing.assert_allclose(got, want, rtol=2e-6)
  for k in ("lse", "entropy"):
    np.testing.assert_allclose(gst[k], wst[k], rtol=2e-5, atol=1e-6)
  np.testing.assert_array_equal(gst["argmax"], wst["argmax"])
  for a, b in zip(gg, wg):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
