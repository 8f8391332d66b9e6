"""An ArcFace embedding model on scikit-learn's bundled digits (linen).

An MLP embeds 8x8 digit images; ``jaxloss.flax.linen.ArcFaceHead`` holds
one learnable centre per class, trained by the same optimizer. Prediction
is the nearest centre by cosine.

Run: ``python examples/arcface_digits.py``
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

from jaxloss.flax import linen as jl


class Embedder(nn.Module):
  features: int = 16

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Dense(64)(x))
    return nn.Dense(self.features)(x)


class Model(nn.Module):
  features: int = 16
  scale: float = 16.0
  margin: float = 0.3

  def setup(self):
    self.embed = Embedder(self.features)
    self.head = jl.ArcFaceHead(
      num_classes=10, scale=self.scale, margin=self.margin
    )

  def __call__(self, labels, x):
    return self.head(labels, self.embed(x))

  def predict(self, x):
    return jnp.argmax(self.head.cosines(self.embed(x)), axis=-1)


def load(n_train=None, seed=0):
  digits = load_digits()
  x = (digits.data / 16.0).astype(np.float32)
  y = digits.target.astype(np.int32)
  order = np.random.default_rng(seed).permutation(len(x))
  x, y = x[order], y[order]
  split = int(0.8 * len(x))
  train = (x[:split], y[:split])
  if n_train is not None:
    train = (train[0][:n_train], train[1][:n_train])
  return train, (x[split:], y[split:])


def main(steps=300, batch=128, n_train=None, seed=0, verbose=False):
  """Trains the model; returns losses and test accuracy."""
  (x, y), (x_test, y_test) = load(n_train, seed)
  model = Model()
  params = model.init(jax.random.key(seed), y[:2], x[:2])["params"]
  opt = optax.adam(3e-3)
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state, xb, yb):
    loss, grads = jax.value_and_grad(
      lambda p: model.apply({"params": p}, yb, xb)
    )(params)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(seed)
  history = []
  for i in range(steps):
    idx = rng.choice(len(x), size=min(batch, len(x)), replace=False)
    params, opt_state, loss = step(params, opt_state, x[idx], y[idx])
    history.append(float(loss))
    if verbose and i % 50 == 0:
      print(f"step {i}: loss={loss:.4f}")
  pred = model.apply({"params": params}, x_test, method=Model.predict)
  accuracy = float(np.mean(np.asarray(pred) == y_test))
  return {
    "first_loss": history[0],
    "last_loss": history[-1],
    "test_accuracy": accuracy,
  }


if __name__ == "__main__":
  print(main(verbose=True))
