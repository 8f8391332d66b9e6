"""The renamed-keyword helper ``validation.deprecated_alias``."""

import dataclasses
import inspect

import pytest

from jaxloss._src import validation


@validation.deprecated_alias({"old": "new"})
def _f(x, *, new=1):
  return x + new


def test_new_name_no_warning():
  assert _f(1, new=2) == 3
  assert _f(1) == 2


def test_old_name_warns_and_maps():
  with pytest.warns(DeprecationWarning, match="_f: old is deprecated, use new"):
    assert _f(1, old=5) == 6


def test_both_names_raise():
  with pytest.raises(TypeError, match="_f: old is a deprecated alias of new"):
    _f(1, old=5, new=2)


def test_signature_and_name_are_the_new_ones():
  assert list(inspect.signature(_f).parameters) == ["x", "new"]
  assert _f.__name__ == "_f"


def test_on_a_dataclass_init_with_a_label():
  @dataclasses.dataclass(frozen=True, kw_only=True)
  class C:
    new: int = 0

  C.__init__ = validation.deprecated_alias({"old": "new"}, fn="C")(C.__init__)
  with pytest.warns(DeprecationWarning, match="C: old is deprecated"):
    assert C(old=3) == C(new=3)
