"""Multi-token prediction: one fused head pass vs K separate calls.

``jaxloss.multi_token_prediction_loss`` (the ``K`` depths' rows through one
chunked LM-head kernel) against the sum of ``K`` separate
``jaxloss.linear_cross_entropy`` calls, both as ``value_and_grad`` with
respect to the depths' hidden states and the shared head weight.

Memory: XLA's compiled memory analysis (temporaries), compile only.
Time: median wall time of the jitted programs, measured side by side in one
process (float32).

Run: ``python benchmarks/mtp_memory.py [--quick]``.
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

MIB = 1 << 20


def fused(x, w, y, chunk_size=None):
  return jaxloss.multi_token_prediction_loss(x, w, y, chunk_size=chunk_size)[0]


def separate(x, w, y, chunk_size=None):
  k = x.shape[0]
  losses = [
    jaxloss.linear_cross_entropy(x[i], w, y[i], chunk_size=chunk_size)
    for i in range(k)
  ]
  return jnp.mean(jnp.stack(losses))


def _program(fn, chunk):
  return jax.jit(
    jax.value_and_grad(lambda x, w, y: fn(x, w, y, chunk), argnums=(0, 1))
  )


def memory(fn, k, n, d, v, chunk, dtype=jnp.float32):
  args = (
    jax.ShapeDtypeStruct((k, n, d), dtype),
    jax.ShapeDtypeStruct((d, v), dtype),
    jax.ShapeDtypeStruct((k, n), jnp.int32),
  )
  compiled = _program(fn, chunk).lower(*args).compile()
  return compiled.memory_analysis().temp_size_in_bytes


def wall_time(fn, k, n, d, v, chunk, repeats=7):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(k, n, d)) / np.sqrt(d), jnp.float32)
  w = jnp.asarray(rng.normal(size=(d, v)), jnp.float32)
  y = jnp.asarray(rng.integers(0, v, (k, n)), jnp.int32)
  f = _program(fn, chunk)
  jax.block_until_ready(f(x, w, y))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(x, w, y))
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main(quick=False):
  print(
    f"machine: {platform.machine()} {platform.processor() or ''}, "
    f"{jax.device_count()} x {jax.devices()[0].device_kind}, "
    f"jax {jax.__version__}"
  )
  k, n, d, v, chunk = (
    (2, 128, 64, 4096, 1024) if quick else (3, 512, 128, 16384, 2048)
  )
  rows = []
  for label, fn in (("fused", fused), ("separate", separate)):
    mem = memory(fn, k, n, d, v, chunk)
    t = wall_time(fn, k, n, d, v, chunk)
    rows.append((label, mem, t))
    print(
      f"K={k} N={n} D={d} V={v} chunk={chunk} f32 value_and_grad "
      f"{label:9s}: temp {mem / MIB:7.2f} MiB, wall {t * 1e3:7.1f} ms"
    )
  (_, mf, tf), (_, ms, ts) = rows
  print(f"fused / separate: memory {mf / ms:.2f}x, time {tf / ts:.2f}x")
  return rows


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--quick", action="store_true")
  main(quick=parser.parse_args().quick)
