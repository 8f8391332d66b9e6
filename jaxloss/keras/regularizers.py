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

import keras

from jaxloss import regularizers as core_regularizers

PACKAGE = "jaxloss"


class JaxlossRegularizer(keras.regularizers.Regularizer):
  """Base of the Keras forms: a Keras regularizer around a jaxloss one.

  The constructor takes the arguments of ``core_class`` (validated there).
  """

  core_class: type | None = None  # set by each Keras form

  def __init__(self, *args, **kwargs):
    core_class = type(self).core_class
    assert core_class is not None  # every Keras form sets it
    self._core = core_class(*args, **kwargs)

  @property
  def core(self):
    """The jaxloss regularizer computing the penalty."""
    return self._core

  def __call__(self, x):
    return self._core(x)

  def get_config(self):
    return dict(self._core.get_config())

  @classmethod
  def from_config(cls, config):
    return cls(**config)

  def __repr__(self):
    return f"jaxloss.keras.regularizers.{self._core!r}"


def _keras_form(core_class):
  name = core_class.__name__
  cls = type(
    name,
    (JaxlossRegularizer,),
    {
      "core_class": core_class,
      "__doc__": (
        f"Keras form of :class:`jaxloss.regularizers.{name}` (registered "
        f'with Keras as ``"{PACKAGE}>{name}"``).\n'
      ),
      "__module__": __name__,
      "__qualname__": name,
    },
  )
  return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


L1 = _keras_form(core_regularizers.L1)
L2 = _keras_form(core_regularizers.L2)
L1L2 = _keras_form(core_regularizers.L1L2)
OrthogonalRegularizer = _keras_form(core_regularizers.OrthogonalRegularizer)

# Keras 3's lowercase names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

CLASSES = {c.__name__: c for c in (L1, L2, L1L2, OrthogonalRegularizer)}


def from_jaxloss(regularizer):
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
