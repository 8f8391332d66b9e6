"""Memory and speed of the chunked and sharded CLIP / SigLIP losses.

Memory: XLA's compiled memory analysis (compile only, nothing runs) of
``value_and_grad`` with respect to both embeddings (and the learnable scale
and bias) of

* the chunked single-device ``jaxloss.clip_loss`` / ``siglip_loss`` and the
  naive form (the full ``[B, B]`` logits in plain ``jnp``) at B = 32768,
  D = 768, bfloat16;
* the sharded forms inside ``shard_map`` on 8 simulated CPU devices, per
  device, for two global batch sizes.

Speed: median wall time of the jitted ``value_and_grad`` of the chunked and
naive forms (float32) at sizes where the naive form fits.

Run: ``python benchmarks/contrastive_memory.py [--quick]`` (sets the XLA
flag for 8 host devices itself when run as a script).
"""

from __future__ import annotations

import os

if __name__ == "__main__":
  os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
import numpy as np  # noqa: E402

import jaxloss  # noqa: E402

MIB = 1 << 20


def naive_clip(x, y, scale, bias):
  del bias
  logits = scale * jnp.einsum(
    "id,jd->ij", x, y, preferred_element_type=jnp.float32
  )
  d = jnp.diagonal(logits)
  return 0.5 * (jax.nn.logsumexp(logits, axis=1) - d) + 0.5 * (
    jax.nn.logsumexp(logits, axis=0) - d
  )


def naive_siglip(x, y, scale, bias):
  logits = (
    scale * jnp.einsum("id,jd->ij", x, y, preferred_element_type=jnp.float32)
    + bias
  )
  z = 2.0 * jnp.eye(x.shape[0], dtype=logits.dtype) - 1.0
  return -jnp.sum(jax.nn.log_sigmoid(z * logits), axis=1)


def chunked_clip(x, y, scale, bias, chunk_size=None):
  del bias
  return jaxloss.clip_loss(x, y, scale=scale, chunk_size=chunk_size)


def chunked_siglip(x, y, scale, bias, chunk_size=None):
  return jaxloss.siglip_loss(
    x, y, scale=scale, bias=bias, chunk_size=chunk_size
  )


FORMS = {
  "clip": (chunked_clip, naive_clip),
  "siglip": (chunked_siglip, naive_siglip),
}


def _grad_fn(values_fn):
  return jax.value_and_grad(
    lambda x, y, s, b: jnp.mean(values_fn(x, y, s, b).astype(jnp.float32)),
    argnums=(0, 1, 2, 3),
  )


def _specs(b, d, dtype):
  emb = jax.ShapeDtypeStruct((b, d), dtype)
  scalar = jax.ShapeDtypeStruct((), jnp.float32)
  return emb, emb, scalar, scalar


def memory(values_fn, b, d, dtype=jnp.bfloat16):
  """Compiled temporary bytes of value_and_grad (compile only)."""
  compiled = jax.jit(_grad_fn(values_fn)).lower(*_specs(b, d, dtype)).compile()
  return compiled.memory_analysis().temp_size_in_bytes


def sharded_memory(loss, b, d, devices=8, dtype=jnp.bfloat16):
  """Per-device compiled temporary bytes of the sharded value_and_grad.

  ``loss``: "clip" or "siglip" (rings), or "clip_all_gather".
  """
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:devices]), ("batch",))

  def local(x, y, s, bias):
    if loss.startswith("clip"):
      v = jaxloss.sharded_clip_loss(
        x,
        y,
        scale=s,
        axis_name="batch",
        collective="all_gather" if loss.endswith("gather") else "ring",
      )
    else:
      v = jaxloss.sharded_siglip_loss(
        x, y, scale=s, bias=bias, axis_name="batch"
      )
    return jax.lax.psum(jnp.sum(v.astype(jnp.float32)), "batch") / b

  row = P("batch")
  f = jax.shard_map(
    local, mesh=mesh, in_specs=(row, row, P(), P()), out_specs=P()
  )
  g = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2, 3)))
  compiled = g.lower(*_specs(b, d, dtype)).compile()
  return compiled.memory_analysis().temp_size_in_bytes


def wall_time(values_fn, b, d, repeats=5):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(b, d))
  x = jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), jnp.float32)
  y = jnp.asarray(np.roll(np.asarray(x), 1, axis=1))
  args = (x, y, jnp.float32(10.0), jnp.float32(-10.0))
  f = jax.jit(_grad_fn(values_fn))
  jax.block_until_ready(f(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(*args))
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main(quick=False):
  print(
    f"machine: {platform.machine()} {os.cpu_count()} CPUs, "
    f"{jax.device_count()} x {jax.devices()[0].device_kind}, "
    f"jax {jax.__version__}"
  )
  b, d = (4096, 256) if quick else (32768, 768)
  print(f"\n## single device, value_and_grad, B={b}, D={d}, bfloat16")
  print("| loss | chunked (MiB) | naive (MiB) | ratio |")
  print("|---|---|---|---|")
  for name, (chunked, naive) in FORMS.items():
    c, n = memory(chunked, b, d), memory(naive, b, d)
    print(f"| {name} | {c / MIB:.1f} | {n / MIB:.1f} | {c / n:.2%} |")

  sizes = (4096, 8192) if quick else (32768, 65536)
  print(f"\n## sharded, per device, 8 devices, D={d}, bfloat16")
  print(
    "| loss | global B | local b | per-device temp (MiB) | "
    "naive [B, B] f32 logits (MiB) |"
  )
  print("|---|---|---|---|---|")
  for name in (*FORMS, "clip_all_gather"):
    for gb in sizes:
      t = sharded_memory(name, gb, d)
      print(
        f"| {name} | {gb} | {gb // 8} | {t / MIB:.1f} | "
        f"{gb * gb * 4 / MIB:.0f} |"
      )

  print("\n## CPU time, value_and_grad, float32 (median of 5)")
  print(
    "| loss | B | D | chunked default (ms) | chunked, chunk 256 (ms) | "
    "naive (ms) | default / naive |"
  )
  print("|---|---|---|---|---|---|---|")
  timing = [(1024, 128)] if quick else [(2048, 256), (4096, 256)]
  for name, (chunked, naive) in FORMS.items():
    for tb, td in timing:
      tc = wall_time(chunked, tb, td)
      t256 = wall_time(lambda *a, f=chunked: f(*a, chunk_size=256), tb, td)
      tn = wall_time(naive, tb, td)
      print(
        f"| {name} | {tb} | {td} | {tc * 1e3:.1f} | {t256 * 1e3:.1f} | "
        f"{tn * 1e3:.1f} | {tc / tn:.2f}x |"
      )


if __name__ == "__main__":
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  main(**vars(parser.parse_args()))
