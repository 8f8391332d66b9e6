"""Keras-registered forms of :mod:`jaxloss.regularizers`.

``jaxloss.keras.regularizers.L2(0.01)`` is a genuine
``keras.regularizers.Regularizer`` whose penalty is jaxloss's
``jaxloss.regularizers.L2(0.01)``; it is registered with Keras as
``"jaxloss>L2"``, so a model using it as ``kernel_regularizer`` saves and
loads back with the same class (no ``custom_objects``).

Examples:
  >>> import keras
  >>> from jaxloss.keras import regularizers
  >>> reg = regularizers.L2(0.5)
  >>> float(reg(keras.ops.array([1.0, -2.0])))
  2.5
  >>> type(keras.regularizers.deserialize(keras.regularizers.serialize(reg)))
  <class 'jaxloss.keras.regularizers.L2'>
"""

from __future__ import annotations

from typing import Any

import jax
import keras

from jaxloss import regularizers as core_regularizers

PACKAGE = "jaxloss"


class JaxlossRegularizer(keras.regularizers.Regularizer):
  """Base of the Keras forms: a Keras regularizer around a jaxloss one.

  Each form names its jaxloss class as a class keyword
  (``class L2(JaxlossRegularizer, core=core_regularizers.L2)``) and is
  registered with Keras as ``"jaxloss>Name"``. The constructor takes the
  arguments of that class (validated there).
  """

  core_class: type[core_regularizers.Regularizer] | None = None

  def __init_subclass__(
    cls,
    *,
    core: type[core_regularizers.Regularizer] | None = None,
    **kwargs: Any,
  ) -> None:
    super().__init_subclass__(**kwargs)
    if core is not None:
      cls.core_class = core
      keras.saving.register_keras_serializable(package=PACKAGE)(cls)

  def __init__(self, *args: Any, **kwargs: Any) -> None:
    core_class = type(self).core_class
    assert core_class is not None  # every Keras form names one
    self._core = core_class(*args, **kwargs)

  @property
  def core(self) -> core_regularizers.Regularizer:
    """The jaxloss regularizer computing the penalty."""
    return self._core

  # Keras's base returns a float 0.0 (so its inferred type is float); the
  # penalty here is a jax.Array, as Keras's own regularizers return tensors.
  def __call__(self, x: Any) -> jax.Array:  # pyright: ignore[reportIncompatibleMethodOverride]
    return self._core(x)

  def get_config(self) -> dict[str, Any]:
    """The jaxloss regularizer's constructor keywords."""
    return dict(self._core.get_config())

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> JaxlossRegularizer:
    """The Keras form made from :meth:`get_config`'s dict."""
    return cls(**config)

  def __repr__(self) -> str:
    return f"jaxloss.keras.regularizers.{self._core!r}"


class L1(JaxlossRegularizer, core=core_regularizers.L1):
  """Keras form of :class:`jaxloss.regularizers.L1`."""


class L2(JaxlossRegularizer, core=core_regularizers.L2):
  """Keras form of :class:`jaxloss.regularizers.L2`."""


class L1L2(JaxlossRegularizer, core=core_regularizers.L1L2):
  """Keras form of :class:`jaxloss.regularizers.L1L2`."""


class OrthogonalRegularizer(
  JaxlossRegularizer, core=core_regularizers.OrthogonalRegularizer
):
  """Keras form of :class:`jaxloss.regularizers.OrthogonalRegularizer`."""


# Keras 3's lowercase names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

CLASSES = {c.__name__: c for c in (L1, L2, L1L2, OrthogonalRegularizer)}


def from_jaxloss(
  regularizer: core_regularizers.Regularizer | JaxlossRegularizer,
) -> JaxlossRegularizer:
  """The Keras form of a ``jaxloss.regularizers`` object (same config).

  Raises:
    TypeError: for anything that is not a jaxloss regularizer of a known
      class.
  """
  if isinstance(regularizer, JaxlossRegularizer):
    return regularizer
  cls = CLASSES.get(type(regularizer).__name__)
  if cls is None or not isinstance(regularizer, core_regularizers.Regularizer):
    raise TypeError(
      "from_jaxloss: regularizer must be a jaxloss regularizer "
      f"{sorted(CLASSES)}, got {regularizer!r}"
    )
  return cls(**regularizer.get_config())


__all__ = [
  "JaxlossRegularizer",
  "L1",
  "L1L2",
  "L2",
  "OrthogonalRegularizer",
  "from_jaxloss",
  "l1",
  "l1_l2",
  "l2",
  "orthogonal_regularizer",
]
