"""Memory and speed of the fused LM-head cross-entropy vs the naive path.

Memory: XLA's compiled memory analysis of ``value_and_grad`` (compile only,
nothing runs) of ``jaxloss.linear_cross_entropy`` and of the naive
``logits = x @ w`` + ``jaxloss.sparse_categorical_crossentropy`` path, in
bfloat16, at an LM shape and the Gemma-2 2B head shape. Speed: wall time of
both (jitted, float32) at a CPU-sized shape.

Run: ``python benchmarks/lm_memory.py [--quick] [--skip-gemma]``.
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


def naive_loss(x, w, y):
  """The reference path: full logits, then sparse cross-entropy."""
  logits = x @ w
  values = jaxloss.sparse_categorical_crossentropy(y, logits, from_logits=True)
  return jnp.mean(values)


def fused_loss(x, w, y, chunk_size=None):
  return jaxloss.linear_cross_entropy(x, w, y, chunk_size=chunk_size)


def memory(fn, n, d, v, dtype=jnp.bfloat16):
  """``(temp bytes, compile seconds)`` of ``value_and_grad(fn)`` (x, w)."""
  args = (
    jax.ShapeDtypeStruct((n, d), dtype),
    jax.ShapeDtypeStruct((d, v), dtype),
    jax.ShapeDtypeStruct((n,), jnp.int32),
  )
  start = time.perf_counter()
  compiled = (
    jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(*args).compile()
  )
  seconds = time.perf_counter() - start
  return compiled.memory_analysis().temp_size_in_bytes, seconds


def wall_time(fn, n, d, v, repeats=5, dtype=jnp.float32):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(n, d)) / np.sqrt(d), dtype)
  w = jnp.asarray(rng.normal(size=(d, v)), dtype)
  y = jnp.asarray(rng.integers(0, v, (n,)), jnp.int32)
  f = jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))
  jax.block_until_ready(f(x, w, y))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(x, w, y))
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main(quick=False, skip_gemma=False):
  print(
    f"machine: {platform.machine()} {platform.processor() or ''}, "
    f"{jax.device_count()} x {jax.devices()[0].device_kind}, "
    f"jax {jax.__version__}"
  )
  shapes = [("LM 8192x1024x131072", 8192, 1024, 131072)]
  if not skip_gemma:
    shapes.append(("Gemma-2 2B 8192x2304x256000", 8192, 2304, 256000))
  if quick:
    shapes = [("small 2048x256x32768", 2048, 256, 32768)]
  for label, n, d, v in shapes:
    fused, tf = memory(fused_loss, n, d, v)
    naive, tn = memory(naive_loss, n, d, v)
    print(
      f"{label} bf16 value_and_grad temp: fused {fused / MIB:.1f} MiB "
      f"(compile {tf:.1f}s), naive {naive / MIB:.1f} MiB "
      f"(compile {tn:.1f}s), ratio {fused / naive:.2%}"
    )
  n, d, v = (512, 128, 8192) if quick else (1024, 256, 16384)
  t_fused = wall_time(fused_loss, n, d, v)
  t_naive = wall_time(naive_loss, n, d, v)
  print(
    f"CPU wall {n}x{d}x{v} f32 value_and_grad: fused {t_fused * 1e3:.1f}"
    f" ms, naive {t_naive * 1e3:.1f} ms, ratio {t_fused / t_naive:.2f}x"
  )


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--skip-gemma", action="store_true")
  args = parser.parse_args()
  main(quick=args.quick, skip_gemma=args.skip_gemma)
