"""Loss classes declared in the source: the check of fields against the
function's keyword arguments, registration, and the declared form itself."""

import dataclasses

import jax.numpy as jnp
import pytest

import jaxloss
from jaxloss._src import objects


def _scaled_abs(y_true, y_pred, *, scale=1.0, power=2, mode="sum"):
  del mode
  return scale * jnp.sum(jnp.abs(y_pred - y_true) ** power, axis=-1)


def _declare(fields, **keywords):
  """A class body with ``fields`` (name -> default), made like a class
  statement does, with registration off so tests leave no trace."""
  annotations = {name: "float" for name in fields}
  namespace = {"__annotations__": annotations, **fields}
  return type(
    "_Declared",
    (objects.Loss,),
    namespace,
    fn=_scaled_abs,
    register=False,
    **keywords,
  )


def test_declared_class_matching_its_function():
  cls = _declare({"scale": 1.0, "power": 2, "mode": "sum"})
  obj = cls(scale=2.0)
  assert [f.name for f in dataclasses.fields(cls)] == [
    "reduction",
    "name",
    "dtype",
    "scale",
    "power",
    "mode",
  ]
  assert obj.name == "_scaled_abs" and cls.inputs == ("y_true", "y_pred")
  assert float(obj(jnp.zeros((2, 3)), jnp.ones((2, 3)))) == 6.0
  assert "_Declared" not in jaxloss.names()


@pytest.mark.parametrize(
  "fields, message",
  [
    ({"scale": 1.0, "power": 2}, r"in order, \['scale', 'power', 'mode'\]"),
    ({"power": 2, "scale": 1.0, "mode": "sum"}, "in order"),
    ({"scale": 1.0, "power": 2, "mode": "sum", "extra": 0.0}, "in order"),
    ({"scale": 2.0, "power": 2, "mode": "sum"}, "field scale must default"),
    # 2 == 2.0 in Python, but the default's type is part of the contract.
    ({"scale": 1.0, "power": 2.0, "mode": "sum"}, "field power must default"),
    ({"scale": 1.0, "power": 2, "mode": "mean"}, "field mode must default"),
  ],
)
def test_fields_must_match_the_function(fields, message):
  with pytest.raises(TypeError, match=message):
    _declare(fields)


def test_exclude_and_keyword_inputs_are_not_fields():
  cls = _declare({"scale": 1.0, "power": 2}, exclude=("mode",))
  assert cls.hyper_parameter_names() == ("scale", "power")
  with pytest.raises(TypeError, match="keyword_inputs must name keyword-only"):
    _declare({"scale": 1.0, "power": 2}, keyword_inputs=("y_true",))


def test_loss_classes_behave_as_frozen_keyword_only_dataclasses():
  """The dataclass methods are written once on ``Loss`` (not generated per
  class); each class still behaves as a frozen, keyword-only dataclass."""
  import inspect

  obj = jaxloss.Huber(delta=2.0)
  assert dataclasses.is_dataclass(obj)
  assert dataclasses.asdict(obj) == {
    "reduction": "sum_over_batch_size",
    "name": "huber_loss",
    "dtype": None,
    "delta": 2.0,
  }
  assert repr(obj) == (
    "Huber(reduction='sum_over_batch_size', name='huber_loss', dtype=None, "
    "delta=2.0)"
  )
  assert dataclasses.replace(obj, delta=3.0) == jaxloss.Huber(delta=3.0)
  assert obj == jaxloss.Huber(delta=2.0) and obj != jaxloss.Huber()
  assert hash(obj) == hash(jaxloss.Huber(delta=2.0))
  assert obj != jaxloss.LogCosh() and obj != "Huber"
  with pytest.raises(dataclasses.FrozenInstanceError):
    obj.delta = 3.0  # pyright: ignore[reportAttributeAccessIssue]
  with pytest.raises(dataclasses.FrozenInstanceError):
    del obj.delta  # pyright: ignore[reportAttributeAccessIssue]
  with pytest.raises(TypeError, match="unexpected keyword argument 'delt'"):
    jaxloss.Huber(delt=2.0)  # pyright: ignore[reportCallIssue]
  with pytest.raises(TypeError, match="positional"):
    jaxloss.Huber(2.0)  # pyright: ignore[reportCallIssue]
  # The class's signature is its constructor's; an object's is its call's.
  assert str(inspect.signature(jaxloss.Huber)) == (
    "(*, reduction: 'str | None' = 'sum_over_batch_size', name: 'str | "
    "None' = None, dtype: 'Any' = None, delta: 'float | jax.Array' = 1.0)"
  )
  assert "sample_weight" in inspect.signature(obj).parameters


def test_every_registered_class_is_declared_in_its_module():
  """Go-to-definition on a class lands on a class statement in the module
  that defines its function."""
  import inspect

  for name, cls in objects.classes().items():
    if cls is objects.LossFunctionWrapper:
      continue
    source = inspect.getsource(cls)
    assert source.lstrip().startswith(f"class {name}("), name
    assert inspect.getmodule(cls) is inspect.getmodule(cls.fn), name


def test_documented_usages_run():
  # The file pyright checks (`make typecheck`) also runs as written.
  from tests.typecheck import documented_usage  # noqa: PLC0415

  documented_usage.main()


def test_optax_is_a_lazy_attribute():
  assert jaxloss.optax.softmax_cross_entropy is not None
