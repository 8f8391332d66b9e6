"""Losses for class imbalance and long-tailed recognition.

Class-balanced re-weighting (Cui et al. 2019), LDAM margins (Cao et al.
2019), the asymmetric multi-label loss (Ridnik et al. 2021), the seesaw loss
(Wang et al. 2021), equalization loss v2 (Tan et al. 2021) and logit
adjustment (Menon et al. 2021).

Single-label losses take integer labels ``[...]`` and logits
``[..., num_classes]``; the multi-label ones take binary targets of the
logits' shape. Per-class statistics that are configuration (sample counts,
priors) are keyword arguments; statistics that a training loop accumulates
(seesaw's running class counts, EQLv2's gradient sums) are inputs, so that
the loss stays a pure function of its arguments.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

_LOSS_TYPES = ("softmax", "sigmoid", "focal")


# ----------------------------------------------------------------- helpers


def sparse_logits(caller: str, y_true, y_pred):
  """Integer labels ``[...]`` and logits ``[..., C]`` in the compute dtype.

  Returns ``(labels, logits, out_dtype)``; labels of shape ``[..., 1]`` are
  squeezed. The losses finish with :func:`sparse_values`, which makes the
  value of a label outside ``[0, C)`` NaN.
  """
  y_pred = numerics.as_float(caller, "y_pred", y_pred)
  shapes.check_min_rank(caller, "y_pred", y_pred, 1)
  labels = numerics.labels(caller, "y_true", y_true)
  labels = shapes.check_labels_shape(caller, labels, y_pred)
  out_dtype = y_pred.dtype
  logits = y_pred.astype(numerics.compute_dtype(out_dtype))
  return labels, logits, out_dtype


def sparse_values(loss, labels, num_classes, out_dtype):
  """The per-sample values in ``out_dtype``, NaN where the label lies
  outside ``[0, C)`` (never the score of an all-zero one-hot row). Applied
  to the values, not the logits: under ``jit`` XLA rewrites a one-hot
  product into a select, which would drop a NaN placed in the logits."""
  return numerics.nan_at_bad_ids(loss, labels, num_classes).astype(out_dtype)


def per_class(caller: str, name: str, value, num_classes: int, dtype):
  """A per-class configuration vector ``[C]`` as an array of ``dtype``."""
  if value is None:
    raise ValueError(
      f"{caller}: {name} must be given, one entry per class, got None"
    )
  array = numerics.as_array(caller, name, value)
  if array.ndim != 1 or array.shape[0] != num_classes:
    raise ValueError(
      f"{caller}: {name} must have one entry per class ({num_classes} = "
      f"y_pred.shape[-1]), got shape {tuple(array.shape)}"
    )
  return array.astype(dtype)


def _rows(v, like):
  """A class vector ``[C]`` shaped ``[1, ..., 1, C]`` to meet ``like``."""
  return jnp.reshape(v, (1,) * (like.ndim - 1) + v.shape)


# ------------------------------------------------------- class-balanced loss


def class_balanced_weights(
  samples_per_class: InputLike,
  beta: float = 0.9999,
  *,
  normalize: bool = True,
  dtype: DTypeLike = jnp.float32,
) -> jax.Array:
  r"""Class-balanced weights from the effective number of samples.

  With :math:`n_c` samples of class :math:`c`, the effective number is
  :math:`E_c = (1 - \beta^{n_c}) / (1 - \beta)` (:math:`E_c = n_c` at
  :math:`\beta = 1`) and the weight :math:`w_c = 1 / E_c`; with
  ``normalize`` the weights are rescaled to sum to the number of classes
  (as the authors' code does). A class with no samples is counted as one
  sample, so every weight is finite. :math:`\beta = 0` gives weights 1.

  This also gives the second-stage weights of LDAM's deferred re-weighting
  (pass them as ``class_weight`` to :func:`ldam_loss`).

  Args:
    samples_per_class: counts ``[C]`` (``>= 0``).
    beta: a Python float in [0, 1].
    normalize: rescale the weights to sum to ``C``.
    dtype: dtype of the result.

  Returns:
    Weights ``[C]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.class_balanced_weights([100, 10, 1], beta=0.9)
    Array([0.23933, 0.36744, 2.39323 ], dtype=float32)

  References:
    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019, eq. (3) and sec. 4.
  """
  caller = "class_balanced_weights"
  validation.static_number(caller, "beta", beta, 0.0, 1.0)
  validation.flag(caller, "normalize", normalize)
  counts = numerics.as_array(caller, "samples_per_class", samples_per_class)
  shapes.check_rank(caller, "samples_per_class", counts, 1)
  counts = jnp.maximum(counts.astype(dtype), 1)
  if beta == 1.0:
    effective = counts
  elif beta == 0.0:
    effective = jnp.ones_like(counts)
  else:  # the Python double log(beta) keeps 1 - beta^n accurate near 1
    effective = -jnp.expm1(counts * math.log(beta)) / (1.0 - beta)
  weights = 1.0 / effective
  if normalize:
    weights = weights / jnp.sum(weights) * counts.shape[0]
  return weights.astype(dtype)


def _log_one_minus_pt(targets, logits):
  """``log(1 - p_t)`` with ``p_t = sigmoid(z)`` for ``t = 1`` and
  ``1 - sigmoid(z)`` for ``t = 0``: ``log sigmoid(-z_t)``, ``z_t = ±z``."""
  return jax.nn.log_sigmoid(-(2 * targets - 1) * logits)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def class_balanced_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  samples_per_class: InputLike | None = None,
  beta: float = 0.9999,
  loss_type: str = "softmax",
  gamma: float = 2.0,
  normalize: bool = True,
) -> jax.Array:
  r"""Class-balanced loss (Cui et al. 2019) over softmax, sigmoid or focal.

  Each sample's loss is weighted by the class-balanced weight of its label,
  :math:`w_y = 1 / E_{n_y}` with :math:`E_n = (1 - \beta^n) / (1 - \beta)`
  (see :func:`class_balanced_weights`; normalised to sum to ``C`` when
  ``normalize``). With logits :math:`z`, one-hot :math:`t`:

  * ``"softmax"``: :math:`w_y \, (-\log \mathrm{softmax}(z)_y)`;
  * ``"sigmoid"``: :math:`w_y \sum_c \mathrm{bce}(t_c, z_c)`;
  * ``"focal"``: :math:`w_y \sum_c (1 - p_{t,c})^\gamma \,
    \mathrm{bce}(t_c, z_c)` with :math:`p_{t,c} = \sigma(z_c)` where
    :math:`t_c = 1` and :math:`1 - \sigma(z_c)` elsewhere (no alpha), the
    modulating factor computed as :math:`\exp(\gamma \log\sigma(-z_{t,c}))`.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    samples_per_class: training-set counts ``[C]``; required. An empty
      class is counted as one sample.
    beta: in [0, 1]; 0 gives the unweighted loss, 1 inverse frequency.
    loss_type: ``"softmax"``, ``"sigmoid"`` or ``"focal"``.
    gamma: focusing parameter of ``"focal"``, ``>= 0``.
    normalize: rescale the class weights to sum to ``C``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for a missing ``samples_per_class`` or one whose length is
      not ``C``, ``beta`` outside [0, 1], ``gamma < 0``, an unknown
      ``loss_type`` or labels that do not fit ``y_pred``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.class_balanced_loss([0, 2], [[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    ...                             samples_per_class=(100, 10, 1), beta=0.9)
    Array([0.05733, 1.31973 ], dtype=float32)

  References:
    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019, eqs. (5)-(8); the authors' code normalises the weights to
    sum to the number of classes.
  """
  caller = "class_balanced_loss"
  validation.flag(caller, "normalize", normalize)
  validation.static_number(caller, "beta", beta, 0.0, 1.0)
  validation.choice(caller, "loss_type", loss_type, _LOSS_TYPES)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  num_classes = z.shape[-1]
  counts = per_class(
    caller, "samples_per_class", samples_per_class, num_classes, z.dtype
  )
  weights = class_balanced_weights(
    counts, beta, normalize=normalize, dtype=z.dtype
  )
  w = jnp.take(weights, labels, mode="clip")
  t = jax.nn.one_hot(labels, num_classes, dtype=z.dtype)
  if loss_type == "softmax":
    loss = -jnp.sum(t * jax.nn.log_softmax(z, axis=-1), axis=-1)
  else:
    bce = numerics.sigmoid_cross_entropy(t, z)
    if loss_type == "focal" and gamma:
      bce = jnp.exp(gamma * _log_one_minus_pt(t, z)) * bce
    loss = jnp.sum(bce, axis=-1)
  return sparse_values(w * loss, labels, num_classes, dt)


# --------------------------------------------------------------------- LDAM


def ldam_margins(
  samples_per_class: InputLike,
  max_margin: float | jax.Array = 0.5,
  *,
  dtype: DTypeLike = jnp.float32,
) -> jax.Array:
  r"""LDAM's per-class margins :math:`\Delta_c \propto n_c^{-1/4}`.

  Rescaled so that the largest margin (the rarest class's) is
  ``max_margin``; an empty class is counted as one sample.

  Examples:
    >>> import jaxloss
    >>> jaxloss.ldam_margins([10000, 16, 1])
    Array([0.05, 0.25, 0.5 ], dtype=float32)
  """
  caller = "ldam_margins"
  validation.check_range(caller, "max_margin", max_margin, low=0.0)
  counts = numerics.as_array(caller, "samples_per_class", samples_per_class)
  shapes.check_rank(caller, "samples_per_class", counts, 1)
  inv = jnp.maximum(counts.astype(dtype), 1) ** -0.25
  return (inv * (max_margin / jnp.max(inv))).astype(dtype)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def ldam_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  samples_per_class: InputLike | None = None,
  max_margin: float | jax.Array = 0.5,
  scale: float | jax.Array = 30.0,
  class_weight: InputLike | None = None,
) -> jax.Array:
  r"""Label-distribution-aware margin loss (Cao et al. 2019).

  The true class's logit is lowered by a class margin before a scaled
  softmax cross-entropy:

  .. math::
    \ell = w_y \, \big(-\log \mathrm{softmax}(s \, (z - \Delta_y e_y))_y
    \big), \qquad \Delta_c = m \, \frac{n_c^{-1/4}}{\max_k n_k^{-1/4}}

  with ``s = scale``, ``m = max_margin`` and :math:`w_y` from
  ``class_weight`` (1 when None). The logits are usually cosine
  similarities (normalised features and weights), as in the paper.

  Deferred re-weighting (DRW, the paper's schedule): train with
  ``class_weight=None`` first, then, from a later epoch on, with
  ``class_weight=class_balanced_weights(samples_per_class, beta=0.9999)``
  (the paper's effective-number weights). PyTorch's weighted mean divides
  by the sum of the batch's weights; to reproduce it pass the weights as
  ``sample_weight`` (:func:`class_weights_to_sample_weights`) with
  ``reduction="mean_with_sample_weight"`` instead.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    samples_per_class: training-set counts ``[C]``; required. An empty
      class is counted as one sample.
    max_margin: the largest margin, ``>= 0`` (0.5 in the paper).
    scale: logit scale ``s``, ``> 0``.
    class_weight: optional per-class weights ``[C]``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for a missing ``samples_per_class``, per-class arguments of
      the wrong length, ``max_margin < 0``, ``scale <= 0`` or labels that do
      not fit ``y_pred``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.ldam_loss([0, 2], [[0.5, 0.1, 0.0], [0.1, 0.0, 0.3]],
    ...                   samples_per_class=(10000, 16, 1))
    Array([2.8967e-05, 9.0487e+00], dtype=float32)

  References:
    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware
    Margin Loss", NeurIPS 2019, eq. (13) and Algorithm 1 (DRW).
  """
  caller = "ldam_loss"
  validation.check_range(caller, "max_margin", max_margin, low=0.0)
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  num_classes = z.shape[-1]
  counts = per_class(
    caller, "samples_per_class", samples_per_class, num_classes, z.dtype
  )
  margins = ldam_margins(counts, max_margin, dtype=z.dtype)
  t = jax.nn.one_hot(labels, num_classes, dtype=z.dtype)
  shifted = scale * (z - t * _rows(margins, z))
  loss = -jnp.sum(t * jax.nn.log_softmax(shifted, axis=-1), axis=-1)
  if class_weight is not None:
    weights = per_class(
      caller, "class_weight", class_weight, num_classes, z.dtype
    )
    loss = jnp.take(weights, labels, mode="clip") * loss
  return sparse_values(loss, labels, num_classes, dt)


# ------------------------------------------------------------ asymmetric loss


@scoped
def asymmetric_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  gamma_neg: float = 4.0,
  gamma_pos: float = 1.0,
  clip: float = 0.05,
  eps: float | jax.Array = 1e-8,
) -> jax.Array:
  r"""Asymmetric loss for multi-label classification (Ridnik et al. 2021).

  With :math:`p = \sigma(z)` and the shifted negative probability
  :math:`p_m = \max(p - m, 0)` (``m = clip``), summed over the labels:

  .. math::
    \ell = -\sum_c \Big[ t_c (1 - p_c)^{\gamma_+} \log \max(p_c, \epsilon)
    + (1 - t_c)\, p_{m,c}^{\gamma_-} \log \max(1 - p_{m,c}, \epsilon)
    \Big]

  as in the authors' ``AsymmetricLoss`` (focusing weights differentiated).
  Computed in log space: :math:`\log p = \log\sigma(z)` and
  :math:`1 - p_m = \min(\sigma(-z) + m, 1)`, so saturated logits stay
  finite. ``clip=0`` and ``gamma_neg = gamma_pos = 0`` give the binary
  cross-entropy (summed), clamped at ``eps``.

  Args:
    y_true: binary targets ``[..., C]`` (0/1; soft targets are accepted).
    y_pred: logits ``[..., C]``.
    gamma_neg: focusing exponent of the negatives, ``>= 0``.
    gamma_pos: focusing exponent of the positives, ``>= 0``.
    clip: probability margin ``m`` of the negatives, in [0, 1].
    eps: lower clamp of the probabilities inside the logs, ``> 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for out-of-range hyper-parameters or shapes that differ.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.asymmetric_loss([[1.0, 0.0, 0.0]], [[2.0, -1.0, 3.0]])
    Array([1.56109], dtype=float32)

  References:
    Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV
    2021, eqs. (3)-(7); the authors' ``AsymmetricLoss`` (clamp at ``eps``).
  """
  caller = "asymmetric_loss"
  validation.check_range(caller, "gamma_neg", gamma_neg, low=0.0)
  validation.check_range(caller, "gamma_pos", gamma_pos, low=0.0)
  validation.check_range(caller, "clip", clip, 0.0, 1.0)
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  t, z, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  log_eps = math.log(eps)
  log_p = jax.nn.log_sigmoid(z)
  if clip:
    one_minus_pm = jnp.minimum(jax.nn.sigmoid(-z) + clip, 1.0)
    log_q = jnp.log(one_minus_pm)  # >= log(clip) > -inf
    pm = 1.0 - one_minus_pm
  else:
    log_q = jax.nn.log_sigmoid(-z)
    pm = jax.nn.sigmoid(z)
  pos = jnp.maximum(log_p, log_eps)
  neg = jnp.maximum(log_q, log_eps)
  if gamma_pos:  # (1 - p)^g = exp(g log sigmoid(-z)): finite when saturated
    pos = jnp.exp(gamma_pos * jax.nn.log_sigmoid(-z)) * pos
  if gamma_neg:
    neg = numerics.safe_pow(pm, gamma_neg) * neg
  loss = -(t * pos + (1 - t) * neg)
  return jnp.sum(loss, axis=-1).astype(dt)


# -------------------------------------------------------------- seesaw loss


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def seesaw_loss(
  y_true: InputLike,
  y_pred: InputLike,
  class_counts: InputLike,
  *,
  p: float = 0.8,
  q: float = 2.0,
  eps: float | jax.Array = 1e-2,
) -> jax.Array:
  r"""Seesaw loss (Wang et al. 2021), the classification term.

  A softmax cross-entropy whose negative logits are shifted by
  :math:`\log S_{yj}` with :math:`S_{yj} = M_{yj} C_{yj}`:

  .. math::
    \ell = -\log \frac{e^{z_y}}{e^{z_y} + \sum_{j \ne y} S_{yj} e^{z_j}},
    \quad M_{yj} = \min\Big(1, \frac{N_j}{N_y}\Big)^p,
    \quad C_{yj} = \max\Big(1, \frac{\sigma_j}{\max(\sigma_y,
    \epsilon)}\Big)^q

  with :math:`N` the running class counts (clamped at 1), :math:`\sigma =
  \mathrm{softmax}(z)` held constant (no gradient through :math:`C`, as in
  mmdetection). :math:`M` mitigates the penalty on rare classes, :math:`C`
  compensates it for misclassified samples; both are formed in log space.
  ``p = q = 0`` gives the cross-entropy. mmdetection's objectness branch
  (``num_classes + 2`` outputs) is not part of this function.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    class_counts: cumulative number of samples seen per class ``[C]``,
      accumulated by the training loop (mmdetection adds the batch's label
      counts before each loss call).
    p: mitigation exponent, ``>= 0``.
    q: compensation exponent, ``>= 0``.
    eps: lower clamp of the true-class probability, ``> 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for out-of-range hyper-parameters, ``class_counts`` of the
      wrong shape or labels that do not fit ``y_pred``.
    TypeError: for integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.seesaw_loss([0, 2], [[1.0, 0.5, 0.0], [0.0, 1.0, 0.5]],
    ...                     [100.0, 10.0, 1.0])
    Array([0.10018, 1.80636 ], dtype=float32)

  References:
    Wang et al., "Seesaw Loss for Long-Tailed Instance Segmentation", CVPR
    2021, eqs. (2)-(5); mmdetection 2.x ``seesaw_ce_loss``.
  """
  caller = "seesaw_loss"
  validation.check_range(caller, "p", p, low=0.0)
  validation.check_range(caller, "q", q, low=0.0)
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  num_classes = z.shape[-1]
  counts = numerics.as_array(caller, "class_counts", class_counts)
  if counts.ndim != 1 or counts.shape[0] != num_classes:
    raise ValueError(
      f"{caller}: class_counts must have shape ({num_classes},) (one entry "
      f"per class of y_pred), got shape {tuple(counts.shape)}"
    )
  t = jax.nn.one_hot(labels, num_classes, dtype=z.dtype)
  log_s = jnp.zeros_like(z)
  if p:
    log_n = jnp.log(jnp.maximum(counts.astype(z.dtype), 1))
    log_ny = jnp.take(log_n, labels, mode="clip")[..., None]
    log_s = log_s + p * jnp.minimum(_rows(log_n, z) - log_ny, 0)
  if q:
    log_sigma = jax.lax.stop_gradient(jax.nn.log_softmax(z, axis=-1))
    log_sy = jnp.sum(t * log_sigma, axis=-1, keepdims=True)
    log_sy = jnp.maximum(log_sy, math.log(eps))
    log_s = log_s + q * jnp.maximum(log_sigma - log_sy, 0)
  shifted = z + (1 - t) * log_s
  loss = -jnp.sum(t * jax.nn.log_softmax(shifted, axis=-1), axis=-1)
  return sparse_values(loss, labels, num_classes, dt)


# ------------------------------------------------------- equalization loss v2


def _eqlv2_weights(pos_grad, neg_grad, gamma, mu, alpha):
  """Positive and negative weights ``[C + 1]`` (background last, weight 1)."""
  ratio = pos_grad / (neg_grad + 1e-10)
  neg_w = jax.nn.sigmoid(gamma * (ratio - mu))
  one = jnp.ones((1,), neg_w.dtype)
  neg_w = jnp.concatenate([neg_w, one])
  pos_w = 1 + alpha * (1 - neg_w)
  return pos_w, neg_w


def _eqlv2_inputs(caller, y_true, y_pred, pos_grad, neg_grad):
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  num_classes = z.shape[-1] - 1
  if num_classes < 1:
    raise ValueError(
      f"{caller}: y_pred must have at least 2 columns (classes + background), "
      f"got shape {tuple(z.shape)}"
    )
  stats = []
  for name, g in (("pos_grad", pos_grad), ("neg_grad", neg_grad)):
    g = numerics.as_float(caller, name, g)
    if g.ndim != 1 or g.shape[0] != num_classes:
      raise ValueError(
        f"{caller}: {name} must have shape ({num_classes},) (y_pred's "
        f"columns minus the background), got shape {tuple(g.shape)}"
      )
    stats.append(jax.lax.stop_gradient(g.astype(z.dtype)))
  return labels, z, dt, stats[0], stats[1]


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def equalization_loss_v2(
  y_true: InputLike,
  y_pred: InputLike,
  pos_grad: InputLike,
  neg_grad: InputLike,
  *,
  gamma: float | jax.Array = 12.0,
  mu: float | jax.Array = 0.8,
  alpha: float | jax.Array = 4.0,
) -> jax.Array:
  r"""Equalization loss v2 (Tan et al. 2021), gradient-guided re-weighting.

  A sigmoid cross-entropy over ``C`` foreground classes plus a background
  column (the last of ``y_pred``, label ``C``), with per-class weights from
  the accumulated gradient statistics :math:`g^{pos}_c, g^{neg}_c`:

  .. math::
    \ell = \sum_c \big(t_c \, w^{pos}_c + (1 - t_c) \, w^{neg}_c\big)
    \mathrm{bce}(t_c, z_c), \quad
    w^{neg}_c = \sigma\big(\gamma (r_c - \mu)\big), \quad
    w^{pos}_c = 1 + \alpha (1 - w^{neg}_c)

  with :math:`r_c = g^{pos}_c / (g^{neg}_c + 10^{-10})` and weight 1 for
  the background column. The statistics are state: after each step the
  training loop adds the batch's sums from
  :func:`equalization_loss_v2_statistics` (the official code all-reduces
  them across devices first). They receive no gradient. The official code
  uses weights 1 on its very first call, before any statistics exist; zero
  statistics here give :math:`w^{neg} = \sigma(-\gamma\mu)`.

  Args:
    y_true: integer labels ``[...]`` in ``[0, C]`` (``C`` = background).
    y_pred: logits ``[..., C + 1]``, background last.
    pos_grad: accumulated positive gradient magnitudes ``[C]``.
    neg_grad: accumulated negative gradient magnitudes ``[C]``.
    gamma: steepness of the weight mapping.
    mu: centre of the weight mapping.
    alpha: extra weight of the positives, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for statistics of the wrong shape, ``alpha < 0`` or labels
      that do not fit ``y_pred``.
    TypeError: for integer ``y_pred`` or statistics.

  Examples:
    >>> import jaxloss
    >>> jaxloss.equalization_loss_v2([0, 2], [[1.0, -1.0, 0.0]] * 2,
    ...                              [10.0, 0.1], [10.0, 10.0])
    Array([1.11065, 1.89721], dtype=float32)

  References:
    Tan et al., "Equalization Loss v2: A New Gradient Balance Approach for
    Long-tailed Object Detection", CVPR 2021, eqs. (4)-(9); the authors'
    mmdetection ``EQLv2`` (defaults gamma 12, mu 0.8, alpha 4).
  """
  caller = "equalization_loss_v2"
  validation.number(caller, "gamma", gamma)
  validation.number(caller, "mu", mu)
  validation.check_range(caller, "alpha", alpha, low=0.0)
  labels, z, dt, pos_grad, neg_grad = _eqlv2_inputs(
    caller, y_true, y_pred, pos_grad, neg_grad
  )
  t = jax.nn.one_hot(labels, z.shape[-1], dtype=z.dtype)
  pos_w, neg_w = _eqlv2_weights(pos_grad, neg_grad, gamma, mu, alpha)
  weight = t * _rows(pos_w, t) + (1 - t) * _rows(neg_w, t)
  bce = numerics.sigmoid_cross_entropy(t, z)
  return sparse_values(jnp.sum(weight * bce, axis=-1), labels, z.shape[-1], dt)


def equalization_loss_v2_statistics(
  y_true: InputLike,
  y_pred: InputLike,
  pos_grad: InputLike,
  neg_grad: InputLike,
  *,
  gamma: float | jax.Array = 12.0,
  mu: float | jax.Array = 0.8,
  alpha: float | jax.Array = 4.0,
) -> tuple[jax.Array, jax.Array]:
  r"""The batch's gradient statistics for :func:`equalization_loss_v2`.

  With :math:`p = \sigma(z)` and the loss weights :math:`w` of the current
  statistics, the weighted gradient magnitudes summed over the batch:
  :math:`\sum_i |p - t| \, w \, t` (positives) and
  :math:`\sum_i |p - t| \, w \, (1 - t)` (negatives), background excluded.
  Add them to the running ``pos_grad`` and ``neg_grad`` after each step.

  Returns:
    ``(batch_pos_grad, batch_neg_grad)``, each ``[C]``, without gradient.

  Examples:
    >>> import jaxloss
    >>> pos, neg = jaxloss.equalization_loss_v2_statistics(
    ...     [0], [[0.0, 0.0, 0.0]], [0.0, 0.0], [0.0, 0.0])
    >>> pos
    Array([2.4998, 0.    ], dtype=float32)
    >>> neg
    Array([0.0000e+00, 3.3862e-05], dtype=float32)
  """
  caller = "equalization_loss_v2_statistics"
  labels, z, dt, pos_grad, neg_grad = _eqlv2_inputs(
    caller, y_true, y_pred, pos_grad, neg_grad
  )
  z = jax.lax.stop_gradient(z)
  t = jax.nn.one_hot(labels, z.shape[-1], dtype=z.dtype)
  pos_w, neg_w = _eqlv2_weights(pos_grad, neg_grad, gamma, mu, alpha)
  weight = t * _rows(pos_w, t) + (1 - t) * _rows(neg_w, t)
  grad = jnp.abs(jax.nn.sigmoid(z) - t) * weight
  batch_axes = tuple(range(z.ndim - 1))
  pos = jnp.sum(grad * t, axis=batch_axes)[:-1]
  neg = jnp.sum(grad * (1 - t), axis=batch_axes)[:-1]
  return pos.astype(dt), neg.astype(dt)


# ---------------------------------------------------------- logit adjustment


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def logit_adjusted_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  class_priors: InputLike | None = None,
  tau: float | jax.Array = 1.0,
) -> jax.Array:
  r"""Logit-adjusted softmax cross-entropy (Menon et al. 2021).

  The logits are shifted by the scaled log-priors before the softmax:

  .. math::
    \ell = -\log \mathrm{softmax}\big(z + \log(\pi^\tau + 10^{-12})\big)_y

  with :math:`\pi` the class priors (``class_priors`` normalised to sum to
  1, so raw counts work too). The :math:`10^{-12}` is the authors'; it
  keeps a class with prior 0 finite. Predict with the unadjusted logits
  :math:`z`. ``tau=0`` gives the cross-entropy.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    class_priors: class frequencies or counts ``[C]`` (``>= 0``); required.
    tau: temperature of the adjustment, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for a missing ``class_priors`` or one whose length is not
      ``C``, ``tau < 0`` or labels that do not fit ``y_pred``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.logit_adjusted_crossentropy(
    ...     [0, 1], [[1.0, 0.0], [1.0, 0.0]], class_priors=(0.9, 0.1))
    Array([0.04006, 3.23729 ], dtype=float32)

  References:
    Menon et al., "Long-tail Learning via Logit Adjustment", ICLR 2021,
    eq. (10); the authors' google-research ``logit_adjustment`` code.
  """
  caller = "logit_adjusted_crossentropy"
  validation.check_range(caller, "tau", tau, low=0.0)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  num_classes = z.shape[-1]
  priors = per_class(caller, "class_priors", class_priors, num_classes, z.dtype)
  priors = priors / jnp.sum(priors)
  adjusted = z + _rows(jnp.log(numerics.safe_pow(priors, tau) + 1e-12), z)
  t = jax.nn.one_hot(labels, num_classes, dtype=z.dtype)
  loss = -jnp.sum(t * jax.nn.log_softmax(adjusted, axis=-1), axis=-1)
  return sparse_values(loss, labels, num_classes, dt)


# ------------------------------------------------------------------ objects


class ClassBalancedLoss(Loss, fn=class_balanced_loss):
  """Loss object for :func:`jaxloss.class_balanced_loss`."""

  samples_per_class: InputLike | None = None
  beta: float = 0.9999
  loss_type: str = "softmax"
  gamma: float = 2.0
  normalize: bool = True


class LDAMLoss(Loss, fn=ldam_loss):
  """Loss object for :func:`jaxloss.ldam_loss`."""

  samples_per_class: InputLike | None = None
  max_margin: float | jax.Array = 0.5
  scale: float | jax.Array = 30.0
  class_weight: InputLike | None = None


class AsymmetricLoss(Loss, fn=asymmetric_loss):
  """Loss object for :func:`jaxloss.asymmetric_loss`."""

  gamma_neg: float = 4.0
  gamma_pos: float = 1.0
  clip: float = 0.05
  eps: float | jax.Array = 1e-08


class SeesawLoss(Loss, fn=seesaw_loss):
  """Loss object for :func:`jaxloss.seesaw_loss`."""

  p: float = 0.8
  q: float = 2.0
  eps: float | jax.Array = 0.01


class EqualizationLossV2(Loss, fn=equalization_loss_v2):
  """Loss object for :func:`jaxloss.equalization_loss_v2`."""

  gamma: float | jax.Array = 12.0
  mu: float | jax.Array = 0.8
  alpha: float | jax.Array = 4.0


class LogitAdjustedCrossentropy(Loss, fn=logit_adjusted_crossentropy):
  """Loss object for :func:`jaxloss.logit_adjusted_crossentropy`."""

  class_priors: InputLike | None = None
  tau: float | jax.Array = 1.0
