"""Inputs and NumPy helpers that several LM spec modules share (no specs
of its own): log-sigmoid / log-softmax, packed segment ids with their
per-segment sums, and a fixed LM-head weight with its NumPy logits.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

V = 7  # vocabulary of the per-token specs
T, S = 7, 3  # packed row length, segments per row


def log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def log_softmax(z):
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def packed_ids(rng, b):
  """Random packings of ``b`` rows: segment 1 starts every row, up to
  ``S`` segments, trailing padding (id 0)."""
  ids = np.zeros((b, T), np.int32)
  for r in range(b):
    cuts = np.sort(rng.choice(np.arange(1, T), size=S - 1, replace=False))
    end = rng.integers(cuts[-1] + 1, T + 1)
    k = rng.integers(1, S + 1)  # number of segments in this row
    bounds = [0, *cuts[: k - 1], end]
    for j in range(k):
      ids[r, bounds[j] : bounds[j + 1]] = j + 1
  return ids


def numpy_segments(values, ids, mean=False):
  # One loop per token: the definition of a per-segment sum / mean.
  out = np.zeros(values.shape[:-1] + (S,))
  cnt = np.zeros(values.shape[:-1] + (S,))
  for r in range(values.shape[0]):
    for t in range(values.shape[-1]):
      if ids[r, t] > 0:
        out[r, ids[r, t] - 1] += values[r, t]
        cnt[r, ids[r, t] - 1] += 1
  if mean:
    out = np.where(cnt > 0, out / np.maximum(cnt, 1), 0.0)
  return out, cnt > 0


HEAD_W = np.random.default_rng(4321).normal(size=(4, 9))


def head_w(x):
  dtype = jnp.result_type(x)
  if not jnp.issubdtype(dtype, jnp.floating):
    dtype = jnp.float32  # the function rejects the embeddings first
  return jnp.asarray(HEAD_W, dtype)


def np_head(x, cap):
  z = x @ HEAD_W
  if cap is not None:
    z = cap * np.tanh(z / cap)
  m = z.max(-1, keepdims=True)
  return z, (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[..., 0]
