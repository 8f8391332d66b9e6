"""Drop-ins for ``optax.losses`` (optax 0.2.8), built on jaxloss's kernels.

Every function has optax's name, positional order, keywords and defaults,
and returns optax's values and gradients; optax is not imported. Like
optax, these return *unreduced* values of optax's shapes (a few, such as
``ntxent`` and ``multiclass_generalized_dice_loss``, return a scalar, as
optax does).

Differences, all at inputs where optax gives NaN/inf or raises needlessly:

* Fully masked slices (``where`` all False) give finite values and finite
  (zero) gradients; optax's gradients there are NaN.
* ``0 * log 0`` terms are 0 with finite gradients (``kl_divergence`` at zero
  targets, ``kl_divergence_with_log_targets`` at ``-inf`` log-targets).
* ``cosine_similarity``/``cosine_distance`` of a zero vector with
  ``epsilon=0`` give similarity 0 (optax: NaN); ``ntxent`` with no positive
  pair gives 0 (optax: NaN).
* ``triplet_margin_loss`` takes an extra keyword-only ``absolute_difference``
  (default False, optax's formula) that measures ``|a - p|`` for a true
  p-norm: optax's ``norm_degree=1`` distance has no absolute value, so it
  can be negative.
* ``binary_dice_loss(apply_sigmoid=False)`` and ``dice_loss`` with a single
  channel and ``apply_softmax=False`` accept probabilities: optax checks
  that they sum to 1 over a class axis of size 1 and so rejects any
  probability other than 1. ``dice_loss``'s check for several classes runs
  only on concrete (not traced) inputs.
* ``dice_loss``, ``binary_dice_loss`` and
  ``multiclass_generalized_dice_loss`` take an extra keyword-only
  ``ignore_index`` (default None: optax's behaviour): target entries equal
  to it are left out of every soft count, as in :func:`jaxloss.dice`.
  ``dice_loss`` and ``binary_dice_loss`` also take ``zero_absent_classes``
  (default False): a class whose targets sum to 0 over ``axis`` gets loss
  0 (segmentation-models-pytorch's rule).
* ``multiclass_sparsemax_loss`` accepts any number of leading axes.
* Half-precision inputs are computed in float32 and returned in their dtype.

Examples:
  >>> import jax.numpy as jnp
  >>> from jaxloss import optax as losses
  >>> losses.softmax_cross_entropy_with_integer_labels(
  ...     jnp.array([[2.0, 0.0, 0.0]]), jnp.array([0])).round(4)
  Array([0.2395], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast
import warnings

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses import embedding as _embedding
from jaxloss._src.losses import hinge as _hinge
from jaxloss._src.losses import overlap as _overlap
from jaxloss._src.losses import sequence as _sequence
from jaxloss._src.losses import softmax as _softmax
from jaxloss._src.losses import sparsemax as _sparsemax
from jaxloss._src.losses.crossentropy import binary_terms
from jaxloss._src.losses.regression import huber_elementwise
from jaxloss._src.losses.regression import log_cosh_elementwise
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

__all__ = [
  "binary_dice_loss",
  "convex_kl_divergence",
  "cosine_distance",
  "cosine_similarity",
  "ctc_loss",
  "ctc_loss_with_forward_probs",
  "dice_loss",
  "generalized_kl_divergence",
  "hinge_loss",
  "huber_loss",
  "kl_divergence",
  "kl_divergence_with_log_targets",
  "l2_loss",
  "log_cosh",
  "make_fenchel_young_loss",
  "multiclass_generalized_dice_loss",
  "multiclass_hinge_loss",
  "multiclass_perceptron_loss",
  "multiclass_sparsemax_loss",
  "ntxent",
  "perceptron_loss",
  "poly_loss_cross_entropy",
  "ranking_softmax_loss",
  "safe_softmax_cross_entropy",
  "sigmoid_binary_cross_entropy",
  "sigmoid_focal_loss",
  "smooth_labels",
  "softmax_cross_entropy",
  "softmax_cross_entropy_with_integer_labels",
  "sparsemax_loss",
  "squared_error",
  "triplet_margin_loss",
]


# ----------------------------------------------------------------- helpers


def _float(caller, name, x):
  """A floating input in its compute dtype, and the dtype to return."""
  x = numerics.as_float(caller, name, x)
  return x.astype(numerics.compute_dtype(x.dtype)), x.dtype


def _scores_and(caller, scores, other, name_scores, name_other, cast=True):
  """``(scores, other, out_dtype)``: ``other`` broadcast to the scores."""
  s, dt = _float(caller, name_scores, scores)
  o = numerics.as_array(caller, name_other, other)
  if cast:
    o = o.astype(s.dtype)
  return s, shapes.broadcast_to(caller, name_other, o, s.shape), dt


def _same_shape_pair(caller, predictions, targets, names):
  """Two floating inputs of the same shape, in one compute dtype."""
  (p, t), dt = numerics.floats(
    caller, **{names[0]: predictions, names[1]: targets}
  )
  shapes.check_same_shape(caller, **{names[0]: p, names[1]: t})
  return p, t, dt


def _error(caller, predictions, targets):
  """``predictions - targets`` (or ``predictions``), in the compute dtype."""
  if targets is None:
    p, dt = _float(caller, "predictions", predictions)
    return p, dt
  p, dt = _float(caller, "predictions", predictions)
  t = numerics.as_array(caller, "targets", targets).astype(p.dtype)
  t = shapes.broadcast_to(caller, "targets", t, p.shape)
  return p - t, dt


def _int_labels(caller, labels):
  labels = numerics.as_array(caller, "labels", labels)
  validation.integer_dtype(caller, "labels", labels)
  return labels


def _class_labels(caller, scores, labels):
  """Scores ``[..., K]`` and integer labels ``[...]``."""
  s, dt = _float(caller, "scores", scores)
  shapes.check_min_rank(caller, "scores", s, 1)
  y = _int_labels(caller, labels)
  if y.shape != s.shape[:-1]:
    raise ValueError(
      f"{caller}: labels must have the shape of scores without the class "
      f"axis {tuple(s.shape[:-1])}, got labels.shape={tuple(y.shape)}"
    )
  return s, y, dt


# ------------------------------------------------------------ classification


@scoped
def sigmoid_binary_cross_entropy(
  logits: InputLike, labels: InputLike
) -> jax.Array:
  """Element-wise sigmoid cross-entropy from logits.

  ``loss = -y log sigmoid(z) - (1 - y) log sigmoid(-z)``, computed as
  ``max(z, 0) - y z + log1p(exp(-|z|))``.

  Args:
    logits: logits ``[...]``.
    labels: targets in [0, 1], broadcastable to ``logits``.

  Returns:
    Losses of the shape of ``logits``.

  Raises:
    TypeError: for non-floating logits.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.sigmoid_binary_cross_entropy([0.0, 2.0], [1.0, 0.0]).round(4)
    Array([0.6931, 2.1269], dtype=float32)

  References:
    Goodfellow et al., Deep Learning, 2016, sec. 3.10.
  """
  caller = "sigmoid_binary_cross_entropy"
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  bce, _ = binary_terms(y, z, True)
  return bce.astype(dt)


@scoped
def sigmoid_focal_loss(
  logits: InputLike,
  labels: InputLike,
  *,
  alpha: float | jax.Array | None = None,
  gamma: float | jax.Array = 2.0,
) -> jax.Array:
  """Element-wise sigmoid focal loss (Lin et al. 2017, eq. 5).

  ``loss = a_t (1 - p_t)^gamma * BCE(z, y)`` with ``1 - p_t = y sigmoid(-z)
  + (1 - y) sigmoid(z)`` and ``a_t = alpha y + (1 - alpha)(1 - y)`` (1 when
  ``alpha`` is None). Labels may be soft, in [0, 1].

  Args:
    logits: logits ``[...]``.
    labels: targets broadcastable to ``logits``.
    alpha: optional positive-class weight in (0, 1).
    gamma: focusing exponent, ``>= 0``.

  Returns:
    Focal losses of the shape of ``logits``.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.sigmoid_focal_loss([0.0, 2.0], [1.0, 1.0]).round(4)
    Array([0.1733, 0.0018], dtype=float32)

  References:
    Lin et al., Focal Loss for Dense Object Detection, 2017.
  """
  caller = "sigmoid_focal_loss"
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  bce, one_minus_pt = binary_terms(y, z, True)
  loss = numerics.safe_pow(one_minus_pt, gamma) * bce
  if alpha is not None:
    loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
  return loss.astype(dt)


@scoped
def hinge_loss(predictor_outputs: InputLike, targets: InputLike) -> jax.Array:
  """Element-wise binary hinge loss: ``max(0, 1 - f * y)``, ``y`` in {-1, 1}.

  Args:
    predictor_outputs: scores ``[...]``.
    targets: labels in {-1, 1}, broadcastable to the scores.

  Returns:
    Losses of the broadcast shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.hinge_loss([0.5, -2.0], [1.0, -1.0])
    Array([0.5, 0. ], dtype=float32)

  References:
    Cortes & Vapnik, Support-Vector Networks, 1995.
  """
  caller = "hinge_loss"
  f, y, dt = _scores_and(
    caller, predictor_outputs, targets, "predictor_outputs", "targets"
  )
  return _hinge.binary_hinge(y, f).astype(dt)


@scoped
def perceptron_loss(
  predictor_outputs: InputLike, targets: InputLike
) -> jax.Array:
  """Element-wise binary perceptron loss: ``max(0, -f * y)``.

  Args:
    predictor_outputs: scores ``[...]``.
    targets: labels in {-1, 1}, same shape.

  Returns:
    Losses of the same shape.

  Raises:
    ValueError: if ``predictor_outputs`` and ``targets`` differ in shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.perceptron_loss([0.5, -2.0], [-1.0, -1.0])
    Array([0.5, 0. ], dtype=float32)

  References:
    Rosenblatt, The Perceptron, 1958.
  """
  caller = "perceptron_loss"
  f, y, dt = _same_shape_pair(
    caller, predictor_outputs, targets, ("predictor_outputs", "targets")
  )
  return _hinge.binary_perceptron(y, f).astype(dt)


@scoped
def sparsemax_loss(logits: InputLike, labels: InputLike) -> jax.Array:
  """Element-wise binary sparsemax loss (Blondel et al. 2020, sec. 4.4).

  ``loss = sparse_plus(-z)`` where the label is truthy, else
  ``sparse_plus(z)``; ``sparse_plus(x)`` is 0 for ``x <= -1``,
  ``(x + 1)^2 / 4`` for ``|x| < 1`` and ``x`` for ``x >= 1``. It is 0 iff
  ``sparse_sigmoid(z)`` equals the label.

  Args:
    logits: scores ``[...]``.
    labels: labels in {0, 1}, broadcastable to ``logits``.

  Returns:
    Losses of the shape of ``logits``.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.sparsemax_loss([0.0, 2.0], [1, 0])
    Array([0.25, 2.  ], dtype=float32)

  References:
    Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, 2020.
  """
  caller = "sparsemax_loss"
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels", cast=False)
  return _sparsemax.binary_sparsemax_loss(y, z).astype(dt)


@domains.declare(class_ids=domains.ClassIds("labels", "scores"))
@scoped
def multiclass_sparsemax_loss(
  scores: InputLike, labels: InputLike
) -> jax.Array:
  """Multiclass sparsemax loss (Martins & Astudillo 2016, eq. 21).

  ``loss = <p, z - z_y> + (1 - ||p||^2) / 2`` with ``p = sparsemax(z)`` the
  Euclidean projection of ``z`` on the simplex; its gradient is
  ``p - onehot(y)``.

  Args:
    scores: scores ``[..., K]`` (optax: ``[B, K]``).
    labels: integer labels ``[...]``.

  Returns:
    ``[...]`` sparsemax losses, 0 where ``sparsemax(z)`` is the one-hot.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.multiclass_sparsemax_loss([[1.0, 0.0, -1.0]], [1]).round(4)
    Array([1.], dtype=float32)

  References:
    Martins & Astudillo, From Softmax to Sparsemax, 2016.
  """
  caller = "multiclass_sparsemax_loss"
  s, y, dt = _class_labels(caller, scores, labels)
  return _sparsemax.multiclass_sparsemax_loss(y, s).astype(dt)


@domains.declare(class_ids=domains.ClassIds("labels", "scores"))
@scoped
def multiclass_hinge_loss(scores: InputLike, labels: InputLike) -> jax.Array:
  """Crammer-Singer multiclass hinge: ``max_k(z_k + 1 - [k = y]) - z_y``.

  Args:
    scores: class scores ``z``, ``[..., K]``.
    labels: integer labels ``y``, ``[...]``.

  Returns:
    ``[...]`` hinge losses, 0 once ``z_y`` leads every other score by 1.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.multiclass_hinge_loss([[2.0, 1.5, 0.0]], [0])
    Array([0.5], dtype=float32)

  References:
    Crammer & Singer, On the Algorithmic Implementation of Multiclass
    Kernel-based Vector Machines, 2001.
  """
  caller = "multiclass_hinge_loss"
  s, y, dt = _class_labels(caller, scores, labels)
  return _hinge.multiclass_hinge(y, s).astype(dt)


@domains.declare(class_ids=domains.ClassIds("labels", "scores"))
@scoped
def multiclass_perceptron_loss(
  scores: InputLike, labels: InputLike
) -> jax.Array:
  """Multiclass perceptron loss: ``max_k z_k - z_y``.

  Args:
    scores: ``[..., K]``.
    labels: ``[...]`` integers in ``[0, K)``.

  Returns:
    ``[...]`` perceptron losses, 0 when the label's score is a maximum.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.multiclass_perceptron_loss([[2.0, 1.5, 0.0]], [1])
    Array([0.5], dtype=float32)

  References:
    Collins, Discriminative Training Methods for Hidden Markov Models, 2002.
  """
  caller = "multiclass_perceptron_loss"
  s, y, dt = _class_labels(caller, scores, labels)
  return _hinge.multiclass_perceptron(y, s).astype(dt)


@scoped
def safe_softmax_cross_entropy(
  logits: InputLike, labels: InputLike
) -> jax.Array:
  """Softmax cross-entropy with the convention ``0 * log 0 = 0``.

  ``loss = -sum(y * log_softmax(z))`` over the last axis, where a term with
  ``y = 0`` and ``z = -inf`` is 0 (with finite gradients).

  Args:
    logits: logits ``[..., K]``, possibly ``-inf``.
    labels: distributions broadcastable to ``logits``.

  Returns:
    ``[...]`` losses.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.safe_softmax_cross_entropy(
    ...     jnp.array([[0.0, -jnp.inf]]), jnp.array([[1.0, 0.0]]))
    Array([0.], dtype=float32)

  References:
    Goodfellow et al., Deep Learning, 2016, sec. 6.2.2.3.
  """
  caller = "safe_softmax_cross_entropy"
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  return _softmax.safe_softmax_cross_entropy(y, z).astype(dt)


@scoped
def softmax_cross_entropy(
  logits: InputLike,
  labels: InputLike,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Softmax cross-entropy with dense (one-hot or soft) labels.

  ``loss = -sum_{k in where} y_k log softmax_where(z)_k`` along ``axis``
  (an int, a tuple, or None for all axes); the softmax normalises over the
  unmasked entries only. A fully masked slice gives 0.

  Args:
    logits: logits ``[..., K]``.
    labels: distributions broadcastable to ``logits``.
    axis: the class axis or axes.
    where: optional include-mask of ``logits``' shape, or of the batch shape
      (then ``axis`` is inserted).

  Returns:
    Losses of ``logits``' shape without ``axis``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.softmax_cross_entropy(jnp.array([[1.2, -0.8, -0.5]]),
    ...                              jnp.array([[1.0, 0.0, 0.0]])).round(4)
    Array([0.2761], dtype=float32)

  References:
    Bishop, Pattern Recognition and Machine Learning, 2006, eq. 4.108.
  """
  caller = "softmax_cross_entropy"
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  ax = shapes.optional_axes(caller, axis, z.ndim)
  mask = shapes.include_mask(caller, where, z.shape, axis=ax)
  return _softmax.softmax_cross_entropy(y, z, ax, mask).astype(dt)


@domains.declare(class_ids=domains.ClassIds("labels", "logits", axis="axis"))
@scoped
def softmax_cross_entropy_with_integer_labels(
  logits: InputLike,
  labels: InputLike,
  axis: int | tuple[int, ...] = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Softmax cross-entropy with integer labels.

  ``loss = logsumexp_where(z) - z[label]`` along ``axis``. A tuple ``axis``
  flattens those axes (in order) into one class axis, and a label is a flat
  index into it. A row with no unmasked class gives 0.

  Args:
    logits: logits ``[..., K]``.
    labels: integer labels, ``logits``' shape without ``axis``.
    axis: the class axis (int) or axes (tuple).
    where: optional include-mask, ``logits``' shape or the labels' shape.

  Returns:
    Losses of the labels' shape.

  Raises:
    TypeError: for non-integer labels.
    ValueError: for an ``axis`` that is neither an int nor a tuple.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.softmax_cross_entropy_with_integer_labels(
    ...     jnp.array([[1.2, -0.8, -0.5]]), jnp.array([0])).round(4)
    Array([0.2761], dtype=float32)

  References:
    Bishop, Pattern Recognition and Machine Learning, 2006, eq. 4.108.
  """
  caller = "softmax_cross_entropy_with_integer_labels"
  z, dt = _float(caller, "logits", logits)
  y = _int_labels(caller, labels)
  if isinstance(axis, bool) or not isinstance(axis, (int, tuple)):
    raise ValueError(
      f"{caller}: axis must be an int or a tuple of ints, got {axis!r}"
    )
  ax = shapes.optional_axes(caller, axis, z.ndim)
  mask = shapes.include_mask(caller, where, z.shape, axis=ax)
  z, mask = shapes.flatten_class_axes(caller, z, axis, mask)
  if y.shape != z.shape[:-1]:
    raise ValueError(
      f"{caller}: labels must have the shape of logits without axis "
      f"{tuple(z.shape[:-1])}, got labels.shape={tuple(y.shape)}"
    )
  return _softmax.softmax_cross_entropy_sparse(y, z, mask).astype(dt)


@scoped
def poly_loss_cross_entropy(
  logits: InputLike,
  labels: InputLike,
  *,
  epsilon: float | jax.Array = 2.0,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Poly-1 loss (Leng et al. 2022, eq. 3).

  ``loss = CE(z, y) + epsilon * sum(y * (1 - softmax(z)))`` along ``axis``
  (softmax and sums over the unmasked entries).

  Args:
    logits: logits ``[..., K]``.
    labels: floating distributions broadcastable to ``logits``.
    epsilon: coefficient of the first polynomial term.
    axis: the class axis or axes (None for all).
    where: optional include-mask.

  Returns:
    Losses of ``logits``' shape without ``axis``.

  Raises:
    TypeError: for non-floating logits or labels.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.poly_loss_cross_entropy(jnp.array([[0.0, 0.0]]),
    ...                                jnp.array([[1.0, 0.0]])).round(4)
    Array([1.6931], dtype=float32)

  References:
    Leng et al., PolyLoss: A Polynomial Expansion Perspective of
    Classification Loss Functions, 2022.
  """
  caller = "poly_loss_cross_entropy"
  numerics.as_float(caller, "labels", labels)
  z, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  ax = shapes.optional_axes(caller, axis, z.ndim)
  mask = shapes.include_mask(caller, where, z.shape, axis=ax)
  return _softmax.poly1_cross_entropy(y, z, epsilon, ax, mask).astype(dt)


def _divergence(
  caller, kernel, log_predictions, second, second_name, axis, where
):
  """``kernel(second, log_predictions, axes, mask)`` on the two inputs
  broadcast to one shape, in their compute dtype."""
  names = ("log_predictions", second_name)
  (lq, b), dt = numerics.floats(
    caller, **dict(zip(names, (log_predictions, second)))
  )
  shape = jnp.broadcast_shapes(lq.shape, b.shape)
  lq = shapes.broadcast_to(caller, names[0], lq, shape, to="the inputs")
  b = shapes.broadcast_to(caller, names[1], b, shape, to="the inputs")
  ax = shapes.optional_axes(caller, axis, len(shape))
  mask = shapes.include_mask(caller, where, shape)
  return kernel(b, lq, ax, mask).astype(dt)


@scoped
def kl_divergence(
  log_predictions: InputLike,
  targets: InputLike,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Kullback-Leibler divergence ``KL(t || q)`` from log-predictions.

  ``loss = sum(t (log t - log q))`` along ``axis``, with ``0 log 0 = 0``.

  Args:
    log_predictions: ``log q``, ``[..., K]``.
    targets: ``t``, non-negative, same shape.
    axis: axis or axes (None for all).
    where: optional include-mask.

  Returns:
    Divergences of the inputs' shape without ``axis``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.kl_divergence(jnp.log(jnp.array([0.25, 0.75])),
    ...                      jnp.array([0.5, 0.5])).round(4)
    Array(0.1438, dtype=float32)

  References:
    Kullback & Leibler, On Information and Sufficiency, 1951.
  """
  kernel = _softmax.kl_from_log_predictions
  return _divergence(
    "kl_divergence", kernel, log_predictions, targets, "targets", axis, where
  )


@scoped
def kl_divergence_with_log_targets(
  log_predictions: InputLike,
  log_targets: InputLike,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """KL divergence with both distributions in log space.

  ``loss = sum(exp(log t) (log t - log q))`` along ``axis``; ``log t = -inf``
  terms are 0.

  Args:
    log_predictions: ``log q``, ``[..., K]``.
    log_targets: ``log t``, same shape.
    axis: axis or axes (None for all).
    where: optional include-mask.

  Returns:
    ``KL(t || q)`` per slice: the inputs' shape without ``axis``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.kl_divergence_with_log_targets(
    ...     jnp.log(jnp.array([0.25, 0.75])),
    ...     jnp.log(jnp.array([0.5, 0.5]))).round(4)
    Array(0.1438, dtype=float32)

  References:
    Kullback & Leibler, On Information and Sufficiency, 1951.
  """
  caller = "kl_divergence_with_log_targets"
  kernel = _softmax.kl_from_log_targets
  return _divergence(
    caller, kernel, log_predictions, log_targets, "log_targets", axis, where
  )


@scoped
def generalized_kl_divergence(
  log_predictions: InputLike,
  targets: InputLike,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Generalised KL divergence of unnormalised distributions.

  ``loss = sum(t (log t - log q) + q - t)`` along ``axis``: the Bregman
  divergence of ``x log x - x``.

  Args:
    log_predictions: ``log q``, ``[..., K]``, ``q`` of any total mass.
    targets: ``t``, non-negative (need not sum to 1), same shape.
    axis: axis or axes (None for all).
    where: optional include-mask.

  Returns:
    Generalised divergences, ``>= 0``, the inputs' shape without ``axis``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.generalized_kl_divergence(jnp.log(jnp.array([1.0, 2.0])),
    ...                                  jnp.array([1.0, 2.0]))
    Array(0., dtype=float32)

  References:
    Boyd & Vandenberghe, Convex Optimization, 2004, p. 90.
  """
  return _divergence(
    "generalized_kl_divergence",
    _softmax.generalized_kl,
    log_predictions,
    targets,
    "targets",
    axis,
    where,
  )


@scoped
def convex_kl_divergence(
  log_predictions: InputLike,
  targets: InputLike,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Deprecated alias of :func:`generalized_kl_divergence` (as in optax).

  Emits a ``DeprecationWarning``, like optax.

  Examples:
    >>> import warnings
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> with warnings.catch_warnings():
    ...   warnings.simplefilter("ignore")
    ...   losses.convex_kl_divergence(jnp.zeros(2), jnp.ones(2))
    Array(0., dtype=float32)
  """
  warnings.warn(
    "The function convex_kl_divergence is deprecated. Please use "
    "generalized_kl_divergence instead.",
    DeprecationWarning,
    stacklevel=3,
  )
  return generalized_kl_divergence(
    log_predictions, targets, axis=axis, where=where
  )


@scoped
def ctc_loss_with_forward_probs(
  logits: InputLike,
  logit_paddings: InputLike,
  labels: InputLike,
  label_paddings: InputLike,
  *,
  blank_id: int = 0,
  log_epsilon: float | jax.Array = -1e5,
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """CTC loss (Graves et al. 2006) and the forward log-probabilities.

  Runs the forward recursion of the extended label sequence (see
  ``jaxloss``'s CTC) over the unpadded frames. ``logalpha_blank[t, b, n]``
  is the log-probability of having emitted ``n`` labels with a blank at
  frame ``t``, ``logalpha_nonblank[t, b, n]`` that of emitting label ``n``
  at frame ``t``; at the last frame the blank row also holds the paths that
  end in label ``n - 1``, so ``loss = -logalpha_blank[-1, b, N_b]``.
  ``log_epsilon`` stands in for ``log 0``: impossible alignments give a large
  finite loss. States that no alignment reaches hold values near
  ``log_epsilon`` (their exact values differ from optax's).

  Args:
    logits: ``[B, T, K]`` logits.
    logit_paddings: ``[B, T]``, 1.0 for padded frames.
    labels: ``[B, N]`` integer labels.
    label_paddings: ``[B, N]``, 1.0 for padded labels (right-padded).
    blank_id: the blank class.
    log_epsilon: the finite stand-in for ``log 0``.

  Returns:
    ``(loss [B], logalpha_blank [T, B, N + 1], logalpha_nonblank [T, B, N])``.

  Raises:
    ValueError: for wrong ranks or mismatched shapes.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> loss, phi, emit = losses.ctc_loss_with_forward_probs(
    ...     jnp.zeros((1, 2, 3)), jnp.zeros((1, 2)), jnp.array([[1]]),
    ...     jnp.zeros((1, 1)))
    >>> loss.round(4), phi.shape, emit.shape
    (Array([1.0986], dtype=float32), (2, 1, 2), (2, 1, 1))

  References:
    Graves et al., Connectionist Temporal Classification, 2006.
  """
  return _sequence.ctc_with_paddings(
    "ctc_loss_with_forward_probs",
    logits,
    logit_paddings,
    labels,
    label_paddings,
    blank=blank_id,
    log_zero=log_epsilon,
  )


@scoped
def ctc_loss(
  logits: InputLike,
  logit_paddings: InputLike,
  labels: InputLike,
  label_paddings: InputLike,
  *,
  blank_id: int = 0,
  log_epsilon: float | jax.Array = -1e5,
) -> jax.Array:
  """CTC loss (Graves et al. 2006); see :func:`ctc_loss_with_forward_probs`.

  ``loss = -log sum over alignments of prod_t softmax(logits)[t, pi_t]``.

  Args:
    logits: ``[B, T, K]`` logits.
    logit_paddings: ``[B, T]``, 1.0 for padded frames.
    labels: ``[B, N]`` integer labels.
    label_paddings: ``[B, N]``, 1.0 for padded labels.
    blank_id: the blank class.
    log_epsilon: the finite stand-in for ``log 0``.

  Returns:
    ``[B]`` negative log-likelihoods ``-log p(labels | logits)``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.ctc_loss(jnp.zeros((1, 2, 3)), jnp.zeros((1, 2)),
    ...                 jnp.array([[1]]), jnp.zeros((1, 1))).round(4)
    Array([1.0986], dtype=float32)

  References:
    Graves et al., Connectionist Temporal Classification, 2006.
  """
  loss, _, _ = ctc_loss_with_forward_probs(
    logits,
    logit_paddings,
    labels,
    label_paddings,
    blank_id=blank_id,
    log_epsilon=log_epsilon,
  )
  return loss


# ---------------------------------------------------------------- regression


@scoped
def squared_error(
  predictions: InputLike, targets: InputLike | None = None
) -> jax.Array:
  """Element-wise squared error ``(predictions - targets)^2``.

  Args:
    predictions: ``[...]``.
    targets: same shape, or None (zeros).

  Returns:
    Errors of ``predictions``' shape.

  Raises:
    ValueError: if the shapes differ.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.squared_error([1.0, 2.0], [0.0, 0.0])
    Array([1., 4.], dtype=float32)
  """
  caller = "squared_error"
  if targets is None:
    e, dt = _float(caller, "predictions", predictions)
  else:
    p, dt = _float(caller, "predictions", predictions)
    t = numerics.as_array(caller, "targets", targets).astype(p.dtype)
    shapes.check_same_shape(caller, predictions=p, targets=t)
    e = p - t
  return jnp.square(e).astype(dt)


@scoped
def l2_loss(
  predictions: InputLike, targets: InputLike | None = None
) -> jax.Array:
  """Element-wise ``0.5 * (predictions - targets)^2``.

  Args:
    predictions: any shape; the residual itself when ``targets`` is None.
    targets: ``predictions``' shape, or None.

  Returns:
    Half squared errors, ``predictions``' shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.l2_loss([1.0, 2.0])
    Array([0.5, 2. ], dtype=float32)
  """
  return 0.5 * squared_error(predictions, targets)


@scoped
def huber_loss(
  predictions: InputLike,
  targets: InputLike | None = None,
  *,
  delta: float | jax.Array = 1.0,
) -> jax.Array:
  """Element-wise Huber loss (Huber 1964).

  With ``e = predictions - targets``: ``0.5 e^2`` if ``|e| <= delta``, else
  ``delta |e| - 0.5 delta^2``.

  Args:
    predictions: ``[...]``.
    targets: broadcastable to ``predictions``, or None (zeros).
    delta: the switch point.

  Returns:
    Huber losses of ``predictions``' shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.huber_loss([0.5, 3.0])
    Array([0.125, 2.5  ], dtype=float32)

  References:
    Huber, Robust Estimation of a Location Parameter, 1964.
  """
  e, dt = _error("huber_loss", predictions, targets)
  return huber_elementwise(e, delta).astype(dt)


@scoped
def log_cosh(
  predictions: InputLike, targets: InputLike | None = None
) -> jax.Array:
  """Element-wise ``log(cosh(predictions - targets))``, overflow-free.

  Args:
    predictions: ``[...]``.
    targets: broadcastable to ``predictions``, or None (zeros).

  Returns:
    ``log cosh`` of the errors, ``predictions``' shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> tuple(round(float(v), 4) for v in losses.log_cosh([1.0, -3.0]))
    (0.4338, 2.3093)

  References:
    Chen et al., Log Hyperbolic Cosine Loss Improves Variational
    Auto-Encoder, 2019.
  """
  e, dt = _error("log_cosh", predictions, targets)
  return log_cosh_elementwise(e).astype(dt)


@scoped
def cosine_similarity(
  predictions: InputLike,
  targets: InputLike,
  *,
  epsilon: float = 0.0,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Cosine similarity along ``axis``.

  ``cos = sum(a b) / (sqrt(max(sum a^2, eps)) sqrt(max(sum b^2, eps)))``
  over the unmasked entries; a zero vector with ``eps = 0`` gives 0.

  Args:
    predictions: ``[..., d]``.
    targets: same shape.
    epsilon: lower clip of the squared norms.
    axis: axis or axes (None for all).
    where: optional include-mask.

  Returns:
    Similarities of the inputs' shape without ``axis``.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.cosine_similarity([[1.0, 0.0], [1.0, 1.0]],
    ...                          [[0.0, 2.0], [2.0, 2.0]]).round(4)
    Array([0., 1.], dtype=float32)

  References:
    Salton & McGill, Introduction to Modern Information Retrieval, 1983.
  """
  caller = "cosine_similarity"
  p, t, dt = _same_shape_pair(
    caller, predictions, targets, ("predictions", "targets")
  )
  ax = shapes.optional_axes(caller, axis, p.ndim)
  mask = shapes.include_mask(caller, where, p.shape)
  return _embedding.clipped_cosine(p, t, ax, epsilon, mask).astype(dt)


@scoped
def cosine_distance(
  predictions: InputLike,
  targets: InputLike,
  *,
  epsilon: float = 0.0,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Cosine distance ``1 - cosine_similarity`` along ``axis``.

  The arguments are those of :func:`cosine_similarity`.

  Returns:
    Distances of the inputs' shape without ``axis``.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.cosine_distance([[1.0, 0.0]], [[0.0, 2.0]])
    Array([1.], dtype=float32)
  """
  return 1.0 - cosine_similarity(
    predictions, targets, epsilon=epsilon, axis=axis, where=where
  )


# --------------------------------------------------------------- segmentation


def _dice(caller, predictions, targets, apply_softmax, ignore_background, **kw):
  p, t, dt = _overlap.class_probabilities(
    caller, predictions, targets, apply_softmax
  )
  mask = _overlap.without_background(p.shape[-1], ignore_background)
  return _overlap.per_class_tversky(caller, t, p, class_mask=mask, **kw), dt


@scoped
def dice_loss(
  predictions: InputLike,
  targets: InputLike,
  *,
  class_weights: InputLike | None = None,
  smooth: float | jax.Array = 1.0,
  alpha: float | jax.Array = 0.5,
  beta: float | jax.Array = 0.5,
  apply_softmax: bool = True,
  reduction: str = "mean",
  ignore_background: bool = False,
  axis: int | tuple[int, ...] | None = None,
  ignore_index: float | None = None,
  zero_absent_classes: bool = False,
) -> jax.Array:
  """Soft Dice / Tversky loss per class (Milletari et al. 2016).

  With probabilities ``p`` (softmax over the last axis, or a sigmoid for a
  single channel, when ``apply_softmax``) and targets ``t``, per class:
  ``1 - (tp + s) / (tp + alpha fp + beta fn + s)`` with ``tp = sum(p t)``,
  ``fp = sum(p (1 - t))``, ``fn = sum((1 - p) t)`` over ``axis`` (default:
  every axis but the first and last), times ``class_weights``; then reduced
  over classes. Entries where ``t == ignore_index`` are left out of the
  sums (after the softmax); with ``zero_absent_classes`` a class whose
  ``sum(t)`` over ``axis`` is 0 gets loss 0, still counted by the class
  reduction.

  Args:
    predictions: logits (or probabilities) ``[B, ..., C]``, or ``[B, ...]``.
    targets: one-hot targets of the same shape.
    class_weights: optional ``[C]`` weights.
    smooth: additive smoothing ``s``.
    alpha: weight of false positives.
    beta: weight of false negatives.
    apply_softmax: whether ``predictions`` are logits.
    reduction: "mean", "sum" or "none" over classes.
    ignore_background: drop class 0 (when ``C > 1``).
    axis: axes summed over.
    ignore_index: a target value whose entries count nowhere (not in
      optax; ``None``: none). For a pixel to be ignored, set all ``C``
      entries of its target to it.
    zero_absent_classes: loss 0 for a class absent from the targets over
      ``axis`` (not in optax). ``axis=(0, 1, 2)`` on ``[B, H, W, C]`` pools
      the batch into one value per class and reduces the classes, as
      segmentation-models-pytorch 0.6's multi-class ``DiceLoss`` (the same
      ``smooth``; the default axes give its value for each image alone).

  Returns:
    ``[B]`` losses (``[B, C]`` for "none"; a class-reduced scalar, or
    ``[C]``, when ``axis`` includes the batch axis).

  Raises:
    ValueError: for mismatched shapes, an unknown reduction, or (eagerly)
      probabilities that do not sum to 1 over several classes.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.dice_loss(jnp.array([[[9.0, -9.0], [-9.0, 9.0]]]),
    ...                  jnp.array([[[1.0, 0.0], [0.0, 1.0]]])).round(4)
    Array([0.], dtype=float32)

  References:
    Milletari et al., V-Net, 2016; Salehi et al., Tversky Loss, 2017.
  """
  values, dt = _dice(
    "dice_loss",
    predictions,
    targets,
    apply_softmax,
    ignore_background,
    smooth=smooth,
    alpha=alpha,
    beta=beta,
    axis=axis,
    class_weights=class_weights,
    reduction=reduction,
    ignore_index=ignore_index,
    zero_absent_classes=zero_absent_classes,
  )
  return values.astype(dt)


@scoped
def multiclass_generalized_dice_loss(
  predictions: InputLike,
  targets: InputLike,
  *,
  smooth: float | jax.Array = 1.0,
  apply_softmax: bool = True,
  ignore_background: bool = False,
  ignore_index: float | None = None,
) -> jax.Array:
  """Generalised Dice loss (Sudre et al. 2017): a scalar.

  Class weights ``w_c = 1 / (n_c^2 + 1e-7)`` (``n_c`` the target mass of
  class ``c``), rescaled to sum to ``C``; the loss is the mean over batch
  and classes of ``w_c * dice_c`` (see :func:`dice_loss`). Entries where
  the target is ``ignore_index`` count neither in ``n_c`` nor in the soft
  counts.

  Args:
    predictions: logits (or probabilities) ``[B, ..., C]``.
    targets: one-hot targets, same shape.
    smooth: additive smoothing.
    apply_softmax: whether ``predictions`` are logits.
    ignore_background: drop class 0.
    ignore_index: a target value whose entries count nowhere (not in
      optax; ``None``: none).

  Returns:
    A scalar.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.multiclass_generalized_dice_loss(
    ...     jnp.array([[[9.0, -9.0], [-9.0, 9.0]]]),
    ...     jnp.array([[[1.0, 0.0], [0.0, 1.0]]])).round(4)
    Array(0., dtype=float32)

  References:
    Sudre et al., Generalised Dice Overlap as a Deep Learning Loss Function
    for Highly Unbalanced Segmentations, 2017.
  """
  caller = "multiclass_generalized_dice_loss"
  shapes.check_same_shape(
    caller,
    predictions=numerics.as_array(caller, "predictions", predictions),
    targets=numerics.as_array(caller, "targets", targets),
  )
  p, t, dt = _overlap.class_probabilities(
    caller, predictions, targets, apply_softmax
  )
  mask = _overlap.without_background(p.shape[-1], ignore_background)
  return _overlap.generalized_dice(
    caller, t, p, smooth=smooth, class_mask=mask, ignore_index=ignore_index
  ).astype(dt)


@scoped
def binary_dice_loss(
  predictions: InputLike,
  targets: InputLike,
  *,
  smooth: float | jax.Array = 1.0,
  apply_sigmoid: bool = True,
  ignore_index: float | None = None,
  zero_absent_classes: bool = False,
) -> jax.Array:
  """Binary soft Dice loss: :func:`dice_loss` on one sigmoid channel.

  Inputs ``[...]`` whose last axis is not of size 1 get a channel axis.
  With ``apply_sigmoid=False`` the predictions are probabilities.

  Args:
    predictions: logits (or probabilities) ``[B, ...]`` or ``[B, ..., 1]``.
    targets: binary targets, same shape.
    smooth: additive smoothing.
    apply_sigmoid: whether ``predictions`` are logits.
    ignore_index: a target value whose pixels count nowhere (not in optax;
      ``None``: none).
    zero_absent_classes: loss 0 for a sample without a positive target
      pixel (not in optax), as segmentation-models-pytorch's binary
      ``DiceLoss`` on that one image.

  Returns:
    ``[B]`` Dice losses, in [0, 1].

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.binary_dice_loss(jnp.array([[9.0, -9.0]]),
    ...                         jnp.array([[1.0, 0.0]])).round(4)
    Array([0.], dtype=float32)
  """
  caller = "binary_dice_loss"
  p, _ = _float(caller, "predictions", predictions)
  t = numerics.as_array(caller, "targets", targets)
  if p.ndim == t.ndim and p.shape[-1] != 1:  # one sigmoid channel
    p, t = p[..., None], t[..., None]
  values, dt = _dice(
    caller,
    p,
    t,
    apply_sigmoid,
    False,
    smooth=smooth,
    ignore_index=ignore_index,
    zero_absent_classes=zero_absent_classes,
  )
  return values.astype(dt)


# ----------------------------------------------------------- self-supervised


@scoped
def ntxent(
  embeddings: InputLike,
  labels: InputLike,
  temperature: float | jax.Array = 0.07,
) -> jax.Array:
  """NT-Xent contrastive loss (Chen et al. 2020), a scalar.

  With ``s_ij = cos(e_i, e_j) / temperature`` (squared norms clipped at the
  machine epsilon), positives ``P`` (same label, ``i != j``) and negatives
  ``N_i``: ``loss = mean_{(i, j) in P} -log(exp(s_ij) / (exp(s_ij) +
  sum_{k in N_i} exp(s_ik)))``. No positive pair gives 0.

  Args:
    embeddings: ``[B, D]``.
    labels: ``[B]`` group ids; equal ids are positive pairs.
    temperature: the temperature.

  Returns:
    A scalar.

  Raises:
    ValueError: if ``labels`` and ``embeddings`` differ in length.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> e = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> float(losses.ntxent(e, jnp.array([0, 0, 1, 1]))) < 1e-3
    True

  References:
    Chen et al., A Simple Framework for Contrastive Learning of Visual
    Representations, 2020.
  """
  caller = "ntxent"
  e, dt = _float(caller, "embeddings", embeddings)
  shapes.check_rank(caller, "embeddings", e, 2)
  y = numerics.as_array(caller, "labels", labels)
  if y.shape[:1] != e.shape[:1]:
    raise ValueError(
      f"{caller}: labels must have one entry per embedding ({e.shape[0]}), got "
      f"labels.shape={tuple(y.shape)}"
    )
  return _embedding.ntxent(y, e, temperature).astype(dt)


@scoped
def triplet_margin_loss(
  anchors: InputLike,
  positives: InputLike,
  negatives: InputLike,
  axis: int = -1,
  norm_degree: int = 2,
  margin: float = 1.0,
  eps: float = 1e-6,
  *,
  absolute_difference: bool = False,
) -> jax.Array:
  """Triplet margin loss (Balntas et al. 2016).

  ``loss = max(d(a, p) - d(a, n) + margin, 0)`` with
  ``d(x, y) = (sum((x - y)^norm_degree, axis) + eps)^(1 / norm_degree)``,
  optax's formula. It takes no absolute value, so for odd degrees (e.g.
  ``norm_degree=1``) ``d`` is not a distance; ``absolute_difference=True``
  (a jaxloss extension) uses ``|x - y|``, the true p-norm.

  Args:
    anchors: ``[B, D]``.
    positives: ``[B, D]``.
    negatives: ``[B, D]``.
    axis: the feature axis.
    norm_degree: ``p``.
    margin: the margin.
    eps: added inside the root, for a finite gradient at zero distance.
    absolute_difference: measure ``|x - y|`` (see above).

  Returns:
    ``[B]`` hinged distance gaps, ``>= 0``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> losses.triplet_margin_loss(jnp.array([[0.0, 0.0]]),
    ...                            jnp.array([[0.1, 0.1]]),
    ...                            jnp.array([[1.0, 0.0]])).round(4)
    Array([0.1414], dtype=float32)

  References:
    Balntas et al., Learning Local Feature Descriptors with Triplets and
    Shallow Convolutional Neural Networks, 2016.
  """
  caller = "triplet_margin_loss"
  (a, p, n), dt = numerics.floats(
    caller, anchors=anchors, positives=positives, negatives=negatives
  )
  shapes.check_same_shape(caller, anchors=a, positives=p, negatives=n)
  ax = shapes.canonical_axis(caller, axis, a.ndim)
  return _embedding.lp_triplet_margin(
    a, p, n, ax, norm_degree, margin, eps, absolute_difference
  ).astype(dt)


# ----------------------------------------------------------- ranking, misc


@scoped
def ranking_softmax_loss(
  logits: InputLike,
  labels: InputLike,
  *,
  where: InputLike | None = None,
  weights: InputLike | None = None,
  reduce_fn: Callable[..., InputLike] | None = jnp.mean,
) -> jax.Array:
  """Listwise softmax ranking loss (Bruch et al. 2019).

  ``loss = -sum_i w_i y_i log softmax(s)_i`` per list (last axis), over the
  valid items; then ``reduce_fn`` over the lists that have a valid item
  (``jnp.mean`` of no list is 0; ``None`` keeps per-list values, 0 for
  empty lists).

  Args:
    logits: scores ``[..., L]``.
    labels: relevance ``[..., L]``.
    where: optional ``[..., L]`` valid-item mask.
    weights: optional ``[..., L]`` item weights.
    reduce_fn: ``jnp.mean``, ``jnp.sum``, any ``f(x, where=)``, or None.

  Returns:
    A scalar, or ``[...]`` for ``reduce_fn=None``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import optax as losses
    >>> float(losses.ranking_softmax_loss(jnp.array([2.0, 1.0, 3.0]),
    ...                                   jnp.array([1.0, 0.0, 0.0])))
    ... # doctest: +ELLIPSIS
    1.4076...

  References:
    Bruch et al., An Analysis of the Softmax Cross Entropy Loss for
    Learning-to-Rank with Binary Relevance, 2019.
  """
  caller = "ranking_softmax_loss"
  s, y, dt = _scores_and(caller, logits, labels, "logits", "labels")
  mask = shapes.include_mask(caller, where, s.shape)
  w = None
  if weights is not None:
    w = shapes.broadcast_to(
      caller,
      "weights",
      numerics.as_array(caller, "weights", weights).astype(s.dtype),
      s.shape,
    )
  loss = _softmax.ranking_softmax(y, s, mask, w)
  valid = None if mask is None else jnp.any(mask, axis=-1)
  if reduce_fn is None:
    out = loss if valid is None else jnp.where(valid, loss, 0)
  elif reduce_fn is jnp.mean:
    out = _softmax.safe_masked_mean(loss, valid)
  else:
    out = reduce_fn(loss, where=valid)
  return jnp.asarray(out).astype(dt)


@scoped
def smooth_labels(
  labels: InputLike,
  alpha: float | jax.Array,
  *,
  axis: int | tuple[int, ...] | None = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Label smoothing (Szegedy et al. 2016; Mueller et al. 2019).

  ``(1 - alpha) * labels + alpha / K`` with ``K`` the size of ``axis`` (or
  the number of unmasked entries along it).

  Args:
    labels: one-hot labels ``[..., K]``.
    alpha: the smoothing factor.
    axis: the class axis or axes (None for all).
    where: optional include-mask.

  Returns:
    Smoothed labels, ``labels``' shape.

  Examples:
    >>> from jaxloss import optax as losses
    >>> losses.smooth_labels([[0.0, 1.0]], 0.5)
    Array([[0.25, 0.75]], dtype=float32)

  References:
    Mueller et al., When Does Label Smoothing Help?, 2019.
  """
  caller = "smooth_labels"
  y, dt = _float(caller, "labels", labels)
  ax = shapes.optional_axes(caller, axis, y.ndim)
  mask = shapes.include_mask(caller, where, y.shape)
  return _softmax.smooth_labels(y, alpha, ax, mask).astype(dt)


def make_fenchel_young_loss(
  max_fun: Callable[..., InputLike],
) -> Callable[..., jax.Array]:
  """Builds a Fenchel-Young loss (Blondel et al. 2020) from a max function.

  The result is ``fenchel_young_loss(scores, targets, *args, **kwargs) =
  max_fun(scores, *args, **kwargs) - <targets, scores>`` over the last axis,
  mapped over any leading axes.

  Args:
    max_fun: maps a vector ``[K]`` to a scalar (e.g. ``logsumexp``).

  Returns:
    The loss function.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jax.scipy.special import logsumexp
    >>> from jaxloss import optax as losses
    >>> fy = losses.make_fenchel_young_loss(logsumexp)
    >>> fy(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]])).round(4)
    Array([0.6931], dtype=float32)

  References:
    Blondel, Martins & Niculae, Learning with Fenchel-Young Losses, 2020.
  """
  if not callable(max_fun):
    raise TypeError(
      f"make_fenchel_young_loss: max_fun must be callable, got "
      f"{type(max_fun).__name__}"
    )
  return cast(Callable[..., jax.Array], _sparsemax.fenchel_young(max_fun))
