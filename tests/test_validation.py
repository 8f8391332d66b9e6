"""Argument validation: the shared checks, and that every loss uses them.

Three parts:

* the helpers of ``jaxloss._src.validation`` (numbers, flags, integers,
  choices, axes, label and mask dtypes), message by message;
* the cases that used to slip through (NaN in a range check, strings or
  ``None`` as options, a negative focal ``alpha``, a non-integer
  ``ignore_index``), on the functions (eagerly and under ``jit``) and on the
  loss objects (at construction);
* a sweep over every registered loss class: each numeric, boolean or
  axis hyper-parameter rejects a wrong value when the object is built, with
  a message naming the class and the argument.
"""

from __future__ import annotations

import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src import objects
from jaxloss._src import validation

NAN = float("nan")


def _raises(exc, *parts):
  return pytest.raises(exc, match=".*".join(re.escape(p) for p in parts))


# ------------------------------------------------------------ the helpers


def test_check_range_accepts_in_range_numbers_and_arrays():
  validation.check_range("f", "a", 0.5, 0.0, 1.0)
  validation.check_range("f", "a", 1, 0.0, 1.0)
  validation.check_range("f", "a", np.float32(0.25), 0.0, 1.0)
  validation.check_range("f", "a", np.array([0.0, 1.0]), 0.0, 1.0)
  validation.check_range("f", "a", jnp.array([0.0, 1.0]), 0.0, 1.0)
  validation.check_range("f", "a", [0.2, 0.3], 0.0, 1.0)
  validation.check_range("f", "a", None, 0.0, 1.0, optional=True)
  validation.check_range("f", "a", float("inf"), low=0.0)


@pytest.mark.parametrize(
  "value",
  [NAN, np.float32(NAN), np.array([0.5, NAN]), jnp.array([NAN]), [0.5, NAN]],
)
def test_check_range_rejects_nan(value):
  with _raises(ValueError, "f: a must be in [0.0, 1.0], got"):
    validation.check_range("f", "a", value, 0.0, 1.0)


def test_check_range_message_names_the_interval():
  with _raises(ValueError, "f: a must be in (0.0, inf], got -1.0"):
    validation.check_range("f", "a", -1.0, low=0.0, low_open=True)
  with _raises(ValueError, "f: a must be in [-inf, 1.0), got 1.0"):
    validation.check_range("f", "a", 1.0, high=1.0, high_open=True)
  with _raises(ValueError, "f: a must be a number, got nan"):
    validation.number("f", "a", NAN)


@pytest.mark.parametrize(
  "value",
  [None, "0.5", True, np.bool_(False), b"1", np.array([True]), object()],
)
def test_check_range_rejects_non_numbers(value):
  with _raises(TypeError, "f: a must be a number in [0.0, 1.0], got"):
    validation.check_range("f", "a", value, 0.0, 1.0)


def test_check_range_skips_traced_values():
  def f(a):
    validation.check_range("f", "a", a, 0.0, 1.0)
    return a

  assert float(jax.jit(f)(5.0)) == 5.0


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None, np.bool_(True)])
def test_flag_accepts_only_bool(value):
  validation.flag("f", "b", True)
  validation.flag("f", "b", False)
  with _raises(TypeError, "f: b must be a bool, got"):
    validation.flag("f", "b", value)


def test_integer_and_choice_and_axis():
  validation.integer("f", "i", 3)
  validation.integer("f", "i", np.int64(3))
  validation.integer("f", "i", None, optional=True)
  for bad in (1.5, "1", True, None):
    with _raises(TypeError, "f: i must be an int, got"):
      validation.integer("f", "i", bad)
  with _raises(ValueError, "f: i must be an int >= 1, got 0"):
    validation.integer("f", "i", 0, low=1)
  validation.choice("f", "c", "linear", ("linear", "quadratic"))
  with _raises(
    ValueError, "f: c must be one of ('linear', 'quadratic'), got 'Linear'"
  ):
    validation.choice("f", "c", "Linear", ("linear", "quadratic"))
  validation.axis("f", -1)
  validation.axis("f", (0, 1), sequence=True)
  validation.axis("f", None, optional=True)
  with _raises(TypeError, "f: axis must be an int, got 1.0"):
    validation.axis("f", 1.0)
  with _raises(
    TypeError, "f: axis must be an int or a sequence of ints or None, got '1'"
  ):
    validation.axis("f", "1", optional=True, sequence=True)


def test_static_number_refuses_arrays_and_traced_values():
  validation.static_number("f", "s", 1.5, low=0.0, low_open=True)
  validation.static_number("f", "s", 2)
  validation.static_number("f", "s", np.float32(0.5), 0.0, 1.0)
  for bad in (np.array(1.0), jnp.array(1.0), [1.0], "1", None, True):
    with _raises(TypeError, "f: s must be a Python number, got"):
      validation.static_number("f", "s", bad)
  with _raises(ValueError, "f: s must be in (0.0, inf], got 0.0"):
    validation.static_number("f", "s", 0.0, low=0.0, low_open=True)
  with _raises(ValueError, "f: s must be a number, got nan"):
    validation.static_number("f", "s", NAN)

  def f(s):
    validation.static_number("f", "s", s)
    return s

  with _raises(TypeError, "f: s must be a Python number, got"):
    jax.jit(f)(1.0)


def test_label_and_mask_dtypes():
  validation.integer_dtype("f", "labels", np.array([1, 2]))
  for bad in (np.array([1.0]), np.array([True])):
    with _raises(TypeError, "f: labels must have an integer dtype, got"):
      validation.integer_dtype("f", "labels", bad)
  validation.bool_mask("f", "where", jnp.array([True]))
  with _raises(TypeError, "f: where must be a boolean mask, got int"):
    validation.bool_mask("f", "where", np.array([1]))


# -------------------------------------------- cases that used to slip by

PROBS = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], np.float32)
ONE_HOT = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], np.float32)
SPARSE = np.array([2, 0])
EMB = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
EMB_LABELS = np.array([0, 0, 1])

# (function, inputs, argument, bad value, error, expectation)
FUNCTION_CASES = [
  (
    jaxloss.binary_crossentropy,
    (ONE_HOT, PROBS),
    "label_smoothing",
    NAN,
    ValueError,
    "must be in [0.0, 1.0]",
  ),
  (
    jaxloss.binary_focal_crossentropy,
    (ONE_HOT, PROBS),
    "gamma",
    NAN,
    ValueError,
    "must be in [0.0, inf]",
  ),
  (
    jaxloss.binary_focal_crossentropy,
    (ONE_HOT, PROBS),
    "alpha",
    NAN,
    ValueError,
    "must be in [0.0, 1.0]",
  ),
  (
    jaxloss.huber,
    (ONE_HOT, PROBS),
    "delta",
    NAN,
    ValueError,
    "must be in (0, inf]",
  ),
  (
    jaxloss.tversky,
    (ONE_HOT, PROBS),
    "alpha",
    NAN,
    ValueError,
    "must be in [0.0, inf]",
  ),
  (
    jaxloss.categorical_crossentropy,
    (ONE_HOT, PROBS),
    "label_smoothing",
    None,
    TypeError,
    "must be a number in [0.0, 1.0]",
  ),
  (
    jaxloss.binary_focal_crossentropy,
    (ONE_HOT, PROBS),
    "gamma",
    None,
    TypeError,
    "must be a number in [0.0, inf]",
  ),
  (
    jaxloss.binary_focal_crossentropy,
    (ONE_HOT, PROBS),
    "apply_class_balancing",
    "False",
    TypeError,
    "must be a bool",
  ),
  (
    jaxloss.categorical_focal_crossentropy,
    (ONE_HOT, PROBS),
    "alpha",
    -1,
    ValueError,
    "must be in [0.0, inf]",
  ),
  (
    jaxloss.sparse_categorical_crossentropy,
    (SPARSE, PROBS),
    "ignore_index",
    1.5,
    TypeError,
    "must be an int or None",
  ),
  (
    jaxloss.sparse_categorical_crossentropy,
    (SPARSE, PROBS),
    "ignore_index",
    "1",
    TypeError,
    "must be an int or None",
  ),
  (
    jaxloss.triplet_margin_loss,
    (EMB, EMB, EMB),
    "swap",
    "False",
    TypeError,
    "must be a bool",
  ),
  (
    jaxloss.triplet_margin_loss,
    (EMB, EMB, EMB),
    "margin",
    NAN,
    ValueError,
    "must be a number",
  ),
  (
    jaxloss.triplet_hard_loss,
    (EMB_LABELS, EMB),
    "soft",
    "False",
    TypeError,
    "must be a bool",
  ),
  (
    jaxloss.circle,
    (EMB_LABELS, EMB),
    "remove_diagonal",
    "False",
    TypeError,
    "must be a bool",
  ),
  (
    jaxloss.hinge_embedding,
    (ONE_HOT, PROBS),
    "margin",
    NAN,
    ValueError,
    "must be a number",
  ),
]


@pytest.mark.parametrize(
  "fn, inputs, arg, bad, exc, expectation",
  FUNCTION_CASES,
  ids=[f"{c[0].__name__}-{c[2]}={c[3]!r}" for c in FUNCTION_CASES],
)
def test_function_rejects(fn, inputs, arg, bad, exc, expectation):
  parts = (f"{fn.__name__}: {arg} {expectation}", "got")
  with _raises(exc, *parts):
    fn(*inputs, **{arg: bad})
  with _raises(exc, *parts):
    jax.jit(lambda *x: fn(*x, **{arg: bad}))(*inputs)


@pytest.mark.parametrize(
  "cls, kwargs, exc, parts",
  [
    (
      jaxloss.Huber,
      {"delta": -1.0},
      ValueError,
      ("Huber: huber: delta must be in (0, inf], got -1.0",),
    ),
    (
      jaxloss.Huber,
      {"delta": NAN},
      ValueError,
      ("Huber: huber: delta must be in (0, inf], got nan",),
    ),
    (
      jaxloss.SparseCategoricalCrossentropy,
      {"ignore_index": 1.5},
      TypeError,
      (
        "SparseCategoricalCrossentropy: sparse_categorical_crossentropy: "
        "ignore_index must be an int or None",
        "got 1.5",
      ),
    ),
    (
      jaxloss.SparseCategoricalCrossentropy,
      {"ignore_index": "1"},
      TypeError,
      (
        "SparseCategoricalCrossentropy: sparse_categorical_crossentropy: "
        "ignore_index must be an int or None",
        "got '1'",
      ),
    ),
    (
      jaxloss.CategoricalFocalCrossentropy,
      {"alpha": -1},
      ValueError,
      (
        "CategoricalFocalCrossentropy: categorical_focal_crossentropy: alpha "
        "must be in [0.0, inf], got -1",
      ),
    ),
    (
      jaxloss.CategoricalCrossentropy,
      {"label_smoothing": None},
      TypeError,
      (
        "CategoricalCrossentropy: categorical_crossentropy: label_smoothing "
        "must be a number",
        "got None",
      ),
    ),
    (
      jaxloss.BinaryFocalCrossentropy,
      {"apply_class_balancing": "False"},
      TypeError,
      (
        "BinaryFocalCrossentropy: binary_focal_crossentropy: "
        "apply_class_balancing must be a bool, got 'False'",
      ),
    ),
    (
      jaxloss.CategoricalCrossentropy,
      {"dtype": "not-a-dtype"},
      TypeError,
      ("CategoricalCrossentropy: dtype must be a dtype or None",),
    ),
    (
      jaxloss.Huber,
      {"name": 3},
      TypeError,
      ("Huber: name must be a str or None, got 3",),
    ),
    (
      jaxloss.Huber,
      {"reduction": "avg"},
      ValueError,
      ("Huber: reduction must be",),
    ),
  ],
)
def test_object_rejects_at_construction(cls, kwargs, exc, parts):
  with _raises(exc, *parts):
    cls(**kwargs)


def test_object_accepts_array_hyper_parameters():
  loss = jaxloss.CategoricalFocalCrossentropy(alpha=jnp.array([0.2, 0.3, 0.5]))
  assert np.isfinite(float(loss(ONE_HOT, PROBS)))
  with _raises(
    ValueError,
    "CategoricalFocalCrossentropy: "
    "categorical_focal_crossentropy: alpha must be in [0.0, inf]",
  ):
    jaxloss.CategoricalFocalCrossentropy(alpha=np.array([0.2, -0.3, 0.5]))


def test_construction_checks_traced_hyper_parameters_lazily():
  # A traced hyper-parameter cannot be checked; building the object inside a
  # transformation must still work.
  def f(delta):
    return jaxloss.Huber(delta=delta)(ONE_HOT, PROBS)

  assert np.isfinite(float(jax.jit(f)(0.5)))


# ------------------------------------------- every registered loss class

CLASSES = sorted(
  (name, cls)
  for name, cls in objects.classes().items()
  if cls is not objects.LossFunctionWrapper
)


def _bad_values(default):
  if isinstance(default, bool):
    return [("False", TypeError), (1, TypeError), (None, TypeError)]
  if isinstance(default, int):  # an integer option (axis, p): NaN is no int
    return [
      (NAN, TypeError),
      (None, TypeError),
      ("1", TypeError),
      (True, TypeError),
      (1.5, TypeError),
    ]
  if isinstance(default, float):
    return [
      (NAN, ValueError),
      (None, TypeError),
      ("1", TypeError),
      (True, TypeError),
    ]
  return []


def _accepts_none(cls, field):
  """Whether the field's annotation says None is a value (``float | None``,
  e.g. a focal ``alpha`` that None switches off)."""
  for klass in cls.__mro__:
    annotation = getattr(klass, "__annotations__", {}).get(field)
    if annotation is not None:
      return "None" in str(annotation)
  return False


SWEEP = []
for _name, _cls in CLASSES:
  _params = inspect.signature(_cls).parameters
  for _field in _cls.hyper_parameter_names():
    for _bad, _exc in _bad_values(_params[_field].default):
      if _bad is None and _accepts_none(_cls, _field):
        continue
      SWEEP.append((_cls, _field, _bad, _exc))


def test_every_class_constructs_with_its_defaults():
  assert len(CLASSES) > 50
  for _, cls in CLASSES:
    cls()


def test_sweep_covers_flags_and_numbers():
  fields = {(c.__name__, f) for c, f, _, _ in SWEEP}
  for expected in [
    ("Huber", "delta"),
    ("TripletMarginLoss", "swap"),
    ("BinaryFocalCrossentropy", "apply_class_balancing"),
    ("CategoricalFocalCrossentropy", "alpha"),
    ("RobustLoss", "alpha"),
    ("CosineSimilarity", "axis"),
  ]:
    assert expected in fields or expected[0] not in dict(CLASSES), expected


@pytest.mark.parametrize(
  "cls, field, bad, exc",
  SWEEP,
  ids=[f"{c.__name__}-{f}={b!r}" for c, f, b, _ in SWEEP],
)
def test_every_hyper_parameter_is_checked_at_construction(cls, field, bad, exc):
  with _raises(exc, f"{cls.__name__}: ", f": {field} must", "got"):
    cls(**{field: bad})
