"""Overlap-loss options against segmentation-models-pytorch.

Stored values: tests/reference_data/segmentation.json, made by
tests/reference_data/generate_segmentation.py (segmentation-models-pytorch
0.6.0, torch 2.13.0 CPU; float64, the Lovász cases float32). Each entry
names the library call.
"""

from __future__ import annotations

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

_PATH = os.path.join(
  os.path.dirname(__file__), "reference_data", "segmentation.json"
)


@functools.cache
def _data():
  with open(_PATH) as f:
    return json.load(f)


def _entry(key):
  entry = _data()["entries"][key]
  return entry, dict(entry["kwargs"])


def _x(name):
  return np.asarray(_data()["inputs"][name])


# smp's binary mode pools the batch and the pixels: jaxloss's axis=None.
@pytest.mark.parametrize(
  "key, fn",
  [
    ("dice", jaxloss.dice),
    ("dice-log", jaxloss.dice),
    ("jaccard", jaxloss.jaccard),
    ("jaccard-log", jaxloss.jaccard),
    ("tversky", jaxloss.tversky),
    ("focal_tversky", jaxloss.focal_tversky),
  ],
)
def test_overlap_ignore_index_and_log_loss_match_smp(key, fn, x64):
  entry, kwargs = _entry(key)
  got = fn(_x("target"), _x("probs"), **kwargs)
  np.testing.assert_allclose(got, entry["value"], rtol=1e-6)


def test_mcc_matches_smp(x64):
  entry, kwargs = _entry("mcc_loss")
  got = jaxloss.mcc_loss(np.asarray(entry["target"]), _x("probs"), **kwargs)
  np.testing.assert_allclose(got, entry["value"], rtol=1e-10)


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_ignore_index_matches_smp(per_image):
  entry, kwargs = _entry(f"lovasz_hinge-per_image={per_image}")
  got = jaxloss.LovaszHinge(**kwargs)(
    _x("target").astype(np.float32), _x("logits").astype(np.float32)
  )
  np.testing.assert_allclose(got, entry["value"], rtol=1e-5)
  entry, kwargs = _entry(f"lovasz_softmax-per_image={per_image}")
  probs = jax.nn.softmax(
    jnp.moveaxis(_x("class_logits").astype(np.float32), 1, -1), axis=-1
  )
  got = jaxloss.LovaszSoftmax(**kwargs)(_x("labels"), probs)
  np.testing.assert_allclose(got, entry["value"], rtol=1e-5)


def test_ignored_pixels_change_nothing_else():
  """An ignored pixel is the same as a pixel absent from the image."""
  rng = np.random.default_rng(3)
  t = rng.integers(0, 2, size=(1, 6)).astype(np.float32)
  p = rng.uniform(0.1, 0.9, size=(1, 6)).astype(np.float32)
  t_ign = np.concatenate([t, [[255.0]]], axis=1)
  p_ign = np.concatenate([p, [[0.7]]], axis=1)
  for fn in (
    jaxloss.dice,
    jaxloss.jaccard,
    jaxloss.tversky,
    jaxloss.focal_tversky,
    jaxloss.lovasz_hinge,
  ):
    np.testing.assert_allclose(
      fn(t_ign, p_ign, ignore_index=255), fn(t, p), rtol=1e-6
    )
    g = jax.grad(lambda q: jnp.sum(fn(t_ign, q, ignore_index=255)))(p_ign)  # noqa: B023
    assert g[0, -1] == 0, fn.__name__


def test_log_loss_is_minus_log_of_the_index():
  t = np.array([[1.0, 0.0, 1.0]])
  p = np.array([[0.9, 0.2, 0.6]], np.float32)
  for fn in (jaxloss.dice, jaxloss.jaccard):
    np.testing.assert_allclose(
      fn(t, p, log_loss=True), -np.log(1.0 - fn(t, p)), rtol=1e-6
    )


def test_reduced_focal_matches_smp(x64):
  entry, kwargs = _entry("focal-reduced")
  kwargs["alpha"] = 0.0  # no balancing weight: the library's alpha=None
  t = np.asarray(entry["target"])
  values = jaxloss.sigmoid_focal_crossentropy(
    t, _x("logits"), from_logits=True, **kwargs
  )
  # Summed over the last axis here; the library averages every pixel.
  np.testing.assert_allclose(
    jnp.mean(values) / t.shape[-1], entry["value"], rtol=1e-10
  )


# ----------------------------------------------------- absent classes (smp)


def _multiclass_inputs():
  """One-hot ``[B, H, W, 4]`` targets (every entry of an ignored pixel 255)
  and NHWC logits; class 3 is absent from the batch."""
  labels = _x("labels")
  one_hot = np.eye(4)[np.where(labels == 255, 0, labels)]
  one_hot = np.where((labels == 255)[..., None], 255.0, one_hot)
  return one_hot, np.moveaxis(_x("class_logits4"), 1, -1)


_POOLED = (0, 1, 2)  # smp sums over the batch and the pixels of each class


@pytest.mark.parametrize(
  "key, fn",
  [
    ("dice-multiclass", jaxloss.dice),
    ("dice-multiclass-log", jaxloss.dice),
    ("jaccard-multiclass", jaxloss.jaccard),
    ("tversky-multiclass", jaxloss.tversky),
  ],
)
def test_zero_absent_classes_match_smp_multiclass(key, fn, x64):
  entry, kwargs = _entry(key)
  t, z = _multiclass_inputs()
  p = jax.nn.softmax(z, axis=-1)
  per_class = fn(t, p, axis=_POOLED, zero_absent_classes=True, **kwargs)
  assert per_class[3] == 0  # the absent class, counted in the mean
  np.testing.assert_allclose(jnp.mean(per_class), entry["value"], rtol=1e-8)
  default = fn(t, p, axis=_POOLED, **kwargs)
  assert default[3] > 0.99  # today's rule: 1 - 0 / (sum p + eps)
  np.testing.assert_array_equal(default[:3], per_class[:3])


def test_smp_focal_tversky_is_the_class_mean_to_gamma(x64):
  """smp's TverskyLoss(gamma) raises the mean over classes to gamma."""
  entry, kwargs = _entry("tversky-multiclass-gamma")
  gamma = kwargs.pop("gamma")
  t, z = _multiclass_inputs()
  p = jax.nn.softmax(z, axis=-1)
  per_class = jaxloss.tversky(
    t, p, axis=_POOLED, zero_absent_classes=True, **kwargs
  )
  np.testing.assert_allclose(
    jnp.mean(per_class) ** gamma, entry["value"], rtol=1e-8
  )


def test_zero_absent_classes_gradient_matches_smp(x64):
  entry, kwargs = _entry("dice-multiclass")
  t, z = _multiclass_inputs()

  def loss(logits):
    p = jax.nn.softmax(logits, axis=-1)
    return jnp.mean(
      jaxloss.dice(t, p, axis=_POOLED, zero_absent_classes=True, **kwargs)
    )

  want = np.moveaxis(np.asarray(entry["grad"]), 1, -1)
  np.testing.assert_allclose(jax.grad(loss)(z), want, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
  "key, fn, extra",
  [
    ("dice-binary-empty", jaxloss.dice, {}),
    (
      "focal_tversky-binary-empty",
      jaxloss.focal_tversky,
      {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
    ),
  ],
)
def test_zero_absent_classes_binary_empty_target(key, fn, extra, x64):
  entry, kwargs = _entry(key)
  t, p = _x("target_empty1")[1:], _x("probs")[1:]
  got = fn(t, p, zero_absent_classes=True, **kwargs, **extra)
  assert entry["value"] == 0.0
  np.testing.assert_array_equal(got, 0.0)
  assert fn(t, p, **kwargs, **extra) > 0.99  # the default penalises


def test_optax_dice_loss_matches_smp(x64):
  entry, kwargs = _entry("dice-multiclass-smooth")
  t, z = _multiclass_inputs()
  kw = {"zero_absent_classes": True, **kwargs}
  pooled = jaxloss.optax.dice_loss(z, t, axis=_POOLED, **kw)
  np.testing.assert_allclose(pooled, entry["value"], rtol=1e-10)
  # Per sample (optax's default axes): smp on each image alone.
  np.testing.assert_allclose(
    jaxloss.optax.dice_loss(z, t, **kw), entry["per_image"], rtol=1e-10
  )


def test_optax_binary_dice_loss_matches_smp(x64):
  entry, kwargs = _entry("binary_dice-per-image")
  got = jaxloss.optax.binary_dice_loss(
    _x("logits"), _x("target_empty1"), zero_absent_classes=True, **kwargs
  )
  np.testing.assert_allclose(got, entry["per_image"], rtol=1e-10)
  assert entry["per_image"][1] == 0.0  # image 1 has no positive pixel


def _ignored_extra_pixel():
  """``(t, p)`` ``[1, 4, 3]`` one-hot / probabilities, and the same with a
  fifth, ignored pixel."""
  rng = np.random.default_rng(5)
  t = np.eye(3)[[[0, 1, 1, 0]]]
  p = jax.nn.softmax(rng.normal(size=(1, 4, 3)), axis=-1)
  t_ign = np.concatenate([t, np.full((1, 1, 3), 255.0)], axis=1)
  p_ign = np.concatenate([p, jax.nn.softmax(rng.normal(size=(1, 1, 3)))], 1)
  return t, p, t_ign, p_ign


@pytest.mark.parametrize(
  "fn",
  [
    lambda t, p, **kw: jaxloss.optax.dice_loss(p, t, apply_softmax=False, **kw),
    lambda t, p, **kw: jaxloss.optax.multiclass_generalized_dice_loss(
      p, t, apply_softmax=False, **kw
    ),
    lambda t, p, **kw: jaxloss.optax.binary_dice_loss(
      p[..., 1], t[..., 1], apply_sigmoid=False, **kw
    ),
  ],
  ids=["dice_loss", "generalized", "binary"],
)
def test_optax_ignored_pixels_change_nothing_else(fn, x64):
  """An ignored pixel is the same as a pixel absent from the image (the
  generalised Dice's class weights included)."""
  t, p, t_ign, p_ign = _ignored_extra_pixel()
  np.testing.assert_allclose(
    fn(t_ign, p_ign, ignore_index=255), fn(t, p), rtol=1e-12
  )
  g = jax.grad(lambda q: jnp.sum(fn(t_ign, q, ignore_index=255)))(p_ign)
  np.testing.assert_array_equal(g[:, -1], 0.0)


def _edge_cases():
  """``(t, p)`` ``[2, 3, 2]``: an image without positives, one with every
  pixel ignored, one with a class absent, perfect and saturated
  predictions."""
  ones = np.ones((2, 3, 2))
  absent = np.eye(2)[np.zeros((2, 3), int)]  # class 1 absent
  return [
    (np.zeros((2, 3, 2)), np.full((2, 3, 2), 0.5)),
    (np.zeros((2, 3, 2)), np.zeros((2, 3, 2))),
    (np.full((2, 3, 2), 255.0), np.full((2, 3, 2), 0.5)),
    (absent, absent),
    (absent, 1.0 - absent),
    (ones, ones),
  ]


_EDGE_FNS = {
  "dice": lambda t, p: jaxloss.dice(t, p, axis=(1, 2), **_EDGE_KW),
  "dice-log": lambda t, p: jaxloss.dice(
    t, p, axis=(1, 2), log_loss=True, **_EDGE_KW
  ),
  "jaccard": lambda t, p: jaxloss.jaccard(t, p, axis=(1, 2), **_EDGE_KW),
  "tversky": lambda t, p: jaxloss.tversky(t, p, axis=(1, 2), **_EDGE_KW),
  "focal_tversky": lambda t, p: jaxloss.focal_tversky(
    t, p, axis=(1, 2), **_EDGE_KW
  ),
  "optax.dice_loss": lambda t, p: jaxloss.optax.dice_loss(
    p, t, apply_softmax=False, smooth=0.0, **_EDGE_KW
  ),
  "optax.binary_dice_loss": lambda t, p: jaxloss.optax.binary_dice_loss(
    p, t, apply_sigmoid=False, smooth=0.0, **_EDGE_KW
  ),
}
_EDGE_KW = {"ignore_index": 255, "zero_absent_classes": True}


@pytest.mark.parametrize("name", sorted(_EDGE_FNS))
def test_zero_absent_classes_finite_at_the_edges(name, x64):
  fn = _EDGE_FNS[name]
  for t, p in _edge_cases():
    if name == "optax.dice_loss":  # probabilities over the class axis
      p = p / np.maximum(p.sum(-1, keepdims=True), 1e-12)
      p = np.where(p.sum(-1, keepdims=True) > 0, p, 0.5)
    value, grad = jax.value_and_grad(lambda q: jnp.sum(fn(t, q)))(p)  # noqa: B023
    assert np.isfinite(value), (name, t, p)
    assert np.all(np.isfinite(grad)), (name, t, p)
    if not np.any((t > 0) & (t != 255)):  # nothing present: loss 0
      assert value == 0, (name, t, p)


def test_zero_absent_classes_is_a_flag():
  t, p = np.ones((1, 3)), np.full((1, 3), 0.5)
  for fn in (jaxloss.dice, jaxloss.jaccard, jaxloss.tversky):
    with pytest.raises(
      TypeError, match=f"{fn.__name__}: zero_absent_classes must be a bool"
    ):
      fn(t, p, zero_absent_classes=1)
  with pytest.raises(TypeError, match="FocalTversky: focal_tversky: zero_abs"):
    jaxloss.FocalTversky(zero_absent_classes="yes")
  with pytest.raises(TypeError, match="dice_loss: zero_absent_classes"):
    jaxloss.optax.dice_loss(p, t, zero_absent_classes=None)
  with pytest.raises(TypeError, match="binary_dice_loss: zero_absent_classes"):
    jaxloss.optax.binary_dice_loss(p, t, zero_absent_classes=0)
  for fn in (
    jaxloss.optax.dice_loss,
    jaxloss.optax.binary_dice_loss,
    jaxloss.optax.multiclass_generalized_dice_loss,
  ):
    with pytest.raises(TypeError, match=f"{fn.__name__}: ignore_index"):
      fn(p[None], t[None], ignore_index="255")


# ------------------------------------------------------ normalised focal


@pytest.mark.parametrize(
  "key", ["focal-normalized", "focal-normalized-reduced-sum"]
)
def test_normalized_focal_matches_smp(key, x64):
  """smp normalises over every element at once: jaxloss on the flattened
  ``[1, N]`` input, divided by ``N`` for smp's mean."""
  entry, kwargs = _entry(key)
  reduction = kwargs.pop("reduction", "mean")
  kwargs.setdefault("alpha", 0.0)  # the library's alpha=None
  t = np.asarray(_entry("focal-reduced")[0]["target"]).reshape(1, -1)
  z = _x("logits")

  def loss(logits):
    v = jaxloss.sigmoid_focal_crossentropy(
      t, logits.reshape(1, -1), from_logits=True, **kwargs
    )[0]
    return v / t.size if reduction == "mean" else v

  value, grad = jax.value_and_grad(loss)(z)
  np.testing.assert_allclose(value, entry["value"], rtol=1e-12)
  np.testing.assert_allclose(grad, entry["grad"], rtol=1e-9, atol=1e-15)


def test_normalized_focal_per_sample_and_edges(x64):
  """Each row is normalised by its own factors; gamma = 0 is the mean of
  the BCE terms; finite when every factor is 0 (perfect predictions)."""
  rng = np.random.default_rng(7)
  t = rng.integers(0, 2, size=(3, 5)).astype(float)
  z = rng.normal(size=(3, 5)) * 2
  kw = {"from_logits": True, "normalized": True}
  rows = jaxloss.sigmoid_focal_crossentropy(t, z, **kw)
  for i in range(3):
    np.testing.assert_allclose(
      rows[i],
      jaxloss.sigmoid_focal_crossentropy(t[i : i + 1], z[i : i + 1], **kw)[0],
    )
  bce = jaxloss.sigmoid_focal_crossentropy(
    t, z, alpha=0.0, gamma=0.0, from_logits=True
  )
  np.testing.assert_allclose(
    jaxloss.sigmoid_focal_crossentropy(t, z, alpha=0.0, gamma=0.0, **kw),
    bce / 5,
    rtol=1e-12,
  )
  for probs in (t, 1.0 - t, np.full_like(t, 0.5)):
    for from_logits, p in ((False, probs), (True, (2 * probs - 1) * 50)):
      value, grad = jax.value_and_grad(
        lambda q: jnp.sum(  # noqa: B023
          jaxloss.sigmoid_focal_crossentropy(
            t,
            q,
            normalized=True,
            from_logits=from_logits,  # noqa: B023
          )
        )
      )(p)
      assert np.isfinite(value) and np.all(np.isfinite(grad))
  with pytest.raises(
    TypeError, match="sigmoid_focal_crossentropy: normalized must be a bool"
  ):
    jaxloss.SigmoidFocalCrossEntropy(normalized=1)
