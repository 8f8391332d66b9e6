"""Additive-margin softmax losses (ArcFace, CosFace) and center loss.

All three score embeddings against class centres that are *inputs* here; the
learnable versions (centres as parameters, trained by the same optimizer)
live in ``jaxloss.flax`` and call these functions. Embeddings and centres are
L2-normalised inside (``x / max(||x||, 1e-7)``), so already-normalised inputs
pass through unchanged.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses import softmax
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _inputs(caller, y_true, y_pred, centers, per_class=1):
  """Labels [B], embeddings [B, D], centres [C * per_class, D] in the
  compute dtype."""
  (emb, cen), out_dtype = numerics.floats(
    caller, y_pred=y_pred, centers=centers
  )
  shapes.check_rank(caller, "y_pred", emb, 2)
  shapes.check_rank(caller, "centers", cen, 2)
  if cen.shape[1] != emb.shape[1]:
    raise ValueError(
      f"{caller}: centers must be [num_classes, {emb.shape[1]}] to match "
      f"y_pred, got centers.shape={tuple(cen.shape)}"
    )
  labels = shapes.row_labels(
    caller, "y_true", numerics.labels(caller, "y_true", y_true), emb
  )
  # A label that names no class makes its embedding, so its value, NaN.
  emb = numerics.nan_at_bad_ids(emb, labels, cen.shape[0] // per_class)
  return labels, emb, cen, out_dtype


def _cosines(emb, cen):
  """``[B, C]`` cosines between normalised embeddings and centres."""
  cos = numerics.l2_normalize(emb) @ numerics.l2_normalize(cen).T
  return jnp.clip(cos, -1.0, 1.0)


@scoped
def class_cosines(y_pred: InputLike, centers: InputLike) -> jax.Array:
  """Cosines ``[B, C]`` between embeddings and class centres (for inference).

  ``cos[i, j] = <u_i, v_j>`` with ``u_i``, ``v_j`` the L2-normalised rows
  of ``y_pred`` ``[B, D]`` and ``centers`` ``[C, D]`` (``x / max(||x||,
  1e-7)``), clipped to ``[-1, 1]``; ``argmax`` over the last axis is the
  predicted class of an ArcFace / CosFace / center-loss model.

  Args:
    y_pred: embeddings ``[B, D]``.
    centers: class centres ``[C, D]``.

  Returns:
    Cosines ``[B, C]`` in the dtype of the inputs.

  Raises:
    ValueError: for inputs that are not rank 2 or whose feature sizes
      differ.
    TypeError: for integer inputs.

  Examples:
    >>> import jaxloss
    >>> jaxloss.class_cosines([[2.0, 0.0]], [[1.0, 0.0], [0.0, 3.0]])
    Array([[1., 0.]], dtype=float32)
  """
  y_pred = numerics.as_array("class_cosines", "y_pred", y_pred)
  dummy = jnp.zeros(y_pred.shape[:1], jnp.int32)
  _, emb, cen, dt = _inputs("class_cosines", dummy, y_pred, centers)
  return _cosines(emb, cen).astype(dt)


@scoped
def arcface_logits(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  scale: float | jax.Array = 64.0,
  margin: float = 0.5,
) -> jax.Array:
  r"""ArcFace logits: an additive angular margin on the target class.

  With ``cos_j`` the cosine between the normalised embedding and centre
  ``j`` and ``y`` the label:
  ``logit_y = s * cos(theta_y + m)`` when ``theta_y + m <= pi`` (i.e.
  ``cos_y > cos(pi - m)``), else ``s * (cos_y - m sin(m))`` (the
  monotone fallback of the reference implementation), and
  ``logit_j = s * cos_j`` for ``j != y``. ``sin(theta)`` is taken as
  ``sqrt(max(1 - cos^2, 0))`` with a zero gradient at ``cos = +-1``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class centres ``[C, D]``.
    scale: the scale ``s > 0``.
    margin: the angular margin ``m`` in radians, in ``[0, pi / 2)``.

  Returns:
    Logits ``[B, C]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.arcface_logits([0], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...                        scale=1.0, margin=0.0)
    Array([[1., 0.]], dtype=float32)

  References:
    Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR 2019, eq. 3.
  """
  _, logits, dt = _arcface(y_true, y_pred, centers, scale, margin)
  return logits.astype(dt)


def arcface_target(cos, margin):
  """``cos(theta + m)`` where ``theta + m <= pi``, else the monotone
  fallback ``cos - m sin(m)``; ``sin(theta) = sqrt(max(1 - cos^2, 0))``
  with a zero gradient at ``cos = +-1``."""
  sin_sq = 1.0 - jnp.square(cos)
  positive = sin_sq > 0
  sin = jnp.where(positive, jnp.sqrt(jnp.where(positive, sin_sq, 1.0)), 0.0)
  with_margin = cos * math.cos(margin) - sin * math.sin(margin)
  fallback = cos - margin * math.sin(margin)
  return jnp.where(cos > math.cos(math.pi - margin), with_margin, fallback)


def _check_arcface(caller, scale, margin):
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  validation.check_range(
    caller, "margin", margin, low=0.0, high=math.pi / 2, high_open=True
  )


def _on_target(labels, cos, target, scale):
  one_hot = jax.nn.one_hot(labels, cos.shape[-1], dtype=bool)
  return scale * jnp.where(one_hot, target, cos)


def _arcface(y_true, y_pred, centers, scale, margin, caller="arcface_logits"):
  """``(labels, logits in the compute dtype, out_dtype)`` of ArcFace;
  ``caller`` is the public name used in error messages."""
  _check_arcface(caller, scale, margin)
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  cos = _cosines(emb, cen)
  return labels, _on_target(labels, cos, arcface_target(cos, margin), scale), dt


@scoped
def cosface_logits(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  scale: float | jax.Array = 64.0,
  margin: float | jax.Array = 0.35,
) -> jax.Array:
  r"""CosFace logits: an additive cosine margin on the target class.

  ``logit_j = s * (cos_j - m [j = y])`` with ``cos_j`` the cosine between
  the normalised embedding and centre ``j``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class centres ``[C, D]``.
    scale: the scale ``s > 0``.
    margin: the cosine margin ``m >= 0``.

  Returns:
    Logits ``[B, C]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.cosface_logits([0], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...                        scale=2.0, margin=0.5)
    Array([[1., 0.]], dtype=float32)

  References:
    Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition", CVPR 2018, eq. 4.
  """
  _, logits, dt = _cosface(y_true, y_pred, centers, scale, margin)
  return logits.astype(dt)


def _cosface(y_true, y_pred, centers, scale, margin, caller="cosface_logits"):
  """``(labels, logits in the compute dtype, out_dtype)`` of CosFace;
  ``caller`` is the public name used in error messages."""
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  validation.check_range(caller, "margin", margin, low=0.0)
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  cos = _cosines(emb, cen)
  one_hot = jax.nn.one_hot(labels, cen.shape[0], dtype=cos.dtype)
  return labels, scale * (cos - margin * one_hot), dt


def _margin_softmax_loss(
  logits_fn, y_true, y_pred, centers, scale, margin, caller
):
  # The cross-entropy reads the logits in the compute dtype (no round trip
  # through a half-precision output dtype). Errors name the loss ``caller``.
  labels, logits, dt = logits_fn(y_true, y_pred, centers, scale, margin, caller)
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def arcface(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  scale: float | jax.Array = 64.0,
  margin: float = 0.5,
) -> jax.Array:
  """ArcFace loss: softmax cross-entropy on :func:`arcface_logits`.

  ``loss = -log_softmax(arcface_logits(y_true, y_pred, centers))[y]``

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class centres ``[C, D]``.
    scale: the scale ``s > 0``.
    margin: the angular margin in radians, in ``[0, pi / 2)``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.arcface([0, 1], [[1.0, 0.1], [0.2, 1.0]],
    ...                 [[1.0, 0.0], [0.0, 1.0]]).shape
    (2,)

  References:
    Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR 2019, eq. 3.
  """
  return _margin_softmax_loss(
    _arcface, y_true, y_pred, centers, scale, margin, "arcface"
  )


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def cosface(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  scale: float | jax.Array = 64.0,
  margin: float | jax.Array = 0.35,
) -> jax.Array:
  """CosFace (large margin cosine) loss: cross-entropy on CosFace logits.

  ``loss = -log_softmax(cosface_logits(y_true, y_pred, centers))[y]``

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class centres ``[C, D]``.
    scale: the scale ``s > 0``.
    margin: the cosine margin ``m >= 0``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.cosface([0, 1], [[1.0, 0.1], [0.2, 1.0]],
    ...                 [[1.0, 0.0], [0.0, 1.0]]).shape
    (2,)

  References:
    Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face
    Recognition", CVPR 2018, eq. 4.
  """
  return _margin_softmax_loss(
    _cosface, y_true, y_pred, centers, scale, margin, "cosface"
  )


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def center_loss(
  y_true: InputLike, y_pred: InputLike, centers: InputLike
) -> jax.Array:
  """Center loss: half the squared distance to the own class's centre.

  ``loss_i = 0.5 * ||y_pred_i - centers[y_true_i]||^2`` (no normalisation).

  Args:
    y_true: integer labels ``[B]``.
    y_pred: features ``[B, D]``.
    centers: class centres ``[C, D]``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.center_loss([1], [[1.0, 2.0]], [[0.0, 0.0], [1.0, 0.0]])
    Array([2.], dtype=float32)

  References:
    Wen et al., "A Discriminative Feature Learning Approach for Deep Face
    Recognition", ECCV 2016, eq. 2.
  """
  labels, emb, cen, dt = _inputs("center_loss", y_true, y_pred, centers)
  own = jnp.take(cen, labels, axis=0, mode="clip")
  return (0.5 * jnp.sum(jnp.square(emb - own), axis=-1)).astype(dt)


class ArcFace(Loss, fn=arcface):
  """Loss object for :func:`jaxloss.arcface`."""

  scale: float | jax.Array = 64.0
  margin: float = 0.5


class CosFace(Loss, fn=cosface):
  """Loss object for :func:`jaxloss.cosface`."""

  scale: float | jax.Array = 64.0
  margin: float | jax.Array = 0.35


class CenterLoss(Loss, fn=center_loss):
  """Loss object for :func:`jaxloss.center_loss`."""


# ----------------------------------------------------------------------------
# Proxy and large-margin softmax losses (pytorch-metric-learning's catalogue).
# The proxies / class weights are an input ``centers``, learnable in the
# ``jaxloss.flax`` heads.


def _grouped_cosines(caller, emb, cen, per_class, name):
  """``[B, C, K]`` cosines to ``centers`` ``[C * K, D]`` (class-major)."""
  if cen.shape[0] % per_class:
    raise ValueError(
      f"{caller}: centers must have num_classes * {name} = a multiple of "
      f"{per_class} rows, got centers.shape={tuple(cen.shape)}"
    )
  cos = _cosines(emb, cen)
  return cos.reshape(cos.shape[0], cen.shape[0] // per_class, per_class)


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def proxy_nca(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  softmax_scale: float | jax.Array = 1.0,
) -> jax.Array:
  """ProxyNCA loss (Movshovitz-Attias et al. 2017), one value per sample.

  With ``d_j = ||u - v_j||^2`` the squared distance between the
  L2-normalised embedding ``u`` and proxy ``v_j``:
  ``loss = -log softmax(-softmax_scale * d)[y]``. The softmax runs over all
  proxies, the own one included (pytorch-metric-learning; the paper leaves
  it out of the denominator).

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: proxies ``[C, D]``.
    softmax_scale: the inverse temperature, ``> 0``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.proxy_nca([0], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    Array([0.12692805], dtype=float32)

  References:
    Movshovitz-Attias et al. 2017, No fuss distance metric learning using
    proxies, eq. (4); ``pytorch_metric_learning.losses.ProxyNCALoss`` (2.9).
  """
  caller = "proxy_nca"
  validation.check_range(
    caller, "softmax_scale", softmax_scale, low=0.0, low_open=True
  )
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  u, v = numerics.l2_normalize(emb), numerics.l2_normalize(cen)
  sq = (
    jnp.sum(jnp.square(u), -1)[:, None]
    + jnp.sum(jnp.square(v), -1)[None, :]
    - 2.0 * u @ v.T
  )
  logits = -softmax_scale * jnp.maximum(sq, 0.0)
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def proxy_anchor(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  margin: float | jax.Array = 0.1,
  alpha: float | jax.Array = 32.0,
) -> jax.Array:
  """Proxy-Anchor loss (Kim et al. 2020), one value per batch.

  With ``s_ic`` the cosine between embedding ``i`` and proxy ``c``, ``X_c``
  the samples of class ``c``, ``P+`` the classes present in the batch and
  ``C`` the number of proxies:

  ``loss = 1/|P+| sum_{c in P+} log(1 + sum_{i in X_c} exp(-alpha (s_ic -
  margin))) + 1/C sum_c log(1 + sum_{i not in X_c} exp(alpha (s_ic +
  margin)))``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: proxies ``[C, D]``.
    margin: the margin ``delta``.
    alpha: the scale, ``> 0``.

  Returns:
    A scalar: the loss of the whole batch.

  Examples:
    >>> import jaxloss
    >>> jaxloss.proxy_anchor([0, 1], [[1.0, 0.0], [0.0, 1.0]],
    ...                      [[1.0, 0.0], [0.0, 1.0]], alpha=1.0).shape
    ()

  References:
    Kim, Kim, Cho and Kwak 2020, Proxy anchor loss for deep metric
    learning, eq. (4); ``pytorch_metric_learning.losses.ProxyAnchorLoss``
    (2.9).
  """
  caller = "proxy_anchor"
  validation.number(caller, "margin", margin)
  validation.check_range(caller, "alpha", alpha, low=0.0, low_open=True)
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  empty.require_samples(caller, "y_pred", emb)
  cos = _cosines(emb, cen)
  own = labels[:, None] == jnp.arange(cen.shape[0])[None, :]
  pos = jax.nn.softplus(
    numerics.masked_logsumexp(-alpha * (cos - margin), own, axis=0)
  )
  neg = jax.nn.softplus(
    numerics.masked_logsumexp(alpha * (cos + margin), ~own, axis=0)
  )
  present = jnp.sum(jnp.any(own, axis=0), dtype=cos.dtype)
  value = numerics.safe_divide(jnp.sum(pos), present) + jnp.mean(neg)
  return value.astype(dt)


@domains.declare(
  class_ids=domains.ClassIds(
    "y_true", "centers", axis=0, per="centers_per_class"
  )
)
@scoped
def soft_triple(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  centers_per_class: int = 10,
  la: float | jax.Array = 20.0,
  gamma: float | jax.Array = 0.1,
  margin: float | jax.Array = 0.01,
) -> jax.Array:
  """SoftTriple loss (Qian et al. 2019), one value per sample.

  ``centers`` holds ``K = centers_per_class`` centres per class, class by
  class (row ``c K + k``). With ``s_ck`` the cosine to centre ``k`` of
  class ``c``, the class similarity is
  ``S_c = sum_k softmax_k(s_ck / gamma) s_ck`` and
  ``loss = -log softmax(la (S - margin e_y))[y]``. The paper's regulariser
  on the centres is not included (pytorch-metric-learning leaves it to a
  weight regulariser too).

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: centres ``[C * centers_per_class, D]``.
    centers_per_class: ``K >= 1``.
    la: the scale ``lambda > 0``.
    gamma: the temperature of the softmax over a class's centres, ``> 0``.
    margin: the margin ``delta`` on the target class.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.soft_triple([0], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...                     centers_per_class=1).shape
    (1,)

  References:
    Qian et al. 2019, SoftTriple loss: deep metric learning without
    triplet sampling, eq. (8)-(10);
    ``pytorch_metric_learning.losses.SoftTripleLoss`` (2.9).
  """
  caller = "soft_triple"
  validation.integer(caller, "centers_per_class", centers_per_class, low=1)
  validation.check_range(caller, "la", la, low=0.0, low_open=True)
  validation.check_range(caller, "gamma", gamma, low=0.0, low_open=True)
  validation.number(caller, "margin", margin)
  labels, emb, cen, dt = _inputs(
    caller, y_true, y_pred, centers, centers_per_class
  )
  cos = _grouped_cosines(
    caller, emb, cen, centers_per_class, "centers_per_class"
  )
  weights = jax.nn.softmax(cos / gamma, axis=-1)
  sim = jnp.sum(weights * cos, axis=-1)
  one_hot = jax.nn.one_hot(labels, sim.shape[-1], dtype=sim.dtype)
  logits = la * (sim - margin * one_hot)
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


@domains.declare(
  class_ids=domains.ClassIds("y_true", "centers", axis=0, per="sub_centers")
)
@scoped
def subcenter_arcface(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  sub_centers: int = 3,
  scale: float | jax.Array = 64.0,
  margin: float = 0.5,
) -> jax.Array:
  """Sub-center ArcFace (Deng et al. 2020), one value per sample.

  ``centers`` holds ``K = sub_centers`` centres per class, class by class
  (row ``c K + k``); a class's cosine is the largest over its sub-centres,
  ``cos_c = max_k cos(u, v_ck)``, and the loss is :func:`jaxloss.arcface`
  on those cosines.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: sub-centres ``[C * sub_centers, D]``.
    sub_centers: ``K >= 1``.
    scale: the scale ``s > 0``.
    margin: the angular margin in radians, in ``[0, pi / 2)``
      (pytorch-metric-learning takes degrees: 28.6 is 0.5 rad).

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.subcenter_arcface([0], [[1.0, 0.0]],
    ...                           [[1.0, 0.0], [0.0, 1.0]],
    ...                           sub_centers=2).shape
    (1,)

  References:
    Deng et al. 2020, Sub-center ArcFace, eq. (2);
    ``pytorch_metric_learning.losses.SubCenterArcFaceLoss`` (2.9).
  """
  caller = "subcenter_arcface"
  validation.integer(caller, "sub_centers", sub_centers, low=1)
  _check_arcface(caller, scale, margin)
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers, sub_centers)
  cos = jnp.max(
    _grouped_cosines(caller, emb, cen, sub_centers, "sub_centers"), axis=-1
  )
  logits = _on_target(labels, cos, arcface_target(cos, margin), scale)
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


def _multiple_angle_cos(cos, m):
  """``cos(m theta)`` as a polynomial in ``cos theta`` (finite gradient at
  ``cos = +-1``): ``sum_n (-1)^n C(m, 2n) cos^(m-2n) (1 - cos^2)^n``."""
  sin_sq = 1.0 - jnp.square(cos)
  return sum(
    (-1) ** n * math.comb(m, 2 * n) * cos ** (m - 2 * n) * sin_sq**n
    for n in range(m // 2 + 1)
  )


def _large_margin(caller, y_true, y_pred, centers, margin, scale, normalize):
  validation.integer(caller, "margin", margin, low=1)
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  cos = _cosines(emb, cen)
  # psi(theta) = (-1)^k cos(m theta) - 2k on [k pi / m, (k + 1) pi / m].
  theta = jax.lax.stop_gradient(jnp.arccos(cos))
  k = jnp.floor(theta / (math.pi / margin))
  psi = jnp.where(k % 2 == 0, 1.0, -1.0) * _multiple_angle_cos(cos, margin)
  psi = psi - 2.0 * k
  one_hot = jax.nn.one_hot(labels, cos.shape[-1], dtype=bool)
  magnitude = numerics.safe_norm(emb, axis=-1)[:, None]
  if not normalize:
    magnitude = magnitude * numerics.safe_norm(cen, axis=-1)[None, :]
  logits = scale * magnitude * jnp.where(one_hot, psi, cos)
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def large_margin_softmax(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  margin: int = 4,
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  """Large-margin softmax (L-Softmax, Liu et al. 2016), one per sample.

  With ``theta_j`` the angle between the embedding ``x`` and class weight
  ``w_j``: logits ``scale ||x|| ||w_j|| cos(theta_j)``, the target's with
  ``psi(theta) = (-1)^k cos(m theta) - 2k`` for ``theta`` in
  ``[k pi / m, (k + 1) pi / m]`` in place of ``cos(theta)``;
  ``loss = -log softmax(logits)[y]``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class weights ``[C, D]``.
    margin: the integer angular multiplier ``m >= 1``.
    scale: a scale on the logits, ``> 0``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.large_margin_softmax([0], [[1.0, 0.0]],
    ...                              [[1.0, 0.0], [0.0, 1.0]]).shape
    (1,)

  References:
    Liu, Wen, Yu and Yang 2016, Large-margin softmax loss for
    convolutional neural networks, eq. (5)-(7);
    ``pytorch_metric_learning.losses.LargeMarginSoftmaxLoss`` (2.9).
  """
  return _large_margin(
    "large_margin_softmax", y_true, y_pred, centers, margin, scale, False
  )


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def sphereface(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  margin: int = 4,
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  """SphereFace (A-Softmax, Liu et al. 2017): :func:`large_margin_softmax`
  with normalised class weights, logits ``scale ||x|| psi(theta_j)``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class weights ``[C, D]`` (normalised here).
    margin: the integer angular multiplier ``m >= 1``.
    scale: a scale on the logits, ``> 0``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.sphereface([0], [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]).shape
    (1,)

  References:
    Liu et al. 2017, SphereFace: deep hypersphere embedding for face
    recognition, eq. (6)-(7);
    ``pytorch_metric_learning.losses.SphereFaceLoss`` (2.9).
  """
  return _large_margin(
    "sphereface", y_true, y_pred, centers, margin, scale, True
  )


@domains.declare(class_ids=domains.ClassIds("y_true", "centers", axis=0))
@scoped
def normalized_softmax(
  y_true: InputLike,
  y_pred: InputLike,
  centers: InputLike,
  *,
  temperature: float | jax.Array = 0.05,
) -> jax.Array:
  """Normalised softmax (Zhai and Wu 2019): cross-entropy on the cosines to
  the class weights over a temperature,
  ``loss = -log softmax(cos / temperature)[y]``.

  Args:
    y_true: integer labels ``[B]``.
    y_pred: embeddings ``[B, D]``.
    centers: class weights ``[C, D]``.
    temperature: ``> 0``.

  Returns:
    Per-sample losses ``[B]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.normalized_softmax([0], [[1.0, 0.0]],
    ...                            [[1.0, 0.0], [0.0, 1.0]]).shape
    (1,)

  References:
    Zhai and Wu 2019, Classification is a strong baseline for deep metric
    learning, eq. (2);
    ``pytorch_metric_learning.losses.NormalizedSoftmaxLoss`` (2.9).
  """
  caller = "normalized_softmax"
  validation.check_range(
    caller, "temperature", temperature, low=0.0, low_open=True
  )
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  logits = _cosines(emb, cen) / temperature
  return softmax.softmax_cross_entropy_sparse(labels, logits).astype(dt)


class ProxyNCA(Loss, fn=proxy_nca):
  """Loss object for :func:`jaxloss.proxy_nca`."""

  softmax_scale: float | jax.Array = 1.0


class ProxyAnchor(Loss, fn=proxy_anchor, batch_level=True):
  """Loss object for :func:`jaxloss.proxy_anchor`."""

  margin: float | jax.Array = 0.1
  alpha: float | jax.Array = 32.0


class SoftTriple(Loss, fn=soft_triple):
  """Loss object for :func:`jaxloss.soft_triple`."""

  centers_per_class: int = 10
  la: float | jax.Array = 20.0
  gamma: float | jax.Array = 0.1
  margin: float | jax.Array = 0.01


class SubCenterArcFace(Loss, fn=subcenter_arcface):
  """Loss object for :func:`jaxloss.subcenter_arcface`."""

  sub_centers: int = 3
  scale: float | jax.Array = 64.0
  margin: float = 0.5


class LargeMarginSoftmax(Loss, fn=large_margin_softmax):
  """Loss object for :func:`jaxloss.large_margin_softmax`."""

  margin: int = 4
  scale: float | jax.Array = 1.0


class SphereFace(Loss, fn=sphereface):
  """Loss object for :func:`jaxloss.sphereface`."""

  margin: int = 4
  scale: float | jax.Array = 1.0


class NormalizedSoftmax(Loss, fn=normalized_softmax):
  """Loss object for :func:`jaxloss.normalized_softmax`."""

  temperature: float | jax.Array = 0.05
