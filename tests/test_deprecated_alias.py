"""The renamed-keyword helper ``validation.deprecated_alias``."""

import dataclasses
import inspect

import numpy as np
import pytest

import jaxloss
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

  C.__init__ = validation.deprecated_alias({"old": "new"}, caller="C")(
    C.__init__
  )
  with pytest.warns(DeprecationWarning, match="C: old is deprecated"):
    assert C(old=3) == C(new=3)


# ----------------------------------------------------- ignore_class -> index

_LABELS = np.array([0, 2, 1])
_LOGITS = np.array(
  [[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 3.0]], np.float32
)


def test_sparse_cce_ignore_class_is_a_deprecated_alias():
  want = jaxloss.sparse_categorical_crossentropy(
    _LABELS, _LOGITS, from_logits=True, ignore_index=2
  )
  # The ignored entry gives 0; the others are logsumexp(z) - z[y] (formula).
  z = _LOGITS.astype(np.float64)
  lse = np.log(np.exp(z).sum(-1))
  ref = lse - z[np.arange(3), _LABELS]
  np.testing.assert_allclose(want, np.where(_LABELS == 2, 0.0, ref), rtol=1e-6)
  with pytest.warns(DeprecationWarning, match="ignore_class is deprecated"):
    got = jaxloss.sparse_categorical_crossentropy(
      _LABELS, _LOGITS, from_logits=True, ignore_class=2
    )
  np.testing.assert_array_equal(got, want)


def test_sparse_cce_object_ignore_class_is_a_deprecated_alias():
  with pytest.warns(
    DeprecationWarning,
    match="SparseCategoricalCrossentropy: ignore_class is deprecated",
  ):
    old = jaxloss.SparseCategoricalCrossentropy(ignore_class=2)
  assert old == jaxloss.SparseCategoricalCrossentropy(ignore_index=2)
  with pytest.raises(TypeError, match="pass only ignore_index"):
    jaxloss.SparseCategoricalCrossentropy(ignore_class=2, ignore_index=2)


def test_keras_form_keeps_keras_name_ignore_class():
  jk = pytest.importorskip("jaxloss.keras")
  loss = jk.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
  assert loss.core == jaxloss.SparseCategoricalCrossentropy(
    from_logits=True, ignore_index=2
  )
  assert loss.get_config()["ignore_class"] == 2
  assert "ignore_index" not in loss.get_config()
  back = jk.from_jaxloss(loss.core)
  assert back.get_config() == loss.get_config()


def test_a_saved_config_with_ignore_class_still_loads():
  config = jaxloss.SparseCategoricalCrossentropy(ignore_index=3).get_config()
  config["ignore_class"] = config.pop("ignore_index")
  with pytest.warns(DeprecationWarning, match="ignore_class is deprecated"):
    again = jaxloss.SparseCategoricalCrossentropy.from_config(config)
  assert again.ignore_index == 3
