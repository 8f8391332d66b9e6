"""Runs examples/packed_lm.py at toy size: training on packed rows follows
the same loss curve as the same sequences unpacked and padded (issue 25).

Reference: the unpacked run itself (one sequence per row), which packing
must not change; the curves agree to float32 round-off at every step.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np

PATH = pathlib.Path(__file__).parent.parent / "examples" / "packed_lm.py"


def _load():
  spec = importlib.util.spec_from_file_location("packed_lm", PATH)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module
  try:
    spec.loader.exec_module(module)
  except BaseException:
    sys.modules.pop(spec.name, None)
    raise
  return module


def test_packed_curve_equals_unpacked_curve():
  module = _load()
  rng = np.random.default_rng(0)
  seqs = module.make_sequences(rng, 12, 16)
  tokens, _ = module.pack(seqs, 16)
  assert len(tokens) < len(seqs)  # rows really hold several sequences
  packed, padded = module.main(steps=8, n=12, verbose=False)
  assert np.all(np.isfinite(packed))
  np.testing.assert_allclose(packed, padded, rtol=2e-5)
  assert packed[-1] < 0.9 * packed[0]  # and it trains
