"""Activity regularization in Flax linen: a layer adds ``rate * sum(x**2)``.

Keras's ``layer.add_loss()`` becomes ``jaxloss.flax.linen.add_loss`` (a
``sow`` into the "losses" collection); the train step collects the terms
with ``apply_with_losses`` and adds them to the task loss.

Run: ``python examples/activity_regularization_linen.py``
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from jaxloss.flax import linen as jl


class ActivityRegularizedDense(nn.Module):
  features: int
  rate: float = 1e-3

  @nn.compact
  def __call__(self, x):
    y = nn.relu(nn.Dense(self.features)(x))
    jl.add_loss(self, self.rate * jnp.sum(y**2))
    return y


class MLP(nn.Module):
  hidden: int = 16
  rate: float = 1e-3

  @nn.compact
  def __call__(self, x):
    x = ActivityRegularizedDense(self.hidden, self.rate)(x)
    x = ActivityRegularizedDense(self.hidden, self.rate)(x)
    return nn.Dense(1)(x)


def make_data(seed=0, n=64):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 4)).astype(np.float32)
  y = (np.sin(x[:, :1]) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
  return x, y


def main(steps=200, seed=0, rate=1e-3, hidden=16, verbose=False):
  """Trains the MLP; returns the first/last losses and the trace count."""
  x, y = make_data(seed)
  model = MLP(hidden=hidden, rate=rate)
  params = model.init(jax.random.key(seed), x)["params"]
  opt = optax.adam(1e-2)
  opt_state = opt.init(params)
  mse = jaxloss.MeanSquaredError()
  traces = []

  @jax.jit
  def step(params, opt_state, x, y):
    traces.append(1)

    def loss_fn(p):
      pred, aux = jl.apply_with_losses(model, {"params": p}, x)
      task = mse(y, pred)
      return task + aux, (task, aux)

    (loss, (task, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      params
    )
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, task, aux

  history = []
  for i in range(steps):
    params, opt_state, loss, task, aux = step(params, opt_state, x, y)
    history.append(float(loss))
    if verbose and i % 50 == 0:
      print(f"step {i}: loss={loss:.4f} task={task:.4f} aux={aux:.4f}")
  return {
    "first_loss": history[0],
    "last_loss": history[-1],
    "aux": float(aux),
    "traces": len(traces),
    "params": params,
  }


if __name__ == "__main__":
  out = main(verbose=True)
  print({k: v for k, v in out.items() if k != "params"})
