"""The kernels and shape helpers that ``jaxloss.optax`` maps onto: each is
checked against a NumPy formula, independently of optax (whose parity is
tests/test_optax_parity.py)."""

import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from jaxloss import optax as jl
from jaxloss._src import shapes
from jaxloss._src.losses import overlap
from jaxloss._src.losses import sequence

# ------------------------------------------------------------------ shapes


def test_flatten_class_axes_follows_the_callers_order():
  x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
  mask = x % 3 != 0
  got, got_mask = shapes.flatten_class_axes("f", jnp.asarray(x), (2, 1), mask)
  # NumPy: batch axis first, then the class axes in the given order.
  want = np.transpose(x, (0, 2, 1)).reshape(2, 12)
  np.testing.assert_array_equal(got, want)
  np.testing.assert_array_equal(got_mask, want % 3 != 0)
  got, none = shapes.flatten_class_axes("f", jnp.asarray(x), -1)
  np.testing.assert_array_equal(got, x)
  assert none is None


@pytest.mark.parametrize("axis", [1.0, [1], True])
def test_flatten_class_axes_rejects_other_axes(axis):
  with pytest.raises(ValueError, match="f: axis must be an int or a tuple"):
    shapes.flatten_class_axes("f", jnp.zeros((2, 3)), axis)


def test_include_mask_inserts_the_class_axis_and_names_the_argument():
  m = shapes.include_mask("f", np.array([True, False]), (2, 3), axis=-1)
  np.testing.assert_array_equal(m, [[True] * 3, [False] * 3])
  assert shapes.include_mask("f", None, (2, 3)) is None
  with pytest.raises(ValueError, match="f: where must broadcast to the shape"):
    shapes.include_mask("f", np.ones((4,), bool), (2, 3))


def test_broadcast_to_names_the_argument():
  np.testing.assert_array_equal(
    shapes.broadcast_to("f", "w", jnp.ones((3,)), (2, 3)), np.ones((2, 3))
  )
  with pytest.raises(ValueError, match=r"f: w must broadcast .* \(2, 3\)"):
    shapes.broadcast_to("f", "w", jnp.ones((2,)), (2, 3))


def test_optional_axes():
  assert shapes.optional_axes("f", None, 3) is None
  assert shapes.optional_axes("f", -1, 3) == 2
  assert shapes.optional_axes("f", [2, 0], 3) == (0, 2)


# ----------------------------------------------------- per-class Tversky


def _np_dice_per_class(t, p, smooth, alpha=0.5, beta=0.5):
  """Milletari / Salehi per class, sums over every axis but first and last."""
  axes = tuple(range(1, t.ndim - 1))
  tp = (t * p).sum(axes)
  fp = ((1 - t) * p).sum(axes)
  fn = (t * (1 - p)).sum(axes)
  return 1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


def _probs_and_targets(seed=0, shape=(2, 3, 4)):
  rng = np.random.default_rng(seed)
  z = rng.normal(size=shape)
  p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
  t = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
  return p, t


def test_per_class_tversky_class_mask_and_weights(x64):
  p, t = _probs_and_targets()
  values = _np_dice_per_class(t, p, 1.0, 0.3, 0.7)
  w = np.array([0.5, 1.0, 2.0, 1.5])
  mask = (False, True, False, True)
  got = overlap.per_class_tversky(
    "f",
    jnp.asarray(t),
    jnp.asarray(p),
    smooth=1.0,
    alpha=0.3,
    beta=0.7,
    class_weights=w,
    class_mask=mask,
    reduction="none",
  )
  np.testing.assert_allclose(got, (values * w)[:, [1, 3]], rtol=1e-12)
  mean = overlap.per_class_tversky(
    "f", jnp.asarray(t), jnp.asarray(p), class_mask=mask
  )
  np.testing.assert_allclose(
    mean, _np_dice_per_class(t, p, 1.0)[:, [1, 3]].mean(-1), rtol=1e-12
  )
  assert overlap.without_background(4, True) == (False, True, True, True)
  assert overlap.without_background(1, True) is None
  assert overlap.without_background(4, False) is None


def test_generalized_dice_is_sudre_formula(x64):
  p, t = _probs_and_targets(1, (3, 5, 3))
  n = t.sum((0, 1))
  w = 1 / (n**2 + 1e-7)
  w = w / w.sum() * 3
  want = (_np_dice_per_class(t, p, 1.0) * w).mean()
  got = overlap.generalized_dice("f", jnp.asarray(t), jnp.asarray(p))
  np.testing.assert_allclose(got, want, rtol=1e-12)
  # The optax form from probabilities, without class 0.
  got = jl.multiclass_generalized_dice_loss(
    p, t, apply_softmax=False, ignore_background=True
  )
  np.testing.assert_allclose(
    got, (_np_dice_per_class(t, p, 1.0) * w)[:, 1:].mean(), rtol=1e-12
  )


def test_dice_loss_gradient(x64):
  p, t = _probs_and_targets(2)
  z = jnp.log(jnp.asarray(p))
  check_grads(
    lambda z: jl.dice_loss(z, t, ignore_background=True),
    (z,),
    order=1,
    modes=("rev",),
  )


# -------------------------------------------------------------------- CTC


def test_ctc_with_paddings_equals_keras_form_without_padding():
  rng = np.random.default_rng(3)
  logits = jnp.asarray(rng.normal(size=(2, 6, 4)), jnp.float32)
  labels = np.array([[1, 2, 2], [3, 1, 0]])
  lpad = (labels == 0).astype(np.float32)
  loss, phi, emit = sequence.ctc_with_paddings(
    "f", logits, np.zeros((2, 6)), labels, lpad, blank=0, log_zero=-1e5
  )
  # jaxloss.ctc (Keras's form: 0 is blank and padding, every frame used).
  np.testing.assert_allclose(loss, jaxloss.ctc(labels, logits), rtol=1e-6)
  assert phi.shape == (6, 2, 4) and emit.shape == (6, 2, 3)
  np.testing.assert_allclose(-phi[-1, 0, 3], loss[0], rtol=1e-6)
  np.testing.assert_allclose(-phi[-1, 1, 2], loss[1], rtol=1e-6)


def test_ctc_with_paddings_single_frame_formula():
  # One frame, label "1": the only alignment emits 1, p = softmax(z)[1].
  z = np.array([[[0.3, 1.2, -0.4]]], np.float32)
  loss, _, _ = sequence.ctc_with_paddings(
    "f",
    z,
    np.zeros((1, 1)),
    np.array([[1]]),
    np.zeros((1, 1)),
    blank=0,
    log_zero=-1e5,
  )
  want = -(z[0, 0, 1] - np.log(np.exp(z[0, 0]).sum()))
  np.testing.assert_allclose(loss, [want], rtol=1e-6)
