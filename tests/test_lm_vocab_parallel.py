"""Vocab-parallel cross-entropy on 8 simulated CPU devices (issue 6).

Reference: the single-device ``jaxloss.linear_cross_entropy`` (itself tested
against the naive path in tests/test_lm_cross_entropy.py), values and
gradients, on a ``data x model`` mesh with the vocabulary sharded over
``model``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss

B, T, D, V = 4, 3, 5, 32
IGNORE = -100
OPTS = dict(label_smoothing=0.1, z_loss=1e-2, logit_softcap=3.0)


@pytest.fixture(scope="module")
def mesh():
  if jax.device_count() < 8:
    pytest.skip("needs 8 (simulated) devices")
  return Mesh(np.array(jax.devices()[:8]).reshape(2, 4), ("data", "model"))


def _data():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(D, V)), jnp.float32)
  b = jnp.asarray(rng.normal(size=(V,)), jnp.float32)
  y = rng.integers(0, V, (B, T)).astype(np.int32)
  # Uneven ignores: the data shards hold 5 and 2 counted tokens, so the
  # global mean differs from the mean of per-shard means.
  y[0, 1] = y[2, :] = y[3, 0] = IGNORE
  return x, w, b, jnp.asarray(y)


def _single(x, w, b, y):
  return jaxloss.linear_cross_entropy(x, w, y, bias=b, **OPTS)


def _check(got, want):
  np.testing.assert_allclose(got[0], want[0], rtol=2e-6)
  for g, r in zip(got[1], want[1], strict=True):
    np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6)


def test_linear_weight_sharded_matches_single_device(mesh):
  x, w, b, y = _data()

  def body(x, w, b, y):
    n = jaxloss.count_tokens(y, axis_name="data")
    loss = jaxloss.vocab_parallel_linear_cross_entropy(
      x,
      w,
      y,
      axis_name="model",
      bias_shard=b,
      normalizer=n,
      chunk_size=3,
      **OPTS,
    )
    return jax.lax.psum(loss, "data")

  par = jax.shard_map(
    body,
    mesh=mesh,
    out_specs=P(),
    in_specs=(P("data"), P(None, "model"), P("model"), P("data")),
  )
  f = lambda x, w, b: par(x, w, b, y)
  got = jax.jit(jax.value_and_grad(f, (0, 1, 2)))(x, w, b)
  want = jax.value_and_grad(_single, (0, 1, 2))(x, w, b, y)
  _check(got, want)
  # Not the mean of the per-shard means (the check can fail).
  per_shard = [_single(x[i : i + 2], w, b, y[i : i + 2]) for i in (0, 2)]
  assert abs(np.mean(per_shard) - got[0]) > 1e-3


def test_logits_sharded_matches_single_device(mesh):
  x, w, b, y = _data()

  def body(z, y):
    n = jaxloss.count_tokens(y, axis_name="data")
    loss = jaxloss.vocab_parallel_cross_entropy(
      z, y, axis_name="model", normalizer=n, **OPTS
    )
    return jax.lax.psum(loss, "data")

  par = jax.shard_map(
    body,
    mesh=mesh,
    out_specs=P(),
    in_specs=(P("data", None, "model"), P("data")),
  )
  f = lambda x, w, b: par(jnp.einsum("btd,dv->btv", x, w) + b[None, None], y)
  got = jax.jit(jax.value_and_grad(f, (0, 1, 2)))(x, w, b)
  want = jax.value_and_grad(_single, (0, 1, 2))(x, w, b, y)
  _check(got, want)


def test_per_token_values_on_every_shard(mesh):
  x, w, b, y = _data()

  def body(x, w, y):
    return jaxloss.vocab_parallel_linear_cross_entropy(
      x, w, y, axis_name="model", reduction="none", **OPTS
    )

  par = jax.shard_map(
    body,
    mesh=mesh,
    out_specs=P("data"),
    in_specs=(P("data"), P(None, "model"), P("data")),
  )
  got = par(x, w, y)
  want = jaxloss.linear_cross_entropy(x, w, y, reduction="none", **OPTS)
  np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_unbound_axis_and_bad_shapes_raise(mesh):
  x, w, _, y = _data()
  with pytest.raises(ValueError, match="vocab_parallel_cross_entropy: "):
    jaxloss.vocab_parallel_cross_entropy(x @ w, y, axis_name="model")
  par = jax.shard_map(
    lambda z, y: jaxloss.vocab_parallel_cross_entropy(
      z, y[:, :2], axis_name="model"
    ),
    mesh=mesh,
    out_specs=P(),
    in_specs=(P(None, None, "model"), P()),
  )
  with pytest.raises(ValueError, match="labels must have the shape"):
    par(x @ w, y)
