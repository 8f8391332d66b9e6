"""A checked debug mode: value checks that report under ``jit``.

The default path of every loss checks only what is known at trace time
(shapes, dtypes, static hyper-parameters): a value-dependent check cannot
raise inside ``jit``. :func:`checked` wraps a loss with value checks built on
:mod:`jax.experimental.checkify`: the wrapped function returns a checkify
``Error`` next to its result, under ``jit``, ``vmap`` or eagerly, and
``error.throw()`` raises with a message naming the loss, the argument, the
check that failed and the first offending position.

Checks, in order (the first failure is reported, so a NaN in an input is
reported as such, not as the NaN loss it causes):

1. every floating input (and ``sample_weight``) is finite, and no floating
   hyper-parameter is NaN;
2. loss-specific domains: the class (or token) ids of every loss that takes
   them in ``[0, num_classes)`` (except ``ignore_index``), probabilities in
   ``[0, 1]`` and, for the categorical losses from probabilities, rows
   summing to 1; targets in ``[0, 1]`` for the binary and categorical
   cross-entropies; ``var >= 0`` for ``gaussian_nll``;
3. the loss values are finite;
4. with ``argnums``: the gradients are finite.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import functools
import inspect
from typing import Any

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import objects

_BECAUSE = "every input passed its checks"
# Tolerance of the row-sum check, relative to the compute dtype's epsilon.
_SUM_TOLERANCE_EPS = 64


def _checkify():
  """``jax.experimental.checkify``, imported on first use: it is only needed
  once a loss is wrapped, and importing it costs ``import jaxloss`` about
  10 ms."""
  from jax.experimental import checkify  # noqa: PLC0415

  return checkify


def _describe(
  loss,
) -> tuple[str, Callable[..., Any], tuple[str, ...], dict[str, Any]]:
  """(label for messages, the loss function, input names,
  hyper-parameters)."""
  if isinstance(loss, objects.LossFunctionWrapper):
    fn = loss.function
    names = _positional_names(fn)
    assert fn is not None  # wrap() always holds a function
    return (
      type(loss).__name__ + f"({loss.name})",
      fn,
      names,
      loss.hyper_parameters(),
    )
  if isinstance(loss, objects.Loss):
    fn = type(loss).fn
    return (
      type(loss).__name__,
      fn,
      type(loss).inputs,
      loss.hyper_parameters(),
    )
  if isinstance(loss, functools.partial) and not loss.args:
    name = getattr(loss.func, "__name__", "loss")
    params = {**_keyword_defaults(loss.func), **loss.keywords}
    return name, loss.func, _positional_names(loss.func), params
  if not callable(loss):
    raise TypeError(
      f"checked: loss must be a loss object, a loss function or a name, "
      f"got {type(loss).__name__}"
    )
  name = getattr(loss, "__name__", type(loss).__name__)
  return name, loss, _positional_names(loss), _keyword_defaults(loss)


def _keyword_defaults(fn) -> dict[str, Any]:
  """The defaults of ``fn``'s keyword-only options (``ignore_index=-100``)."""
  try:
    params = inspect.signature(fn).parameters.values()
  except (TypeError, ValueError):
    return {}
  return {
    p.name: p.default
    for p in params
    if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
  }


def _positional_names(fn) -> tuple[str, ...]:
  try:
    params = inspect.signature(fn).parameters.values()
  except (TypeError, ValueError):
    return ()
  return tuple(
    p.name
    for p in params
    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
  )


def _first(bad):
  """Count and first flat index of the True entries of ``bad``."""
  flat = jnp.ravel(bad)
  return jnp.sum(flat), jnp.argmax(flat)


def _check_finite(label, name, x):
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
    return
  bad = ~jnp.isfinite(x)
  count, index = _first(bad)
  _checkify().check(
    count == 0,
    f"{label}: {name} must be finite, got {{count}} NaN/inf entries of "
    f"{x.size}, the first at flat index {{index}} of shape "
    f"{tuple(x.shape)} (value {{value}})",
    count=count,
    index=index,
    value=jnp.ravel(x)[index],
  )


def _check_result(label, what, x, because):
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
    return
  count, index = _first(~jnp.isfinite(x))
  _checkify().check(
    count == 0,
    f"{label}: {what} is NaN/inf although {because}: {{count}} entries of "
    f"{x.size}, the first at flat index {{index}} of shape "
    f"{tuple(x.shape)} (value {{value}})",
    count=count,
    index=index,
    value=jnp.ravel(x)[index],
  )


def _check_hyper_parameters(label, params):
  """A NaN hyper-parameter (float or array) makes every value NaN."""
  for name, v in params.items():
    if isinstance(v, bool) or v is None or callable(v):
      continue
    if isinstance(v, (float, int, jax.Array)) or hasattr(v, "dtype"):
      x = jnp.asarray(v)
      if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
        continue
      count, index = _first(jnp.isnan(x))
      _checkify().check(
        count == 0,
        f"{label}: hyper-parameter {name} must not be NaN, got {{count}} "
        f"NaN entries of {x.size}",
        count=count,
      )


def _check_interval(label, name, x, what):
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
    return
  bad = (x < 0) | (x > 1)
  count, index = _first(bad)
  _checkify().check(
    count == 0,
    f"{label}: {name} must hold {what} in [0, 1], got {{count}} entries "
    f"outside, the first at flat index {{index}} of shape "
    f"{tuple(x.shape)} (value {{value}})",
    count=count,
    index=index,
    value=jnp.ravel(x)[index],
  )


def _check_nonnegative(label, name, x):
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
    return
  count, index = _first(x < 0)
  _checkify().check(
    count == 0,
    f"{label}: {name} must be >= 0, got {{count}} negative entries, the "
    f"first at flat index {{index}} of shape {tuple(x.shape)} "
    f"(value {{value}})",
    count=count,
    index=index,
    value=jnp.ravel(x)[index],
  )


def _check_rows_sum_to_one(label, name, x, axis):
  x = jnp.asarray(x)
  if not jnp.issubdtype(x.dtype, jnp.inexact) or x.size == 0:
    return
  compute = jnp.promote_types(x.dtype, jnp.float32)
  sums = jnp.sum(x.astype(compute), axis=axis)
  tol = _SUM_TOLERANCE_EPS * jnp.finfo(x.dtype).eps
  bad = jnp.abs(sums - 1) > tol * jnp.maximum(x.shape[axis], 1)
  count, index = _first(bad)
  _checkify().check(
    count == 0,
    f"{label}: {name} must hold probability rows summing to 1 along axis "
    f"{axis}, got {{count}} rows that do not, the first at flat row "
    f"{{index}} (sum {{total}})",
    count=count,
    index=index,
    total=jnp.ravel(sums)[index],
  )


def _check_labels(label, name, labels, num_classes, ignore_index, live=None):
  labels = jnp.asarray(labels)
  if labels.size == 0 or not jnp.issubdtype(labels.dtype, jnp.number):
    return
  if jnp.issubdtype(labels.dtype, jnp.integer):
    bad = numerics.ids_outside(labels, num_classes, ignore_index)
  else:
    bad = numerics.ids_outside(labels, num_classes, ignore_index) | (
      labels != jnp.round(labels)
    )
  if live is not None:
    bad = bad & live
  count, index = _first(bad)
  _checkify().check(
    count == 0,
    f"{label}: {name} must hold class ids in [0, {num_classes}), got "
    f"{{count}} entries outside, the first at flat index {{index}} "
    f"(value {{value}})",
    count=count,
    index=index,
    value=jnp.ravel(labels)[index],
  )


def _id_checks(label, ids_domain, inputs, params):
  """The class-id range check of a loss that declared its ids."""
  ids_name, size_name = ids_domain.ids, ids_domain.sized
  ids = inputs.get(ids_name, params.get(ids_name))
  sized = inputs.get(size_name, params.get(size_name))
  if not (_is_array_like(ids) and _is_array_like(sized)):
    return  # absent, or not an array (a sampling rule)
  size_axis = ids_domain.axis
  if size_axis == "axis":
    size_axis = params.get("axis", -1)
  if not isinstance(size_axis, int):
    return
  sized = jnp.asarray(sized)
  if not sized.ndim:
    return
  num_classes = sized.shape[size_axis]
  if ids_domain.sharded:
    num_classes = num_classes * lax.axis_size(params["axis_name"])
  if ids_domain.per is not None:
    num_classes = num_classes // int(params[ids_domain.per])
  ids = jnp.asarray(ids)
  live = None
  lengths = inputs.get(ids_domain.lengths or "")
  if lengths is not None:
    steps = jnp.arange(ids.shape[-1]).reshape((1,) * (ids.ndim - 1) + (-1,))
    live = steps < jnp.asarray(lengths)[..., None]
  mask = params.get(ids_domain.where or "")
  if mask is not None:
    mask = jnp.asarray(mask, bool)
    live = mask.reshape(mask.shape + (1,) * (ids.ndim - mask.ndim))
  ignore = ids_domain.ignore
  if isinstance(ignore, str):
    # A partial may still spell it ignore_class (the deprecated alias).
    alias = "ignore_class" if ignore == "ignore_index" else ignore
    ignore = params.get(alias, params.get(ignore))
  _check_labels(label, ids_name, ids, num_classes, ignore, live)


def _is_array_like(x) -> bool:
  return isinstance(x, (jax.Array, np.ndarray, np.generic, list, tuple, int))


def _domain_checks(label, fn, names, args, params):
  """The checks of the domains the loss declared next to it
  (``domains.declare``) on the named inputs."""
  declared = domains.of(fn)
  inputs = dict(zip(names, args))
  nonnegative = declared.nonnegative
  if nonnegative is not None and inputs.get(nonnegative) is not None:
    _check_nonnegative(label, nonnegative, inputs[nonnegative])
  class_ids = declared.class_ids
  for ids_domain in (
    (class_ids,) if isinstance(class_ids, domains.ClassIds) else class_ids or ()
  ):
    _id_checks(label, ids_domain, inputs, params)
  targets = declared.unit_targets
  if targets is not None and inputs.get(targets) is not None:
    _check_interval(label, targets, inputs[targets], "targets")
  name = declared.probabilities
  if name is None or inputs.get(name) is None:
    return
  axis = params.get("axis", -1)
  if params.get("from_logits", False) is not False or not isinstance(axis, int):
    return
  probabilities = jnp.asarray(inputs[name])
  _check_interval(
    label,
    name,
    probabilities,
    "probabilities (pass from_logits=True for logits)",
  )
  if declared.simplex and probabilities.ndim:
    _check_rows_sum_to_one(label, name, probabilities, axis)


def checked(
  loss: str | Callable[..., Any], *, argnums: int | Sequence[int] | None = None
) -> Callable[..., Any]:
  """Wraps a loss with value checks that report under ``jit`` (checkify).

  ``checked(loss)`` returns a function with the loss's signature that
  returns ``(error, value)``; ``error.throw()`` raises a ``JaxRuntimeError``
  whose message names the loss, the argument, the check and the first
  offending index, or does nothing when every check passed. It composes
  with ``jax.jit`` and ``jax.vmap`` (wrap the checked function, not the
  other way round). With ``argnums`` (an int or a tuple of ints, positions
  of the inputs) the result is ``(error, (value, grads))``: the value and
  the gradient of its sum (a scalar for a loss object) with respect to
  those inputs, and the gradients are checked to be finite too.

  Under ``jit``, keyword arguments of the checked function are traced:
  give static options (``from_logits``, ``axis``, ...) through a loss object
  or ``functools.partial(loss_fn, from_logits=True)``, not at the call.
  The checks (see the module docstring) cost one pass over each input; use
  them to find where a NaN comes from, not in the production step.

  Args:
    loss: a loss object, a per-sample loss function, a name understood by
      :func:`jaxloss.get`, or any callable ``(inputs...) -> values``.
    argnums: None, or the positions of the inputs to differentiate.

  Returns:
    ``fn(*inputs, **kwargs) -> (checkify.Error, value)`` (or
    ``(error, (value, grads))`` with ``argnums``).

  Raises:
    TypeError: for a loss that is not callable, or bad ``argnums``.

  Examples:
    >>> import jax, jax.numpy as jnp
    >>> import jaxloss
    >>> check = jax.jit(jaxloss.checked(jaxloss.mean_squared_error))
    >>> error, value = check(jnp.ones((2, 3)), jnp.array(
    ...     [[0.0, 1.0, 2.0], [jnp.nan, 0.0, 0.0]]))
    >>> print(error.get())  # doctest: +ELLIPSIS
    mean_squared_error: y_pred must be finite, got 1 NaN/inf entries of 6,
    the first at flat index 3 of shape (2, 3) (value nan)...
  """
  if isinstance(loss, str):
    loss = objects.get(loss)
  label, fn, names, hyper = _describe(loss)
  fn_name = getattr(fn, "__name__", label)
  argnums_t: tuple[int, ...] = ()
  if argnums is not None:
    argnums_t = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not argnums_t or not all(
      isinstance(a, int) and not isinstance(a, bool) for a in argnums_t
    ):
      raise TypeError(
        f"checked: argnums must be an int or a tuple of ints, got {argnums!r}"
      )
  is_object = isinstance(loss, objects.Loss)

  def run(*args, **kwargs):
    params = {**hyper, **kwargs}
    arg_names = tuple(
      names[i] if i < len(names) else f"input {i}" for i in range(len(args))
    )
    for name, x in zip(arg_names, args):
      _check_finite(label, name, x)
    if kwargs.get("sample_weight") is not None:
      _check_finite(label, "sample_weight", kwargs["sample_weight"])
    _check_hyper_parameters(label, params)
    _domain_checks(label, fn, arg_names, args, params)
    if argnums is None:
      value = loss(*args, **kwargs)
      _check_result(label, "the loss", value, _BECAUSE)
      return value

    args = list(args)
    for i in argnums_t:
      if not 0 <= i < len(args):
        raise TypeError(
          f"checked: argnums must index the {len(args)} inputs, got {i}"
        )
      args[i] = jnp.asarray(args[i])

    def total(*diff):
      full = list(args)
      for i, d in zip(argnums_t, diff):
        full[i] = d
      values = loss(*full, **kwargs)
      summed = values if is_object else jnp.sum(values)
      return summed, values

    (_, value), grads = jax.value_and_grad(
      total, argnums=tuple(range(len(argnums_t))), has_aux=True
    )(*(args[i] for i in argnums_t))
    _check_result(label, "the loss", value, _BECAUSE)
    for i, g in zip(argnums_t, grads):
      _check_result(
        label,
        f"the gradient with respect to {arg_names[i]}",
        g,
        "the inputs and the loss are finite",
      )
    if isinstance(argnums, int):
      grads = grads[0]
    return value, grads

  run.__name__ = f"checked_{fn_name}"
  return _checkify().checkify(run, errors=_checkify().user_checks)
