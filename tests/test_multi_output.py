"""jaxloss.combine against Keras's compile(loss=..., loss_weights=...)
semantics, with values computed by hand (Keras 3.15 CompileLoss: total =
sum of loss_weight * loss(y_true, y_pred, sample_weight); per-output terms
are the unweighted values)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

A_TRUE = np.array([[1.0], [2.0]], np.float32)
A_PRED = np.array([[3.0], [2.0]], np.float32)  # squared errors 4, 0
B_TRUE = np.array([[0.0, 2.0], [1.0, 1.0]], np.float32)
B_PRED = np.array([[0.0, 0.0], [0.0, 1.0]], np.float32)  # MAE rows 1, 0.5


def test_dict_losses_and_weights():
  total, terms = jaxloss.combine(
    {"a": "mse", "b": jaxloss.MeanAbsoluteError()},
    {"a": A_TRUE, "b": B_TRUE},
    {"a": A_PRED, "b": B_PRED},
    loss_weights={"a": 0.5, "b": 2.0},
  )
  # mse: (4 + 0) / 2 = 2; mae: (1 + 0.5) / 2 = 0.75.
  np.testing.assert_allclose(terms["a"], 2.0)
  np.testing.assert_allclose(terms["b"], 0.75)
  np.testing.assert_allclose(total, 0.5 * 2.0 + 2.0 * 0.75)


def test_per_output_sample_weights_and_missing_weight():
  total, terms = jaxloss.combine(
    {"a": "mse", "b": "mae"},
    {"a": A_TRUE, "b": B_TRUE},
    {"a": A_PRED, "b": B_PRED},
    loss_weights={"a": 3.0},
    sample_weight={"a": np.array([0.5, 1.0]), "b": np.array([0.0, 2.0])},
  )
  # sum_over_batch_size: (0.5 * 4 + 0) / 2 = 1; (0 * 1 + 2 * 0.5) / 2 = 0.5.
  np.testing.assert_allclose(terms["a"], 1.0)
  np.testing.assert_allclose(terms["b"], 0.5)
  np.testing.assert_allclose(total, 3.0 * 1.0 + 0.5)


def test_one_sample_weight_for_all_outputs_and_one_loss():
  total, terms = jaxloss.combine(
    "mae",
    [A_TRUE, B_TRUE],
    [A_PRED, B_PRED],
    sample_weight=np.array([1.0, 0.0]),
  )
  # mae a: (2 * 1 + 0) / 2 = 1; mae b: (1 * 1 + 0.5 * 0) / 2 = 0.5.
  np.testing.assert_allclose(terms["0"], 1.0)
  np.testing.assert_allclose(terms["1"], 0.5)
  np.testing.assert_allclose(total, 1.5)


def test_none_loss_skips_output_and_single_output():
  total, terms = jaxloss.combine(
    {"a": "mse", "b": None},
    {"a": A_TRUE, "b": None},
    {"a": A_PRED, "b": B_PRED},
  )
  assert set(terms) == {"a"}
  np.testing.assert_allclose(total, 2.0)
  total, terms = jaxloss.combine(
    jaxloss.mean_squared_error, A_TRUE, A_PRED, loss_weights=0.25
  )
  assert set(terms) == {"loss"}
  np.testing.assert_allclose(total, 0.5)


def test_nested_and_jit_and_grad():
  y_true = {"heads": {"a": A_TRUE, "b": B_TRUE}}
  losses = {"heads": {"a": "mse", "b": "mae"}}

  @jax.jit
  def f(pred):
    return jaxloss.combine(
      losses, y_true, pred, loss_weights={"heads": {"b": 2.0}}
    )

  total, terms = f({"heads": {"a": A_PRED, "b": B_PRED}})
  assert set(terms) == {"heads/a", "heads/b"}
  np.testing.assert_allclose(total, 2.0 + 2 * 0.75)
  g = jax.grad(lambda p: f(p)[0])({"heads": {"a": A_PRED, "b": B_PRED}})
  # d mse / d pred_a = 2 (pred - true) / n = [[2], [0]].
  np.testing.assert_allclose(g["heads"]["a"], [[2.0], [0.0]])


def test_errors():
  with pytest.raises(ValueError, match="combine: losses keys must name"):
    jaxloss.combine({"c": "mse"}, {"a": A_TRUE}, {"a": A_PRED})
  with pytest.raises(ValueError, match="loss_weights keys must name"):
    jaxloss.combine(
      "mse", {"a": A_TRUE}, {"a": A_PRED}, loss_weights={"x": 1.0}
    )
  with pytest.raises(ValueError, match="at least one output"):
    jaxloss.combine({"a": None}, {"a": A_TRUE}, {"a": A_PRED})
  with pytest.raises(ValueError, match="known loss name"):
    jaxloss.combine("nope", A_TRUE, A_PRED)
  with pytest.raises(ValueError, match="y_true has no entry"):
    jaxloss.combine("mse", {"b": A_TRUE}, {"a": A_PRED})
  assert jnp.shape(jaxloss.combine("mse", A_TRUE, A_PRED)[0]) == ()
