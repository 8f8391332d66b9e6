"""Likelihood-style losses beyond Keras: sigmoid focal, Poisson/Gaussian NLL,
soft F-beta, weighted kappa and the z-loss."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses.crossentropy import binary_terms
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

_EPS = numerics.EPSILON
# The floor of the normalised focal loss's denominator
# (segmentation-models-pytorch's focal_loss_with_logits eps).
_NORMALIZED_EPS = 1e-6


# ------------------------------------------------------------ sigmoid focal


@domains.declare(unit_targets="y_true")
@scoped
def sigmoid_focal_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | None = 0.25,
  gamma: float = 2.0,
  from_logits: bool = False,
  reduced_threshold: float | None = None,
  normalized: bool = False,
) -> jax.Array:
  """Sigmoid focal cross-entropy (Lin et al. 2017), tensorflow-addons style.

  Summed (not averaged) over the last axis, as in tensorflow-addons::

    loss = sum(a_t * (1 - p_t) ** gamma * bce, axis=-1)
    p_t = t p + (1 - t)(1 - p),   a_t = t alpha + (1 - t)(1 - alpha)

  with ``p = y_pred`` (or ``sigmoid(y_pred)`` from logits). From
  probabilities ``bce = -(t log(q + eps) + (1 - t) log(1 - q + eps))`` with
  ``q = clip(p, eps, 1 - eps)`` and ``eps = 1e-7`` (the tf.keras backend's
  formula); from logits ``bce = max(z, 0) - t z + log1p(exp(-|z|))`` and
  ``1 - p_t = t sigmoid(-z) + (1 - t) sigmoid(z)``, both in log space.
  ``alpha=None`` (or 0) drops ``a_t`` and ``gamma=0`` drops the modulating
  factor, as tensorflow-addons does. The gradient of ``(1 - p_t) ** gamma``
  at ``p_t = 1`` is taken as 0.

  ``reduced_threshold=r`` gives the reduced focal loss (Sergievskiy and
  Ponamarev 2019, segmentation-models-pytorch's ``reduced_threshold``): the
  factor is ``((1 - p_t) / r) ** gamma`` where ``p_t >= r`` and 1 below.

  ``normalized=True`` gives the normalised focal loss (segmentation-models-
  pytorch's ``normalized``): with ``f`` the focal factor of each element
  (plain or reduced; 1 for ``gamma = 0``), each sample's sum is divided by
  the sum of its factors over the same last axis::

    loss = sum(a_t * f * bce, axis=-1) / max(sum(f, axis=-1), 1e-6)

  The gradient flows through the denominator too. A sample is the last
  axis, as for the sum: segmentation-models-pytorch normalises over every
  element it is given at once (in binary mode the whole batch, in
  multi-label mode one class's pixels of the batch) and then averages
  them, so its value is this loss of the inputs flattened to ``[1, N]``,
  divided by ``N``.

  Args:
    y_true: binary targets, shape of ``y_pred``.
    y_pred: probabilities or logits ``[..., d]``.
    alpha: balancing weight of the positive class, in [0, 1], or None.
    gamma: focusing parameter, ``>= 0``.
    from_logits: whether ``y_pred`` holds logits.
    reduced_threshold: ``r`` in ``(0, 1]``, or None (the plain factor).
    normalized: divide each sample's sum by the sum of its focal factors.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``gamma < 0`` or ``alpha`` outside [0, 1], or shapes
      that differ.
    TypeError: for a non-bool ``from_logits`` or an integer ``y_pred``.

  Examples:
    The tensorflow-addons ``SigmoidFocalCrossEntropy`` example (tfa prints
    ``[6.8532745e-06, 1.9097870e-04, 2.0559824e-05]``; the last digit is
    float32 rounding):

    >>> import jaxloss
    >>> jaxloss.sigmoid_focal_crossentropy([[1.0], [1.0], [0.0]],
    ...                                    [[0.97], [0.91], [0.03]])
    Array([6.8532745e-06, 1.9097870e-04, 2.0559823e-05], dtype=float32)

  References:
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, eq. (5);
    tensorflow-addons 0.23 ``losses.sigmoid_focal_crossentropy``.
  """
  caller = "sigmoid_focal_crossentropy"
  validation.flag(caller, "from_logits", from_logits)
  validation.flag(caller, "normalized", normalized)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.check_range(caller, "alpha", alpha, 0.0, 1.0, optional=True)
  validation.check_range(
    caller,
    "reduced_threshold",
    reduced_threshold,
    0.0,
    1.0,
    low_open=True,
    optional=True,
  )
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  if from_logits:
    bce, one_minus_pt = binary_terms(t, p, from_logits=True)
  else:  # tfa adds eps inside the logs instead of Keras's clip only
    q = numerics.clip_probabilities(p)
    bce = -(t * jnp.log(q + _EPS) + (1 - t) * jnp.log(1 - q + _EPS))
    one_minus_pt = 1 - (t * p + (1 - t) * (1 - p))
  loss = bce
  factor = None
  if reduced_threshold is not None:
    below = 1.0 - one_minus_pt < reduced_threshold
    scaled = jnp.maximum(one_minus_pt, 0) / reduced_threshold
    factor = numerics.safe_pow(jnp.where(below, 1.0, scaled), gamma)
  elif gamma:
    factor = numerics.safe_pow(jnp.maximum(one_minus_pt, 0), gamma)
  if factor is not None:
    loss = factor * loss
  if alpha:  # None or 0: no balancing weight (tensorflow-addons)
    loss = (t * alpha + (1 - t) * (1 - alpha)) * loss
  loss = jnp.sum(loss, axis=-1)
  if normalized:
    total = (
      jnp.sum(factor, axis=-1) if factor is not None else float(p.shape[-1])
    )
    loss = loss / jnp.maximum(total, _NORMALIZED_EPS)
  return loss.astype(dt)


# ---------------------------------------------------------------- PyTorch NLL


def _stirling(t):
  """``t log t - t + 0.5 log(2 pi t)`` for ``t > 1``, else 0 (PyTorch)."""
  big = t > 1
  ts = jnp.where(big, t, 2.0)
  term = ts * jnp.log(ts) - ts + 0.5 * jnp.log(2 * math.pi * ts)
  return jnp.where(big, term, 0.0)


@scoped
def poisson_nll(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  log_input: bool = True,
  full: bool = False,
  eps: float | jax.Array = 1e-8,
) -> jax.Array:
  """Poisson negative log-likelihood, PyTorch's ``PoissonNLLLoss``.

  Averaged over the last axis, with rate ``lambda`` predicted by ``y_pred``:

  * ``log_input=True`` (``y_pred = log lambda``):
    ``loss = exp(y_pred) - y_true * y_pred``;
  * ``log_input=False`` (``y_pred = lambda``):
    ``loss = y_pred - y_true * log(y_pred + eps)``;
  * ``full=True`` adds the Stirling term
    ``y_true log y_true - y_true + 0.5 log(2 pi y_true)`` where
    ``y_true > 1`` (0 elsewhere).

  Args:
    y_true: counts ``[..., d]`` (``>= 0``).
    y_pred: log-rates or rates ``[..., d]``.
    log_input: whether ``y_pred`` is the log of the rate.
    full: whether to add the Stirling approximation of ``log(y_true!)``.
    eps: added inside the log when ``log_input=False``; ``> 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``eps <= 0`` or shapes that differ.
    TypeError: for non-bool flags or an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.poisson_nll([[1.0, 2.0]], [[0.0, 1.0]])
    Array([0.8591409], dtype=float32)

  References:
    PyTorch 2.13 ``torch.nn.PoissonNLLLoss``.
  """
  caller = "poisson_nll"
  validation.flag(caller, "log_input", log_input)
  validation.flag(caller, "full", full)
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  if log_input:
    loss = jnp.exp(p) - t * p
  else:
    loss = p - t * jnp.log(p + eps)
  if full:
    loss = loss + _stirling(t)
  return jnp.mean(loss, axis=-1).astype(dt)


def _variance(caller, var, shape):
  """The ``var`` shapes PyTorch 2.13 accepts, broadcast to ``shape``.

  ``shape`` itself; ``shape`` with exactly one axis of size 1 where
  ``shape``'s differs (``[B, 1]`` or ``[1, D]`` for ``[B, D]``); ``shape``
  without its last axis; or a scalar (PyTorch: a Python float).
  """
  if var.shape == shape:
    return var
  if var.ndim == len(shape):
    differ = [i for i, (a, b) in enumerate(zip(var.shape, shape)) if a != b]
    if len(differ) == 1 and var.shape[differ[0]] == 1:
      return jnp.broadcast_to(var, shape)
  if var.shape == shape[:-1]:
    return jnp.broadcast_to(var[..., None], shape)
  if var.ndim == 0:
    return jnp.broadcast_to(var, shape)
  raise ValueError(
    f"{caller}: var must have the shape of y_pred, that shape with one axis "
    f"of size 1, that shape without its last axis, or be a scalar, got "
    f"var.shape={tuple(var.shape)} and y_pred.shape={tuple(shape)}"
  )


@domains.declare(nonnegative="var")
@scoped
def gaussian_nll(
  y_true: InputLike,
  y_pred: InputLike,
  var: InputLike,
  *,
  full: bool = False,
  eps: float | jax.Array = 1e-6,
) -> jax.Array:
  """Gaussian negative log-likelihood, PyTorch's ``GaussianNLLLoss``.

  Averaged over the last axis, with mean ``y_pred`` and variance ``var``::

    loss = 0.5 * (log(max(var, eps)) + (y_pred - y_true)**2 / max(var, eps))
           [+ 0.5 log(2 pi) when full]

  As in PyTorch the clamp of ``var`` at ``eps`` is invisible to the
  gradient: the derivative is taken at the clamped value and passed to
  ``var`` unchanged (so a tiny variance still receives a push upwards).

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predicted means ``[..., d]``.
    var: predicted variances (``>= 0``): ``[..., d]``; that shape with
      exactly one axis of size 1 where ``y_pred``'s differs (``[..., 1]``,
      one per sample, or e.g. ``[1, d]`` for ``[B, d]``, as PyTorch 2.13
      accepts); ``[...]``; or a scalar.
    full: whether to add the constant ``0.5 log(2 pi)``.
    eps: lower clamp of ``var``; ``> 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``eps <= 0`` or shapes that do not fit.
    TypeError: for a non-bool ``full`` or integer ``y_pred``/``var``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.gaussian_nll([[1.0, 2.0]], [[0.0, 2.0]], [[1.0, 1.0]])
    Array([0.25], dtype=float32)

  References:
    Nix & Weigend, "Estimating the mean and variance of the target
    probability distribution", ICNN 1994; PyTorch 2.13
    ``torch.nn.GaussianNLLLoss``.
  """
  caller = "gaussian_nll"
  validation.flag(caller, "full", full)
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  var = numerics.as_float(caller, "var", var)
  dt = jnp.promote_types(dt, var.dtype)
  cdt = numerics.compute_dtype(dt)
  t, p, var = t.astype(cdt), p.astype(cdt), var.astype(cdt)
  var = _variance(caller, var, p.shape)
  # Clamp in the value only (PyTorch clamps under no_grad).
  var = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
  loss = 0.5 * (jnp.log(var) + jnp.square(p - t) / var)
  if full:
    loss = loss + 0.5 * math.log(2 * math.pi)
  return jnp.mean(loss, axis=-1).astype(dt)


# ------------------------------------------------------------------ F-beta


@scoped
def fbeta_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  beta: float | jax.Array = 1.0,
  mode: str = "sample",
) -> jax.Array:
  """One minus the soft F-beta score, per sample or over the batch.

  With soft counts ``TP = sum(t p)``, ``FP = sum((1 - t) p)`` and
  ``FN = sum(t (1 - p))``::

    F = (1 + beta**2) TP / ((1 + beta**2) TP + beta**2 FN + FP + eps)
      = (1 + beta**2) sum(t p) / (beta**2 sum(t) + sum(p) + eps)
    loss = 1 - F

  with ``eps = 1e-7`` (Keras's epsilon, as in :func:`jaxloss.dice`; F-1 is
  the Dice score). The sums run over:

  * ``mode="sample"`` (default): the last axis, one loss per sample. For
    multi-label rows or segmentation masks, where each sample has many
    positives.
  * ``mode="batch"``: the batch (all leading axes), separately for each
    entry of the last axis (class), then ``loss = 1 - mean_k F_k`` (macro
    F-beta): the usual soft F-beta objective, and the one to use for a
    binary classifier with ``[B, 1]`` outputs (per sample, a row with a
    single label gives a degenerate objective that rewards predicting
    positive everywhere). A **batch-level** loss: one scalar per batch, so
    per-sample weights do not apply.

  An empty row or class (``t = p = 0``) gives a loss (term) of 1.

  Args:
    y_true: binary (or soft) targets in [0, 1], ``[..., d]``.
    y_pred: probabilities ``[..., d]``.
    beta: weight of recall relative to precision; ``> 0``.
    mode: ``"sample"`` or ``"batch"`` (see above).

  Returns:
    Per-sample losses ``[...]`` (``mode="sample"``) or a scalar
    (``mode="batch"``).

  Raises:
    ValueError: for ``beta <= 0``, an unknown ``mode``, shapes that
      differ, or (``mode="batch"``) inputs of rank < 2.

  Examples:
    >>> import jaxloss
    >>> jaxloss.fbeta_loss([[1.0, 0.0, 1.0]], [[0.5, 0.5, 1.0]], beta=2.0)
    Array([0.25], dtype=float32)
    >>> jaxloss.fbeta_loss([[1.0], [0.0], [1.0]], [[0.5], [0.5], [1.0]],
    ...                    beta=2.0, mode="batch")
    Array(0.25, dtype=float32)

  References:
    van Rijsbergen, "Information Retrieval", 2nd ed., 1979, ch. 7 (the
    F-measure); soft counts as in Milletari et al., V-Net, 2016, eq. (1).
  """
  caller = "fbeta_loss"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.choice(caller, "mode", mode, ("sample", "batch"))
  t, p, dt = shapes.elementwise_inputs(
    caller, y_true, y_pred, min_rank=1 if mode == "sample" else 2
  )
  b2 = beta * beta
  axes = -1 if mode == "sample" else tuple(range(t.ndim - 1))
  tp = jnp.sum(t * p, axis=axes)
  den = b2 * jnp.sum(t, axis=axes) + jnp.sum(p, axis=axes) + _EPS
  loss = 1.0 - (1.0 + b2) * tp / den
  if mode == "batch":
    loss = jnp.mean(loss)
  return loss.astype(dt)


# ------------------------------------------------------------ weighted kappa


@scoped
@validation.deprecated_alias({"epsilon": "eps"})
def weighted_kappa_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  weightage: str = "quadratic",
  eps: float | jax.Array = 1e-6,
) -> jax.Array:
  """Weighted kappa loss (de la Torre et al. 2018), tensorflow-addons style.

  A **batch-level** loss: it returns one scalar for the whole batch (the
  leading axes are flattened into ``N`` samples), because the expected
  disagreement uses the label and prediction histograms of the batch.
  With ``K = y_pred.shape[-1]`` classes, one-hot labels ``t``, probabilities
  ``p`` and the weight matrix ``w_ij = |i - j| ** k / (K - 1) ** k``
  (``k = 1`` for "linear", 2 for "quadratic")::

    observed = sum_n sum_j w[label_n, j] p_nj
    expected = sum_ij (sum_n t_ni) w_ij (sum_n p_nj) / N
    loss = log(observed / expected + eps)      (0 / 0 read as 0)

  i.e. ``log(1 - kappa + eps)``, in ``[log(eps), log(2)]`` for
  probabilities. Apply sample weights by scaling the rows of ``y_pred``
  (as tensorflow-addons recommends); the reduction of the loss object is a
  no-op on the scalar.

  Args:
    y_true: one-hot labels ``[..., K]``.
    y_pred: class probabilities ``[..., K]`` (e.g. softmax outputs).
    weightage: "quadratic" or "linear".
    eps: added before the log; ``> 0`` (tensorflow-addons's ``epsilon``;
      ``epsilon=`` is still accepted, with a DeprecationWarning).

  Returns:
    A scalar.

  Raises:
    ValueError: for an unknown ``weightage``, ``eps <= 0``, fewer than
      2 classes, or shapes that differ.

  Examples:
    The tensorflow-addons ``WeightedKappaLoss`` example:

    >>> import jaxloss
    >>> jaxloss.weighted_kappa_loss(
    ...     [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    ...     [[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1],
    ...      [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]]).round(6)
    Array(-1.161193, dtype=float32)

  References:
    de la Torre, Puig & Valls, "Weighted kappa loss function for multi-class
    classification of ordinal data in deep learning", Pattern Recognition
    Letters 105, 2018, eq. (5); tensorflow-addons 0.23
    ``losses.WeightedKappaLoss``.
  """
  caller = "weighted_kappa_loss"
  validation.choice(caller, "weightage", weightage, ("linear", "quadratic"))
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  k = p.shape[-1]
  if k < 2:
    raise ValueError(f"{caller}: y_pred must have >= 2 classes, got {k}")
  t = t.reshape(-1, k)
  p = p.reshape(-1, k)
  empty.require_samples(caller, "y_pred", p)
  classes = jnp.arange(k, dtype=p.dtype)
  diff = jnp.abs(classes[:, None] - classes[None, :])
  power = 1 if weightage == "linear" else 2
  w = diff**power / float((k - 1) ** power)
  # Row n of w[label_n] is t_n @ w (exact for one-hot labels).
  observed = jnp.sum((t @ w) * p)
  expected = jnp.sum(jnp.sum(t, 0) @ w * jnp.sum(p, 0)) / t.shape[0]
  ratio = numerics.safe_divide(observed, expected)
  return jnp.log(ratio + eps).astype(dt)


# ------------------------------------------------------------------- z-loss


@scoped
def z_loss(
  y_true: InputLike | None,
  y_pred: InputLike,
) -> jax.Array:
  """The PaLM z-loss: the squared log-partition function of the logits.

  ``loss = logsumexp(y_pred, axis=-1) ** 2``: it pulls the softmax
  normaliser towards 1 (``log Z -> 0``) to keep logits from drifting. Scale
  it yourself (PaLM uses ``1e-4``) and add it to the main loss.

  ``y_true`` is **unused**; it is accepted so that the loss has the common
  ``(y_true, y_pred)`` signature (and fits loss objects, ``get`` and
  multi-output wiring). Its shape is still checked against ``y_pred`` to
  catch wiring mistakes: integer labels ``[...]`` (or ``[..., 1]``) or
  dense targets ``[..., K]``; ``None`` is accepted too.

  Args:
    y_true: unused labels ``[...]``, targets ``[..., K]``, or None.
    y_pred: logits ``[..., K]``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: if ``y_true``'s shape fits neither form.
    TypeError: for integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.z_loss([0], [[0.0, 0.0]])
    Array([0.480453], dtype=float32)

  References:
    Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways",
    JMLR 2023, sec. 5 ("z_loss = 1e-4 * log**2 Z").
  """
  caller = "z_loss"
  p = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_min_rank(caller, "y_pred", p, 1)
  t = None if y_true is None else numerics.as_array(caller, "y_true", y_true)
  ok = t is None or (
    t.shape == p.shape
    or t.shape == p.shape[:-1]
    or t.shape == p.shape[:-1] + (1,)
  )
  if not ok:
    assert t is not None
    raise ValueError(
      f"{caller}: y_true must have the shape of y_pred or of y_pred without "
      f"its class axis, got y_true.shape={tuple(t.shape)} and "
      f"y_pred.shape={tuple(p.shape)}"
    )
  dt = p.dtype
  lse = jax.nn.logsumexp(p.astype(numerics.compute_dtype(dt)), axis=-1)
  return jnp.square(lse).astype(dt)


class SigmoidFocalCrossEntropy(Loss, fn=sigmoid_focal_crossentropy):
  """Loss object for :func:`jaxloss.sigmoid_focal_crossentropy`."""

  alpha: float | None = 0.25
  gamma: float = 2.0
  from_logits: bool = False
  reduced_threshold: float | None = None
  normalized: bool = False


class PoissonNLLLoss(Loss, fn=poisson_nll):
  """Loss object for :func:`jaxloss.poisson_nll`."""

  log_input: bool = True
  full: bool = False
  eps: float | jax.Array = 1e-08


class GaussianNLLLoss(Loss, fn=gaussian_nll):
  """Loss object for :func:`jaxloss.gaussian_nll`."""

  full: bool = False
  eps: float | jax.Array = 1e-06


class FBetaLoss(Loss, fn=fbeta_loss):
  """Loss object for :func:`jaxloss.fbeta_loss`."""

  beta: float | jax.Array = 1.0
  mode: str = "sample"


class WeightedKappaLoss(Loss, fn=weighted_kappa_loss, batch_level=True):
  """Loss object for :func:`jaxloss.weighted_kappa_loss`."""

  weightage: str = "quadratic"
  eps: float | jax.Array = 1e-06


# ``epsilon`` (tensorflow-addons's name) is ``eps`` since 0.3.
WeightedKappaLoss.__init__ = validation.deprecated_alias(
  {"epsilon": "eps"}, caller="WeightedKappaLoss"
)(WeightedKappaLoss.__init__)


class ZLoss(Loss, fn=z_loss):
  """Loss object for :func:`jaxloss.z_loss`."""
