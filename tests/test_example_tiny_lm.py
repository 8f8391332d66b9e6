"""Runs examples/tiny_lm.py at toy size: the vocab-parallel loss trains;
and examples/multiprocess_lm.py on 2 processes: the same loss curve."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import jax
import numpy as np
import pytest

from tests import multiprocess

pytest.importorskip("flax")
pytest.importorskip("optax")

PATH = pathlib.Path(__file__).parent.parent / "examples" / "tiny_lm.py"
SIZE = dict(batch=4, seq=8, vocab=32, dim=16)


def _tiny_lm():
  spec = importlib.util.spec_from_file_location("tiny_lm", PATH)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # Flax modules are dataclasses
  try:
    spec.loader.exec_module(module)
  except BaseException:
    sys.modules.pop(spec.name, None)
    raise
  return module


def test_tiny_lm_loss_falls():
  module = _tiny_lm()
  assert jax.device_count() >= 8  # the data x model mesh is really 2 x 4
  losses = module.main(steps=12, **SIZE, verbose=False)
  assert np.all(np.isfinite(losses))
  # Starts near log(32) = 3.47 (uniform over the vocabulary), then falls.
  assert losses[0] > 2.5
  assert np.mean(losses[-3:]) < 0.7 * losses[0], losses


def test_multiprocess_lm_equals_one_process(tmp_path):
  """2 processes x 4 devices (tests/multiprocess.py starts them): the loss
  curve of one process on the same 2 x 4 mesh, to float32 rounding."""
  if (why := multiprocess.local_sockets_error()) is not None:
    pytest.skip(f"the processes talk over local sockets; {why}")
  out = tmp_path / "losses.json"
  multiprocess.launch(
    ["examples/multiprocess_lm.py", "--steps=4", f"--out={out}"]
    + [f"--{k}={v}" for k, v in SIZE.items()],
    processes=2,
    cpu_devices=4,
    timeout=300,
  )
  got = json.loads(out.read_text())
  want = _tiny_lm().main(steps=4, **SIZE, verbose=False)
  assert len(got) == 4
  np.testing.assert_allclose(got, want, rtol=2e-6)
