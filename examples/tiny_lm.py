"""A tiny causal language model trained with the vocab-parallel fused loss.

The trunk is a small Flax linen model (token embedding, causal mixing, MLP);
the LM head's ``[D, V]`` weight is sharded along the vocabulary over the
``model`` axis of a ``data x model`` mesh, and the batch over ``data``. The
loss is :func:`jaxloss.vocab_parallel_linear_cross_entropy` inside
``jax.shard_map``: no device ever holds the ``[tokens, V]`` logits, and the
mean is over the global batch's tokens (``normalizer=count_tokens(...)``).

The parameters are replicated over the mesh and each batch is built from
this process's rows (``jax.make_array_from_process_local_data``), so the
same code trains on several processes: examples/multiprocess_lm.py.

Run: ``python examples/tiny_lm.py`` (simulates 8 CPU devices when no
accelerator provides them).
"""

from __future__ import annotations

import os
import sys

if "jax" not in sys.modules:  # before jax is imported: simulated CPU devices
  os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import Mesh  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import jaxloss  # noqa: E402

PAD = -100


class Trunk(nn.Module):
  """Embedding, a causal running mean over positions, and an MLP block."""

  vocab: int
  dim: int

  @nn.compact
  def __call__(self, tokens):
    h = nn.Embed(self.vocab, self.dim)(tokens)
    counts = jnp.arange(1, tokens.shape[1] + 1, dtype=h.dtype)
    context = jnp.cumsum(h, axis=1) / counts[None, :, None]
    h = h + nn.Dense(self.dim)(context)
    h = h + nn.Dense(self.dim)(nn.gelu(nn.Dense(4 * self.dim)(h)))
    return nn.LayerNorm()(h)


def make_batch(rng, batch, seq, vocab):
  """Sequences following ``t[i + 1] = (3 t[i] + 1) mod vocab``; the last
  position has no target and is padded with ``PAD``."""
  start = rng.integers(0, vocab, size=(batch, 1))
  steps = [start]
  for _ in range(seq - 1):
    steps.append((3 * steps[-1] + 1) % vocab)
  tokens = np.concatenate(steps, axis=1).astype(np.int32)
  targets = np.concatenate(
    [tokens[:, 1:], np.full((batch, 1), PAD, np.int32)], axis=1
  )
  return tokens, targets


def shard_batch(mesh, *arrays):
  """Global arrays split over ``data``, each built from this process's rows.

  Every process draws the same batch here (one seed); a real input pipeline
  reads only its own rows: process ``i`` of ``n`` holds rows ``[i B / n,
  (i + 1) B / n)``, as the mesh's ``data`` axis runs over the processes.
  """
  sharding = NamedSharding(mesh, P("data"))
  n, i = jax.process_count(), jax.process_index()
  return tuple(
    jax.make_array_from_process_local_data(sharding, np.split(a, n)[i], a.shape)
    for a in arrays
  )


def make_mesh(data=2, model=4):
  n = data * model
  if jax.device_count() < n:
    data, model, n = 1, jax.device_count(), jax.device_count()
  return Mesh(
    np.array(jax.devices()[:n]).reshape(data, model), ("data", "model")
  )


def main(
  steps=30,
  batch=8,
  seq=16,
  vocab=64,
  dim=32,
  seed=0,
  learning_rate=1e-2,
  verbose=True,
):
  """Trains for ``steps`` steps; returns the list of losses."""
  mesh = make_mesh()
  trunk = Trunk(vocab=vocab, dim=dim)
  rng = np.random.default_rng(seed)
  tokens, _ = make_batch(rng, batch, seq, vocab)

  # The same parameters on every device of every process.
  @jax.jit(out_shardings=NamedSharding(mesh, P()))
  def init(key):
    key_trunk, key_head = jax.random.split(key)
    return {
      "trunk": trunk.init(key_trunk, jnp.asarray(tokens)),
      "head": jax.random.normal(key_head, (dim, vocab)) / np.sqrt(dim),
    }

  params = init(jax.random.key(seed))

  def head_loss(h, w, y):
    # Per device: a batch shard of hidden states and a vocab shard of the
    # head; the global mean over all counted tokens of the global batch.
    n = jaxloss.count_tokens(y, ignore_index=PAD, axis_name="data")
    loss = jaxloss.vocab_parallel_linear_cross_entropy(
      h, w, y, axis_name="model", ignore_index=PAD, normalizer=n, z_loss=1e-4
    )
    return jax.lax.psum(loss, "data")

  sharded_loss = jax.shard_map(
    head_loss,
    mesh=mesh,
    out_specs=P(),
    in_specs=(P("data"), P(None, "model"), P("data")),
  )

  def loss_fn(params, tokens, targets):
    h = trunk.apply(params["trunk"], tokens)
    return sharded_loss(h, params["head"], targets)

  optimizer = optax.adam(learning_rate)
  opt_state = optimizer.init(params)

  @jax.jit
  def train_step(params, opt_state, tokens, targets):
    loss, grads = jax.value_and_grad(loss_fn)(params, tokens, targets)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  losses = []
  for step in range(steps):
    tokens, targets = shard_batch(mesh, *make_batch(rng, batch, seq, vocab))
    params, opt_state, loss = train_step(params, opt_state, tokens, targets)
    losses.append(float(loss))
    if verbose:
      print(f"step {step:3d}  loss {losses[-1]:.4f}")
  return losses


if __name__ == "__main__":
  main()
