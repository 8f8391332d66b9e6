"""The two-tower SigLIP example (sharded over 8 simulated devices) learns:
held-out retrieval accuracy rises well above chance and the loss falls."""

from __future__ import annotations

import importlib.util
import pathlib

import jax
import pytest

pytest.importorskip("optax")
pytest.importorskip("sklearn")

EXAMPLE = (
  pathlib.Path(__file__).parent.parent / "examples" / "siglip_two_tower.py"
)


def test_siglip_two_tower_retrieval_rises():
  spec = importlib.util.spec_from_file_location("siglip_two_tower", EXAMPLE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert jax.device_count() >= 8  # the batch really is split 8 ways
  out = module.main(steps=60, batch=128)
  assert out["last_loss"] < out["first_loss"]
  assert out["accuracy_after"] > out["accuracy_before"] + 0.02, out
  assert out["accuracy_after"] > 10 * out["chance"], out
