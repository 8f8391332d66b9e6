"""A two-tower retrieval model trained with the sharded SigLIP loss.

Two views of the same handwritten digit (scikit-learn's bundled 8x8
digits): the top half (rows 0-3) and the bottom half (rows 4-7). One small
MLP tower embeds each view; training pulls the matching halves together
with ``jaxloss.sharded_siglip_loss``: the batch is split over 8 devices of
a mesh (simulated on the CPU), each device scores its top halves against
every device's bottom halves as these travel around a ring, and the
gradients equal those of the single-device loss on the whole batch.

Retrieval accuracy: for each held-out top half, is the nearest bottom half
(cosine) among the held-out set its own? Chance is 1 / (number held out).

Run: ``python examples/siglip_two_tower.py``
"""

from __future__ import annotations

import os

if __name__ == "__main__":
  os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
from jax import lax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import jaxloss  # noqa: E402

DEVICES = 8


def init_tower(key, d_in, hidden, d_out):
  k1, k2 = jax.random.split(key)
  return {
    "w1": jax.random.normal(k1, (d_in, hidden)) / np.sqrt(d_in),
    "b1": jnp.zeros((hidden,)),
    "w2": jax.random.normal(k2, (hidden, d_out)) / np.sqrt(hidden),
  }


def tower(p, x):
  h = jnp.tanh(x @ p["w1"] + p["b1"][None, :])
  z = h @ p["w2"]
  return z / jnp.linalg.norm(z, axis=-1, keepdims=True)


def init(key, features=16):
  ka, kb = jax.random.split(key)
  return {
    "top": init_tower(ka, 32, 64, features),
    "bottom": init_tower(kb, 32, 64, features),
    # SigLIP's learnable temperature t' (scale = exp t') and bias, at the
    # paper's initialisation t = 10, b = -10.
    "log_scale": jnp.log(10.0),
    "bias": jnp.asarray(-10.0),
  }


def load(seed=0):
  digits = load_digits()
  x = (digits.data / 16.0).astype(np.float32)
  x = x[np.random.default_rng(seed).permutation(len(x))]
  top, bottom = x[:, :32], x[:, 32:]
  split = int(0.8 * len(x))
  return (top[:split], bottom[:split]), (top[split:], bottom[split:])


def make_loss(mesh):
  """``loss(params, top, bottom)``: the global mean SigLIP loss, with the
  batch sharded over the mesh axis "batch" and the parameters replicated."""

  def local(params, top, bottom):
    a = tower(params["top"], top)
    b = tower(params["bottom"], bottom)
    values = jaxloss.sharded_siglip_loss(
      a,
      b,
      scale=jnp.exp(params["log_scale"]),
      bias=params["bias"],
      axis_name="batch",
    )
    # The global mean: local sums over the global row count.
    count = lax.psum(values.shape[0], "batch")
    return lax.psum(jnp.sum(values), "batch") / count

  row = P("batch")
  return jax.shard_map(
    local, mesh=mesh, in_specs=(P(), row, row), out_specs=P()
  )


def retrieval_accuracy(params, top, bottom):
  a = tower(params["top"], jnp.asarray(top))
  b = tower(params["bottom"], jnp.asarray(bottom))
  hit = jnp.argmax(a @ b.T, axis=1) == jnp.arange(a.shape[0])
  return float(jnp.mean(hit))


def main(steps=300, batch=256, seed=0, learning_rate=3e-3):
  devices = jax.devices()[:DEVICES]
  if len(devices) < DEVICES or batch % DEVICES:
    raise ValueError(
      f"main: needs {DEVICES} devices and a batch divisible by them, got "
      f"{len(devices)} devices and batch={batch}"
    )
  mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
  (top, bottom), (top_test, bottom_test) = load(seed)
  params = init(jax.random.key(seed))
  opt = optax.adam(learning_rate)
  state = opt.init(params)
  loss_fn = make_loss(mesh)

  @jax.jit
  def step(params, state, top, bottom):
    loss, grads = jax.value_and_grad(loss_fn)(params, top, bottom)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss

  before = retrieval_accuracy(params, top_test, bottom_test)
  rng = np.random.default_rng(seed)
  losses = []
  for _ in range(steps):
    idx = rng.choice(len(top), size=batch, replace=False)
    params, state, loss = step(params, state, top[idx], bottom[idx])
    losses.append(float(loss))
  after = retrieval_accuracy(params, top_test, bottom_test)
  return {
    "accuracy_before": before,
    "accuracy_after": after,
    "chance": 1.0 / len(top_test),
    "first_loss": losses[0],
    "last_loss": losses[-1],
    "scale": float(jnp.exp(params["log_scale"])),
    "bias": float(params["bias"]),
  }


if __name__ == "__main__":
  for k, v in main().items():
    print(f"{k}: {v:.4f}")
