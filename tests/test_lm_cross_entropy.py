"""Parity and memory tests of ``jaxloss.linear_cross_entropy`` (issue 6).

Reference: the naive path ``logits = x @ w + b`` followed by
``jaxloss.sparse_categorical_crossentropy(from_logits=True)`` and plain
``jnp`` for the soft cap (Gemma 2: ``cap * tanh(z / cap)``) and the z-loss
(PaLM, Chowdhery et al. 2022, section 5: ``coefficient * lse ** 2``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss

N_SHAPE = (3, 4)
D, V = 6, 23
IGNORE = -100


def _data(seed=0, dtype=np.float32):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=N_SHAPE + (D,)).astype(dtype)
  w = rng.normal(size=(D, V)).astype(dtype)
  b = rng.normal(size=(V,)).astype(dtype)
  y = rng.integers(0, V, size=N_SHAPE).astype(np.int32)
  y[0, 1] = y[2, 3] = IGNORE
  sw = rng.uniform(0.5, 2.0, size=N_SHAPE).astype(dtype)
  return x, w, b, y, sw


def naive(
  x,
  w,
  b,
  y,
  *,
  label_smoothing=0.0,
  z_loss=0.0,
  logit_softcap=None,
  sample_weight=None,
  reduction="mean",
  normalizer=None,
):
  """Full logits, then the library's sparse cross-entropy and ``reduce``."""
  z = jnp.einsum("...d,dv->...v", x, w)
  if b is not None:
    z = z + jnp.reshape(b, (1,) * (z.ndim - 1) + (-1,))
  if logit_softcap is not None:
    z = logit_softcap * jnp.tanh(z / logit_softcap)
  valid = y != IGNORE
  values = jaxloss.sparse_categorical_crossentropy(
    jnp.where(valid, y, 0), z, from_logits=True, label_smoothing=label_smoothing
  )
  values = values + z_loss * jax.nn.logsumexp(z, axis=-1) ** 2
  return jaxloss.reduce(
    values,
    sample_weight=sample_weight,
    where=valid,
    reduction=reduction,
    normalizer=normalizer,
  )


OPTIONS = [
  dict(),
  dict(label_smoothing=0.1),
  dict(z_loss=1e-2),
  dict(logit_softcap=2.0),
  dict(label_smoothing=0.3, z_loss=0.05, logit_softcap=3.0),
]


def _both(opts, use_bias, use_weight, reduction, normalizer=None, chunk=5):
  x, w, b, y, sw = _data()
  sw = sw if use_weight else None
  b = b if use_bias else None

  def fused(x, w, b):
    return jaxloss.linear_cross_entropy(
      x,
      w,
      y,
      bias=b,
      ignore_index=IGNORE,
      sample_weight=sw,
      reduction=reduction,
      normalizer=normalizer,
      chunk_size=chunk,
      **opts,
    )

  def ref(x, w, b):
    return naive(
      x,
      w,
      b,
      y,
      sample_weight=sw,
      reduction=reduction,
      normalizer=normalizer,
      **opts,
    )

  return fused, ref, (x, w, b)


CASES = [(o, "mean") for o in OPTIONS] + [
  (OPTIONS[-1], "sum"),
  (OPTIONS[-1], "mean_with_sample_weight"),
]


@pytest.mark.parametrize("opts, reduction", CASES, ids=str)
def test_value_and_grads_match_naive(opts, reduction):
  fused, ref, args = _both(opts, True, True, reduction)
  argnums = (0, 1, 2)
  got = jax.jit(jax.value_and_grad(fused, argnums))(*args)
  want = jax.value_and_grad(ref, argnums)(*args)
  np.testing.assert_allclose(got[0], want[0], rtol=2e-6, atol=1e-6)
  for g, r in zip(got[1], want[1], strict=True):
    np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("chunk", [1, 4, 23, 64, None])
def test_chunk_sizes_and_no_bias(chunk):
  opts = OPTIONS[-1]
  fused, ref, (x, w, _) = _both(opts, False, False, "mean", chunk=chunk)
  got = jax.value_and_grad(lambda x, w: fused(x, w, None), (0, 1))(x, w)
  want = jax.value_and_grad(lambda x, w: ref(x, w, None), (0, 1))(x, w)
  np.testing.assert_allclose(got[0], want[0], rtol=2e-6)
  for g, r in zip(got[1], want[1], strict=True):
    np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6)


def test_none_reduction_and_normalizer():
  opts = OPTIONS[-1]
  fused, ref, args = _both(opts, True, True, "none")
  got = fused(*args)
  assert got.shape == N_SHAPE
  np.testing.assert_allclose(got, ref(*args), rtol=2e-6, atol=1e-6)
  assert got[0, 1] == 0 and got[2, 3] == 0  # ignored tokens
  # vjp of the per-token values with a non-uniform cotangent.
  ct = jnp.arange(12.0).reshape(N_SHAPE)
  g_got = jax.vjp(fused, *args)[1](ct)
  g_want = jax.vjp(ref, *args)[1](ct)
  for g, r in zip(g_got, g_want, strict=True):
    np.testing.assert_allclose(g, r, rtol=2e-5, atol=1e-5)
  fused, ref, args = _both(opts, True, True, "mean", normalizer=37.0)
  np.testing.assert_allclose(fused(*args), ref(*args), rtol=2e-6)


def test_all_ignored_is_zero_with_finite_zero_gradients():
  x, w, b, _, _ = _data()
  y = np.full(N_SHAPE, IGNORE, np.int32)
  f = lambda x, w, b: jaxloss.linear_cross_entropy(
    x, w, y, bias=b, z_loss=0.1, label_smoothing=0.1, logit_softcap=2.0
  )
  value, grads = jax.value_and_grad(f, (0, 1, 2))(x, w, b)
  assert value == 0
  for g in grads:
    assert np.all(g == 0)


def test_nan_in_ignored_token_does_not_leak():
  x, w, b, y, _ = _data()
  x[0, 1] = np.nan  # token (0, 1) is ignored
  f = lambda x, w: jaxloss.linear_cross_entropy(x, w, y, chunk_size=7)
  value, grads = jax.value_and_grad(f, (0, 1))(x, w)
  assert np.isfinite(value)
  assert np.all(np.isfinite(grads[1]))
  x[1, 1] = np.nan  # a counted token: the NaN propagates
  assert np.isnan(f(x, w))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_close_to_float32(dtype):
  x, w, b, y, _ = _data()
  opts = OPTIONS[-1]
  f = lambda x, w, b: jaxloss.linear_cross_entropy(
    x, w, y, bias=b, chunk_size=8, **opts
  )
  half = tuple(jnp.asarray(a, dtype) for a in (x, w, b))
  value, grads = jax.value_and_grad(f, (0, 1, 2))(*half)
  assert value.dtype == jnp.float32  # the fused LM functions' dtype policy
  assert all(g.dtype == dtype for g in grads)
  want_value, want_grads = jax.value_and_grad(
    lambda *a: naive(*a, y, **opts), (0, 1, 2)
  )(*(np.asarray(a, np.float32) for a in half))
  np.testing.assert_allclose(np.float32(value), want_value, rtol=2e-2)
  for g, r in zip(grads, want_grads, strict=True):
    np.testing.assert_allclose(
      np.asarray(g, np.float32), r, rtol=5e-2, atol=2e-2
    )


@pytest.mark.parametrize("order", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_float64_gradients_of_weight_and_bias(x64, order):
  x, w, b, y, sw = _data(dtype=np.float64)
  f = lambda x, w, b: jaxloss.linear_cross_entropy(
    x, w, y, bias=b, sample_weight=sw, chunk_size=4, **OPTIONS[-1]
  )
  assert f(x, w, b).dtype == jnp.float64
  check_grads(f, (x, w, b), order=order, modes=("rev",), atol=1e-4, rtol=1e-4)


def _shapes_in_jaxpr(jaxpr):
  for eqn in jaxpr.eqns:
    for var in eqn.outvars:
      yield tuple(getattr(var.aval, "shape", ()))
    for sub in (
      jax.core.subjaxprs(eqn.params) if hasattr(jax.core, "subjaxprs") else ()
    ):
      yield from _shapes_in_jaxpr(sub)
    for p in eqn.params.values():
      inner = getattr(p, "jaxpr", None)
      if inner is not None and hasattr(inner, "eqns"):
        yield from _shapes_in_jaxpr(inner)
      elif hasattr(p, "eqns"):
        yield from _shapes_in_jaxpr(p)


def test_no_full_logits_in_the_program():
  n, d, v = 64, 8, 1024
  args = (jnp.zeros((n, d)), jnp.zeros((d, v)), jnp.zeros((n,), jnp.int32))
  f = lambda x, w, y: jaxloss.linear_cross_entropy(
    x, w, y, chunk_size=128, z_loss=1e-3, logit_softcap=5.0, label_smoothing=0.1
  )
  jaxpr = jax.make_jaxpr(jax.value_and_grad(f, (0, 1)))(*args).jaxpr
  shapes = list(_shapes_in_jaxpr(jaxpr))
  assert (n, 128) in shapes  # a chunk's logits
  big = [s for s in shapes if int(np.prod(s)) >= n * v // 2]
  assert not big, big
  # The naive path does hold them (the check can fail).
  naive_jaxpr = jax.make_jaxpr(
    jax.value_and_grad(lambda x, w, y: naive(x, w, None, y), (0, 1))
  )(*args).jaxpr
  assert (n, v) in set(_shapes_in_jaxpr(naive_jaxpr))


def test_compiled_temp_memory_at_most_5_percent_of_naive():
  # bfloat16 value_and_grad at N=8192, D=1024, V=131072, compile only.
  n, d, v = 8192, 1024, 131072
  args = (
    jax.ShapeDtypeStruct((n, d), jnp.bfloat16),
    jax.ShapeDtypeStruct((d, v), jnp.bfloat16),
    jax.ShapeDtypeStruct((n,), jnp.int32),
  )

  def temp(fn):
    compiled = jax.jit(jax.value_and_grad(fn, (0, 1))).lower(*args).compile()
    return compiled.memory_analysis().temp_size_in_bytes

  fused = temp(lambda x, w, y: jaxloss.linear_cross_entropy(x, w, y))
  ref = temp(lambda x, w, y: naive(x, w, None, y))
  assert ref > n * v * 2  # the naive path holds at least the bf16 logits
  assert fused <= 0.05 * ref, (fused, ref)


@pytest.mark.parametrize(
  "bad, error, match",
  [
    (dict(embeddings=np.zeros((2, 5))), ValueError, "weight must have shape"),
    (dict(weight=np.zeros((6,))), ValueError, "weight must have shape"),
    (dict(labels=np.zeros((3,), np.int32)), ValueError, "labels must have"),
    (dict(labels=np.zeros((2,), np.float32)), TypeError, "integer dtype"),
    (dict(embeddings=np.zeros((2, 6), np.int32)), TypeError, "floating"),
    (dict(bias=np.zeros((4,))), ValueError, "bias must have shape"),
    (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
    (dict(z_loss=-1.0), ValueError, "z_loss"),
    (dict(logit_softcap=0.0), ValueError, "logit_softcap"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(reduction="avg"), ValueError, "reduction"),
  ],
)
def test_errors(bad, error, match):
  kwargs = dict(
    embeddings=np.zeros((2, 6), np.float32),
    weight=np.zeros((6, 5), np.float32),
    labels=np.zeros((2,), np.int32),
  )
  kwargs.update(bad)
  args = [kwargs.pop(k) for k in ("embeddings", "weight", "labels")]
  with pytest.raises(error, match=f"linear_cross_entropy: .*{match}"):
    jaxloss.linear_cross_entropy(*args, **kwargs)


# ----------------------------------------------- large logits (exactness)


def _large_logit_head(scale, vocab=37):
  """Hidden states, a head and labels whose float32 logits are exact: the
  common offset ``scale`` plus multiples of 1/32 (representable at 3e5),
  so the float64 reference sees the kernel's own logits."""
  rng = np.random.default_rng(0)
  x = np.concatenate(
    [np.ones((4, 1)), rng.integers(-1, 2, size=(4, 7))], 1
  ).astype(np.float32)
  w = np.concatenate(
    [np.full((1, vocab), scale), rng.integers(-8, 9, size=(7, vocab)) / 32], 0
  ).astype(np.float32)
  z = x.astype(np.float64) @ w.astype(np.float64)
  assert np.array_equal(np.asarray(jnp.asarray(x) @ jnp.asarray(w)), z)
  y = rng.integers(0, vocab, size=(4,))
  m = z.max(-1, keepdims=True)
  lp = z - m - np.log(np.sum(np.exp(z - m), -1, keepdims=True))  # float64
  return x, w, y, lp


@pytest.mark.parametrize("scale", [1e4, 3e5])
def test_fused_heads_exact_at_large_logits(scale):
  # Relative to the running maximum throughout: float32 log-probs,
  # entropy and cross-entropy within a few ulps of 1 (the float64 values
  # are O(1)), as the naive float32 log_softmax is. Before, lse - E_p[s]
  # and s_y - lse cancelled the offset: errors of 4e-4 (1e4) and 2e-2
  # (3e5).
  x, w, y, lp = _large_logit_head(scale)
  rows = np.arange(4)
  want_lp = lp[rows, y]
  want_ent = -np.sum(np.exp(lp) * lp, -1)
  tol = dict(rtol=0, atol=2e-6)
  got_lp, got_ent = jaxloss.linear_log_probs(
    x, w, y, return_entropy=True, chunk_size=8
  )
  np.testing.assert_allclose(got_lp, want_lp, **tol)
  np.testing.assert_allclose(got_ent, want_ent, **tol)
  ce = jaxloss.linear_cross_entropy(x, w, y, reduction="none", chunk_size=8)
  np.testing.assert_allclose(ce, -want_lp, **tol)
  ce_ls = jaxloss.linear_cross_entropy(
    x, w, y, reduction="none", chunk_size=8, label_smoothing=0.1
  )
  np.testing.assert_allclose(ce_ls, 0.9 * -want_lp + 0.1 * -lp.mean(-1), **tol)
  # The gradient (softmax - onehot) @ w.T: exact but for the column that
  # multiplies the offset (a float32 sum of +-scale terms).
  g = jax.grad(
    lambda x: jnp.sum(
      jaxloss.linear_cross_entropy(x, w, y, reduction="none", chunk_size=8)
    )
  )(jnp.asarray(x))
  p = np.exp(lp)
  p[rows, y] -= 1
  want_g = p @ w.astype(np.float64).T
  np.testing.assert_allclose(g[:, 1:], want_g[:, 1:], rtol=0, atol=2e-6)
  np.testing.assert_allclose(g[:, 0], want_g[:, 0], rtol=0, atol=1e-6 * scale)
