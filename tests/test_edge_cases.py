"""Edge and adversarial inputs: each test pins one behaviour of issue 19.

Every test here failed before its fix: a NaN turned into a finite value, a
silently wrong result, a crash or an error message that did not say what
was wrong. Reference values are closed forms written out in the test.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

NAN = float("nan")


def _all_nan(x):
  return bool(np.all(np.isnan(np.asarray(x))))


# ------------------------------------------------ NaN in, NaN out


def test_lifted_struct_nan_embedding_propagates():
  emb = jnp.array([[0.0, NAN], [0.0, 2.0], [1.0, 0.0]])
  labels = jnp.array([0, 0, 1])
  assert _all_nan(jaxloss.lifted_struct_loss(labels, emb))
  assert _all_nan(jax.jit(jaxloss.lifted_struct_loss)(labels, emb))


def test_lifted_struct_nan_margin_rejected_or_propagates():
  emb = jnp.array([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
  # A NaN known at trace time is a configuration error; a traced NaN (only
  # known at run time) reaches the value.
  with pytest.raises(ValueError, match="lifted_struct_loss: margin must"):
    jaxloss.lifted_struct_loss([0, 0, 1], emb, margin=NAN)
  f = jax.jit(lambda m: jaxloss.lifted_struct_loss([0, 0, 1], emb, margin=m))
  assert _all_nan(f(jnp.nan))


def test_lifted_struct_unchanged_without_nan():
  emb = [[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]]
  # The documented example value, and 0 when no pair has a negative.
  np.testing.assert_allclose(
    jaxloss.lifted_struct_loss([0, 0, 1], emb), 2.5426219, rtol=1e-6
  )
  assert jaxloss.lifted_struct_loss([0, 0, 0], emb) == 0.0


def test_robust_loss_nan_alpha_propagates():
  y = jnp.zeros((2, 3))
  p = jnp.ones((2, 3))
  with pytest.raises(ValueError, match="robust_loss: alpha must"):
    jaxloss.robust_loss(y, p, alpha=jnp.nan)
  assert _all_nan(
    jax.jit(lambda a: jaxloss.robust_loss(y, p, alpha=a))(jnp.nan)
  )
  g = jax.jit(
    jax.grad(lambda q, a: jnp.sum(jaxloss.robust_loss(y, q, alpha=a)))
  )(p, jnp.nan)
  assert _all_nan(g)
  # The infinite limits are unchanged: Welsch 1 - exp(-s/2), s = 1.
  np.testing.assert_allclose(
    jaxloss.robust_loss(y, p, alpha=-jnp.inf),
    1 - np.exp(-0.5) + 0 * y[:, 0],
    rtol=1e-6,
  )


def test_approx_ndcg_nan_temperature_propagates_under_jit():
  t = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
  s = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
  with pytest.raises(ValueError, match="approx_ndcg: temperature must"):
    jax.jit(lambda s: jaxloss.approx_ndcg(t, s, temperature=NAN))(s)
  assert _all_nan(
    jax.jit(lambda tau: jaxloss.approx_ndcg(t, s, temperature=tau))(jnp.nan)
  )
  got = jax.jit(lambda s: jaxloss.approx_ndcg(t, s, temperature=0.1))(s)
  assert np.all((np.asarray(got) >= -1) & (np.asarray(got) <= 0))


# ------------------------------------------- all-zero probability rows


@pytest.mark.parametrize(
  "fn, y_true",
  [
    (jaxloss.categorical_crossentropy, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    (
      jaxloss.categorical_focal_crossentropy,
      [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    ),
    (jaxloss.sparse_categorical_crossentropy, [1, 0]),
  ],
)
def test_all_zero_probability_row_is_finite(fn, y_true):
  p = jnp.array([[0.0, 0.0, 0.0], [0.7, 0.2, 0.1]])
  values = fn(y_true, p)
  grads = jax.grad(lambda q: jnp.sum(fn(y_true, q)))(p)
  assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))
  # Row 0: every class clipped to q = 1e-7 (Keras's epsilon), one-hot
  # target: -log(1e-7) for the cross-entropies; the focal form multiplies
  # by alpha (1 - q) ** gamma = 0.25 (1 - 1e-7) ** 2.
  want = -np.log(np.float32(1e-7))
  if fn is jaxloss.categorical_focal_crossentropy:
    want = 0.25 * want
  np.testing.assert_allclose(values[0], want, rtol=1e-5)
  # The healthy row keeps its value: -log(0.7) (times the focal factor).
  healthy = -np.log(0.7)
  if fn is jaxloss.categorical_focal_crossentropy:
    healthy = 0.25 * 0.3**2 * healthy
  np.testing.assert_allclose(values[1], healthy, rtol=1e-5)
  # A NaN row still propagates.
  nan_row = p.at[0, 1].set(jnp.nan)
  assert np.isnan(fn(y_true, nan_row)[0])


# ------------------------------------------------ silently wrong results


def test_optax_integer_labels_tuple_axis_keeps_callers_order():
  import optax

  from jaxloss import optax as jl_optax

  rng = np.random.default_rng(0)
  logits = jnp.asarray(rng.normal(size=(2, 3, 4)), jnp.float32)
  labels = jnp.asarray(rng.integers(0, 12, size=(2,)))
  for axis in ((2, 1), (1, 2), (-1, -2)):
    got = jl_optax.softmax_cross_entropy_with_integer_labels(
      logits, labels, axis=axis
    )
    # optax 0.2.8 moves the axes, in the given order, to the end.
    want = optax.losses.softmax_cross_entropy_with_integer_labels(
      logits, labels, axis=axis
    )
    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=str(axis))
  # Independently: axis (2, 1) flattens index k * 3 + j for z[:, j, k].
  flat = np.transpose(np.asarray(logits), (0, 2, 1)).reshape(2, 12)
  lse = np.log(np.exp(flat).sum(-1))
  want = lse - flat[np.arange(2), np.asarray(labels)]
  got = jl_optax.softmax_cross_entropy_with_integer_labels(
    logits, labels, axis=(2, 1)
  )
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_class_weights_missing_classes_weigh_one_without_num_classes():
  labels = jnp.array([0, 3, 4, 7, 2])
  got = jaxloss.class_weights_to_sample_weights(labels, {3: 5.0})
  # Docstring contract: classes missing from the mapping weigh 1.
  np.testing.assert_allclose(got, [1.0, 5.0, 1.0, 1.0, 1.0])
  got = jaxloss.class_weights_to_sample_weights(labels, {3: 5.0}, num_classes=8)
  np.testing.assert_allclose(got, [1.0, 5.0, 1.0, 1.0, 1.0])
  got = jax.jit(
    lambda y: jaxloss.class_weights_to_sample_weights(y, {0: 2.0, 4: 0.5})
  )(labels)
  np.testing.assert_allclose(got, [2.0, 1.0, 0.5, 1.0, 1.0])


def test_regularize_filter_matching_nothing_raises():
  from jaxloss import regularizers

  params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
  with pytest.raises(ValueError, match=r"regularize: filter .*'kernal'"):
    regularizers.regularize("l2", params, filter="kernal")
  assert (
    float(
      regularizers.regularize("l2", params, filter="kernal", allow_empty=True)
    )
    == 0.0
  )
  # 0.01 * sum(kernel ** 2) = 0.04, Keras's default L2 factor.
  np.testing.assert_allclose(regularizers.regularize("l2", params), 0.04)


# ---------------------------------------------------------- empty batches


def test_lovasz_per_image_empty_batch_gives_empty_result():
  z = np.zeros((0, 4, 4), np.float32)
  assert jaxloss.lovasz_hinge(z, z).shape == (0,)
  labels, probs = np.zeros((0, 4), np.int32), np.zeros((0, 4, 3), np.float32)
  assert jaxloss.lovasz_softmax(labels, probs, per_image=True).shape == (0,)
  # The objects reduce an empty batch to 0 (reduce's documented rule).
  assert float(jaxloss.LovaszHinge()(z, z)) == 0.0


@pytest.mark.parametrize(
  "fn, y_pred",
  [
    (jaxloss.triplet_semihard_loss, np.zeros((0, 3), np.float32)),
    (jaxloss.triplet_hard_loss, np.zeros((0, 3), np.float32)),
    (jaxloss.lifted_struct_loss, np.zeros((0, 3), np.float32)),
    (jaxloss.npairs_loss, np.zeros((0, 0), np.float32)),
    (jaxloss.supervised_contrastive, np.zeros((0, 3), np.float32)),
    (jaxloss.circle, np.zeros((0, 3), np.float32)),
  ],
  ids=lambda x: getattr(x, "__name__", ""),
)
def test_batch_level_losses_reject_empty_batch(fn, y_pred):
  with pytest.raises(
    ValueError,
    match=rf"^{fn.__name__}: y_pred must hold "
    r"at least one sample .* got y_pred.shape=\(0, ",
  ):
    fn(np.zeros((0,), np.int32), y_pred)


def test_weighted_kappa_rejects_empty_batch():
  with pytest.raises(
    ValueError,
    match=r"^weighted_kappa_loss: y_pred must "
    r"hold at least one sample",
  ):
    jaxloss.weighted_kappa_loss(np.zeros((0, 4)), np.zeros((0, 4), np.float32))


@pytest.mark.parametrize(
  "reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight"]
)
def test_reductions_of_an_empty_batch_are_zero(reduction):
  values = jnp.zeros((0,), jnp.float32)
  got = jaxloss.reduce(
    values, reduction=reduction, sample_weight=jnp.zeros((0,))
  )
  assert got.shape == () and float(got) == 0.0
  grad = jax.grad(lambda v: jaxloss.reduce(v, reduction=reduction))(values)
  assert grad.shape == (0,)
  per_sample = jaxloss.mean_squared_error(np.zeros((0, 3)), np.zeros((0, 3)))
  assert per_sample.shape == (0,)
  assert (
    float(
      jaxloss.MeanSquaredError(reduction=reduction)(
        np.zeros((0, 3)), np.zeros((0, 3))
      )
    )
    == 0.0
  )


# ------------------------------------------------ crashes, unclear errors


@pytest.mark.parametrize(
  "fn",
  [
    jaxloss.mean_squared_error,
    jaxloss.mean_absolute_error,
    jaxloss.mean_absolute_percentage_error,
    jaxloss.mean_squared_logarithmic_error,
    jaxloss.huber,
    jaxloss.log_cosh,
    jaxloss.hinge,
    jaxloss.squared_hinge,
    jaxloss.categorical_hinge,
    jaxloss.poisson,
    jaxloss.kl_divergence,
  ],
  ids=lambda f: f.__name__,
)
def test_scalar_inputs_give_a_clear_error(fn):
  with pytest.raises(
    ValueError,
    match=rf"^{fn.__name__}: y_pred must have "
    r"rank >= 1, got shape \(\)",
  ):
    fn(0.0, 1.0)
  assert fn([0.0], [1.0]).shape == ()  # one sample of one entry


def test_ragged_lists_are_named_as_such():
  with pytest.raises(
    ValueError,
    match=r"^mean_squared_error: y_true must be "
    r"a rectangular array-like .* y_true\[1\] has length 1 "
    r"but y_true\[0\] has length 2",
  ):
    jaxloss.mean_squared_error([[0.0, 1.0], [1.0]], [[0.0, 1.0], [1.0, 2.0]])
  with pytest.raises(ValueError, match=r"y_pred\[0\]\[1\] has length 1"):
    jaxloss.mean_squared_error(
      np.zeros((2, 2, 2)), [[[1.0, 2.0], [1.0]], [[1.0, 2.0], [3.0, 4.0]]]
    )
  with pytest.raises(ValueError, match=r"y_pred mixes lists and scalars"):
    jaxloss.mean_squared_error(np.zeros((2,)), [1.0, [2.0]])


@pytest.mark.parametrize(
  "fn", [jaxloss.arcface, jaxloss.cosface], ids=lambda f: f.__name__
)
def test_margin_softmax_errors_name_the_public_loss(fn):
  emb = np.ones((2, 3), np.float32)
  centers = np.eye(3, dtype=np.float32)
  with pytest.raises(ValueError, match=rf"^{fn.__name__}: scale must be"):
    fn([0, 1], emb, centers, scale=-1.0)
  with pytest.raises(ValueError, match=rf"^{fn.__name__}: "):
    fn([0, 1, 2], emb, centers)


@pytest.mark.parametrize(
  "make",
  [
    lambda: (
      jaxloss.SparseCategoricalCrossentropy(ignore_index=0),
      ([0, 1, 2], np.full((3, 3), 1 / 3, np.float32)),
    ),
    lambda: (jaxloss.Circle(), ([0, 0, 1], np.eye(3, dtype=np.float32))),
  ],
  ids=["sparse_ignore_index", "circle"],
)
def test_own_mask_objects_check_the_callers_where(make):
  loss, args = make()
  name = type(loss).__name__
  with pytest.raises(
    ValueError,
    match=rf"^{name}: where must broadcast from "
    r"the leading axes .* got where.shape=\(2,\)",
  ):
    loss(*args, where=np.array([True, False]))
  with pytest.raises(
    TypeError,
    match=rf"^{name}: where must be a boolean "
    r"mask, got dtype float32",
  ):
    loss(*args, where=np.array([1.0, 0.0, 1.0], np.float32))
  # A valid mask still combines with the object's own mask.
  assert np.isfinite(loss(*args, where=np.array([True, True, False])))


def test_reduce_rejects_a_non_numeric_normalizer():
  with pytest.raises(
    TypeError,
    match=r"^reduce: normalizer must be a number "
    r"or a scalar numeric array, got 'abc'",
  ):
    jaxloss.reduce([1.0, 2.0], normalizer="abc")
  with pytest.raises(TypeError, match="normalizer must be a number"):
    jaxloss.reduce([1.0, 2.0], normalizer=[2.0, 3.0])
  np.testing.assert_allclose(jaxloss.reduce([1.0, 2.0], normalizer=4), 0.75)
  got = jax.jit(lambda n: jaxloss.reduce(jnp.array([1.0, 2.0]), normalizer=n))(
    6.0
  )
  np.testing.assert_allclose(got, 0.5)


def test_get_finds_default_names_and_suggests_close_ones():
  assert jaxloss.get(jaxloss.Huber().name) is jaxloss.huber
  assert jaxloss.get("huber_loss") is jaxloss.huber
  for cls in (
    jaxloss.MeanSquaredError,
    jaxloss.BinaryCrossentropy,
    jaxloss.CategoricalCrossentropy,
  ):
    assert jaxloss.get(cls().name) is cls.fn
  with pytest.raises(ValueError) as info:
    jaxloss.get("hubber")
  msg = str(info.value)
  assert "did you mean 'Huber', 'huber', 'huber_loss'?" in msg
  assert len(msg) < 300  # no longer the whole registry


def cubic(y_true, y_pred, *, scale=1.0):
  """A top-level custom loss: importable as tests.test_edge_cases:cubic."""
  return scale * jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)


def test_serialize_wrap_of_an_importable_function_round_trips():
  loss = jaxloss.wrap(cubic, scale=2.0, reduction="sum")
  config = jaxloss.serialize(loss)
  assert config["config"]["fn"] == "tests.test_edge_cases:cubic"
  again = jaxloss.deserialize(config)
  assert again.function is cubic and again.hyper_parameters() == {"scale": 2.0}
  t, p = np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)
  np.testing.assert_allclose(again(t, p), loss(t, p))
  np.testing.assert_allclose(loss(t, p), 4.0)  # 2 * 1 per sample, summed
  # A registered function still serialises to its name.
  assert jaxloss.serialize(jaxloss.wrap(jaxloss.huber))["config"]["fn"] == (
    "huber"
  )


def test_serialize_explains_what_cannot_be_named():
  with pytest.raises(
    ValueError,
    match=r"^serialize: obj must be .* \(not "
    r"a lambda, closure, partial",
  ):
    jaxloss.serialize(jaxloss.wrap(lambda t, p: jnp.abs(t - p)))
  with pytest.raises(
    ValueError,
    match=r"^get: identifier 'no_such_mod:f' "
    r"must name an importable function",
  ):
    jaxloss.get("no_such_mod:f")
