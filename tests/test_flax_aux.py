"""Auxiliary losses (Keras add_loss) in linen and nnx: recorded values,
no accumulation across calls, nothing at init, no retrace, linen == nnx."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.optional import require

require("flax")
require("optax")
from flax import nnx  # noqa: E402
import flax.linen as nn  # noqa: E402
import optax  # noqa: E402

from jaxloss.flax import add_loss  # noqa: E402
from jaxloss.flax import collect_losses  # noqa: E402
from jaxloss.flax import linen as jl  # noqa: E402
from jaxloss.flax import nnx as jn  # noqa: E402

RATE = 0.1
X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)


class LinenAct(nn.Module):
  @nn.compact
  def __call__(self, x):
    y = nn.Dense(2)(x)
    jl.add_loss(self, RATE * jnp.sum(y**2))
    add_loss(self, 1.0, name="const")  # dispatching form
    return y


class NnxAct(nnx.Module):
  def __init__(self, rngs):
    self.dense = nnx.Linear(3, 2, rngs=rngs)

  def __call__(self, x):
    y = self.dense(x)
    jn.add_loss(self, RATE * jnp.sum(y**2))
    add_loss(self, 1.0, name="const")
    return y


def _hand(kernel, bias, x=X):
  y = np.asarray(x, np.float64) @ np.asarray(kernel) + np.asarray(bias)
  return RATE * np.sum(y.astype(np.float64) ** 2) + 1.0


def test_linen_terms_equal_hand_values_and_init_records_nothing():
  model = LinenAct()
  variables = model.init(jax.random.key(0), X)
  assert set(variables) == {"params"}  # nothing recorded at init
  p = variables["params"]["Dense_0"]
  out, total = jl.apply_with_losses(model, variables, X)
  np.testing.assert_allclose(total, _hand(p["kernel"], p["bias"]), rtol=1e-5)
  # Stale terms passed back in do not accumulate.
  _, state = model.apply(variables, X, mutable=["losses"])
  _, again = jl.apply_with_losses(model, {**variables, **state}, X)
  np.testing.assert_allclose(again, total, rtol=1e-6)

  # Asked for: terms recorded during init.
  class Eager(nn.Module):
    @nn.compact
    def __call__(self, x):
      jl.add_loss(self, jnp.sum(x), during_init=True)
      return x

  assert "losses" in Eager().init(jax.random.key(0), X)
  # Not mutable: nothing recorded, no error.
  assert model.apply(variables, X).shape == (4, 2)


def test_linen_same_name_twice_in_one_call_is_summed():
  class Twice(nn.Module):
    @nn.compact
    def __call__(self, x):
      jl.add_loss(self, 1.5)
      jl.add_loss(self, 2.0)
      return x

  _, total = jl.apply_with_losses(Twice(), {}, X)
  assert float(total) == 3.5


def test_nnx_terms_equal_hand_values_and_plain_call_records_nothing():
  model = NnxAct(nnx.Rngs(0))
  k, b = np.asarray(model.dense.kernel[...]), np.asarray(model.dense.bias[...])
  out, total = jn.call_with_losses(model, X)
  np.testing.assert_allclose(total, _hand(k, b), rtol=1e-5)
  _, total2 = jn.call_with_losses(model, X)
  np.testing.assert_allclose(total2, total, rtol=1e-6)  # no accumulation
  model(X)  # a plain call records nothing (and warns about nothing)
  assert not nnx.state(model, jn.AuxLoss)


def test_linen_equals_nnx_for_same_parameters():
  lin = LinenAct()
  variables = lin.init(jax.random.key(1), X)
  p = variables["params"]["Dense_0"]
  model = NnxAct(nnx.Rngs(0))
  model.dense.kernel[...] = p["kernel"]
  model.dense.bias[...] = p["bias"]
  out_l, tot_l = jl.apply_with_losses(lin, variables, X)
  out_n, tot_n = jn.call_with_losses(model, X)
  np.testing.assert_allclose(out_l, out_n, rtol=1e-6)
  np.testing.assert_allclose(tot_l, tot_n, rtol=1e-6)


def test_collect_losses_empty_is_zero():
  assert float(collect_losses({})) == 0.0
  assert float(collect_losses({"params": {}, "losses": {}})) == 0.0


@pytest.mark.parametrize("kind", ["linen", "nnx"])
def test_jitted_train_step_does_not_retrace_and_grads_flow(kind):
  traces = []
  opt = optax.sgd(0.1)
  if kind == "linen":
    model = LinenAct()
    params = model.init(jax.random.key(0), X)["params"]
    state = opt.init(params)

    @jax.jit
    def step(params, state, x):
      traces.append(1)

      def loss_fn(p):
        out, aux = jl.apply_with_losses(model, {"params": p}, x)
        return jnp.mean(out) + aux

      loss, g = jax.value_and_grad(loss_fn)(params)
      upd, state = opt.update(g, state)
      return optax.apply_updates(params, upd), state, loss, g

    losses = []
    for _ in range(3):
      params, state, loss, g = step(params, state, X)
      losses.append(float(loss))
    grads = g
  else:
    model = NnxAct(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, opt, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x):
      traces.append(1)

      def loss_fn(m):
        out, aux = jn.call_with_losses(m, x)
        return jnp.mean(out) + aux

      loss, g = nnx.value_and_grad(loss_fn)(model)
      optimizer.update(model, g)
      return loss, g

    losses = []
    for _ in range(3):
      loss, g = step(model, optimizer, X)
      losses.append(float(loss))
    grads = nnx.to_pure_dict(g) if hasattr(nnx, "to_pure_dict") else g
  assert len(traces) == 1
  assert losses[-1] < losses[0]
  assert all(float(jnp.abs(x).sum()) > 0 for x in jax.tree.leaves(grads))
