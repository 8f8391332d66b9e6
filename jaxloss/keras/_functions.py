"""The functional forms of ``keras.losses``: ``jaxloss.keras.huber``, ...

Keras exposes each of its losses as a function too
(``keras.losses.mean_squared_error(y_true, y_pred)``): per-sample values,
no reduction, hyper-parameters positional or by keyword. The forms here
take Keras's exact signature (read from Keras's own function), apply
Keras's calling convention (a trailing axis of size 1 squeezed or added
so that ``[B]`` targets meet ``[B, 1]`` outputs), map Keras's keyword
names onto jaxloss's (``KERAS_KEYWORDS``: ``ignore_class``, Tversky's
``alpha``/``beta``) and call jaxloss's per-sample function.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import inspect
from typing import Any
from typing import cast

import jax
import jax.numpy as jnp
import keras
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

from jaxloss.keras._losses import ADAPTERS
from jaxloss.keras._losses import KERAS_KEYWORDS

# Keras's functions that are not losses.
_NOT_LOSSES = frozenset({"get", "serialize", "deserialize"})


def _keras_loss_functions() -> dict[str, tuple[Callable, str]]:
  """``{name: (Keras's function, the class whose fn it is)}``."""
  by_fn = {}
  for name in ADAPTERS:
    keras_class = getattr(keras.losses, name, None)
    if not isinstance(keras_class, type):
      continue
    fn = getattr(keras_class(), "fn", None)
    if fn is not None:
      by_fn.setdefault(fn.__name__, name)
  out = {}
  for name, fn in vars(keras.losses).items():
    if inspect.isfunction(fn) and name not in _NOT_LOSSES:
      if fn.__name__ in by_fn:
        out[name] = (fn, by_fn[fn.__name__])
  return out


def keras_function(name: str, keras_fn: Callable, class_name: str):
  """The jaxloss form of Keras's loss function ``keras_fn``."""
  signature = inspect.signature(keras_fn)
  to_core = {k: c for c, k in KERAS_KEYWORDS.get(class_name, {}).items()}
  core_fn = cast(Any, ADAPTERS[class_name].core_class).fn

  @functools.wraps(keras_fn, assigned=("__name__", "__qualname__"))
  def loss(*args, **kwargs) -> jax.Array:
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    y_true = jnp.asarray(arguments.pop("y_true"))
    y_pred = jnp.asarray(arguments.pop("y_pred"))
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):  # Keras's floatx
      y_pred = y_pred.astype(keras.backend.floatx())
    y_true, y_pred = cast(
      tuple[jax.Array, jax.Array],
      squeeze_or_expand_to_same_rank(y_true, y_pred),
    )
    options = {to_core.get(k, k): v for k, v in arguments.items()}
    return core_fn(y_true, y_pred, **options)

  setattr(loss, "__signature__", signature)  # noqa: B010 - a wrapper's signature
  loss.__module__ = "jaxloss.keras"
  loss.__doc__ = (
    f"Keras's ``keras.losses.{name}`` on jaxloss's kernel "
    f"(:class:`jaxloss.keras.{class_name}`'s per-sample values, no "
    f"reduction), with Keras's signature {signature}."
  )
  return loss


FUNCTIONS: dict[str, Callable[..., jax.Array]] = {
  name: keras_function(name, fn, class_name)
  for name, (fn, class_name) in _keras_loss_functions().items()
}
