"""Learning-to-rank losses, after TF-Ranking's definitions.

Every loss takes graded relevance ``y_true`` and scores ``y_pred`` of shape
``[..., list_size]`` (one list per leading index) and returns one value per
list, ``[...]``.

Ragged lists: the keyword ``item_mask`` (boolean, shape of ``y_pred``) marks
the items that exist; as in TF-Ranking, an item with negative relevance (e.g.
the padding label -1) is excluded as well. Excluded items never enter a sum, an
``exp`` or a sort, so their scores may be anything (even NaN); a list with no
valid item gives 0 with finite gradients.

``item_mask`` is a per-*item* mask; ``where`` keeps its library-wide
meaning, the *list* mask of :func:`jaxloss.reduce` (shape ``[...]``, which
lists count in the mean). The functions' old ``where=`` for the item mask
is a deprecated alias of ``item_mask=``.

Loss objects: ``item_mask`` is data, not configuration, so it is not a
field; the object's ``where=`` is the list mask of :func:`jaxloss.reduce`.
For ragged lists compute the per-list values with the function and reduce
them::

    values = jaxloss.listmle(y_true, y_pred, item_mask=item_mask)
    loss = jaxloss.reduce(values, where=item_mask.any(-1))

Alternatively, give padding items the relevance -1 and use the object as is.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# The item mask's name until it was renamed; still accepted, with a warning.
_RENAMED = {"where": "item_mask"}


def _lists(caller, y_true, y_pred, item_mask):
  """Relevance (0 where invalid), scores, validity mask and output dtype."""
  t, s, dt = numerics.prediction_and_target(caller, y_true, y_pred)
  shapes.check_min_rank(caller, "y_pred", s, 1)
  shapes.check_same_shape(caller, y_true=t, y_pred=s)
  valid = t >= 0
  if item_mask is not None:
    mask = numerics.as_array(caller, "item_mask", item_mask)
    validation.bool_mask(caller, "item_mask", mask)
    shapes.check_same_shape(caller, y_pred=s, item_mask=mask)
    valid = jnp.logical_and(valid, mask)
  return jnp.where(valid, t, 0.0), s, valid, dt


def _pairs(x):
  """``x[..., i, j] -> (x_i, x_j)`` broadcast to ``[..., n, n]``."""
  shape = x.shape + x.shape[-1:]
  return (
    jnp.broadcast_to(x[..., :, None], shape),
    jnp.broadcast_to(x[..., None, :], shape),
  )


def _pairwise(caller, y_true, y_pred, item_mask, pair_loss):
  """Mean of ``pair_loss(s_i - s_j)`` over the valid pairs with t_i > t_j."""
  t, s, valid, dt = _lists(caller, y_true, y_pred, item_mask)
  t_i, t_j = _pairs(t)
  v_i, v_j = _pairs(valid)
  s_i, s_j = _pairs(s)
  pairs = (t_i > t_j) & v_i & v_j
  diff = jnp.where(pairs, s_i - s_j, 0.0)
  total = jnp.sum(jnp.where(pairs, pair_loss(diff), 0.0), axis=(-2, -1))
  count = jnp.sum(pairs, axis=(-2, -1), dtype=s.dtype)
  return numerics.safe_divide(total, count).astype(dt)


@validation.deprecated_alias(_RENAMED)
@scoped
def pairwise_hinge(
  y_true: InputLike, y_pred: InputLike, *, item_mask: InputLike | None = None
) -> jax.Array:
  """Pairwise hinge loss (RankSVM; Herbrich et al. 2000).

  Over the ordered pairs ``(i, j)`` of valid items with ``t_i > t_j``::

      loss = sum_{t_i > t_j} max(0, 1 - (s_i - s_j)) / #{(i, j): t_i > t_j}

  the per-list value of TF-Ranking's ``PairwiseHingeLoss`` (its
  ``compute_per_list``: the sum over the pairs divided by their number); 0
  when the list has no such pair. Costs ``O(list_size**2)`` memory.

  Args:
    y_true: graded relevance ``[..., list_size]``; negative entries are
      padding.
    y_pred: scores ``s``, ``[..., list_size]``; only differences ``s_i - s_j``
      count.
    item_mask: optional boolean mask ``[..., list_size]`` of the valid
      items (``where=`` is its deprecated alias).

  Returns:
    The mean hinge over each list's ordered pairs, ``[...]``, in ``y_pred``'s
    dtype.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` is a scalar.
    TypeError: if ``y_pred`` is not floating or ``item_mask`` not boolean.

  Examples:
    >>> import jaxloss
    >>> jaxloss.pairwise_hinge([[2.0, 1.0, 0.0]], [[1.0, 0.5, 1.0]])
    Array([1.], dtype=float32)

  References:
    TF-Ranking ``tfr.keras.losses.PairwiseHingeLoss`` (Pasumarthi et al.,
    KDD 2019); Herbrich, Graepel & Obermayer, "Large margin rank boundaries
    for ordinal regression", 2000.
  """
  return _pairwise(
    "pairwise_hinge", y_true, y_pred, item_mask, lambda d: jax.nn.relu(1.0 - d)
  )


@validation.deprecated_alias(_RENAMED)
@scoped
def pairwise_logistic(
  y_true: InputLike, y_pred: InputLike, *, item_mask: InputLike | None = None
) -> jax.Array:
  """Pairwise logistic loss (RankNet; Burges et al. 2005).

  Over the ordered pairs ``(i, j)`` of valid items with ``t_i > t_j``::

      loss = sum_{t_i > t_j} log(1 + exp(-(s_i - s_j))) / #{(i, j): t_i > t_j}

  (computed as ``softplus(s_j - s_i)``), the per-list value of TF-Ranking's
  ``PairwiseLogisticLoss`` (the sum over the pairs divided by their number);
  0 when the list has no such pair. Costs ``O(list_size**2)`` memory.

  Args:
    y_true: graded relevance ``[..., list_size]``; negative entries are
      padding.
    y_pred: scores ``[..., list_size]``, the logits of the pairwise order.
    item_mask: optional boolean mask ``[..., list_size]`` of the valid
      items (``where=`` is its deprecated alias).

  Returns:
    The mean logistic loss over each list's ordered pairs, ``[...]``, in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` is a scalar.
    TypeError: if ``y_pred`` is not floating or ``item_mask`` not boolean.

  Examples:
    >>> import jaxloss
    >>> jaxloss.pairwise_logistic([[1.0, 0.0]], [[0.0, 0.0]])
    Array([0.6931472], dtype=float32)

  References:
    Burges et al., "Learning to Rank using Gradient Descent", ICML 2005
    (Eq. 3 with target probability 1); TF-Ranking
    ``tfr.keras.losses.PairwiseLogisticLoss``.
  """
  return _pairwise(
    "pairwise_logistic",
    y_true,
    y_pred,
    item_mask,
    lambda d: jax.nn.softplus(-d),
  )


@validation.deprecated_alias(_RENAMED)
@scoped
def listnet(
  y_true: InputLike, y_pred: InputLike, *, item_mask: InputLike | None = None
) -> jax.Array:
  """ListNet top-one cross-entropy (Cao et al. 2007; TF-Ranking SoftmaxLoss).

  With ``P_i = t_i / sum_j t_j`` the relevance normalised over the valid
  items and ``log q_i = s_i - logsumexp_j s_j`` (valid ``j``)::

      loss = -sum_i P_i log q_i

  A list whose relevance sums to 0 gives 0. This is the per-list value of
  TF-Ranking's ``SoftmaxLoss``, which additionally weighs each list by its
  relevance sum in the reduction: pass ``sample_weight=sum(y_true, -1)`` (of
  the valid items) to :func:`jaxloss.reduce` for that.

  Args:
    y_true: graded relevance ``[..., list_size]``, >= 0; negative entries
      are padding.
    y_pred: scores ``[..., list_size]``, softmax-normalised over the valid
      items.
    item_mask: optional boolean mask ``[..., list_size]`` of the valid
      items (``where=`` is its deprecated alias).

  Returns:
    The top-one cross-entropy of each list, ``[...]``, in ``y_pred``'s dtype.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` is a scalar.
    TypeError: if ``y_pred`` is not floating or ``item_mask`` not boolean.

  Examples:
    >>> import jaxloss
    >>> jaxloss.listnet([[1.0, 0.0]], [[0.0, 0.0]])
    Array([0.6931472], dtype=float32)

  References:
    Cao et al., "Learning to Rank: From Pairwise Approach to Listwise
    Approach", ICML 2007 (top-one probability, Eq. 4-6); TF-Ranking
    ``tfr.keras.losses.SoftmaxLoss``.
  """
  t, s, valid, dt = _lists("listnet", y_true, y_pred, item_mask)
  prob = numerics.safe_divide(t, jnp.sum(t, axis=-1, keepdims=True))
  lse = numerics.masked_logsumexp(s, valid, axis=-1)
  lse = jnp.where(jnp.any(valid, axis=-1), lse, 0.0)  # -inf if empty
  log_q = jnp.where(valid, s - lse[..., None], 0.0)
  return -jnp.sum(prob * log_q, axis=-1).astype(dt)


@validation.deprecated_alias(_RENAMED)
@scoped
def listmle(
  y_true: InputLike, y_pred: InputLike, *, item_mask: InputLike | None = None
) -> jax.Array:
  """ListMLE: negative Plackett-Luce log-likelihood of the ideal order.

  With ``pi`` the valid items sorted by decreasing relevance::

      loss = sum_k [ log sum_{m >= k} exp(s_pi(m)) - s_pi(k) ]

  Ties and permutation: ``pi`` is the *stable* descending sort by relevance,
  so equal relevance keeps the items' order in the list; the loss is
  deterministic (TF-Ranking shuffles ties at random instead). It is computed
  without a sort: item ``j`` enters item ``i``'s log-sum-exp when
  ``t_j < t_i``, or ``t_j == t_i`` and ``j >= i``; this costs
  ``O(list_size**2)`` memory and keeps every term a stable log-sum-exp.
  Invalid items are dropped exactly (TF-Ranking gives them a score of
  ``log(1e-10)``, which adds a near-constant).

  Args:
    y_true: graded relevance ``[..., list_size]``; negative entries are
      padding.
    y_pred: scores ``[..., list_size]``, the Plackett-Luce log-utilities.
    item_mask: optional boolean mask ``[..., list_size]`` of the valid
      items (``where=`` is its deprecated alias).

  Returns:
    The Plackett-Luce negative log-likelihood of each list, ``[...]``, in
    ``y_pred``'s dtype.

  Raises:
    ValueError: if the shapes differ or ``y_pred`` is a scalar.
    TypeError: if ``y_pred`` is not floating or ``item_mask`` not boolean.

  Examples:
    >>> import jaxloss
    >>> jaxloss.listmle([[1.0, 0.0]], [[0.0, 0.0]])
    Array([0.6931472], dtype=float32)

  References:
    Xia et al., "Listwise Approach to Learning to Rank: Theory and
    Algorithm", ICML 2008 (Eq. 9); TF-Ranking
    ``tfr.keras.losses.ListMLELoss``.
  """
  t, s, valid, dt = _lists("listmle", y_true, y_pred, item_mask)
  n = s.shape[-1]
  t_i, t_j = _pairs(t)
  v_i, v_j = _pairs(valid)
  _, s_j = _pairs(s)
  index = jnp.arange(n)
  later = jnp.broadcast_to(index[None, :] >= index[:, None], t_i.shape)
  after = (t_j < t_i) | ((t_j == t_i) & later)
  lse = numerics.masked_logsumexp(s_j, after & v_i & v_j, axis=-1)
  terms = jnp.where(valid, jnp.where(valid, lse, 0.0) - s, 0.0)
  return jnp.sum(terms, axis=-1).astype(dt)


@validation.deprecated_alias(_RENAMED)
@scoped
def approx_ndcg(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  item_mask: InputLike | None = None,
  temperature: float | jax.Array = 0.1,
) -> jax.Array:
  """ApproxNDCG loss (Qin et al. 2010): minus a smooth NDCG.

  Ranks are smoothed with a sigmoid of the score differences, over the valid
  items ``j``; gains and discounts are TF-Ranking's::

      r_i = 1/2 + sum_j sigmoid((s_j - s_i) / temperature)
      DCG = sum_i (2 ** t_i - 1) / log(1 + r_i)
      loss = -DCG / maxDCG

  with ``maxDCG`` the DCG of the ideal order (ranks 1, 2, ...). The values
  lie in [-1, 0]; a list without relevant items (``maxDCG = 0``) gives 0.
  As ``temperature -> 0`` this tends to minus the exact NDCG.

  Args:
    y_true: graded relevance ``[..., list_size]``, >= 0; negative entries
      are padding.
    y_pred: scores ``[..., list_size]``.
    item_mask: optional boolean mask ``[..., list_size]`` of the valid
      items (``where=`` is its deprecated alias).
    temperature: the sigmoid's temperature, > 0 (TF-Ranking's default 0.1).

  Returns:
    Minus the smooth NDCG of each list, in [-1, 0], ``[...]``, in ``y_pred``'s
    dtype.

  Raises:
    ValueError: if ``temperature <= 0``, the shapes differ or ``y_pred`` is
      a scalar.
    TypeError: if ``y_pred`` is not floating or ``item_mask`` not boolean.

  Examples:
    >>> import jaxloss
    >>> jaxloss.approx_ndcg([[1.0, 0.0]], [[5.0, 0.0]])
    Array([-1.], dtype=float32)

  References:
    Qin, Liu & Li, "A general approximation framework for direct
    optimization of information retrieval measures", Information Retrieval
    13, 2010 (Eq. 14-16); TF-Ranking ``tfr.keras.losses.ApproxNDCGLoss``.
  """
  caller = "approx_ndcg"
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  t, s, valid, dt = _lists(caller, y_true, y_pred, item_mask)
  s_i, s_j = _pairs(jnp.where(valid, s, 0.0))
  _, v_j = _pairs(valid)
  # An array temperature: a constant NaN must not be folded away under jit.
  temperature = jnp.asarray(temperature, s.dtype)
  above = jax.nn.sigmoid((s_j - s_i) / temperature)
  ranks = 0.5 + jnp.sum(jnp.where(v_j, above, 0.0), axis=-1)
  gains = jnp.expm1(t * math.log(2.0))  # 0 for invalid items (t = 0)
  dcg = jnp.sum(gains / jnp.log1p(ranks), axis=-1)
  ideal = -jnp.sort(-gains, axis=-1)
  positions = jnp.arange(1, s.shape[-1] + 1, dtype=s.dtype)
  discounts = jnp.broadcast_to(1.0 / jnp.log1p(positions), ideal.shape)
  max_dcg = jnp.sum(ideal * discounts, axis=-1)
  ndcg = numerics.safe_divide(dcg, max_dcg)
  # safe_divide's 0 for an empty list must not hide a NaN temperature.
  ndcg = jnp.where(jnp.isnan(temperature), jnp.nan, ndcg)
  return -ndcg.astype(dt)


class PairwiseHinge(Loss, fn=pairwise_hinge, exclude=("item_mask",)):
  """Loss object for :func:`jaxloss.pairwise_hinge`."""


class PairwiseLogistic(Loss, fn=pairwise_logistic, exclude=("item_mask",)):
  """Loss object for :func:`jaxloss.pairwise_logistic`."""


class ListNet(Loss, fn=listnet, exclude=("item_mask",)):
  """Loss object for :func:`jaxloss.listnet`."""


class ListMLE(Loss, fn=listmle, exclude=("item_mask",)):
  """Loss object for :func:`jaxloss.listmle`."""


class ApproxNDCG(Loss, fn=approx_ndcg, exclude=("item_mask",)):
  """Loss object for :func:`jaxloss.approx_ndcg`."""

  temperature: float | jax.Array = 0.1
