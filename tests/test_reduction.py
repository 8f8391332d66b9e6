"""``reduce``, class weights, ``wrap`` and the registry.

Expected values are computed by hand from the formulas in ``reduce``'s
docstring (sum of weighted values over a count or a weight sum).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

V = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # values [B=2, T=3]
W = np.array([0.5, 2.0])  # per-sample weights, broadcast over T
M = np.array([[True, True, False], [True, False, False]])


@pytest.mark.parametrize(
  "reduction, kwargs, want",
  [
    ("sum", {}, 21.0),
    ("sum_over_batch_size", {}, 21.0 / 6),
    ("mean", {}, 21.0 / 6),
    ("mean_with_sample_weight", {}, 21.0 / 6),
    # weights from the leading axis: 0.5 * 6 + 2 * 15 = 33
    ("sum", {"sample_weight": W}, 33.0),
    ("sum_over_batch_size", {"sample_weight": W}, 33.0 / 6),
    # divided by the sum of the *broadcast* weights: 3 * 0.5 + 3 * 2
    ("mean_with_sample_weight", {"sample_weight": W}, 33.0 / 7.5),
    # mask: 1 + 2 + 4 over 3 valid entries
    ("sum", {"where": M}, 7.0),
    ("sum_over_batch_size", {"where": M}, 7.0 / 3),
    # mask and weights: 0.5 + 1 + 8 = 9.5 over (0.5 + 0.5 + 2)
    ("mean_with_sample_weight", {"where": M, "sample_weight": W}, 9.5 / 3),
    ("sum_over_batch_size", {"where": M, "sample_weight": W}, 9.5 / 3),
    # a global normalizer replaces the count
    ("mean", {"normalizer": 10.0}, 2.1),
  ],
)
def test_reduce_formulas(reduction, kwargs, want):
  got = jaxloss.reduce(V, reduction=reduction, **kwargs)
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_reduce_none_keeps_shape_and_zeroes_masked():
  got = jaxloss.reduce(V, sample_weight=W, where=M, reduction="none")
  want = np.where(M, V * W[:, None], 0.0)
  np.testing.assert_allclose(got, want)
  assert jaxloss.reduce(V, reduction=None).shape == V.shape


def test_masked_nan_does_not_leak():
  values = jnp.array([1.0, jnp.nan, 3.0])
  got = jaxloss.reduce(values, where=jnp.array([True, False, True]))
  np.testing.assert_allclose(got, 2.0)


@pytest.mark.parametrize(
  "reduction", ["sum_over_batch_size", "mean", "mean_with_sample_weight"]
)
def test_fully_masked_batch_is_zero_with_finite_gradient(reduction):
  def f(v):
    return jaxloss.reduce(
      v,
      where=jnp.zeros(v.shape, bool),
      sample_weight=jnp.zeros(v.shape[:1]),
      reduction=reduction,
    )

  v = jnp.asarray(V)
  value, grad = jax.value_and_grad(f)(v)
  assert value == 0.0
  assert np.all(np.isfinite(grad)) and np.all(grad == 0)


def test_half_precision_accumulates_in_float32():
  # 4096 values of 1.0 sum exactly in float32; a float16 running sum would
  # stop at 2048 (its spacing there is 2).
  values = jnp.ones((4096,), jnp.float16)
  got = jaxloss.reduce(values, reduction="sum")
  assert got.dtype == jnp.float16 and float(got) == 4096.0


def test_sample_weight_trailing_one_is_accepted():
  got = jaxloss.reduce(V[:, 0], sample_weight=W[:, None], reduction="sum")
  np.testing.assert_allclose(got, 0.5 * 1 + 2 * 4)


def test_reduce_under_jit_and_vmap():
  f = jax.jit(lambda v, w: jaxloss.reduce(v, sample_weight=w))
  np.testing.assert_allclose(f(V, W), 33.0 / 6, rtol=1e-6)
  per_row = jax.vmap(lambda v: jaxloss.reduce(v, reduction="sum"))(V)
  np.testing.assert_allclose(per_row, [6.0, 15.0])


# ----------------------------------------------------------- class weights


def test_class_weights_sparse_and_one_hot_agree():
  labels = np.array([0, 2, 1, 2])
  table = {0: 1.0, 1: 3.0, 2: 0.5}
  sparse = jaxloss.class_weights_to_sample_weights(labels, table, num_classes=3)
  dense = jaxloss.class_weights_to_sample_weights(np.eye(3)[labels], table)
  seq = jaxloss.class_weights_to_sample_weights(labels, [1.0, 3.0, 0.5])
  np.testing.assert_allclose(sparse, [1.0, 0.5, 3.0, 0.5])
  np.testing.assert_allclose(dense, sparse)
  np.testing.assert_allclose(seq, sparse)


def test_class_weights_missing_classes_weigh_one():
  got = jaxloss.class_weights_to_sample_weights(
    [0, 1, 2], {1: 4.0}, num_classes=3
  )
  np.testing.assert_allclose(got, [1.0, 4.0, 1.0])


def test_class_weights_match_keras_fit_semantics():
  # Keras's fit(class_weight=...) multiplies each sample's loss by the
  # weight of its class; with "sum_over_batch_size" that is sum(w l) / B.
  labels = np.array([0, 1, 1])
  logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
  w = jaxloss.class_weights_to_sample_weights(labels, {0: 2.0, 1: 1.0})
  loss = jaxloss.SparseCategoricalCrossentropy(from_logits=True)
  got = loss(labels, logits, sample_weight=w)
  per = jaxloss.sparse_categorical_crossentropy(
    labels, logits, from_logits=True
  )
  np.testing.assert_allclose(got, (2 * per[0] + per[1] + per[2]) / 3, rtol=1e-6)


# -------------------------------------------------------- wrap / registry


def test_wrap_custom_loss_with_weights_and_reductions():
  def cubic(y_true, y_pred, *, scale=1.0):
    return scale * jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)

  loss = jaxloss.wrap(cubic, scale=2.0, reduction="sum")
  t, p = np.zeros((2, 2)), np.array([[1.0, 1.0], [2.0, 0.0]])
  np.testing.assert_allclose(loss(t, p), 2.0 * (1.0 + 4.0))
  np.testing.assert_allclose(loss(t, p, sample_weight=[1.0, 0.0]), 2.0)
  again = jaxloss.wrap(cubic, scale=2.0, reduction="sum")
  assert loss == again and hash(loss) == hash(again)
  assert jax.jit(lambda a, b: loss(a, b))(t, p) == loss(t, p)


def test_wrap_roundtrips_registered_functions():
  loss = jaxloss.wrap(jaxloss.huber, delta=2.0, name="h")
  again = jaxloss.deserialize(jaxloss.serialize(loss))
  assert again == loss


@pytest.mark.parametrize(
  "alias, fn",
  [
    ("mse", jaxloss.mean_squared_error),
    ("MSE", jaxloss.mean_squared_error),
    ("mae", jaxloss.mean_absolute_error),
    ("MAE", jaxloss.mean_absolute_error),
    ("mape", jaxloss.mean_absolute_percentage_error),
    ("MAPE", jaxloss.mean_absolute_percentage_error),
    ("msle", jaxloss.mean_squared_logarithmic_error),
    ("MSLE", jaxloss.mean_squared_logarithmic_error),
    ("kld", jaxloss.kl_divergence),
    ("KLD", jaxloss.kl_divergence),
    ("kullback_leibler_divergence", jaxloss.kl_divergence),
    ("bce", jaxloss.binary_crossentropy),
    ("BCE", jaxloss.binary_crossentropy),
    ("logcosh", jaxloss.log_cosh),
    ("huber", jaxloss.huber),
  ],
)
def test_get_aliases(alias, fn):
  assert jaxloss.get(alias) is fn


def test_get_forms():
  assert jaxloss.get("Huber") == jaxloss.Huber()
  assert jaxloss.get({"class_name": "Huber", "config": {"delta": 3.0}}) == (
    jaxloss.Huber(delta=3.0)
  )
  obj = jaxloss.Tversky(alpha=0.3)
  assert jaxloss.get(obj) is obj
  assert jaxloss.get(None) is None


def test_serialize_keeps_every_field():
  for obj in (
    jaxloss.Huber(delta=0.3, name="h", reduction="sum"),
    jaxloss.CosineSimilarity(axis=0),
    jaxloss.CategoricalFocalCrossentropy(alpha=[0.1, 0.9]),
    jaxloss.SparseCategoricalCrossentropy(ignore_index=255, dtype="bfloat16"),
  ):
    config = jaxloss.serialize(obj)
    again = jaxloss.deserialize(config)
    assert again == obj and again.get_config() == obj.get_config()


def test_object_dtype_casts_inputs():
  loss = jaxloss.MeanSquaredError(dtype="bfloat16")
  got = loss(np.zeros((2, 3)), np.ones((2, 3)))
  assert got.dtype == jnp.bfloat16 and float(got) == 1.0


def test_objects_are_static_under_jit():
  @jax.jit
  def f(t, p):
    return jaxloss.Huber(delta=0.5)(t, p)

  np.testing.assert_allclose(f(np.zeros((1, 1)), np.ones((1, 1))), 0.375)
  f2 = jax.jit(lambda loss, t, p: loss(t, p), static_argnums=0)
  np.testing.assert_allclose(
    f2(jaxloss.Huber(delta=0.5), np.zeros((1, 1)), np.ones((1, 1))), 0.375
  )
