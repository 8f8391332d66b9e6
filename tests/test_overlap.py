"""Reference and behaviour tests for the overlap losses beyond Keras
(Jaccard, focal Tversky, Lovász; the generic contract tests run on
tests/specs/overlap.py).

Independent references: scikit-learn's ``jaccard_score`` (the exact metric
that the surrogates relax), jaxloss's own Keras-checked ``tversky`` and
``categorical_crossentropy``, and hand-derived values.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxloss
from tests.optional import require
from tests.specs import overlap


def jaccard_score(*args, **kwargs):
  return require("sklearn.metrics").jaccard_score(*args, **kwargs)


def _binary_images(seed, shape=(3, 4, 5)):
  rng = np.random.default_rng(seed)
  return (
    rng.integers(0, 2, shape).astype(np.float32),
    rng.integers(0, 2, shape).astype(np.float32),
  )


# ------------------------------------------------------------------ overlap


def test_jaccard_of_binary_masks_is_one_minus_sklearn_iou():
  t, p = _binary_images(0)
  got = jaxloss.jaccard(t, p, axis=(1, 2))
  # scikit-learn 1.x jaccard_score: |t & p| / |t | p| of the positive class.
  want = [
    1 - jaccard_score(ti.ravel(), pi.ravel())
    for ti, pi in zip(t, p, strict=True)
  ]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_jaccard_is_tversky_with_unit_weights():
  t, p = _binary_images(1)
  p = p * 0.6 + 0.2
  np.testing.assert_allclose(
    jaxloss.jaccard(t, p, axis=(1, 2)),
    jaxloss.tversky(t, p, alpha=1.0, beta=1.0, axis=(1, 2)),
    rtol=1e-6,
  )


def test_focal_tversky_gamma_one_is_tversky_and_alpha_weighs_fp():
  t, p = _binary_images(2)
  p = p * 0.6 + 0.2
  np.testing.assert_allclose(
    jaxloss.focal_tversky(t, p, alpha=0.3, beta=0.7, gamma=1.0, axis=-1),
    jaxloss.tversky(t, p, alpha=0.3, beta=0.7, axis=-1),
    rtol=1e-6,
  )
  # Only false positives (tp = 2, fp = 2, fn = 0): TI = 2 / (2 + 2 alpha).
  t1, p1 = [[1.0, 1.0, 0.0, 0.0]], [[1.0, 1.0, 1.0, 1.0]]
  got = jaxloss.focal_tversky(t1, p1, alpha=0.5, beta=0.0, gamma=0.5, axis=1)
  np.testing.assert_allclose(got, [np.sqrt(1 - 2 / 3)], rtol=1e-5)
  # Paper's convention is (alpha on FN) = 0.7: more loss for missed pixels.
  miss = jaxloss.focal_tversky(
    [[1.0, 1.0]], [[1.0, 0.0]], alpha=0.3, beta=0.7, axis=1
  )
  extra = jaxloss.focal_tversky(
    [[1.0, 0.0]], [[1.0, 1.0]], alpha=0.3, beta=0.7, axis=1
  )
  assert miss[0] > extra[0]


@pytest.mark.parametrize("fn", [jaxloss.jaccard, jaxloss.focal_tversky])
def test_overlap_axis_none_sums_everything(fn):
  t, p = _binary_images(3)
  p = p * 0.5 + 0.25
  whole = fn(t, p)
  assert whole.shape == ()
  np.testing.assert_allclose(
    whole, fn(t.reshape(1, -1), p.reshape(1, -1), axis=1)[0], rtol=1e-6
  )


def test_overlap_errors():
  with pytest.raises(ValueError, match="focal_tversky: gamma"):
    jaxloss.focal_tversky([[1.0]], [[1.0]], gamma=-1.0)
  with pytest.raises(ValueError, match="jaccard: axis"):
    jaxloss.jaccard([[1.0]], [[1.0]], axis=2)


# ------------------------------------------------------------------- Lovász


def test_lovasz_softmax_at_one_hot_is_mean_jaccard_loss():
  # The Lovász extension equals the set function at indicator vectors: with
  # one-hot predictions the loss is the mean over classes of 1 - IoU.
  rng = np.random.default_rng(0)
  y = rng.integers(0, 3, (2, 4, 5))
  pred = rng.integers(0, 4, (2, 4, 5))
  got = jax.jit(
    jaxloss.lovasz_softmax, static_argnames=("classes", "per_image")
  )(y, np.eye(4)[pred], classes="all", per_image=True)
  want = [
    np.mean(
      1
      - jaccard_score(
        yi.ravel(), pi.ravel(), labels=range(4), average=None, zero_division=1.0
      )
    )
    for yi, pi in zip(y, pred, strict=True)
  ]
  np.testing.assert_allclose(got, want, rtol=1e-5)
  present = jaxloss.lovasz_softmax(y, np.eye(4)[pred])  # batch, present
  iou = jaccard_score(y.ravel(), pred.ravel(), labels=range(3), average=None)
  np.testing.assert_allclose(present, np.mean(1 - iou), rtol=1e-5)


def test_lovasz_hinge_at_unit_logits_is_twice_jaccard_loss():
  # Logits +-1: hinge errors are 0 (right) or 2 (wrong), and the extension is
  # positively homogeneous, so the loss is 2 (1 - IoU of the foreground).
  t, pred = _binary_images(4)
  got = jaxloss.lovasz_hinge(t, 2 * pred - 1)
  want = [
    2 * (1 - jaccard_score(ti.ravel(), pi.ravel(), zero_division=1.0))
    for ti, pi in zip(t, pred, strict=True)
  ]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_lovasz_batch_mode_pools_pixels():
  rng = np.random.default_rng(5)
  t, z = overlap._hinge_inputs(rng, 3)
  pooled = jaxloss.lovasz_hinge(t.reshape(1, -1), z.reshape(1, -1))[0]
  np.testing.assert_allclose(
    jaxloss.lovasz_hinge(t, z, per_image=False), pooled, rtol=1e-6
  )


@pytest.mark.parametrize("classes", ["present", "all", [0, 2], (3,)])
@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_softmax_classes_reference(classes, per_image, x64):
  rng = np.random.default_rng(6)
  y, p = overlap._softmax_inputs(rng, 3)
  got = jaxloss.lovasz_softmax(y, p, classes=classes, per_image=per_image)
  want = overlap.np_lovasz_softmax(y, p, classes=classes, per_image=per_image)
  np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=overlap.SRC_LOVASZ)


def test_lovasz_softmax_jit_and_object():
  rng = np.random.default_rng(7)
  y, p = overlap._softmax_inputs(rng, 2)
  loss = jaxloss.LovaszSoftmax(classes=[0, 1])
  assert loss.classes == (0, 1) and hash(loss)
  jitted = jax.jit(lambda y, p, loss: loss(y, p), static_argnums=2)
  np.testing.assert_allclose(
    jitted(y, p, loss), jaxloss.lovasz_softmax(y, p, classes=[0, 1]), rtol=1e-6
  )


def test_lovasz_errors():
  y, p = np.zeros((1, 2, 2), int), np.full((1, 2, 2, 3), 1 / 3)
  with pytest.raises(ValueError, match="lovasz_softmax: classes"):
    jaxloss.lovasz_softmax(y, p, classes="some")
  with pytest.raises(ValueError, match=r"lovasz_softmax: classes must be in"):
    jaxloss.lovasz_softmax(y, p, classes=[0, 3])
  with pytest.raises(TypeError, match="lovasz_softmax: y_true"):
    jaxloss.lovasz_softmax(y.astype(bool), p)
  with pytest.raises(TypeError, match="lovasz_hinge: per_image"):
    jaxloss.lovasz_hinge([[1.0]], [[1.0]], per_image=1)
  with pytest.raises(ValueError, match="lovasz_hinge: y_pred must have rank"):
    jaxloss.lovasz_hinge([1.0], [1.0])
