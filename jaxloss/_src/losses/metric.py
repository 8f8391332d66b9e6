"""Pair-based metric-learning losses and miners (pytorch-metric-learning's
catalogue).

* Losses over a batch of labelled embeddings and a reference set (the batch
  itself by default): ``multi_similarity`` (one value per anchor),
  ``margin_loss``, ``tuplet_margin`` and ``fast_ap`` (one value per batch).
  Each takes ``ref_labels`` / ``ref_embeddings`` and ``pairs``, boolean
  ``(positive, negative)`` masks ``[N, M]`` that restrict the label masks.
* Miners: pure functions from labels and embeddings to those pair masks
  (``batch_hard_miner``, ``triplet_margin_miner``, ``multi_similarity_miner``,
  ``pair_margin_miner``, ``angular_miner``). Their inputs are held constant
  (``stop_gradient``): mining selects pairs, it is not differentiated. Any
  loss with a ``pairs`` argument accepts them (these and
  :func:`jaxloss.circle`).

Distances follow pytorch-metric-learning's defaults: cosine similarity of
the L2-normalised embeddings (``x / max(||x||, 1e-7)``), or the Euclidean
distance between those unit vectors.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import validation
from jaxloss._src.losses.embedding import pair_inputs
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

Pairs = tuple[InputLike, InputLike]
_HIGHEST = jax.lax.Precision.HIGHEST


def _unit_pairs(pi):
  """Unit vectors of the batch and the reference set, and their ``[N, M]``
  cosine similarities."""
  u = numerics.l2_normalize(pi.embeddings)
  v = numerics.l2_normalize(pi.ref_embeddings)
  return u, v, jnp.matmul(u, v.T, precision=_HIGHEST)


def squared_distances(u, v):
  """``[N, M]`` squared Euclidean distances ``|u|^2 + |v|^2 - 2 u.v``,
  clipped at 0."""
  sq = (
    jnp.sum(jnp.square(u), -1)[:, None]
    + jnp.sum(jnp.square(v), -1)[None, :]
    - 2.0 * jnp.matmul(u, v.T, precision=_HIGHEST)
  )
  return jnp.maximum(sq, 0.0)


def _unit_distances(pi):
  """``[N, M]`` Euclidean distances between the unit vectors (value and
  gradient 0 at distance 0)."""
  u, v, _ = _unit_pairs(pi)
  return numerics.safe_pow(squared_distances(u, v), 0.5)


def log1p_sum_exp(x, where, axis=-1):
  """``log(1 + sum_where exp(x))``: 0, with a zero gradient, where the mask
  is empty (pytorch-metric-learning's ``logsumexp(add_one=True)``)."""
  return jax.nn.softplus(numerics.masked_logsumexp(x, where, axis=axis))


# ------------------------------------------------------------- losses


@scoped
def multi_similarity(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  pairs: Pairs | None = None,
  alpha: float | jax.Array = 2.0,
  beta: float | jax.Array = 50.0,
  base: float | jax.Array = 0.5,
) -> jax.Array:
  """Multi-similarity loss (Wang et al. 2019), one value per anchor.

  With ``s_ij`` the cosine similarities to the reference set, positives
  ``P_i`` (same label; not ``i`` itself when the reference is the batch) and
  negatives ``N_i``:

  ``loss_i = log(1 + sum_{P_i} exp(-alpha (s_ip - base))) / alpha
  + log(1 + sum_{N_i} exp(beta (s_in - base))) / beta``;

  an empty set adds 0. The loss object averages over all anchors
  (pytorch-metric-learning's ``MeanReducer``).

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]`` (normalised here).
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    pairs: optional ``(positive, negative)`` boolean masks ``[N, M]``
      (a miner's output).
    alpha: weight of the positive pairs, ``> 0``.
    beta: weight of the negative pairs, ``> 0``.
    base: the similarity offset ``lambda``.

  Returns:
    ``[N]`` losses.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]
    >>> jaxloss.multi_similarity([0, 0, 1], e).shape
    (3,)

  References:
    Wang et al. 2019, Multi-similarity loss with general pair weighting
    for deep metric learning, eq. (9);
    ``pytorch_metric_learning.losses.MultiSimilarityLoss`` (2.9).
  """
  caller = "multi_similarity"
  validation.check_range(caller, "alpha", alpha, low=0.0, low_open=True)
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.number(caller, "base", base)
  pi = pair_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings, pairs)
  _, _, sim = _unit_pairs(pi)
  pos = log1p_sum_exp(-alpha * (sim - base), pi.positive) / alpha
  neg = log1p_sum_exp(beta * (sim - base), pi.negative) / beta
  return (pos + neg).astype(pi.out_dtype)


@domains.declare(class_ids=domains.ClassIds("y_true", "beta", axis=0))
@scoped
def margin_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  pairs: Pairs | None = None,
  margin: float | jax.Array = 0.2,
  beta: float | jax.Array = 1.2,
  nu: float | jax.Array = 0.0,
) -> jax.Array:
  """Margin loss (Wu et al. 2017) over all triplets of the batch.

  ``d`` is the Euclidean distance between L2-normalised embeddings and
  ``b_a`` the boundary of anchor ``a`` (``beta``, or ``beta[label_a]`` for
  a per-class ``[C]`` array). Over every triplet ``(a, p, n)`` (``p`` a
  positive and ``n`` a negative of ``a``):

  ``loss = sum (relu(d_ap - b_a + margin) + relu(b_a - d_an + margin)) / K
  + nu * beta_term``

  with ``K`` the number of non-zero terms among both hinges (0 when none)
  and ``beta_term = beta`` for a scalar, ``sum beta[label_a] / K`` for a
  per-class ``beta``. A batch without triplets gives 0. ``beta`` is
  learnable: pass an array, it is a leaf of the loss object.
  pytorch-metric-learning adds the ``nu`` term only with
  ``learn_beta=True``; ``nu=0`` (the default) leaves it out.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]`` (normalised here).
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    pairs: optional ``(positive, negative)`` boolean masks ``[N, M]``.
    margin: the margin ``alpha`` of the paper.
    beta: the boundary, a scalar or one per class ``[C]`` (then a label
      outside ``[0, C)`` makes the value NaN).
    nu: weight of the regulariser on ``beta``.

  Returns:
    A scalar: the loss of the whole batch.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]
    >>> jaxloss.margin_loss([0, 0, 1], e).shape
    ()

  References:
    Wu, Manmatha, Smola and Krahenbuhl 2017, Sampling matters in deep
    embedding learning, eq. (4)-(5);
    ``pytorch_metric_learning.losses.MarginLoss`` (2.9).
  """
  caller = "margin_loss"
  validation.number(caller, "margin", margin)
  validation.number(caller, "nu", nu)
  validation.number(caller, "beta", beta)
  if np.ndim(beta) > 1:
    raise ValueError(
      f"{caller}: beta must be a scalar or one per class [C], got shape "
      f"{np.shape(beta)}"
    )
  pi = pair_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings, pairs)
  dist = _unit_distances(pi)
  dt = dist.dtype
  per_class = np.ndim(beta) == 1
  b = jnp.asarray(beta, dt)
  b_a = jnp.take(b, pi.labels, mode="clip")[:, None] if per_class else b
  pos = jax.nn.relu(dist - b_a + margin)
  neg = jax.nn.relu(b_a - dist + margin)
  n_pos = jnp.sum(pi.positive, axis=1, keepdims=True, dtype=dt)
  n_neg = jnp.sum(pi.negative, axis=1, keepdims=True, dtype=dt)
  # Each (a, p) pair is in n_neg(a) triplets, each (a, n) in n_pos(a).
  pos_w = jnp.where(pi.positive, n_neg, 0.0)
  neg_w = jnp.where(pi.negative, n_pos, 0.0)
  total = jnp.sum(pos_w * pos) + jnp.sum(neg_w * neg)
  divisor = jnp.sum(jnp.where(pos > 0, pos_w, 0.0)) + jnp.sum(
    jnp.where(neg > 0, neg_w, 0.0)
  )
  value = numerics.safe_divide(total, divisor)
  if per_class:
    triplets = (n_pos * n_neg)[:, 0]
    value = value + nu * numerics.safe_divide(
      jnp.sum(triplets * b_a[:, 0]), divisor
    )
  else:
    value = value + nu * b
  has_triplets = jnp.any(n_pos * n_neg > 0)
  value = jnp.where(has_triplets, value, 0.0)
  if per_class:
    # A label with no boundary in beta makes the value NaN.
    value = numerics.nan_at_bad_ids(value, pi.labels, b.shape[0])
  return value.astype(pi.out_dtype)


@scoped
def tuplet_margin(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  pairs: Pairs | None = None,
  margin: float | jax.Array = 5.73,
  scale: float | jax.Array = 64.0,
) -> jax.Array:
  """Tuplet margin loss (Yu and Tao 2019), averaged over positive pairs.

  With cosine similarities ``s``, ``theta_ap = arccos(s_ap)`` and the
  margin ``m`` in degrees (pytorch-metric-learning's unit), for every
  positive pair ``(a, p)``:

  ``l_ap = log(1 + sum_{n in N_a} exp(scale (s_an - cos(theta_ap - m))))``

  and ``loss = mean_{(a, p)} l_ap`` (0 when the batch has no positive or
  no negative pair). ``cos(theta - m)`` is computed as
  ``s cos m + sqrt(1 - s^2) sin m`` (finite gradient at ``s = +-1``).

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]`` (normalised here).
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    pairs: optional ``(positive, negative)`` boolean masks ``[N, M]``.
    margin: the angular margin in degrees.
    scale: the scale ``s > 0``.

  Returns:
    A scalar: the loss of the whole batch.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]
    >>> jaxloss.tuplet_margin([0, 0, 1], e).shape
    ()

  References:
    Yu and Tao 2019, Deep metric learning with tuplet margin loss, eq. (5);
    ``pytorch_metric_learning.losses.TupletMarginLoss`` (2.9).
  """
  caller = "tuplet_margin"
  validation.number(caller, "margin", margin)
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  pi = pair_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings, pairs)
  _, _, sim = _unit_pairs(pi)
  sim = jnp.clip(sim, -1.0, 1.0)
  m = jnp.deg2rad(jnp.asarray(margin, sim.dtype))
  shifted = sim * jnp.cos(m) + numerics.safe_pow(1.0 - sim**2, 0.5) * jnp.sin(m)
  neg_lse = numerics.masked_logsumexp(scale * sim, pi.negative, axis=1)
  per_pair = jax.nn.softplus(neg_lse[:, None] - scale * shifted)
  n_pairs = jnp.sum(pi.positive, dtype=sim.dtype)
  total = jnp.sum(jnp.where(pi.positive, per_pair, 0.0))
  value = numerics.safe_divide(total, n_pairs)
  return jnp.where(jnp.any(pi.negative), value, 0.0).astype(pi.out_dtype)


@scoped
def fast_ap(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  pairs: Pairs | None = None,
  num_bins: int = 10,
) -> jax.Array:
  """FastAP (Cakir et al. 2019): 1 - a histogram approximation of the
  average precision, averaged over the anchors that have positives.

  Distances are squared Euclidean between unit vectors, in ``[0, 4]``,
  binned with triangular kernels of width ``delta = 4 / num_bins`` at
  ``z_k = k delta``, ``k = 0..num_bins``:
  ``h+_k = sum_{p} relu(1 - |d_ap - z_k| / delta)`` over the positives,
  ``h_k`` the same over positives and negatives, ``H+``, ``H`` their
  cumulative sums, and

  ``AP_a = sum_k h+_k H+_k / H_k / |P_a|``,
  ``loss = mean_{a : |P_a| > 0} (1 - AP_a)`` (0 when no anchor has one).

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]`` (normalised here).
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    pairs: optional ``(positive, negative)`` boolean masks ``[N, M]``.
    num_bins: number of histogram bins, ``>= 1``.

  Returns:
    A scalar: the loss of the whole batch.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]
    >>> jaxloss.fast_ap([0, 0, 1], e).shape
    ()

  References:
    Cakir, He, Xia, Kulis and Sclaroff 2019, Deep metric learning to rank,
    eq. (8)-(10); ``pytorch_metric_learning.losses.FastAPLoss`` (2.9).
  """
  caller = "fast_ap"
  validation.integer(caller, "num_bins", num_bins, low=1)
  pi = pair_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings, pairs)
  u, v, _ = _unit_pairs(pi)
  dist = squared_distances(u, v)
  dt = dist.dtype
  delta = 4.0 / num_bins
  centres = jnp.linspace(0.0, 4.0, num_bins + 1, dtype=dt)
  pulse = jax.nn.relu(
    1.0 - jnp.abs(dist[..., None] - centres[None, None, :]) / delta
  )
  pos_hist = jnp.sum(jnp.where(pi.positive[..., None], pulse, 0.0), axis=1)
  neg_hist = jnp.sum(jnp.where(pi.negative[..., None], pulse, 0.0), axis=1)
  cum_pos = jnp.cumsum(pos_hist, axis=-1)
  cum_all = jnp.cumsum(pos_hist + neg_hist, axis=-1)
  prod = pos_hist * cum_pos
  terms = jnp.where(prod > 0, numerics.safe_divide(prod, cum_all), 0.0)
  n_pos = jnp.sum(pi.positive, axis=1, dtype=dt)
  has_pos = n_pos > 0
  ap = numerics.safe_divide(jnp.sum(terms, axis=-1), n_pos)
  total = jnp.sum(jnp.where(has_pos, 1.0 - ap, 0.0))
  value = numerics.safe_divide(total, jnp.sum(has_pos, dtype=dt))
  return value.astype(pi.out_dtype)


# ------------------------------------------------------------- miners


def _miner_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings):
  pi = pair_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings)
  return pi._replace(
    embeddings=jax.lax.stop_gradient(pi.embeddings),
    ref_embeddings=jax.lax.stop_gradient(pi.ref_embeddings),
  )


def _triplets(positive, negative):
  """``[N, M, M]`` mask of the triplets ``(a, p, n)``."""
  return positive[:, :, None] & negative[:, None, :]


def _triplet_pairs(keep):
  """Pair masks of the kept triplets ``[N, M, M]``: ``(a, p)`` and
  ``(a, n)`` that belong to at least one."""
  return jnp.any(keep, axis=2), jnp.any(keep, axis=1)


@scoped
def batch_hard_miner(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
) -> tuple[jax.Array, jax.Array]:
  """Batch-hard mining (Hermans et al. 2017): per anchor, its farthest
  positive and its closest negative.

  Distances are Euclidean between L2-normalised embeddings. Anchors
  without a positive or without a negative select nothing.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).

  Returns:
    ``(positive, negative)`` boolean masks ``[N, M]``, at most one entry
    per row each: the ``pairs`` argument of the pair losses.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    >>> pos, neg = jaxloss.batch_hard_miner([0, 0, 1, 1], e)
    >>> neg.astype(int)
    Array([[0, 0, 0, 1],
           [0, 0, 0, 1],
           [0, 1, 0, 0],
           [0, 1, 0, 0]], dtype=int32)

  References:
    Hermans, Beyer and Leibe 2017, In defense of the triplet loss, eq. (5);
    ``pytorch_metric_learning.miners.BatchHardMiner`` (2.9).
  """
  pi = _miner_inputs(
    "batch_hard_miner", y_true, y_pred, ref_labels, ref_embeddings
  )
  dist = _unit_distances(pi)
  valid = jnp.any(pi.positive, axis=1) & jnp.any(pi.negative, axis=1)
  m = dist.shape[1]
  hard_pos = jnp.argmax(jnp.where(pi.positive, dist, -jnp.inf), axis=1)
  hard_neg = jnp.argmin(jnp.where(pi.negative, dist, jnp.inf), axis=1)
  positive = jax.nn.one_hot(hard_pos, m, dtype=bool) & valid[:, None]
  negative = jax.nn.one_hot(hard_neg, m, dtype=bool) & valid[:, None]
  return positive, negative


TRIPLET_TYPES = ("all", "hard", "semihard", "easy")


@scoped
def triplet_margin_miner(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  margin: float = 0.2,
  type_of_triplets: str = "all",
) -> tuple[jax.Array, jax.Array]:
  """Triplets selected by their margin ``t = d_an - d_ap`` (Euclidean
  distances between L2-normalised embeddings), as pairs.

  ``"all"``: ``t <= margin`` (the triplets that violate the margin);
  ``"hard"``: ``t <= 0``; ``"semihard"``: ``0 < t <= margin`` (FaceNet's
  semi-hard negatives); ``"easy"``: ``t > margin``. A pair is selected when
  it belongs to at least one selected triplet.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    margin: the margin.
    type_of_triplets: ``"all"``, ``"hard"``, ``"semihard"`` or ``"easy"``.

  Returns:
    ``(positive, negative)`` boolean masks ``[N, M]``.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    >>> pos, neg = jaxloss.triplet_margin_miner(
    ...     [0, 0, 1, 1], e, type_of_triplets="semihard")
    >>> pos.shape
    (4, 4)

  References:
    Schroff, Kalenichenko and Philbin 2015, FaceNet, sec. 3.2;
    ``pytorch_metric_learning.miners.TripletMarginMiner`` (2.9).
  """
  caller = "triplet_margin_miner"
  validation.static_number(caller, "margin", margin)
  validation.choice(caller, "type_of_triplets", type_of_triplets, TRIPLET_TYPES)
  pi = _miner_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings)
  dist = _unit_distances(pi)
  t = dist[:, None, :] - dist[:, :, None]  # [a, p, n]: d_an - d_ap
  if type_of_triplets == "easy":
    cond = t > margin
  else:
    cond = t <= margin
    if type_of_triplets == "hard":
      cond = cond & (t <= 0)
    elif type_of_triplets == "semihard":
      cond = cond & (t > 0)
  return _triplet_pairs(_triplets(pi.positive, pi.negative) & cond)


@scoped
def multi_similarity_miner(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  epsilon: float = 0.1,
) -> tuple[jax.Array, jax.Array]:
  """Multi-similarity mining (Wang et al. 2019, eq. (4)-(5)).

  With cosine similarities ``s``: a negative ``(a, n)`` is kept when
  ``s_an + epsilon > min_{p} s_ap``, a positive ``(a, p)`` when
  ``s_ap - epsilon < max_{n} s_an``; nothing is kept for an anchor without
  positives and negatives.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    epsilon: the similarity margin.

  Returns:
    ``(positive, negative)`` boolean masks ``[N, M]``.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    >>> pos, neg = jaxloss.multi_similarity_miner([0, 0, 1, 1], e)
    >>> pos.shape
    (4, 4)

  References:
    Wang et al. 2019, Multi-similarity loss with general pair weighting,
    eq. (4)-(5); ``pytorch_metric_learning.miners.MultiSimilarityMiner``
    (2.9).
  """
  caller = "multi_similarity_miner"
  validation.static_number(caller, "epsilon", epsilon)
  pi = _miner_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings)
  _, _, sim = _unit_pairs(pi)
  min_pos = jnp.min(jnp.where(pi.positive, sim, jnp.inf), axis=1, keepdims=True)
  max_neg = jnp.max(
    jnp.where(pi.negative, sim, -jnp.inf), axis=1, keepdims=True
  )
  positive = pi.positive & (sim - epsilon < max_neg)
  negative = pi.negative & (sim + epsilon > min_pos)
  return positive, negative


@scoped
def pair_margin_miner(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  pos_margin: float = 0.2,
  neg_margin: float = 0.8,
) -> tuple[jax.Array, jax.Array]:
  """Pairs that violate their margin: positives farther than
  ``pos_margin``, negatives closer than ``neg_margin`` (Euclidean distances
  between L2-normalised embeddings).

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    pos_margin: distance above which a positive pair is kept.
    neg_margin: distance below which a negative pair is kept.

  Returns:
    ``(positive, negative)`` boolean masks ``[N, M]``.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    >>> pos, neg = jaxloss.pair_margin_miner([0, 0, 1, 1], e)
    >>> pos.shape
    (4, 4)

  References:
    ``pytorch_metric_learning.miners.PairMarginMiner`` (2.9).
  """
  caller = "pair_margin_miner"
  validation.static_number(caller, "pos_margin", pos_margin)
  validation.static_number(caller, "neg_margin", neg_margin)
  pi = _miner_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings)
  dist = _unit_distances(pi)
  return pi.positive & (dist > pos_margin), pi.negative & (dist < neg_margin)


@scoped
def angular_miner(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  angle: float = 20.0,
) -> tuple[jax.Array, jax.Array]:
  """Triplets whose angle at the negative exceeds ``angle`` degrees
  (Wang et al. 2017), as pairs.

  For a triplet ``(a, p, n)`` with ``c = (x_a + x_p) / 2`` (the embeddings
  as given, not normalised): ``angle_apn = atan(||x_a - x_p|| /
  (2 ||x_n - c||))``. A pair is kept when it belongs to at least one
  triplet with ``angle_apn > angle``.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    angle: the threshold in degrees.

  Returns:
    ``(positive, negative)`` boolean masks ``[N, M]``.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]]
    >>> pos, neg = jaxloss.angular_miner([0, 0, 1, 1], e, angle=10.0)
    >>> pos.shape
    (4, 4)

  References:
    Wang, Zhou, Wen, Liu and Lin 2017, Deep metric learning with angular
    loss, eq. (5); ``pytorch_metric_learning.miners.AngularMiner`` (2.9).
  """
  caller = "angular_miner"
  validation.static_number(caller, "angle", angle)
  pi = _miner_inputs(caller, y_true, y_pred, ref_labels, ref_embeddings)
  x, r = pi.embeddings, pi.ref_embeddings
  ap = numerics.safe_pow(squared_distances(x, r), 0.5)  # [a, p]
  # ||r_n - (x_a + r_p) / 2||^2 from Gram matrices: [a, p, n].
  xr = jnp.matmul(x, r.T, precision=_HIGHEST)
  rr = jnp.matmul(r, r.T, precision=_HIGHEST)
  xx = jnp.sum(jnp.square(x), -1)
  r2 = jnp.diagonal(rr)
  c2 = 0.25 * (xx[:, None] + r2[None, :] + 2.0 * xr)  # ||c_ap||^2
  nc2 = r2[None, None, :] + c2[:, :, None] - xr[:, None, :] - rr[None, :, :]
  nc = numerics.safe_pow(jnp.maximum(nc2, 0.0), 0.5)
  angles = jnp.arctan2(ap[:, :, None], 2.0 * nc)
  keep = _triplets(pi.positive, pi.negative) & (angles > math.radians(angle))
  return _triplet_pairs(keep)


# ------------------------------------------------------------- objects

_PAIR_INPUTS = ("ref_labels", "ref_embeddings", "pairs")


class MultiSimilarity(Loss, fn=multi_similarity, keyword_inputs=_PAIR_INPUTS):
  """Loss object for :func:`jaxloss.multi_similarity`."""

  alpha: float | jax.Array = 2.0
  beta: float | jax.Array = 50.0
  base: float | jax.Array = 0.5


class MarginLoss(
  Loss, fn=margin_loss, keyword_inputs=_PAIR_INPUTS, batch_level=True
):
  """Loss object for :func:`jaxloss.margin_loss`; an array ``beta`` is a
  learnable leaf."""

  margin: float | jax.Array = 0.2
  beta: float | jax.Array = 1.2
  nu: float | jax.Array = 0.0


class TupletMargin(
  Loss, fn=tuplet_margin, keyword_inputs=_PAIR_INPUTS, batch_level=True
):
  """Loss object for :func:`jaxloss.tuplet_margin`."""

  margin: float | jax.Array = 5.73
  scale: float | jax.Array = 64.0


class FastAP(Loss, fn=fast_ap, keyword_inputs=_PAIR_INPUTS, batch_level=True):
  """Loss object for :func:`jaxloss.fast_ap`."""

  num_bins: int = 10
