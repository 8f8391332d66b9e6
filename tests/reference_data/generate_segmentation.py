"""Generates segmentation.json: segmentation-models-pytorch reference values.

Run in an environment with torch 2.13 (CPU) and segmentation-models-pytorch
0.6 (neither is needed by the tests):

    python tests/reference_data/generate_segmentation.py

Binary cases take probabilities ``[B, H, W]`` (``from_logits=False``) and
targets with some pixels set to the ignored label 255; the Lovász cases take
logits (binary) or NCHW logits (multi-class, softmaxed by the library).
The multi-class overlap cases take NCHW logits of 4 classes (softmaxed by
the library) and labels of classes 0-2 with ignored pixels: class 3 is
absent from the batch, which the library's losses count as 0. The
normalised focal cases take logits; "grad" entries are the gradient of the
value with respect to the logits.
"""

from __future__ import annotations

from importlib.metadata import version
import importlib.util
import json
import pathlib
import sys
import types

import numpy as np
import torch


def _smp_losses():
  """``segmentation_models_pytorch.losses`` without the package's encoders
  (they import torchvision, whose build need not match torch's)."""
  spec = importlib.util.find_spec("segmentation_models_pytorch")
  package = types.ModuleType("segmentation_models_pytorch")
  package.__path__ = list(spec.submodule_search_locations)
  sys.modules["segmentation_models_pytorch"] = package
  import segmentation_models_pytorch.losses as smp_losses  # noqa: PLC0415

  return smp_losses


losses = _smp_losses()

OUT = pathlib.Path(__file__).with_name("segmentation.json")
IGNORE = 255


def main():
  torch.set_default_dtype(torch.float64)
  rng = np.random.default_rng(20261205)
  b, h, w, c = 2, 4, 5, 3
  target = rng.integers(0, 2, size=(b, h, w)).astype(np.float64)
  target[0, 0, :2] = IGNORE
  target[1, 3, 4] = IGNORE
  probs = rng.uniform(0.02, 0.98, size=(b, h, w))
  logits = rng.normal(size=(b, h, w)) * 2
  labels = rng.integers(0, c, size=(b, h, w))
  labels[0, 1, :3] = IGNORE
  class_logits = rng.normal(size=(b, c, h, w))
  # Drawn after the inputs above, so that those keep their values.
  class_logits4 = rng.normal(size=(b, c + 1, h, w))
  # Image 1 without a positive pixel (its ignored pixel kept).
  target_empty1 = target.copy()
  target_empty1[1] = np.where(target[1] == IGNORE, IGNORE, 0.0)
  t_target = torch.tensor(target)
  t_probs = torch.tensor(probs)
  entries = {}

  def binary(key, loss, call, kwargs, inputs=t_probs):
    entries[key] = {
      "call": call,
      "kwargs": kwargs,
      "value": float(loss(inputs[:, None], t_target[:, None])),
    }

  for log_loss in (False, True):
    suffix = "-log" if log_loss else ""
    binary(
      f"dice{suffix}",
      losses.DiceLoss(
        "binary", from_logits=False, ignore_index=IGNORE, log_loss=log_loss
      ),
      f"DiceLoss('binary', from_logits=False, ignore_index=255, "
      f"log_loss={log_loss})",
      {"ignore_index": IGNORE, "log_loss": log_loss},
    )
    binary(
      f"jaccard{suffix}",
      losses.JaccardLoss(
        "binary", from_logits=False, ignore_index=IGNORE, log_loss=log_loss
      ),
      f"JaccardLoss('binary', from_logits=False, ignore_index=255, "
      f"log_loss={log_loss})",
      {"ignore_index": IGNORE, "log_loss": log_loss},
    )
  binary(
    "tversky",
    losses.TverskyLoss(
      "binary", from_logits=False, ignore_index=IGNORE, alpha=0.3, beta=0.7
    ),
    "TverskyLoss('binary', from_logits=False, ignore_index=255, alpha=0.3, "
    "beta=0.7)",
    {"ignore_index": IGNORE, "alpha": 0.3, "beta": 0.7},
  )
  focal_tversky = losses.TverskyLoss(
    "binary",
    from_logits=False,
    ignore_index=IGNORE,
    alpha=0.3,
    beta=0.7,
    gamma=0.75,
  )
  focal_tversky_call = (
    "TverskyLoss('binary', from_logits=False, ignore_index=255, alpha=0.3, "
    "beta=0.7, gamma=0.75)"
  )
  binary(
    "focal_tversky",
    focal_tversky,
    focal_tversky_call,
    {"ignore_index": IGNORE, "alpha": 0.3, "beta": 0.7, "gamma": 0.75},
  )
  clean = np.where(target == IGNORE, 0.0, target)
  entries["mcc_loss"] = {
    "call": "MCCLoss(eps=1e-5)",
    "kwargs": {"eps": 1e-5},
    "target": clean.tolist(),
    "value": float(
      losses.MCCLoss(eps=1e-5)(t_probs[:, None], torch.tensor(clean)[:, None])
    ),
  }
  binary_t = np.where(target == IGNORE, 0.0, target)
  entries["focal-reduced"] = {
    "call": "FocalLoss('binary', alpha=None, gamma=2.0, "
    "reduced_threshold=0.5) on logits, mean over pixels",
    "kwargs": {"alpha": None, "gamma": 2.0, "reduced_threshold": 0.5},
    "target": binary_t.tolist(),
    "value": float(
      losses.FocalLoss("binary", gamma=2.0, reduced_threshold=0.5)(
        torch.tensor(logits)[:, None], torch.tensor(binary_t)[:, None]
      )
    ),
  }
  t_labels = torch.tensor(labels)

  def multiclass(key, make, call, kwargs, per_image=False, grad=False):
    x = torch.tensor(class_logits4, requires_grad=grad)
    value = make()(x, t_labels)
    entry = {"call": call, "kwargs": kwargs, "value": value.item()}
    if grad:
      value.backward()
      entry["grad"] = x.grad.numpy().tolist()
    if per_image:
      entry["per_image"] = [
        float(make()(x[i : i + 1], t_labels[i : i + 1])) for i in range(b)
      ]
    entries[key] = entry

  multiclass(
    "dice-multiclass",
    lambda: losses.DiceLoss("multiclass", ignore_index=IGNORE),
    "DiceLoss('multiclass', ignore_index=255) on NCHW logits",
    {"ignore_index": IGNORE},
    grad=True,
  )
  multiclass(
    "dice-multiclass-log",
    lambda: losses.DiceLoss("multiclass", ignore_index=IGNORE, log_loss=True),
    "DiceLoss('multiclass', ignore_index=255, log_loss=True) on NCHW logits",
    {"ignore_index": IGNORE, "log_loss": True},
  )
  multiclass(
    "jaccard-multiclass",
    lambda: losses.JaccardLoss("multiclass", ignore_index=IGNORE),
    "JaccardLoss('multiclass', ignore_index=255) on NCHW logits",
    {"ignore_index": IGNORE},
  )
  multiclass(
    "tversky-multiclass",
    lambda: losses.TverskyLoss(
      "multiclass", ignore_index=IGNORE, alpha=0.3, beta=0.7
    ),
    "TverskyLoss('multiclass', ignore_index=255, alpha=0.3, beta=0.7) on "
    "NCHW logits",
    {"ignore_index": IGNORE, "alpha": 0.3, "beta": 0.7},
  )
  multiclass(
    "tversky-multiclass-gamma",
    lambda: losses.TverskyLoss(
      "multiclass", ignore_index=IGNORE, alpha=0.3, beta=0.7, gamma=0.75
    ),
    "TverskyLoss('multiclass', ignore_index=255, alpha=0.3, beta=0.7, "
    "gamma=0.75) on NCHW logits",
    {"ignore_index": IGNORE, "alpha": 0.3, "beta": 0.7, "gamma": 0.75},
  )
  multiclass(
    "dice-multiclass-smooth",
    lambda: losses.DiceLoss("multiclass", ignore_index=IGNORE, smooth=1.0),
    "DiceLoss('multiclass', ignore_index=255, smooth=1.0) on NCHW logits, "
    "on the batch and on each image alone",
    {"ignore_index": IGNORE, "smooth": 1.0},
    per_image=True,
  )
  t_empty1 = torch.tensor(target_empty1)
  for key, loss, call in (
    (
      "dice-binary-empty",
      losses.DiceLoss("binary", from_logits=False, ignore_index=IGNORE),
      "DiceLoss('binary', from_logits=False, ignore_index=255)",
    ),
    ("focal_tversky-binary-empty", focal_tversky, focal_tversky_call),
  ):
    entries[key] = {
      "call": call + " on image 1 of target_empty1 (no positive pixel)",
      "kwargs": {"ignore_index": IGNORE},
      "value": float(loss(t_probs[1:, None], t_empty1[1:, None])),
    }
  binary_smooth = losses.DiceLoss("binary", smooth=1.0, ignore_index=IGNORE)
  t_logits = torch.tensor(logits)
  entries["binary_dice-per-image"] = {
    "call": "DiceLoss('binary', smooth=1.0, ignore_index=255) on each image "
    "of (logits, target_empty1) alone",
    "kwargs": {"ignore_index": IGNORE, "smooth": 1.0},
    "per_image": [
      float(binary_smooth(t_logits[i : i + 1, None], t_empty1[i : i + 1, None]))
      for i in range(b)
    ],
  }
  for key, kwargs in (
    ("focal-normalized", {"gamma": 2.0, "normalized": True}),
    (
      "focal-normalized-reduced-sum",
      {
        "alpha": 0.25,
        "gamma": 2.0,
        "normalized": True,
        "reduced_threshold": 0.5,
        "reduction": "sum",
      },
    ),
  ):
    x = torch.tensor(logits, requires_grad=True)
    value = losses.FocalLoss("binary", **kwargs)(
      x[:, None], torch.tensor(binary_t)[:, None]
    )
    value.backward()
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    entries[key] = {
      "call": f"FocalLoss('binary', {args}) on logits",
      "kwargs": kwargs,
      "value": value.item(),
      "grad": x.grad.numpy().tolist(),
    }
  for per_image in (False, True):
    entries[f"lovasz_hinge-per_image={per_image}"] = {
      # float32: the library's binary Lovász mixes dtypes in float64.
      "call": f"LovaszLoss('binary', per_image={per_image}, ignore_index=255)"
      " in float32",
      "kwargs": {"ignore_index": IGNORE, "per_image": per_image},
      "value": float(
        losses.LovaszLoss("binary", per_image=per_image, ignore_index=IGNORE)(
          torch.tensor(logits, dtype=torch.float32), t_target.float()
        )
      ),
    }
    entries[f"lovasz_softmax-per_image={per_image}"] = {
      "call": f"LovaszLoss('multiclass', per_image={per_image}, "
      "ignore_index=255) on NCHW logits, float32",
      "kwargs": {"ignore_index": IGNORE, "per_image": per_image},
      "value": float(
        losses.LovaszLoss(
          "multiclass", per_image=per_image, ignore_index=IGNORE
        )(torch.tensor(class_logits, dtype=torch.float32), torch.tensor(labels))
      ),
    }
  out = {
    "provenance": {
      "libraries": [
        f"segmentation-models-pytorch {version('segmentation-models-pytorch')}",
        f"torch {version('torch')}",
      ],
      "dtype": "float64",
      "script": "tests/reference_data/generate_segmentation.py",
    },
    "inputs": {
      "target": target.tolist(),
      "probs": probs.tolist(),
      "logits": logits.tolist(),
      "labels": labels.tolist(),
      "class_logits": class_logits.tolist(),
      "class_logits4": class_logits4.tolist(),
      "target_empty1": target_empty1.tolist(),
    },
    "entries": entries,
  }
  OUT.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
  main()
