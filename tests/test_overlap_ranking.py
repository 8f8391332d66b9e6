"""Reference and behaviour tests for the segmentation and ranking losses
beyond Keras (the generic contract tests run on tests/specs/overlap_ranking.py).

Independent references: scikit-learn's ``jaccard_score`` and ``ndcg_score``
(the exact metrics that the surrogates relax), jaxloss's own Keras-checked
``tversky`` and ``categorical_crossentropy``, and hand-derived values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.optional import require
from tests.specs import overlap_ranking as refs


def jaccard_score(*args, **kwargs):
  return require("sklearn.metrics").jaccard_score(*args, **kwargs)


def ndcg_score(*args, **kwargs):
  return require("sklearn.metrics").ndcg_score(*args, **kwargs)


RANKING = [
  jaxloss.pairwise_hinge,
  jaxloss.pairwise_logistic,
  jaxloss.listnet,
  jaxloss.listmle,
  jaxloss.approx_ndcg,
]


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
  t, z = refs._hinge_inputs(rng, 3)
  pooled = jaxloss.lovasz_hinge(t.reshape(1, -1), z.reshape(1, -1))[0]
  np.testing.assert_allclose(
    jaxloss.lovasz_hinge(t, z, per_image=False), pooled, rtol=1e-6
  )


@pytest.mark.parametrize("classes", ["present", "all", [0, 2], (3,)])
@pytest.mark.parametrize("per_image", [True, False])
def test_lovasz_softmax_classes_reference(classes, per_image, x64):
  rng = np.random.default_rng(6)
  y, p = refs._softmax_inputs(rng, 3)
  got = jaxloss.lovasz_softmax(y, p, classes=classes, per_image=per_image)
  want = refs.np_lovasz_softmax(y, p, classes=classes, per_image=per_image)
  np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=refs.SRC_LOVASZ)


def test_lovasz_softmax_jit_and_object():
  rng = np.random.default_rng(7)
  y, p = refs._softmax_inputs(rng, 2)
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


# ------------------------------------------------------------------ ranking


def test_approx_ndcg_tends_to_minus_sklearn_ndcg():
  # Binary relevance: gains 2^t - 1 = t, as scikit-learn's ndcg_score uses;
  # both discount with log(1 + rank) (the log base cancels in the ratio).
  rng = np.random.default_rng(0)
  t = rng.integers(0, 2, (6, 7)).astype(float)
  t[:, 0] = 1.0
  s = rng.permutation(42).reshape(6, 7).astype(float)  # distinct scores
  got = jaxloss.approx_ndcg(t, s, temperature=1e-2)
  want = [-ndcg_score(ti[None], si[None]) for ti, si in zip(t, s, strict=True)]
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_approx_ndcg_temperature_reference(x64):
  rng = np.random.default_rng(1)
  t, s = refs._rank_inputs(rng, 3)
  np.testing.assert_allclose(
    jaxloss.approx_ndcg(t, s, temperature=1.0),
    refs.np_approx_ndcg(t, s, temperature=1.0),
    rtol=1e-10,
    err_msg=refs.SRC_TFR,
  )


def test_listnet_with_one_hot_relevance_is_softmax_cross_entropy():
  rng = np.random.default_rng(2)
  s = rng.normal(size=(4, 6))
  t = np.eye(6)[rng.integers(0, 6, 4)]
  np.testing.assert_allclose(
    jaxloss.listnet(t, s),
    jaxloss.categorical_crossentropy(t, s, from_logits=True),
    rtol=1e-6,
  )


def test_pairwise_logistic_and_listmle_on_two_items():
  # One preferred pair: RankNet's cost log(1 + exp(s_j - s_i)) (Burges 2005,
  # Eq. 3) and the two-item Plackett-Luce NLL coincide.
  t, s = [[2.0, 1.0]], [[0.3, 1.1]]
  want = np.log1p(np.exp(1.1 - 0.3))
  np.testing.assert_allclose(jaxloss.pairwise_logistic(t, s), [want], rtol=1e-6)
  np.testing.assert_allclose(jaxloss.listmle(t, s), [want], rtol=1e-6)
  # Hinge: max(0, 1 - (0.3 - 1.1)) = 1.8.
  np.testing.assert_allclose(jaxloss.pairwise_hinge(t, s), [1.8], rtol=1e-6)


def test_listmle_ties_follow_list_order():
  # Equal relevance: the stable sort keeps list order, so the loss is the
  # NLL of the identity permutation; it is not symmetric in tied items.
  t, s = np.zeros((1, 3)), np.array([[0.5, -1.0, 2.0]])
  want = sum(np.logaddexp.reduce(s[0, k:]) - s[0, k] for k in range(3))
  got = jaxloss.listmle(t, s)
  np.testing.assert_allclose(got, [want], rtol=1e-6)
  assert not np.allclose(got, jaxloss.listmle(t, s[:, ::-1]))
  # Distinct relevance: permuting the items together changes nothing.
  t2 = np.array([[0.0, 2.0, 1.0, 3.0]])
  s2 = np.array([[0.1, -0.4, 0.9, 0.2]])
  perm = [2, 0, 3, 1]
  np.testing.assert_allclose(
    jaxloss.listmle(t2, s2),
    jaxloss.listmle(t2[:, perm], s2[:, perm]),
    rtol=1e-6,
  )


@pytest.mark.parametrize("fn", RANKING, ids=lambda f: f.__name__)
def test_mask_equals_ragged_lists(fn):
  # A list with k valid items gives what the function gives on those k
  # items alone; negative relevance (padding) acts like the mask.
  rng = np.random.default_rng(3)
  t, s = refs._rank_inputs(rng, 4)
  where = np.array(
    [
      [True] * 5,
      [True, True, False, True, False],
      [True, False, False, False, False],
      [False] * 5,
    ]
  )
  f = jax.jit(fn)  # one compilation per list length instead of per op
  got = f(t, s, item_mask=where)
  for i in range(3):
    want = f(t[i][where[i]][None], s[i][where[i]][None])[0]
    np.testing.assert_allclose(got[i], want, rtol=1e-6, atol=1e-7)
  assert got[3] == 0.0
  np.testing.assert_allclose(f(np.where(where, t, -1.0), s), got, rtol=1e-6)


@pytest.mark.parametrize("fn", RANKING, ids=lambda f: f.__name__)
def test_fully_masked_list_is_zero_with_zero_gradient(fn):
  t = np.array([[1.0, 0.0, 2.0]])
  s = jnp.array([[0.3, np.nan, -2.0]])
  where = np.zeros((1, 3), bool)
  value, grad = jax.value_and_grad(lambda s: fn(t, s, item_mask=where).sum())(s)
  assert value == 0.0
  np.testing.assert_array_equal(grad, np.zeros((1, 3)))


def test_ranking_objects_and_registry():
  rng = np.random.default_rng(4)
  t, s = refs._rank_inputs(rng, 3)
  values = jaxloss.listmle(t, s)
  loss = jaxloss.get("ListMLE")
  assert "where" not in loss.get_config()
  assert "item_mask" not in loss.get_config()
  np.testing.assert_allclose(loss(t, s), jnp.mean(values), rtol=1e-6)
  # The object's where= masks whole lists.
  keep = np.array([True, False, True])
  np.testing.assert_allclose(
    loss(t, s, where=keep), (values[0] + values[2]) / 2, rtol=1e-6
  )
  with pytest.raises(ValueError, match="where must broadcast"):
    loss(t, s, where=np.ones_like(t, bool))
  assert jaxloss.get("approx_ndcg") is jaxloss.approx_ndcg
  assert jaxloss.ApproxNDCG(temperature=0.5).temperature == 0.5


def test_ranking_errors():
  t, s = np.zeros((2, 3)), np.zeros((2, 3))
  with pytest.raises(TypeError, match="listnet: item_mask must be a boolean"):
    jaxloss.listnet(t, s, item_mask=np.ones((2, 3)))
  with pytest.raises(ValueError, match="listmle: y_pred and item_mask"):
    jaxloss.listmle(t, s, item_mask=np.ones((2, 2), bool))
  with pytest.raises(ValueError, match="approx_ndcg: temperature"):
    jaxloss.approx_ndcg(t, s, temperature=0.0)
  with pytest.raises(ValueError, match="pairwise_hinge: y_pred must have"):
    jaxloss.pairwise_hinge(1.0, 1.0)


@pytest.mark.parametrize("fn", RANKING, ids=lambda f: f.__name__)
def test_where_is_a_deprecated_alias_of_item_mask(fn):
  rng = np.random.default_rng(5)
  t, s = refs._rank_inputs(rng, 2)
  mask = np.array([[True, True, False, True, True], [True] * 5])
  want = fn(t, s, item_mask=mask)
  # The mask changes the first list's value and not the second's.
  full = fn(t, s)
  assert want[0] != full[0] and want[1] == full[1]
  with pytest.warns(DeprecationWarning, match="where is deprecated, use"):
    got = fn(t, s, where=mask)
  np.testing.assert_array_equal(got, want)
  with pytest.raises(TypeError, match="pass only item_mask"):
    fn(t, s, where=mask, item_mask=mask)
