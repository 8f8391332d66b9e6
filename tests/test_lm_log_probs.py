"""Tests of ``linear_log_probs`` and ``vocab_parallel_log_probs``
(jaxloss/_src/lm/log_probs.py).

Reference: the naive path that materialises ``x @ w (+ b)`` and applies
``jax.nn.log_softmax``; values and gradients must agree to float32
round-off. The slow memory test also compiles the fused distillation heads
of ``benchmarks/lm_post_memory.py`` next to the log-probabilities.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss

IGNORE = -100
N_SHAPE = (2, 5)
D, V = 6, 37


def _head_data(seed=0, dtype=np.float32):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=N_SHAPE + (D,)).astype(dtype)
  w = rng.normal(size=(D, V)).astype(dtype)
  b = rng.normal(size=(V,)).astype(dtype)
  y = rng.integers(0, V, size=N_SHAPE).astype(np.int32)
  y[0, 1] = y[1, 4] = IGNORE
  return x, w, b, y


def naive_log_probs(x, w, b, y, *, temperature=1.0, logit_softcap=None):
  z = jnp.einsum("...d,dv->...v", x, w)
  if b is not None:
    z = z + jnp.reshape(b, (1,) * (z.ndim - 1) + (-1,))
  if logit_softcap is not None:
    z = logit_softcap * jnp.tanh(z / logit_softcap)
  logp = jax.nn.log_softmax(z / temperature, axis=-1)
  valid = y != IGNORE
  picked = jnp.take_along_axis(logp, jnp.where(valid, y, 0)[..., None], -1)[
    ..., 0
  ]
  ent = -jnp.sum(jnp.exp(logp) * logp, axis=-1)
  return jnp.where(valid, picked, 0), jnp.where(valid, ent, 0)


HEAD_OPTIONS = [
  dict(),
  dict(temperature=0.7),
  dict(logit_softcap=2.5),
  dict(temperature=1.3, logit_softcap=3.0),
]


def _combined(lp, ent):
  # Distinct cotangents on every token and on both outputs.
  c1 = jnp.linspace(0.5, 1.5, lp.size).reshape(lp.shape)
  c2 = jnp.linspace(-1.0, 2.0, ent.size).reshape(ent.shape)
  return jnp.sum(c1 * lp) + jnp.sum(c2 * ent)


# ------------------------------------------------------------ log-probs


@pytest.mark.parametrize(
  "opts, chunk",
  [
    (HEAD_OPTIONS[0], 8),
    pytest.param(HEAD_OPTIONS[1], None, marks=pytest.mark.slow),
    (HEAD_OPTIONS[2], 7),
    (HEAD_OPTIONS[3], 8),
  ],
)
def test_log_probs_value_and_grads_match_naive(opts, chunk):
  x, w, b, y = _head_data()

  def fused(x, w, b):
    return jaxloss.linear_log_probs(
      x, w, y, bias=b, return_entropy=True, chunk_size=chunk, **opts
    )

  def ref(x, w, b):
    return naive_log_probs(x, w, b, y, **opts)

  @jax.jit
  def run(x, w, b):
    grads = [
      jax.grad(lambda *a, f=f: _combined(*f(*a)), (0, 1, 2))(x, w, b)
      for f in (fused, ref)
    ]
    return fused(x, w, b), ref(x, w, b), grads

  (lp, ent), (lp_ref, ent_ref), (g, g_ref) = run(x, w, b)
  np.testing.assert_allclose(lp, lp_ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ent, ent_ref, rtol=1e-5, atol=1e-5)
  assert np.all(np.asarray(lp)[y == IGNORE] == 0)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


def test_log_probs_without_entropy_and_bias():
  x, w, _, y = _head_data(1)
  f = jax.jit(
    jax.value_and_grad(
      lambda w: jnp.sum(jaxloss.linear_log_probs(x, w, y, chunk_size=10))
    )
  )
  f_ref = jax.jit(
    jax.value_and_grad(lambda w: jnp.sum(naive_log_probs(x, w, None, y)[0]))
  )
  (v, g), (v_ref, g_ref) = f(w), f_ref(w)
  np.testing.assert_allclose(v, v_ref, rtol=1e-5)
  np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5)


def test_log_probs_float64_check_grads(x64):
  x, w, b, y = (
    np.asarray(a, np.float64) if a.dtype.kind == "f" else a
    for a in _head_data(2)
  )

  def f(x, w, b):
    lp, ent = jaxloss.linear_log_probs(
      x,
      w,
      y,
      bias=b,
      return_entropy=True,
      temperature=1.3,
      logit_softcap=3.0,
      chunk_size=8,
    )
    return _combined(lp, ent)

  check_grads(
    jax.jit(f), (x, w, b), order=1, modes=["rev"], atol=1e-6, rtol=1e-6
  )


def test_log_probs_extreme_logits_finite():
  x, _, _, y = _head_data(3)
  w = np.zeros((D, V), np.float32)
  w[0, :] = 1e4
  w[0, 3] = -1e4
  x = np.abs(x)  # logits of about +-1e4 * x
  lp, ent = jax.jit(
    lambda x, w: jaxloss.linear_log_probs(
      x, w, y, return_entropy=True, chunk_size=8
    )
  )(x, w)
  assert np.all(np.isfinite(lp)) and np.all(np.isfinite(ent))
  lp_ref, ent_ref = naive_log_probs(x, w, None, y)
  np.testing.assert_allclose(lp, lp_ref, rtol=1e-4, atol=1e-2)
  g = jax.jit(
    jax.grad(
      lambda x, w: _combined(
        *jaxloss.linear_log_probs(x, w, y, return_entropy=True, chunk_size=8)
      ),
      (0, 1),
    )
  )(x, w)
  assert all(np.all(np.isfinite(a)) for a in g)


def test_log_probs_all_masked_zero_and_finite_gradients():
  x, w, b, _ = _head_data(4)
  y = np.full(N_SHAPE, IGNORE, np.int32)
  x = x.copy()
  x[0, 0, 0] = np.nan  # a NaN at an ignored token does not leak

  def f(x, w, b):
    return _combined(
      *jaxloss.linear_log_probs(
        x, w, y, bias=b, return_entropy=True, chunk_size=8
      )
    )

  v, g = jax.jit(jax.value_and_grad(f, (0, 1, 2)))(x, w, b)
  assert float(v) == 0.0
  for a in g:
    assert np.all(np.asarray(a) == 0)


@pytest.mark.parametrize(
  "dtype", [jnp.bfloat16, pytest.param(jnp.float16, marks=pytest.mark.slow)]
)
def test_log_probs_half_precision(dtype):
  x, w, b, y = _head_data(5)
  xh, wh = jnp.asarray(x, dtype), jnp.asarray(w, dtype)
  lp, ent = jax.jit(
    lambda x, w: jaxloss.linear_log_probs(x, w, y, return_entropy=True)
  )(xh, wh)
  assert lp.dtype == jnp.float32 and ent.dtype == jnp.float32
  # Reference: the same half inputs, upcast, through the naive path.
  lp_ref, ent_ref = naive_log_probs(
    np.asarray(xh, np.float32), np.asarray(wh, np.float32), None, y
  )
  np.testing.assert_allclose(lp, lp_ref, rtol=2e-2, atol=2e-2)
  np.testing.assert_allclose(ent, ent_ref, rtol=2e-2, atol=2e-2)
  g = jax.jit(
    jax.grad(
      lambda w: _combined(
        *jaxloss.linear_log_probs(xh, w, y, return_entropy=True)
      )
    )
  )(wh)
  assert g.dtype == dtype and np.all(np.isfinite(np.asarray(g, np.float32)))


def test_log_probs_jit_and_vmap():
  x, w, b, y = _head_data(6)
  f = lambda x, y: jaxloss.linear_log_probs(x, w, y, chunk_size=8)
  eager = f(x, y)
  np.testing.assert_allclose(jax.jit(f)(x, y), eager, rtol=1e-6)
  np.testing.assert_allclose(
    jax.jit(jax.vmap(f))(x, y), eager, rtol=1e-5, atol=1e-6
  )


def _shapes_in_jaxpr(jaxpr):
  for eqn in jaxpr.eqns:
    for v in eqn.outvars:
      yield tuple(getattr(v.aval, "shape", ()))
    for p in eqn.params.values():
      inner = getattr(p, "jaxpr", None)
      if inner is not None:
        yield from _shapes_in_jaxpr(getattr(inner, "jaxpr", inner))
      elif hasattr(p, "eqns"):
        yield from _shapes_in_jaxpr(p)


@pytest.mark.parametrize("which", ["log_probs", "distillation"])
def test_no_full_logits_in_the_program(which):
  n, d, v = 64, 8, 1024
  x = jnp.zeros((n, d))
  w = jnp.zeros((d, v))
  y = jnp.zeros((n,), jnp.int32)
  if which == "log_probs":
    f = lambda x, w: _combined(
      *jaxloss.linear_log_probs(x, w, y, return_entropy=True, chunk_size=128)
    )
  else:
    f = lambda x, w: jaxloss.linear_distillation(
      x, w, x, w, y, divergence="jsd", hard_label_weight=0.5, chunk_size=128
    )
  shapes = list(
    _shapes_in_jaxpr(jax.make_jaxpr(jax.grad(f, (0, 1)))(x, w).jaxpr)
  )
  assert (n, 128) in shapes
  big = [s for s in shapes if int(np.prod(s)) >= n * v // 2 and s != (d, v)]
  assert not big, big


def test_vocab_parallel_log_probs_matches_single_device():
  x, w, b, y = _head_data(7)
  w = np.concatenate([w, w[:, :3]], axis=1)  # V = 40, 4 shards of 10
  b = np.concatenate([b, b[:3]])
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("vocab",))

  def sharded(x, w, b):
    return jax.shard_map(
      lambda x, w, b: jaxloss.vocab_parallel_log_probs(
        x,
        w,
        y,
        axis_name="vocab",
        bias_shard=b,
        return_entropy=True,
        temperature=0.8,
        chunk_size=4,
      ),
      mesh=mesh,
      in_specs=(P(), P(None, "vocab"), P("vocab")),
      out_specs=P(),
    )(x, w, b)

  def single(x, w, b):
    return jaxloss.linear_log_probs(
      x, w, y, bias=b, return_entropy=True, temperature=0.8
    )

  @jax.jit
  def run(x, w, b):
    g = jax.grad(lambda *a: _combined(*sharded(*a)), (0, 1, 2))(x, w, b)
    g_ref = jax.grad(lambda *a: _combined(*single(*a)), (0, 1, 2))(x, w, b)
    return sharded(x, w, b), single(x, w, b), g, g_ref

  out, out_ref, g, g_ref = run(x, w, b)
  for a, r in zip(out, out_ref):
    np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_vocab_parallel_log_probs_on_a_data_by_vocab_mesh():
  # Embeddings and labels sharded over "data", the head over "vocab"; the
  # weight's gradient is summed over "data" as autodiff would.
  rng = np.random.default_rng(8)
  x = rng.normal(size=(4, 3, D)).astype(np.float32)
  w = rng.normal(size=(D, 12)).astype(np.float32)
  y = rng.integers(0, 12, (4, 3)).astype(np.int32)
  y[0, 0] = IGNORE
  mesh = jax.sharding.Mesh(
    np.array(jax.devices()[:4]).reshape(2, 2), ("data", "vocab")
  )

  def per_device(x, w, y):
    lp, ent = jaxloss.vocab_parallel_log_probs(
      x, w, y, axis_name="vocab", return_entropy=True, chunk_size=4
    )
    return jax.lax.psum(jnp.sum(lp) + 0.3 * jnp.sum(ent), "data")

  def sharded(x, w):
    return jax.shard_map(
      per_device,
      mesh=mesh,
      in_specs=(P("data"), P(None, "vocab"), P("data")),
      out_specs=P(),
    )(x, w, y)

  def single(x, w):
    lp, ent = jaxloss.linear_log_probs(x, w, y, return_entropy=True)
    return jnp.sum(lp) + 0.3 * jnp.sum(ent)

  (v, g) = jax.jit(jax.value_and_grad(sharded, (0, 1)))(x, w)
  (v_ref, g_ref) = jax.jit(jax.value_and_grad(single, (0, 1)))(x, w)
  np.testing.assert_allclose(v, v_ref, rtol=1e-5)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_compiled_temp_memory_fraction_of_naive():
  # Issue 13's targets, bfloat16 value_and_grad at 8192 x 4096 x 128256,
  # compile only (about a minute of compilation on a 2-core CPU).
  from benchmarks import lm_post_memory as bench

  n, d, v = 8192, 4096, 128256
  for fused, naive, teacher, bound in (
    (bench.fused_log_probs, bench.naive_log_probs, False, 0.03),
    (
      bench.fused_distill("forward_kl"),
      bench.naive_distill("forward_kl"),
      True,
      0.05,
    ),
    (bench.fused_distill("jsd"), bench.naive_distill("jsd"), True, 0.05),
  ):
    mem_fused, _ = bench.memory(fused, n, d, v, teacher)
    mem_naive, _ = bench.memory(naive, n, d, v, teacher)
    assert mem_naive > n * v * 4  # the naive path holds float32 logits
    assert mem_fused <= bound * mem_naive, (mem_fused, mem_naive)


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda: jaxloss.linear_log_probs(
        np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(2, int)
      ),
      ValueError,
      "linear_log_probs: weight must have shape",
    ),
    (
      lambda: jaxloss.linear_log_probs(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(3, int)
      ),
      ValueError,
      "linear_log_probs: labels must have shape",
    ),
    (
      lambda: jaxloss.linear_log_probs(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(2)
      ),
      TypeError,
      "linear_log_probs: labels must have an integer dtype",
    ),
    (
      lambda: jaxloss.linear_log_probs(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(2, int), temperature=0.0
      ),
      ValueError,
      "linear_log_probs: temperature must be in",
    ),
    (
      lambda: jaxloss.linear_log_probs(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(2, int), return_entropy=1
      ),
      TypeError,
      "linear_log_probs: return_entropy must be a bool",
    ),
    (
      lambda: jaxloss.vocab_parallel_log_probs(
        np.zeros((2, 3)), np.zeros((3, 5)), np.zeros(2, int), axis_name="vocab"
      ),
      ValueError,
      "vocab_parallel_log_probs: axis_name must name",
    ),
  ],
)
def test_errors(call, error, match):
  with pytest.raises(error, match=match):
    call()
