"""Probabilistic losses of Keras 3: cross-entropies, focal, GCE, Poisson, KL."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import per_class
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses import softmax as _softmax
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

_EPS = numerics.EPSILON


def _dense_pair(caller, y_true, y_pred, axis):
  """Targets and predictions of one shape, class axis moved last."""
  validation.axis(caller, axis)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  axis = shapes.canonical_axis(caller, axis, p.ndim)
  return jnp.moveaxis(t, axis, -1), jnp.moveaxis(p, axis, -1), dt


# ---------------------------------------------------------------- binary


def binary_terms(t, p, from_logits):
  """Per-element BCE and ``1 - p_t`` (the focal base), Keras's formulas.

  From logits both are computed without forming probabilities in the log
  terms, so the loss keeps growing past Keras's ``-log(1e-7) = 16.1`` cap.
  """
  if from_logits:
    bce, sig, sig_neg = numerics.sigmoid_cross_entropy_and_sigmoids(t, p)
    one_minus_pt = t * sig_neg + (1 - t) * sig
  else:
    q = numerics.clip_probabilities(p)
    bce = -(t * jnp.log(q) + (1 - t) * jnp.log1p(-q))
    one_minus_pt = 1 - (t * p + (1 - t) * (1 - p))
  return bce, one_minus_pt


@domains.declare(probabilities="y_pred", unit_targets="y_true")
@scoped
def binary_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  from_logits: bool = False,
  label_smoothing: float | jax.Array = 0.0,
  axis: int = -1,
  pos_weight: InputLike | None = None,
) -> jax.Array:
  """Binary cross-entropy, averaged along ``axis``.

  With ``t = y_true * (1 - ls) + 0.5 * ls`` (label smoothing ``ls``):

  * probabilities: ``p = clip(y_pred, 1e-7, 1 - 1e-7)``,
    ``loss = -mean(t log p + (1 - t) log(1 - p))``;
  * logits ``z``: ``loss = mean(max(z, 0) - t z + log1p(exp(-|z|)))``.

  With ``pos_weight`` ``w`` (PyTorch's ``BCEWithLogitsLoss(pos_weight=)``,
  an extension of Keras) the positive term is scaled:
  ``loss = -mean(w t log p + (1 - t) log(1 - p))``, from logits as
  ``w t softplus(-z) + (1 - t) softplus(z)`` in log space.

  Args:
    y_true: targets in [0, 1], shape of ``y_pred``.
    y_pred: probabilities or logits ``[..., d]``.
    from_logits: whether ``y_pred`` holds logits.
    label_smoothing: in [0, 1]; squeezes targets towards 0.5.
    axis: the axis averaged over.
    pos_weight: None, a scalar, or one weight per entry of ``axis``
      (``[d]``) for the positive term (PyTorch: ``n_neg / n_pos`` per class
      balances the classes).

  Returns:
    Per-sample losses: ``y_pred``'s shape without ``axis``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.binary_crossentropy([[0.0, 1.0], [0.0, 0.0]],
    ...                             [[0.6, 0.4], [0.4, 0.6]]).round(4)
    Array([0.9163, 0.7136], dtype=float32)

  References:
    Keras 3 ``keras.losses.binary_crossentropy``; PyTorch 2.13
    ``torch.nn.BCEWithLogitsLoss`` for ``pos_weight``.
  """
  caller = "binary_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  t, p, dt = _dense_pair(caller, y_true, y_pred, axis)
  if label_smoothing:
    t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
  if pos_weight is None:
    bce, _ = binary_terms(t, p, from_logits)
    return jnp.mean(bce, axis=-1).astype(dt)
  w = per_class.class_vector(caller, "pos_weight", pos_weight, p.shape, p.dtype)
  if from_logits:
    # softplus(-z) = -log sigmoid(z) and softplus(z) = softplus(-z) + z.
    neg_log_sig = jnp.maximum(-p, 0) + jnp.log1p(jnp.exp(-jnp.abs(p)))
    bce = w * t * neg_log_sig + (1 - t) * (neg_log_sig + p)
  else:
    q = numerics.clip_probabilities(p)
    bce = -(w * t * jnp.log(q) + (1 - t) * jnp.log1p(-q))
  return jnp.mean(bce, axis=-1).astype(dt)


@domains.declare(probabilities="y_pred", unit_targets="y_true")
@scoped
def binary_focal_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  apply_class_balancing: bool = False,
  alpha: float | jax.Array = 0.25,
  gamma: float | jax.Array = 2.0,
  from_logits: bool = False,
  label_smoothing: float | jax.Array = 0.0,
  axis: int = -1,
) -> jax.Array:
  """Binary focal cross-entropy (Lin et al. 2017), averaged along ``axis``.

  ``loss = mean(w * (1 - p_t) ** gamma * bce)`` with ``bce`` as in
  :func:`binary_crossentropy`, ``p_t = t p + (1 - t)(1 - p)`` and
  ``w = t alpha + (1 - t)(1 - alpha)`` when ``apply_class_balancing`` (else 1).
  With ``from_logits=True`` both factors are computed from the logits in
  log space (Keras computes ``sigmoid`` first, which caps the loss near 16.1
  and gives a NaN gradient for ``gamma < 1``). The gradient of
  ``(1 - p_t) ** gamma`` at ``p_t = 1`` is taken as 0.

  Args:
    y_true: targets in [0, 1], shape of ``y_pred``.
    y_pred: probabilities or logits ``[..., d]``.
    apply_class_balancing: weigh positives by ``alpha`` and negatives by
      ``1 - alpha``.
    alpha: the class-balancing weight, in [0, 1].
    gamma: the focusing exponent, >= 0 (0 is binary cross-entropy).
    from_logits: whether ``y_pred`` holds logits.
    label_smoothing: in [0, 1]; squeezes targets towards 0.5.
    axis: the axis averaged over.

  Returns:
    Per-sample losses: ``y_pred``'s shape without ``axis``.

  Raises:
    ValueError: if ``gamma < 0``, ``alpha`` or ``label_smoothing`` is
      outside [0, 1].

  Examples:
    >>> import jaxloss
    >>> jaxloss.binary_focal_crossentropy([[0.0, 1.0], [0.0, 0.0]],
    ...                                   [[0.6, 0.4], [0.4, 0.6]], gamma=2.0)
    Array([0.3299, 0.2058], dtype=float32)

  References:
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017;
    Keras 3 ``keras.losses.binary_focal_crossentropy``.
  """
  caller = "binary_focal_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.flag(caller, "apply_class_balancing", apply_class_balancing)
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.check_range(caller, "alpha", alpha, 0.0, 1.0)
  t, p, dt = _dense_pair(caller, y_true, y_pred, axis)
  if label_smoothing:
    t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
  bce, one_minus_pt = binary_terms(t, p, from_logits)
  focal = numerics.safe_pow(one_minus_pt, gamma) * bce
  if apply_class_balancing:
    focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
  return jnp.mean(focal, axis=-1).astype(dt)


# ----------------------------------------------------------- categorical


def _log_probs(p, from_logits):
  """Log-probabilities along the last axis (Keras's normalise-and-clip).

  A row of all-zero probabilities normalises to zeros (not ``0 / 0``), so
  every class gets the clipped ``log(1e-7)``: the value Keras's formula gives
  without the NaN, with a finite (zero) gradient. A NaN still propagates.
  """
  if from_logits:
    return jax.nn.log_softmax(p, axis=-1)
  p = numerics.safe_divide(p, jnp.sum(p, axis=-1, keepdims=True))
  return jnp.log(numerics.clip_probabilities(p))


def _smooth_one_hot(t, label_smoothing):
  if not label_smoothing:
    return t
  return t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]


@domains.declare(probabilities="y_pred", simplex=True, unit_targets="y_true")
@scoped
def categorical_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  from_logits: bool = False,
  label_smoothing: float | jax.Array = 0.0,
  axis: int = -1,
  weight: InputLike | None = None,
) -> jax.Array:
  """Categorical cross-entropy with one-hot (or soft) targets.

  ``loss = -sum(t * log_softmax(z))`` from logits, or from probabilities
  ``loss = -sum(t * log(clip(p / sum(p), 1e-7, 1 - 1e-7)))`` (Keras), along
  ``axis``, with ``t = y_true (1 - ls) + ls / num_classes``. A row of
  probabilities that are all 0 counts as ``q = 1e-7`` for every class
  (``-log(1e-7) * sum(t)``, about 16.1 for one-hot targets) with a zero
  gradient, where Keras gives NaN from ``0 / 0``; the same holds for the
  focal and sparse forms.

  ``weight`` (PyTorch's class ``weight`` with probability targets, an
  extension of Keras) scales each class's term:
  ``loss = -sum(w * t * log q)``, after label smoothing, as in PyTorch 2.13
  ``cross_entropy(weight=w)`` with ``reduction="none"``; its ``"mean"``
  over probability targets divides by the batch size, as
  ``"sum_over_batch_size"`` does here (it is only for class-index targets
  that PyTorch divides by the sum of the weights).

  Args:
    y_true: one-hot or soft targets, shape of ``y_pred``.
    y_pred: probabilities or logits ``[..., K]``.
    from_logits: whether ``y_pred`` holds logits.
    label_smoothing: in [0, 1].
    axis: the class axis.
    weight: None, a scalar, or one weight per class (``[K]``).

  Returns:
    Per-sample losses: ``y_pred``'s shape without ``axis``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.categorical_crossentropy([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ...                                  [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    ...                                  ).round(4)
    Array([0.0513, 2.3026], dtype=float32)

  References:
    Keras 3 ``keras.losses.categorical_crossentropy``; PyTorch 2.13
    ``torch.nn.functional.cross_entropy`` for ``weight``.
  """
  caller = "categorical_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  t, p, dt = _dense_pair(caller, y_true, y_pred, axis)
  t = _smooth_one_hot(t, label_smoothing)
  if weight is not None:
    t = t * per_class.class_vector(caller, "weight", weight, p.shape, p.dtype)
  if from_logits:  # the one softmax cross-entropy kernel (optax's form too)
    return _softmax.softmax_cross_entropy(t, p).astype(dt)
  return (-jnp.sum(t * _log_probs(p, False), axis=-1)).astype(dt)


def _class_axis_alpha(caller, alpha, num_classes):
  """Scalar alpha, or one per class (broadcast along the class axis)."""
  alpha = jnp.asarray(alpha)
  if alpha.ndim > 1 or (alpha.ndim == 1 and alpha.shape[0] != num_classes):
    raise ValueError(
      f"{caller}: alpha must be a scalar or have one entry per class "
      f"({num_classes}), got shape {tuple(alpha.shape)}"
    )
  return alpha


@domains.declare(probabilities="y_pred", simplex=True, unit_targets="y_true")
@scoped
def categorical_focal_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | Sequence[float] | jax.Array = 0.25,
  gamma: float | jax.Array = 2.0,
  from_logits: bool = False,
  label_smoothing: float | jax.Array = 0.0,
  axis: int = -1,
) -> jax.Array:
  """Categorical focal cross-entropy (Lin et al. 2017).

  ``loss = -sum(alpha * (1 - q) ** gamma * t * log q)`` along ``axis``, where
  ``q`` is the normalised, clipped probability (Keras) or, from logits,
  ``softmax(z)`` with ``log q = log_softmax(z)`` (no clipping, so the loss
  keeps growing for confident mistakes, where Keras 3.15, which clips
  ``softmax(z)`` into ``[1e-7, 1 - 1e-7]``, caps ``-log q`` near 16.1; the
  two agree at moderate logits). ``alpha`` is a scalar or one weight per
  class, along the class axis ``axis``; ``t`` is label-smoothed as in
  :func:`categorical_crossentropy`.

  Args:
    y_true: one-hot or soft targets, shape of ``y_pred``.
    y_pred: probabilities or logits ``[..., K]``.
    alpha: a scalar or one weight per class (``[K]``).
    gamma: the focusing exponent, >= 0.
    from_logits: whether ``y_pred`` holds logits.
    label_smoothing: in [0, 1].
    axis: the class axis.

  Returns:
    Per-sample losses: ``y_pred``'s shape without ``axis``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.categorical_focal_crossentropy(
    ...     [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ...     [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    Array([3.2058e-05, 4.6627e-01], dtype=float32)

  References:
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017;
    Keras 3 ``keras.losses.categorical_focal_crossentropy``.
  """
  caller = "categorical_focal_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.check_range(caller, "alpha", alpha, low=0.0)
  t, p, dt = _dense_pair(caller, y_true, y_pred, axis)
  alpha = jnp.broadcast_to(
    _class_axis_alpha(caller, alpha, p.shape[-1]).astype(p.dtype), p.shape
  )
  t = _smooth_one_hot(t, label_smoothing)
  log_q = _log_probs(p, from_logits)
  q = jnp.exp(log_q)
  modulating = numerics.safe_pow(jnp.maximum(1.0 - q, 0.0), gamma)
  return (-jnp.sum(alpha * modulating * t * log_q, axis=-1)).astype(dt)


def _sparse_inputs(caller, y_true, y_pred, axis, ignore_index=None):
  """Labels ``[...]`` and scores ``[..., K]`` (class axis moved last); the
  scores of a label outside ``[0, K)`` (not ``ignore_index``) are NaN."""
  validation.axis(caller, axis)
  p = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_min_rank(caller, "y_pred", p, 1)
  labels = numerics.labels(caller, "y_true", y_true)
  axis = shapes.canonical_axis(caller, axis, p.ndim)
  if labels.ndim == p.ndim and labels.shape[axis] == 1:
    labels = jnp.squeeze(labels, axis)
  p = jnp.moveaxis(p, axis, -1)
  labels = shapes.check_labels_shape(caller, labels, p)
  dt = p.dtype
  p = p.astype(numerics.compute_dtype(dt))
  p = numerics.nan_at_bad_ids(p, labels, p.shape[-1], ignore_index=ignore_index)
  return labels, p, dt


def _gather_last(x, labels):
  return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


@validation.deprecated_alias({"ignore_class": "ignore_index"})
@domains.declare(
  probabilities="y_pred",
  simplex=True,
  class_ids=domains.ClassIds("y_true", "y_pred", axis="axis"),
)
@scoped
def sparse_categorical_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  from_logits: bool = False,
  ignore_index: int | None = None,
  axis: int = -1,
  label_smoothing: float | jax.Array = 0.0,
) -> jax.Array:
  """Categorical cross-entropy with integer labels.

  ``loss = -log q[y]`` with ``log q`` as in :func:`categorical_crossentropy`;
  from logits this is ``logsumexp(z) - z[y]`` (no one-hot is built). With
  label smoothing ``ls`` (an extension; Keras has none here):
  ``loss = -(1 - ls) log q[y] - ls / K * sum_k log q[k]``, which equals
  :func:`categorical_crossentropy` (and Keras's) on one-hot labels with the
  same smoothing; ``ls = 0`` is Keras's sparse loss.
  Entries whose label equals ``ignore_index`` give 0 (and the loss object
  then averages over the other entries only, as Keras does). Another label
  outside ``[0, K)`` gives NaN (as the naive gather does past the end; a
  negative label is never wrapped round to a class).

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: probabilities or logits ``[..., K]``.
    from_logits: whether ``y_pred`` holds logits.
    ignore_index: a label value whose entries are ignored, or None (the
      house spelling, as in PyTorch and the LM losses; ``ignore_class=``,
      Keras's name, is a deprecated alias here and the keyword of
      ``jaxloss.keras.SparseCategoricalCrossentropy``).
    axis: the class axis of ``y_pred``.
    label_smoothing: in [0, 1].

  Returns:
    Per-sample losses ``[...]``: ``y_pred``'s shape without ``axis``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.sparse_categorical_crossentropy(
    ...     [1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]).round(4)
    Array([0.0513, 2.3026], dtype=float32)

  References:
    Keras 3 ``keras.losses.sparse_categorical_crossentropy``.
  """
  caller = "sparse_categorical_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.check_range(caller, "label_smoothing", label_smoothing, 0.0, 1.0)
  validation.integer(caller, "ignore_index", ignore_index, optional=True)
  labels, p, dt = _sparse_inputs(caller, y_true, y_pred, axis, ignore_index)
  valid = None
  if ignore_index is not None:
    valid = labels != ignore_index
    labels = jnp.where(valid, labels, 0)
    if not from_logits:  # an ignored row of zeros would give 0/0
      p = jnp.where(valid[..., None], p, 1.0)
  if from_logits:  # the one sparse kernel (optax's integer-label form too)
    nll = _softmax.softmax_cross_entropy_sparse(labels, p)
    if label_smoothing:
      uniform = jax.nn.logsumexp(p, axis=-1) - jnp.mean(p, axis=-1)
  else:
    log_q = _log_probs(p, False)
    nll = -_gather_last(log_q, labels)
    if label_smoothing:
      uniform = -jnp.mean(log_q, axis=-1)
  if label_smoothing:
    nll = (1.0 - label_smoothing) * nll + label_smoothing * uniform  # pyright: ignore[reportPossiblyUnboundVariable]
  if valid is not None:
    nll = jnp.where(valid, nll, 0.0)
  return nll.astype(dt)


def _sparse_valid(y_true, y_pred, values, *, ignore_index, axis, **_):
  if ignore_index is None:
    return None
  labels, _, _ = _sparse_inputs(
    "SparseCategoricalCrossentropy", y_true, y_pred, axis
  )
  return labels != ignore_index


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def categorical_generalized_cross_entropy(
  y_true: InputLike, y_pred: InputLike, *, q: float | jax.Array = 0.5
) -> jax.Array:
  """Generalized cross-entropy (Zhang & Sabuncu 2018) with integer labels.

  ``loss = (1 - p[y] ** q) / q`` with ``p`` the probabilities ``[..., K]``.
  ``q -> 0`` tends to cross-entropy, ``q = 1`` is MAE. The gradient at
  ``p[y] = 0`` is taken as 0 (its true value is infinite for ``q < 1``).
  Labels ``[..., 1]`` are squeezed (Keras 3.15 documents them but broadcasts
  them into ``[B, B]`` values), and ``q = 1`` is accepted (Keras's object
  requires ``q < 1``).

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: probabilities ``[..., K]``.
    q: the exponent, in (0, 1].

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: if ``q`` is not in (0, 1].

  Examples:
    >>> import jaxloss
    >>> jaxloss.categorical_generalized_cross_entropy(
    ...     [0, 1], [[0.25, 0.75], [0.5, 0.5]], q=0.5)
    Array([1.       , 0.5857864], dtype=float32)

  References:
    Zhang & Sabuncu, "Generalized Cross Entropy Loss for Training Deep
    Neural Networks with Noisy Labels", NeurIPS 2018;
    Keras 3 ``keras.losses.categorical_generalized_cross_entropy``.
  """
  caller = "categorical_generalized_cross_entropy"
  validation.check_range(caller, "q", q, 0.0, 1.0, low_open=True)
  labels, p, dt = _sparse_inputs(caller, y_true, y_pred, -1)
  p_true = _gather_last(p, labels)
  return ((1.0 - numerics.safe_pow(p_true, q)) / q).astype(dt)


# ------------------------------------------------------ Poisson, KL


@scoped
def poisson(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Poisson negative log-likelihood (up to a constant), averaged last axis.

  ``loss = mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``

  Args:
    y_true: counts ``[..., d]``.
    y_pred: predicted rates ``[..., d]`` (non-negative).

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.poisson([[1.0, 0.0]], [[1.0, 2.0]])
    Array([1.5], dtype=float32)

  References:
    Keras 3 ``keras.losses.poisson``.
  """
  caller = "poisson"
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  return jnp.mean(p - t * jnp.log(p + _EPS), axis=-1).astype(dt)


@scoped
def kl_divergence(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Kullback-Leibler divergence ``KL(y_true || y_pred)`` over the last axis.

  ``loss = sum(t * log(t / p), axis=-1)`` with ``t, p`` clipped into
  ``[1e-7, 1]`` (Keras), so zero targets and zero predictions stay finite.

  Args:
    y_true: target distributions ``[..., K]``.
    y_pred: predicted distributions ``[..., K]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])
    Array([0.14384103], dtype=float32)

  References:
    Keras 3 ``keras.losses.kl_divergence``.
  """
  caller = "kl_divergence"
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  t = jnp.clip(t, _EPS, 1.0)
  p = jnp.clip(p, _EPS, 1.0)
  # One log of the ratio (Keras's form), not two: both are clipped to
  # [1e-7, 1], so t / p stays within [1e-7, 1e7].
  return jnp.sum(t * jnp.log(t / p), axis=-1).astype(dt)


class BinaryCrossentropy(Loss, fn=binary_crossentropy, aliases=("bce", "BCE")):
  """Loss object for :func:`jaxloss.binary_crossentropy`."""

  from_logits: bool = False
  label_smoothing: float | jax.Array = 0.0
  axis: int = -1
  pos_weight: InputLike | None = None


class BinaryFocalCrossentropy(Loss, fn=binary_focal_crossentropy):
  """Loss object for :func:`jaxloss.binary_focal_crossentropy`."""

  apply_class_balancing: bool = False
  alpha: float | jax.Array = 0.25
  gamma: float | jax.Array = 2.0
  from_logits: bool = False
  label_smoothing: float | jax.Array = 0.0
  axis: int = -1


class CategoricalCrossentropy(Loss, fn=categorical_crossentropy):
  """Loss object for :func:`jaxloss.categorical_crossentropy`."""

  from_logits: bool = False
  label_smoothing: float | jax.Array = 0.0
  axis: int = -1
  weight: InputLike | None = None


class CategoricalFocalCrossentropy(Loss, fn=categorical_focal_crossentropy):
  """Loss object for :func:`jaxloss.categorical_focal_crossentropy`."""

  alpha: float | Sequence[float] | jax.Array = 0.25
  gamma: float | jax.Array = 2.0
  from_logits: bool = False
  label_smoothing: float | jax.Array = 0.0
  axis: int = -1


class SparseCategoricalCrossentropy(
  Loss, fn=sparse_categorical_crossentropy, where_fn=_sparse_valid
):
  """Loss object for :func:`jaxloss.sparse_categorical_crossentropy`."""

  from_logits: bool = False
  ignore_index: int | None = None
  axis: int = -1
  label_smoothing: float | jax.Array = 0.0


@scoped
def kl_div(
  y_true: InputLike, y_pred: InputLike, *, log_target: bool = False
) -> jax.Array:
  """KL divergence in PyTorch's form (``torch.nn.KLDivLoss``), summed over
  the last axis.

  ``y_pred`` holds log-probabilities ``log q`` (PyTorch's ``input``) and
  ``y_true`` the targets ``t`` (probabilities, or log-probabilities with
  ``log_target=True``). PyTorch 2.13's point-wise terms::

    log_target=False:  xlogy(t, t) - t * log q      (0 log 0 = 0)
    log_target=True:   exp(t) * (t - log q)

  summed over the last axis (one value per sample; a scalar input is one
  term). So the gradient with respect to ``log q`` is ``-t`` (``-exp(t)``),
  also where ``t = 0``, and a negative target gives NaN, as in PyTorch.
  PyTorch's ``reduction="batchmean"`` is the loss object's default
  reduction on ``[N, C]`` inputs, ``"sum"`` is ``"sum"``; its ``"mean"``
  divides the sum by the number of elements (``"sum_over_batch_size"``
  divided by ``C``). Unlike :func:`kl_divergence` (Keras's form on
  probabilities) nothing is clipped.

  Args:
    y_true: targets ``[..., K]`` (or a scalar).
    y_pred: log-probabilities ``[..., K]``, the same shape.
    log_target: whether ``y_true`` holds log-probabilities.

  Returns:
    ``[...]``: the sum of the terms over the last axis.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> jaxloss.kl_div([[0.5, 0.5]], jnp.log(jnp.array([[0.25, 0.75]])))
    Array([0.14384103], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.functional.kl_div`` (the values in the tests).
  """
  caller = "kl_div"
  validation.flag(caller, "log_target", log_target)
  t, log_q, dt = shapes.elementwise_inputs(caller, y_true, y_pred)
  if log_target:
    terms = jnp.exp(t) * (t - log_q)
  else:
    terms = numerics.xlogy(t, t) - t * log_q
  if terms.ndim:
    terms = jnp.sum(terms, axis=-1)
  return terms.astype(dt)


# Keras's name for the ignored label stays accepted, with a warning.
SparseCategoricalCrossentropy.__init__ = validation.deprecated_alias(
  {"ignore_class": "ignore_index"}, caller="SparseCategoricalCrossentropy"
)(SparseCategoricalCrossentropy.__init__)


class CategoricalGeneralizedCrossEntropy(
  Loss, fn=categorical_generalized_cross_entropy
):
  """Loss object for :func:`jaxloss.categorical_generalized_cross_entropy`."""

  q: float | jax.Array = 0.5


class Poisson(Loss, fn=poisson):
  """Loss object for :func:`jaxloss.poisson`."""


class KLDivergence(
  Loss, fn=kl_divergence, aliases=("kld", "KLD", "kullback_leibler_divergence")
):
  """Loss object for :func:`jaxloss.kl_divergence`."""


class KLDiv(Loss, fn=kl_div):
  """Loss object for :func:`jaxloss.kl_div`."""

  log_target: bool = False
