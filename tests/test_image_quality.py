"""Image-quality losses: scikit-image values, masks, layouts, MS-SSIM at the
paper's five scales, feature matching over pytrees, edges and errors.

Stored references: tests/reference_data/image_quality_skimage.npz, made by
tests/reference_data/generate_image_quality.py (scikit-image 0.26.0).
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.specs.image_quality import np_feature_matching
from tests.specs.image_quality import np_ms_ssim_loss
from tests.specs.image_quality import np_ssim_loss
from tests.specs.image_quality import np_window

REF = np.load(
  pathlib.Path(__file__).parent / "reference_data" / "image_quality_skimage.npz"
)

ssim = jax.jit(
  jaxloss.ssim_loss,
  static_argnames=("max_val", "filter_size", "filter_sigma", "channel_axis"),
)
ms_ssim = jax.jit(
  jaxloss.ms_ssim_loss, static_argnames=("filter_size", "power_factors")
)


@pytest.mark.parametrize("case, max_val", [("rgb", 1.0), ("grey", 255.0)])
def test_ssim_matches_scikit_image(case, max_val, x64):
  t, p = REF[f"{case}_true"], REF[f"{case}_pred"]
  want = 1 - REF[f"{case}_ssim"]
  np.testing.assert_allclose(
    ssim(t, p, max_val=max_val),
    want,
    rtol=1e-10,
    err_msg=str(REF["provenance"]),
  )
  # The NumPy transcription used by the generic tests agrees too.
  np.testing.assert_allclose(
    np_ssim_loss(t, p, max_val=max_val), want, rtol=1e-10
  )


def test_ssim_float32_within_1e5_of_scikit_image():
  t, p = REF["rgb_true"], REF["rgb_pred"]
  got = ssim(t.astype(np.float32), p.astype(np.float32))
  np.testing.assert_allclose(got, 1 - REF["rgb_ssim"], atol=1e-5)


@pytest.mark.parametrize("case, max_val", [("rgb", 1.0), ("grey", 255.0)])
def test_psnr_matches_scikit_image(case, max_val, x64):
  t, p = REF[f"{case}_true"], REF[f"{case}_pred"]
  got = jax.jit(jaxloss.psnr_loss, static_argnames="max_val")(
    t, p, max_val=max_val
  )
  np.testing.assert_allclose(-got, REF[f"{case}_psnr"], rtol=1e-12)


def test_channels_first_equals_channels_last(x64):
  t, p = REF["rgb_true"], REF["rgb_pred"]
  first = ssim(np.moveaxis(t, -1, 1), np.moveaxis(p, -1, 1), channel_axis=1)
  np.testing.assert_allclose(first, ssim(t, p), rtol=1e-12)


def _np_masked_ssim(t, p, m, size=11, sigma=1.5, c1=1e-4, c2=9e-4):
  """Normalised convolution, written independently: each window's weights
  are the Gaussian times the mask, divided by their sum; the map is
  averaged over positions whose centre pixel is kept."""
  win = np.outer(np_window(size, sigma), np_window(size, sigma))
  r = size // 2
  out = []
  for b in range(len(t)):
    vals = []
    for c in range(t.shape[-1]):
      for i in range(t.shape[1] - size + 1):
        for j in range(t.shape[2] - size + 1):
          if not m[b, i + r, j + r, c]:
            continue
          w = win * m[b, i : i + size, j : j + size, c]
          w = w / w.sum()
          a = t[b, i : i + size, j : j + size, c]
          q = p[b, i : i + size, j : j + size, c]
          ma, mq = np.sum(w * a), np.sum(w * q)
          va = np.sum(w * (a - ma) ** 2)
          vq = np.sum(w * (q - mq) ** 2)
          cov = np.sum(w * (a - ma) * (q - mq))
          vals.append(
            (2 * ma * mq + c1)
            * (2 * cov + c2)
            / ((ma**2 + mq**2 + c1) * (va + vq + c2))
          )
    out.append(1 - np.mean(vals))
  return np.array(out)


def _masked_case():
  rng = np.random.default_rng(0)
  t = rng.uniform(size=(2, 14, 15, 2))
  p = np.clip(t + 0.2 * rng.normal(size=t.shape), 0, 1)
  m = rng.uniform(size=t.shape) > 0.3
  return t, p, m


def test_masked_ssim_against_normalised_convolution(x64):
  t, p, m = _masked_case()
  got = ssim(t, p, where=m)
  np.testing.assert_allclose(got, _np_masked_ssim(t, p, m), rtol=1e-10)
  # An all-true mask is the unmasked loss.
  np.testing.assert_allclose(
    ssim(t, p, where=np.ones_like(m)), ssim(t, p), rtol=1e-10
  )


def test_nan_under_mask_is_harmless():
  t, p, m = _masked_case()
  t_nan = np.where(m, t, np.nan).astype(np.float32)
  p_inf = np.where(m, p, np.inf).astype(np.float32)
  for fn in (jaxloss.ssim_loss, jaxloss.psnr_loss):
    f = jax.jit(lambda a, b, fn=fn: jnp.sum(fn(a, b, where=m)))
    value, grad = jax.value_and_grad(f, argnums=(0, 1))(t_nan, p_inf)
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in grad)
    np.testing.assert_allclose(
      value, f(t.astype(np.float32), p.astype(np.float32)), rtol=1e-5
    )


def test_fully_masked_image_gives_zero():
  t, p, m = _masked_case()
  m[1] = False
  got = ssim(t, p, where=m)
  assert got[1] == 0 and got[0] > 0


@pytest.mark.slow
def test_ms_ssim_five_scales_against_transcription(x64):
  # The paper's defaults (11x11 window, five scales) need 161x161 images;
  # the generic spec checks three scales of a 3x3 window on every run.
  rng = np.random.default_rng(1)
  t = rng.uniform(size=(1, 168, 161, 1))  # odd width: padding at each scale
  p = np.clip(t + 0.1 * rng.normal(size=t.shape), 0, 1)
  got = ms_ssim(t, p)
  np.testing.assert_allclose(
    got,
    np_ms_ssim_loss(t, p),
    rtol=1e-10,
    err_msg="Wang et al. 2003 eq. (7), NumPy",
  )
  assert 0 < got[0] < 1


def test_ms_ssim_full_mask_equals_unmasked(x64):
  rng = np.random.default_rng(2)
  t = rng.uniform(size=(1, 20, 21, 2))
  p = np.clip(t + 0.1 * rng.normal(size=t.shape), 0, 1)
  kw = dict(filter_size=3, power_factors=(0.5, 0.3, 0.2))
  np.testing.assert_allclose(
    ms_ssim(t, p, where=np.ones(t.shape, bool), **kw),
    ms_ssim(t, p, **kw),
    rtol=1e-10,
  )


def test_ms_ssim_too_small_is_a_clear_error():
  x = np.zeros((1, 160, 200, 1), np.float32)
  with pytest.raises(
    ValueError,
    match=r"ms_ssim_loss: y_true spatial size "
    r"must be at least 161x161 for 5 scales",
  ):
    jaxloss.ms_ssim_loss(x, x)


def test_ssim_half_precision_computed_in_float32():
  t, p = REF["rgb_true"], REF["rgb_pred"]
  for dtype in (jnp.float16, jnp.bfloat16):
    got = ssim(jnp.asarray(t, dtype), jnp.asarray(p, dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(
      np.asarray(got, np.float32), 1 - REF["rgb_ssim"], atol=2e-2
    )


def test_feature_matching_pytree(x64):
  rng = np.random.default_rng(3)
  f_t = {"a": rng.normal(size=(2, 4, 4, 3)), "b": rng.normal(size=(2, 2, 5))}
  f_p = {"a": rng.normal(size=(2, 4, 4, 3)), "b": rng.normal(size=(2, 2, 5))}
  w_b = rng.uniform(size=5)
  got = jaxloss.feature_matching_loss(f_t, f_p, layer_weights=(2.0, tuple(w_b)))
  want = 2 * np_feature_matching(
    f_t["a"], f_p["a"], layer_weights=(1.0,)
  ) + np_feature_matching(f_t["b"], f_p["b"], layer_weights=(w_b,))
  np.testing.assert_allclose(got, want, rtol=1e-10)
  # L1, no normalisation, channels first: the plain mean absolute distance.
  a, b = f_t["a"], f_p["a"]
  got = jaxloss.feature_matching_loss(
    np.moveaxis(a, -1, 1),
    np.moveaxis(b, -1, 1),
    normalize=False,
    distance="l1",
    channel_axis=1,
  )
  np.testing.assert_allclose(
    got, np.abs(a - b).sum(-1).mean((1, 2)), rtol=1e-10
  )


def test_total_variation_matches_tf_definition():
  # tf.image.total_variation: sum of absolute neighbour differences.
  x = np.arange(12.0).reshape(1, 3, 4, 1) ** 2
  want = np.abs(np.diff(x, axis=1)).sum() + np.abs(np.diff(x, axis=2)).sum()
  np.testing.assert_allclose(jaxloss.total_variation(x), [want], rtol=1e-6)
  grad = jax.jit(
    jax.grad(lambda z: jnp.sum(jaxloss.total_variation(z, kind="isotropic")))
  )(jnp.zeros((1, 3, 3, 1)))
  assert np.all(np.isfinite(grad))


@pytest.mark.parametrize(
  "call, error, match",
  [
    (
      lambda x: jaxloss.ssim_loss(x, x),
      ValueError,
      "ssim_loss: y_true spatial size must be at least filter_size=11",
    ),
    (
      lambda x: jaxloss.ssim_loss(x, x, filter_size=3, channel_axis=2),
      ValueError,
      "ssim_loss: channel_axis must be -1",
    ),
    (
      lambda x: jaxloss.ssim_loss(x, x, filter_size=3, where=x),
      TypeError,
      "ssim_loss: where must be a boolean mask",
    ),
    (
      lambda x: jaxloss.ssim_loss(x, x, filter_size=3, max_val=0.0),
      ValueError,
      r"ssim_loss: max_val must be in \(0",
    ),
    (
      lambda x: jaxloss.ssim_loss(x, x, filter_size=2.5),
      TypeError,
      "ssim_loss: filter_size must be an int",
    ),
    (
      lambda x: jaxloss.ssim_loss(x[0], x[0], filter_size=3),
      ValueError,
      "ssim_loss: y_true must have rank 4",
    ),
    (
      lambda x: jaxloss.ms_ssim_loss(x, x, power_factors=()),
      TypeError,
      "ms_ssim_loss: power_factors must be a non-empty sequence",
    ),
    (
      lambda x: jaxloss.total_variation(x, kind="l1"),
      ValueError,
      "total_variation: kind must be 'anisotropic' or 'isotropic'",
    ),
    (
      lambda x: jaxloss.feature_matching_loss([x], [x, x]),
      ValueError,
      "feature_matching_loss: features_true and features_pred must have the "
      "same pytree structure",
    ),
    (
      lambda x: jaxloss.feature_matching_loss(
        [x], [x], layer_weights=((1.0, 2.0),)
      ),
      ValueError,
      r"feature_matching_loss: layer_weights\[0\] must be a "
      "number or 3 per-channel weights",
    ),
    (
      lambda x: jaxloss.charbonnier(x, x, where=x > 0, axis=5),
      ValueError,
      "charbonnier: axis must be in",
    ),
  ],
)
def test_errors(call, error, match):
  x = np.zeros((1, 6, 6, 3), np.float32)
  with pytest.raises(error, match=match):
    call(x)
