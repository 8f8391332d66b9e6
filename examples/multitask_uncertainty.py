"""Multi-task learning with homoscedastic uncertainty weighting (nnx).

One trunk, two heads: a regression head (MSE) and a classification head
(sparse cross-entropy). ``jaxloss.flax.nnx.UncertaintyWeighting`` learns
one log-variance per task with the same optimizer (Kendall et al. 2018).

Run: ``python examples/multitask_uncertainty.py``
"""

from __future__ import annotations

from flax import nnx
import jax
import numpy as np
import optax

import jaxloss
from jaxloss.flax import nnx as jn


class MultiTask(nnx.Module):
  def __init__(self, din=6, hidden=16, classes=3, *, rngs):
    self.trunk = nnx.Linear(din, hidden, rngs=rngs)
    self.reg = nnx.Linear(hidden, 1, rngs=rngs)
    self.cls = nnx.Linear(hidden, classes, rngs=rngs)
    self.weighting = jn.UncertaintyWeighting(2, regression=(True, False))

  def __call__(self, x):
    h = nnx.tanh(self.trunk(x))
    return {"value": self.reg(h), "label": self.cls(h)}


def make_data(seed=0, n=96, classes=3):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 6)).astype(np.float32)
  value = (x[:, :1] * 3.0 + rng.normal(size=(n, 1))).astype(np.float32)
  label = np.argmax(x[:, 1 : 1 + classes], axis=-1).astype(np.int32)
  return x, {"value": value, "label": label}


def main(steps=300, seed=0, verbose=False):
  """Trains the model; returns losses and the learned log-variances."""
  x, targets = make_data(seed)
  model = MultiTask(rngs=nnx.Rngs(seed))
  optimizer = nnx.Optimizer(model, optax.adam(2e-2), wrt=nnx.Param)
  losses = {
    "value": jaxloss.MeanSquaredError(),
    "label": jaxloss.SparseCategoricalCrossentropy(from_logits=True),
  }

  @nnx.jit
  def step(model, optimizer, x, targets):
    def loss_fn(model):
      _, terms = jaxloss.combine(losses, targets, model(x))
      total = model.weighting([terms["value"], terms["label"]])
      return total, terms

    (total, terms), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    optimizer.update(model, grads)
    return total, terms

  history = []
  for i in range(steps):
    total, terms = step(model, optimizer, x, targets)
    history.append(float(total))
    if verbose and i % 50 == 0:
      print(
        f"step {i}: total={total:.4f} "
        f"mse={terms['value']:.4f} xent={terms['label']:.4f}"
      )
  log_var = np.asarray(model.weighting.log_variances[...])
  return {
    "first_loss": history[0],
    "last_loss": history[-1],
    "log_variances": log_var,
    "terms": jax.tree.map(float, terms),
  }


if __name__ == "__main__":
  print(main(verbose=True))
