"""Keras ``Loss`` subclasses generated from jaxloss's loss object classes.

For every public jaxloss loss class ``jaxloss.X`` whose inputs are
``(y_true, y_pred)``, :func:`adapter_class` makes ``jaxloss.keras.X``, a
``keras.losses.Loss`` subclass whose ``call`` returns jaxloss's per-sample
values. Keras's own ``Loss.__call__`` then casts the inputs to the loss's
dtype, applies ``sample_weight`` (hence ``class_weight``), Keras masks and the
reduction, exactly as it does for its own losses.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any
from typing import cast

import jax
import jax.numpy as jnp
import keras
from keras.src.backend import get_keras_mask
from keras.src.backend import set_keras_mask
from keras.src.losses import LossFunctionWrapper as KerasLossFunctionWrapper
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

import jaxloss

PACKAGE = "jaxloss"
_BASE_KEYS = ("reduction", "name", "dtype")

# Where the Keras form keeps Keras's own name for a jaxloss keyword:
# {class name: {jaxloss keyword: Keras keyword}}. The mapping is all the
# adapter does; the loss object underneath holds jaxloss's name.
KERAS_KEYWORDS: dict[str, dict[str, str]] = {
  "SparseCategoricalCrossentropy": {"ignore_index": "ignore_class"},
  # Keras 3.15's code weighs false negatives by ``alpha`` and false
  # positives by ``beta`` (its docstring says the opposite); jaxloss follows
  # the paper. The Keras form promises Keras's number, so it swaps them.
  "Tversky": {"alpha": "beta", "beta": "alpha"},
}


@functools.cache
def keras_config_keys(
  name: str,
) -> tuple[frozenset[str], frozenset[str]] | None:
  """``(config keys, constructor keywords)`` of Keras's own class
  ``keras.losses.<name>`` (built with its defaults), or None where Keras
  has no such class."""
  keras_class = getattr(keras.losses, name, None)
  if not (
    isinstance(keras_class, type) and issubclass(keras_class, keras.losses.Loss)
  ):
    return None
  keywords = frozenset(inspect.signature(keras_class.__init__).parameters)
  return frozenset(keras_class().get_config()), keywords


def _is_default(value, default) -> bool:
  if value is None or default is None:
    return value is default
  try:
    return bool(value == default)
  except (TypeError, ValueError):  # arrays: never the default
    return False


def _inputs(cls) -> tuple[str, ...]:
  """Names of the positional inputs of a jaxloss loss class."""
  inputs = getattr(cls, "inputs", None)
  if inputs is not None:
    return tuple(inputs)
  fn = getattr(cls, "fn", None)
  if fn is None:
    return ()
  return tuple(
    p.name
    for p in inspect.signature(fn).parameters.values()
    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
  )


def _hyper_defaults(cls) -> dict[str, Any]:
  """The class's constructor keywords besides reduction/name/dtype."""
  return {
    p.name: p.default
    for p in inspect.signature(cls).parameters.values()
    if p.name not in _BASE_KEYS and p.kind is not p.VAR_KEYWORD
  }


def _dtype_config(dtype):
  if dtype is None or isinstance(dtype, str):
    return dtype
  return keras.dtype_policies.serialize(dtype)


class JaxlossLoss(keras.losses.Loss):
  """Base of the generated adapters: a Keras loss around a jaxloss object.

  Subclasses set ``core_class`` (the jaxloss loss class). The constructor
  takes that class's keyword arguments plus Keras's ``reduction``, ``name``
  and ``dtype`` (a dtype or a ``keras.DTypePolicy``; ``None`` follows
  ``keras.backend.floatx()``, so half inputs give float32 losses, as for
  Keras's own losses).
  """

  core_class: type | None = None  # set by adapter_class
  # {jaxloss keyword: Keras keyword} where the two differ (KERAS_KEYWORDS).
  keras_keywords: dict[str, str] = {}

  def __init__(
    self,
    *,
    reduction: str | None = "sum_over_batch_size",
    name=None,
    dtype=None,
    **hyper_parameters,
  ):
    core_class = type(self).core_class
    assert core_class is not None  # every adapter class sets it
    to_core = {k: c for c, k in type(self).keras_keywords.items()}
    hyper_parameters = {
      to_core.get(k, k): v for k, v in hyper_parameters.items()
    }
    # The jaxloss object validates the hyper-parameters (clear errors early).
    core = core_class(**hyper_parameters)
    # Keras accepts reduction=None; its signature's inferred type omits it.
    super().__init__(
      name=name or core.name,
      reduction=reduction,  # pyright: ignore[reportArgumentType]
      dtype=dtype,
    )
    self._core = core
    self._dtype_argument = dtype
    self._weighted = False

  @property
  def core(self):
    """The jaxloss loss object holding the hyper-parameters."""
    return self._core

  def hyper_parameters(self) -> dict[str, Any]:
    """The hyper-parameters under the Keras form's keyword names."""
    names = type(self).keras_keywords
    params = cast(dict[str, Any], self._core.hyper_parameters())
    return {names.get(k, k): v for k, v in params.items()}

  def __call__(self, y_true, y_pred, sample_weight=None):
    # Remember, for ``call``, whether Keras will weight or mask the values.
    self._weighted = (
      sample_weight is not None or get_keras_mask(y_pred) is not None
    )
    try:
      return super().__call__(y_true, y_pred, sample_weight=sample_weight)
    finally:
      self._weighted = False

  def call(self, y_true, y_pred):
    name = type(self).__name__
    # Keras's rule for every loss function: a trailing axis of size 1 is
    # squeezed (or added) so that [B] targets meet [B, 1] outputs.
    # Keras maps nested lists element by element: stack them back.
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    # Keras's multi-backend code types its result as any backend's tensor.
    y_true, y_pred = cast(
      tuple[jax.Array, jax.Array],
      squeeze_or_expand_to_same_rank(y_true, y_pred),
    )
    values = self._core.values(y_true, y_pred)
    # Keras's own batch-level forms (Dice, Tversky with axis=None) accept
    # weights: Keras scales the batch's value by them, and so does the Keras
    # form here. A loss with no Keras counterpart keeps the rule.
    if (
      jnp.ndim(values) == 0
      and jnp.ndim(y_pred) > 0
      and self._weighted
      and keras_config_keys(name) is None
    ):
      raise ValueError(
        f"jaxloss.keras.{name}: sample_weight (or class_weight, or a Keras "
        f"mask) must be absent for a batch-level loss (one value per "
        f"batch), got weights or a mask"
      )
    where_fn = getattr(type(self._core), "where_fn", None)
    if where_fn is not None:
      # The loss's own mask (ignore_class, Circle): Keras reads it from the
      # values' Keras mask, as it does for its own losses.
      mask = where_fn(y_true, y_pred, values, **self._core.hyper_parameters())
      if mask is not None:
        set_keras_mask(values, mask)
    return values

  def get_config(self):
    """The config. For a loss Keras has, Keras's: the keys of Keras's own
    class (``name``, ``reduction`` and the hyper-parameters its config
    keeps, under Keras's names), dropping what Keras's drops (a ``dtype``;
    Huber's ``delta``, CosineSimilarity's ``axis``: such a loss reloads
    with those defaults, as Keras's own does), plus a jaxloss extension
    Keras has no keyword for (``label_smoothing`` of the sparse
    cross-entropy) when it is not the default. Other losses keep ``dtype``
    and every hyper-parameter."""
    config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
    keras_class = keras_config_keys(type(self).__name__)
    if keras_class is None:
      config["dtype"] = _dtype_config(self._dtype_argument)
      config.update(self.hyper_parameters())
      return config
    keys, keywords = keras_class
    names = type(self).keras_keywords
    defaults = {
      names.get(k, k): v
      for k, v in _hyper_defaults(type(self).core_class).items()
    }
    for key, value in self.hyper_parameters().items():
      extension = key not in keywords
      if key in keys or (extension and not _is_default(value, defaults[key])):
        config[key] = value
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
      config["dtype"] = keras.dtype_policies.deserialize(dtype)
    return cls(**config)

  def __repr__(self):
    params = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
    return f"jaxloss.keras.{type(self).__name__}({params})"


def _init_signature(core_class) -> inspect.Signature:
  names = KERAS_KEYWORDS.get(core_class.__name__, {})
  kw = inspect.Parameter.KEYWORD_ONLY
  params = [
    inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
    inspect.Parameter("reduction", kw, default="sum_over_batch_size"),
    inspect.Parameter("name", kw, default=None),
    inspect.Parameter("dtype", kw, default=None),
  ]
  params += [
    inspect.Parameter(names.get(k, k), kw, default=v)
    for k, v in _hyper_defaults(core_class).items()
  ]
  return inspect.Signature(params)


def adapter_class(core_class) -> type[JaxlossLoss]:
  """Makes and registers the Keras form of a jaxloss loss class."""
  name = core_class.__name__
  doc = (
    f"Keras form of :class:`jaxloss.{name}`: a ``keras.losses.Loss`` whose "
    f"``call`` returns jaxloss's per-sample values.\n\n"
    f"Arguments: the keywords of ``jaxloss.{name}`` plus Keras's "
    f"``reduction``, ``name`` and ``dtype``. Registered with Keras as "
    f'``"{PACKAGE}>{name}"``.\n'
  )
  for ours, theirs in KERAS_KEYWORDS.get(name, {}).items():
    doc += f"\nKeras's ``{theirs}`` stands for jaxloss's ``{ours}``.\n"
  cls = type(
    name,
    (JaxlossLoss,),
    {
      "core_class": core_class,
      "keras_keywords": dict(KERAS_KEYWORDS.get(name, {})),
      "__doc__": doc,
      "__module__": "jaxloss.keras",
      "__qualname__": name,
    },
  )
  cls.__init__ = _make_init(cls, core_class)
  # The decorator's inferred type loses the class; it returns cls itself.
  return cast(
    type[JaxlossLoss],
    keras.saving.register_keras_serializable(package=PACKAGE)(cls),
  )


def _make_init(cls, core_class):
  def __init__(self, **kwargs):
    JaxlossLoss.__init__(self, **kwargs)

  __init__.__signature__ = _init_signature(core_class)
  __init__.__qualname__ = f"{cls.__name__}.__init__"
  __init__.__module__ = cls.__module__  # where the reference finds it
  return __init__


def core_classes() -> dict[str, type]:
  """Public jaxloss loss classes with inputs ``(y_true, y_pred)``."""
  out = {}
  for name in jaxloss.__all__:
    obj = getattr(jaxloss, name)
    if (
      isinstance(obj, type)
      and issubclass(obj, jaxloss.Loss)
      and obj not in (jaxloss.Loss, jaxloss.LossFunctionWrapper)
      and obj.__name__ == name
      and _inputs(obj) == ("y_true", "y_pred")
    ):
      out[name] = obj
  return out


ADAPTERS: dict[str, type[JaxlossLoss]] = {
  name: adapter_class(core) for name, core in core_classes().items()
}


def from_jaxloss(obj):
  """The Keras form of a jaxloss loss object (same hyper-parameters).

  A ``jaxloss.wrap(fn, **kwargs)`` object becomes Keras's own
  ``LossFunctionWrapper(fn, **kwargs)`` (``keras.src.losses``); a Keras
  loss passes through.

  Raises:
    TypeError: for an object with no Keras form (inputs other than
      ``(y_true, y_pred)``).
  """
  if isinstance(obj, keras.losses.Loss):
    return obj
  if isinstance(obj, jaxloss.LossFunctionWrapper):
    return KerasLossFunctionWrapper(
      obj.function,
      # Keras accepts None; its signature's inferred type omits it.
      reduction=obj.reduction,  # pyright: ignore[reportArgumentType]
      name=obj.name,
      dtype=obj.dtype,
      **obj.hyper_parameters(),
    )
  name = type(obj).__name__
  if not isinstance(obj, jaxloss.Loss) or name not in ADAPTERS:
    raise TypeError(
      f"from_jaxloss: obj must be a jaxloss loss object with inputs "
      f"(y_true, y_pred), got {obj!r}"
    )
  names = KERAS_KEYWORDS.get(name, {})
  return ADAPTERS[name](
    reduction=obj.reduction,
    name=obj.name,
    dtype=obj.dtype,
    **{names.get(k, k): v for k, v in obj.hyper_parameters().items()},
  )
