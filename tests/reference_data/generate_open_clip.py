"""Generates open_clip.json: open_clip's DistillClipLoss and CoCaLoss values
and gradients.

Run in an environment with torch 2.13 (CPU) and open_clip_torch (installed
with ``--no-deps``; only its ``loss.py`` is loaded, which needs torch
alone). Neither is needed by the tests:

    python tests/reference_data/generate_open_clip.py

Inputs are seeded float64 arrays stored with the values: unit-norm student
embeddings ``[B, D]`` and teacher embeddings ``[B, Dt]``, the two logit
scales (``logit_scale.exp()``), and CoCa's caption logits and labels. Each
entry stores open_clip's returned terms and the gradients of their sum with
respect to the student's embeddings and scale (the teacher needs none: it is
frozen in open_clip's training).
"""

from __future__ import annotations

from importlib.metadata import version
import importlib.util
import json
import pathlib

import numpy as np
import torch


def _open_clip_loss():
  """open_clip's ``loss.py`` without the package (whose model code needs
  timm, huggingface_hub and more)."""
  spec = importlib.util.find_spec("open_clip")
  path = pathlib.Path(spec.submodule_search_locations[0]) / "loss.py"
  module_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module


loss = _open_clip_loss()
OUT = pathlib.Path(__file__).with_name("open_clip.json")


def _unit(v):
  return v / np.linalg.norm(v, axis=-1, keepdims=True)


def main():
  torch.set_default_dtype(torch.float64)
  rng = np.random.default_rng(20261205)
  entries = {}
  for name, (b, d, dt, scale, teacher_scale) in {
    "distill_small": (5, 4, 3, 3.0, 7.0),
    "distill_open_clip_scales": (7, 6, 8, 1 / 0.07, 100.0),
  }.items():
    x = _unit(rng.normal(size=(b, d)))
    y = _unit(x + 0.6 * rng.normal(size=(b, d)))
    tx = _unit(rng.normal(size=(b, dt)))
    ty = _unit(tx + 0.4 * rng.normal(size=(b, dt)))
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, y)]
    s = torch.tensor(scale, requires_grad=True)
    contrastive, distill = loss.DistillClipLoss()(
      *tensors,
      s,
      torch.tensor(tx),
      torch.tensor(ty),
      torch.tensor(teacher_scale),
    )
    (contrastive + distill).backward()
    entries[name] = dict(
      image=x.tolist(),
      text=y.tolist(),
      teacher_image=tx.tolist(),
      teacher_text=ty.tolist(),
      scale=scale,
      teacher_scale=teacher_scale,
      contrastive_loss=contrastive.item(),
      distill_loss=distill.item(),
      grad_image=tensors[0].grad.tolist(),
      grad_text=tensors[1].grad.tolist(),
      grad_scale=s.grad.item(),
    )
  b, d, t, v = 4, 5, 3, 6
  x = _unit(rng.normal(size=(b, d)))
  y = _unit(x + 0.6 * rng.normal(size=(b, d)))
  logits = rng.normal(size=(b, t, v))
  labels = rng.integers(1, v, size=(b, t))
  labels[:, -1] = 0  # padding
  labels[1, 1] = 0
  contrastive, caption = loss.CoCaLoss(
    caption_loss_weight=2.0, clip_loss_weight=1.0, pad_id=0
  )(
    torch.tensor(x),
    torch.tensor(y),
    torch.tensor(logits),
    torch.tensor(labels),
    torch.tensor(5.0),
  )
  entries["coca"] = dict(
    image=x.tolist(),
    text=y.tolist(),
    caption_logits=logits.tolist(),
    caption_labels=labels.tolist(),
    scale=5.0,
    clip_loss_weight=1.0,
    caption_loss_weight=2.0,
    pad_id=0,
    contrastive_loss=contrastive.item(),
    caption_loss=caption.item(),
  )
  data = dict(
    source=(
      f"open_clip_torch {version('open_clip_torch')} (open_clip/loss.py: "
      f"DistillClipLoss, CoCaLoss), torch {torch.__version__}, float64; "
      "tests/reference_data/generate_open_clip.py"
    ),
    entries=entries,
  )
  OUT.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
  main()
