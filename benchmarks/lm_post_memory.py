"""Memory and CPU time of the fused post-training heads vs the naive path.

Memory: XLA's compiled memory analysis (compile only, nothing runs) of
``value_and_grad`` with respect to the (student) embeddings and weight, in
bfloat16, at 8192 tokens x 4096 hidden x 128256 vocabulary (Llama-3 head):

* ``linear_log_probs(..., return_entropy=True)`` against the naive
  ``log_softmax(float32(x @ w))`` path with the entropy taken from it;
* ``linear_distillation`` (forward KL and JSD) against the naive two-head
  path ``distillation(xs @ ws, xt @ wt)``.

The loss differentiated is ``-mean(log p) - 0.01 mean(entropy)`` and the
token mean of the distillation divergence. Speed: median wall time of the
jitted ``value_and_grad`` (float32) at a CPU-sized shape.

Run: ``python benchmarks/lm_post_memory.py [--quick] [--skip-memory]``.
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


def fused_log_probs(x, w, y):
  lp, ent = jaxloss.linear_log_probs(x, w, y, return_entropy=True)
  return -jnp.mean(lp) - 0.01 * jnp.mean(ent)


def naive_log_probs(x, w, y):
  logp = jax.nn.log_softmax((x @ w).astype(jnp.float32), axis=-1)
  lp = jnp.take_along_axis(logp, y[:, None], axis=-1)[:, 0]
  ent = -jnp.sum(jnp.exp(logp) * logp, axis=-1)
  return -jnp.mean(lp) - 0.01 * jnp.mean(ent)


def fused_distill(divergence):
  def f(xs, ws, y, xt, wt):
    return jaxloss.linear_distillation(xs, ws, xt, wt, y, divergence=divergence)

  return f


def naive_distill(divergence):
  def f(xs, ws, y, xt, wt):
    zs = (xs @ ws).astype(jnp.float32)
    zt = (xt @ wt).astype(jnp.float32)
    return jnp.mean(jaxloss.distillation(zs, zt, divergence=divergence))

  return f


def _specs(n, d, v, dtype, teacher):
  specs = [
    jax.ShapeDtypeStruct((n, d), dtype),
    jax.ShapeDtypeStruct((d, v), dtype),
    jax.ShapeDtypeStruct((n,), jnp.int32),
  ]
  if teacher:
    specs += [
      jax.ShapeDtypeStruct((n, d), dtype),
      jax.ShapeDtypeStruct((d, v), dtype),
    ]
  return specs


def memory(fn, n, d, v, teacher=False, dtype=jnp.bfloat16):
  """``(temp bytes, compile seconds)`` of ``value_and_grad(fn)``."""
  start = time.perf_counter()
  compiled = (
    jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))
    .lower(*_specs(n, d, v, dtype, teacher))
    .compile()
  )
  seconds = time.perf_counter() - start
  return compiled.memory_analysis().temp_size_in_bytes, seconds


def wall_times(fns, n, d, v, teacher=False, repeats=9, dtype=jnp.float32):
  """Median seconds of each jitted ``value_and_grad`` in ``fns``, measured
  in interleaved rounds (every function once per round), so that load
  changes on a shared host hit all alike."""
  rng = np.random.default_rng(0)
  args = [
    jnp.asarray(rng.normal(size=(n, d)) / np.sqrt(d), dtype),
    jnp.asarray(rng.normal(size=(d, v)), dtype),
    jnp.asarray(rng.integers(0, v, (n,)), jnp.int32),
  ]
  if teacher:
    args += [
      jnp.asarray(rng.normal(size=(n, d)) / np.sqrt(d), dtype),
      jnp.asarray(rng.normal(size=(d, v)), dtype),
    ]
  compiled = [jax.jit(jax.value_and_grad(f, argnums=(0, 1))) for f in fns]
  for f in compiled:
    jax.block_until_ready(f(*args))
  times = [[] for _ in fns]
  for _ in range(repeats):
    for f, t in zip(compiled, times):
      start = time.perf_counter()
      jax.block_until_ready(f(*args))
      t.append(time.perf_counter() - start)
  return [float(np.median(t)) for t in times]


CASES = [
  ("linear_log_probs + entropy", fused_log_probs, naive_log_probs, False),
  (
    "linear_distillation forward_kl",
    fused_distill("forward_kl"),
    naive_distill("forward_kl"),
    True,
  ),
  ("linear_distillation jsd", fused_distill("jsd"), naive_distill("jsd"), True),
]


def main(quick=False, skip_memory=False):
  print(
    f"machine: {platform.machine()}, {jax.device_count()} x "
    f"{jax.devices()[0].device_kind}, jax {jax.__version__}"
  )
  n, d, v = (2048, 512, 32768) if quick else (8192, 4096, 128256)
  print(f"compiled temp memory, value_and_grad, bf16, {n}x{d}x{v}:")
  for label, fused, naive, teacher in [] if skip_memory else CASES:
    mf, tf = memory(fused, n, d, v, teacher)
    mn, tn = memory(naive, n, d, v, teacher)
    print(
      f"  {label}: fused {mf / MIB:.1f} MiB (compile {tf:.1f}s), naive "
      f"{mn / MIB:.1f} MiB (compile {tn:.1f}s), ratio {mf / mn:.2%}"
    )
  n, d, v = (256, 64, 4096) if quick else (512, 128, 8192)
  print(
    f"CPU wall time, value_and_grad, f32, {n}x{d}x{v}, median of 9 "
    "interleaved rounds:"
  )
  for label, fused, naive, teacher in CASES:
    tf, tn = wall_times([fused, naive], n, d, v, teacher)
    print(
      f"  {label}: fused {tf * 1e3:.1f} ms, naive {tn * 1e3:.1f} ms, "
      f"ratio {tf / tn:.2f}x"
    )


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--skip-memory", action="store_true")
  main(**vars(parser.parse_args()))
