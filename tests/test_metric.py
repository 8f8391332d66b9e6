"""Metric-learning losses and miners against pytorch-metric-learning.

Stored values: tests/reference_data/metric_learning.json, made by
tests/reference_data/generate_metric_learning.py (pytorch-metric-learning
2.9.0, torch 2.13.0 CPU, float64). Each entry names the library call.
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
  os.path.dirname(__file__), "reference_data", "metric_learning.json"
)


@functools.cache
def _data():
  with open(_PATH) as f:
    return json.load(f)


def _inputs(ref):
  x = _data()["inputs"]
  out = {
    "y_true": np.asarray(x["labels"]),
    "y_pred": np.asarray(x["embeddings"]),
  }
  if ref:
    out["ref_labels"] = np.asarray(x["ref_labels"])
    out["ref_embeddings"] = np.asarray(x["ref_embeddings"])
  return out


def _kwargs(entry):
  return {
    k: (np.asarray(v) if isinstance(v, list) else v)
    for k, v in entry["kwargs"].items()
  }


PAIR_LOSSES = {
  "multi_similarity": jaxloss.MultiSimilarity,
  "margin_loss": jaxloss.MarginLoss,
  "margin_loss-per-class": jaxloss.MarginLoss,
  "tuplet_margin": jaxloss.TupletMargin,
  "fast_ap": jaxloss.FastAP,
  "circle": jaxloss.Circle,
}


@pytest.mark.parametrize(
  "key",
  [k for k in _data()["entries"] if k.removesuffix("-ref") in PAIR_LOSSES],
)
def test_pair_losses_match_pml(key, x64):
  entry = _data()["entries"][key]
  cls = PAIR_LOSSES[key.removesuffix("-ref")]
  x = _inputs(key.endswith("-ref"))
  y_true, y_pred = x.pop("y_true"), x.pop("y_pred")
  if cls is jaxloss.Circle:  # Keras's circle takes unit vectors
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    y_pred = unit(y_pred)
    if "ref_embeddings" in x:
      x["ref_embeddings"] = unit(x["ref_embeddings"])
  kwargs = _kwargs(entry)
  if cls is jaxloss.Circle and "ref_embeddings" in x:
    kwargs["remove_diagonal"] = False  # Keras's default drops it anyway
  loss = cls(**kwargs, dtype=jnp.float64)
  value = loss(y_true, y_pred, **x)
  np.testing.assert_allclose(value, entry["value"], rtol=1e-10, atol=1e-12)


PROXY_LOSSES = {
  "proxy_nca": jaxloss.proxy_nca,
  "proxy_anchor": jaxloss.proxy_anchor,
  "soft_triple": jaxloss.soft_triple,
  "subcenter_arcface": jaxloss.subcenter_arcface,
  "large_margin_softmax-m2": jaxloss.large_margin_softmax,
  "large_margin_softmax-m3": jaxloss.large_margin_softmax,
  "large_margin_softmax-m4": jaxloss.large_margin_softmax,
  "sphereface": jaxloss.sphereface,
  "normalized_softmax": jaxloss.normalized_softmax,
}


@pytest.mark.parametrize("key", sorted(PROXY_LOSSES))
def test_proxy_losses_match_pml(key, x64):
  entry = _data()["entries"][key]
  x = _inputs(False)
  values = PROXY_LOSSES[key](
    x["y_true"], x["y_pred"], np.asarray(entry["centers"]), **_kwargs(entry)
  )
  # pytorch-metric-learning averages the per-sample values (MeanReducer).
  np.testing.assert_allclose(
    jnp.mean(values), entry["value"], rtol=1e-10, atol=1e-12
  )


MINERS = {
  "batch_hard_miner": jaxloss.batch_hard_miner,
  "triplet_margin_miner": jaxloss.triplet_margin_miner,
  "multi_similarity_miner": jaxloss.multi_similarity_miner,
  "pair_margin_miner": jaxloss.pair_margin_miner,
  "angular_miner": jaxloss.angular_miner,
}


def _as_mask(rows, cols, shape):
  mask = np.zeros(shape, bool)
  mask[np.asarray(rows, int), np.asarray(cols, int)] = True
  return mask


@pytest.mark.parametrize(
  "key",
  [k for k in _data()["entries"] if k.split("-")[0] in MINERS],
)
def test_miners_match_pml(key, x64):
  entry = _data()["entries"][key]
  x = _inputs(key.endswith("-ref"))
  positive, negative = MINERS[key.split("-")[0]](**x, **_kwargs(entry))
  a1, p, a2, n = entry["pairs"]
  np.testing.assert_array_equal(
    positive, _as_mask(a1, p, positive.shape), err_msg="positive pairs"
  )
  np.testing.assert_array_equal(
    negative, _as_mask(a2, n, negative.shape), err_msg="negative pairs"
  )


def test_mined_pairs_restrict_every_pair_loss():
  """A miner's masks passed as ``pairs`` equal the loss on those pairs
  alone: removing a pair changes the value, keeping all does not."""
  x = _inputs(False)
  y, e = x["y_true"], x["y_pred"].astype(np.float32)
  mined = jaxloss.batch_hard_miner(y, e)
  for fn in (
    jaxloss.multi_similarity,
    jaxloss.margin_loss,
    jaxloss.tuplet_margin,
    jaxloss.fast_ap,
    jaxloss.circle,
  ):
    full = fn(y, e)
    all_pairs = fn(y, e, pairs=(np.ones((8, 8), bool), np.ones((8, 8), bool)))
    np.testing.assert_allclose(all_pairs, full, rtol=1e-6)
    assert not np.allclose(fn(y, e, pairs=mined), full), fn.__name__


def test_miners_hold_no_gradient():
  x = _inputs(False)
  y, e = x["y_true"], x["y_pred"].astype(np.float32)

  def f(e):
    pairs = jaxloss.batch_hard_miner(y, e)
    return jaxloss.margin_loss(y, e, pairs=pairs)

  g = jax.grad(f)(e)
  assert np.all(np.isfinite(g)) and np.any(g != 0)


def test_margin_loss_beta_is_learnable():
  x = _inputs(False)
  loss = jaxloss.MarginLoss(beta=jnp.asarray(1.0), nu=0.1)
  g = jax.grad(lambda lo: lo(x["y_true"], x["y_pred"]))(loss)
  assert np.isfinite(g.beta) and g.beta != 0


def test_circle_stop_weight_gradient():
  """Same value; the gradient differs (the weights are constants)."""
  x = _inputs(False)
  y, e = x["y_true"], x["y_pred"].astype(np.float32)
  f = lambda e, s: jnp.sum(  # noqa: E731
    jaxloss.circle(y, e, gamma=4.0, stop_weight_gradient=s)
  )
  np.testing.assert_allclose(f(e, True), f(e, False), rtol=1e-6)
  assert not np.allclose(jax.grad(f)(e, True), jax.grad(f)(e, False))


def test_pairs_errors():
  x = _inputs(False)
  y, e = x["y_true"], x["y_pred"]
  with pytest.raises(ValueError, match=r"multi_similarity: pairs \(positive\)"):
    jaxloss.multi_similarity(
      y, e, pairs=(np.ones((3, 3), bool), np.ones((8, 8), bool))
    )
  with pytest.raises(TypeError, match="multi_similarity: pairs .* boolean"):
    jaxloss.multi_similarity(y, e, pairs=(np.ones((8, 8)), np.ones((8, 8))))
  with pytest.raises(ValueError, match="soft_triple: centers must have"):
    jaxloss.soft_triple(y, e, np.ones((5, 4)), centers_per_class=2)


def test_pml_reducers_through_reduce():
  """AvgNonZeroReducer and ThresholdReducer are masks of ``reduce``."""
  v = jnp.array([0.0, 0.5, 2.0, 0.0, 1.5])
  np.testing.assert_allclose(jaxloss.reduce(v, where=v > 0), 4.0 / 3)
  np.testing.assert_allclose(
    jaxloss.reduce(v, where=(v > 0.2) & (v < 1.8)), 1.0
  )


HEADS = {
  "ProxyNCAHead": (jaxloss.proxy_nca, {"softmax_scale": 2.0}),
  "ProxyAnchorHead": (jaxloss.proxy_anchor, {"alpha": 4.0}),
  "SoftTripleHead": (jaxloss.soft_triple, {"centers_per_class": 2}),
  "SubCenterArcFaceHead": (jaxloss.subcenter_arcface, {"sub_centers": 2}),
  "LargeMarginSoftmaxHead": (jaxloss.large_margin_softmax, {"margin": 3}),
  "SphereFaceHead": (jaxloss.sphereface, {"scale": 2.0}),
  "NormalizedSoftmaxHead": (jaxloss.normalized_softmax, {}),
}


@pytest.mark.parametrize("name", sorted(HEADS))
def test_flax_proxy_heads_call_their_loss(name):
  """linen and nnx heads: their ``centers`` parameter ([C * K, D]) fed to
  the loss function, reduced by the mean."""
  from flax import nnx

  from jaxloss.flax import linen as jl
  from jaxloss.flax import nnx as jn

  fn, hyper = HEADS[name]
  x = _inputs(False)
  y, e = x["y_true"], x["y_pred"].astype(np.float32)
  rows = 3 * hyper.get("centers_per_class", hyper.get("sub_centers", 1))
  head = getattr(jl, name)(num_classes=3, **hyper)
  params = head.init(jax.random.key(0), y, e)
  centers = params["params"]["centers"]
  assert centers.shape == (rows, 4)
  np.testing.assert_allclose(
    head.apply(params, y, e), jnp.mean(fn(y, e, centers, **hyper)), rtol=1e-6
  )
  cos = head.apply(params, e, method="cosines")
  assert cos.shape == (8, 3)
  nnx_head = getattr(jn, name)(3, 4, rngs=nnx.Rngs(0), **hyper)
  assert nnx_head.centers[...].shape == (rows, 4)
  np.testing.assert_allclose(
    nnx_head(y, e),
    jnp.mean(fn(y, e, nnx_head.centers[...], **hyper)),
    rtol=1e-6,
  )
  assert nnx_head.cosines(e).shape == (8, 3)
