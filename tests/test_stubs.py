"""The checked-in type stub matches the registry, and the documented usages
that pyright checks run as written."""

from __future__ import annotations

import inspect

import jaxloss
from jaxloss._src import objects
from tests.typecheck import documented_usage
from tools import gen_stubs


def test_stub_is_up_to_date():
  # After adding or changing a loss: `python -m tools.gen_stubs`.
  assert gen_stubs.STUB.read_text() == gen_stubs.render()


def test_every_generated_stub_is_up_to_date():
  # The Flax and Keras forms' stubs too (`python -m tools.gen_stubs --check`).
  for path, text in gen_stubs.rendered().items():
    assert path.read_text() == text, path.relative_to(gen_stubs.ROOT)


def test_stub_declares_every_class_with_its_fields():
  text = gen_stubs.STUB.read_text()
  for name, cls in objects.classes().items():
    if cls is objects.LossFunctionWrapper:
      continue
    assert f"\nclass {name}(Loss):" in text, name
    for field in cls.hyper_parameter_names():
      default = inspect.signature(cls).parameters[field].default
      assert f" {field}: " in text and f"= {default!r}" in text, (name, field)


def test_documented_usages_run():
  documented_usage.main()


def test_optax_is_a_lazy_attribute():
  assert jaxloss.optax.softmax_cross_entropy is not None
