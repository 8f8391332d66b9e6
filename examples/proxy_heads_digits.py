"""Retrieval embeddings on scikit-learn's bundled digits with learnable
proxies (linen and nnx).

An MLP embeds 8x8 digit images; a proxy head (``ProxyAnchorHead``,
``SoftTripleHead``, ``ProxyNCAHead``, ... from ``jaxloss.flax.linen`` or
``jaxloss.flax.nnx``) holds the learnable proxies, trained by the same
optimizer. Retrieval recall@1 on held-out digits: the share of queries whose
nearest other test embedding (by cosine) has the same label.

Run: ``python examples/proxy_heads_digits.py``
"""

from __future__ import annotations

from arcface_digits import load  # the same split of the bundled digits
from flax import nnx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxloss.flax import linen as jl
from jaxloss.flax import nnx as jn

FEATURES = 16


def recall_at_1(emb, labels):
  """Leave-one-out nearest neighbour by cosine: same label?"""
  u = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-7)
  sim = u @ u.T
  np.fill_diagonal(sim, -np.inf)
  return float(np.mean(labels[np.argmax(sim, axis=1)] == labels))


# ------------------------------------------------------------------ linen


class Embedder(nn.Module):
  @nn.compact
  def __call__(self, x):
    return nn.Dense(FEATURES)(nn.relu(nn.Dense(64)(x)))


class Model(nn.Module):
  head: nn.Module

  def setup(self):
    self.embed = Embedder()

  def __call__(self, labels, x):
    return self.head(labels, self.embed(x))

  def embeddings(self, x):
    return self.embed(x)


def train_linen(head, steps=200, batch=128, n_train=None, seed=0):
  (x, y), (x_test, y_test) = load(n_train, seed)
  model = Model(head)
  params = model.init(jax.random.key(seed), y[:2], x[:2])["params"]
  opt = optax.adam(3e-3)
  opt_state = opt.init(params)

  def embed(params):
    return np.asarray(
      model.apply({"params": params}, x_test, method=Model.embeddings)
    )

  @jax.jit
  def step(params, opt_state, xb, yb):
    loss, grads = jax.value_and_grad(
      lambda p: model.apply({"params": p}, yb, xb)
    )(params)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  before = recall_at_1(embed(params), y_test)
  rng = np.random.default_rng(seed)
  for _ in range(steps):
    idx = rng.choice(len(x), size=min(batch, len(x)), replace=False)
    params, opt_state, _ = step(params, opt_state, x[idx], y[idx])
  return {
    "recall_before": before,
    "recall_after": recall_at_1(embed(params), y_test),
  }


# -------------------------------------------------------------------- nnx


class NnxModel(nnx.Module):
  def __init__(self, head_cls, *, rngs, **hyper):
    self.hidden = nnx.Linear(64, 64, rngs=rngs)
    self.out = nnx.Linear(64, FEATURES, rngs=rngs)
    self.head = head_cls(10, FEATURES, rngs=rngs, **hyper)

  def embeddings(self, x):
    return self.out(nnx.relu(self.hidden(x)))

  def __call__(self, labels, x):
    return self.head(labels, self.embeddings(x))


def train_nnx(head_cls, steps=200, batch=128, n_train=None, seed=0, **hyper):
  (x, y), (x_test, y_test) = load(n_train, seed)
  model = NnxModel(head_cls, rngs=nnx.Rngs(seed), **hyper)
  optimizer = nnx.Optimizer(model, optax.adam(3e-3), wrt=nnx.Param)

  @nnx.jit
  def step(model, optimizer, xb, yb):
    loss, grads = nnx.value_and_grad(lambda m: m(yb, xb))(model)
    optimizer.update(model, grads)
    return loss

  before = recall_at_1(np.asarray(model.embeddings(x_test)), y_test)
  rng = np.random.default_rng(seed)
  for _ in range(steps):
    idx = rng.choice(len(x), size=min(batch, len(x)), replace=False)
    step(model, optimizer, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
  after = recall_at_1(np.asarray(model.embeddings(x_test)), y_test)
  return {"recall_before": before, "recall_after": after}


def main(steps=200, batch=128, n_train=None):
  return {
    "linen ProxyAnchorHead": train_linen(
      jl.ProxyAnchorHead(num_classes=10), steps, batch, n_train
    ),
    "nnx SoftTripleHead": train_nnx(
      jn.SoftTripleHead, steps, batch, n_train, centers_per_class=2
    ),
  }


if __name__ == "__main__":
  for name, out in main().items():
    print(name, out)
