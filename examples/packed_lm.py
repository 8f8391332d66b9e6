"""Training a tiny LM on packed sequences: the same curve as unpacked.

Sequences of different lengths are packed first-fit into rows of ``ROW``
tokens with Flax/tunix ``segment_ids`` (1, 2, ... per sequence, 0 for
padding). The model mixes tokens only inside a segment (a causal mean over
the segment's tokens, positions counted from the segment's start), and the
loss is the per-sequence mean of the token negative log-likelihood,
averaged over sequences:

* per-token log-probabilities from the fused head
  (:func:`jaxloss.linear_log_probs`, no ``[tokens, vocab]`` logits);
* per-sequence means with :func:`jaxloss.segment_reduce`;
* the number of sequences with :func:`jaxloss.count_tokens` and
  ``segment_ids`` (the global divisor under data parallelism).

The same sequences unpacked (one per row, padded) give the same loss at
every step, because nothing crosses a segment boundary: ``main`` returns
both curves. Run: ``python examples/packed_lm.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

IGNORE = -100


def make_sequences(rng, n, vocab, min_len=3, max_len=8):
  """Counting sequences ``a, a+1, a+2, ...`` (mod ``vocab``): learnable."""
  lengths = rng.integers(min_len, max_len + 1, size=n)
  starts = rng.integers(0, vocab, size=n)
  return [(s + np.arange(n_)) % vocab for s, n_ in zip(starts, lengths)]


def pack(seqs, row):
  """First-fit packing into rows of ``row`` tokens: ``(tokens, ids)``."""
  rows = []
  for s in seqs:
    for r in rows:
      if sum(map(len, r)) + len(s) <= row:
        r.append(s)
        break
    else:
      rows.append([s])
  tokens = np.zeros((len(rows), row), np.int32)
  ids = np.zeros((len(rows), row), np.int32)
  for i, r in enumerate(rows):
    t = 0
    for k, s in enumerate(r):
      tokens[i, t : t + len(s)] = s
      ids[i, t : t + len(s)] = k + 1
      t += len(s)
  return tokens, ids


def unpacked(seqs):
  """One sequence per row, padded: ``(tokens, ids)`` (ids 1 or 0)."""
  big = max(map(len, seqs))
  tokens = np.zeros((len(seqs), big), np.int32)
  ids = np.zeros((len(seqs), big), np.int32)
  for i, s in enumerate(seqs):
    tokens[i, : len(s)] = s
    ids[i, : len(s)] = 1
  return tokens, ids


def targets(tokens, ids):
  """Next token of the same segment, ``IGNORE`` at each segment's end."""
  nxt = np.roll(tokens, -1, axis=1)
  same = (np.roll(ids, -1, axis=1) == ids) & (ids > 0)
  same[:, -1] = False
  return np.where(same, nxt, IGNORE).astype(np.int32)


def init(key, vocab, dim, max_len):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return {
    "embed": jax.random.normal(k1, (vocab, dim)) * 0.5,
    "mix": jax.random.normal(k2, (dim, dim)) / jnp.sqrt(dim),
    "pos": jax.random.normal(k3, (max_len, dim)) * 0.1,
    "head": jax.random.normal(k4, (dim, vocab)) * 0.1,
  }


def hidden_states(params, tokens, ids):
  """Causal mean of the embeddings within each segment, ``[B, T, D]``."""
  e = params["embed"][tokens] * (ids > 0)[..., None]
  t = jnp.arange(tokens.shape[1])
  first = jnp.concatenate(
    [jnp.ones_like(ids[:, :1], bool), ids[:, 1:] != ids[:, :-1]], axis=1
  )
  start = jax.lax.cummax(jnp.where(first, t[None, :], 0), axis=1)
  csum = jnp.cumsum(e, axis=1)
  before = jnp.take_along_axis(
    jnp.pad(csum, ((0, 0), (1, 0), (0, 0))), start[..., None], axis=1
  )
  pos = t[None, :] - start  # position inside the segment
  mean = (csum - before) / (pos + 1)[..., None]
  return jnp.tanh(mean @ params["mix"] + params["pos"][pos])


def loss_fn(params, tokens, ids, labels, num_segments):
  """Mean over sequences of each sequence's token-mean NLL."""
  h = hidden_states(params, tokens, ids)
  logp = jaxloss.linear_log_probs(h, params["head"], labels)
  loss_ids = jnp.where(labels != IGNORE, ids, 0)
  per_seq = jaxloss.segment_reduce(
    -logp, loss_ids, num_segments=num_segments, reduction="mean"
  )
  n_seq = jaxloss.count_tokens(labels, segment_ids=ids)
  return jnp.sum(per_seq) / n_seq


def train(params, batch, steps, lr):
  tokens, ids = batch
  labels = targets(tokens, ids)
  s = int(ids.max())
  step = jax.jit(
    jax.value_and_grad(lambda p: loss_fn(p, tokens, ids, labels, s))
  )
  curve = []
  for _ in range(steps):
    loss, grads = step(params)
    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    curve.append(float(loss))
  return np.array(curve)


def main(steps=30, n=24, vocab=16, dim=16, row=16, lr=1.0, verbose=True):
  rng = np.random.default_rng(0)
  seqs = make_sequences(rng, n, vocab)
  params = init(jax.random.key(0), vocab, dim, row)
  packed_batch = pack(seqs, row)
  padded_batch = unpacked(seqs)
  packed_curve = train(params, packed_batch, steps, lr)
  padded_curve = train(params, padded_batch, steps, lr)
  if verbose:
    print(
      f"{n} sequences: {packed_batch[0].size} packed tokens in "
      f"{len(packed_batch[0])} rows vs {padded_batch[0].size} padded"
    )
    for i in range(0, steps, max(1, steps // 6)):
      print(
        f"step {i:3d}  packed {packed_curve[i]:.5f}  "
        f"unpacked {padded_curve[i]:.5f}"
      )
  return packed_curve, padded_curve


if __name__ == "__main__":
  main()
