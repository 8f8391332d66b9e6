"""CLIP and SigLIP at scale (issue 14): chunked and sharded against naive.

References: the naive single-device losses below, written with the full
``[B, B]`` logits in plain ``jnp`` from the papers' formulas (Radford et
al. 2021, figure 3; Zhai et al. 2023, eq. (1)), over the unmasked rows
only; and, for small batches, the NumPy float64 loops of
tests/specs/contrastive.py. The sharded forms run on 8 simulated CPU
devices (tests/conftest.py sets the XLA flag). CLIP distillation and CoCa
(issue 27) also against stored open_clip values
(tests/reference_data/open_clip.json).
"""

from __future__ import annotations

import json
import pathlib

import jax
from jax import lax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss
from tests.specs import contrastive as ref

N_DEV = 8
D = 6


def naive_clip(x, y, scale):
  logits = scale * x @ y.T
  d = jnp.diagonal(logits)
  return 0.5 * (jax.nn.logsumexp(logits, axis=1) - d) + 0.5 * (
    jax.nn.logsumexp(logits, axis=0) - d
  )


def naive_siglip(x, y, scale, bias):
  logits = scale * x @ y.T + bias
  z = 2.0 * jnp.eye(x.shape[0], dtype=logits.dtype) - 1.0
  return -jnp.sum(jax.nn.log_sigmoid(z * logits), axis=1)


def _data(b, seed=0, dtype=np.float64):
  rng = np.random.default_rng(seed)
  x = ref._unit(rng.normal(size=(b, D)))
  y = ref._unit(x + 0.7 * rng.normal(size=(b, D)))
  w = rng.uniform(0.5, 2.0, size=b)
  return x.astype(dtype), y.astype(dtype), w.astype(dtype)


def _mask(b, masked):
  valid = np.ones(b, bool)
  if masked:
    # An uneven real batch padded at the end, and one hole in the middle.
    valid[-3:] = False
    valid[b // 3] = False
  return valid


def _mesh(n=N_DEV):
  return jax.sharding.Mesh(np.array(jax.devices()[:n]), ("batch",))


def _sharded(loss, mesh, **kwargs):
  """``(x, y, valid, scale, bias) -> [B]`` through shard_map."""
  if loss == "clip":

    def local(x, y, v, s, b):
      del b
      return jaxloss.sharded_clip_loss(
        x, y, scale=s, axis_name="batch", where=v, **kwargs
      )
  else:

    def local(x, y, v, s, b):
      return jaxloss.sharded_siglip_loss(
        x, y, scale=s, bias=b, axis_name="batch", where=v, **kwargs
      )

  row = P("batch")
  return jax.shard_map(
    local, mesh=mesh, in_specs=(row, row, row, P(), P()), out_specs=row
  )


def _naive(loss):
  if loss == "clip":
    return lambda x, y, s, b: naive_clip(x, y, s)
  return naive_siglip


def _weighted_mean(values, w, valid):
  return jnp.sum(jnp.where(valid, values * w, 0)) / jnp.sum(valid)


def _check_against_naive(loss, fn, x, y, w, valid, scale, bias, rtol):
  """Values and gradients (embeddings, scale, bias) of ``fn(x, y, valid, s,
  b) -> [B]`` against the naive loss on the unmasked rows (one compile)."""
  keep = np.flatnonzero(valid)
  naive = _naive(loss)

  def ours(x, y, s, b):
    values = fn(x, y, valid, s, b)
    return _weighted_mean(values, w, valid), values

  def theirs(x, y, s, b):
    return jnp.mean(naive(x[keep], y[keep], s, b) * w[keep])

  args = (x, y, scale, bias)
  (got, values), got_g = jax.jit(
    jax.value_and_grad(ours, argnums=(0, 1, 2, 3), has_aux=True)
  )(*args)
  want, want_g = jax.value_and_grad(theirs, argnums=(0, 1, 2, 3))(*args)
  np.testing.assert_allclose(
    values[keep], naive(x[keep], y[keep], scale, bias), rtol=rtol, atol=rtol
  )
  np.testing.assert_array_equal(values[~valid], 0)
  np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
  names = ("d image", "d text", "d scale", "d bias")
  for name, g, h in zip(names, got_g, want_g):
    if loss == "clip" and name == "d bias":
      np.testing.assert_array_equal(g, 0)  # CLIP has no bias
      continue
    np.testing.assert_allclose(g, h, rtol=rtol, atol=rtol, err_msg=name)


# --------------------------------------------------------------- one device


@pytest.mark.parametrize("loss", ["clip", "siglip"])
@pytest.mark.parametrize("chunk", [None, 5])
def test_chunked_equals_naive(loss, chunk, x64):
  # 37 rows: seven tiles of 5 and a tail of 2, or one tile of 37.
  x, y, w = _data(37)
  valid = _mask(37, masked=chunk == 5)
  if loss == "clip":

    def fn(x, y, v, s, b):
      del b
      return jaxloss.clip_loss(x, y, scale=s, where=v, chunk_size=chunk)
  else:

    def fn(x, y, v, s, b):
      return jaxloss.siglip_loss(
        x, y, scale=s, bias=b, where=v, chunk_size=chunk
      )

  _check_against_naive(
    loss, fn, x, y, w, valid, jnp.float64(7.0), jnp.float64(-3.0), rtol=1e-11
  )


def test_numpy_loops_reference(x64):
  x, y, _ = _data(8, seed=4)
  valid = _mask(8, masked=True)
  np.testing.assert_allclose(
    jaxloss.clip_loss(x, y, scale=5.0, where=valid, chunk_size=3),
    ref.np_clip(x, y, scale=5.0, where=valid),
    rtol=1e-12,
    atol=1e-12,
    err_msg=ref.CLIP_SRC,
  )
  np.testing.assert_allclose(
    jaxloss.siglip_loss(x, y, scale=5.0, bias=-2.0, where=valid, chunk_size=3),
    ref.np_siglip(x, y, scale=5.0, bias=-2.0, where=valid),
    rtol=1e-12,
    atol=1e-12,
    err_msg=ref.SIGLIP_SRC,
  )


def test_doctest_value_by_hand():
  # Two orthogonal unit pairs, scale 1: l = I, so each direction is
  # log(e + 1) - 1 (CLIP), and SigLIP's row is softplus(-1) + softplus(0).
  x = np.eye(2, dtype=np.float32)
  np.testing.assert_allclose(
    jaxloss.clip_loss(x, x, scale=1.0), [np.log(np.e + 1) - 1] * 2, rtol=1e-6
  )
  np.testing.assert_allclose(
    jaxloss.siglip_loss(x, x, scale=1.0, bias=0.0),
    [np.log1p(np.exp(-1.0)) + np.log(2.0)] * 2,
    rtol=1e-6,
  )


@pytest.mark.parametrize("dtype", [jnp.bfloat16])
def test_half_precision_chunked_matches_float32(dtype):
  x, y, _ = _data(40, dtype=np.float32)
  for f in (
    lambda a, b, c: jaxloss.clip_loss(a, b, scale=10.0, chunk_size=c),
    lambda a, b, c: jaxloss.siglip_loss(a, b, chunk_size=c),
  ):
    half = f(jnp.asarray(x, dtype), jnp.asarray(y, dtype), 7)
    assert half.dtype == dtype
    np.testing.assert_allclose(
      np.asarray(half, np.float32), f(x, y, None), rtol=3e-2, atol=3e-2
    )


def test_learnable_scale_and_bias_in_objects():
  x, y, _ = _data(6, dtype=np.float32)
  loss = jaxloss.SigLIPLoss(chunk_size=4)

  def f(s, b):
    return jaxloss.SigLIPLoss(scale=s, bias=b, chunk_size=4)(x, y)

  gs, gb = jax.grad(f, argnums=(0, 1))(jnp.float32(10.0), jnp.float32(-10.0))
  want = jax.grad(
    lambda s, b: jnp.mean(naive_siglip(x, y, s, b)), argnums=(0, 1)
  )(10.0, -10.0)
  np.testing.assert_allclose((gs, gb), want, rtol=1e-4)
  assert loss(x, y).shape == ()


def test_nan_in_a_masked_row_stays_out():
  x, y, _ = _data(6, dtype=np.float32)
  valid = _mask(6, masked=False)
  valid[2] = False
  x[2] = np.nan
  for f in (
    lambda a: jaxloss.clip_loss(a, y, where=valid, chunk_size=4),
    lambda a: jaxloss.siglip_loss(a, y, where=valid, chunk_size=4),
  ):
    v, g = jax.value_and_grad(lambda a: jnp.sum(f(a)))(x)
    assert np.isfinite(v) and np.all(np.isfinite(g))
    x_bad = x.copy()
    x_bad[0] = np.nan  # an unmasked NaN propagates
    assert np.isnan(f(x_bad)).any()


def test_fully_masked_batch_is_zero_with_zero_gradients():
  x, y, _ = _data(5, dtype=np.float32)
  none = np.zeros(5, bool)
  for f in (
    lambda a: jaxloss.clip_loss(a, y, where=none, chunk_size=2),
    lambda a: jaxloss.siglip_loss(a, y, where=none, chunk_size=2),
  ):
    v, g = jax.value_and_grad(lambda a: jnp.sum(f(a)))(x)
    assert v == 0 and np.all(g == 0)


def test_chunked_memory_is_a_fraction_of_naive():
  """Compiled temporaries of value_and_grad (compile only) at B = 2048."""
  b, d = 2048, 32
  spec = jax.ShapeDtypeStruct((b, d), jnp.float32)

  def temp(f):
    g = jax.jit(jax.value_and_grad(lambda x, y: jnp.mean(f(x, y)), (0, 1)))
    return g.lower(spec, spec).compile().memory_analysis().temp_size_in_bytes

  naive = temp(lambda x, y: naive_siglip(x, y, 10.0, -10.0))
  chunked = temp(lambda x, y: jaxloss.siglip_loss(x, y, chunk_size=128))
  # The naive form holds [B, B] float32 arrays (16 MiB each); a tile is
  # [B, 128] (1 MiB).
  assert naive >= b * b * 4
  assert chunked < 0.2 * naive, (chunked, naive)


# --------------------------------------------------------------- sharded


SHARDED_CASES = [
  (8, True),
  (64, True),
  (512, True),
  pytest.param(8, False, marks=pytest.mark.slow),
  pytest.param(64, False, marks=pytest.mark.slow),
  pytest.param(512, False, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("global_batch", "masked"), SHARDED_CASES)
@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_sharded_equals_naive_on_8_devices(loss, global_batch, masked, x64):
  x, y, w = _data(global_batch, seed=global_batch)
  valid = _mask(global_batch, masked)
  chunk = 3 if global_batch == 64 else None  # tiles inside visiting blocks
  fn = _sharded(loss, _mesh(), chunk_size=chunk)
  _check_against_naive(
    loss, fn, x, y, w, valid, jnp.float64(9.0), jnp.float64(-4.0), rtol=1e-10
  )


def test_sharded_clip_all_gather_equals_naive(x64):
  x, y, w = _data(64, seed=11)
  valid = _mask(64, masked=True)
  fn = _sharded("clip", _mesh(), chunk_size=5, collective="all_gather")
  _check_against_naive(
    "clip", fn, x, y, w, valid, jnp.float64(9.0), jnp.float64(0.0), rtol=1e-10
  )


def test_global_mean_inside_shard_map(x64):
  """Data parallelism: psum of the local sums over the global row count;
  a replicated scale and bias get the summed (not averaged, not scaled)
  gradient. Both losses in one program."""
  x, y, _ = _data(32, seed=7)
  valid = _mask(32, masked=True)
  mesh = _mesh()

  def local(x, y, v, s, b):
    clip = jaxloss.sharded_clip_loss(x, y, scale=s, axis_name="batch", where=v)
    sig = jaxloss.sharded_siglip_loss(
      x, y, scale=s, bias=b, axis_name="batch", where=v
    )
    count = lax.psum(jnp.sum(v, dtype=clip.dtype), "batch")
    return lax.psum(jnp.stack([jnp.sum(clip), jnp.sum(sig)]), "batch") / count

  row = P("batch")
  f = jax.shard_map(
    local, mesh=mesh, in_specs=(row, row, row, P(), P()), out_specs=P()
  )
  keep = np.flatnonzero(valid)
  args = (x, y, jnp.float64(6.0), jnp.float64(-2.0))
  got = jax.jit(
    jax.jacrev(lambda x, y, s, b: f(x, y, valid, s, b), argnums=(0, 1, 2, 3))
  )(*args)
  for k, loss in enumerate(("clip", "siglip")):
    naive = _naive(loss)
    want = jax.grad(
      lambda x, y, s, b, naive=naive: jnp.mean(naive(x[keep], y[keep], s, b)),
      argnums=(0, 1, 2, 3),
    )(*args)
    for g, h in zip(got, want):
      np.testing.assert_allclose(g[k], h, rtol=1e-10, atol=1e-12, err_msg=loss)
  np.testing.assert_allclose(
    jax.jit(lambda *a: f(x, y, valid, *a))(*args[2:]),
    [
      jnp.mean(_naive(n)(x[keep], y[keep], *args[2:]))
      for n in ("clip", "siglip")
    ],
    rtol=1e-10,
  )


def test_sharded_memory_follows_the_local_batch():
  """Compiled per-device temporaries of the sharded SigLIP value_and_grad:
  the same local batch on 4 and on 8 devices (twice the global batch)
  needs the same memory; twice the local batch needs more."""

  def temp(n, local):
    mesh = _mesh(n)
    fn = _sharded("siglip", mesh, chunk_size=64)
    spec = jax.ShapeDtypeStruct((n * local, 16), jnp.float32)
    mask = jax.ShapeDtypeStruct((n * local,), jnp.bool_)
    scalar = jax.ShapeDtypeStruct((), jnp.float32)
    g = jax.jit(
      jax.grad(lambda x, y, v, s, b: jnp.sum(fn(x, y, v, s, b)), argnums=(0, 1))
    )
    c = g.lower(spec, spec, mask, scalar, scalar).compile()
    return c.memory_analysis().temp_size_in_bytes

  small = temp(4, 256)
  assert temp(8, 256) <= 1.1 * small
  assert temp(8, 512) > 1.5 * small


# --------------------------------------------------------------- errors


def test_errors_name_function_argument_and_value():
  x = np.ones((4, 3), np.float32)
  with pytest.raises(ValueError, match=r"clip_loss: where must have shape"):
    jaxloss.clip_loss(x, x, where=np.ones(3, bool))
  with pytest.raises(TypeError, match=r"siglip_loss: where must be a boolean"):
    jaxloss.siglip_loss(x, x, where=np.ones(4))
  with pytest.raises(ValueError, match=r"siglip_loss: bias must be a scalar"):
    jaxloss.siglip_loss(x, x, bias=np.zeros(2))
  with pytest.raises(ValueError, match=r"clip_loss: chunk_size must be a "):
    jaxloss.clip_loss(x, x, chunk_size=0)
  with pytest.raises(
    ValueError,
    match=r"clip_loss: image_embeddings must "
    r"have rank 2",
  ):
    jaxloss.clip_loss(x[None], x[None])
  with pytest.raises(
    ValueError,
    match=r"siglip_loss: image_embeddings and "
    r"text_embeddings must have the same shape",
  ):
    jaxloss.siglip_loss(x, x[:3])
  with pytest.raises(
    TypeError,
    match=r"clip_loss: image_embeddings must "
    r"have a floating dtype",
  ):
    jaxloss.clip_loss(x.astype(np.int32), x)
  mesh = _mesh(1)
  with pytest.raises(ValueError, match="sharded_clip_loss: collective must"):
    jax.shard_map(
      lambda a: jaxloss.sharded_clip_loss(
        a, a, axis_name="batch", collective="tree"
      ),
      mesh=mesh,
      in_specs=P("batch"),
      out_specs=P("batch"),
    )(x)
  for f in (jaxloss.sharded_clip_loss, jaxloss.sharded_siglip_loss):
    with pytest.raises(ValueError, match=f"{f.__name__}: axis_name must name"):
      f(x, x, axis_name="nowhere")


# ------------------------------------------- CLIP distillation (issue 27)

DT = 4  # the teacher's width


def naive_distill(x, y, tx, ty, scale, teacher_scale, wc=1.0, wd=1.0):
  """open_clip's DistillClipLoss per row, dense: the CLIP values plus the
  mean of the two directions' cross-entropies -sum p log q (teacher's
  softmax p, student's q), rows and columns of the [B, B] logits."""
  s = scale * x @ y.T
  t = teacher_scale * tx @ ty.T
  rows = -jnp.sum(jax.nn.softmax(t, 1) * jax.nn.log_softmax(s, 1), axis=1)
  cols = -jnp.sum(jax.nn.softmax(t, 0) * jax.nn.log_softmax(s, 0), axis=0)
  return wc * naive_clip(x, y, scale) + wd * 0.5 * (rows + cols)


def _teacher_data(b, seed=1, dtype=np.float64):
  rng = np.random.default_rng(seed)
  tx = ref._unit(rng.normal(size=(b, DT)))
  ty = ref._unit(tx + 0.4 * rng.normal(size=(b, DT)))
  return tx.astype(dtype), ty.astype(dtype)


def _check_distill(fn, x, y, tx, ty, w, valid, rtol, ts=11.0):
  """Values and gradients (student embeddings, scale; the teacher's are
  zero) of ``fn(x, y, tx, ty, s) -> [B]`` against the dense form on the
  unmasked rows."""
  keep = np.flatnonzero(valid)

  def ours(x, y, tx, ty, s):
    values = fn(x, y, tx, ty, s)
    return _weighted_mean(values, w, valid), values

  def theirs(x, y, s):
    return jnp.mean(
      naive_distill(x[keep], y[keep], tx[keep], ty[keep], s, ts) * w[keep]
    )

  s = jnp.asarray(7.0, x.dtype)
  (got, values), got_g = jax.jit(
    jax.value_and_grad(ours, argnums=(0, 1, 2, 3, 4), has_aux=True)
  )(x, y, tx, ty, s)
  want, want_g = jax.value_and_grad(theirs, argnums=(0, 1, 2))(x, y, s)
  np.testing.assert_allclose(
    values[keep],
    naive_distill(x[keep], y[keep], tx[keep], ty[keep], s, ts),
    rtol=rtol,
    atol=rtol,
  )
  np.testing.assert_array_equal(values[~valid], 0)
  np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
  for name, g, h in zip(
    ("d image", "d text", "d scale"), got_g[:2] + got_g[4:], want_g
  ):
    np.testing.assert_allclose(g, h, rtol=rtol, atol=rtol, err_msg=name)
  for g in got_g[2:4]:  # the teacher is a constant
    np.testing.assert_array_equal(g, 0)


@pytest.mark.parametrize("chunk", [None, 5])
def test_distill_chunked_equals_dense(chunk, x64):
  x, y, w = _data(37)
  tx, ty = _teacher_data(37)
  valid = _mask(37, masked=chunk == 5)

  def fn(x, y, tx, ty, s):
    return jaxloss.distill_clip_loss(
      x, y, tx, ty, scale=s, teacher_scale=11.0, where=valid, chunk_size=chunk
    )

  _check_distill(fn, x, y, tx, ty, w, valid, rtol=1e-11)


def test_distill_float32_chunked_equals_dense():
  x, y, w = _data(37, dtype=np.float32)
  tx, ty = _teacher_data(37, dtype=np.float32)
  valid = _mask(37, masked=False)

  def fn(x, y, tx, ty, s):
    return jaxloss.distill_clip_loss(
      x, y, tx, ty, scale=s, teacher_scale=11.0, chunk_size=5
    )

  _check_distill(fn, x, y, tx, ty, w, valid, rtol=2e-6)


def test_distill_numpy_loops_reference_and_weights(x64):
  x, y, _ = _data(8, seed=4)
  tx, ty = _teacher_data(8, seed=5)
  valid = _mask(8, masked=True)
  opts = dict(scale=5.0, teacher_scale=9.0, where=valid)
  for wc, wd in ((1.0, 1.0), (0.0, 1.0), (0.3, 2.0)):
    got = jaxloss.distill_clip_loss(
      x,
      y,
      tx,
      ty,
      clip_loss_weight=wc,
      distill_loss_weight=wd,
      chunk_size=3,
      **opts,
    )
    want = ref.np_distill_clip(
      x, y, tx, ty, clip_loss_weight=wc, distill_loss_weight=wd, **opts
    )
    np.testing.assert_allclose(
      got, want, rtol=1e-12, atol=1e-12, err_msg=ref.DISTILL_SRC
    )
  # Teacher == student: the distillation term is the student's entropy.
  clip = jaxloss.clip_loss(x, y, scale=5.0, where=valid)
  same = jaxloss.distill_clip_loss(
    x, y, x, y, scale=5.0, teacher_scale=5.0, where=valid
  )
  s = 5.0 * x[valid] @ y[valid].T
  ent = lambda a: -jnp.sum(jax.nn.softmax(a) * jax.nn.log_softmax(a), -1)  # noqa: E731
  np.testing.assert_allclose(
    same[valid] - clip[valid], 0.5 * (ent(s) + ent(s.T)), rtol=1e-12
  )


def test_distill_finite_at_edges():
  """Identical features and large scales: values and gradients finite."""
  x, y, _ = _data(6, dtype=np.float32)
  tx, ty = _teacher_data(6, dtype=np.float32)

  @jax.jit
  def value_and_grads(a, b, ta, tb, s, ts):
    def f(a, b, s):
      v = jaxloss.distill_clip_loss(
        a, b, ta, tb, scale=s, teacher_scale=ts, chunk_size=4
      )
      return jnp.mean(v)

    return jax.value_and_grad(f, argnums=(0, 1, 2))(a, b, s)

  xt = ref._unit(x[:, :DT]).astype(np.float32)  # the student's, cut to DT
  for args, s, ts in (
    ((x, x, tx, tx), 1e3, 1e3),
    ((x, y, tx, ty), 1e4, 1e4),
    ((x, -x, tx, tx), 1e4, 1e2),
    ((x, x, xt, xt), 1e4, 1e4),  # teacher pairs as the student's
  ):
    v, g = value_and_grads(*args, np.float32(s), np.float32(ts))
    assert np.isfinite(v), (s, ts)
    assert all(np.all(np.isfinite(a)) for a in g), (s, ts)
  x_bad = x.copy()
  x_bad[0] = np.nan  # a NaN propagates
  assert np.isnan(jaxloss.distill_clip_loss(x_bad, y, tx, ty)).any()
  t_bad = tx.copy()
  t_bad[1] = np.nan  # also the teacher's
  assert np.isnan(jaxloss.distill_clip_loss(x, y, t_bad, ty)).any()


def test_distill_memory_is_a_fraction_of_dense():
  """Compiled temporaries of value_and_grad (compile only) at B = 2048:
  the tiled form against the dense one (two [B, B] matrices and their
  softmaxes)."""
  b, d = 2048, 32
  spec = jax.ShapeDtypeStruct((b, d), jnp.float32)

  def temp(f):
    g = jax.jit(
      jax.value_and_grad(lambda x, y, tx, ty: jnp.mean(f(x, y, tx, ty)), (0, 1))
    )
    c = g.lower(spec, spec, spec, spec).compile()
    return c.memory_analysis().temp_size_in_bytes

  dense = temp(lambda x, y, tx, ty: naive_distill(x, y, tx, ty, 10.0, 20.0))
  tiled = temp(
    lambda x, y, tx, ty: jaxloss.distill_clip_loss(
      x, y, tx, ty, scale=10.0, teacher_scale=20.0, chunk_size=128
    )
  )
  # The dense form holds [B, B] float32 arrays (16 MiB each); a tile is
  # [B, 128] (1 MiB).
  assert dense >= 2 * b * b * 4, dense
  assert tiled < 0.2 * dense, (tiled, dense)


DISTILL_SHARDED = [
  ("ring", 64, 3),
  ("all_gather", 64, 5),
  pytest.param("ring", 512, None, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(
  ("collective", "global_batch", "chunk"), DISTILL_SHARDED
)
def test_sharded_distill_equals_dense_on_8_devices(
  collective, global_batch, chunk, x64
):
  x, y, w = _data(global_batch, seed=global_batch + 1)
  tx, ty = _teacher_data(global_batch, seed=global_batch + 2)
  valid = _mask(global_batch, masked=True)
  row = P("batch")

  def local(x, y, tx, ty, v, s):
    return jaxloss.sharded_distill_clip_loss(
      x,
      y,
      tx,
      ty,
      scale=s,
      teacher_scale=11.0,
      axis_name="batch",
      where=v,
      chunk_size=chunk,
      collective=collective,
    )

  f = jax.shard_map(
    local, mesh=_mesh(), in_specs=(row,) * 5 + (P(),), out_specs=row
  )
  _check_distill(
    lambda x, y, tx, ty, s: f(x, y, tx, ty, valid, s),
    x,
    y,
    tx,
    ty,
    w,
    valid,
    rtol=1e-10,
  )


# ----------------------------------------------- sharded CoCa (issue 27)


@pytest.mark.parametrize("collective", ["ring", "all_gather"])
def test_sharded_coca_equals_one_device_on_8_devices(collective, x64):
  """The global scalar on every device, and its gradients (embeddings,
  caption logits, scale), against coca_loss on the whole batch."""
  b = 32
  x, y, _ = _data(b, seed=21)
  rng = np.random.default_rng(22)
  logits = rng.normal(size=(b, ref.T, ref.V))
  labels = rng.integers(0, ref.V, size=(b, ref.T))
  labels[:, -1] = 0  # padding
  labels[:8] = 0  # a device with no caption tokens
  opts = dict(clip_loss_weight=0.7, caption_loss_weight=1.5, pad_id=0)
  row = P("batch")
  f = jax.shard_map(
    lambda x, y, lg, lb, s: jaxloss.sharded_coca_loss(
      x,
      y,
      lg,
      lb,
      scale=s,
      axis_name="batch",
      chunk_size=3,
      collective=collective,
      **opts,
    ),
    mesh=_mesh(),
    in_specs=(row,) * 4 + (P(),),
    out_specs=P(),
  )
  args = (x, y, logits, jnp.float64(6.0))
  got, got_g = jax.jit(
    jax.value_and_grad(lambda x, y, lg, s: f(x, y, lg, labels, s), (0, 1, 2, 3))
  )(*args)
  want, want_g = jax.value_and_grad(
    lambda x, y, lg, s: jaxloss.coca_loss(x, y, lg, labels, scale=s, **opts),
    (0, 1, 2, 3),
  )(*args)
  np.testing.assert_allclose(
    want, ref.np_coca(x, y, logits, labels, scale=6.0, **opts), rtol=1e-12
  )
  np.testing.assert_allclose(got, want, rtol=1e-12)
  for name, g, h in zip(("image", "text", "logits", "scale"), got_g, want_g):
    np.testing.assert_allclose(g, h, rtol=1e-10, atol=1e-13, err_msg=name)


# ------------------------------------------------- errors (issue 27)


def test_distill_and_sharded_coca_errors():
  x = np.ones((4, 3), np.float32)
  t = np.ones((4, 2), np.float32)
  with pytest.raises(
    ValueError,
    match=r"distill_clip_loss: teacher_image_embeddings must have one row "
    r"per image-text pair \(B = 4\), got",
  ):
    jaxloss.distill_clip_loss(x, x, t[:3], t[:3])
  with pytest.raises(
    ValueError,
    match=r"distill_clip_loss: teacher_image_embeddings and "
    r"teacher_text_embeddings must have the same shape",
  ):
    jaxloss.distill_clip_loss(x, x, t, x)
  with pytest.raises(
    TypeError,
    match=r"distill_clip_loss: teacher_text_embeddings must have a floating",
  ):
    jaxloss.distill_clip_loss(x, x, t, t.astype(np.int32))
  with pytest.raises(
    ValueError, match=r"distill_clip_loss: teacher_scale must be a scalar"
  ):
    jaxloss.distill_clip_loss(x, x, t, t, teacher_scale=np.ones(2))
  with pytest.raises(ValueError, match=r"DistillCLIPLoss: distill_clip_loss: "):
    jaxloss.DistillCLIPLoss(chunk_size=0)
  mesh = _mesh(1)
  with pytest.raises(
    ValueError, match="sharded_distill_clip_loss: collective must"
  ):
    jax.shard_map(
      lambda a, b: jaxloss.sharded_distill_clip_loss(
        a, a, b, b, axis_name="batch", collective="tree"
      ),
      mesh=mesh,
      in_specs=P("batch"),
      out_specs=P("batch"),
    )(x, t)
  with pytest.raises(ValueError, match="sharded_coca_loss: axis_name must"):
    jaxloss.sharded_coca_loss(
      x, x, np.zeros((4, 2, 5)), np.zeros((4, 2), int), axis_name="nowhere"
    )
  with pytest.raises(
    ValueError, match=r"sharded_coca_loss: caption_labels must be \[B, T\]"
  ):
    jax.shard_map(
      lambda a, lg, lb: jaxloss.sharded_coca_loss(
        a, a, lg, lb, axis_name="batch"
      ),
      mesh=mesh,
      in_specs=P("batch"),
      out_specs=P(),
    )(x, np.zeros((4, 2, 5)), np.zeros((4, 3), int))
  with pytest.raises(
    ValueError, match=r"sharded_distill_clip_loss: axis_name must name"
  ):
    jaxloss.sharded_distill_clip_loss(x, x, t, t, axis_name="nowhere")


# ------------------------------------- stored open_clip values (issue 27)

OPEN_CLIP = json.loads(
  (
    pathlib.Path(__file__).parent / "reference_data" / "open_clip.json"
  ).read_text()
)


@pytest.mark.parametrize("case", ["distill_small", "distill_open_clip_scales"])
def test_distill_matches_stored_open_clip(case, x64):
  """open_clip's DistillClipLoss: its two terms, and the gradients of their
  sum (student embeddings, scale), stored by
  tests/reference_data/generate_open_clip.py."""
  e = OPEN_CLIP["entries"][case]
  x, y, tx, ty = (
    np.asarray(e[k]) for k in ("image", "text", "teacher_image", "teacher_text")
  )

  def mean(x, y, s, wc=1.0, wd=1.0):
    v = jaxloss.distill_clip_loss(
      x,
      y,
      tx,
      ty,
      scale=s,
      teacher_scale=e["teacher_scale"],
      clip_loss_weight=wc,
      distill_loss_weight=wd,
      chunk_size=3,
    )
    return jnp.mean(v)

  msg = OPEN_CLIP["source"]
  value, grads = jax.value_and_grad(mean, (0, 1, 2))(x, y, e["scale"])
  want = e["contrastive_loss"] + e["distill_loss"]
  np.testing.assert_allclose(value, want, rtol=1e-12, err_msg=msg)
  for wc, wd, term in (
    (1.0, 0.0, "contrastive_loss"),
    (0.0, 1.0, "distill_loss"),
  ):
    np.testing.assert_allclose(
      mean(x, y, e["scale"], wc, wd), e[term], rtol=1e-12, err_msg=msg
    )
  for g, k in zip(grads, ("grad_image", "grad_text", "grad_scale")):
    np.testing.assert_allclose(g, e[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_coca_matches_stored_open_clip(x64):
  e = OPEN_CLIP["entries"]["coca"]
  got = jaxloss.coca_loss(
    np.asarray(e["image"]),
    np.asarray(e["text"]),
    np.asarray(e["caption_logits"]),
    np.asarray(e["caption_labels"]),
    scale=e["scale"],
    clip_loss_weight=e["clip_loss_weight"],
    caption_loss_weight=e["caption_loss_weight"],
    pad_id=e["pad_id"],
  )
  np.testing.assert_allclose(
    got,
    e["contrastive_loss"] + e["caption_loss"],
    rtol=1e-12,
    err_msg=OPEN_CLIP["source"],
  )
