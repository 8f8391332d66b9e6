"""Loss objects as pytrees: jit arguments, vmap, gradients of
hyper-parameters, hashing, and checks at construction only."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss

Y_TRUE = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, -1.0]], np.float32)
Y_PRED = np.array([[0.5, 3.0, 2.0], [0.0, 1.25, 1.0]], np.float32)


def np_huber(y_true, y_pred, delta):
  """Huber (1964), Keras's form: mean over the last axis."""
  r = np.abs(np.asarray(y_pred, np.float64) - y_true)
  return np.mean(
    np.where(r <= delta, 0.5 * r**2, delta * r - 0.5 * delta**2), axis=-1
  )


def test_static_object_is_a_jit_argument():
  # Before: "'DynamicJaxprTracer' object is not callable" (the dtype field
  # made JAX treat the object as an array).
  out = jax.jit(lambda lo, a, b: lo(a, b))(jaxloss.Huber(), Y_TRUE, Y_PRED)
  np.testing.assert_allclose(
    out, np.mean(np_huber(Y_TRUE, Y_PRED, 1.0)), rtol=1e-6
  )
  loss = jaxloss.CategoricalCrossentropy(dtype="float32", from_logits=True)
  out = jax.jit(lambda lo, a, b: lo(a, b))(loss, Y_TRUE, Y_PRED)
  np.testing.assert_allclose(out, loss(Y_TRUE, Y_PRED), rtol=1e-6)


def test_static_object_has_no_leaves_and_is_hashable():
  loss = jaxloss.Huber(delta=0.5, reduction="sum")
  assert jax.tree.leaves(loss) == []
  assert hash(loss) == hash(jaxloss.Huber(delta=0.5, reduction="sum"))
  f = jax.jit(lambda a, b, lo: lo(a, b), static_argnums=2)
  np.testing.assert_allclose(
    f(Y_TRUE, Y_PRED, loss), np.sum(np_huber(Y_TRUE, Y_PRED, 0.5)), rtol=1e-6
  )


def test_array_hyper_parameter_is_a_leaf():
  loss = jaxloss.CategoricalFocalCrossentropy(alpha=jnp.array([0.2, 0.3, 0.5]))
  leaves, treedef = jax.tree.flatten(loss)
  assert len(leaves) == 1 and leaves[0].shape == (3,)
  keys = [
    jax.tree_util.keystr(k)
    for k, _ in jax.tree_util.tree_flatten_with_path(loss)[0]
  ]
  assert keys == [".alpha"]
  rebuilt = jax.tree.unflatten(treedef, leaves)
  assert rebuilt.gamma == 2.0 and rebuilt.name == loss.name
  with pytest.raises(TypeError, match="unhashable"):
    hash(loss)


def test_unflatten_does_not_check():
  # JAX rebuilds pytrees with arbitrary leaves (None, sentinels, specs).
  loss = jaxloss.Huber(delta=jnp.asarray(1.0))
  odd = jax.tree.map(lambda _: None, loss)
  assert odd.delta is None


def test_gradient_with_respect_to_a_hyper_parameter(x64):
  y_true = Y_TRUE.astype(np.float64)
  y_pred = Y_PRED.astype(np.float64)
  loss = jaxloss.Huber(delta=jnp.asarray(1.0, jnp.float64))
  grad = jax.grad(lambda lo: lo(y_true, y_pred))(loss)
  assert isinstance(grad, jaxloss.Huber)
  # d/d delta of the Huber value: r - delta on |r| > delta, else 0
  # (from the formula), averaged over elements.
  r = np.abs(y_pred - y_true)
  expected = np.mean(np.where(r > 1.0, r - 1.0, 0.0))
  np.testing.assert_allclose(grad.delta, expected, rtol=1e-12)
  check_grads(
    lambda d: jaxloss.Huber(delta=d)(y_true, y_pred),
    (1.3,),
    order=1,
    modes=("rev",),
  )


def test_vmap_over_an_object():
  deltas = jnp.array([0.5, 1.0, 2.0])
  out = jax.vmap(lambda lo: lo(Y_TRUE, Y_PRED))(jaxloss.Huber(delta=deltas))
  expected = [np.mean(np_huber(Y_TRUE, Y_PRED, d)) for d in (0.5, 1.0, 2.0)]
  np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_wrapped_function_kwargs_are_leaves_when_arrays():
  def scaled(y_true, y_pred, *, scale=1.0):
    return scale * jnp.mean(jnp.abs(y_true - y_pred), axis=-1)

  loss = jaxloss.wrap(scaled, scale=jnp.asarray(2.0))
  assert len(jax.tree.leaves(loss)) == 1
  grad = jax.grad(lambda lo: lo(Y_TRUE, Y_PRED))(loss)
  np.testing.assert_allclose(
    dict(grad.kwargs)["scale"], np.mean(np.abs(Y_TRUE - Y_PRED)), rtol=1e-6
  )
  static = jaxloss.wrap(scaled, scale=2.0)
  assert jax.tree.leaves(static) == []
  out = jax.jit(lambda lo, a, b: lo(a, b))(static, Y_TRUE, Y_PRED)
  np.testing.assert_allclose(
    out, 2.0 * np.mean(np.abs(Y_TRUE - Y_PRED)), rtol=1e-6
  )


def test_serialization_round_trip_still_works():
  loss = jaxloss.Huber(delta=0.5, name="h")
  again = jaxloss.deserialize(jaxloss.serialize(loss))
  assert again == loss


# ------------------------------------------------------------- batch-level


_BATCH_LEVEL = (
  "TripletSemiHardLoss",
  "TripletHardLoss",
  "LiftedStructLoss",
  "NpairsLoss",
  "WeightedKappaLoss",
  "CoxPH",
)


@pytest.mark.parametrize("name", _BATCH_LEVEL)
def test_batch_level_losses_are_declared(name):
  assert getattr(jaxloss, name).batch_level


def test_per_sample_losses_are_not_batch_level():
  assert not jaxloss.Huber.batch_level
  assert not jaxloss.SparseCategoricalCrossentropy.batch_level


def test_batch_level_loss_rejects_per_sample_weights():
  labels = np.array([0, 0, 1, 1, 2, 2])
  emb = np.random.default_rng(0).normal(size=(6, 3))
  loss = jaxloss.TripletSemiHardLoss()
  with pytest.raises(
    ValueError,
    match=r"TripletSemiHardLoss: sample_weight "
    r"must be None or a scalar for this batch-level loss",
  ):
    loss(labels, emb, sample_weight=np.ones(6))
  with pytest.raises(ValueError, match=r"TripletSemiHardLoss: where must"):
    loss(labels, emb, where=np.ones(6, bool))
  # A scalar weight scales the batch's value.
  np.testing.assert_allclose(
    loss(labels, emb, sample_weight=2.0), 2.0 * loss(labels, emb), rtol=1e-6
  )


def test_scalar_values_reject_per_sample_weights_at_call_time():
  """A loss configured to give one value per batch (Dice over the whole
  batch) is held to the same rule."""
  dice = jaxloss.Dice(axis=None)
  with pytest.raises(
    ValueError,
    match=r"Dice: sample_weight must be None "
    r"or a scalar for a scalar value \(one unbatched sample, or a loss "
    r"configured to give one value per batch\)",
  ):
    dice(
      [[1.0, 0.0], [0.0, 1.0]],
      [[0.5, 0.5], [0.2, 0.8]],
      sample_weight=[1.0, 2.0],
    )


def test_unbatched_pytorch_forms_are_one_sample():
  # PyTorch accepts an unbatched input as one sample: a scalar value, and
  # per-sample hyper-parameters (a class weight) work as for a batch.
  z = jnp.array([0.1, 0.2, 0.4, 0.8])
  loss = jaxloss.MultiMarginLoss(weight=(1.0, 1.0, 1.0, 2.0))
  assert np.shape(loss(3, z)) == ()
  np.testing.assert_allclose(loss(3, z), 2 * 0.325, rtol=1e-6)
  with pytest.raises(ValueError, match="one unbatched sample"):
    loss(3, z, sample_weight=[1.0])
