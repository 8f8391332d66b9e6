"""Test configuration shared by the whole suite."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import pytest  # noqa: E402

# Silent rank promotion (e.g. [B] * [B, 1]) is a bug in a loss: make it loud.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
  """Runs a test with float64 enabled."""
  with jax.enable_x64(True):
    yield


# The reference generators need the reference libraries (PyTorch,
# scikit-image, ...), which the suite never imports: they are scripts run by
# hand, not test modules.
collect_ignore_glob = ["reference_data/generate_*.py"]
