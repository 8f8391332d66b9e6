"""Tests of the distillation losses (jaxloss/_src/lm/distillation.py).

References:
* Fused heads (``linear_distillation``, ``linear_topk_distillation``): the
  naive path that materialises the logits; values and gradients must agree
  to float32 round-off.
* Divergences: NumPy sums over the vocabulary of the textbook definitions
  (KL, the generalised JSD of Agarwal et al. 2024 with teacher weight beta,
  total variation).
* Supports: ``tests.specs.lm_distillation.sparse_distillation_reference``,
  a NumPy float64 transcription of TRL's
  ``IWOPDTrainer.generalized_jsd_loss`` (top-k supports, tail bucket;
  huggingface/trl f2cd577, 1.10.0.dev0) and of TRL's
  ``GKDTrainer.generalized_jsd_loss`` for ``beta`` at 0 and 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from tests.specs import lm_common
from tests.specs import lm_distillation

IGNORE = -100
N_SHAPE = (2, 5)
D, V = 6, 37


# ------------------------------------------------------------ distillation


def np_divergence(s, t, divergence, beta, temperature):
  s, t = s.astype(np.float64) / temperature, t.astype(np.float64) / temperature
  lq = (
    s
    - np.log(np.sum(np.exp(s - s.max(-1, keepdims=True)), -1, keepdims=True))
    - s.max(-1, keepdims=True)
  )
  lp = (
    t
    - np.log(np.sum(np.exp(t - t.max(-1, keepdims=True)), -1, keepdims=True))
    - t.max(-1, keepdims=True)
  )
  p, q = np.exp(lp), np.exp(lq)
  if divergence == "forward_kl":
    return np.sum(p * (lp - lq), -1)
  if divergence == "reverse_kl":
    return np.sum(q * (lq - lp), -1)
  if divergence == "jsd":  # Agarwal et al. 2024, section 3 (GKD)
    m = beta * p + (1 - beta) * q
    return beta * np.sum(p * np.log(p / m), -1) + (1 - beta) * np.sum(
      q * np.log(q / m), -1
    )
  return 0.5 * np.sum(np.abs(p - q), -1)


DIVERGENCES = ["forward_kl", "reverse_kl", "jsd", "tv"]


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_distillation_on_logits_matches_numpy(divergence):
  rng = np.random.default_rng(0)
  s = rng.normal(size=(3, 11)).astype(np.float32) * 2
  t = rng.normal(size=(3, 11)).astype(np.float32) * 2
  got = jaxloss.distillation(
    s, t, divergence=divergence, beta=0.3, temperature=1.5
  )
  np.testing.assert_allclose(
    got, np_divergence(s, t, divergence, 0.3, 1.5), rtol=1e-5, atol=1e-6
  )
  g_t = jax.grad(
    lambda t: jnp.sum(jaxloss.distillation(s, t, divergence=divergence))
  )(t)
  assert np.all(g_t == 0)  # the teacher is a constant


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_distillation_masked_vocabulary_is_finite_and_exact(divergence, x64):
  # A teacher with -inf logits (masked vocabulary entries) has p = 0 there:
  # those entries add 0 (0 log 0 = 0), never NaN. Reference: the NumPy
  # divergence over the unmasked entries only, where the student's mass on
  # the masked entries still counts in its normaliser.
  rng = np.random.default_rng(3)
  s = rng.normal(size=(3, 6)) * 2
  t = rng.normal(size=(3, 6)) * 2
  t[:, 4:] = -np.inf
  s_masked = s.copy()
  s_masked[:, 4:] = -np.inf  # the student masked the same way too
  kw = dict(divergence=divergence, beta=0.3, temperature=1.5)
  for student in (s, s_masked):
    got = jaxloss.distillation(student, t, **kw)
    grad = jax.grad(lambda z: jnp.sum(jaxloss.distillation(z, t, **kw)))(
      jnp.asarray(student)
    )
    if divergence in ("reverse_kl", "jsd") and student is s:
      # the student puts mass where the teacher has none: KL(q || p) = inf
      # (JSD stays finite: m > 0 wherever q > 0)
      if divergence == "reverse_kl":
        assert np.all(np.isinf(got)), got
        continue
    assert np.all(np.isfinite(got)), got
    assert np.all(np.isfinite(grad)), grad
    lq = student / 1.5 - _np_lse(student / 1.5)
    lp = t / 1.5 - _np_lse(t / 1.5)
    p, q = np.exp(lp), np.exp(lq)
    with np.errstate(invalid="ignore", divide="ignore"):
      if divergence == "forward_kl":
        want = np.nansum(np.where(p > 0, p * (lp - lq), 0), -1)
      elif divergence == "reverse_kl":
        want = np.nansum(np.where(q > 0, q * (lq - lp), 0), -1)
      elif divergence == "jsd":
        m = 0.3 * p + 0.7 * q
        want = 0.3 * np.nansum(
          np.where(p > 0, p * np.log(p / m), 0), -1
        ) + 0.7 * np.nansum(np.where(q > 0, q * np.log(q / m), 0), -1)
      else:
        want = 0.5 * np.sum(np.abs(p - q), -1)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _np_lse(z):
  m = np.max(z, -1, keepdims=True)
  return m + np.log(np.sum(np.exp(z - m), -1, keepdims=True))


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_distillation_masked_rows_contribute_exactly_zero(divergence):
  # A NaN inside a row masked out by `where` reaches neither the value nor
  # the gradient (the mask is applied before the log-softmax).
  rng = np.random.default_rng(4)
  s = rng.normal(size=(3, 5)).astype(np.float32)
  t = rng.normal(size=(3, 5)).astype(np.float32)
  s[1, 2] = np.nan
  t[1, 0] = np.nan
  where = np.array([True, False, True])
  kw = dict(divergence=divergence, where=where)
  value, grad = jax.value_and_grad(
    lambda z: jnp.sum(jaxloss.distillation(z, t, **kw))
  )(jnp.asarray(s))
  assert np.isfinite(value) and np.all(np.isfinite(grad)), (value, grad)
  assert np.all(grad[1] == 0)
  clean = jaxloss.distillation(s[[0, 2]], t[[0, 2]], divergence=divergence)
  np.testing.assert_allclose(value, np.sum(clean), rtol=1e-6)


def test_topk_distillation_masked_rows_and_teacher_mass_zero():
  rng = np.random.default_rng(6)
  s = rng.normal(size=(3, 7)).astype(np.float32)
  top = np.array([[np.log(0.7), np.log(0.3), -np.inf]] * 3, np.float32)
  ids = np.array([[0, 3, 5]] * 3)
  where = np.array([True, False, True])
  s[1, 4] = np.nan
  top_nan = top.copy()
  top_nan[1, 0] = np.nan
  for renormalize in (True, False):
    kw = dict(renormalize=renormalize, where=where)
    value, grad = jax.value_and_grad(
      lambda z: jnp.sum(jaxloss.topk_distillation(z, top_nan, ids, **kw))
    )(jnp.asarray(s))
    assert np.isfinite(value) and np.all(np.isfinite(grad)), (value, grad)
    assert np.all(grad[1] == 0)
    w = rng.normal(size=(7, 7)).astype(np.float32)
    x_nan = np.ones((3, 7), np.float32)
    x_nan[1, 0] = np.nan
    v2, g2 = jax.value_and_grad(
      lambda x: jnp.sum(
        jaxloss.linear_topk_distillation(x, w, top_nan, ids, **kw)
      )
    )(jnp.asarray(x_nan))
    assert np.isfinite(v2) and np.all(np.isfinite(g2)), (v2, g2)


def _distill_data(seed=0, dt=4):
  rng = np.random.default_rng(seed)
  xs = rng.normal(size=N_SHAPE + (D,)).astype(np.float32)
  ws = rng.normal(size=(D, V)).astype(np.float32)
  xt = rng.normal(size=N_SHAPE + (dt,)).astype(np.float32)
  wt = (2 * rng.normal(size=(dt, V))).astype(np.float32)
  y = rng.integers(0, V, size=N_SHAPE).astype(np.int32)
  y[1, 2] = IGNORE
  return xs, ws, xt, wt, y


def naive_distillation(
  xs, ws, xt, wt, y, *, divergence, beta, temperature, hard_label_weight, z_loss
):
  zs = jnp.einsum("...d,dv->...v", xs, ws)
  zt = jnp.einsum("...d,dv->...v", xt, wt)
  valid = y != IGNORE
  div = jaxloss.distillation(
    zs, zt, divergence=divergence, beta=beta, temperature=temperature
  )
  lse = jax.nn.logsumexp(zs, axis=-1)
  ce = (
    lse - jnp.take_along_axis(zs, jnp.where(valid, y, 0)[..., None], -1)[..., 0]
  )
  total = div + hard_label_weight * ce + z_loss * lse**2
  parts = (total, div, ce, lse**2)
  return tuple(jaxloss.reduce(p, where=valid, reduction="mean") for p in parts)


@pytest.mark.parametrize(
  "divergence, temperature, hard, zl",
  [
    ("forward_kl", 1.0, 0.0, 0.0),
    ("reverse_kl", 2.0, 0.7, 1e-2),
    ("jsd", 2.0, 0.7, 1e-2),
    ("tv", 1.0, 0.0, 0.0),
  ],
)
def test_linear_distillation_matches_naive(divergence, temperature, hard, zl):
  xs, ws, xt, wt, y = _distill_data()
  opts = dict(
    divergence=divergence,
    beta=0.3,
    temperature=temperature,
    hard_label_weight=hard,
    z_loss=zl,
  )

  def fused(xs, ws, xt=xt, wt=wt):
    return jaxloss.linear_distillation(
      xs, ws, xt, wt, y, chunk_size=8, return_components=True, **opts
    )

  def ref(xs, ws):
    return naive_distillation(xs, ws, xt, wt, y, **opts)

  @jax.jit
  def run(xs, ws, xt, wt):
    g = jax.grad(lambda *a: fused(*a)[0], (0, 1, 2, 3))(xs, ws, xt, wt)
    g_ref = jax.grad(lambda a, b: ref(a, b)[0], (0, 1))(xs, ws)
    return fused(xs, ws), ref(xs, ws), g, g_ref

  (loss, comps), want, (*g, g_xt, g_wt), g_ref = run(xs, ws, xt, wt)
  assert np.all(np.asarray(g_xt) == 0) and np.all(np.asarray(g_wt) == 0)
  np.testing.assert_allclose(loss, want[0], rtol=1e-5, atol=1e-6)
  for k, r in zip(("distillation", "cross_entropy", "z_loss"), want[1:]):
    np.testing.assert_allclose(comps[k], r, rtol=1e-5, atol=1e-6)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
  "divergence",
  [
    pytest.param("forward_kl", marks=pytest.mark.slow),
    pytest.param("reverse_kl", marks=pytest.mark.slow),
    "jsd",
  ],
)  # not TV: its |p - q| has kinks
def test_linear_distillation_float64_check_grads(x64, divergence):
  xs, ws, xt, wt, y = (
    np.asarray(a, np.float64) if a.dtype.kind == "f" else a
    for a in _distill_data(1)
  )
  f = lambda xs, ws: jaxloss.linear_distillation(
    xs,
    ws,
    xt,
    wt,
    y,
    divergence=divergence,
    temperature=1.7,
    hard_label_weight=0.5,
    z_loss=0.1,
    chunk_size=8,
  )
  check_grads(
    jax.jit(f), (xs, ws), order=1, modes=["rev"], atol=1e-6, rtol=1e-6
  )


@pytest.mark.parametrize(
  "divergence", ["forward_kl", pytest.param("jsd", marks=pytest.mark.slow)]
)
def test_linear_distillation_edges(divergence):
  xs, ws, xt, wt, y = _distill_data(2)
  big = np.zeros_like(ws)
  big[0] = 1e4
  big[0, ::3] = -1e4
  f = jax.jit(
    jax.value_and_grad(
      lambda xs, ws, y: jaxloss.linear_distillation(
        jnp.abs(xs),
        ws,
        np.abs(xt),
        big[:4] * 0.7,
        y,
        divergence=divergence,
        hard_label_weight=1.0,
        chunk_size=8,
      ),
      (0, 1),
    )
  )
  v, g = f(xs, big, y)
  assert np.isfinite(v) and all(np.all(np.isfinite(a)) for a in g)
  ignored = np.full_like(y, IGNORE)
  v, g = f(xs, ws, ignored)
  assert float(v) == 0 and all(np.all(np.asarray(a) == 0) for a in g)
  # bfloat16
  h = lambda a: jnp.asarray(a, jnp.bfloat16)
  loss = jax.jit(
    lambda *a: jaxloss.linear_distillation(*a, divergence=divergence)
  )(h(xs), h(ws), h(xt), h(wt), y)
  ref = naive_distillation(
    *(np.asarray(h(a), np.float32) for a in (xs, ws, xt, wt)),
    y,
    divergence=divergence,
    beta=0.5,
    temperature=1.0,
    hard_label_weight=0.0,
    z_loss=0.0,
  )[0]
  assert loss.dtype == jnp.float32  # the fused LM functions' dtype policy
  np.testing.assert_allclose(float(loss), float(ref), rtol=3e-2)


@pytest.mark.parametrize(
  "divergence, temperature", [("forward_kl", 1.0), ("jsd", 1.7)]
)
def test_vocab_parallel_linear_distillation_matches_single_device(
  divergence, temperature
):
  xs, ws, xt, wt, y = _distill_data(9)
  ws = np.concatenate([ws, ws[:, :3]], axis=1)  # V = 40, 4 shards of 10
  wt = np.concatenate([wt, wt[:, :3]], axis=1)
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("vocab",))
  opts = dict(
    divergence=divergence,
    beta=0.3,
    temperature=temperature,
    hard_label_weight=0.5,
    z_loss=1e-2,
  )

  def sharded(xs, ws):
    return jax.shard_map(
      lambda xs, ws, xt, wt: jaxloss.vocab_parallel_linear_distillation(
        xs, ws, xt, wt, y, axis_name="vocab", chunk_size=4, **opts
      ),
      mesh=mesh,
      in_specs=(P(), P(None, "vocab"), P(), P(None, "vocab")),
      out_specs=P(),
    )(xs, ws, xt, wt)

  def single(xs, ws):
    return jaxloss.linear_distillation(xs, ws, xt, wt, y, **opts)

  v, g = jax.jit(jax.value_and_grad(sharded, (0, 1)))(xs, ws)
  v_ref, g_ref = jax.jit(jax.value_and_grad(single, (0, 1)))(xs, ws)
  np.testing.assert_allclose(v, v_ref, rtol=1e-5)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
  "renormalize", [True, pytest.param(False, marks=pytest.mark.slow)]
)
def test_topk_distillation(renormalize):
  rng = np.random.default_rng(5)
  x = rng.normal(size=(4, D)).astype(np.float32)
  w = rng.normal(size=(D, V)).astype(np.float32)
  teacher = rng.normal(size=(4, V)) * 2
  k = 5
  ids = np.argsort(-teacher, axis=-1)[:, :k].astype(np.int32)
  t_lp = teacher - np.log(np.sum(np.exp(teacher), -1, keepdims=True))
  top = np.take_along_axis(t_lp, ids, -1).astype(np.float32)
  where = np.array([True, True, False, True])
  # NumPy: sum_k p_k (log p_k - log q[i_k]) (Hinton et al. 2015 on the
  # teacher's top-k support).
  z = (x @ w).astype(np.float64) / 1.5
  log_q = z - np.log(np.sum(np.exp(z), -1, keepdims=True))
  lp = top / 1.5 if renormalize else top.astype(np.float64)
  if renormalize:
    lp = lp - np.log(np.sum(np.exp(lp), -1, keepdims=True))
  want = np.sum(np.exp(lp) * (lp - np.take_along_axis(log_q, ids, -1)), -1)
  want = np.where(where, want, 0)
  opts = dict(temperature=1.5, renormalize=renormalize, where=where)
  np.testing.assert_allclose(
    jaxloss.topk_distillation(x @ w, top, ids, **opts),
    want,
    rtol=1e-5,
    atol=1e-6,
  )
  fused = lambda x, w: jaxloss.linear_topk_distillation(
    x, w, top, ids, chunk_size=8, **opts
  )
  (v, g), g_ref = jax.jit(
    lambda x, w: (
      jax.value_and_grad(lambda x, w: jnp.sum(fused(x, w)), (0, 1))(x, w),
      jax.grad(
        lambda x, w: jnp.sum(
          jaxloss.topk_distillation(x @ w, top, ids, **opts)
        ),
        (0, 1),
      )(x, w),
    )
  )(x, w)
  np.testing.assert_allclose(v, want.sum(), rtol=1e-5)
  for a, r in zip(g, g_ref):
    np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------ supports (TRL)

D_TRL, V_TRL = 6, 11


def _heads(seed=0, vt=V_TRL):
  rng = np.random.default_rng(seed)
  xs = rng.normal(size=(2, 4, D_TRL))
  ws = rng.normal(size=(D_TRL, V_TRL))
  xt = rng.normal(size=(2, 4, D_TRL + 1))
  wt = rng.normal(size=(D_TRL + 1, vt))
  y = rng.integers(0, V_TRL, size=(2, 4))
  y[0, 1] = -100
  return xs, ws, xt, wt, y


def _naive_distill(xs, ws, xt, wt, y, **kw):
  values = jaxloss.distillation(
    jnp.einsum("...d,dv->...v", xs, ws),
    jnp.einsum("...d,dv->...v", xt, wt),
    where=y != -100,
    **kw,
  )
  return jnp.sum(values) / jnp.sum(y != -100)


@pytest.mark.parametrize(
  "kw",
  [
    dict(divergence="jsd", beta=0.0),
    dict(divergence="jsd", beta=1.0, temperature=1.7),
    dict(divergence="jsd", beta=0.3),
    dict(divergence="tv"),
  ],
)
@pytest.mark.parametrize("vt", [V_TRL, V_TRL + 5])
def test_linear_distillation_endpoints_and_padded_teacher_match_naive(
  kw, vt, x64
):
  xs, ws, xt, wt, y = _heads(1, vt)
  fused = lambda xs, ws: jaxloss.linear_distillation(  # noqa: E731
    xs, ws, xt, wt, y, chunk_size=4, **kw
  )
  naive = lambda xs, ws: _naive_distill(xs, ws, xt, wt, y, **kw)  # noqa: E731
  v1, g1 = jax.value_and_grad(fused, argnums=(0, 1))(xs, ws)
  v2, g2 = jax.value_and_grad(naive, argnums=(0, 1))(xs, ws)
  np.testing.assert_allclose(v1, v2, rtol=1e-10)
  for a, b in zip(g1, g2, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_jsd_endpoints_are_trl_kl_forms(x64):
  # TRL GKDTrainer.generalized_jsd_loss: beta=0 is F.kl_div(student,
  # teacher, log_target=True) = KL(teacher || student); beta=1 the reverse.
  rng = np.random.default_rng(2)
  s, t = rng.normal(size=(3, V_TRL)), rng.normal(size=(3, V_TRL))
  lq, lp = lm_common.log_softmax(s), lm_common.log_softmax(t)
  fwd = np.sum(np.exp(lp) * (lp - lq), -1)
  rev = np.sum(np.exp(lq) * (lq - lp), -1)
  for beta, want in ((0.0, fwd), (1.0, rev)):
    got = jaxloss.distillation(s, t, divergence="jsd", beta=beta)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # A traced beta selects the same endpoint.
    traced = jax.jit(
      lambda b: jaxloss.distillation(s, t, divergence="jsd", beta=b)
    )(beta)
    np.testing.assert_allclose(traced, want, rtol=1e-12)
  mid = jax.jit(lambda b: jaxloss.distillation(s, t, divergence="jsd", beta=b))
  np.testing.assert_allclose(
    mid(0.3), jaxloss.distillation(s, t, divergence="jsd", beta=0.3)
  )


@pytest.mark.parametrize(
  "kw",
  [
    dict(divergence="forward_kl", top_k=3),
    dict(divergence="reverse_kl", top_k=1),
    dict(divergence="jsd", beta=0.5, top_k=2),
    dict(divergence="tv", top_k=2),
  ],
)
def test_tail_bucket_is_a_lower_bound_and_top_v_is_exact(kw, x64):
  # Merging the classes outside S into one never increases an f-divergence
  # (data-processing inequality); a support of the whole vocabulary is the
  # full divergence.
  rng = np.random.default_rng(3)
  s, t = rng.normal(size=(20, V_TRL)) * 2, rng.normal(size=(20, V_TRL)) * 2
  full = jaxloss.distillation(s, t, **dict(kw, top_k=None))
  sparse = jaxloss.distillation(s, t, **kw)
  assert np.all(sparse <= full + 1e-12) and np.all(sparse > 0)
  np.testing.assert_allclose(
    jaxloss.distillation(s, t, **dict(kw, top_k=V_TRL)), full, rtol=1e-12
  )


def test_linear_topk_tail_matches_unfused(x64):
  rng = np.random.default_rng(4)
  x = rng.normal(size=(2, 3, D_TRL))
  w = rng.normal(size=(D_TRL, V_TRL))
  ids = np.stack([rng.permutation(V_TRL)[:4] for _ in range(6)]).reshape(
    2, 3, 4
  )
  top = np.take_along_axis(
    lm_common.log_softmax(rng.normal(size=(2, 3, V_TRL)) * 2), ids, -1
  )
  kw = dict(temperature=1.3, renormalize=False, tail=True)
  fused = lambda x, w: jnp.sum(  # noqa: E731
    jaxloss.linear_topk_distillation(x, w, top, ids, chunk_size=4, **kw)
  )
  naive = lambda x, w: jnp.sum(  # noqa: E731
    jaxloss.topk_distillation(jnp.einsum("...d,dv->...v", x, w), top, ids, **kw)
  )
  v1, g1 = jax.value_and_grad(fused, argnums=(0, 1))(x, w)
  v2, g2 = jax.value_and_grad(naive, argnums=(0, 1))(x, w)
  np.testing.assert_allclose(v1, v2, rtol=1e-10)
  for a, b in zip(g1, g2, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
  want = lm_distillation.topk_tail_reference(
    np.einsum("...d,dv->...v", x, w), top, ids, temperature=1.3
  )
  np.testing.assert_allclose(v1, want.sum(), rtol=1e-10)


BAD_DISTILL = [
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), beta=-0.1),
    "distillation: beta",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), top_k=0),
    "distillation: top_k",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 3)), tail=1),
    "distillation: tail",
  ),
  (
    lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((3, 3))),
    "distillation: teacher_logits must have the leading shape",
  ),
  (
    lambda: jaxloss.topk_distillation(
      np.zeros((2, 5)), np.zeros((2, 2)), np.zeros((2, 2), int), tail=True
    ),
    "topk_distillation: tail=True .* renormalize must be False",
  ),
]


@pytest.mark.parametrize("call, match", BAD_DISTILL)
def test_distillation_bad_options(call, match):
  with pytest.raises((ValueError, TypeError), match=match):
    call()


# ------------------------------------------------------------ errors


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda: jaxloss.distillation(np.zeros((2, 3)), np.zeros((2, 2))),
      ValueError,
      "distillation: teacher_logits must have at least",
    ),
    (
      lambda: jaxloss.distillation(
        np.zeros((2, 3)), np.zeros((2, 3)), divergence="js"
      ),
      ValueError,
      "distillation: divergence must be one of",
    ),
    (
      lambda: jaxloss.distillation(
        np.zeros((2, 3)), np.zeros((2, 3)), beta=1.5
      ),
      ValueError,
      "distillation: beta must be in",
    ),
    (
      lambda: jaxloss.linear_distillation(
        np.zeros((2, 3)),
        np.zeros((3, 5)),
        np.zeros((2, 4)),
        np.zeros((4, 4)),
        np.zeros(2, int),
      ),
      ValueError,
      "linear_distillation: teacher_weight must have at least",
    ),
    (
      lambda: jaxloss.linear_distillation(
        np.zeros((2, 3)),
        np.zeros((3, 5)),
        np.zeros((3, 4)),
        np.zeros((4, 5)),
        np.zeros(2, int),
      ),
      ValueError,
      "linear_distillation: teacher_embeddings must have",
    ),
    (
      lambda: jaxloss.topk_distillation(
        np.zeros((2, 5)), np.zeros((2, 3)), np.zeros((2, 3))
      ),
      TypeError,
      "topk_distillation: teacher_topk_ids must have an integer",
    ),
    (
      lambda: jaxloss.linear_topk_distillation(
        np.zeros((2, 3)),
        np.zeros((3, 5)),
        np.zeros((3, 2)),
        np.zeros((3, 2), int),
      ),
      ValueError,
      "linear_topk_distillation: teacher_topk_logprobs must",
    ),
  ],
)
def test_errors(call, error, match):
  with pytest.raises(error, match=match):
    call()
