"""Loss objects, ``wrap`` and the name registry behind ``get``/``serialize``.

A loss object is a small frozen dataclass: its fields are the loss's
hyper-parameters plus ``reduction``, ``name`` and ``dtype``. Each class is
declared in the source next to its per-sample function, naming the function
as a class keyword::

    class Huber(Loss, fn=huber, default_name="huber_loss"):
      delta: float | jax.Array = 1.0

``Loss`` carries :func:`typing.dataclass_transform`, so readers and type
checkers see the fields and the kernel where the class is written; nothing
is generated. When the class is created its fields are checked against the
function's keyword-only arguments (names, defaults, order), so the two cannot
drift. All classes share one ``__call__``:

    values = fn(y_true, y_pred, **hyper_parameters)
    return reduce(values, sample_weight=..., where=..., reduction=...)

Every loss class is a registered pytree. Hyper-parameters holding arrays
(``jax.Array`` or ``np.ndarray``) are its leaves, so a loss object can be
passed to a jitted function as an ordinary argument, vmapped over, or
differentiated with respect to a hyper-parameter; everything else (Python
numbers, strings, flags, ``reduction``, ``name``, ``dtype``) is auxiliary
data. An object whose hyper-parameters are all static is hashable, so it can
also be a static argument of ``jax.jit``.

Hyper-parameters are checked when an object is constructed: the per-sample
function is run on stand-in inputs that stop it at its first read of an
input, so the checks it makes before reading its inputs (every range, flag
and choice check) raise there, with the class's name in front of the
function's message (``"Huber: huber: delta must be in (0, inf], got -1.0"``).
This is why every per-sample function checks its hyper-parameters first.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
import difflib
import importlib
import inspect
import sys
from typing import Any
from typing import ClassVar
from typing import dataclass_transform
from typing import overload

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike
import numpy as np

from jaxloss._src import numerics
from jaxloss._src import reduction as reduction_lib
from jaxloss._src import shapes
from jaxloss._src.typing import InputLike

# Every public name `get` understands: function names, class names, aliases.
_REGISTRY: dict[str, Any] = {}
# Loss classes by class name, for deserialize.
_CLASSES: dict[str, type] = {}


class _InputRead(BaseException):
  """Raised by :class:`_StandIn` when a function reads one of its inputs.

  A ``BaseException`` so that no ``except Exception`` on the way swallows it.
  """


class _StandIn:
  """An input that stops a per-sample function wherever it is read."""

  def _stop(self, *args, **kwargs):
    raise _InputRead

  __getattr__ = _stop
  __jax_array__ = __array__ = __len__ = __iter__ = __getitem__ = _stop
  __bool__ = __float__ = __int__ = __index__ = __neg__ = __abs__ = _stop
  __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _stop
  __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __matmul__ = _stop
  __lt__ = __le__ = __gt__ = __ge__ = _stop


def _is_array(value) -> bool:
  return isinstance(value, (jax.Array, np.ndarray))


def _with_owner(error: Exception, owner: str) -> Exception:
  """``error`` with ``"<owner>: "`` in front: ``"Huber: huber: delta ..."``
  names the class and, after it, the function whose check failed."""
  return type(error)(f"{owner}: {error}")


def _freeze(value):
  """Lists become tuples so that objects stay hashable."""
  if isinstance(value, list):
    return tuple(_freeze(v) for v in value)
  return value


@dataclass_transform(frozen_default=True, kw_only_default=True)
def _fields_of(cls):
  """Makes ``cls`` a dataclass whose methods are :class:`Loss`'s own.

  The standard library builds the fields (``dataclasses.fields``,
  ``replace`` and ``asdict`` work as for any dataclass), but generates no
  methods: ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` and the
  frozen ``__setattr__`` are written once on ``Loss`` and read the class's
  ``_field_defaults``. Generating them (by ``exec``) for each of the
  hundred-odd loss classes made up most of the cost of ``import jaxloss``.
  Type checkers see a frozen, keyword-only dataclass, as the decorator
  says.
  """
  dataclasses.dataclass(kw_only=True, init=False, repr=False, eq=False)(cls)
  cls._field_defaults = {f.name: f.default for f in dataclasses.fields(cls)}
  return cls


class _InitSignature:
  """``inspect.signature(cls)`` of a loss class: its fields as keyword-only
  parameters with their defaults, what a generated ``__init__`` would show
  (the Keras adapters and ``help`` read it). On an instance it is None, so
  that an object's signature stays its ``__call__``'s."""

  def __get__(self, obj, cls) -> inspect.Signature | None:
    if obj is not None:
      return None
    fields = cls.__dataclass_fields__
    return inspect.Signature(
      [
        inspect.Parameter(
          name,
          inspect.Parameter.KEYWORD_ONLY,
          default=default,
          annotation=fields[name].type,
        )
        for name, default in cls._field_defaults.items()
      ]
    )


@dataclass_transform(frozen_default=True, kw_only_default=True)
@_fields_of
class Loss:
  """Base of every loss object: hyper-parameters + reduction, name, dtype.

  Calling an object computes the per-sample values with its function and
  reduces them with :func:`jaxloss.reduce`::

      loss(y_true, y_pred, sample_weight=None, *, where=None, normalizer=None)

  ``dtype``, when set, casts the floating inputs before the computation
  (Keras's ``dtype`` argument); ``None`` keeps the inputs' dtype.

  A subclass names its per-sample function and registration details as
  class keywords and declares the function's hyper-parameters as fields::

      class Huber(Loss, fn=huber, default_name="huber_loss"):
        delta: float | jax.Array = 1.0

  Class keywords:
    fn: the per-sample function. Its keyword-only arguments, less
      ``exclude`` and ``keyword_inputs``, must be the class's fields, with
      the same names, defaults and order (checked when the class is made).
    aliases: extra names for :func:`jaxloss.get` (e.g. "mse"); they map to
      the function.
    default_name: the object's default ``name`` (Keras's, e.g.
      "huber_loss"); the class name when omitted.
    exclude: keyword arguments of ``fn`` that are data, not configuration.
    where_fn: optional ``(inputs..., values, **hyper) -> bool mask``.
    mean_terms: optional ``(inputs..., **hyper) -> (terms, out_dtype)`` when
      the per-sample value is ``mean(terms, axis=-1)`` (see below).
    batch_level: whether ``fn`` gives one value per batch (see below).
    keyword_inputs: keyword arguments of ``fn`` that are data of one call
      (Cox's ``strata``): not fields; the object takes them when called.
    register: whether ``get``/``deserialize`` know the class (default True
      when ``fn`` is given).
  """

  reduction: str | None = "sum_over_batch_size"
  name: str | None = None
  dtype: Any = None

  fn: ClassVar[Callable[..., jax.Array]]
  # Optional mask from the per-sample values, like the Keras mask a loss sets
  # (ignore_class, Circle): reductions then count only the unmasked entries.
  where_fn: ClassVar[Callable[..., jax.Array | None] | None] = None
  # Names of the positional inputs the function takes before its keywords.
  inputs: ClassVar[tuple[str, ...]] = ("y_true", "y_pred")
  # Keyword-only arguments of the function that are data of one call, not
  # configuration (Cox's ``strata``): the object takes them when called and
  # passes them on; they are not fields.
  keyword_inputs: ClassVar[tuple[str, ...]] = ()
  # Optional ``(inputs..., **hyper) -> (terms, out_dtype)`` for losses whose
  # per-sample value is the mean of ``terms`` over the last axis: the
  # unweighted mean reduction is then one mean over every term (the same
  # number in exact arithmetic), which compiles to one reduction instead of
  # two -- the program of the optax form of the same formula.
  mean_terms: ClassVar[Callable[..., tuple[jax.Array, Any]] | None] = None
  # Batch-level losses (mined metric losses, weighted kappa, Cox) give one
  # value per batch, so a per-sample sample_weight or where has nothing to
  # weigh: it is rejected with an error naming the class, and so is a
  # normalizer (the value is already normalised over the batch; a scalar
  # sample_weight scales it). Any loss whose values come out scalar for a
  # batch (Dice with axis=None, F-beta with mode="batch") is held to the
  # per-sample rule at call time.
  batch_level: ClassVar[bool] = False
  # Every field's name and default, in order (set by ``_fields_of``).
  _field_defaults: ClassVar[dict[str, Any]]
  __signature__: ClassVar[Any] = _InitSignature()

  def __init_subclass__(
    cls,
    *,
    fn: Callable[..., jax.Array] | None = None,
    aliases: tuple[str, ...] = (),
    default_name: str | None = None,
    exclude: tuple[str, ...] = (),
    where_fn: Callable[..., jax.Array | None] | None = None,
    mean_terms: Callable[..., tuple[jax.Array, Any]] | None = None,
    batch_level: bool | None = None,
    keyword_inputs: tuple[str, ...] | None = None,
    register: bool | None = None,
    **kwargs: Any,
  ) -> None:
    super().__init_subclass__(**kwargs)
    # The function's parameters, read once: its positional inputs and its
    # keyword-only hyper-parameters (checked against the fields below).
    params = inspect.signature(fn).parameters if fn is not None else {}
    if fn is not None:
      cls.fn = staticmethod(fn)  # pyright: ignore[reportAttributeAccessIssue]
      cls.inputs = _positional_inputs(params)
    if where_fn is not None:
      cls.where_fn = staticmethod(where_fn)
    if mean_terms is not None:
      cls.mean_terms = staticmethod(mean_terms)
    if batch_level is not None:
      cls.batch_level = batch_level
    if keyword_inputs is not None:
      cls.keyword_inputs = tuple(keyword_inputs)
    if fn is not None:
      cls._default_name = default_name or fn.__name__
    if fn is not None and cls.__doc__ is None:
      cls.__doc__ = f"Loss object for :func:`jaxloss.{fn.__name__}`."
    _fields_of(cls)
    if fn is not None:
      _check_fields(cls, fn, params, tuple(exclude) + cls.keyword_inputs)
    jax.tree_util.register_pytree_with_keys(
      cls, cls._flatten_with_keys, cls._unflatten, cls._flatten
    )
    if register if register is not None else fn is not None:
      _register_class(cls, aliases, default_name)

  # --------------------------- the methods a frozen dataclass would have

  def __init__(self, **config: Any) -> None:
    cls = type(self)
    unknown = config.keys() - cls._field_defaults.keys()
    if unknown:
      raise TypeError(
        f"{cls.__name__}.__init__() got an unexpected keyword argument "
        f"{min(unknown)!r}"
      )
    for name, default in cls._field_defaults.items():
      value = config.get(name, default)
      if value is dataclasses.MISSING:
        raise TypeError(
          f"{cls.__name__}.__init__() missing required keyword argument "
          f"{name!r}"
        )
      object.__setattr__(self, name, value)
    self.__post_init__()

  def _values(self) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self)._field_defaults)

  def __repr__(self) -> str:
    fields = ", ".join(
      f"{name}={getattr(self, name)!r}" for name in type(self)._field_defaults
    )
    return f"{type(self).__qualname__}({fields})"

  def __eq__(self, other: object) -> bool:
    if other.__class__ is not self.__class__:
      return NotImplemented
    assert isinstance(other, Loss)
    return self._values() == other._values()

  def __hash__(self) -> int:
    return hash(self._values())

  def __setattr__(self, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

  def __delattr__(self, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

  # -------------------------------------------------------------------

  def __post_init__(self) -> None:
    cls_name = type(self).__name__
    reduction_lib.check_reduction(cls_name, self.reduction)
    for f in self.hyper_parameter_names():
      object.__setattr__(self, f, _freeze(getattr(self, f)))
    if self.name is not None and not isinstance(self.name, str):
      raise TypeError(
        f"{cls_name}: name must be a str or None, got {self.name!r}"
      )
    if self.name is None:
      object.__setattr__(self, "name", self.default_name())
    if self.dtype is not None:
      try:
        dtype = jnp.dtype(self.dtype)
      except TypeError as e:
        raise TypeError(
          f"{cls_name}: dtype must be a dtype or None, got {self.dtype!r}"
        ) from e
      object.__setattr__(self, "dtype", dtype.name)
    self._check_hyper_parameters()

  def _check_hyper_parameters(self):
    """Runs the function's own checks on the hyper-parameters (see above)."""
    standins = (_StandIn(),) * len(self.inputs)
    try:
      type(self).fn(*standins, **self.hyper_parameters())
    except _InputRead:
      pass
    except (TypeError, ValueError) as e:
      raise _with_owner(e, type(self).__name__) from None

  # ------------------------------------------------------------ pytree

  def _fields(self) -> tuple[str, ...]:
    return tuple(type(self)._field_defaults)

  def _flatten_with_keys(self):
    children, leaf_names, static = [], [], []
    for f in self._fields():
      value = getattr(self, f)
      if _is_array(value):
        children.append((jax.tree_util.GetAttrKey(f), value))
        leaf_names.append(f)
      else:
        static.append((f, value))
    return children, (tuple(leaf_names), tuple(static))

  def _flatten(self):
    children, aux = self._flatten_with_keys()
    return [c for _, c in children], aux

  @classmethod
  def _unflatten(cls, aux, children):
    # No __init__ and no checks: JAX rebuilds objects with tracers, None or
    # sentinels in place of the leaves.
    obj = object.__new__(cls)
    leaf_names, static = aux
    for f, value in static:
      object.__setattr__(obj, f, value)
    for f, value in zip(leaf_names, children, strict=True):
      object.__setattr__(obj, f, value)
    return obj

  @classmethod
  def default_name(cls) -> str:
    """The loss's name when none is given (Keras's, e.g. ``huber_loss``)."""
    return getattr(cls, "_default_name", cls.__name__)

  @classmethod
  def hyper_parameter_names(cls) -> tuple[str, ...]:
    """The hyper-parameter fields' names, in order."""
    return tuple(n for n in cls._field_defaults if n not in _BASE_FIELDS)

  def hyper_parameters(self) -> dict[str, Any]:
    """The hyper-parameters by name (the kernel's keyword arguments)."""
    return {f: getattr(self, f) for f in self.hyper_parameter_names()}

  def _cast(self, x):
    if self.dtype is None or x is None:
      return x
    x = jnp.asarray(x)
    return x.astype(self.dtype) if numerics.is_floating(x) else x

  def _prepare(self, args):
    """The inputs as the per-sample function receives them."""
    return tuple(self._cast(a) for a in args)

  def _per_sample(self, args, params):
    return type(self).fn(*args, **params)

  def _keyword_inputs(self, given: Mapping[str, Any]) -> dict[str, Any]:
    """The call's keyword inputs (``keyword_inputs``), cast like inputs."""
    allowed = type(self).keyword_inputs
    unknown = sorted(set(given) - set(allowed))
    if unknown:
      expected = (
        f"one of {allowed}"
        if allowed
        else "none (this loss takes no keyword"
        " inputs besides sample_weight, where and normalizer)"
      )
      raise TypeError(
        f"{type(self).__name__}: keyword inputs must be {expected}, got "
        f"{', '.join(unknown)}"
      )
    return {k: self._cast(v) for k, v in given.items()}

  def values(self, *args: InputLike, **keyword_inputs: InputLike) -> jax.Array:
    """Per-sample values, before weighting and reduction."""
    params = self.hyper_parameters() | self._keyword_inputs(keyword_inputs)
    return self._per_sample(self._prepare(args), params)

  def __call__(
    self,
    *args: InputLike,
    sample_weight: InputLike | None = None,
    where: InputLike | None = None,
    normalizer: float | jax.Array | None = None,
    **keyword_inputs: InputLike,
  ) -> jax.Array:
    _refuse_keras_wrapper(self)
    n = len(self.inputs)
    if len(args) == n + 1 and sample_weight is None:
      # Keras's positional form: loss(y_true, y_pred, sample_weight).
      args, sample_weight = args[:n], args[n]
    if len(args) != n:
      raise TypeError(
        f"{type(self).__name__}: expected {n} inputs {self.inputs} "
        f"(+ optional sample_weight), got {len(args)}"
      )
    if self.batch_level:
      _reject_per_sample(self, sample_weight=sample_weight, where=where)
      _reject_normalizer(self, normalizer)
    with jax.named_scope(f"jaxloss.{self.name}"):
      prepared = self._prepare(args)
      params = self.hyper_parameters() | self._keyword_inputs(keyword_inputs)
      mean_terms = type(self).mean_terms
      if (
        mean_terms is not None
        and sample_weight is None
        and where is None
        and normalizer is None
        and self.reduction in ("sum_over_batch_size", "mean")
      ):
        terms, out_dtype = mean_terms(*prepared, **params)
        if terms.ndim >= 1 and terms.size > 0:
          return jnp.mean(terms).astype(out_dtype)
      values = self._per_sample(prepared, params)
      if jnp.ndim(values) == 0:
        _reject_per_sample(self, sample_weight=sample_weight, where=where)
      where_fn = type(self).where_fn
      if where_fn is not None:
        auto = where_fn(*prepared, values, **params)
        if auto is not None:
          if where is not None:
            where = _user_mask(type(self).__name__, where, values.shape)
          where = auto if where is None else jnp.logical_and(where, auto)
      return reduction_lib.reduce(
        values,
        sample_weight=sample_weight,
        where=where,
        reduction=self.reduction,
        normalizer=normalizer,
      )

  def get_config(self) -> dict[str, Any]:
    """The constructor keywords, JSON-friendly (Keras's ``get_config``)."""
    config = {
      "reduction": self.reduction,
      "name": self.name,
      "dtype": self.dtype,
    }
    config.update(self.hyper_parameters())
    return config

  @classmethod
  def from_config(cls, config: Mapping[str, Any]) -> Loss:
    """The loss object made from :meth:`get_config`'s dict."""
    return cls(**config)


_BASE_FIELDS = frozenset(Loss._field_defaults)


def _refuse_keras_wrapper(obj):
  """Raises when Keras's ``LossFunctionWrapper`` calls a loss object.

  That is what ``keras.Model.compile(loss=jaxloss.X())`` does: the object
  returns an already reduced scalar, which Keras would weight and average a
  second time (``mean(w) * loss``). The Keras form ``jaxloss.keras.X``
  returns per-sample values instead.
  """
  if "keras" not in sys.modules:
    return
  caller = sys._getframe(2)
  if (
    caller.f_code.co_name == "call"
    and caller.f_globals.get("__name__") == "keras.src.losses.losses"
  ):
    name = type(obj).__name__
    fix = (
      f"jaxloss.keras.{name}(...)"
      if name != "LossFunctionWrapper"
      else "the per-sample function itself, or jaxloss.keras.from_jaxloss(obj)"
    )
    raise TypeError(
      f"{name}: a jaxloss loss object must not be passed to Keras's "
      f"compile or LossFunctionWrapper (it reduces the batch itself, so "
      f"Keras's sample_weight, class_weight and masks would be applied to "
      f"a scalar), got {obj!r}; use {fix} instead"
    )


def _reject_per_sample(obj, **masks):
  """A batch-level value takes no per-sample weight or mask."""
  for arg, value in masks.items():
    if value is not None and np.ndim(value) > 0:
      if obj.batch_level:
        why = (
          "this batch-level loss (one value per batch, not per sample; "
          "weigh whole batches instead)"
        )
      else:
        why = (
          "a scalar value (one unbatched sample, or a loss configured to "
          "give one value per batch)"
        )
      raise ValueError(
        f"{type(obj).__name__}: {arg} must be None or a scalar for {why}, "
        f"got {arg}.shape={tuple(np.shape(value))}"
      )


def _reject_normalizer(obj, normalizer):
  """A batch-level value is already normalised over its batch."""
  if normalizer is not None:
    raise ValueError(
      f"{type(obj).__name__}: normalizer must be None for this batch-level "
      f"loss (its value is already normalised over the batch; scale it with "
      f"a scalar sample_weight instead), got {normalizer!r}"
    )


def _user_mask(cls_name, where, shape):
  """The caller's ``where`` checked as ``reduce`` checks it, before it is
  combined with the mask an object builds itself (ignore_class, Circle)."""
  where = numerics.as_array(cls_name, "where", where)
  if where.dtype != jnp.bool_:
    raise TypeError(
      f"{cls_name}: where must be a boolean mask, got dtype {where.dtype}"
    )
  return shapes.leading_broadcast(cls_name, "where", where, shape)


def _positional_inputs(params) -> tuple[str, ...]:
  """Names of the inputs a function with parameters ``params`` (its
  ``inspect.signature(fn).parameters``) takes before its keyword-only
  arguments."""
  return tuple(
    p.name
    for p in params.values()
    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
  )


def _check_fields(cls, fn, params, exclude) -> None:
  """The class's fields must be ``fn``'s keyword-only hyper-parameters
  (``params`` is ``inspect.signature(fn).parameters``): the same names, in
  the same order, with the same defaults."""
  for k in cls.keyword_inputs:
    if k not in params or params[k].kind is not params[k].KEYWORD_ONLY:
      raise TypeError(
        f"{cls.__name__}: keyword_inputs must name keyword-only arguments "
        f"of {fn.__name__}, got {k!r}"
      )
  expected = [
    (p.name, _freeze(p.default))
    for p in params.values()
    if p.kind is p.KEYWORD_ONLY and p.name not in exclude
  ]
  for name, default in expected:
    if default is inspect.Parameter.empty:
      raise TypeError(f"{fn.__name__}: keyword {name} needs a default")
  declared = [
    (name, default)
    for name, default in cls._field_defaults.items()
    if name not in _BASE_FIELDS
  ]
  if [n for n, _ in declared] != [n for n, _ in expected]:
    raise TypeError(
      f"{cls.__name__}: fields must be the keyword-only arguments of "
      f"{fn.__name__} in order, {[n for n, _ in expected]}, got "
      f"{[n for n, _ in declared]}"
    )
  for (name, got), (_, want) in zip(declared, expected, strict=True):
    if not _same_default(got, want):
      raise TypeError(
        f"{cls.__name__}: field {name} must default to {fn.__name__}'s "
        f"default {want!r}, got {got!r}"
      )


def _same_default(a, b) -> bool:
  if type(a) is not type(b):
    return False
  try:
    return bool(a == b) or (a != a and b != b)  # NaN defaults
  except (TypeError, ValueError):
    return a is b


def _register_class(cls, aliases, default_name) -> None:
  """Registers the class and its function (and aliases) for ``get``."""
  fn = cls.fn
  register(fn.__name__, fn)
  register(cls.__name__, cls)
  for alias in aliases:
    register(alias, fn)
  # The object's default name (Keras's, e.g. "huber_loss") finds it too.
  if default_name and default_name not in _REGISTRY:
    register(default_name, fn)
  _CLASSES[cls.__name__] = cls


def register(name: str, obj) -> None:
  if name in _REGISTRY and _REGISTRY[name] is not obj:
    raise ValueError(f"register: name {name!r} is already taken")
  _REGISTRY[name] = obj


# ------------------------------------------------------------------- wrap


class LossFunctionWrapper(Loss):
  """A loss object around any per-sample ``fn(y_true, y_pred, **kwargs)``."""

  function: Callable[..., jax.Array] | None = None
  kwargs: tuple[tuple[str, Any], ...] = ()

  @classmethod
  def hyper_parameter_names(cls) -> tuple[str, ...]:
    """None: the wrapped function's keywords are not fields."""
    return ()

  def hyper_parameters(self) -> dict[str, Any]:
    """The keyword arguments bound to the wrapped function."""
    return dict(self.kwargs)

  def _check_hyper_parameters(self):
    pass  # a user function: its checks run when it is called

  def _flatten_with_keys(self):
    children, leaf_names, static = [], [], []
    for f in self._fields():
      value = getattr(self, f)
      if f == "kwargs":
        static_kwargs = []
        for k, v in value:
          if _is_array(v):
            children.append((jax.tree_util.DictKey(k), v))
            leaf_names.append(k)
          else:
            static_kwargs.append((k, v))
        static.append((f, tuple(static_kwargs)))
      else:
        static.append((f, value))
    return children, (tuple(leaf_names), tuple(static))

  @classmethod
  def _unflatten(cls, aux, children):
    obj = object.__new__(cls)
    leaf_names, static = aux
    for f, value in static:
      object.__setattr__(obj, f, value)
    kwargs = dict(obj.kwargs)
    kwargs.update(zip(leaf_names, children, strict=True))
    object.__setattr__(obj, "kwargs", tuple(sorted(kwargs.items())))
    return obj

  def _prepare(self, args):
    # Custom functions may use operators that lists lack: convert first.
    return tuple(self._cast(jnp.asarray(a)) for a in args)

  def _per_sample(self, args, params):
    assert self.function is not None
    return self.function(*args, **params)

  def get_config(self) -> dict[str, Any]:
    """The constructor keywords, the function serialized under ``fn``."""
    assert self.function is not None
    config = {
      "reduction": self.reduction,
      "name": self.name,
      "dtype": self.dtype,
      "fn": serialize(self.function),
    }
    config.update(self.hyper_parameters())
    return config

  @classmethod
  def from_config(cls, config: Mapping[str, Any]) -> LossFunctionWrapper:
    """The wrapper made from :meth:`get_config`'s dict."""
    config = dict(config)
    fn = get(config.pop("fn"))
    base = {
      k: config.pop(k) for k in ("reduction", "name", "dtype") if k in config
    }
    return cls(function=fn, kwargs=tuple(sorted(config.items())), **base)


_CLASSES["LossFunctionWrapper"] = LossFunctionWrapper


def wrap(
  fn: Callable[..., Any],
  *,
  reduction: str | None = "sum_over_batch_size",
  name: str | None = None,
  dtype: DTypeLike | None = None,
  **kwargs: Any,
) -> LossFunctionWrapper:
  """Turns a per-sample ``fn(y_true, y_pred, **kwargs)`` into a loss object.

  The object adds sample weights, ``where`` masks and reductions, exactly as
  the built-in loss objects do.

  Args:
    fn: the per-sample function, ``fn(y_true, y_pred, **kwargs)``.
    reduction: as for every loss object.
    name: the object's name (default ``fn.__name__``).
    dtype: the dtype the floating inputs are cast to, or None.
    **kwargs: keyword arguments passed to ``fn`` on every call; array
      values are the object's pytree leaves.

  Returns:
    A :class:`LossFunctionWrapper`.

  Raises:
    TypeError: if ``fn`` is not callable.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> def cubic(y_true, y_pred, *, scale=1.0):
    ...   return scale * jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)
    >>> loss = jaxloss.wrap(cubic, scale=2.0)
    >>> loss([[0.0, 1.0]], [[1.0, 1.0]])
    Array(1., dtype=float32)
  """
  if not callable(fn):
    raise TypeError(f"wrap: fn must be callable, got {type(fn).__name__}")
  return LossFunctionWrapper(
    function=fn,
    kwargs=tuple(sorted((k, _freeze(v)) for k, v in kwargs.items())),
    reduction=reduction,
    name=name or getattr(fn, "__name__", "loss"),
    dtype=dtype,
  )


# --------------------------------------------------------- get / serialize


@overload
def get(identifier: None) -> None: ...
@overload
def get(
  identifier: str | Mapping[str, Any] | Callable[..., Any],
) -> Callable[..., Any]: ...


def get(identifier: Any) -> Callable[..., Any] | None:
  """Looks up a loss by name, config dict, or passes a callable through.

  * a function name or Keras alias ("mse", "BCE", "kld", ...) gives the
    per-sample function;
  * a class name ("MeanSquaredError") gives a default instance;
  * a dict ``{"class_name": ..., "config": {...}}`` gives that instance;
  * a loss object or any callable is returned as is; ``None`` gives ``None``.

  Args:
    identifier: a name, a ``"module:qualname"`` path, a config dict, a
      callable, or ``None``.

  Returns:
    The function, a default instance of the class, the deserialised
    object, the callable itself, or ``None``.

  Raises:
    ValueError: for an unknown name or class name.
    TypeError: for anything else.

  Examples:
    >>> import jaxloss
    >>> jaxloss.get("mse") is jaxloss.mean_squared_error
    True
    >>> jaxloss.get("Huber")
    Huber(reduction='sum_over_batch_size', name='huber_loss', dtype=None, \
delta=1.0)
  """
  if identifier is None:
    return None
  if isinstance(identifier, Mapping):
    return deserialize(identifier)
  if isinstance(identifier, str):
    if identifier not in _REGISTRY and ":" in identifier:
      return _import_function(identifier)
    if identifier not in _REGISTRY:
      raise ValueError(
        f"get: identifier must be a known loss name, got {identifier!r}"
        f"{_suggest(identifier)} (jaxloss.names() lists them all)"
      )
    obj = _REGISTRY[identifier]
    return obj() if isinstance(obj, type) else obj
  if callable(identifier):
    return identifier
  raise TypeError(
    f"get: identifier must be a name, a config dict or a callable, got "
    f"{type(identifier).__name__}"
  )


def _suggest(identifier: str) -> str:
  """'; did you mean ...' with the closest registered names, or ''."""
  key = identifier.lower()
  scored = sorted(
    (-difflib.SequenceMatcher(None, key, n.lower()).ratio(), n)
    for n in _REGISTRY
  )
  close = [n for score, n in scored[:5] if -score >= 0.6]
  if not close:
    return ""
  return "; did you mean " + ", ".join(repr(n) for n in close) + "?"


def _importable_name(fn) -> str | None:
  """``"module:qualname"`` when importing it gives ``fn`` back, else None."""
  module = getattr(fn, "__module__", None)
  qualname = getattr(fn, "__qualname__", None)
  if not module or not qualname or "<" in qualname or module == "__main__":
    return None
  try:
    found = _import_function(f"{module}:{qualname}")
  except ValueError:
    return None
  return f"{module}:{qualname}" if found is fn else None


def _import_function(path: str):
  module_name, _, qualname = path.partition(":")
  try:
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
      obj = getattr(obj, part)
  except (ImportError, AttributeError, ValueError) as e:
    raise ValueError(
      f"get: identifier {path!r} must name an importable function "
      f"'module:qualname', got an import error: {e}"
    ) from e
  if not callable(obj):
    raise ValueError(
      f"get: identifier {path!r} must name a callable, got {type(obj).__name__}"
    )
  return obj


def serialize(obj: Callable[..., Any]) -> str | dict[str, Any]:
  """A loss object -> ``{"class_name", "config"}``; a function -> its name.

  A registered loss function serialises to its name; any other function
  that can be imported back (defined at the top level of a module, not in
  ``__main__``, not a lambda or a closure) to ``"module:qualname"``, which
  :func:`get` imports. Lambdas, closures and ``functools.partial`` objects
  cannot be named, so they raise: wrap a top-level function instead, with
  its options as ``wrap``'s keyword arguments.

  Args:
    obj: a loss object or a loss function.

  Returns:
    ``{"class_name": ..., "config": {...}}`` for an object, a name or a
    ``"module:qualname"`` string for a function.

  Raises:
    ValueError: for a function that cannot be named.

  Examples:
    >>> import jaxloss
    >>> jaxloss.serialize(jaxloss.Huber(delta=2.0))["config"]["delta"]
    2.0
    >>> jaxloss.serialize(jaxloss.huber)
    'huber'
  """
  if isinstance(obj, Loss):
    return {"class_name": type(obj).__name__, "config": obj.get_config()}
  name = getattr(obj, "__name__", None)
  if name is not None and _REGISTRY.get(name) is obj:
    return name
  importable = _importable_name(obj) if callable(obj) else None
  if importable is not None:
    return importable
  raise ValueError(
    f"serialize: obj must be a loss object, a registered loss function or "
    f"a function importable by 'module:qualname' (not a lambda, closure, "
    f"partial or a function of __main__), got {obj!r}"
  )


def deserialize(config: str | Mapping[str, Any]) -> Callable[..., Any]:
  """Inverse of :func:`serialize`.

  Args:
    config: a name (as :func:`get` takes it) or a
      ``{"class_name": ..., "config": {...}}`` dict.

  Returns:
    The loss function or object.

  Raises:
    ValueError: for an unknown class name or a malformed config.

  Examples:
    >>> import jaxloss
    >>> obj = jaxloss.deserialize(jaxloss.serialize(jaxloss.Huber(delta=2.0)))
    >>> obj.delta
    2.0
  """
  if isinstance(config, str):
    return get(config)
  if not isinstance(config, Mapping) or "class_name" not in config:
    raise ValueError(
      f"deserialize: config must be a name or a dict with 'class_name' and "
      f"'config', got {config!r}"
    )
  name = config["class_name"]
  cls = _CLASSES.get(name)
  if cls is None and _REGISTRY.get(name) in _CLASSES.values():
    # A renamed class registered under its old name (a config saved before
    # the rename): load it as the new class.
    cls = _REGISTRY[name]
  if cls is None:
    raise ValueError(
      f"deserialize: class_name must be a known loss class, got {name!r}"
    )
  return cls.from_config(config.get("config", {}))


def classes() -> dict[str, type]:
  """Every loss class :func:`deserialize` knows, by class name."""
  return dict(_CLASSES)


def names() -> list[str]:
  """Every name :func:`get` accepts: functions, classes and aliases.

  Returns:
    The names, sorted.

  Examples:
    >>> import jaxloss
    >>> "mse" in jaxloss.names() and "Huber" in jaxloss.names()
    True
  """
  return sorted(_REGISTRY)
