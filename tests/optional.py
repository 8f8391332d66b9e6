"""Optional test dependencies: a test module (or test) that needs one skips
with a clear reason when it is missing, so that the suite collects with the
core test dependencies alone (jax, numpy, pytest, hypothesis)."""

from __future__ import annotations

import pytest

# What each optional dependency is for (the skip reason names it).
PURPOSE = {
  "optax": "optax references and the optax-based examples",
  "flax": "the Flax modules",
  "keras": "the Keras adapter",
  "sklearn": "scikit-learn references",
  "matplotlib": "figures",
}


def require(module: str):
  """``module``, imported, or a skip naming the missing optional extra."""
  top = module.split(".")[0]
  why = PURPOSE.get(top, "an optional reference")
  return pytest.importorskip(
    module,
    reason=f"needs {module} ({why}), an optional test dependency: "
    f"pip install jaxloss[dev]",
  )
