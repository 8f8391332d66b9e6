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
