"""Activity regularization in Flax nnx: a layer adds ``rate * sum(x**2)``.

``jaxloss.flax.nnx.add_loss`` sows an ``AuxLoss`` variable; the train step
runs the model under ``call_with_losses`` (``nnx.capture``), which returns
the summed terms of that call only.

Run: ``python examples/activity_regularization_nnx.py``
"""

from __future__ import annotations

from flax import nnx
import jax.numpy as jnp
import optax

import jaxloss
from jaxloss.flax import nnx as jn

try:  # a script run from examples/ or a module imported by the tests
  from activity_regularization_linen import make_data
except ImportError:  # pragma: no cover
  from examples.activity_regularization_linen import make_data


class ActivityRegularizedDense(nnx.Module):
  def __init__(self, din, dout, *, rate, rngs):
    self.dense = nnx.Linear(din, dout, rngs=rngs)
    self.rate = rate

  def __call__(self, x):
    y = nnx.relu(self.dense(x))
    jn.add_loss(self, self.rate * jnp.sum(y**2))
    return y


class MLP(nnx.Module):
  def __init__(self, din=4, hidden=16, *, rate=1e-3, rngs):
    self.l1 = ActivityRegularizedDense(din, hidden, rate=rate, rngs=rngs)
    self.l2 = ActivityRegularizedDense(hidden, hidden, rate=rate, rngs=rngs)
    self.out = nnx.Linear(hidden, 1, rngs=rngs)

  def __call__(self, x):
    return self.out(self.l2(self.l1(x)))


def main(steps=200, seed=0, rate=1e-3, hidden=16, verbose=False):
  """Trains the MLP; returns the first/last losses and the trace count."""
  x, y = make_data(seed)
  model = MLP(4, hidden, rate=rate, rngs=nnx.Rngs(seed))
  optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
  mse = jaxloss.MeanSquaredError()
  traces = []

  @nnx.jit
  def step(model, optimizer, x, y):
    traces.append(1)

    def loss_fn(model):
      pred, aux = jn.call_with_losses(model, x)
      task = mse(y, pred)
      return task + aux, (task, aux)

    (loss, (task, aux)), grads = nnx.value_and_grad(loss_fn, has_aux=True)(
      model
    )
    optimizer.update(model, grads)
    return loss, task, aux

  history = []
  for i in range(steps):
    loss, task, aux = step(model, optimizer, x, y)
    history.append(float(loss))
    if verbose and i % 50 == 0:
      print(f"step {i}: loss={loss:.4f} task={task:.4f} aux={aux:.4f}")
  return {
    "first_loss": history[0],
    "last_loss": history[-1],
    "aux": float(aux),
    "traces": len(traces),
    "model": model,
  }


if __name__ == "__main__":
  out = main(verbose=True)
  print({k: v for k, v in out.items() if k != "model"})
