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

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses import softmax
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _inputs(caller, y_true, y_pred, centers):
  """Labels [B], embeddings [B, D], centres [C, D] in the compute dtype."""
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


def _arcface(y_true, y_pred, centers, scale, margin, caller="arcface_logits"):
  """``(labels, logits in the compute dtype, out_dtype)`` of ArcFace;
  ``caller`` is the public name used in error messages."""
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  validation.check_range(
    caller, "margin", margin, low=0.0, high=math.pi / 2, high_open=True
  )
  labels, emb, cen, dt = _inputs(caller, y_true, y_pred, centers)
  cos = _cosines(emb, cen)
  sin_sq = 1.0 - jnp.square(cos)
  positive = sin_sq > 0
  sin = jnp.where(positive, jnp.sqrt(jnp.where(positive, sin_sq, 1.0)), 0.0)
  with_margin = cos * math.cos(margin) - sin * math.sin(margin)
  fallback = cos - margin * math.sin(margin)
  target = jnp.where(cos > math.cos(math.pi - margin), with_margin, fallback)
  one_hot = jax.nn.one_hot(labels, cen.shape[0], dtype=bool)
  return labels, scale * jnp.where(one_hot, target, cos), dt


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
