"""Distillation at its masking edges, every form.

1. A token masked out (``where=False``, or an ignored label in the fused
   forms) contributes exactly 0 to the value and to every gradient, even
   when its logits or embeddings hold NaN: the other tokens' values equal
   those of the same call without that token.
2. A teacher with ``-inf`` entries (a masked vocabulary) gives finite
   values equal to the float64 NumPy divergence over the teacher's support
   (``0 log 0 = 0``).

Covered: ``distillation`` (forward / reverse KL, JSD, TV; the whole
vocabulary and ``top_k`` with and without the tail class),
``topk_distillation`` and ``linear_topk_distillation`` (each tail /
renormalise option), ``linear_distillation`` and
``vocab_parallel_linear_distillation``. References: NumPy float64
transcriptions of the divergences (GKD, Agarwal et al. 2024, section 3;
TRL 1.10.0.dev0 ``IWOPDTrainer`` for the top-k supports and the tail class,
whose log-mass is bounded by ``-1e-7``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss

DIVERGENCES = ["forward_kl", "reverse_kl", "jsd", "tv"]
BETA, TEMP = 0.3, 1.5
IGNORE = -100


# ------------------------------------------------------------ NumPy


def _lse(z, mask=None):
  z = np.where(mask, z, -np.inf) if mask is not None else z
  m = np.max(z, -1, keepdims=True)
  m = np.where(np.isfinite(m), m, 0.0)
  with np.errstate(divide="ignore"):
    return (m + np.log(np.sum(np.exp(z - m), -1, keepdims=True)))[..., 0]


def _np_div(lp, lq, divergence, beta=BETA):
  """Per-row divergence between log-probability rows (0 log 0 = 0)."""
  p, q = np.exp(lp), np.exp(lq)
  with np.errstate(divide="ignore", invalid="ignore"):
    if divergence == "forward_kl":
      return np.sum(np.where(p > 0, p * (lp - lq), 0.0), -1)
    if divergence == "reverse_kl":
      return np.sum(np.where(q > 0, q * (lq - lp), 0.0), -1)
    if divergence == "jsd":
      m = beta * p + (1 - beta) * q
      return beta * np.sum(np.where(p > 0, p * np.log(p / m), 0.0), -1) + (
        1 - beta
      ) * np.sum(np.where(q > 0, q * np.log(q / m), 0.0), -1)
  return 0.5 * np.sum(np.abs(p - q), -1)


def _np_topk(z, k):
  mask = np.zeros(z.shape, bool)
  idx = np.argsort(-z, axis=-1, kind="stable")[..., :k]
  np.put_along_axis(mask, idx, True, -1)
  return mask


def _np_tail(lse_s):
  """log(1 - exp(lse_S)) with lse_S bounded by -1e-7 (TRL's tail bucket)."""
  return np.log(-np.expm1(np.minimum(lse_s, -1e-7)))


def np_distillation(s, t, divergence, top_k=None, tail=True):
  lq = s / TEMP - _lse(s / TEMP)[..., None]
  lp = t / TEMP - _lse(t / TEMP)[..., None]
  if top_k is None:
    return _np_div(lp, lq, divergence)
  if divergence == "forward_kl":
    support = _np_topk(lp, top_k)
  elif divergence == "reverse_kl":
    support = _np_topk(lq, top_k)
  else:
    support = _np_topk(lp, top_k) | _np_topk(lq, top_k)
  lse_p, lse_q = _lse(lp, support), _lse(lq, support)
  if tail:
    lp2 = np.concatenate(
      [np.where(support, lp, -np.inf), _np_tail(lse_p)[..., None]], -1
    )
    lq2 = np.concatenate(
      [np.where(support, lq, -np.inf), _np_tail(lse_q)[..., None]], -1
    )
  else:
    lp2 = np.where(support, lp - lse_p[..., None], -np.inf)
    lq2 = np.where(support, lq - lse_q[..., None], -np.inf)
  return _np_div(lp2, lq2, divergence)


# ------------------------------------------------------------ on logits

TOPK_OPTIONS = [
  dict(top_k=None),
  dict(top_k=2, tail=True),
  dict(top_k=2, tail=False),
]
TOPK_IDS = ["full", "top2-tail", "top2-renormalised"]


def _masked_row_check(loss, s, t, where, row=1):
  """``loss(s, t, where) -> [N]``: the masked row gives 0 in value and
  gradient (NaN inside) and the others equal the call without it."""
  s_nan, t_nan = s.copy(), t.copy()
  s_nan[row, 2] = np.nan
  t_nan[row, 0] = np.nan
  values = loss(jnp.asarray(s_nan), t_nan, where)
  grad = jax.grad(lambda z: jnp.sum(loss(z, t_nan, where)))(jnp.asarray(s_nan))
  keep = np.flatnonzero(where)
  clean = loss(jnp.asarray(s[keep]), t[keep], np.ones(len(keep), bool))
  clean_grad = jax.grad(
    lambda z: jnp.sum(loss(z, t[keep], np.ones(len(keep), bool)))
  )(jnp.asarray(s[keep]))
  assert float(values[row]) == 0.0, values
  np.testing.assert_array_equal(np.asarray(values)[keep], np.asarray(clean))
  assert np.all(np.asarray(grad)[row] == 0), grad
  np.testing.assert_array_equal(np.asarray(grad)[keep], np.asarray(clean_grad))


@pytest.mark.parametrize("options", TOPK_OPTIONS, ids=TOPK_IDS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_distillation_masked_row_is_exactly_zero(divergence, options):
  rng = np.random.default_rng(0)
  s = rng.normal(size=(3, 6)).astype(np.float32) * 2
  t = rng.normal(size=(3, 6)).astype(np.float32) * 2

  def loss(s, t, where):
    return jaxloss.distillation(
      s,
      t,
      divergence=divergence,
      beta=BETA,
      temperature=TEMP,
      where=jnp.asarray(where),
      **options,
    )

  _masked_row_check(loss, s, t, np.array([True, False, True]))


@pytest.mark.parametrize("options", TOPK_OPTIONS, ids=TOPK_IDS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_distillation_teacher_minus_inf_is_finite_and_exact(
  divergence, options, x64
):
  # The student is masked the same way (a shared vocabulary mask): else
  # reverse KL is +inf, as it should be (q > 0 where p = 0).
  rng = np.random.default_rng(1)
  s = rng.normal(size=(3, 6)) * 2
  t = rng.normal(size=(3, 6)) * 2
  t[:, 4:] = -np.inf
  s[:, 4:] = -np.inf
  kw = dict(divergence=divergence, beta=BETA, temperature=TEMP, **options)
  got = jaxloss.distillation(s, t, **kw)
  grad = jax.grad(lambda z: jnp.sum(jaxloss.distillation(z, t, **kw)))(
    jnp.asarray(s)
  )
  assert np.all(np.isfinite(got)), got
  assert np.all(np.isfinite(grad)), grad
  want = np_distillation(s, t, divergence, **options)
  np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
  if divergence != "reverse_kl":  # the student keeps its full vocabulary
    s_full = rng.normal(size=(3, 6)) * 2
    got = jaxloss.distillation(s_full, t, **kw)
    assert np.all(np.isfinite(got)), got
    want = np_distillation(s_full, t, divergence, **options)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------ top-k teachers

TOPK_TEACHER = [
  dict(renormalize=True, tail=False),
  dict(renormalize=False, tail=False),
  dict(renormalize=False, tail=True),
]
TOPK_TEACHER_IDS = ["renormalised", "as-given", "tail"]
_IDS = np.array([[0, 3, 5], [1, 2, 6], [4, 0, 2]])


def np_topk_distillation(s, lp, ids, renormalize, tail):
  lq_all = s / TEMP - _lse(s / TEMP)[..., None]
  lq = np.take_along_axis(lq_all, ids, -1)
  if renormalize:
    lp = lp / TEMP - _lse(lp / TEMP)[..., None]
  if tail:
    lp = np.concatenate([lp, _np_tail(_lse(lp))[..., None]], -1)
    lq = np.concatenate([lq, _np_tail(_lse(lq))[..., None]], -1)
  return _np_div(lp, lq, "forward_kl")


def _teacher_topk(rng):
  lp = np.log(rng.dirichlet(np.ones(4), size=3)[:, :3])
  return lp


@pytest.mark.parametrize("options", TOPK_TEACHER, ids=TOPK_TEACHER_IDS)
def test_topk_distillation_masked_row_is_exactly_zero(options):
  rng = np.random.default_rng(2)
  s = rng.normal(size=(3, 7)).astype(np.float32)
  lp = _teacher_topk(rng).astype(np.float32)

  def loss(s, lp, where):
    keep = np.asarray(where).shape[0]
    ids = _IDS if keep == 3 else _IDS[[0, 2]]
    return jaxloss.topk_distillation(
      s, lp, ids, temperature=TEMP, where=jnp.asarray(where), **options
    )

  _masked_row_check(loss, s, lp, np.array([True, False, True]))


@pytest.mark.parametrize("options", TOPK_TEACHER, ids=TOPK_TEACHER_IDS)
def test_linear_topk_distillation_masked_row_is_exactly_zero(options):
  rng = np.random.default_rng(3)
  x = rng.normal(size=(3, 4)).astype(np.float32)
  w = rng.normal(size=(4, 7)).astype(np.float32)
  lp = _teacher_topk(rng).astype(np.float32)

  def loss(x, lp, where):
    ids = _IDS if np.asarray(where).shape[0] == 3 else _IDS[[0, 2]]
    return jaxloss.linear_topk_distillation(
      x,
      w,
      lp,
      ids,
      temperature=TEMP,
      where=jnp.asarray(where),
      chunk_size=3,
      **options,
    )

  _masked_row_check(loss, x, lp, np.array([True, False, True]))


@pytest.mark.parametrize("options", TOPK_TEACHER, ids=TOPK_TEACHER_IDS)
def test_topk_teacher_minus_inf_is_finite_and_exact(options, x64):
  rng = np.random.default_rng(4)
  s = rng.normal(size=(3, 7))
  x = rng.normal(size=(3, 4))
  w = rng.normal(size=(4, 7))
  lp = _teacher_topk(rng)
  lp[:, 2] = -np.inf  # the teacher's last top-k entry holds no mass
  lp[1, 1] = -np.inf
  for name, fn, arg, logits in (
    ("logits", jaxloss.topk_distillation, s, s),
    (
      "linear",
      lambda *a, **k: jaxloss.linear_topk_distillation(
        a[0], w, *a[1:], chunk_size=3, **k
      ),
      x,
      x @ w,
    ),
  ):
    got = fn(arg, lp, _IDS, temperature=TEMP, **options)
    grad = jax.grad(
      lambda z: jnp.sum(fn(z, lp, _IDS, temperature=TEMP, **options))
    )(jnp.asarray(arg))
    assert np.all(np.isfinite(got)), (name, got)
    assert np.all(np.isfinite(grad)), (name, grad)
    want = np_topk_distillation(logits, lp, _IDS, **options)
    np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=name)


# ------------------------------------------------------------ fused heads

_N, _D, _V = 4, 3, 6


def _heads(seed):
  rng = np.random.default_rng(seed)
  xs = rng.normal(size=(_N, _D))
  ws = rng.normal(size=(_D, _V))
  xt = rng.normal(size=(_N, _D))
  wt = 2 * rng.normal(size=(_D, _V))
  y = rng.integers(0, _V, size=(_N,))
  return xs, ws, xt, wt, y


def _linear(xs, ws, xt, wt, y, divergence, mesh=None, **kw):
  opts = dict(
    divergence=divergence,
    beta=BETA,
    temperature=TEMP,
    hard_label_weight=0.5,
    z_loss=1e-2,
    ignore_index=IGNORE,
    reduction="none",
    chunk_size=2,
  )
  opts.update(kw)
  if mesh is None:
    return jaxloss.linear_distillation(xs, ws, xt, wt, y, **opts)
  return jax.shard_map(
    lambda xs, ws, xt, wt: jaxloss.vocab_parallel_linear_distillation(
      xs, ws, xt, wt, y, axis_name="vocab", **opts
    ),
    mesh=mesh,
    in_specs=(P(), P(None, "vocab"), P(), P(None, "vocab")),
    out_specs=P(),
  )(xs, ws, xt, wt)


FORMS = ["linear", "vocab_parallel"]


def _mesh(form):
  if form == "linear":
    return None
  return jax.sharding.Mesh(np.array(jax.devices()[:2]), ("vocab",))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_linear_distillation_ignored_row_is_exactly_zero(divergence, form):
  xs, ws, xt, wt, y = (
    a.astype(np.float32) if a.dtype.kind == "f" else a for a in _heads(5)
  )
  mesh = _mesh(form)
  keep = np.array([0, 2, 3])
  xs_nan, xt_nan, y_ign = xs.copy(), xt.copy(), y.copy()
  xs_nan[1, 0] = np.nan
  xt_nan[1, 1] = np.nan
  y_ign[1] = IGNORE

  def run(xs, xt, y):
    f = lambda xs, ws: _linear(xs, ws, xt, wt, y, divergence, mesh)
    values = f(xs, ws)
    grads = jax.grad(lambda a, b: jnp.sum(f(a, b)), (0, 1))(xs, ws)
    return values, grads

  values, (g_x, g_w) = jax.jit(run)(xs_nan, xt_nan, y_ign)
  clean, (c_x, c_w) = jax.jit(run)(xs[keep], xt[keep], y[keep])
  assert float(values[1]) == 0.0, values
  np.testing.assert_array_equal(np.asarray(values)[keep], np.asarray(clean))
  assert np.all(np.asarray(g_x)[1] == 0), g_x
  np.testing.assert_array_equal(np.asarray(g_x)[keep], np.asarray(c_x))
  assert np.all(np.isfinite(np.asarray(g_w))), g_w
  np.testing.assert_allclose(g_w, c_w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_linear_distillation_teacher_minus_inf_is_exact(divergence, form, x64):
  # Teacher logits -inf at the last three columns (a whole chunk, and the
  # whole second shard): x_t[:, 0] = 1, w_t[0, 3:] = -inf, w_t[1:, 3:] = 0.
  xs, ws, xt, wt, y = _heads(6)
  xt[:, 0] = 1.0
  wt[0, 3:] = -np.inf
  wt[1:, 3:] = 0.0
  mesh = _mesh(form)
  zt = xt @ np.where(np.isfinite(wt), wt, 0.0)
  zt[:, 3:] = -np.inf
  f = lambda xs, ws: _linear(
    xs, ws, xt, wt, y, divergence, mesh, hard_label_weight=0.0, z_loss=0.0
  )
  # One compiled program for the value and the gradients.
  got, grads = jax.jit(
    lambda xs, ws: (
      f(xs, ws),
      jax.grad(lambda a, b: jnp.sum(f(a, b)), (0, 1))(xs, ws),
    )
  )(xs, ws)
  want = np_distillation(xs @ ws, zt, divergence)
  if divergence == "reverse_kl":
    # The student has mass where the teacher has none: KL(q || p) = +inf.
    assert np.all(np.isposinf(np.asarray(got))), got
    return
  assert np.all(np.isfinite(np.asarray(got))), got
  np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
  assert all(np.all(np.isfinite(np.asarray(g))) for g in grads), grads
