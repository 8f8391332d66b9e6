"""Runs examples/tiny_lm.py at toy size: the vocab-parallel loss trains."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import jax
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")

PATH = pathlib.Path(__file__).parent.parent / "examples" / "tiny_lm.py"


def test_tiny_lm_loss_falls():
  spec = importlib.util.spec_from_file_location("tiny_lm", PATH)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # Flax modules are dataclasses
  try:
    spec.loader.exec_module(module)
  except BaseException:
    sys.modules.pop(spec.name, None)
    raise
  assert jax.device_count() >= 8  # the data x model mesh is really 2 x 4
  losses = module.main(
    steps=12, batch=4, seq=8, vocab=32, dim=16, verbose=False
  )
  assert np.all(np.isfinite(losses))
  # Starts near log(32) = 3.47 (uniform over the vocabulary), then falls.
  assert losses[0] > 2.5
  assert np.mean(losses[-3:]) < 0.7 * losses[0], losses
