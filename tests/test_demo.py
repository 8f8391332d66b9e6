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


def test_label_smoothed_floor_is_the_smoothed_targets_entropy():
  """The demo's dashed line: the smallest label-smoothed CE, reached when
  the prediction equals the smoothed target (checked with jaxloss)."""
  import jax.numpy as jnp
  import numpy as np

  import jaxloss

  demo = _load_demo()
  floor = demo.smoothed_ce_floor(0.1, 10)
  target = np.full(10, 0.01)
  target[3] = 0.91
  at_target = jaxloss.sparse_categorical_crossentropy(
    jnp.array([3]),
    jnp.log(jnp.asarray([target])),
    from_logits=True,
    label_smoothing=0.1,
  )
  np.testing.assert_allclose(at_target, [floor], rtol=1e-5)
  assert 0.49 < floor < 0.51  # well above 0: the curve levels off there
  # Any other prediction is worse.
  other = jaxloss.sparse_categorical_crossentropy(
    jnp.array([3]),
    jnp.log(jnp.asarray([np.eye(10)[3] * 0.99 + 0.001])),
    from_logits=True,
    label_smoothing=0.1,
  )
  assert float(other[0]) > floor
