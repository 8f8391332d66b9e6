"""Reference and behaviour tests for the embedding / metric-learning losses.

Sources: the documented examples of the tensorflow-addons 0.23 API docs,
PyTorch 2.13 (``torch.nn.TripletMarginLoss``, ``cross_entropy``; values
stored in tests/reference_data by generate_torch.py),
optax 0.2.8, and hand-derived values from the papers' equations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src.losses.embedding import pairwise_distances
from tests.optional import require
from tests.reference_data import torch_cases
from tests.reference_data import torch_reference
from tests.specs import embedding


def _matmul_metric(x):
  return x @ x.T


# ------------------------------------------------- tfa documented examples


@pytest.mark.parametrize(
  "fn, metric, want",
  [
    # tfa.losses.triplet_semihard_loss / triplet_hard_loss "Usage" sections.
    (jaxloss.triplet_semihard_loss, "L2", 2.4142137),
    (jaxloss.triplet_semihard_loss, _matmul_metric, 1.0),
    (jaxloss.triplet_hard_loss, "L2", 1.0),
    (jaxloss.triplet_hard_loss, _matmul_metric, 0.0),
  ],
)
def test_tfa_documented_examples(fn, metric, want):
  y_true = np.array([0, 0])
  y_pred = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
  got = fn(y_true, y_pred, distance_metric=metric)
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_tfa_loss_objects_accept_a_callable_metric():
  loss = jaxloss.TripletHardLoss(distance_metric=_matmul_metric)
  y_pred = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
  np.testing.assert_allclose(loss(np.array([0, 0]), y_pred), 0.0)
  assert jaxloss.get("TripletSemiHardLoss") == jaxloss.TripletSemiHardLoss()
  assert jaxloss.get("triplet_semihard_loss") is jaxloss.triplet_semihard_loss


# ------------------------------------------------------- PyTorch parity


@pytest.mark.parametrize(
  "kwargs", torch_cases.TRIPLET_KWARGS, ids=torch_cases.triplet_id
)
def test_triplet_margin_matches_pytorch(kwargs, x64):
  a, p, n = torch_cases.triplet_inputs()
  want = torch_reference(torch_cases.triplet_id(kwargs))

  def total(*x):
    values = jaxloss.triplet_margin_loss(*x, **kwargs)
    return jnp.sum(values), values

  (_, got), grads = jax.jit(
    jax.value_and_grad(total, argnums=(0, 1, 2), has_aux=True)
  )(a, p, n)
  np.testing.assert_allclose(got, want["value"], rtol=1e-10, atol=1e-12)
  for g, key in zip(grads, ("anchor", "positive", "negative"), strict=True):
    np.testing.assert_allclose(g, want[f"grad_{key}"], rtol=1e-9, atol=1e-12)


def test_triplet_margin_unbatched_matches_pytorch(x64):
  a, p, n = torch_cases.triplet_unbatched_inputs()
  want = torch_reference("triplet-unbatched")["value"]
  got = jaxloss.triplet_margin_loss(a, p, n)
  assert got.shape == ()
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_info_nce_in_batch_matches_pytorch_cross_entropy(x64):
  q, k = torch_cases.info_nce_inputs()
  want = torch_reference("info_nce-in_batch")["value"]
  np.testing.assert_allclose(jaxloss.info_nce(q, k), want, rtol=1e-12)


# ------------------------------------------------ semantics and edges


def test_info_nce_shared_negatives_equal_broadcast_paired(x64):
  rng = np.random.default_rng(3)
  q, k, neg = (rng.normal(size=s) for s in ((4, 3), (4, 3), (5, 3)))
  shared = jaxloss.info_nce(q, k, negative_keys=neg)
  paired = jaxloss.info_nce(q, k, negative_keys=np.broadcast_to(neg, (4, 5, 3)))
  np.testing.assert_allclose(shared, paired, rtol=1e-12)
  np.testing.assert_allclose(
    shared, embedding.np_info_nce(q, k, neg), rtol=1e-10
  )


def test_npairs_all_distinct_labels_is_softmax_cross_entropy():
  # The similarity matrix of the tfa npairs_loss docs; with distinct labels
  # the targets are the identity: optax 0.2.8 integer-label cross-entropy.
  sim = np.array(
    [[23.0, 15.0, 17.0], [51.0, 33.0, 35.0], [79.0, 51.0, 53.0]], np.float32
  )
  optax = require("optax")
  want = jnp.mean(
    optax.softmax_cross_entropy_with_integer_labels(sim, jnp.arange(3))
  )
  got = jaxloss.npairs_loss(np.array([0, 1, 2]), sim)
  np.testing.assert_allclose(got, want, rtol=1e-6)
  # float16 in, float16 out (tfa's example is float16), computed in float32.
  half = jaxloss.npairs_loss(np.array([0, 1, 2]), sim.astype(np.float16))
  assert half.dtype == jnp.float16
  np.testing.assert_allclose(np.float32(half), want, rtol=1e-3)


def test_lifted_struct_hand_value(x64):
  # Oh Song et al. 2016 eq. (4) with one positive pair (0, 1) at distance 2
  # and one negative (2) at distances 1 (from 0) and sqrt(5) (from 1).
  emb = np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 0.0]])
  j = np.log(np.exp(1.0 - 1.0) + np.exp(1.0 - np.sqrt(5.0))) + 2.0
  got = jaxloss.lifted_struct_loss(np.array([0, 0, 1]), emb)
  np.testing.assert_allclose(got, j**2 / 2, rtol=1e-12)


@pytest.mark.parametrize(
  "fn", [jaxloss.lifted_struct_loss, jaxloss.triplet_semihard_loss]
)
def test_mined_losses_without_positives_are_zero(fn):
  emb = np.random.default_rng(4).normal(size=(4, 3)).astype(np.float32)
  value, grad = jax.jit(jax.value_and_grad(lambda e: fn(np.arange(4), e)))(emb)
  assert value == 0.0
  np.testing.assert_array_equal(grad, 0.0)


def test_lifted_struct_without_negatives_is_zero():
  # tensorflow-addons gives NaN here (log(0) * 0 on the diagonal).
  emb = np.random.default_rng(5).normal(size=(4, 3)).astype(np.float32)
  value, grad = jax.jit(
    jax.value_and_grad(
      lambda e: jaxloss.lifted_struct_loss(np.zeros(4, int), e)
    )
  )(emb)
  assert value == 0.0
  np.testing.assert_array_equal(grad, 0.0)


def test_supervised_contrastive_anchor_without_positive():
  emb = np.random.default_rng(6).normal(size=(4, 3)).astype(np.float32)
  labels = np.array([0, 0, 1, 2])  # anchors 2 and 3 have no positive
  values = jax.jit(jaxloss.supervised_contrastive)(labels, emb)
  assert values[2] == 0.0 and values[3] == 0.0
  assert np.all(np.asarray(values[:2]) > 0.0)
  grad = jax.jit(
    jax.grad(lambda e: jnp.sum(jaxloss.supervised_contrastive(np.arange(4), e)))
  )(emb)
  np.testing.assert_array_equal(grad, 0.0)


def test_supervised_contrastive_normalises_embeddings(x64):
  rng = np.random.default_rng(7)
  emb = rng.normal(size=(6, 3))
  labels = np.arange(6) % 2
  scaled = emb * rng.uniform(0.5, 5.0, size=(6, 1))
  np.testing.assert_allclose(
    jaxloss.supervised_contrastive(labels, scaled),
    jaxloss.supervised_contrastive(labels, emb),
    rtol=1e-12,
  )


def test_l2_distances_survive_a_large_offset():
  # |x|^2 + |y|^2 - 2 x.y loses ~eps * |x|^2 to cancellation; the batch is
  # centred first, so a common offset of 1e3 costs nothing in float32.
  x = np.random.default_rng(8).normal(size=(5, 3)).astype(np.float32)
  near = pairwise_distances("t", jnp.asarray(x))
  far = pairwise_distances("t", jnp.asarray(x + 1e3))
  np.testing.assert_allclose(far, near, atol=2e-4)
  np.testing.assert_allclose(near, embedding.np_distances(x), atol=1e-5)


def test_l2_distance_gradient_is_zero_at_identical_embeddings():
  emb = jnp.ones((3, 2))
  grad = jax.jit(jax.grad(lambda e: jnp.sum(pairwise_distances("t", e))))(emb)
  np.testing.assert_array_equal(grad, 0.0)


def test_contrastive_loss_is_elementwise():
  y = np.array([[1.0], [0.0]])
  d = np.array([[0.5], [0.25]], np.float32)
  got = jaxloss.contrastive_loss(y, d)
  assert got.shape == (2, 1)
  np.testing.assert_allclose(got[:, 0], [0.25, 0.5625])
  np.testing.assert_allclose(jaxloss.contrastive_loss(y[:, 0], d), got)


# ------------------------------------------------------------- errors


@pytest.mark.parametrize(
  "call, match",
  [
    (
      lambda: jaxloss.triplet_semihard_loss(
        [0, 1], np.ones((2, 2)), distance_metric="cosine"
      ),
      "triplet_semihard_loss: distance_metric must be one of",
    ),
    (
      lambda: jaxloss.triplet_hard_loss(
        [0, 1, 2], np.ones((3, 2)), distance_metric=lambda x: x
      ),
      "triplet_hard_loss: distance_metric must map",
    ),
    (
      lambda: jaxloss.supervised_contrastive(
        [0, 1], np.ones((2, 2)), temperature=0.0
      ),
      "supervised_contrastive: temperature must be in",
    ),
    (
      lambda: jaxloss.info_nce(
        np.ones((2, 3)), np.ones((2, 3)), negative_keys=np.ones((4, 2))
      ),
      r"info_nce: negative_keys must have shape \[M, 3\]",
    ),
    (
      lambda: jaxloss.info_nce(
        np.ones((2, 3)), np.ones((2, 3)), negative_keys=np.ones((3, 4, 3))
      ),
      "info_nce: negative_keys must have shape",
    ),
    (
      lambda: jaxloss.triplet_margin_loss(
        np.ones(2), np.ones(2), np.ones(2), p=0
      ),
      "triplet_margin_loss: p must be in",
    ),
    (
      lambda: jaxloss.npairs_loss([0, 1], np.ones((2, 3))),
      "npairs_loss: y_pred must be a square",
    ),
    (
      lambda: jaxloss.lifted_struct_loss(
        np.zeros((2, 2), int), np.ones((2, 2))
      ),
      "lifted_struct_loss: y_true must have rank 1",
    ),
    (
      lambda: jaxloss.triplet_hard_loss([0, 1], np.ones(2)),
      "triplet_hard_loss: y_pred must have rank 2",
    ),
  ],
)
def test_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()


# ------------------------------------------------------- renamed in 0.3


@pytest.mark.parametrize(
  "old, new",
  [
    ("triplet_margin", "triplet_margin_loss"),
    ("TripletMargin", "TripletMarginLoss"),
  ],
)
def test_old_triplet_names_warn_and_resolve(old, new):
  with pytest.warns(DeprecationWarning, match=f"jaxloss.{old} is deprecated"):
    assert getattr(jaxloss, old) is getattr(jaxloss, new)
  assert old not in jaxloss.__all__ and new in jaxloss.__all__
  # The registry keeps the old names, without a warning.
  found = jaxloss.get(old)
  expected = getattr(jaxloss, new)
  if isinstance(expected, type):
    assert type(found) is expected
  else:
    assert found is expected


def test_triplet_margin_loss_is_pytorch_named():
  # Class name = CamelCase of the function name (PyTorch's names).
  loss = jaxloss.TripletMarginLoss(margin=0.5)
  a = np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)
  p = np.array([[0.0, 1.0], [1.0, 0.5]], np.float32)
  n = np.array([[0.5, 0.0], [3.0, 0.0]], np.float32)
  assert loss.name == "triplet_margin_loss"
  np.testing.assert_allclose(
    loss(a, p, n), jnp.mean(jaxloss.triplet_margin_loss(a, p, n, margin=0.5))
  )


def test_config_saved_under_the_old_class_name_loads():
  saved = {"class_name": "TripletMargin", "config": {"margin": 0.5}}
  assert jaxloss.deserialize(saved) == jaxloss.TripletMarginLoss(margin=0.5)
