"""GPU peak memory and time of the fused post-training heads vs naive.

For each case (``linear_log_probs`` with entropy; ``linear_distillation``
with forward KL and with JSD) and each path (fused / naive materialised
logits), a fresh subprocess builds inputs on the GPU, compiles the jitted
``value_and_grad`` with respect to the (student) embeddings and weight,
runs it ``--repeats`` times and reports the device's peak bytes in use (the
process starts clean, so the peak is this computation's), XLA's compiled
temporary memory and the median wall time. Prints one table. Defaults:
8192 tokens x 4096 hidden x 128256 vocabulary, bfloat16 (Llama-3 head);
the whole run takes a few minutes on one recent GPU.

Run: ``python benchmarks/gpu_lm_post.py [--tokens N --hidden D --vocab V]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

GIB = 1 << 30
CASES = ("log_probs", "distill_forward_kl", "distill_jsd")


def _one(case, path, n, d, v, repeats):
  """Runs one measurement in this process; prints a JSON line."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  import lm_post_memory as lpm  # noqa: PLC0415

  if case == "log_probs":
    fn = lpm.fused_log_probs if path == "fused" else lpm.naive_log_probs
    teacher = False
  else:
    div = case.split("_", 1)[1]
    fn = lpm.fused_distill(div) if path == "fused" else lpm.naive_distill(div)
    teacher = True
  key = jax.random.key(0)
  k = jax.random.split(key, 5)
  dt = jnp.bfloat16
  args = [
    jax.random.normal(k[0], (n, d), dt) / np.sqrt(d).astype(np.float32),
    jax.random.normal(k[1], (d, v), dt),
    jax.random.randint(k[2], (n,), 0, v, jnp.int32),
  ]
  if teacher:
    args += [
      jax.random.normal(k[3], (n, d), dt) / np.sqrt(d),
      jax.random.normal(k[4], (d, v), dt),
    ]
  args = [a.astype(dt) if a.dtype != jnp.int32 else a for a in args]
  jax.block_until_ready(args)
  f = jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))
  compiled = f.lower(*args).compile()
  temp = compiled.memory_analysis().temp_size_in_bytes
  jax.block_until_ready(compiled(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - start)
  stats = jax.devices()[0].memory_stats() or {}
  print(
    json.dumps(
      dict(
        case=case,
        path=path,
        temp=temp,
        peak=stats.get("peak_bytes_in_use", -1),
        ms=1e3 * float(np.median(times)),
      )
    )
  )


def main(n, d, v, repeats):
  import jax

  print(
    f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}, "
    f"shape {n}x{d}x{v} bf16, value_and_grad, median of {repeats}"
  )
  rows = []
  for case in CASES:
    for path in ("fused", "naive"):
      cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--one",
        case,
        path,
        "--tokens",
        str(n),
        "--hidden",
        str(d),
        "--vocab",
        str(v),
        "--repeats",
        str(repeats),
      ]
      env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
      out = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=300
      )
      lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
      if out.returncode or not lines:
        rows.append(dict(case=case, path=path, error=out.stderr[-300:]))
      else:
        rows.append(json.loads(lines[-1]))
  print("| case | path | peak GiB | XLA temp GiB | time ms |")
  print("| --- | --- | --- | --- | --- |")
  for r in rows:
    if "error" in r:
      print(
        f"| {r['case']} | {r['path']} | failed: "
        f"{r['error'].splitlines()[-1] if r['error'] else '?'} | | |"
      )
    else:
      peak = f"{r['peak'] / GIB:.2f}" if r["peak"] >= 0 else "n/a"
      print(
        f"| {r['case']} | {r['path']} | {peak} | "
        f"{r['temp'] / GIB:.2f} | {r['ms']:.1f} |"
      )


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--one", nargs=2, metavar=("CASE", "PATH"))
  parser.add_argument("--tokens", type=int, default=8192)
  parser.add_argument("--hidden", type=int, default=4096)
  parser.add_argument("--vocab", type=int, default=128256)
  parser.add_argument("--repeats", type=int, default=10)
  a = parser.parse_args()
  if a.one:
    _one(a.one[0], a.one[1], a.tokens, a.hidden, a.vocab, a.repeats)
  else:
    main(a.tokens, a.hidden, a.vocab, a.repeats)
