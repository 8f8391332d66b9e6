"""Argument validation: the one home of the library's static checks.

Every check runs in plain Python at trace time (or when a loss object is
constructed) and raises with one message template::

    "<function>: <argument> <expectation>, got <actual>"

Rules shared by every loss:

* A number is an ``int``, a ``float``, a NumPy scalar or a concrete numeric
  array (every element is checked). ``None``, strings and booleans are not
  numbers, and NaN is never in range. Traced values (a hyper-parameter that
  is being learned, or vmapped over) are not checked: their values are not
  known at trace time.
* A flag accepts only ``True`` or ``False`` (``"False"`` is a truthy string,
  ``0`` is an integer).
* A choice is one of a fixed set of strings.
* An integer option (an ignored label, a chunk size) is an ``int`` (a NumPy
  integer is fine), never a bool, a float or a string.

This module imports nothing from the rest of the library, so every layer may
use it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
import functools
import math
import numbers
from typing import Any
from typing import TypeVar
from typing import cast
import warnings

import jax
from jax import core as jax_core
import jax.numpy as jnp
import numpy as np


def _is_tracer(value) -> bool:
  return isinstance(value, jax_core.Tracer)


def _is_bool(value) -> bool:
  return isinstance(value, (bool, np.bool_))


def _elements(caller: str, name: str, value, expectation: str):
  """The numbers in ``value`` as a list, or raises a TypeError."""
  if value is None or isinstance(value, (str, bytes)) or _is_bool(value):
    raise TypeError(f"{caller}: {name} must be {expectation}, got {value!r}")
  if isinstance(value, numbers.Real):
    return [value]
  if isinstance(value, (list, tuple)):
    out = []
    for v in value:
      if _is_tracer(v):
        continue
      out.extend(_elements(caller, name, v, expectation))
    return out
  if isinstance(value, (jax.Array, np.ndarray)):
    array = np.asarray(value)
    if not (
      np.issubdtype(array.dtype, np.integer)
      or np.issubdtype(array.dtype, np.floating)
    ):
      raise TypeError(
        f"{caller}: {name} must be {expectation}, got an array of dtype "
        f"{array.dtype}"
      )
    return array.ravel().tolist()
  raise TypeError(
    f"{caller}: {name} must be {expectation}, got {type(value).__name__}"
  )


def _interval(low, high, low_open, high_open) -> str:
  lo = "(" if low_open else "["
  hi = ")" if high_open else "]"
  lo_s = "-inf" if low is None else low
  hi_s = "inf" if high is None else high
  return f"{lo}{lo_s}, {hi_s}{hi}"


def check_range(
  caller: str,
  name: str,
  value,
  low=None,
  high=None,
  low_open=False,
  high_open=False,
  *,
  optional=False,
):
  """A real number (or concrete array of them) in an interval.

  Args:
    caller: the public function or class the check is for.
    name: the argument's name.
    value: the value to check.
    low, high: the bounds (``None`` for unbounded).
    low_open, high_open: whether the bound itself is excluded.
    optional: whether ``None`` is accepted (it means "off").

  Raises:
    TypeError: for ``None`` (unless ``optional``), strings, booleans and
      other non-numbers.
    ValueError: for NaN or a value outside the interval.
  """
  if value is None and optional:
    return
  if _is_tracer(value):
    return
  interval = _interval(low, high, low_open, high_open)
  expectation = (
    f"a number in {interval}"
    if low is not None or high is not None
    else "a number"
  )
  for v in _elements(caller, name, value, expectation):
    bad = (
      math.isnan(v)
      or (low is not None and (v < low or (low_open and v == low)))
      or (high is not None and (v > high or (high_open and v == high)))
    )
    if bad:
      if low is None and high is None:
        raise ValueError(f"{caller}: {name} must be a number, got {value!r}")
      raise ValueError(f"{caller}: {name} must be in {interval}, got {value!r}")


def number(caller: str, name: str, value, *, optional=False):
  """Any real number (NaN rejected), e.g. a margin that may be negative."""
  check_range(caller, name, value, optional=optional)


def flag(caller: str, name: str, value):
  """``True`` or ``False`` and nothing else."""
  if not isinstance(value, bool):
    raise TypeError(f"{caller}: {name} must be a bool, got {value!r}")


def choice(caller: str, name: str, value, choices: Iterable[str]):
  """One of a fixed set of strings."""
  choices = tuple(choices)
  if not isinstance(value, str) or value not in choices:
    raise ValueError(
      f"{caller}: {name} must be one of {choices}, got {value!r}"
    )


def integer(caller: str, name: str, value, *, low=None, optional=False):
  """A Python or NumPy integer (not a bool), ``>= low`` when given."""
  if value is None and optional:
    return
  if _is_bool(value) or not isinstance(value, numbers.Integral):
    want = "an int or None" if optional else "an int"
    raise TypeError(f"{caller}: {name} must be {want}, got {value!r}")
  if low is not None and value < low:
    raise ValueError(f"{caller}: {name} must be an int >= {low}, got {value!r}")


def positive_integer(caller: str, name: str, value, *, optional=False):
  """A Python or NumPy integer >= 1 (a size: a chunk, a count), not a bool;
  with ``optional``, also ``None`` ("pick one")."""
  if value is None and optional:
    return
  want = "a positive int or None" if optional else "a positive int"
  if _is_bool(value) or not isinstance(value, numbers.Integral):
    raise TypeError(f"{caller}: {name} must be {want}, got {value!r}")
  if value < 1:
    raise ValueError(f"{caller}: {name} must be {want}, got {value!r}")


def _dtype_of(x) -> np.dtype:
  dtype = getattr(x, "dtype", None)
  return np.dtype(np.asarray(x).dtype if dtype is None else dtype)


def axis(caller: str, value, *, name="axis", optional=False, sequence=False):
  """An axis: an int; with ``sequence``, also a sequence of ints; with
  ``optional``, also ``None`` (all axes). Its range is checked against the
  input's rank where the input is read."""
  if value is None and optional:
    return
  if sequence and isinstance(value, (list, tuple)) and value:
    items = value
  else:
    items = (value,)
  for v in items:
    if _is_bool(v) or not isinstance(v, numbers.Integral):
      want = ["an int"]
      if sequence:
        want.append("a sequence of ints")
      if optional:
        want.append("None")
      raise TypeError(
        f"{caller}: {name} must be {' or '.join(want)}, got {value!r}"
      )


def integer_dtype(caller: str, name: str, x):
  """An array of integer class ids (not bool, not floating)."""
  dtype = _dtype_of(x)
  if not np.issubdtype(dtype, np.integer) or dtype == np.bool_:
    raise TypeError(f"{caller}: {name} must have an integer dtype, got {dtype}")


def bool_mask(caller: str, name: str, x):
  """A boolean mask (``where``): an array of dtype bool."""
  dtype = _dtype_of(x)
  if dtype != np.bool_:
    raise TypeError(f"{caller}: {name} must be a boolean mask, got {dtype}")


def binary_mask(caller: str, name: str, x):
  """A mask given as booleans or as 0/1 numbers (a ``completion_mask`` of
  ones and zeros), returned as booleans: a nonzero number counts as True.

  ``x`` is an array; other dtypes (strings, objects) are ``TypeError``s.
  """
  dtype = _dtype_of(x)
  if dtype == np.bool_:
    return x
  numeric = jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(
    dtype, jnp.floating
  )
  if not numeric:
    raise TypeError(
      f"{caller}: {name} must be a boolean or 0/1 numeric mask, got {dtype}"
    )
  return x != 0


# ----------------------------------------------------------------------------
# Static numbers: hyper-parameters the code reads in Python.


def static_number(
  caller: str,
  name: str,
  value,
  low=None,
  high=None,
  low_open=False,
  high_open=False,
):
  """A Python (or NumPy) real scalar, then :func:`check_range`'s interval.

  For hyper-parameters that are read in Python, not traced: a branch on
  ``beta == 1``, a window built from ``filter_sigma``, a regularisation
  factor stored in a hashable object. Arrays, traced values, booleans,
  strings and ``None`` raise a ``TypeError``.
  """
  if _is_bool(value) or not isinstance(value, numbers.Real):
    raise TypeError(f"{caller}: {name} must be a Python number, got {value!r}")
  check_range(caller, name, value, low, high, low_open, high_open)


# ----------------------------------------------------------------------------
# Renamed keywords: the old name stays accepted for a while, with a warning.

_F = TypeVar("_F", bound=Callable[..., Any])


def deprecated_alias(
  renames: dict[str, str], *, caller: str | None = None
) -> Callable[[_F], _F]:
  """A decorator that accepts old keyword names as aliases of new ones.

  ``@deprecated_alias({"ignore_class": "ignore_index"})`` on a function
  (or a class's ``__init__``) lets a caller still pass ``ignore_class=``:
  the call emits a ``DeprecationWarning`` that names both keywords, and the
  value goes on as ``ignore_index``. Passing both raises a ``TypeError``.
  The wrapped callable keeps its name, docstring and (through
  ``__wrapped__``) its signature, which has only the new names, so loss
  objects, stubs and ``inspect.signature`` see the new names alone.

  Args:
    renames: ``{old_name: new_name}`` for each renamed keyword.
    caller: the name used in messages (default: the callable's ``__name__``;
      give the class name when decorating an ``__init__``).

  Returns:
    The decorator.

  Raises:
    TypeError: at call time, when both the old and the new name are given.

  Examples:
    >>> import warnings
    >>> @deprecated_alias({"epsilon": "eps"})
    ... def f(x, *, eps=1e-6):
    ...   return x + eps
    >>> with warnings.catch_warnings(record=True) as caught:
    ...   warnings.simplefilter("always")
    ...   f(1.0, epsilon=1.0)
    2.0
    >>> str(caught[0].message)
    'f: epsilon is deprecated, use eps instead, got epsilon=1.0'
  """
  renames = dict(renames)

  def decorate(func: _F) -> _F:
    label = caller or func.__name__

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
      for old, new in renames.items():
        if old not in kwargs:
          continue
        value = kwargs.pop(old)
        if new in kwargs:
          raise TypeError(
            f"{label}: {old} is a deprecated alias of {new}; pass only "
            f"{new}, got both {old}={value!r} and {new}={kwargs[new]!r}"
          )
        warnings.warn(
          f"{label}: {old} is deprecated, use {new} instead, got "
          f"{old}={value!r}",
          DeprecationWarning,
          stacklevel=2,
        )
        kwargs[new] = value
      return func(*args, **kwargs)

    return cast(_F, wrapper)

  return decorate
