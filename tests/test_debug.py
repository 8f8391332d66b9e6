"""The checked debug mode (``jaxloss.checked``): value checks under jit."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss


def _message(error):
  msg = error.get()
  assert msg is not None, "expected a failed check"
  return msg


def test_clean_inputs_pass_and_value_is_the_loss():
  t = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
  p = jnp.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
  for loss in (
    jaxloss.categorical_crossentropy,
    jaxloss.CategoricalCrossentropy(),
    "categorical_crossentropy",
  ):
    error, value = jax.jit(jaxloss.checked(loss))(t, p)
    assert error.get() is None
    want = jaxloss.get(loss) if isinstance(loss, str) else loss
    np.testing.assert_allclose(value, want(t, p), rtol=1e-6)
  error.throw()  # no failed check: nothing raised


def test_nan_input_named_with_index_under_jit():
  t = jnp.ones((2, 3))
  p = jnp.array([[0.0, 1.0, 2.0], [0.0, jnp.inf, 0.0]])
  error, _ = jax.jit(jaxloss.checked(jaxloss.MeanSquaredError()))(t, p)
  msg = _message(error)
  assert msg.startswith("MeanSquaredError: y_pred must be finite")
  assert "flat index 4 of shape (2, 3)" in msg and "value inf" in msg
  with pytest.raises(Exception, match="y_pred must be finite"):
    error.throw()


def test_input_nan_is_reported_before_the_nan_loss_it_causes():
  t = jnp.array([[jnp.nan, 0.0]])
  error, value = jax.jit(jaxloss.checked(jaxloss.huber))(t, jnp.zeros((1, 2)))
  assert np.isnan(value[0])
  assert "huber: y_true must be finite" in _message(error)


def test_sparse_labels_out_of_range_and_ignore_index():
  p = jnp.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
  check = jax.jit(jaxloss.checked(jaxloss.sparse_categorical_crossentropy))
  msg = _message(check(jnp.array([0, 3]), p)[0])
  assert msg.startswith(
    "sparse_categorical_crossentropy: y_true must hold class ids in [0, 3)"
  )
  assert "flat index 1 (value 3)" in msg
  assert "[0, 3)" in _message(check(jnp.array([-1, 0]), p)[0])
  obj = jaxloss.SparseCategoricalCrossentropy(ignore_index=-1)
  error, _ = jax.jit(jaxloss.checked(obj))(jnp.array([-1, 0]), p)
  assert error.get() is None


def test_probabilities_outside_unit_interval_and_rows_not_summing_to_one():
  check = jax.jit(jaxloss.checked(jaxloss.categorical_crossentropy))
  t = jnp.array([[0.0, 1.0]])
  assert "y_pred must hold probabilities (pass from_logits=True" in _message(
    check(t, jnp.array([[-0.5, 1.5]]))[0]
  )
  msg = _message(check(t, jnp.array([[0.5, 0.6]]))[0])
  assert "rows summing to 1" in msg and "sum 1.1" in msg
  # Logits are not probabilities: no check.
  for loss in (
    jaxloss.CategoricalCrossentropy(from_logits=True),
    functools.partial(jaxloss.categorical_crossentropy, from_logits=True),
  ):
    error, _ = jax.jit(jaxloss.checked(loss))(t, jnp.array([[-3.0, 4.0]]))
    assert error.get() is None
  # A partial's options are seen by the checks.
  error, _ = jax.jit(
    jaxloss.checked(functools.partial(jaxloss.categorical_crossentropy, axis=0))
  )(t.T, jnp.array([[0.5], [0.6]]))
  assert "along axis 0" in _message(error)
  bce = jax.jit(jaxloss.checked(jaxloss.binary_crossentropy))
  assert "y_true must hold targets in [0, 1]" in _message(
    bce(jnp.array([[2.0, 0.0]]), jnp.array([[0.5, 0.5]]))[0]
  )


def test_nan_hyper_parameter_reported():
  error, _ = jax.jit(jaxloss.checked(jaxloss.robust_loss))(
    jnp.zeros((2, 2)), jnp.ones((2, 2)), alpha=jnp.nan
  )
  assert _message(error).startswith(
    "robust_loss: hyper-parameter alpha must not be NaN"
  )


def test_nan_loss_from_finite_inputs():
  def log_loss(y_true, y_pred):
    return jnp.mean(-y_true * jnp.log(y_pred), axis=-1)

  error, _ = jax.jit(jaxloss.checked(jaxloss.wrap(log_loss)))(
    jnp.ones((2, 2)), jnp.array([[0.5, 0.5], [0.5, -1.0]])
  )
  msg = _message(error)
  assert msg.startswith(
    "LossFunctionWrapper(log_loss): the loss is NaN/inf "
    "although every input passed its checks"
  )


def test_nan_gradient_from_finite_loss():
  def distance(y_true, y_pred):
    return jnp.sqrt(jnp.sum(jnp.square(y_true - y_pred), axis=-1))

  t = jnp.array([[1.0, 2.0], [0.0, 0.0]])
  p = jnp.array([[1.0, 2.0], [1.0, 0.0]])  # row 0: sqrt at 0
  error, (value, grad) = jax.jit(jaxloss.checked(distance, argnums=1))(t, p)
  assert np.all(np.isfinite(value)) and np.isnan(grad[0, 0])
  msg = _message(error)
  assert msg.startswith(
    "distance: the gradient with respect to y_pred is "
    "NaN/inf although the inputs and the loss are finite"
  )
  assert "flat index 0 of shape (2, 2)" in msg
  # A library loss has a finite gradient there.
  error, (_, grad) = jax.jit(
    jaxloss.checked(jaxloss.MeanSquaredError(), argnums=(0, 1))
  )(t, p)
  assert error.get() is None and len(grad) == 2


def test_vmap_of_checked():
  t = jnp.zeros((3, 2, 2))
  p = jnp.zeros((3, 2, 2)).at[1, 0, 1].set(jnp.nan)
  errors, values = jax.jit(
    jax.vmap(jaxloss.checked(jaxloss.mean_absolute_error))
  )(t, p)
  assert values.shape == (3, 2)
  assert "y_pred must be finite" in _message(errors)


def test_checked_argument_errors():
  with pytest.raises(TypeError, match="checked: loss must be"):
    jaxloss.checked(3)
  with pytest.raises(TypeError, match="checked: argnums must be an int"):
    jaxloss.checked(jaxloss.huber, argnums="1")


def test_negative_gaussian_variance_reported():
  # PyTorch 2.13 raises "var has negative entry/entries" eagerly; the
  # default path clamps at eps, the checked mode reports it under jit.
  check = jax.jit(jaxloss.checked(jaxloss.GaussianNLLLoss()))
  var = jnp.array([[1.0, 0.5], [-0.1, 2.0]])
  error, _ = check(jnp.zeros((2, 2)), jnp.ones((2, 2)), var)
  assert _message(error).startswith(
    "GaussianNLLLoss: var must be >= 0, got 1 negative entries, the first "
    "at flat index 2"
  )
  error, _ = check(jnp.zeros((2, 2)), jnp.ones((2, 2)), jnp.abs(var))
  assert error.get() is None


@pytest.mark.parametrize(
  "fn",
  [jaxloss.linear_cross_entropy, jaxloss.linear_log_probs],
  ids=lambda f: f.__name__,
)
def test_checked_names_token_ids_outside_vocabulary(fn):
  # An id >= V or a negative id other than ignore_index (-100) is NaN in
  # the value and reported by checked; the ignore value is not.
  x = jnp.ones((3, 4))
  w = jnp.arange(12.0).reshape(4, 3) / 10
  for labels, bad in (
    ([0, -100, 2], False),
    ([3, 0, 1], True),
    ([0, -2, 1], True),
  ):
    error, value = jax.jit(jaxloss.checked(fn))(x, w, jnp.array(labels))
    message = error.get()
    if bad:
      assert "labels must hold class ids in [0, 3)" in message, message
      assert np.isnan(np.asarray(value)).any()
    else:
      assert message is None, message
      assert np.isfinite(np.asarray(value)).all()
