"""Regenerates tests/reference_data/image_quality_skimage.npz.

Run with scikit-image installed (the stored values came from
scikit-image 0.26.0, scipy 1.17.1, numpy 2.4.6):

    python tests/reference_data/generate_image_quality.py

Calls:
  skimage.metrics.structural_similarity(t, p, gaussian_weights=True,
      sigma=1.5, use_sample_covariance=False, data_range=L, channel_axis=-1)
  skimage.metrics.peak_signal_noise_ratio(t, p, data_range=L)
per image. The inputs are stored next to the values, so the tests never
need scikit-image.
"""

from __future__ import annotations

import pathlib

import numpy as np
import scipy
import skimage
from skimage.metrics import peak_signal_noise_ratio
from skimage.metrics import structural_similarity


def _ssim(t, p, data_range):
  return np.array(
    [
      structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=-1,
      )
      for a, b in zip(t, p, strict=True)
    ]
  )


def _psnr(t, p, data_range):
  return np.array(
    [
      peak_signal_noise_ratio(a, b, data_range=data_range)
      for a, b in zip(t, p, strict=True)
    ]
  )


def main():
  rng = np.random.default_rng(2024)
  # Colour, [0, 1], odd width.
  rgb_true = rng.uniform(size=(2, 24, 27, 3))
  rgb_pred = np.clip(rgb_true + 0.15 * rng.normal(size=rgb_true.shape), 0, 1)
  # Grey, 8-bit range, a smooth target and a noisy, shifted prediction.
  yy, xx = np.mgrid[:32, :32]
  grey_true = (127.5 + 100 * np.sin(xx / 5.0) * np.cos(yy / 7.0))[
    None, ..., None
  ]
  grey_pred = np.clip(
    grey_true + 20 + 15 * rng.normal(size=grey_true.shape), 0, 255
  )
  out = dict(
    rgb_true=rgb_true,
    rgb_pred=rgb_pred,
    rgb_ssim=_ssim(rgb_true, rgb_pred, 1.0),
    rgb_psnr=_psnr(rgb_true, rgb_pred, 1.0),
    grey_true=grey_true,
    grey_pred=grey_pred,
    grey_ssim=_ssim(grey_true, grey_pred, 255.0),
    grey_psnr=_psnr(grey_true, grey_pred, 255.0),
    provenance=np.array(
      f"scikit-image {skimage.__version__}, scipy {scipy.__version__}, "
      f"numpy {np.__version__}: structural_similarity(gaussian_weights="
      f"True, sigma=1.5, use_sample_covariance=False, data_range, "
      f"channel_axis=-1) and peak_signal_noise_ratio(data_range), per "
      f"image"
    ),
  )
  path = pathlib.Path(__file__).with_name("image_quality_skimage.npz")
  np.savez_compressed(path, **out)
  print(path, {k: v for k, v in out.items() if k.endswith(("ssim", "psnr"))})


if __name__ == "__main__":
  main()
