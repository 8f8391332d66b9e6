"""Embedding and metric-learning losses.

* Similarity kernels: clipped cosine, NT-Xent (SimCLR); unit vectors come
  from the one L2 normalisation, ``numerics.l2_normalize``.
* Losses on given tuples or pairs, one value per sample:
  ``triplet_margin_loss`` (PyTorch's ``TripletMarginLoss``),
  ``quadruplet_loss`` (Chen et al. 2017), ``contrastive_loss`` (on
  distances, tensorflow-addons semantics) and ``info_nce`` (van den Oord et
  al. 2018).
* Losses over a batch of labelled embeddings (labels ``[B]``, embeddings
  ``[B, D]``): the Circle loss (Keras 3), and the mined losses
  ``triplet_semihard_loss``, ``triplet_hard_loss``, ``lifted_struct_loss``
  and ``npairs_loss`` (tensorflow-addons), which return ONE scalar for the
  whole batch, and ``supervised_contrastive``.

Pair masks (same label / different label, optionally without the diagonal)
and pairwise distances have one home here (:func:`pair_masks`,
:func:`pairwise_distances`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.objects import register
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# ----------------------------------------------------------------------------
# Similarity-based losses: clipped cosine similarity, NT-Xent (SimCLR) and


def clipped_cosine(
  a,
  b,
  axis: int | tuple[int, ...] | None = -1,
  eps=0.0,
  where=None,
):
  """``<a, b> / (sqrt(max(|a|^2, eps)) sqrt(max(|b|^2, eps)))`` (optax's
  ``cosine_similarity``: ``eps`` floors the squared norms)."""
  prod = numerics.l2_normalize(
    a, axis, eps, where=where, eps_on="squared_norm"
  ) * numerics.l2_normalize(b, axis, eps, where=where, eps_on="squared_norm")
  if where is not None:
    prod = jnp.where(where, prod, 0)
  return jnp.sum(prod, axis=axis)


def ntxent(labels, embeddings, temperature):
  """NT-Xent (Chen et al. 2020, eq. 1), averaged over all positive pairs.

  With ``s_ij = cos(e_i, e_j) / temperature`` (squared norms clipped at the
  dtype's machine epsilon), positives ``P`` (same label, ``i != j``) and
  negatives ``N_i`` (other label):
  ``loss = mean_{(i,j) in P} log(1 + sum_{k in N_i} exp(s_ik - s_ij))``.
  No positive pair gives 0 (with a zero gradient).
  """
  eps = float(jnp.finfo(embeddings.dtype).eps)
  u = numerics.l2_normalize(embeddings, -1, eps, eps_on="squared_norm")
  sims = jnp.matmul(u, u.T, precision=jax.lax.Precision.HIGHEST) / temperature
  same = labels[:, None] == labels[None, :]
  negatives = ~same
  positives = same & ~jnp.eye(labels.shape[0], dtype=bool)
  neg_lse = numerics.masked_logsumexp(sims, negatives, axis=1)[:, None]
  has_neg = jnp.any(negatives, axis=1, keepdims=True)
  gap = jnp.where(has_neg, neg_lse, 0) - sims
  per_pair = jnp.where(has_neg & positives, jax.nn.softplus(gap), 0)
  return numerics.safe_divide(
    jnp.sum(per_pair), jnp.sum(positives, dtype=embeddings.dtype)
  )


def lp_distance(x, y, axis, degree, eps, absolute=False):
  """``(sum(d^degree) + eps)^(1/degree)`` with ``d = x - y`` (``|x - y|``
  when ``absolute``; then the gradient at ``d = 0`` is finite for any
  degree)."""
  d = x - y
  if absolute:
    powered = numerics.safe_pow(jnp.abs(d), degree)
  else:
    powered = jnp.power(d, degree)
  return jnp.power(jnp.sum(powered, axis=axis) + eps, 1 / degree)


def lp_triplet_margin(
  anchors,
  positives,
  negatives,
  axis=-1,
  degree=2,
  margin=1.0,
  eps=1e-6,
  absolute=False,
):
  """``max(d(a, p) - d(a, n) + margin, 0)`` (Balntas et al. 2016) with
  optax's distance ``d = (sum(|x - y|^degree) + eps)^(1/degree)`` (the
  ``eps`` added after the power sum; :func:`triplet_margin_loss` is PyTorch's
  form, with the ``eps`` added to the difference before the norm)."""
  pos = lp_distance(anchors, positives, axis, degree, eps, absolute)
  neg = lp_distance(anchors, negatives, axis, degree, eps, absolute)
  return jnp.maximum(pos - neg + margin, 0)


# ----------------------------------------------------------------------------
# Metric-learning losses of Keras 3: Circle loss.


def pair_masks(labels, ref_labels, remove_diagonal):
  """Boolean ``[N, M]`` masks of same-label (positive) and other pairs."""
  positive = labels[:, None] == ref_labels[None, :]
  negative = jnp.logical_not(positive)
  if remove_diagonal:
    positive = positive & ~jnp.eye(
      labels.shape[0], ref_labels.shape[0], dtype=bool
    )
  return positive, negative


@scoped
def circle(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  ref_labels: InputLike | None = None,
  ref_embeddings: InputLike | None = None,
  remove_diagonal: bool = True,
  gamma: float | jax.Array = 80.0,
  margin: float | jax.Array = 0.4,
) -> jax.Array:
  """Circle loss (Sun et al. 2020) on L2-normalised embeddings, one per anchor.

  With cosine distances ``d = max(1 - y_pred @ ref.T, 0)``, positives ``P``
  (same label, minus the diagonal) and negatives ``N`` of each anchor:

  ``loss = softplus(logsumexp_P(-gamma a_p (m - d)) +
  logsumexp_N(gamma a_n (1 - m - d)))`` with ``a_p = max(m + d, 0)`` and
  ``a_n = max(1 + m - d, 0)``. An anchor without positives or negatives gives
  0 with a zero gradient; the loss object averages over anchors whose loss is
  positive, as Keras does.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: L2-normalised embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    remove_diagonal: drop self-pairs from the positives.
    gamma: scale.
    margin: relaxation margin ``m``.

  Returns:
    ``[N]`` losses.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> jaxloss.circle([0, 0, 1], e, gamma=1.0).shape
    (3,)

  References:
    Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity
    Optimization", CVPR 2020; Keras 3 ``keras.losses.circle``.
  """
  caller = "circle"
  validation.flag(caller, "remove_diagonal", remove_diagonal)
  validation.number(caller, "margin", margin)
  validation.check_range(caller, "gamma", gamma, low=0.0, low_open=True)
  emb = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_rank(caller, "y_pred", emb, 2)
  labels = shapes.row_labels(
    caller, "y_true", numerics.labels(caller, "y_true", y_true), emb
  )
  dt = emb.dtype
  emb = emb.astype(numerics.compute_dtype(dt))
  if ref_embeddings is None:
    ref = emb
  else:
    ref = numerics.as_float(caller, "ref_embeddings", ref_embeddings)
    shapes.check_rank(caller, "ref_embeddings", ref, 2)
    ref = ref.astype(emb.dtype)
  empty.require_samples(
    caller, "y_pred" if ref_embeddings is None else "ref_embeddings", ref
  )
  ref_lab = (
    labels
    if ref_labels is None
    else shapes.row_labels(
      caller, "ref_labels", numerics.labels(caller, "ref_labels", ref_labels)
    )
  )
  if ref_lab.shape[0] != ref.shape[0] or ref.shape[1] != emb.shape[1]:
    raise ValueError(
      f"{caller}: ref_labels/ref_embeddings must be [M] and [M, "
      f"{emb.shape[1]}], got {tuple(ref_lab.shape)} and {tuple(ref.shape)}"
    )
  dist = jnp.maximum(1.0 - emb @ ref.T, 0.0)
  positive, negative = pair_masks(labels, ref_lab, remove_diagonal)
  # Unmasked: the masks act once, inside the log-sum-exps (multiplying by
  # them as well made XLA:CPU materialise several [N, M] temporaries).
  pos_logits = -gamma * jnp.maximum(margin + dist, 0.0) * (margin - dist)
  neg_logits = (
    gamma * jnp.maximum(1.0 + margin - dist, 0.0) * (1.0 - margin - dist)
  )
  p_loss = numerics.masked_logsumexp(pos_logits, positive, axis=1)
  n_loss = numerics.masked_logsumexp(neg_logits, negative, axis=1)
  total = p_loss + n_loss
  no_pairs = total == -jnp.inf  # no positives or no negatives: loss 0
  out = jnp.where(
    no_pairs, 0.0, jax.nn.softplus(jnp.where(no_pairs, 0.0, total))
  )
  return out.astype(dt)


def _positive_values(y_true, y_pred, values, **_):
  return values > 0


class Circle(
  Loss,
  fn=circle,
  exclude=("ref_labels", "ref_embeddings"),
  where_fn=_positive_values,
):
  """Loss object for :func:`jaxloss.circle`."""

  remove_diagonal: bool = True
  gamma: float | jax.Array = 80.0
  margin: float | jax.Array = 0.4


# ----------------------------------------------------------------------------
# Embedding and metric-learning losses beyond Keras.

DISTANCE_METRICS = ("L2", "squared-L2", "angular")
# tensorflow-addons normalises with tf.math.l2_normalize(epsilon=1e-12) on
# the squared norm: a clip of the norm at 1e-6.
_ANGULAR_EPS = 1e-6


# ------------------------------------------------------------------ helpers


def _labelled_embeddings(caller, y_true, y_pred):
  """Labels ``[B]`` and embeddings ``[B, D]`` in the compute dtype."""
  emb = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_rank(caller, "y_pred", emb, 2)
  labels = shapes.row_labels(
    caller, "y_true", numerics.labels(caller, "y_true", y_true), emb
  )
  empty.require_samples(caller, "y_pred", emb)
  out_dtype = emb.dtype
  return labels, emb.astype(numerics.compute_dtype(out_dtype)), out_dtype


def pairwise_distances(caller, embeddings, distance_metric="L2"):
  """``[B, B]`` distances between the rows of ``embeddings`` ``[B, D]``.

  * ``"squared-L2"``: ``||x_i - x_j||^2`` from the Gram matrix of the
    batch-centred embeddings (centring removes most of the cancellation of
    ``|x|^2 + |y|^2 - 2 x.y``), clipped at 0, with an exact 0 diagonal.
  * ``"L2"``: its square root, with value and gradient 0 at distance 0.
  * ``"angular"``: ``max(1 - x_i.x_j / (|x_i| |x_j|), 0)`` (the cosine
    distance tensorflow-addons calls angular; norms clipped at 1e-6).
  * a callable ``[B, D] -> [B, B]`` is applied as is.
  """
  if not callable(distance_metric) and distance_metric not in DISTANCE_METRICS:
    raise ValueError(
      f"{caller}: distance_metric must be one of {DISTANCE_METRICS} or a "
      f"callable, got {distance_metric!r}"
    )
  if callable(distance_metric):
    dist = jnp.asarray(distance_metric(embeddings), embeddings.dtype)
    n = embeddings.shape[0]
    if dist.shape != (n, n):
      raise ValueError(
        f"{caller}: distance_metric must map [B, D] embeddings to a [B, B] "
        f"matrix, got shape {tuple(dist.shape)} for B={n}"
      )
    return dist
  highest = jax.lax.Precision.HIGHEST
  if distance_metric == "angular":
    unit = numerics.l2_normalize(embeddings, eps=_ANGULAR_EPS)
    return jnp.maximum(1.0 - jnp.matmul(unit, unit.T, precision=highest), 0.0)
  centred = embeddings - jnp.mean(embeddings, axis=0, keepdims=True)
  sq_norms = jnp.sum(jnp.square(centred), axis=-1)
  gram = jnp.matmul(centred, centred.T, precision=highest)
  sq = sq_norms[:, None] + sq_norms[None, :] - 2.0 * gram
  off_diagonal = ~jnp.eye(embeddings.shape[0], dtype=bool)
  sq = jnp.where(off_diagonal, jnp.maximum(sq, 0.0), 0.0)
  if distance_metric == "squared-L2":
    return sq
  return numerics.safe_pow(sq, 0.5)


def _mined_pairs(caller, y_true, y_pred, distance_metric):
  """The batch-mining setup: ``(dist [B, B], positive, negative, out_dtype)``
  with the masks excluding the diagonal."""
  labels, emb, out_dtype = _labelled_embeddings(caller, y_true, y_pred)
  dist = pairwise_distances(caller, emb, distance_metric)
  positive, negative = pair_masks(labels, labels, remove_diagonal=True)
  return dist, positive, negative, out_dtype


def _masked_min(x, mask):
  """Row-wise min over ``mask``; the row's max where the mask is empty."""
  low = jnp.min(jnp.where(mask, x, jnp.inf), axis=-1)
  return jnp.where(jnp.any(mask, axis=-1), low, jnp.max(x, axis=-1))


def _masked_max(x, mask):
  """Row-wise max over ``mask``; the row's min where the mask is empty."""
  high = jnp.max(jnp.where(mask, x, -jnp.inf), axis=-1)
  return jnp.where(jnp.any(mask, axis=-1), high, jnp.min(x, axis=-1))


def _p_norm(x, p):
  """``(sum |x|^p)^(1/p)`` over the last axis; finite gradient at 0."""
  if p == 2:
    return numerics.safe_norm(x, axis=-1)
  if p == jnp.inf:
    return jnp.max(jnp.abs(x), axis=-1)
  if p == 1:
    return jnp.sum(jnp.abs(x), axis=-1)
  powered = jnp.sum(numerics.safe_pow(jnp.abs(x), p), axis=-1)
  return numerics.safe_pow(powered, 1.0 / p)


def _squared_distance(x, y):
  return jnp.sum(jnp.square(x - y), axis=-1)


def _tuple_inputs(caller, **arrays):
  """Same-shape floating tuple members ``[..., D]`` in the compute dtype."""
  converted, out_dtype = numerics.floats(caller, **arrays)
  shapes.check_same_shape(caller, **dict(zip(arrays, converted, strict=True)))
  first = next(iter(arrays))
  shapes.check_min_rank(caller, first, converted[0], 1)
  return converted, out_dtype


# ------------------------------------------------------- tuples and pairs


@scoped
def triplet_margin_loss(
  anchor: InputLike,
  positive: InputLike,
  negative: InputLike,
  *,
  margin: float | jax.Array = 1.0,
  p: float = 2.0,
  eps: float | jax.Array = 1e-6,
  swap: bool = False,
) -> jax.Array:
  """Triplet margin loss with PyTorch's semantics, one value per triplet.

  With ``d(x, y) = ||x - y + eps||_p`` (the ``eps`` is added to the
  difference, as ``torch.nn.functional.pairwise_distance`` does):

  ``loss = max(d(a, p) - d(a, n) + margin, 0)``, where with ``swap=True``
  ``d(a, n)`` is replaced by ``min(d(a, n), d(p, n))`` (the distance swap of
  Balntas et al. 2016).

  Args:
    anchor: anchors ``[..., D]``.
    positive: positives ``[..., D]``, same shape.
    negative: negatives ``[..., D]``, same shape.
    margin: the margin.
    p: the norm degree, ``p > 0`` (``inf`` allowed).
    eps: added to each difference before the norm, ``>= 0``.
    swap: use the distance swap.

  Returns:
    ``[...]`` losses (the last axis reduced), in the inputs' dtype.

  Raises:
    ValueError: for shapes that differ, a rank-0 input, ``p <= 0`` or
      ``eps < 0``.
    TypeError: for non-floating inputs.

  Examples:
    >>> import jaxloss
    >>> jaxloss.triplet_margin_loss([[0.0, 0.0]], [[0.0, 1.0]], [[3.0, 4.0]],
    ...                             eps=0.0)
    Array([0.], dtype=float32)

  References:
    Schroff et al. 2015, FaceNet, eq. (1); Balntas et al. 2016, Learning
    local feature descriptors with triplets and shallow convolutional
    neural networks; PyTorch ``torch.nn.TripletMarginLoss``.
  """
  caller = "triplet_margin_loss"
  validation.check_range(caller, "p", p, low=0.0, low_open=True)
  validation.check_range(caller, "eps", eps, low=0.0)
  validation.number(caller, "margin", margin)
  validation.flag(caller, "swap", swap)
  (a, pos, neg), out_dtype = _tuple_inputs(
    caller, anchor=anchor, positive=positive, negative=negative
  )
  d_ap = _p_norm(a - pos + eps, p)
  d_an = _p_norm(a - neg + eps, p)
  if swap:
    d_an = jnp.minimum(d_an, _p_norm(pos - neg + eps, p))
  return jax.nn.relu(d_ap - d_an + margin).astype(out_dtype)


@scoped
def quadruplet_loss(
  anchor: InputLike,
  positive: InputLike,
  negative1: InputLike,
  negative2: InputLike,
  *,
  margin1: float | jax.Array = 1.0,
  margin2: float | jax.Array = 0.5,
) -> jax.Array:
  """Quadruplet loss (Chen et al. 2017) on squared L2 distances.

  With ``d(x, y) = ||x - y||^2``, an anchor ``a``, a positive ``p`` of its
  class, a negative ``n1`` of another class and ``n2`` of a third class:

  ``loss = max(d(a, p) - d(a, n1) + margin1, 0)
  + max(d(a, p) - d(n1, n2) + margin2, 0)``.

  Args:
    anchor: anchors ``[..., D]``.
    positive: positives ``[..., D]``, same shape.
    negative1: negatives of the anchor ``[..., D]``, same shape.
    negative2: negatives of both ``[..., D]``, same shape.
    margin1: margin of the triplet term (``alpha_1``).
    margin2: margin of the pair-of-negatives term (``alpha_2``).

  Returns:
    ``[...]`` losses (the last axis reduced), in the inputs' dtype.

  Raises:
    ValueError: for shapes that differ or a rank-0 input.
    TypeError: for non-floating inputs.

  Examples:
    >>> import jaxloss
    >>> jaxloss.quadruplet_loss([[0.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]],
    ...                         [[2.0, 1.0]])
    Array([0.5], dtype=float32)

  References:
    Chen et al. 2017, Beyond triplet loss: a deep quadruplet network for
    person re-identification, eq. (6).
  """
  caller = "quadruplet_loss"
  validation.number(caller, "margin1", margin1)
  validation.number(caller, "margin2", margin2)
  (a, pos, n1, n2), out_dtype = _tuple_inputs(
    caller,
    anchor=anchor,
    positive=positive,
    negative1=negative1,
    negative2=negative2,
  )
  d_ap = _squared_distance(a, pos)
  loss = jax.nn.relu(d_ap - _squared_distance(a, n1) + margin1) + jax.nn.relu(
    d_ap - _squared_distance(n1, n2) + margin2
  )
  return loss.astype(out_dtype)


@scoped
def contrastive_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  margin: float | jax.Array = 1.0,
) -> jax.Array:
  """Contrastive loss on pair distances (Hadsell et al. 2006), as in tfa.

  With ``y`` the pair label (1: similar, 0: dissimilar) and ``d`` the
  distance of the pair's embeddings (e.g. ``||a - b||_2``):

  ``loss = y d^2 + (1 - y) max(margin - d, 0)^2``, element-wise: every entry
  is one pair, so no axis is reduced.

  Args:
    y_true: pair labels in ``{0, 1}`` (or soft labels), shape of ``y_pred``
      (Keras's trailing-1 rule applies).
    y_pred: pair distances ``[...]``, e.g. ``[B]``.
    margin: the margin for dissimilar pairs.

  Returns:
    Losses of the shape of ``y_pred`` (``[B]`` for ``[B]`` pairs).

  Raises:
    ValueError: for shapes that do not match.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.contrastive_loss([1, 0, 0], [0.5, 0.5, 2.0])
    Array([0.25, 0.25, 0.  ], dtype=float32)

  References:
    Hadsell, Chopra and LeCun 2006, Dimensionality reduction by learning an
    invariant mapping, eq. (4) (without the 1/2 factors), as in
    ``tfa.losses.contrastive_loss`` (tensorflow-addons 0.23).
  """
  caller = "contrastive_loss"
  validation.number(caller, "margin", margin)
  y_true, y_pred, out_dtype = shapes.elementwise_inputs(caller, y_true, y_pred)
  loss = y_true * jnp.square(y_pred) + (1.0 - y_true) * jnp.square(
    jax.nn.relu(margin - y_pred)
  )
  return loss.astype(out_dtype)


@scoped
def info_nce(
  query: InputLike,
  positive_key: InputLike,
  *,
  negative_keys: InputLike | None = None,
  temperature: float | jax.Array = 0.1,
) -> jax.Array:
  """InfoNCE (van den Oord et al. 2018) with cosine similarities.

  Queries and keys are L2-normalised here (norms clipped at 1e-7), and
  ``s(x, y) = x.y / temperature``. For query ``i`` with key ``k_i``:

  * ``negative_keys=None``: the other queries' positive keys are the
    negatives, ``loss_i = logsumexp_j s(q_i, k_j) - s(q_i, k_i)``.
  * ``negative_keys`` ``[M, D]`` (shared by all queries) or ``[B, M, D]``
    (per query): ``loss_i = log(exp s(q_i, k_i) + sum_m exp s(q_i, n_m))
    - s(q_i, k_i)``.

  The loss object :class:`InfoNCE` covers the in-batch form; call the
  function for explicit negatives.

  Args:
    query: queries ``[B, D]``.
    positive_key: their positive keys ``[B, D]``.
    negative_keys: ``None``, ``[M, D]`` or ``[B, M, D]``.
    temperature: softmax temperature, ``> 0``.

  Returns:
    ``[B]`` losses, one per query.

  Raises:
    ValueError: for ranks or shapes that do not match, or
      ``temperature <= 0``.
    TypeError: for non-floating inputs.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> jaxloss.info_nce(q, q, temperature=1.0)
    Array([0.31326163, 0.31326163], dtype=float32)

  References:
    van den Oord, Li and Vinyals 2018, Representation learning with
    contrastive predictive coding, eq. (4); the cosine/temperature form of
    Chen et al. 2020 (SimCLR).
  """
  caller = "info_nce"
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  arrays = {"query": query, "positive_key": positive_key}
  if negative_keys is not None:
    arrays["negative_keys"] = negative_keys
  converted, out_dtype = numerics.floats(caller, **arrays)
  q, k = converted[0], converted[1]
  shapes.check_rank(caller, "query", q, 2)
  shapes.check_same_shape(caller, query=q, positive_key=k)
  q = numerics.l2_normalize(q)
  k = numerics.l2_normalize(k)
  highest = jax.lax.Precision.HIGHEST
  if negative_keys is None:
    logits = jnp.matmul(q, k.T, precision=highest) / temperature
    positive = jnp.diagonal(logits)
  else:
    neg = converted[2]
    shapes.check_rank(caller, "negative_keys", neg, (2, 3))
    if neg.shape[-1] != q.shape[-1] or (
      neg.ndim == 3 and neg.shape[0] != q.shape[0]
    ):
      raise ValueError(
        f"{caller}: negative_keys must have shape [M, {q.shape[-1]}] or "
        f"[{q.shape[0]}, M, {q.shape[-1]}], got {tuple(neg.shape)}"
      )
    neg = numerics.l2_normalize(neg)
    positive = jnp.sum(q * k, axis=-1) / temperature
    if neg.ndim == 2:
      negative = jnp.matmul(q, neg.T, precision=highest) / temperature
    else:
      negative = (
        jnp.einsum("bd,bmd->bm", q, neg, precision=highest) / temperature
      )
    logits = jnp.concatenate([positive[:, None], negative], axis=-1)
  loss = jax.nn.logsumexp(logits, axis=-1) - positive
  return loss.astype(out_dtype)


# --------------------------------------------------------- batch-mined


@scoped
def triplet_semihard_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  margin: float | jax.Array = 1.0,
  distance_metric: str | Callable[[jax.Array], jax.Array] = "L2",
) -> jax.Array:
  """Triplet loss with semi-hard negative mining (tensorflow-addons).

  With ``D`` the pairwise distances (see ``distance_metric``), for every
  anchor ``a`` and positive ``p != a`` (same label) the negative is the
  semi-hard one, ``d_n = min {D[a, n] : label n != label a,
  D[a, n] > D[a, p]}``, or, when there is none, the farthest negative
  ``max_n D[a, n]``; when ``a`` has no negative at all, ``d_n`` is the
  smallest entry of the row ``min_j D[a, j]`` (tfa's fallback):

  ``loss = sum_{(a, p)} max(margin + D[a, p] - d_n, 0) / #{(a, p)}``,

  with 0 (and a zero gradient) when the batch has no positive pair.

  Args:
    y_true: integer labels ``[B]`` (or ``[B, 1]``).
    y_pred: embeddings ``[B, D]``; tfa expects them L2-normalised.
    margin: the margin.
    distance_metric: ``"L2"``, ``"squared-L2"``, ``"angular"`` (cosine
      distance ``1 - cos``) or a callable ``[B, D] -> [B, B]``.

  Returns:
    A scalar: the loss of the whole batch (not one value per sample).

  Raises:
    ValueError: for a label count that does not match the embeddings, a
      rank other than 2, or an unknown ``distance_metric``.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.triplet_semihard_loss([0, 0], [[0.0, 1.0], [1.0, 0.0]])
    Array(2.4142137, dtype=float32)

  References:
    Schroff, Kalenichenko and Philbin 2015, FaceNet, sec. 3.2;
    ``tfa.losses.triplet_semihard_loss`` (tensorflow-addons 0.23).
  """
  caller = "triplet_semihard_loss"
  validation.number(caller, "margin", margin)
  dist, positive, negative, out_dtype = _mined_pairs(
    caller, y_true, y_pred, distance_metric
  )
  # [anchor, positive, negative] candidates farther than the positive.
  outside = negative[:, None, :] & (dist[:, None, :] > dist[:, :, None])
  semihard = jnp.min(jnp.where(outside, dist[:, None, :], jnp.inf), axis=-1)
  fallback = _masked_max(dist, negative)
  chosen = jnp.where(jnp.any(outside, axis=-1), semihard, fallback[:, None])
  hinge = jax.nn.relu(margin + dist - chosen)
  total = jnp.sum(jnp.where(positive, hinge, 0.0))
  count = jnp.sum(positive, dtype=total.dtype)
  return numerics.safe_divide(total, count).astype(out_dtype)


@scoped
def triplet_hard_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  margin: float | jax.Array = 1.0,
  soft: bool = False,
  distance_metric: str | Callable[[jax.Array], jax.Array] = "L2",
) -> jax.Array:
  """Triplet loss with batch-hard mining (Hermans et al. 2017), as in tfa.

  With ``D`` the pairwise distances, for every anchor ``a`` the hardest
  positive ``d_p = max {D[a, p] : p != a, same label}`` (the row's minimum
  ``min_j D[a, j]`` when there is none) and the hardest negative
  ``d_n = min {D[a, n] : other label}`` (the row's maximum when there is
  none), following tensorflow-addons:

  ``loss = mean_a max(d_p - d_n + margin, 0)``, or with ``soft=True``
  ``mean_a log(1 + exp(d_p - d_n))``.

  Args:
    y_true: integer labels ``[B]`` (or ``[B, 1]``).
    y_pred: embeddings ``[B, D]``; tfa expects them L2-normalised.
    margin: the margin (unused when ``soft``).
    soft: use the soft-margin (softplus) form.
    distance_metric: ``"L2"``, ``"squared-L2"``, ``"angular"`` or a callable
      ``[B, D] -> [B, B]``.

  Returns:
    A scalar: the loss of the whole batch (not one value per sample).

  Raises:
    ValueError: for a label count that does not match the embeddings, a
      rank other than 2, or an unknown ``distance_metric``.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.triplet_hard_loss([0, 0], [[0.0, 1.0], [1.0, 0.0]])
    Array(1., dtype=float32)

  References:
    Hermans, Beyer and Leibe 2017, In defense of the triplet loss for
    person re-identification, eq. (5); ``tfa.losses.triplet_hard_loss``
    (tensorflow-addons 0.23).
  """
  caller = "triplet_hard_loss"
  validation.number(caller, "margin", margin)
  validation.flag(caller, "soft", soft)
  dist, positive, negative, out_dtype = _mined_pairs(
    caller, y_true, y_pred, distance_metric
  )
  gap = _masked_max(dist, positive) - _masked_min(dist, negative)
  loss = jax.nn.softplus(gap) if soft else jax.nn.relu(gap + margin)
  return jnp.mean(loss).astype(out_dtype)


@scoped
def lifted_struct_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  margin: float | jax.Array = 1.0,
) -> jax.Array:
  """Lifted structured loss (Oh Song et al. 2016), as in tensorflow-addons.

  With ``D`` the L2 distances and ``N(i)`` the negatives of ``i``, for every
  positive pair ``(i, j)``:

  ``J_ij = log(sum_{k in N(i)} exp(margin - D_ik)
  + sum_{l in N(j)} exp(margin - D_jl)) + D_ij``

  ``loss = sum_{i < j positive} max(J_ij, 0)^2 / (2 #{i < j positive})``.

  A pair whose two members have no negatives contributes 0 (tfa gives NaN
  there); a batch without positive pairs gives 0, with finite gradients.

  Args:
    y_true: integer labels ``[B]`` (or ``[B, 1]``).
    y_pred: embeddings ``[B, D]`` (not normalised, as tfa expects).
    margin: the margin ``alpha``.

  Returns:
    A scalar: the loss of the whole batch (not one value per sample).

  Raises:
    ValueError: for a label count that does not match the embeddings or a
      rank other than 2.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.lifted_struct_loss([0, 0, 1], [[0.0, 0.0], [0.0, 2.0],
    ...                                        [1.0, 0.0]])
    Array(2.5426219, dtype=float32)

  References:
    Oh Song, Xiang, Jegelka and Savarese 2016, Deep metric learning via
    lifted structured feature embedding, eq. (4);
    ``tfa.losses.lifted_struct_loss`` (tensorflow-addons 0.23).
  """
  caller = "lifted_struct_loss"
  validation.number(caller, "margin", margin)
  dist, positive, negative, out_dtype = _mined_pairs(
    caller, y_true, y_pred, "L2"
  )
  # log-sum-exp over the negatives of i, then of i's and j's together.
  row = numerics.masked_logsumexp(margin - dist, negative, axis=1)
  both = jnp.stack(jnp.broadcast_arrays(row[:, None], row[None, :]), -1)
  # Valid terms are the members that have negatives: a mask from the labels,
  # not from the values, so that a NaN embedding or margin propagates.
  has_negative = jnp.any(negative, axis=1)
  pair_valid = jnp.stack(
    jnp.broadcast_arrays(has_negative[:, None], has_negative[None, :]), -1
  )
  pair = numerics.masked_logsumexp(both, pair_valid, axis=-1)
  valid = positive & jnp.any(pair_valid, axis=-1)
  objective = jnp.where(valid, pair + dist, 0.0)
  total = jnp.sum(jnp.where(valid, jnp.square(jax.nn.relu(objective)), 0.0))
  count = jnp.sum(positive, dtype=total.dtype)
  # Ordered pairs count each unordered pair twice: 0.5 * S / #ordered is
  # S_unordered / (2 #unordered).
  return numerics.safe_divide(0.5 * total, count).astype(out_dtype)


@scoped
def npairs_loss(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """N-pair loss (Sohn 2016) on a similarity matrix, as in tensorflow-addons.

  ``y_pred`` is the ``[B, B]`` similarity matrix ``a @ b.T`` of anchor
  embeddings ``a`` and positive embeddings ``b`` (row ``i`` of ``b`` pairs
  with row ``i`` of ``a``; ``y_true`` labels the pairs). With
  ``t_ij = [y_i = y_j] / #{j : y_j = y_i}``:

  ``loss = mean_i -sum_j t_ij log_softmax(y_pred_i)_j``.

  Args:
    y_true: integer pair labels ``[B]`` (or ``[B, 1]``).
    y_pred: similarities ``[B, B]``.

  Returns:
    A scalar: the loss of the whole batch (not one value per sample).

  Raises:
    ValueError: for a ``y_pred`` that is not ``[B, B]``.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.npairs_loss([0, 1], [[2.0, 0.0], [0.0, 2.0]])
    Array(0.12692805, dtype=float32)

  References:
    Sohn 2016, Improved deep metric learning with multi-class N-pair loss
    objective, eq. (6) without the L2 regulariser;
    ``tfa.losses.npairs_loss`` (tensorflow-addons 0.23).
  """
  caller = "npairs_loss"
  labels, sim, out_dtype = _labelled_embeddings(caller, y_true, y_pred)
  if sim.shape[1] != sim.shape[0]:
    raise ValueError(
      f"{caller}: y_pred must be a square [B, B] similarity matrix, got "
      f"shape {tuple(sim.shape)}"
    )
  same, _ = pair_masks(labels, labels, remove_diagonal=False)
  target = same / jnp.sum(same, axis=1, keepdims=True, dtype=sim.dtype)
  log_probs = jax.nn.log_softmax(sim, axis=1)
  per_row = -jnp.sum(jnp.where(same, target * log_probs, 0.0), axis=1)
  return jnp.mean(per_row).astype(out_dtype)


@scoped
def supervised_contrastive(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  temperature: float | jax.Array = 0.07,
) -> jax.Array:
  """Supervised contrastive loss (Khosla et al. 2020, L_out), per anchor.

  Embeddings are L2-normalised here (norms clipped at 1e-7), so
  ``s_ij = z_i.z_j / temperature`` are cosine similarities. With ``A(i)``
  every other sample and ``P(i)`` those with the label of ``i``:

  ``loss_i = logsumexp_{a in A(i)} s_ia - mean_{p in P(i)} s_ip``

  (= ``-1/|P(i)| sum_p log softmax_{A(i)}(s_i)_p``). An anchor without
  positives gives 0 with a zero gradient. Several views of a sample are
  simply several rows with the same label. The object's default reduction
  averages over all anchors, as the authors' code does.

  Args:
    y_true: integer labels ``[B]`` (or ``[B, 1]``).
    y_pred: embeddings ``[B, D]`` (normalised here).
    temperature: ``tau > 0``.

  Returns:
    ``[B]`` losses, one per anchor.

  Raises:
    ValueError: for a label count that does not match the embeddings, a
      rank other than 2, or ``temperature <= 0``.
    TypeError: for a non-floating ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> e = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> jaxloss.supervised_contrastive([0, 0, 1], e, temperature=1.0)
    Array([0.31326163, 0.31326163, 0.        ], dtype=float32)

  References:
    Khosla et al. 2020, Supervised contrastive learning, eq. (2).
  """
  caller = "supervised_contrastive"
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  labels, emb, out_dtype = _labelled_embeddings(caller, y_true, y_pred)
  z = numerics.l2_normalize(emb)
  sim = jnp.matmul(z, z.T, precision=jax.lax.Precision.HIGHEST) / temperature
  positive, _ = pair_masks(labels, labels, remove_diagonal=True)
  others = ~jnp.eye(labels.shape[0], dtype=bool)
  n_pos = jnp.sum(positive, axis=1, dtype=sim.dtype)
  has_pos = n_pos > 0
  log_norm = numerics.masked_logsumexp(sim, others, axis=1)
  log_norm = jnp.where(has_pos, log_norm, 0.0)
  mean_pos = numerics.safe_divide(
    jnp.sum(jnp.where(positive, sim, 0.0), axis=1), n_pos
  )
  return jnp.where(has_pos, log_norm - mean_pos, 0.0).astype(out_dtype)


# PyTorch's names. The names before 0.3, ``triplet_margin`` and
# ``TripletMargin``, stay known to ``get``, and importable from ``jaxloss``
# with a DeprecationWarning.


class TripletMarginLoss(
  Loss, fn=triplet_margin_loss, aliases=("triplet_margin",)
):
  """Loss object for :func:`jaxloss.triplet_margin_loss`."""

  margin: float | jax.Array = 1.0
  p: float = 2.0
  eps: float | jax.Array = 1e-06
  swap: bool = False


register("TripletMargin", TripletMarginLoss)


class QuadrupletLoss(Loss, fn=quadruplet_loss):
  """Loss object for :func:`jaxloss.quadruplet_loss`."""

  margin1: float | jax.Array = 1.0
  margin2: float | jax.Array = 0.5


class ContrastiveLoss(Loss, fn=contrastive_loss):
  """Loss object for :func:`jaxloss.contrastive_loss`."""

  margin: float | jax.Array = 1.0


class InfoNCE(Loss, fn=info_nce, exclude=("negative_keys",)):
  """Loss object for :func:`jaxloss.info_nce`."""

  temperature: float | jax.Array = 0.1


class TripletSemiHardLoss(Loss, fn=triplet_semihard_loss, batch_level=True):
  """Loss object for :func:`jaxloss.triplet_semihard_loss`."""

  margin: float | jax.Array = 1.0
  distance_metric: str | Callable[[jax.Array], jax.Array] = "L2"


class TripletHardLoss(Loss, fn=triplet_hard_loss, batch_level=True):
  """Loss object for :func:`jaxloss.triplet_hard_loss`."""

  margin: float | jax.Array = 1.0
  soft: bool = False
  distance_metric: str | Callable[[jax.Array], jax.Array] = "L2"


class LiftedStructLoss(Loss, fn=lifted_struct_loss, batch_level=True):
  """Loss object for :func:`jaxloss.lifted_struct_loss`."""

  margin: float | jax.Array = 1.0


class NpairsLoss(Loss, fn=npairs_loss, batch_level=True):
  """Loss object for :func:`jaxloss.npairs_loss`."""


class SupervisedContrastive(Loss, fn=supervised_contrastive):
  """Loss object for :func:`jaxloss.supervised_contrastive`."""

  temperature: float | jax.Array = 0.07
