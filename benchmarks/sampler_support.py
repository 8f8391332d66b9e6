"""Training-vs-sampler importance ratios with and without ``support``.

A random LM head samples tokens with top-k (or top-p) truncation; the
sampler's log-probabilities are those of the truncated, renormalised
distribution, computed in bfloat16 (as an inference engine would). The
trainer recomputes them in float32 with ``jaxloss.linear_log_probs``, once
over the full vocabulary and once with ``support=`` the sampler's ids. The
figure users care about is the spread of ``ratio = exp(train - sampler)``
at identical parameters: ideally 1.

Run: ``python benchmarks/sampler_support.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss


def ratios(n=4096, d=64, v=8192, top_k=50, top_p=None, seed=0):
  key = jax.random.key(seed)
  kx, kw, ks = jax.random.split(key, 3)
  x = jax.random.normal(kx, (n, d))
  w = jax.random.normal(kw, (d, v)) * 0.3
  # the sampler: bfloat16 logits, truncated and renormalised
  z = (x.astype(jnp.bfloat16) @ w.astype(jnp.bfloat16)).astype(jnp.float32)
  top, ids = jax.lax.top_k(z, top_k)
  logq = jax.nn.log_softmax(top, axis=-1)
  if top_p is not None:  # keep the smallest prefix with mass >= top_p
    mass = jnp.cumsum(jnp.exp(logq), axis=-1)
    keep = (mass - jnp.exp(logq)) < top_p
    ids = jnp.where(keep, ids, -1)
    logq = jax.nn.log_softmax(jnp.where(keep, top, -jnp.inf), axis=-1)
  pick = jax.random.categorical(ks, logq)
  y = jnp.take_along_axis(ids, pick[:, None], -1)[:, 0]
  sampler = jnp.take_along_axis(logq, pick[:, None], -1)[:, 0]
  full = jaxloss.linear_log_probs(x, w, y)
  renorm = jaxloss.linear_log_probs(x, w, y, support=ids)
  return np.exp(np.asarray(full - sampler)), np.exp(
    np.asarray(renorm - sampler)
  )


def describe(label, r):
  clip = np.mean((r < 0.8) | (r > 1.2))
  return (
    f"{label:22s} ratio mean {r.mean():.4f}  std {r.std():.4f}  "
    f"min {r.min():.4f}  max {r.max():.4f}  outside [0.8, 1.2] {clip:.1%}"
  )


def main():
  print(f"jax {jax.__version__}, {jax.devices()[0].device_kind}")
  for name, kw in (
    ("top-k 50", dict(top_k=50)),
    ("top-k 50, top-p 0.9", dict(top_k=50, top_p=0.9)),
  ):
    full, renorm = ratios(**kw)
    print(name)
    print(describe("  full vocabulary", full))
    print(describe("  support=sampler ids", renorm))


if __name__ == "__main__":
  main()
