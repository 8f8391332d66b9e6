"""``jaxloss.keras`` serialization: configs, ``get``/``deserialize``, and a
full ``model.save`` / ``keras.models.load_model`` round trip without
``custom_objects`` (keras==3.15.1, KERAS_BACKEND=jax)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
  pytest.skip("jaxloss.keras needs KERAS_BACKEND=jax", allow_module_level=True)

import jaxloss  # noqa: E402
import jaxloss.keras as jk  # noqa: E402
from jaxloss.keras import regularizers as jkr  # noqa: E402

# Non-default hyper-parameters, so that a round trip that dropped one
# would be seen; other classes use their defaults.
NON_DEFAULT = {
  "Huber": {"delta": 0.3},
  "BinaryFocalCrossentropy": {
    "gamma": 1.5,
    "alpha": 0.4,
    "apply_class_balancing": True,
  },
  "CategoricalCrossentropy": {
    "from_logits": True,
    "label_smoothing": 0.1,
    "axis": 1,
  },
  "SparseCategoricalCrossentropy": {"ignore_class": 2},
  "Tversky": {"alpha": 0.3, "beta": 0.7, "axis": (1, 2)},
  "Dice": {"axis": -1},
  "Circle": {"gamma": 8.0, "margin": 0.25},
  "FBetaLoss": {"beta": 2.0, "mode": "batch"},
  "RobustLoss": {"alpha": 0.5, "scale": 2.0},
}


def _json(config):
  return json.loads(json.dumps(config))


def _keras_class(name):
  keras_class = getattr(keras.losses, name, None)
  if isinstance(keras_class, type) and issubclass(
    keras_class, keras.losses.Loss
  ):
    return keras_class
  return None


@pytest.mark.parametrize("name", sorted(jk.ADAPTERS))
def test_config_round_trip(name):
  cls = getattr(jk, name)
  kwargs = NON_DEFAULT.get(name, {})
  loss = cls(name=f"my_{name.lower()}", reduction="sum", **kwargs)
  config = loss.get_config()
  keras_class = _keras_class(name)
  if keras_class is not None:
    # A loss Keras has: exactly the config of Keras's own class built with
    # the same arguments (which drops what Keras's drops: Huber's delta).
    want = keras_class(name=f"my_{name.lower()}", reduction="sum", **kwargs)
    assert config == want.get_config()
  else:
    assert config["name"] == f"my_{name.lower()}"
    assert config["reduction"] == "sum"
    # Every hyper-parameter of the jaxloss class is in the config.
    assert set(loss.core.hyper_parameters()) <= set(config)
    for key, value in kwargs.items():
      assert config[key] == value, key
  serialized = _json(keras.losses.serialize(loss))
  assert serialized["registered_name"] == f"jaxloss>{name}"
  for again in (
    keras.losses.deserialize(serialized),
    keras.losses.get(serialized),
    cls.from_config(_json(config)),
  ):
    assert type(again) is cls
    assert again.get_config() == config
    if keras_class is None or set(kwargs) <= set(config):
      assert again.core == loss.core


def test_config_keeps_jaxloss_extensions_keras_has_no_keyword_for():
  loss = jk.SparseCategoricalCrossentropy(label_smoothing=0.1, ignore_class=2)
  config = loss.get_config()
  assert config["label_smoothing"] == 0.1 and config["ignore_class"] == 2
  assert jk.SparseCategoricalCrossentropy.from_config(config).core == loss.core
  # At its default the extension is absent: Keras's keys exactly.
  assert (
    "label_smoothing" not in jk.SparseCategoricalCrossentropy().get_config()
  )


@pytest.mark.parametrize(
  "cls", [jkr.L1, jkr.L2, jkr.L1L2, jkr.OrthogonalRegularizer]
)
def test_regularizer_round_trip(cls):
  kwargs = {
    "L1": {"l1": 0.2},
    "L2": {"l2": 0.3},
    "L1L2": {"l1": 0.1, "l2": 0.2},
    "OrthogonalRegularizer": {"factor": 0.5, "mode": "columns"},
  }
  reg = cls(**kwargs[cls.__name__])
  serialized = _json(keras.regularizers.serialize(reg))
  assert serialized["registered_name"] == f"jaxloss>{cls.__name__}"
  again = keras.regularizers.deserialize(serialized)
  assert type(again) is cls and again.get_config() == reg.get_config()
  x = keras.ops.convert_to_tensor(
    np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
  )
  # The penalty is jaxloss's, hence Keras's (jaxloss.regularizers tests).
  core = getattr(jaxloss.regularizers, cls.__name__)(**kwargs[cls.__name__])
  np.testing.assert_allclose(again(x), core(x), rtol=1e-6)
  keras_cls = getattr(keras.regularizers, cls.__name__)
  np.testing.assert_allclose(
    again(x), keras_cls(**kwargs[cls.__name__])(x), rtol=1e-5
  )
  assert type(jkr.from_jaxloss(core)) is cls
  with pytest.raises(TypeError, match="from_jaxloss: regularizer"):
    jkr.from_jaxloss(keras_cls())


@keras.saving.register_keras_serializable(package="jaxloss_tests")
class _Penalised(keras.layers.Layer):
  """A layer that adds a jaxloss value with add_loss."""

  def __init__(self, weight=0.1, **kwargs):
    super().__init__(**kwargs)
    self.weight = weight

  def call(self, x):
    self.add_loss(
      self.weight * jaxloss.reduce(jaxloss.log_cosh(keras.ops.zeros_like(x), x))
    )
    return x

  def get_config(self):
    return {**super().get_config(), "weight": self.weight}


def test_model_save_and_load(tmp_path):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(8, 3)).astype(np.float32)
  y = rng.integers(0, 3, size=8).astype(np.float32)
  keras.utils.set_random_seed(0)
  inp = keras.Input((3,))
  h = keras.layers.Dense(4, activation="tanh", kernel_regularizer=jkr.L2(0.05))(
    inp
  )
  h = _Penalised(0.2)(h)
  out = keras.layers.Dense(
    3, kernel_regularizer=jkr.OrthogonalRegularizer(0.1)
  )(h)
  model = keras.Model(inp, out)
  loss = jk.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
  with jax.numpy_rank_promotion("allow"):  # Keras's Dense bias broadcast
    model.compile(loss=loss, optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    before = model.evaluate(x, y, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    after = loaded.evaluate(x, y, verbose=0)
  assert type(loaded.loss) is jk.SparseCategoricalCrossentropy
  assert loaded.loss.get_config() == loss.get_config()
  assert type(loaded.layers[1].kernel_regularizer) is jkr.L2
  assert loaded.layers[1].kernel_regularizer.get_config() == {"l2": 0.05}
  assert type(loaded.layers[3].kernel_regularizer) is (
    jkr.OrthogonalRegularizer
  )
  np.testing.assert_allclose(after, before, rtol=1e-6)
  # The two regularizers, and the add_loss term of the last call.
  with jax.numpy_rank_promotion("allow"):
    loaded(x)
  assert len(loaded.losses) == 3
