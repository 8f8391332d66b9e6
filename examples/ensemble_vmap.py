"""An ensemble of small nets trained at once under ``jax.vmap`` (linen).

Parameters carry a leading ensemble axis; one jitted step vmaps the
per-member loss and gradient over it, so every member sees its own
parameters and (here) its own bootstrap sample weights. Members are
independent: the vmapped step equals a Python loop over members.

Run: ``python examples/ensemble_vmap.py``
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss


class Net(nn.Module):
  hidden: int = 16

  @nn.compact
  def __call__(self, x):
    return nn.Dense(1)(nn.tanh(nn.Dense(self.hidden)(x)))


def make_data(seed=0, n=48):
  rng = np.random.default_rng(seed)
  x = rng.uniform(-2, 2, size=(n, 1)).astype(np.float32)
  y = (np.sin(2 * x) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
  return x, y


def member_loss(model, loss, params, x, y, sample_weight):
  """One member's loss: the function that gets vmapped."""
  return loss(
    y, model.apply({"params": params}, x), sample_weight=sample_weight
  )


def make_step(model, loss, opt):
  def step(params, opt_state, x, y, weights):
    grad_fn = jax.value_and_grad(
      lambda p, w: member_loss(model, loss, p, x, y, w)
    )
    values, grads = jax.vmap(grad_fn)(params, weights)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, values

  return step


def main(members=8, steps=200, seed=0, verbose=False):
  """Trains ``members`` nets; returns per-member losses and the trace count."""
  x, y = make_data(seed)
  model = Net()
  keys = jax.random.split(jax.random.key(seed), members)
  params = jax.vmap(lambda k: model.init(k, x)["params"])(keys)
  # Bootstrap: each member weights the samples by Poisson(1) counts.
  rng = np.random.default_rng(seed)
  weights = jnp.asarray(
    rng.poisson(1.0, size=(members, x.shape[0])), jnp.float32
  )
  opt = optax.adam(1e-2)
  opt_state = opt.init(params)  # elementwise optimizer: vmapping not needed
  traces = []
  step = make_step(model, jaxloss.MeanSquaredError(), opt)

  @jax.jit
  def jitted(params, opt_state, x, y, weights):
    traces.append(1)
    return step(params, opt_state, x, y, weights)

  first = None
  for i in range(steps):
    params, opt_state, values = jitted(params, opt_state, x, y, weights)
    if first is None:
      first = np.asarray(values)
    if verbose and i % 50 == 0:
      print(f"step {i}: member losses {np.round(np.asarray(values), 4)}")
  preds = jax.vmap(lambda p: model.apply({"params": p}, x))(params)
  ensemble_mse = float(jnp.mean((jnp.mean(preds, 0) - y) ** 2))
  return {
    "first_losses": first,
    "last_losses": np.asarray(values),
    "ensemble_mse": ensemble_mse,
    "traces": len(traces),
    "params": params,
  }


if __name__ == "__main__":
  out = main(verbose=True)
  print({k: v for k, v in out.items() if k != "params"})
