"""The demo (``make demo``) runs end to end at toy size."""

import importlib.util
import pathlib
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("flax")


def _load_demo():
  path = pathlib.Path(__file__).parents[1] / "examples" / "demo.py"
  spec = importlib.util.spec_from_file_location("jaxloss_demo", path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # dataclasses look their module up
  spec.loader.exec_module(module)
  return module


def test_demo_writes_table_and_plot(tmp_path):
  demo = _load_demo()
  table = demo.main(epochs=2, batch_size=256, out_dir=str(tmp_path), quiet=True)
  rows = [r for r in table.splitlines()[2:]]
  assert len(rows) == len(demo.CLASSIFICATION_LOSSES) + len(
    demo.REGRESSION_LOSSES
  )
  accuracies = [
    float(r.split("accuracy ")[1].rstrip(" |")) for r in rows if "accuracy" in r
  ]
  # Two epochs already beat chance (0.1) by far on digits.
  assert min(accuracies) > 0.3
  png = tmp_path / "training_curves.png"
  assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert (tmp_path / "results.md").read_text().strip() == table
