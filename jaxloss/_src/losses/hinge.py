"""Margin and hinge losses on scores: the binary hinge and perceptron kernels,
their multiclass (Crammer-Singer, Collins) forms, the Keras hinge family
(hinge, squared hinge, categorical hinge) and the PyTorch margin losses (soft
margin, multi-label soft margin, multi-class margin, margin ranking, hinge
embedding, cosine embedding).

The kernels work on converted arrays; ``jnp.maximum``/``jnp.max`` split the
gradient evenly between tied arguments. The library forms convert inputs,
map argument names and conventions, and call the kernels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import per_class
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# ----------------------------------------------------------------------------
# Margin losses on raw scores: binary hinge and perceptron, and their


def binary_hinge(targets, scores):
  """``max(0, 1 - scores * targets)``, element-wise, targets in {-1, 1}."""
  return jnp.maximum(0, 1 - scores * targets)


def binary_perceptron(targets, scores):
  """``max(0, -scores * targets)``, element-wise, targets in {-1, 1}."""
  return jnp.maximum(0, -scores * targets)


def _true_score(labels, scores):
  # A one-hot product (not a gather): labels outside [0, K) score 0.
  one_hot = jax.nn.one_hot(labels, scores.shape[-1], dtype=scores.dtype)
  return jnp.sum(scores * one_hot, axis=-1), one_hot


def multiclass_hinge(labels, scores):
  """Crammer-Singer hinge: ``max_k(z_k + 1 - [k = y]) - z_y``, last axis."""
  true, one_hot = _true_score(labels, scores)
  return jnp.max(scores + 1.0 - one_hot, axis=-1) - true


def multiclass_perceptron(labels, scores):
  """Multiclass perceptron (Collins 2002): ``max_k z_k - z_y``, last axis."""
  true, _ = _true_score(labels, scores)
  return jnp.max(scores, axis=-1) - true


# ----------------------------------------------------------------------------
# Hinge losses of Keras 3: hinge, squared hinge, categorical hinge.


def _hinge_terms(caller, y_true, y_pred):
  """Element-wise ``max(1 - y * f, 0)``; {0, 1} labels are mapped to {-1, 1}.

  As in Keras, the mapping ``y -> 2y - 1`` applies when *every* label of the
  call is 0 or 1 (a value-dependent choice, fine under ``jit``). Under
  ``vmap`` "every label" means every label of the mapped slice.
  """
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  # The test is a float max (a boolean ``all`` lowers to a slow chain of
  # reduce-windows on XLA:CPU), and the mapping is an affine map with scalar
  # coefficients rather than a ``where`` over the array: the forward pass
  # then reads each input once more instead of writing a relabelled copy.
  is_binary = (
    jnp.max(jnp.minimum(jnp.abs(t), jnp.abs(t - 1.0)), initial=0.0) == 0
  )
  scale = jnp.where(is_binary, 2.0, 1.0).astype(t.dtype)
  shift = jnp.where(is_binary, -1.0, 0.0).astype(t.dtype)
  return binary_hinge(scale * t + shift, p), dt


@scoped
def hinge(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Hinge loss, averaged over the last axis.

  ``loss = mean(max(1 - y_true * y_pred, 0), axis=-1)``, labels in {-1, 1}
  (binary {0, 1} labels are converted).

  Args:
    y_true: labels in {-1, 1} (or {0, 1}) ``[..., d]``.
    y_pred: scores ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.15], dtype=float32)

  References:
    Keras 3 ``keras.losses.hinge``.
  """
  terms, dt = _hinge_terms("hinge", y_true, y_pred)
  return jnp.mean(terms, axis=-1).astype(dt)


@scoped
def squared_hinge(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Squared hinge loss, averaged over the last axis.

  ``loss = mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``

  Args:
    y_true: labels in {-1, 1} (or {0, 1}) ``[..., d]``.
    y_pred: scores ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.squared_hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.445], dtype=float32)

  References:
    Keras 3 ``keras.losses.squared_hinge``.
  """
  terms, dt = _hinge_terms("squared_hinge", y_true, y_pred)
  return jnp.mean(jnp.square(terms), axis=-1).astype(dt)


@scoped
def categorical_hinge(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Categorical (Crammer-Singer) hinge loss with one-hot targets.

  ``loss = max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``
  over the last axis.

  Args:
    y_true: one-hot targets ``[..., K]``.
    y_pred: class scores ``[..., K]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.categorical_hinge([[0.0, 1.0]], [[0.5, 0.2]])
    Array([1.3], dtype=float32)

  References:
    Crammer & Singer, "On the Algorithmic Implementation of Multiclass
    Kernel-based Vector Machines", JMLR 2001; Keras 3
    ``keras.losses.categorical_hinge``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "categorical_hinge", y_true, y_pred, min_rank=1
  )
  pos = jnp.sum(t * p, axis=-1)
  neg = jnp.max((1.0 - t) * p, axis=-1)
  return jnp.maximum(neg - pos + 1.0, 0.0).astype(dt)


class Hinge(Loss, fn=hinge):
  """Loss object for :func:`jaxloss.hinge`."""


class SquaredHinge(Loss, fn=squared_hinge):
  """Loss object for :func:`jaxloss.squared_hinge`."""


class CategoricalHinge(Loss, fn=categorical_hinge):
  """Loss object for :func:`jaxloss.categorical_hinge`."""


# ----------------------------------------------------------------------------
# Margin losses with PyTorch semantics: soft margin, multi-label soft margin,

# PyTorch's constant in cosine_embedding_loss (aten/src/ATen/native/Loss.cpp).
_COSINE_EPS = 1e-12


def _triple(caller, y_true, x1, x2):
  """``(y, x1, x2)``: ``x1`` and ``x2`` of one shape, floats, one dtype."""
  (x1, x2), dt = numerics.floats(caller, x1=x1, x2=x2)
  shapes.check_same_shape(caller, x1=x1, x2=x2)
  y = numerics.as_array(caller, "y_true", y_true).astype(x1.dtype)
  return y, x1, x2, dt


@scoped
def soft_margin(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Two-class logistic loss, PyTorch's ``SoftMarginLoss``.

  ``loss = mean(log(1 + exp(-y_true * y_pred)), axis=-1)``, computed as
  ``softplus(-y z)``.

  Args:
    y_true: labels in {-1, 1}, ``[..., d]``.
    y_pred: scores ``[..., d]``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for shapes that differ.

  Examples:
    >>> import jaxloss
    >>> jaxloss.soft_margin([[1.0, -1.0]], [[0.0, 2.0]])
    Array([1.4100376], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.SoftMarginLoss``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "soft_margin", y_true, y_pred, min_rank=1
  )
  return jnp.mean(jax.nn.softplus(-t * p), axis=-1).astype(dt)


@domains.declare(unit_targets="y_true")
@scoped
def multilabel_soft_margin(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  weight: InputLike | None = None,
) -> jax.Array:
  """Multi-label one-versus-all logistic loss, ``MultiLabelSoftMarginLoss``.

  ``loss = -mean(w (t log sigmoid(z) + (1 - t) log sigmoid(-z)), axis=-1)``
  (binary cross-entropy from logits, weighted per class by ``w`` (1 when
  ``weight`` is None) and averaged over the ``C`` classes, as PyTorch 2.13
  does: the mean divides by ``C``, not by the sum of the weights).

  Args:
    y_true: targets in {0, 1}, ``[..., C]``.
    y_pred: logits ``[..., C]``.
    weight: None, a scalar, or one weight per class ``[C]`` (PyTorch's
      ``weight``).

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for shapes that differ.

  Examples:
    >>> import jaxloss
    >>> jaxloss.multilabel_soft_margin([[1.0, 0.0]], [[0.0, 0.0]])
    Array([0.6931472], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.MultiLabelSoftMarginLoss``.
  """
  caller = "multilabel_soft_margin"
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  loss = numerics.sigmoid_cross_entropy(t, p)
  if weight is not None:
    loss = loss * per_class.class_vector(
      caller, "weight", weight, p.shape, p.dtype
    )
  return jnp.mean(loss, axis=-1).astype(dt)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def multi_margin(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  p: int = 1,
  margin: float | jax.Array = 1.0,
  weight: InputLike | None = None,
) -> jax.Array:
  """Multi-class hinge loss, PyTorch's ``MultiMarginLoss``.

  With integer label ``y``, scores ``z`` over ``C`` classes and class
  weights ``w`` (1 when ``weight`` is None)::

    loss = w[y] * sum_{i != y} max(0, margin - z[y] + z[i]) ** p / C

  (PyTorch 2.13's kernel multiplies ``w[y]`` after the power; its docs put
  it inside.) An unbatched input (``y_true`` a scalar, ``y_pred`` ``[C]``)
  is one sample, as in PyTorch: a scalar value.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: scores ``[..., C]``.
    p: 1 or 2.
    margin: the margin.
    weight: None, a scalar, or one weight per class ``[C]`` (PyTorch's
      ``weight``).

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``p`` not in (1, 2) or labels whose shape is not that
      of ``y_pred`` without its class axis.
    TypeError: for boolean labels or an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.multi_margin([3], [[0.1, 0.2, 0.4, 0.8]])
    Array([0.325], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.MultiMarginLoss`` (the doc example above);
    Weston & Watkins, "Multi-class support vector machines", 1998.
  """
  caller = "multi_margin"
  validation.number(caller, "margin", margin)
  validation.integer(caller, "p", p)
  if p not in (1, 2):
    raise ValueError(f"{caller}: p must be 1 or 2, got {p!r}")
  z = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_min_rank(caller, "y_pred", z, 1)
  labels = shapes.check_labels_shape(
    caller, numerics.labels(caller, "y_true", y_true), z
  )
  dt = z.dtype
  z = z.astype(numerics.compute_dtype(dt))
  num_classes = z.shape[-1]
  z = numerics.nan_at_bad_ids(z, labels, num_classes)
  z_y = jnp.take_along_axis(z, labels[..., None], axis=-1)
  hinge = jnp.maximum(margin - z_y + z, 0)
  if p == 2:
    hinge = jnp.square(hinge)
  if weight is not None:
    w = per_class.class_vector(caller, "weight", weight, z.shape, z.dtype)
    hinge = hinge * jnp.take_along_axis(w, labels[..., None] % num_classes, -1)
  others = ~jax.nn.one_hot(labels, num_classes, dtype=jnp.bool_)
  return (jnp.sum(jnp.where(others, hinge, 0), axis=-1) / num_classes).astype(
    dt
  )


@scoped
def margin_ranking(
  y_true: InputLike,
  x1: InputLike,
  x2: InputLike,
  *,
  margin: float | jax.Array = 0.0,
) -> jax.Array:
  """Pairwise ranking hinge, PyTorch's ``MarginRankingLoss``.

  ``loss = max(0, -y (x1 - x2) + margin)``, element-wise: each pair of
  scores is one sample, so nothing is averaged (scores ``[B]`` give
  ``[B]`` values).

  Args:
    y_true: 1 where ``x1`` should rank higher, -1 where ``x2`` should;
      shape of ``x1`` (or a scalar).
    x1: scores ``[...]``.
    x2: scores ``[...]``.
    margin: the margin.

  Returns:
    Per-pair losses, shape of ``x1``.

  Raises:
    ValueError: for shapes that differ.
    TypeError: for integer scores.

  Examples:
    >>> import jaxloss
    >>> jaxloss.margin_ranking([1.0, -1.0], [0.2, 0.5], [0.4, 0.1],
    ...                        margin=0.1)
    Array([0.3, 0.5], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.MarginRankingLoss``.
  """
  caller = "margin_ranking"
  validation.number(caller, "margin", margin)
  y, x1, x2, dt = _triple(caller, y_true, x1, x2)
  if y.ndim:
    shapes.check_same_shape(caller, y_true=y, x1=x1)
  return jnp.maximum(-y * (x1 - x2) + margin, 0).astype(dt)


@scoped
def hinge_embedding(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  margin: float | jax.Array = 1.0,
) -> jax.Array:
  """Hinge embedding loss, PyTorch's ``HingeEmbeddingLoss``.

  For distances ``x`` (``y_pred``) and labels ``y`` in {1, -1}, averaged
  over the last axis::

    l = x                     where y == 1
    l = max(0, margin - x)    where y == -1

  (other label values get both terms, as in PyTorch).

  Args:
    y_true: labels in {1, -1}, ``[..., d]``.
    y_pred: distances ``[..., d]``.
    margin: the margin.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for shapes that differ.

  Examples:
    >>> import jaxloss
    >>> jaxloss.hinge_embedding([[1.0, -1.0]], [[0.3, 0.4]])
    Array([0.45], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.HingeEmbeddingLoss``.
  """
  caller = "hinge_embedding"
  validation.number(caller, "margin", margin)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  loss = jnp.where(t != 1, jnp.maximum(margin - p, 0), 0) + jnp.where(
    t != -1, p, 0
  )
  return jnp.mean(loss, axis=-1).astype(dt)


@scoped
def cosine_embedding(
  y_true: InputLike,
  x1: InputLike,
  x2: InputLike,
  *,
  margin: float | jax.Array = 0.0,
) -> jax.Array:
  """Cosine embedding loss, PyTorch's ``CosineEmbeddingLoss``.

  With ``cos = sum(x1 x2) / sqrt((sum(x1**2) + eps)(sum(x2**2) + eps))``
  over the last axis (``eps = 1e-12``, as in PyTorch)::

    loss = 1 - cos                 where y == 1
    loss = max(0, cos - margin)    where y == -1
    loss = 0                       otherwise

  Args:
    y_true: labels in {1, -1}, ``[...]`` (or ``[..., 1]``).
    x1: embeddings ``[..., D]``.
    x2: embeddings ``[..., D]``.
    margin: in [-1, 1].

  Returns:
    Per-pair losses ``[...]``.

  Raises:
    ValueError: for ``margin`` outside [-1, 1] or shapes that do not fit.
    TypeError: for integer embeddings.

  Examples:
    >>> import jaxloss
    >>> jaxloss.cosine_embedding([1.0, -1.0], [[1.0, 0.0], [1.0, 1.0]],
    ...                          [[1.0, 1.0], [1.0, 1.0]])
    Array([0.29289323, 1.        ], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.CosineEmbeddingLoss``.
  """
  caller = "cosine_embedding"
  validation.check_range(caller, "margin", margin, -1.0, 1.0)
  y, x1, x2, dt = _triple(caller, y_true, x1, x2)
  shapes.check_min_rank(caller, "x1", x1, 1)
  y = shapes.check_labels_shape(caller, y, x1)
  dot = jnp.sum(x1 * x2, axis=-1)
  den = jnp.sqrt(
    (jnp.sum(jnp.square(x1), axis=-1) + _COSINE_EPS)
    * (jnp.sum(jnp.square(x2), axis=-1) + _COSINE_EPS)
  )
  cos = dot / den
  loss = jnp.where(y == 1, 1 - cos, 0) + jnp.where(
    y == -1, jnp.maximum(cos - margin, 0), 0
  )
  return loss.astype(dt)


class SoftMarginLoss(Loss, fn=soft_margin):
  """Loss object for :func:`jaxloss.soft_margin`."""


class MultiLabelSoftMarginLoss(Loss, fn=multilabel_soft_margin):
  """Loss object for :func:`jaxloss.multilabel_soft_margin`."""

  weight: InputLike | None = None


class MultiMarginLoss(Loss, fn=multi_margin):
  """Loss object for :func:`jaxloss.multi_margin`."""

  p: int = 1
  margin: float | jax.Array = 1.0
  weight: InputLike | None = None


class MarginRankingLoss(Loss, fn=margin_ranking):
  """Loss object for :func:`jaxloss.margin_ranking`."""

  margin: float | jax.Array = 0.0


class HingeEmbeddingLoss(Loss, fn=hinge_embedding):
  """Loss object for :func:`jaxloss.hinge_embedding`."""

  margin: float | jax.Array = 1.0


class CosineEmbeddingLoss(Loss, fn=cosine_embedding):
  """Loss object for :func:`jaxloss.cosine_embedding`."""

  margin: float | jax.Array = 0.0
