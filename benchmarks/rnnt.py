"""RNN-T speed and memory: jaxloss vs autodiff through a naive T x U loop.

``value_and_grad`` (with respect to the logits) of the summed RNN-T loss at
``B=8, T=200, U=50, V=512`` float32, jitted, on the default device: median
wall time over repeats and XLA's compiled memory analysis (temporaries;
the ``[B, T, U + 1, V]`` logits and their gradient, 160 MiB each, are
arguments and outputs, not temporaries).

* ``jaxloss.rnnt_loss``: one log-sum-exp over the vocabulary, then the
  forward variables over the ``T + U`` anti-diagonals (a scan of ``[B, U+1]``
  steps).
* ``rnnt_loss_from_log_probs``: the same recursion fed with ``[B, T, U+1]``
  blank/label log-probabilities (their computation is outside the timing).
* naive: ``log_softmax`` of the full logits, then a scan over ``t`` of a
  scan over ``u`` (``T x (U + 1)`` sequential cells), the recursion as
  Graves (2012) writes it.

Run: ``python benchmarks/rnnt.py [--shape 8 200 50 512] [--repeats 5]``.
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


def naive_rnnt(logits, labels):
  """Sum over the batch of -log p(y|x), full lengths, blank = 0."""
  lp = jax.nn.log_softmax(logits, axis=-1)
  blank = lp[..., 0]  # [B, T, U1]
  emit = jnp.take_along_axis(lp[:, :, :-1], labels[:, None, :, None], axis=-1)[
    ..., 0
  ]  # [B, T, U]
  batch, frames, u1 = blank.shape

  def row(alpha_prev, t):
    # alpha(t, u) from alpha(t - 1, u) (above) and alpha(t, u - 1) (left).
    above = jnp.where(
      t == 0,
      jnp.where(jnp.arange(u1) == 0, 0.0, -jnp.inf)[None],
      alpha_prev + blank[:, jnp.maximum(t - 1, 0)],
    )

    def cell(left, inputs):
      above_u, emit_left = inputs
      value = jnp.logaddexp(above_u, left + emit_left)
      return value, value

    first = above[:, 0]
    _, rest = jax.lax.scan(cell, first, (above[:, 1:].T, emit[:, t].T))
    alpha = jnp.concatenate([first[:, None], rest.T], axis=1)
    return alpha, None

  init = jnp.zeros((batch, u1), logits.dtype)
  alpha, _ = jax.lax.scan(row, init, jnp.arange(frames))
  return -jnp.sum(alpha[:, -1] + blank[:, -1, -1])


def jaxloss_rnnt(logits, labels):
  return jnp.sum(jaxloss.rnnt_loss(logits, labels))


def measure(fn, args, repeats):
  step = jax.jit(jax.value_and_grad(fn))
  start = time.perf_counter()
  compiled = step.lower(*args).compile()
  compile_s = time.perf_counter() - start
  temp = compiled.memory_analysis().temp_size_in_bytes / MIB
  jax.block_until_ready(step(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(step(*args))
    times.append(time.perf_counter() - start)
  return float(np.median(times)), temp, compile_s, float(step(*args)[0])


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--shape", type=int, nargs=4, default=(8, 200, 50, 512))
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  b, t, u, v = args.shape
  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(b, t, u + 1, v)), jnp.float32)
  labels = jnp.asarray(rng.integers(1, v, size=(b, u)), jnp.int32)
  lp = jax.nn.log_softmax(logits, axis=-1)
  blank = lp[..., 0]
  emit = jnp.take_along_axis(
    lp, jnp.pad(labels, ((0, 0), (0, 1)))[:, None, :, None], -1
  )[..., 0]
  del lp
  print(
    f"jax {jax.__version__}, {jax.devices()[0].platform}, "
    f"{platform.processor() or platform.machine()}, B={b} T={t} U={u} "
    f"V={v}"
  )
  rows = [
    ("jaxloss.rnnt_loss", jaxloss_rnnt, (logits, labels)),
    (
      "rnnt_loss_from_log_probs",
      lambda bl, em: jnp.sum(jaxloss.rnnt_loss_from_log_probs(bl, em)),
      (blank, emit),
    ),
    ("naive T x U scan", naive_rnnt, (logits, labels)),
  ]
  values = {}
  for name, fn, fargs in rows:
    seconds, temp, compile_s, value = measure(fn, fargs, args.repeats)
    values[name] = (seconds, value)
    print(
      f"{name:26s} value_and_grad {seconds * 1e3:9.1f} ms  temp "
      f"{temp:8.1f} MiB  compile {compile_s:5.1f} s  loss {value:.4f}"
    )
  fast, naive = values["jaxloss.rnnt_loss"], values["naive T x U scan"]
  print(
    f"speed-up vs naive: {naive[0] / fast[0]:.1f}x; relative loss "
    f"difference {abs(fast[1] - naive[1]) / abs(naive[1]):.1e}"
  )


if __name__ == "__main__":
  main()
