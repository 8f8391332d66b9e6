"""SSIM options against kornia, torchmetrics and pytorch-msssim.

Stored values: tests/reference_data/ssim_options.json, made by
tests/reference_data/generate_ssim_options.py (kornia 0.8.1, torchmetrics
1.9.0, pytorch-msssim 1.0.0, torch 2.13.0 CPU, float64). Each entry names
the library call.
"""

from __future__ import annotations

import functools
import json
import os

import jax
import numpy as np
import pytest

import jaxloss
from jaxloss._src.losses.image_quality import gaussian_window

_PATH = os.path.join(
  os.path.dirname(__file__), "reference_data", "ssim_options.json"
)


@functools.cache
def _data():
  with open(_PATH) as f:
    return json.load(f)


@pytest.mark.parametrize(
  "key",
  sorted(
    k for k in _data()["entries"] if "ms_ssim_l1" not in k and "3d" not in k
  ),
)
def test_ssim_options_match_libraries(key, x64):
  entry = _data()["entries"][key]
  x = {k: np.asarray(v) for k, v in _data()["inputs"].items()}
  kwargs = dict(entry["kwargs"])
  if isinstance(kwargs.get("max_val"), list):
    kwargs["max_val"] = tuple(kwargs["max_val"])
  pred = x["wide"] if "max_val" in kwargs else x["pred"]
  got = 1.0 - jaxloss.ssim_loss(x["target"], pred, channel_axis=1, **kwargs)
  # pytorch-msssim builds its window in float32.
  rtol = 1e-6 if key.startswith("pytorch_msssim") else 1e-10
  np.testing.assert_allclose(got, entry["ssim"], rtol=rtol, err_msg=key)


def test_ssim_window_and_range_errors():
  x = np.zeros((1, 8, 8, 1), np.float32)
  with pytest.raises(ValueError, match="ssim_loss: padding must be one of"):
    jaxloss.ssim_loss(x, x, padding="reflect", filter_size=3)
  with pytest.raises(ValueError, match="ssim_loss: window must be"):
    jaxloss.ssim_loss(x, x, window=[[1.0]])
  with pytest.raises(ValueError, match=r"ssim_loss: max_val must be a \(min"):
    jaxloss.SSIMLoss(max_val=(1.0, 0.0))


def test_user_window_equals_the_named_one():
  rng = np.random.default_rng(0)
  t = rng.uniform(size=(1, 12, 12, 2)).astype(np.float32)
  p = rng.uniform(size=(1, 12, 12, 2)).astype(np.float32)
  np.testing.assert_allclose(
    jaxloss.ssim_loss(t, p, window=3.0 * gaussian_window(7, 1.5)),
    jaxloss.ssim_loss(t, p, filter_size=7),
    rtol=1e-6,
  )
  np.testing.assert_allclose(
    jaxloss.ssim_loss(t, p, window=[1.0] * 5),
    jaxloss.ssim_loss(t, p, window="uniform", filter_size=5),
    rtol=1e-6,
  )


def test_same_padding_gradient_is_finite():
  rng = np.random.default_rng(1)
  t = rng.uniform(size=(1, 12, 12, 1)).astype(np.float32)
  g = jax.grad(lambda p: jaxloss.ssim_loss(t, p, padding="same")[0])(t * 0.5)
  assert np.all(np.isfinite(g)) and np.any(g != 0)


@pytest.mark.parametrize(
  "key", ["kornia-ms_ssim_l1", "kornia-ms_ssim_l1-sigmas"]
)
def test_ms_ssim_l1_matches_kornia(key, x64):
  entry = _data()["entries"][key]
  x = {k: np.asarray(v) for k, v in _data()["inputs"].items()}
  kwargs = dict(entry["kwargs"])
  if "sigmas" in kwargs:
    kwargs["sigmas"] = tuple(kwargs["sigmas"])
  got = jaxloss.ms_ssim_l1_loss(
    x["target"], x["pred"], channel_axis=1, **kwargs
  )
  np.testing.assert_allclose(got, entry["loss"], rtol=1e-10)


def test_volumetric_ssim_matches_torchmetrics(x64):
  entry = _data()["entries"]["torchmetrics-3d"]
  vol_t, vol_p = (np.asarray(v) for v in entry["volumes"])
  got = 1.0 - jaxloss.ssim_loss(vol_t, vol_p, channel_axis=1, **entry["kwargs"])
  np.testing.assert_allclose(got, entry["ssim"], rtol=1e-10)
