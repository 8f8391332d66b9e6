"""Learnable losses: references for the pure functions, gradients that reach
the loss's own parameters, linen == nnx for the same parameters."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src.losses import adaptive
from tests.optional import require

require("flax")
from flax import nnx  # noqa: E402
import flax.linen as nn  # noqa: E402

from jaxloss.flax import linen as jl  # noqa: E402
from jaxloss.flax import nnx as jn  # noqa: E402

RNG = np.random.default_rng(0)
LABELS = np.array([0, 2, 1, 2], np.int32)
EMB = RNG.normal(size=(4, 5)).astype(np.float32)
CENTERS = RNG.normal(size=(3, 5)).astype(np.float32)


def _np_cos(e, c):
  e = e / np.linalg.norm(e, axis=1, keepdims=True)
  c = c / np.linalg.norm(c, axis=1, keepdims=True)
  return np.clip(e.astype(np.float64) @ c.T.astype(np.float64), -1, 1)


def _np_xent(logits, labels):
  logits = logits - logits.max(1, keepdims=True)
  lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  return -lp[np.arange(len(labels)), labels]


def test_arcface_matches_paper_formula():
  # Deng et al. 2019, eq. 3: s cos(theta_y + m) on the target, s cos else.
  s, m = 8.0, 0.3
  cos = _np_cos(EMB, CENTERS)
  theta = np.arccos(cos)
  logits = s * cos
  rows = np.arange(4)
  target = np.where(
    theta[rows, LABELS] + m <= math.pi,
    np.cos(theta[rows, LABELS] + m),
    cos[rows, LABELS] - m * math.sin(m),
  )
  logits[rows, LABELS] = s * target
  got = jaxloss.arcface(LABELS, EMB, CENTERS, scale=s, margin=m)
  np.testing.assert_allclose(got, _np_xent(logits, LABELS), rtol=1e-5)
  got = jaxloss.ArcFace(scale=s, margin=m)(LABELS, EMB, CENTERS)
  np.testing.assert_allclose(got, _np_xent(logits, LABELS).mean(), rtol=1e-5)


def test_cosface_and_center_loss_match_formulas():
  # Wang et al. 2018, eq. 4; Wen et al. 2016, eq. 2.
  s, m = 8.0, 0.2
  logits = s * (_np_cos(EMB, CENTERS) - m * np.eye(3)[LABELS])
  np.testing.assert_allclose(
    jaxloss.cosface(LABELS, EMB, CENTERS, scale=s, margin=m),
    _np_xent(logits, LABELS),
    rtol=1e-5,
  )
  want = 0.5 * np.sum((EMB - CENTERS[LABELS]) ** 2, axis=1)
  np.testing.assert_allclose(
    jaxloss.center_loss(LABELS, EMB, CENTERS), want, rtol=1e-5
  )


def test_arcface_finite_grad_at_aligned_embedding():
  c = jnp.eye(3, 5)
  g = jax.jit(jax.grad(lambda e: jaxloss.arcface([0], e, c, scale=4.0).sum()))(
    jnp.eye(1, 5)
  )
  assert np.all(np.isfinite(g))


def test_margin_errors():
  with pytest.raises(ValueError, match="arcface: margin must be"):
    jaxloss.arcface(LABELS, EMB, CENTERS, margin=2.0)
  with pytest.raises(ValueError, match="centers must be"):
    jaxloss.cosface(LABELS, EMB, CENTERS[:, :2])
  with pytest.raises(ValueError, match="one label per row"):
    jaxloss.center_loss(LABELS[:2], EMB, CENTERS)


def test_log_partition_closed_forms():
  # Barron 2019: Z(2) = sqrt(2 pi) (Gaussian); Z(0) = pi sqrt(2) (Cauchy);
  # Z(1) = 2 e K1(1) (pseudo-Huber: int exp(1 - sqrt(x^2+1)) dx).
  k1 = 0.6019072301972346  # modified Bessel K1(1), Abramowitz & Stegun
  logz = adaptive.log_partition(jnp.array([2.0, 1.0, 1e-6]))
  np.testing.assert_allclose(
    np.exp(logz),
    [math.sqrt(2 * math.pi), 2 * math.e * k1, math.pi * math.sqrt(2)],
    rtol=2e-4,
  )


def test_adaptive_nll_at_alpha_two_is_gaussian_nll():
  x = RNG.normal(size=(3, 2)).astype(np.float32)
  c = 0.7
  want = np.sum(
    0.5 * (x / c) ** 2 + math.log(c) + 0.5 * math.log(2 * math.pi), axis=-1
  )
  got = jax.jit(
    lambda x: jaxloss.adaptive_robust_nll(
      jnp.zeros_like(x), x, alpha=2.0, scale=c
    )
  )(x)
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_uncertainty_weighting_formula():
  # Kendall et al. 2018 eqs. 7 and 10 with s = log sigma^2.
  losses, s = np.array([2.0, 3.0]), np.array([0.5, -1.0])
  want = 0.5 * np.exp(-0.5) * 2.0 + 0.25 + np.exp(1.0) * 3.0 - 0.5
  got = jaxloss.uncertainty_weighting(losses, s, regression=(True, False))
  np.testing.assert_allclose(got, want, rtol=1e-6)


# ----------------------------------------------------- modules: linen == nnx


def _pair(kind):
  """(linen module, init args, nnx module factory, call args)."""
  y3 = RNG.normal(size=(4, 3)).astype(np.float32)
  if kind == "robust":
    args = (np.zeros_like(y3), y3)
    return (
      jl.AdaptiveRobustLoss(num_dims=3, alpha_init=1.5),
      lambda: jn.AdaptiveRobustLoss(3, alpha_init=1.5),
      args,
    )
  if kind == "uncertainty":
    args = (jnp.array([1.0, 2.0]),)
    return (
      jl.UncertaintyWeighting(num_tasks=2),
      lambda: jn.UncertaintyWeighting(2),
      args,
    )
  args = (LABELS, EMB)
  if kind == "arcface":
    return (
      jl.ArcFaceHead(num_classes=3, scale=4.0, margin=0.2),
      lambda: jn.ArcFaceHead(3, 5, rngs=nnx.Rngs(0), scale=4.0, margin=0.2),
      args,
    )
  if kind == "cosface":
    return (
      jl.CosFaceHead(num_classes=3, scale=4.0),
      lambda: jn.CosFaceHead(3, 5, rngs=nnx.Rngs(0), scale=4.0),
      args,
    )
  return jl.CenterLossHead(num_classes=3), lambda: jn.CenterLossHead(3, 5), args


KINDS = ["robust", "uncertainty", "arcface", "cosface", "center"]


@pytest.mark.parametrize("kind", KINDS)
def test_linen_equals_nnx_and_grads_reach_own_params(kind):
  lin, make_nnx, args = _pair(kind)
  variables = lin.init(jax.random.key(3), *args)
  # Move the linen parameters (perturbed) into the nnx module.
  params = jax.tree.map(lambda p: p + 0.1, variables["params"])
  model = make_nnx()
  for name, value in params.items():
    getattr(model, name)[...] = value
  got_l, g_l = jax.jit(
    jax.value_and_grad(lambda p: lin.apply({"params": p}, *args))
  )(params)
  got_n, g_n = nnx.jit(nnx.value_and_grad(lambda m: m(*args)))(model)
  np.testing.assert_allclose(got_l, got_n, rtol=1e-6)
  for name in params:
    gl = np.asarray(g_l[name])
    assert np.all(np.isfinite(gl)) and np.abs(gl).sum() > 0, name
    np.testing.assert_allclose(
      gl, np.asarray(g_n[name][...]), rtol=1e-5, atol=1e-7
    )


@pytest.mark.slow
def test_adaptive_robust_learns_alpha_and_scale():
  # Gaussian data: NLL pushes alpha towards 2 and scale towards the std.
  import optax

  y = (0.5 * RNG.normal(size=(256, 1))).astype(np.float32)
  loss = jl.AdaptiveRobustLoss(alpha_init=1.0, scale_init=1.0)
  params = loss.init(jax.random.key(0), np.zeros_like(y), y)["params"]
  opt = optax.adam(0.05)
  state = opt.init(params)

  @jax.jit
  def step(params, state):
    g = jax.grad(lambda p: loss.apply({"params": p}, np.zeros_like(y), y))(
      params
    )
    upd, state = opt.update(g, state)
    return optax.apply_updates(params, upd), state

  for _ in range(100):
    params, state = step(params, state)
  alpha, scale = loss.apply({"params": params}, method="parameters")
  assert float(alpha) > 1.5
  assert 0.35 < float(scale) < 0.65


def test_centers_head_cosines_and_rngs_required():
  head = jn.ArcFaceHead(3, 5, rngs=nnx.Rngs(0))
  assert head.cosines(EMB).shape == (4, 3)
  with pytest.raises(ValueError, match="rngs must be given"):
    jn.ArcFaceHead(3, 5, rngs=None)
  assert isinstance(jl.ArcFaceHead(num_classes=3), nn.Module)
