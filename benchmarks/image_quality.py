"""SSIM speed and memory: jaxloss vs dm_pix, in one process.

``value_and_grad`` (with respect to the prediction) of the mean SSIM loss at
``8 x 256 x 256 x 3`` float32, both jitted, on the default device: median
wall time over repeats, and XLA's compiled memory analysis (temporaries).
dm_pix is optional: install it next to jax and run with the repository on
``PYTHONPATH``.

Run: ``python benchmarks/image_quality.py [--shape 8 256 256 3] [--repeats 7]``.
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


def jaxloss_ssim(t, p):
  return jnp.mean(jaxloss.ssim_loss(t, p))


def dm_pix_ssim(t, p):
  import dm_pix  # noqa: PLC0415 (optional dependency)

  return jnp.mean(1 - dm_pix.ssim(t, p))


def measure(fn, t, p, repeats):
  step = jax.jit(jax.value_and_grad(fn, argnums=1))
  compiled = step.lower(t, p).compile()
  mem = compiled.memory_analysis()
  temp = getattr(mem, "temp_size_in_bytes", float("nan")) / MIB
  jax.block_until_ready(step(t, p))  # warm-up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(step(t, p))
    times.append(time.perf_counter() - start)
  value = float(step(t, p)[0])
  return float(np.median(times)), temp, value


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--shape", type=int, nargs=4, default=(8, 256, 256, 3))
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  t = jnp.asarray(rng.uniform(size=args.shape), jnp.float32)
  p = jnp.clip(
    t + 0.1 * jnp.asarray(rng.normal(size=args.shape), jnp.float32), 0, 1
  )
  print(
    f"jax {jax.__version__}, {jax.devices()[0].platform}, "
    f"{platform.processor() or platform.machine()}, shape {args.shape}"
  )
  rows = [("jaxloss.ssim_loss", jaxloss_ssim)]
  try:
    import dm_pix  # noqa: F401, PLC0415

    rows.append(("dm_pix.ssim", dm_pix_ssim))
  except ImportError:
    print("dm_pix not installed: jaxloss only")
  results = {}
  for name, fn in rows:
    seconds, temp, value = measure(fn, t, p, args.repeats)
    results[name] = seconds
    print(
      f"{name:20s} value_and_grad {seconds * 1e3:8.1f} ms  "
      f"temp {temp:8.1f} MiB  loss {value:.6f}"
    )
  if len(results) == 2:
    ratio = results["jaxloss.ssim_loss"] / results["dm_pix.ssim"]
    print(f"ratio jaxloss / dm_pix: {ratio:.2f}")


if __name__ == "__main__":
  main()
