"""Reference and behaviour tests for the ranking losses (the generic
contract tests run on tests/specs/ranking.py).

Independent references: scikit-learn's ``ndcg_score`` (the exact metric
that ApproxNDCG relaxes), jaxloss's own ``categorical_crossentropy``, and
hand-derived values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.optional import require
from tests.specs import ranking


def ndcg_score(*args, **kwargs):
  return require("sklearn.metrics").ndcg_score(*args, **kwargs)


RANKING = [
  jaxloss.pairwise_hinge,
  jaxloss.pairwise_logistic,
  jaxloss.listnet,
  jaxloss.listmle,
  jaxloss.approx_ndcg,
]


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
  t, s = ranking._rank_inputs(rng, 3)
  np.testing.assert_allclose(
    jaxloss.approx_ndcg(t, s, temperature=1.0),
    ranking.np_approx_ndcg(t, s, temperature=1.0),
    rtol=1e-10,
    err_msg=ranking.SRC_TFR,
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
  t, s = ranking._rank_inputs(rng, 4)
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
  t, s = ranking._rank_inputs(rng, 3)
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
  t, s = ranking._rank_inputs(rng, 2)
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
