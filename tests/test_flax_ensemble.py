"""Ensembles: per-member losses under jax.vmap / nnx.vmap equal the loop."""

import importlib.util
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.optional import require

require("flax")
from flax import nnx  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _example(name):
  spec = importlib.util.spec_from_file_location(
    f"_ex_{name}", ROOT / f"{name}.py"
  )
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # dataclasses (linen modules) look it up
  spec.loader.exec_module(module)
  return module


def test_linen_vmapped_member_losses_and_grads_equal_loop():
  ex = _example("ensemble_vmap")
  x, y = ex.make_data(0, n=8)
  model, loss = ex.Net(hidden=4), jaxloss.MeanSquaredError()
  keys = jax.random.split(jax.random.key(0), 3)
  params = jax.vmap(lambda k: model.init(k, x)["params"])(keys)
  w = jnp.asarray(np.random.default_rng(0).poisson(1.0, (3, 8)), jnp.float32)
  f = jax.value_and_grad(lambda p, w: ex.member_loss(model, loss, p, x, y, w))
  values, grads = jax.jit(jax.vmap(f))(params, w)
  for i in range(3):
    member = jax.tree.map(lambda a, i=i: a[i], params)
    v, g = f(member, w[i])
    np.testing.assert_allclose(values[i], v, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(g), strict=True):
      np.testing.assert_allclose(a[i], b, rtol=1e-4, atol=1e-6)


def test_nnx_vmapped_member_losses_equal_loop():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(6, 2)), jnp.float32)
  y = jnp.sin(x[:, :1])
  huber = jaxloss.Huber(delta=0.5)

  @nnx.split_rngs(splits=4)
  @nnx.vmap(in_axes=(0,), out_axes=0)
  def make(rngs):
    return nnx.Linear(2, 1, rngs=rngs)

  ensemble = make(nnx.Rngs(0))

  @nnx.vmap(in_axes=(0, None, None))
  def member_loss(model, x, y):
    return huber(y, model(x))

  values = member_loss(ensemble, x, y)
  assert values.shape == (4,)
  graphdef, state = nnx.split(ensemble)
  for i in range(4):
    member = nnx.merge(graphdef, jax.tree.map(lambda a, i=i: a[i], state))
    np.testing.assert_allclose(values[i], huber(y, member(x)), rtol=1e-6)
