"""``jaxloss.keras``: the Keras forms train exactly as Keras's own losses.

The reference is Keras itself (keras==3.15.1, KERAS_BACKEND=jax): for each of
the 22 Keras losses, a tiny model trained two epochs with ``jaxloss.keras.X``
must give the loss history that ``keras.losses.X`` gives, with
``sample_weight``, with ``class_weight`` and with a Keras mask. To share
work, a model carries two identical heads (same initial weights) on one
trunk, one compiled with Keras's loss and one with the adapter: the heads see
the same features, so their per-output loss histories are equal at every
step exactly when the two losses agree in value and gradient under the
weights and the mask. All 22 pairs share one model (one compilation): the
trunk is common to every head, so a wrong loss moves only its own pair
apart.
"""

from __future__ import annotations

import dataclasses
import inspect
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
  pytest.skip("jaxloss.keras needs KERAS_BACKEND=jax", allow_module_level=True)

from keras.src.losses import LossFunctionWrapper as KerasLossFunctionWrapper  # noqa: E402,E501

import jaxloss  # noqa: E402
import jaxloss.keras as jk  # noqa: E402

KL = keras.losses


@pytest.fixture(autouse=True)
def _keras_rank_promotion():
  """Keras's layers broadcast [B, n] + [n] (a Dense bias): allow it here.
  jaxloss's own code runs under "raise" in the generic tests."""
  with jax.numpy_rank_promotion("allow"):
    yield


N, F, K, T = 16, 3, 3, 4
RTOL, ATOL = 1e-5, 1e-6


# ------------------------------------------------------------------- data


def _targets(kind, rng, lead):
  """Targets of a kind for leading shape ``lead`` (``(N,)`` or ``(N, T)``)."""
  if kind == "real":
    return rng.normal(size=(*lead, K))
  if kind == "pos":
    return rng.uniform(0.2, 2.0, size=(*lead, K))
  if kind == "multihot":
    return rng.integers(0, 2, size=(*lead, K)).astype(float)
  if kind == "binary":
    return rng.integers(0, 2, size=(*lead, 1)).astype(float)
  if kind == "onehot":
    return np.eye(K)[rng.integers(0, K, size=lead)]
  if kind == "simplex":
    e = rng.uniform(0.1, 1.0, size=(*lead, K))
    return e / e.sum(-1, keepdims=True)
  if kind == "sparse":
    return rng.integers(0, K, size=lead).astype(float)
  raise ValueError(kind)


# name -> (target kind, output activation, output units, constructor kwargs).
# The kwargs exercise non-default options; Dice and Tversky use a per-sample
# axis here (their default axis=None is batch-level, tested separately).
CASES = {
  "MeanSquaredError": ("real", None, K, {}),
  "MeanAbsoluteError": ("real", None, K, {}),
  "MeanAbsolutePercentageError": ("pos", None, K, {}),
  "MeanSquaredLogarithmicError": ("pos", "softplus", K, {}),
  "CosineSimilarity": ("real", None, K, {}),
  "Huber": ("real", None, K, {"delta": 0.7}),
  "LogCosh": ("real", None, K, {}),
  "Hinge": ("multihot", "tanh", K, {}),
  "SquaredHinge": ("multihot", "tanh", K, {}),
  "CategoricalHinge": ("onehot", None, K, {}),
  "KLDivergence": ("simplex", "softmax", K, {}),
  "Poisson": ("pos", "softplus", K, {}),
  "BinaryCrossentropy": ("binary", "sigmoid", 1, {"label_smoothing": 0.1}),
  "BinaryFocalCrossentropy": (
    "binary",
    None,
    1,
    {"from_logits": True, "gamma": 1.5, "apply_class_balancing": True},
  ),
  "CategoricalCrossentropy": (
    "onehot",
    None,
    K,
    {"from_logits": True, "label_smoothing": 0.1},
  ),
  "CategoricalFocalCrossentropy": ("onehot", "softmax", K, {"gamma": 1.5}),
  "SparseCategoricalCrossentropy": ("sparse", None, K, {"from_logits": True}),
  "CategoricalGeneralizedCrossEntropy": ("sparse", "softmax", K, {"q": 0.7}),
  "Dice": ("multihot", "sigmoid", K, {"axis": -1}),
  "Tversky": (
    "multihot",
    "sigmoid",
    K,
    {"alpha": 0.3, "beta": 0.7, "axis": -1},
  ),
  "Circle": ("sparse", None, 4, {"gamma": 8.0}),
  "CTC": ("ctc", None, K + 1, {}),
}
assert len(CASES) == 22


def _pair(name, **extra):
  """(Keras's loss, jaxloss.keras's loss) with the same configuration."""
  kwargs = {**CASES[name][3], **extra}
  theirs = getattr(KL, name)(**kwargs)
  # The same arguments, Tversky's included: jaxloss.keras.Tversky takes
  # Keras's alpha/beta (jaxloss.tversky keeps the paper's; the Keras form
  # maps them).
  ours = getattr(jk, name)(**kwargs)
  assert isinstance(ours, jk.JaxlossLoss)
  assert not isinstance(theirs, jk.JaxlossLoss)
  return theirs, ours


def _targets_for(name, rng, *, masked):
  kind = CASES[name][0]
  if kind == "ctc":
    y = rng.integers(1, K + 1, size=(N, 2)).astype(float)
    y[::3, 1] = 0  # shorter labels (0 is padding)
    return y.astype("float32")
  return _targets(kind, rng, (N, T) if masked else (N,)).astype("float32")


def _head(name, tag, h):
  _, activation, units, _ = CASES[name]
  if CASES[name][0] == "ctc":  # [N, 6, K + 1] per-frame logits
    out = keras.layers.Dense(6 * units, name=f"{tag}_{name}_dense")(h)
    return keras.layers.Reshape((6, units), name=f"{tag}_{name}")(out)
  return keras.layers.Dense(units, activation=activation, name=f"{tag}_{name}")(
    h
  )


def _twin_fit(names, *, masked=False, weighted=True, overrides=None):
  """One model, two heads per loss (Keras's, then jaxloss's), one fit.

  Returns the history. Masked: [N, T, F] sequences whose padded steps are
  zeros, under a Masking layer, with per-step weights [N, T].
  """
  overrides = overrides or {}
  rng = np.random.default_rng(0)
  if masked:
    x = rng.normal(size=(N, T, F))
    lengths = rng.integers(1, T + 1, size=N)
    x[np.arange(T)[None, :] >= lengths[:, None]] = 0.0
    w = rng.uniform(0.2, 2.0, size=(N, T))
  else:
    x = rng.normal(size=(N, F))
    w = rng.uniform(0.2, 2.0, size=N)
  x, w = x.astype("float32"), w.astype("float32")
  keras.utils.set_random_seed(0)
  inp = keras.Input(x.shape[1:])
  h = keras.layers.Masking(0.0)(inp) if masked else inp
  h = keras.layers.Dense(5, activation="tanh")(h)
  outputs, losses, ys = [], [], []
  for name in names:
    theirs, ours = _pair(name, **overrides.get(name, {}))
    y = _targets_for(name, rng, masked=masked)
    for tag, loss in (("k", theirs), ("j", ours)):
      outputs.append(_head(name, tag, h))
      losses.append(loss)
      ys.append(y)
  model = keras.Model(inp, outputs)
  for name in names:  # the twin heads start equal
    for suffix in ("", "_dense"):
      try:
        k = model.get_layer(f"k_{name}{suffix}")
      except ValueError:
        continue
      model.get_layer(f"j_{name}{suffix}").set_weights(k.get_weights())
  if masked:
    assert all(o._keras_mask is not None for o in model.outputs)
  model.compile(loss=losses, optimizer=keras.optimizers.SGD(0.05))
  fit_kwargs = {"sample_weight": [w] * len(ys)} if weighted else {}
  return model.fit(
    x, ys, batch_size=8, epochs=2, shuffle=False, verbose=0, **fit_kwargs
  ).history


def _assert_twins(history, name):
  a = np.array(history[f"k_{name}_loss"])
  b = np.array(history[f"j_{name}_loss"])
  assert a.shape == (2,) and np.all(np.isfinite(a))
  np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=name)
  # The training moved the loss: the comparison is of a real trajectory.
  assert a[0] != a[1], name


# ---------------------------------------------------- histories vs Keras


@pytest.fixture(scope="module")
def weighted_history():
  with jax.numpy_rank_promotion("allow"):
    return _twin_fit(sorted(CASES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_history_with_sample_weight(weighted_history, name):
  _assert_twins(weighted_history, name)


# CTC and Circle have no per-step form. Keras 3.15's cosine_similarity has
# a NaN gradient at an all-zero y_pred row, which a padded step of this
# model is (zero inputs, zero biases): it trains to NaN, the jaxloss form
# trains; no reference here.
MASKED = sorted(set(CASES) - {"CTC", "Circle", "CosineSimilarity"})


@pytest.fixture(scope="module")
def masked_history():
  with jax.numpy_rank_promotion("allow"):
    return _twin_fit(MASKED, masked=True)


@pytest.mark.parametrize("name", MASKED)
def test_history_with_mask_and_weights(masked_history, name):
  _assert_twins(masked_history, name)


@pytest.mark.parametrize("weighted", [False, True])
def test_history_dice_tversky_batch_level_default(weighted):
  """Keras's default axis=None: one value per batch; Keras accepts
  sample_weight in fit there (it scales the batch's value)."""
  names = ("Dice", "Tversky")
  with jax.numpy_rank_promotion("allow"):
    history = _twin_fit(
      names, weighted=weighted, overrides={n: {"axis": None} for n in names}
    )
  for name in names:
    _assert_twins(history, name)


CLASS_WEIGHT = (
  "SparseCategoricalCrossentropy",
  "BinaryCrossentropy",
  "CategoricalFocalCrossentropy",
)


def _small_model(name):
  _, activation, units, _ = CASES[name]
  keras.utils.set_random_seed(0)
  return keras.Sequential(
    [
      keras.Input((F,)),
      keras.layers.Dense(5, activation="tanh"),
      keras.layers.Dense(units, activation=activation),
    ]
  )


@pytest.mark.parametrize("name", CLASS_WEIGHT)
def test_history_with_class_weight(name):
  # Keras takes class_weight for single-output models only: two models.
  rng = np.random.default_rng(1)
  x = rng.normal(size=(N, F)).astype("float32")
  y = _targets_for(name, rng, masked=False)
  units = CASES[name][2]
  weights = {0: 0.3, 1: 2.0} if units == 1 else {0: 0.3, 1: 2.0, 2: 1.0}
  histories = []
  for loss in _pair(name):
    model = _small_model(name)
    model.compile(loss=loss, optimizer=keras.optimizers.SGD(0.05))
    histories.append(
      model.fit(
        x,
        y,
        class_weight=weights,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
      ).history["loss"]
    )
  np.testing.assert_allclose(histories[1], histories[0], rtol=RTOL, atol=ATOL)
  assert histories[0][0] != histories[0][1]


def test_multi_output_loss_weights():
  """Two outputs, different losses, loss_weights and per-output weights."""
  rng = np.random.default_rng(3)
  x = rng.normal(size=(N, F)).astype("float32")
  y_reg = rng.normal(size=(N, 2)).astype("float32")
  y_cls = rng.integers(0, K, size=N).astype("float32")
  w1 = rng.uniform(0.2, 2.0, N).astype("float32")
  w2 = rng.uniform(0.2, 2.0, N).astype("float32")
  histories = []
  for lib in (KL, jk):
    keras.utils.set_random_seed(0)
    inp = keras.Input((F,))
    h = keras.layers.Dense(5, activation="tanh")(inp)
    out = [
      keras.layers.Dense(2, name="reg")(h),
      keras.layers.Dense(K, name="cls")(h),
    ]
    model = keras.Model(inp, out)
    model.compile(
      loss=[
        lib.Huber(delta=0.5),
        lib.SparseCategoricalCrossentropy(from_logits=True),
      ],
      loss_weights=[0.3, 1.7],
      optimizer=keras.optimizers.SGD(0.05),
    )
    histories.append(
      model.fit(
        x,
        [y_reg, y_cls],
        sample_weight=[w1, w2],
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
      ).history
    )
  assert {"loss", "reg_loss", "cls_loss"} <= set(histories[0])
  for key in ("loss", "reg_loss", "cls_loss"):
    np.testing.assert_allclose(
      histories[1][key], histories[0][key], rtol=RTOL, atol=ATOL
    )


# ------------------------------------------------------- beyond Keras


BEYOND = {
  # name: (kwargs, make (x, y), output units, activation)
  "SigmoidFocalCrossEntropy": ({"from_logits": True}, "multihot", K, None),
  "LovaszHinge": ({}, "multihot", K, None),
  "FBetaLoss": ({"mode": "batch", "beta": 2.0}, "binary", 1, "sigmoid"),
  "TripletSemiHardLoss": ({}, "sparse", 4, None),
  "GIoULoss": ({}, "boxes", 4, None),
}


@pytest.mark.parametrize("name", sorted(BEYOND))
def test_beyond_keras_losses_train(name):
  """Losses Keras lacks train through compile/fit; the first-epoch loss is
  the jaxloss loss object's value on the initial model's predictions."""
  kwargs, kind, units, activation = BEYOND[name]
  rng = np.random.default_rng(5)
  x = rng.normal(size=(N, F)).astype("float32")
  if kind == "boxes":
    lo = rng.uniform(0, 1, size=(N, 2))
    y = np.concatenate([lo, lo + rng.uniform(0.5, 1, size=(N, 2))], -1)
  else:
    y = _targets(kind, rng, (N,))
  y = y.astype("float32")
  keras.utils.set_random_seed(0)
  model = keras.Sequential(
    [
      keras.Input((F,)),
      keras.layers.Dense(5, activation="tanh"),
      keras.layers.Dense(units, activation=activation),
    ]
  )
  if kind == "boxes":  # [x1, y1, x1 + softplus, y1 + softplus]
    model = keras.Sequential(
      [
        model,
        keras.layers.Lambda(
          lambda b: keras.ops.concatenate(
            [b[:, :2], b[:, :2] + keras.ops.softplus(b[:, 2:])], -1
          )
        ),
      ]
    )
  before = model.predict(x, batch_size=N, verbose=0)
  core = getattr(jaxloss, name)(**kwargs)
  model.compile(
    loss=getattr(jk, name)(**kwargs), optimizer=keras.optimizers.SGD(0.01)
  )
  history = model.fit(x, y, batch_size=N, epochs=2, verbose=0).history["loss"]
  y_ref = y[:, None] if kind == "binary" and y.ndim == 1 else y
  np.testing.assert_allclose(history[0], core(y_ref, before), rtol=1e-5)
  assert np.all(np.isfinite(history))


# ------------------------------------------------ conventions and errors


def test_registry_covers_every_y_true_y_pred_class():
  for name in jaxloss.__all__:
    cls = getattr(jaxloss, name)
    if (
      isinstance(cls, type)
      and issubclass(cls, jaxloss.Loss)
      and cls.__name__ == name
      and cls not in (jaxloss.Loss, jaxloss.LossFunctionWrapper)
    ):
      has = name in jk.ADAPTERS
      assert has == (tuple(cls.inputs) == ("y_true", "y_pred")), name
  assert set(CASES) <= set(jk.ADAPTERS)
  assert not hasattr(jk, "TripletMarginLoss")  # three inputs: no Keras form


def test_adapters_are_declared_with_their_class_signature():
  # Each adapter is a class statement in jaxloss/keras/_losses.py naming its
  # jaxloss class; its constructor takes that class's keywords (under
  # Keras's names) after Keras's reduction, name and dtype.
  assert set(jk.__all__) == set(jk.ADAPTERS) | set(jk.FUNCTIONS) | {
    "ADAPTERS",
    "FUNCTIONS",
    "JaxlossLoss",
    "from_jaxloss",
    "regularizers",
  }
  for name, cls in jk.ADAPTERS.items():
    head = " ".join(inspect.getsource(cls).split(":")[0].split())
    assert head.replace("( ", "(").replace(" )", ")") == (
      f"class {name}(JaxlossLoss, core=jaxloss.{name})"
    ), name
    core = getattr(jaxloss, name)
    to_keras = cls.keras_keywords
    want = [("reduction", "sum_over_batch_size"), ("name", None)]
    want += [("dtype", None)] + [
      (to_keras.get(f.name, f.name), f.default)
      for f in dataclasses.fields(core)
      if f.name in core.hyper_parameter_names()
    ]
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == want, name
  with pytest.raises(TypeError, match="must be named Huber"):

    class NotHuber(jk.JaxlossLoss, core=jaxloss.Huber):
      pass


def test_same_constructor_keywords_and_errors():
  loss = jk.Huber(delta=0.3)
  assert loss.core.delta == 0.3
  # Keras's own Huber drops delta from its config; so does its form here.
  assert loss.get_config() == KL.Huber(delta=0.3).get_config()
  with pytest.raises(TypeError, match="unexpected keyword"):
    jk.Huber(alpha=1.0)
  with pytest.raises(ValueError, match="reduction"):
    jk.Huber(reduction="avg")


def test_dtype_policy_and_integer_predictions():
  y_true = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
  half = np.array([[0.5, 1.0], [2.0, 0.0]], np.float16)
  for name in ("MeanSquaredError", "Huber", "LogCosh"):
    theirs, ours = getattr(KL, name)(), getattr(jk, name)()
    got, want = ours(y_true, half), theirs(y_true, half)
    assert got.dtype == want.dtype == np.float32  # default policy: float32
    np.testing.assert_allclose(got, want, rtol=RTOL)
    ints = np.array([[0, 1], [2, 0]], np.int32)
    np.testing.assert_allclose(
      ours(y_true, ints), theirs(y_true, ints), rtol=RTOL
    )
    assert ours(y_true, ints).dtype == np.float32
  loss = jk.MeanSquaredError(dtype="float16")
  assert loss(y_true, half).dtype == np.float16
  loss = jk.MeanSquaredError(dtype=keras.DTypePolicy("mixed_bfloat16"))
  assert loss.dtype == "bfloat16"
  # Keras's config drops the dtype (its own losses reload with the
  # default policy); a jaxloss-only loss keeps it.
  assert (
    loss.get_config()
    == KL.MeanSquaredError(
      dtype=keras.DTypePolicy("mixed_bfloat16")
    ).get_config()
  )
  fbeta = jk.FBetaLoss(dtype=keras.DTypePolicy("mixed_bfloat16"))
  assert jk.FBetaLoss.from_config(fbeta.get_config()).dtype == "bfloat16"


def test_values_match_keras_with_weights_and_masks_directly():
  """Loss.__call__ without a model: weights [B], a mask on y_pred, and the
  loss's own mask (ignore_class)."""
  rng = np.random.default_rng(7)
  labels = rng.integers(0, K, size=(4, 5)).astype(np.int32)
  logits = rng.normal(size=(4, 5, K)).astype(np.float32)
  w = rng.uniform(0.2, 2.0, size=(4, 5)).astype(np.float32)
  theirs = KL.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
  ours = jk.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
  for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight"):
    theirs.reduction = ours.reduction = reduction
    np.testing.assert_allclose(
      ours(labels, logits, w), theirs(labels, logits, w), rtol=RTOL
    )
  theirs.reduction = ours.reduction = "sum_over_batch_size"

  def grads(loss):
    return jax.grad(lambda z: loss(labels, z, w))(logits)

  np.testing.assert_allclose(grads(ours), grads(theirs), rtol=1e-4, atol=1e-7)


def test_batch_level_losses_refuse_weights():
  y = np.array([[1.0], [0.0], [1.0]], np.float32)
  p = np.array([[0.5], [0.5], [0.9]], np.float32)
  loss = jk.FBetaLoss(mode="batch")
  np.testing.assert_allclose(loss(y, p), jaxloss.fbeta_loss(y, p, mode="batch"))
  with pytest.raises(ValueError, match="FBetaLoss: sample_weight"):
    loss(y, p, sample_weight=np.ones(3, np.float32))
  # Keras's own batch-level Dice / Tversky (axis=None) take weights (the
  # batch's value scaled by them): the Keras forms give Keras's number.
  w = np.array([0.5, 1.0, 2.0], np.float32)
  for name in ("Dice", "Tversky"):
    np.testing.assert_allclose(
      getattr(jk, name)()(y, p, sample_weight=w),
      getattr(KL, name)()(y, p, sample_weight=w),
      rtol=RTOL,
    )


def test_plain_jaxloss_object_in_compile_names_the_fix():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(N, F)).astype("float32")
  y = rng.normal(size=(N, K)).astype("float32")
  w = rng.uniform(0.2, 2.0, size=N).astype("float32")
  keras.utils.set_random_seed(0)
  model = keras.Sequential([keras.Input((F,)), keras.layers.Dense(K)])
  model.compile(loss=jaxloss.Huber(delta=0.7), optimizer="sgd")
  with pytest.raises(TypeError, match=r"use jaxloss\.keras\.Huber"):
    model.fit(x, y, sample_weight=w, epochs=1, verbose=0)
  wrapped = KerasLossFunctionWrapper(jaxloss.wrap(jaxloss.huber, delta=0.7))
  with pytest.raises(TypeError, match="from_jaxloss"):
    wrapped(y, y)
  # Outside Keras, the object is unchanged.
  assert float(jaxloss.Huber()(y, y)) == 0.0
  # The per-sample function itself is what Keras expects of a function.
  model.compile(loss=jaxloss.huber, optimizer="sgd")
  model.fit(x, y, sample_weight=w, epochs=1, verbose=0)


def test_from_jaxloss():
  core = jaxloss.CategoricalCrossentropy(from_logits=True, name="cce")
  loss = jk.from_jaxloss(core)
  assert type(loss) is jk.CategoricalCrossentropy
  assert loss.name == "cce" and loss.hyper_parameters()["from_logits"]
  wrapped = jk.from_jaxloss(jaxloss.wrap(jaxloss.huber, delta=0.5))
  assert isinstance(wrapped, KerasLossFunctionWrapper)
  y = np.array([[0.0], [3.0]], np.float32)
  np.testing.assert_allclose(wrapped(y, 0 * y), KL.Huber(delta=0.5)(y, 0 * y))
  with pytest.raises(TypeError, match="from_jaxloss: obj"):
    jk.from_jaxloss(jaxloss.TripletMarginLoss())


def test_fbeta_batch_mode_on_binary_outputs():
  """Per sample, a [B, 1] output scores each row alone: predicting 1 for
  every row gives loss 0 on positives and 1 on negatives, whatever the
  classifier; the batch mode gives the F-beta of the whole batch."""
  y = np.array([[1.0], [0.0], [0.0], [0.0]], np.float32)
  ones = np.ones_like(y)
  per_sample = jaxloss.fbeta_loss(y, ones)
  np.testing.assert_allclose(per_sample, [0.0, 1.0, 1.0, 1.0], atol=1e-6)
  # Batch: TP = 1, FP = 3, FN = 0, F1 = 2 / (2 + 3) = 0.4.
  np.testing.assert_allclose(
    jaxloss.fbeta_loss(y, ones, mode="batch"), 0.6, rtol=1e-6
  )
  with pytest.raises(ValueError, match="fbeta_loss: mode"):
    jaxloss.fbeta_loss(y, ones, mode="macro")
  with pytest.raises(ValueError, match="fbeta_loss"):
    jaxloss.fbeta_loss(y[:, 0], ones[:, 0], mode="batch")


def test_import_jaxloss_does_not_import_keras():
  code = "import sys, jaxloss; print('keras' in sys.modules)"
  root = pathlib.Path(__file__).resolve().parents[1]
  out = subprocess.run(
    [sys.executable, "-c", code],
    capture_output=True,
    text=True,
    check=True,
    cwd=root,
  )
  assert out.stdout.strip() == "False"


def test_cosine_gradient_at_zero_prediction():
  """Why CosineSimilarity has no masked reference: Keras 3.15's gradient at
  an all-zero y_pred row is NaN even with weight 0; jaxloss's is finite."""
  y = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]], np.float32)
  p = np.array([[0.5, 0.1, 0.2], [0.0, 0.0, 0.0]], np.float32)
  w = np.array([1.0, 0.0], np.float32)
  ours, theirs = jk.CosineSimilarity(), KL.CosineSimilarity()
  grad_ours = jax.grad(lambda q: ours(y, q, w))(p)
  grad_theirs = jax.grad(lambda q: theirs(y, q, w))(p)
  assert np.all(np.isfinite(grad_ours))
  np.testing.assert_allclose(grad_ours[0], grad_theirs[0], rtol=1e-5)
  assert np.all(np.isnan(grad_theirs[1]))


# ------------------------------------------------ functional forms


def _function_inputs(name, rng):
  """Inputs for Keras's function ``name`` (y_true, y_pred, extra args)."""
  if name in ("sparse_categorical_crossentropy",):
    return rng.integers(0, K, size=(4,)), rng.dirichlet(np.ones(K), 4), ()
  if name == "categorical_generalized_cross_entropy":
    return rng.integers(0, K, size=(4,)), rng.dirichlet(np.ones(K), 4), (0.7,)
  if name == "ctc":
    labels = np.array([[1, 2, 0], [2, 0, 0], [1, 1, 2], [2, 1, 0]])
    return labels, rng.normal(size=(4, 6, K)), ()
  if name == "circle":
    return rng.integers(0, 2, size=(4,)), rng.normal(size=(4, 3)), ()
  if name in ("categorical_crossentropy", "categorical_focal_crossentropy"):
    return np.eye(K)[rng.integers(0, K, 4)], rng.dirichlet(np.ones(K), 4), ()
  if name == "kl_divergence":
    return rng.dirichlet(np.ones(K), 4), rng.dirichlet(np.ones(K), 4), ()
  if "crossentropy" in name or name in ("dice", "tversky"):
    return (
      rng.integers(0, 2, size=(4, K)).astype(float),
      rng.uniform(0.05, 0.95, size=(4, K)),
      (0.3, 0.7) if name == "tversky" else (),
    )
  if name in ("hinge", "squared_hinge", "categorical_hinge"):
    return rng.choice([-1.0, 1.0], size=(4, K)), rng.normal(size=(4, K)), ()
  if name in ("poisson", "mean_squared_logarithmic_error"):
    return rng.uniform(0.1, 3, (4, K)), rng.uniform(0.1, 3, (4, K)), ()
  return rng.normal(size=(4, K)), rng.normal(size=(4, K)), ()


@pytest.mark.parametrize("name", sorted(jk.FUNCTIONS))
def test_functional_forms_are_keras_functions(name):
  # Every loss function of keras.losses exists in jaxloss.keras with its
  # signature and per-sample values (no reduction), Tversky's alpha/beta
  # in Keras's meaning.
  import inspect  # noqa: PLC0415

  keras_fn = getattr(keras.losses, name)
  ours = getattr(jk, name)
  assert inspect.signature(ours) == inspect.signature(keras_fn)
  rng = np.random.default_rng(3)
  y_true, y_pred, extra = _function_inputs(name, rng)
  y_pred = y_pred.astype(np.float32)
  with jax.numpy_rank_promotion("allow"):
    want = keras_fn(y_true, y_pred, *extra)
    got = ours(y_true, y_pred, *extra)
  assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
  np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_keras_function_names_all_covered():
  import inspect  # noqa: PLC0415

  names = {
    n
    for n, f in vars(keras.losses).items()
    if inspect.isfunction(f) and n not in ("get", "serialize", "deserialize")
  }
  assert names == set(jk.FUNCTIONS)


def test_sparse_crossentropy_class_axis():
  # Keras's torch backend computes SparseCategoricalCrossentropy(axis=0)
  # (its JAX backend raises): the value of Keras's own test, 0.0 for a
  # perfect prediction, and the same as moving the class axis last.
  y_true = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
  y_pred = np.eye(2)[y_true].astype(np.float32)  # [4, 4, 2], perfect
  moved = np.moveaxis(y_pred, 2, 0)
  got = jk.SparseCategoricalCrossentropy(axis=0)(y_true, moved)
  np.testing.assert_allclose(got, 0.0, atol=1e-6)
  rng = np.random.default_rng(0)
  probs = rng.dirichlet(np.ones(3), size=(4, 4)).astype(np.float32)
  labels = rng.integers(0, 3, size=(4, 4))
  np.testing.assert_allclose(
    jk.SparseCategoricalCrossentropy(axis=1)(labels, np.moveaxis(probs, 2, 1)),
    KL.SparseCategoricalCrossentropy()(labels, probs),
    rtol=RTOL,
  )
