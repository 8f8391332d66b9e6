"""Keras's own loss tests, run against ``jaxloss.keras``.

The keras wheel ships its loss tests (keras/src/losses/losses_test.py,
keras==3.15.1). This module runs that file with ``losses.X`` resolved to
``jaxloss.keras.X`` for every Keras loss class and every Keras loss
function, so every value, weighting, reduction, dtype and config
expectation Keras writes for its own losses is checked on the adapters.
Only the tests that assert a limitation of Keras's JAX backend itself are
expected to fail, listed in ``DIFFERENCES`` with the reason (strictly: a
change that makes them pass must shrink the list).
"""

from __future__ import annotations

import pathlib
import types

import jax
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
  pytest.skip("jaxloss.keras needs KERAS_BACKEND=jax", allow_module_level=True)

from keras.src.losses import losses as keras_losses  # noqa: E402

import jaxloss.keras as jk  # noqa: E402

pytestmark = pytest.mark.slow

_SOURCE = pathlib.Path(keras_losses.__file__).with_name("losses_test.py")
if not _SOURCE.exists():  # pragma: no cover - a wheel without its tests
  pytest.skip("the keras wheel has no losses_test.py", allow_module_level=True)

_IMPORT = "from keras.src.losses import losses\n"


def _shim():
  shim = types.ModuleType("keras_losses_on_jaxloss")
  shim.__dict__.update(vars(keras_losses))
  for name, cls in jk.ADAPTERS.items():
    if isinstance(getattr(keras_losses, name, None), type):
      setattr(shim, name, cls)
  for name, fn in jk.FUNCTIONS.items():
    setattr(shim, name, fn)
  return shim


def _load():
  text = _SOURCE.read_text()
  assert _IMPORT in text, "the layout of Keras's test file changed"
  module = types.ModuleType("keras_losses_test_on_jaxloss")
  module.__dict__["__file__"] = str(_SOURCE)
  module.__dict__["losses"] = _shim()
  exec(
    compile(text.replace(_IMPORT, ""), str(_SOURCE), "exec"), module.__dict__
  )
  return module


_MODULE = _load()

# "Class.test": why the test cannot pass on the adapter.
_AXIS = (
  "Keras's test asserts that its JAX backend raises for a class axis other "
  "than -1 (a limitation of keras.ops on JAX); its torch branch expects "
  "the value, 0.0, which the adapter gives "
  "(tests/test_keras_adapter.py::test_sparse_crossentropy_class_axis)"
)
DIFFERENCES: dict[str, str] = {
  "SparseCategoricalCrossentropyTest."
  "test_binary_segmentation_different_axis": _AXIS,
  "SparseCategoricalCrossentropyTest."
  "test_multi_class_segmentation_different_axis": _AXIS,
}


@pytest.fixture(autouse=True)
def _keras_rank_promotion():
  """Keras's tests rely on NumPy broadcasting ([B] weights on [B, T])."""
  with jax.numpy_rank_promotion("allow"):
    yield


def _mark(cls):
  for test, reason in DIFFERENCES.items():
    owner, method = test.split(".")
    if owner == cls.__name__ and hasattr(cls, method):
      fn = getattr(cls, method)
      setattr(cls, method, pytest.mark.xfail(reason=reason, strict=True)(fn))
  return cls


for _name, _obj in vars(_MODULE).items():
  if (
    isinstance(_obj, type)
    and issubclass(_obj, keras.src.testing.TestCase)
    and _name.endswith("Test")
  ):
    globals()[_name] = _mark(_obj)
