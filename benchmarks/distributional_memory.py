"""Memory and speed of the tiled two-sample losses (MMD, energy distance).

Memory: XLA's compiled memory analysis of ``value_and_grad`` (compile only,
nothing runs) of ``jaxloss.mmd`` and ``jaxloss.energy_distance`` between
two float32 samples of ``N`` points in ``D`` dimensions, tiled
(``tile_size=128``) and untiled (one tile holding every point, i.e. the
``[N, N, D]`` differences formed at once). Speed: wall time of the jitted
value and gradient at a CPU-sized shape, tiled and untiled.

Run: ``python benchmarks/distributional_memory.py [--quick]``.
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


def _grad_fn(fn, tile):
  return jax.jit(
    jax.value_and_grad(lambda x, y: fn(x, y, tile_size=tile), (0, 1))
  )


def temp_mib(fn, n, d, tile):
  x = jax.ShapeDtypeStruct((n, d), jnp.float32)
  compiled = _grad_fn(fn, tile).lower(x, x).compile()
  return compiled.memory_analysis().temp_size_in_bytes / MIB


def wall_ms(fn, n, d, tile, repeats=5):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
  y = jnp.asarray(rng.normal(size=(n, d)) + 0.1, jnp.float32)
  f = _grad_fn(fn, tile)
  jax.block_until_ready(f(x, y))
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(x, y))
    best = min(best, time.perf_counter() - start)
  return 1e3 * best


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args()
  sizes = (1024, 4096) if args.quick else (1024, 4096, 16384)
  d = 16
  print(
    f"jax {jax.__version__}, {platform.machine()}, {jax.devices()[0].platform}"
  )
  print(f"compiled temp memory of value_and_grad, D={d}, float32 (MiB)")
  print("| loss | N = M | tiled (128) | untiled |")
  print("|---|---|---|---|")
  for fn in (jaxloss.mmd, jaxloss.energy_distance):
    for n in sizes:
      tiled = temp_mib(fn, n, d, 128)
      untiled = temp_mib(fn, n, d, n)
      print(f"| {fn.__name__} | {n} | {tiled:.2f} | {untiled:.1f} |")
  n = 1024
  print(f"\nwall time of jitted value_and_grad, N = M = {n}, D={d} (ms)")
  print("| loss | tiled (128) | untiled |")
  print("|---|---|---|")
  for fn in (jaxloss.mmd, jaxloss.energy_distance):
    print(
      f"| {fn.__name__} | {wall_ms(fn, n, d, 128):.1f} | "
      f"{wall_ms(fn, n, d, n):.1f} |"
    )


if __name__ == "__main__":
  main()
