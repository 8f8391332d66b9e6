"""Generates ssim_options.json: SSIM options of kornia, torchmetrics and
pytorch-msssim.

Run in an environment with torch 2.13 (CPU), kornia 0.8.1, torchmetrics
1.9.0 and pytorch-msssim 1.0.0 (none is needed by the tests):

    python tests/reference_data/generate_ssim_options.py

Images are NCHW float64 in [0, 1]; each entry stores the library call and
the per-image SSIM.
"""

from __future__ import annotations

from importlib.metadata import version
import json
import pathlib

import kornia
import numpy as np
import pytorch_msssim
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

OUT = pathlib.Path(__file__).with_name("ssim_options.json")


def main():
  torch.set_default_dtype(torch.float64)
  rng = np.random.default_rng(20261205)
  target = rng.uniform(0.0, 1.0, size=(2, 3, 16, 16))
  noisy = np.clip(target + 0.15 * rng.normal(size=target.shape), 0.0, 1.0)
  # Channel 1 of the second image inverted: a negative SSIM there.
  noisy[1, 1] = 1.0 - target[1, 1]
  wide = target * 1.4 - 0.2  # values outside [0, 1], for clamping
  t, p, w = (torch.tensor(x) for x in (target, noisy, wide))
  entries = {}

  def per_image(x):
    return [float(v) for v in x.reshape(x.shape[0], -1).mean(-1)]

  entries["kornia-same"] = {
    "call": "kornia.metrics.ssim(p, t, window_size=11, max_val=1.0, "
    "padding='same'), mean per image",
    "kwargs": {"padding": "same"},
    "ssim": per_image(kornia.metrics.ssim(p, t, 11, 1.0, padding="same")),
  }
  entries["kornia-valid-7"] = {
    "call": "kornia.metrics.ssim(p, t, window_size=7, max_val=1.0, "
    "padding='valid'), mean per image",
    "kwargs": {"filter_size": 7},
    "ssim": per_image(kornia.metrics.ssim(p, t, 7, 1.0, padding="valid")),
  }

  def tm(key, call, kwargs, preds=p, **tm_kwargs):
    out = structural_similarity_index_measure(
      preds, t, reduction="none", **tm_kwargs
    )
    entries[key] = {"call": call, "kwargs": kwargs, "ssim": per_image(out)}

  tm(
    "torchmetrics-uniform",
    "structural_similarity_index_measure(p, t, gaussian_kernel=False, "
    "kernel_size=7, data_range=1.0, reduction='none')",
    {"window": "uniform", "filter_size": 7, "padding": "same"},
    gaussian_kernel=False,
    kernel_size=7,
    data_range=1.0,
  )
  tm(
    "torchmetrics-range-pair",
    "structural_similarity_index_measure(wide, t, data_range=(0.1, 0.9), "
    "reduction='none')",
    {"max_val": [0.1, 0.9], "padding": "same"},
    preds=w,
    data_range=(0.1, 0.9),
  )
  tm(
    "torchmetrics-inferred",
    "structural_similarity_index_measure(wide, t, data_range=None, "
    "reduction='none')",
    {"max_val": "infer", "padding": "same"},
    preds=w,
  )
  entries["pytorch_msssim-nonnegative"] = {
    "call": "pytorch_msssim.ssim(p, t, data_range=1, size_average=False, "
    "nonnegative_ssim=True)",
    "kwargs": {"nonnegative_ssim": True},
    "ssim": [
      float(v)
      for v in pytorch_msssim.ssim(
        p, t, data_range=1, size_average=False, nonnegative_ssim=True
      )
    ],
  }
  vol_t = rng.uniform(0.0, 1.0, size=(2, 2, 8, 9, 10))
  vol_p = np.clip(vol_t + 0.2 * rng.normal(size=vol_t.shape), 0.0, 1.0)
  entries["torchmetrics-3d"] = {
    "call": "structural_similarity_index_measure(vol_p, vol_t, sigma=1.0, "
    "kernel_size=9, data_range=1.0, reduction='none') on [B, C, D, H, W] "
    "volumes",
    "kwargs": {"padding": "same", "filter_size": 9, "filter_sigma": 1.0},
    "volumes": [vol_t.tolist(), vol_p.tolist()],
    "ssim": per_image(
      structural_similarity_index_measure(
        torch.tensor(vol_p),
        torch.tensor(vol_t),
        sigma=1.0,
        kernel_size=9,  # its depth padding follows kernel_size
        data_range=1.0,
        reduction="none",
      )
    ),
  }
  for key, kwargs, kornia_kwargs in (
    ("kornia-ms_ssim_l1", {}, {}),
    (
      "kornia-ms_ssim_l1-sigmas",
      {"sigmas": [0.5, 1.0, 2.0], "alpha": 0.3, "compensation": 1.0},
      {"sigmas": (0.5, 1.0, 2.0), "alpha": 0.3, "compensation": 1.0},
    ),
  ):
    loss = kornia.losses.MS_SSIMLoss(reduction="none", **kornia_kwargs)
    entries[key] = {
      "call": f"kornia.losses.MS_SSIMLoss(reduction='none', {kornia_kwargs})"
      "(p, t), mean per image",
      "kwargs": kwargs,
      "loss": per_image(loss(p, t)),
    }
  out = {
    "provenance": {
      "libraries": [
        f"kornia {version('kornia')}",
        f"torchmetrics {version('torchmetrics')}",
        f"pytorch-msssim {version('pytorch-msssim')}",
        f"torch {version('torch')}",
      ],
      "dtype": "float64",
      "script": "tests/reference_data/generate_ssim_options.py",
    },
    "inputs": {
      "target": target.tolist(),
      "pred": noisy.tolist(),
      "wide": wide.tolist(),
    },
    "entries": entries,
  }
  OUT.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
  main()
