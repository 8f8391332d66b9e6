"""Keras 3 (JAX backend) forms of the jaxloss losses and regularizers.

* ``jaxloss.keras.X`` for every jaxloss loss class ``jaxloss.X`` with inputs
  ``(y_true, y_pred)``: a genuine ``keras.losses.Loss`` subclass with the
  same constructor keywords (plus Keras's ``reduction``, ``name``,
  ``dtype``), whose ``call`` returns jaxloss's per-sample values. Keras then
  applies ``sample_weight``, ``class_weight``, masks, ``loss_weights`` and
  the reduction exactly as for its own losses. Every class is registered
  with Keras as ``"jaxloss>X"``: ``model.save`` / ``keras.models.load_model``
  and ``keras.losses.get`` / ``deserialize`` work without
  ``custom_objects`` once ``jaxloss.keras`` is imported.
* ``jaxloss.keras.regularizers``: Keras-registered forms of
  :mod:`jaxloss.regularizers`.
* ``from_jaxloss(obj)``: the Keras form of a jaxloss loss object.

Keras is an optional extra (``pip install jaxloss[keras]``); ``import
jaxloss`` never imports it. The Keras backend must be JAX: when Keras is
not imported yet and ``KERAS_BACKEND`` is unset, importing
``jaxloss.keras`` selects it. See docs/keras.md.

Examples:
  >>> import keras
  >>> import jaxloss.keras
  >>> loss = jaxloss.keras.Huber(delta=0.5)
  >>> isinstance(loss, keras.losses.Loss)
  True
  >>> float(loss([[0.0], [1.0]], [[2.0], [1.0]], sample_weight=[1.0, 0.0]))
  0.4375
  >>> keras.losses.deserialize(keras.losses.serialize(loss)).get_config()
  {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'dtype': None, \
'delta': 0.5}
"""

import importlib.util
import os
import sys

if importlib.util.find_spec("keras") is None:  # pragma: no cover
  raise ImportError(
    "jaxloss.keras needs Keras 3, an optional extra: pip install jaxloss[keras]"
  )
if "keras" not in sys.modules:
  # Keras reads its backend once, at import: choose JAX unless the user did.
  os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

if keras.backend.backend() != "jax":  # pragma: no cover
  raise ImportError(
    "jaxloss.keras: the Keras backend must be 'jax' (set KERAS_BACKEND=jax "
    f"before importing keras), got {keras.backend.backend()!r}"
  )

from jaxloss.keras import _losses  # noqa: E402
from jaxloss.keras import regularizers  # noqa: E402
from jaxloss.keras._losses import *  # noqa: E402, F403

__all__ = ["regularizers"]
__all__ += _losses.__all__


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(__all__))
