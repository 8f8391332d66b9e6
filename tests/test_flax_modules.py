"""The generic Flax loss module (linen + nnx) around every loss object,
the deprecated per-loss forms, and the optional flax extra."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")

from jaxloss._src import objects  # noqa: E402
from jaxloss.flax import linen as jl  # noqa: E402
from jaxloss.flax import nnx as jn  # noqa: E402
from tests.specs import all_specs  # noqa: E402

CLASSES = sorted(n for n in objects._CLASSES if n != "LossFunctionWrapper")
SPECS = [s for s in all_specs() if s.cls is not None]


def test_per_loss_forms_are_deprecated_but_still_work():
  # One release of grace for ``jaxloss.flax.linen.Huber`` and friends: each
  # access warns and names the generic LossModule.
  assert len(CLASSES) > 20
  for name in ("Huber", "CoxPH"):
    cls = objects._CLASSES[name]
    for kind in (jl, jn):
      with pytest.warns(DeprecationWarning, match=r"LossModule\(jaxloss\."):
        form = getattr(kind, name)
      assert form.__name__ == name
    hyper = set(cls.hyper_parameter_names()) | {"reduction", "dtype"}
    assert hyper <= set(form_fields(name))
  with pytest.warns(DeprecationWarning, match="modules"):
    assert set(jl.modules()) == set(CLASSES)
  # Not listed: a star import or dir() shows only the generic pieces.
  assert "Huber" not in dir(jl) and "Huber" not in jn.__all__
  with pytest.raises(AttributeError):
    jl.NotALoss  # noqa: B018
  y = jnp.ones((2, 3))
  with pytest.warns(DeprecationWarning):
    np.testing.assert_allclose(jl.Huber(delta=0.5).apply({}, y, 2 * y), 0.375)


def form_fields(name):
  with pytest.warns(DeprecationWarning):
    return getattr(jl, name)._loss_fields


def test_late_registered_class_works_in_loss_module():
  def _cube(y_true, y_pred, *, k=1.0):
    return k * jnp.sum((y_pred - y_true) ** 3, axis=-1)

  class _TestCube(objects.Loss, fn=_cube, register=False):
    k: float = 1.0

  y = jnp.ones((2, 3))
  assert float(jl.LossModule(_TestCube(k=2.0)).apply({}, y, 2 * y)) == 6.0
  assert float(jn.LossModule(_TestCube(k=2.0))(y, 2 * y)) == 6.0


def _one_spec_per_class():
  seen, out = set(), []
  for spec in SPECS:
    if spec.cls not in seen:
      seen.add(spec.cls)
      out.append(spec)
  return out


_FAST = (
  "Huber",
  "CategoricalCrossentropy",
  "SparseCategoricalCrossentropy",
  "Dice",
  "Circle",
  "CTC",
  "ArcFace",
)


def test_modules_equal_loss_objects_on_some_classes():
  specs = [s for s in _one_spec_per_class() if s.cls.__name__ in _FAST]
  assert len(specs) >= 5
  _check_modules_equal_objects(specs)


@pytest.mark.slow
def test_modules_equal_loss_objects_on_every_class():
  specs = _one_spec_per_class()
  assert len(specs) > 20
  _check_modules_equal_objects(specs)


def _check_modules_equal_objects(specs):
  # One jit per class: the object, the linen and the nnx module agree.
  rng = np.random.default_rng(0)
  for spec in specs:
    inputs = tuple(
      np.asarray(x, np.float32)
      if np.issubdtype(np.asarray(x).dtype, np.floating)
      else np.asarray(x)
      for x in spec.make_inputs(rng, 3)
    )
    kwargs = {
      k: v
      for k, v in spec.kwargs.items()
      if k in spec.cls.hyper_parameter_names()
    }

    @jax.jit
    def all_three(*inputs, kwargs=kwargs, cls=spec.cls):
      obj = cls(reduction="none", **kwargs)(*inputs)
      loss = cls(reduction="none", **kwargs)
      lin = jl.LossModule(loss).apply({}, *inputs)
      nx = jn.LossModule(loss)(*inputs)
      return obj, lin, nx

    want, got_l, got_n = all_three(*inputs)
    np.testing.assert_array_equal(got_l, want, err_msg=spec.name)
    np.testing.assert_array_equal(got_n, want, err_msg=spec.name)


def test_sample_weight_and_loss_module():
  import jaxloss

  y_true = jnp.zeros((2, 2))
  y_pred = jnp.array([[1.0, 1.0], [3.0, 3.0]])
  w = jnp.array([1.0, 0.0])
  want = jaxloss.MeanSquaredError()(y_true, y_pred, sample_weight=w)
  assert float(want) == 0.5
  np.testing.assert_allclose(
    jl.LossModule(loss=jaxloss.MeanSquaredError()).apply(
      {}, y_true, y_pred, sample_weight=w
    ),
    want,
  )
  np.testing.assert_allclose(
    jn.LossModule(jaxloss.MeanSquaredError())(y_true, y_pred, sample_weight=w),
    want,
  )


_HIDE_FLAX = r"""
import sys
class Block:
  def find_spec(self, name, path=None, target=None):
    if name == "flax" or name.startswith("flax."):
      raise ImportError("flax hidden for this test")
sys.meta_path.insert(0, Block())
import jaxloss
assert jaxloss.MeanSquaredError()([[0.0]], [[1.0]]) == 1.0
try:
  import jaxloss.flax
except ImportError as e:
  print("IMPORT-ERROR:", e)
"""


def test_flax_is_an_optional_extra():
  out = subprocess.run(
    [sys.executable, "-c", _HIDE_FLAX],
    capture_output=True,
    text=True,
    timeout=120,
    env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PATH": ""},
  )
  assert out.returncode == 0, out.stderr
  assert "IMPORT-ERROR:" in out.stdout
  assert "pip install jaxloss[flax]" in out.stdout
