"""Losses robust to noisy labels.

The bi-tempered logistic loss (Amid et al. 2019), symmetric cross-entropy
(Wang et al. 2019), Taylor cross-entropy (Feng et al. 2020) and the
active-passive normalised losses (Ma et al. 2020).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses.imbalance import sparse_logits
from jaxloss._src.losses.imbalance import sparse_values
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# The authors' clamps in reverse cross-entropy: the one-hot label is clamped
# at 1e-4 (so log 0 becomes A = log 1e-4) and the probabilities at 1e-7.
_RCE_LABEL_CLAMP = 1e-4
_RCE_PROB_CLAMP = 1e-7
_ACTIVE = ("nce", "nfl")
_PASSIVE = ("rce", "mae")


# -------------------------------------------------------- tempered functions


def _log_t(u, t):
  """Tempered logarithm ``(u^(1-t) - 1) / (1 - t)`` (``log`` at t = 1)."""
  if t == 1.0:
    return jnp.log(u)
  return (u ** (1.0 - t) - 1.0) / (1.0 - t)


def _exp_t(u, t):
  """Tempered exponential ``relu(1 + (1 - t) u)^(1/(1-t))`` (``exp``)."""
  if t == 1.0:
    return jnp.exp(u)
  return jnp.maximum(1.0 + (1.0 - t) * u, 0.0) ** (1.0 / (1.0 - t))


def _tempered_normalization(a, t, num_iters):
  """``lambda`` with ``sum(exp_t(a - lambda)) = 1`` for ``t > 1``.

  The authors' fixed-point iteration: with ``a0 = a - max(a)``, repeat
  ``a_k = a0 * Z(a_{k-1})^(1-t)`` with ``Z(x) = sum(exp_t(x))``, then
  ``lambda = -log_t(1 / Z(a_K)) + max(a)``. Differentiated through the
  ``num_iters`` unrolled steps.
  """
  mu = jnp.max(a, axis=-1, keepdims=True)
  a0 = a - mu
  x = a0
  for _ in range(num_iters):
    z = jnp.sum(_exp_t(x, t), axis=-1, keepdims=True)
    x = a0 * z ** (1.0 - t)
  z = jnp.sum(_exp_t(x, t), axis=-1, keepdims=True)
  return -_log_t(1.0 / z, t) + mu


def tempered_log_softmax(activations, t, num_iters=5):
  """``log`` of the tempered softmax ``exp_t(a - lambda(a))`` for ``t >= 1``.

  ``t = 1`` is the log-softmax. For ``t > 1`` the log is formed as
  ``log1p((1 - t) u) / (1 - t)`` with ``u = a - lambda <= 0``, finite for
  any activations.
  """
  if t == 1.0:
    return jax.nn.log_softmax(activations, axis=-1)
  u = activations - _tempered_normalization(activations, t, num_iters)
  # u <= 0 at the fixed point; the clamp keeps the log argument >= 1 when
  # the truncated iteration overshoots by a rounding error.
  u = jnp.minimum(u, 0.0)
  return jnp.log1p((1.0 - t) * u) / (1.0 - t)


@scoped
def bitempered_logistic(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  t1: float = 1.0,
  t2: float = 1.0,
  label_smoothing: float = 0.0,
  num_iters: int = 5,
) -> jax.Array:
  r"""Bi-tempered logistic loss (Amid et al. 2019).

  With the tempered logarithm :math:`\log_t(u) = (u^{1-t} - 1)/(1 - t)`,
  the tempered exponential :math:`\exp_t(u) = [1 + (1 - t) u]_+^{1/(1-t)}`
  and the tempered softmax :math:`\hat y = \exp_{t_2}(a - \lambda(a))`,
  :math:`\lambda` normalising :math:`\sum_c \hat y_c = 1`:

  .. math::
    \ell = \sum_c \Big[ y_c \big(\log_{t_1}(y_c + 10^{-10}) -
    \log_{t_1}\hat y_c\big) - \frac{y_c^{2 - t_1} - \hat y_c^{2 - t_1}}
    {2 - t_1} \Big]

  as in the authors' code. :math:`\lambda` is found by their fixed-point
  iteration, ``num_iters`` steps (5 by default, as theirs), and the
  gradient is that of the unrolled iteration. :math:`t_1 < 1` bounds the
  loss (robust to mislabelled outliers), :math:`t_2 > 1` gives heavier
  tails (robust to small margins); :math:`t_1 = t_2 = 1` is the softmax
  cross-entropy. Label smoothing, as the authors':
  :math:`y \leftarrow (1 - \frac{C}{C-1} s)\, y + \frac{s}{C - 1}`.
  The tempered softmax is computed in log space, so saturated
  activations stay finite. :math:`t_2 < 1` (finite support, normalised by
  binary search in the authors' code) is not supported.

  Args:
    y_true: one-hot or soft labels ``[..., C]``.
    y_pred: activations (logits) ``[..., C]``.
    t1: temperature of the loss, in [0, 2) (``< 1`` for a bounded loss).
    t2: temperature of the softmax, ``>= 1``.
    label_smoothing: ``s`` in [0, 1); needs ``C >= 2`` when positive.
    num_iters: fixed-point steps for ``t2 > 1``, a positive int.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for out-of-range temperatures, smoothing or ``num_iters``,
      or shapes that differ.
    TypeError: for an integer ``y_pred`` or a non-int ``num_iters``.

  Examples:
    A one-hot and a soft label, ``t1=0.5, t2=2.0``:

    >>> import jaxloss
    >>> jaxloss.bitempered_logistic(
    ...     [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]],
    ...     [[-0.5, 0.1, 2.0], [0.1, 1.5, -5.0]], t1=0.5, t2=2.0)
    Array([0.71900, 0.05876], dtype=float32)

  References:
    Amid, Warmuth, Anil, Koren, "Robust Bi-Tempered Logistic Loss Based on
    Bregman Divergences", NeurIPS 2019, eqs. (5)-(13); the authors'
    google/bi-tempered-loss code (fixed-point normalisation, 5 steps).
  """
  caller = "bitempered_logistic"
  validation.static_number(caller, "t1", t1, 0.0, 2.0, high_open=True)
  validation.static_number(caller, "t2", t2, low=1.0)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 1.0, high_open=True
  )
  validation.integer(caller, "num_iters", num_iters, low=1)
  y, a, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  num_classes = a.shape[-1]
  if label_smoothing:
    if num_classes < 2:
      raise ValueError(
        f"{caller}: label_smoothing needs y_pred.shape[-1] >= 2, got "
        f"{num_classes}"
      )
    s = label_smoothing
    y = (1 - num_classes / (num_classes - 1) * s) * y + s / (num_classes - 1)
  log_p = tempered_log_softmax(a, t2, num_iters)
  if t1 == 1.0:
    log_t1_p = log_p
  else:  # log_t(p) = expm1((1 - t1) log p) / (1 - t1), finite at p -> 0
    log_t1_p = jnp.expm1((1.0 - t1) * log_p) / (1.0 - t1)
  # The labels' own term: 0 where y = 0 (y * log_t(1e-10) in the authors'
  # code, a 1e-10 * log_t contribution below float32 resolution).
  label_term = y * _log_t(y + 1e-10, t1)
  cross = label_term - y * log_t1_p
  k = 2.0 - t1
  y_pow = numerics.safe_pow(y, k)
  p_pow = jnp.exp(k * log_p)
  loss = cross - (y_pow - p_pow) / k
  return jnp.sum(loss, axis=-1).astype(dt)


# ---------------------------------------------------- reverse cross-entropy


def _reverse_ce(t, probs):
  """The authors' RCE: ``-sum(clamp(p, 1e-7, 1) log clamp(t, 1e-4, 1))``."""
  log_t = jnp.log(jnp.clip(t, _RCE_LABEL_CLAMP, 1.0))
  return -jnp.sum(jnp.clip(probs, _RCE_PROB_CLAMP, 1.0) * log_t, axis=-1)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def symmetric_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 0.1,
  beta: float | jax.Array = 1.0,
) -> jax.Array:
  r"""Symmetric cross-entropy (Wang et al. 2019): CE plus reverse CE.

  With :math:`p = \mathrm{softmax}(z)` and the one-hot label :math:`t`:

  .. math::
    \ell = \alpha \, (-\log p_y) + \beta \, \big(-\textstyle\sum_c
    \max(p_c, 10^{-7}) \log \max(t_c, 10^{-4})\big)

  The reverse term is :math:`-A \sum_{c \ne y} \max(p_c, 10^{-7})` with
  :math:`A = \log 10^{-4}`, the clamps of the authors' code (the paper
  writes :math:`A = -4`). Defaults are the paper's CIFAR-10 setting.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    alpha: weight of the cross-entropy, ``>= 0``.
    beta: weight of the reverse cross-entropy, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for negative weights or labels that do not fit ``y_pred``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.symmetric_crossentropy([0], [[2.0, 0.0, -1.0]])
    Array([1.45569], dtype=float32)

  References:
    Wang et al., "Symmetric Cross Entropy for Robust Learning with Noisy
    Labels", ICCV 2019, eqs. (4)-(6); the authors' ``SCELoss``.
  """
  caller = "symmetric_crossentropy"
  validation.check_range(caller, "alpha", alpha, low=0.0)
  validation.check_range(caller, "beta", beta, low=0.0)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  t = jax.nn.one_hot(labels, z.shape[-1], dtype=z.dtype)
  log_p = jax.nn.log_softmax(z, axis=-1)
  ce = -jnp.sum(t * log_p, axis=-1)
  rce = _reverse_ce(t, jnp.exp(log_p))
  return sparse_values(alpha * ce + beta * rce, labels, z.shape[-1], dt)


# ------------------------------------------------------ Taylor cross-entropy


def _log_one_minus_py(t, z):
  """``log(1 - p_y) = logsumexp_{c != y} z_c - logsumexp(z)``, accurate
  when ``p_y -> 1``; ``-inf`` (zero gradient) for a single class."""
  others = numerics.masked_logsumexp(z, t == 0, axis=-1)
  return others - jax.nn.logsumexp(z, axis=-1)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def taylor_crossentropy(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  order: int = 2,
) -> jax.Array:
  r"""Taylor cross-entropy (Feng et al. 2020): the truncated series of CE.

  .. math::
    \ell = \sum_{k=1}^{n} \frac{(1 - p_y)^k}{k}, \quad
    p = \mathrm{softmax}(z)

  the first ``n = order`` terms of :math:`-\log p_y = \sum_{k \ge 1}
  (1 - p_y)^k / k`; ``order=1`` is MAE-like (:math:`1 - p_y`), large
  orders approach the cross-entropy. :math:`1 - p_y` is computed as
  :math:`\exp(\mathrm{lse}_{c \ne y} z_c - \mathrm{lse}\, z)`, accurate
  near :math:`p_y = 1`.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    order: number of terms ``n``, a positive int.

  Returns:
    Per-sample losses ``[...]``, in :math:`[0, \sum_k 1/k]`.

  Raises:
    ValueError: for ``order < 1`` or labels that do not fit ``y_pred``.
    TypeError: for a non-int ``order`` or an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.taylor_crossentropy([0], [[2.0, 0.0, -1.0]], order=2)
    Array([0.16841], dtype=float32)

  References:
    Feng et al., "Can Cross Entropy Loss Be Robust to Label Noise?",
    IJCAI 2020, eq. (8).
  """
  caller = "taylor_crossentropy"
  validation.integer(caller, "order", order, low=1)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  t = jax.nn.one_hot(labels, z.shape[-1], dtype=z.dtype)
  log_q = _log_one_minus_py(t, z)
  k = jnp.arange(1, order + 1, dtype=z.dtype)
  k = jnp.reshape(k, (1,) * log_q.ndim + k.shape)
  loss = jnp.sum(jnp.exp(log_q[..., None] * k) / k, axis=-1)
  return sparse_values(loss, labels, z.shape[-1], dt)


# ---------------------------------------------------- active-passive losses


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def active_passive_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  active: str = "nce",
  passive: str = "rce",
  alpha: float | jax.Array = 1.0,
  beta: float | jax.Array = 1.0,
  gamma: float = 0.5,
) -> jax.Array:
  r"""Active-passive loss (Ma et al. 2020): a normalised active loss plus a
  passive one, ``alpha * active + beta * passive``.

  With :math:`p = \mathrm{softmax}(z)`:

  * ``"nce"`` (normalised CE): :math:`\log p_y / \sum_c \log p_c`;
  * ``"nfl"`` (normalised focal): :math:`(1 - p_y)^\gamma \log p_y /
    \sum_c (1 - p_c)^\gamma \log p_c`;
  * ``"rce"`` (reverse CE): :math:`-\sum_c \max(p_c, 10^{-7}) \log
    \max(t_c, 10^{-4})`, as :func:`symmetric_crossentropy`;
  * ``"mae"``: :math:`1 - p_y`, as the authors' code (half the paper's
    :math:`\sum_c |p_c - t_c| = 2 - 2 p_y`).

  The paper's NCE+RCE, NCE+MAE, NFL+RCE and NFL+MAE. Gradients flow
  through every term (the authors' NFL holds its normaliser and
  :math:`p_y` constant in the backward pass). All terms are formed from
  log-probabilities, so saturated logits stay finite.

  Args:
    y_true: integer labels ``[...]`` (or ``[..., 1]``).
    y_pred: logits ``[..., C]``.
    active: ``"nce"`` or ``"nfl"``.
    passive: ``"rce"`` or ``"mae"``.
    alpha: weight of the active loss, ``>= 0``.
    beta: weight of the passive loss, ``>= 0``.
    gamma: focusing exponent of ``"nfl"``, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for unknown loss names, negative weights or labels that do
      not fit ``y_pred``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.active_passive_loss([0], [[2.0, 0.0, -1.0]])
    Array([1.46953], dtype=float32)

  References:
    Ma et al., "Normalized Loss Functions for Deep Learning with Noisy
    Labels", ICML 2020, eqs. (3), (7) and sec. 4; the authors'
    Active-Passive-Losses code.
  """
  caller = "active_passive_loss"
  validation.choice(caller, "active", active, _ACTIVE)
  validation.choice(caller, "passive", passive, _PASSIVE)
  validation.check_range(caller, "alpha", alpha, low=0.0)
  validation.check_range(caller, "beta", beta, low=0.0)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  labels, z, dt = sparse_logits(caller, y_true, y_pred)
  t = jax.nn.one_hot(labels, z.shape[-1], dtype=z.dtype)
  log_p = jax.nn.log_softmax(z, axis=-1)
  if active == "nfl" and gamma:
    # (1 - p)^gamma = exp(gamma log(1 - p)), log(1 - p) = log(-expm1(log p))
    # with the true class's entry from the accurate masked form.
    log_q = jnp.log(-jnp.expm1(jnp.minimum(log_p, -1e-30)))
    log_q_y = _log_one_minus_py(t, z)
    log_q = jnp.where(t > 0, log_q_y[..., None], log_q)
    terms = jnp.exp(gamma * log_q) * log_p
  else:
    terms = log_p
  numerator = jnp.sum(t * terms, axis=-1)
  denominator = jnp.sum(terms, axis=-1)
  active_value = numerics.safe_divide(numerator, denominator)
  p = jnp.exp(log_p)
  if passive == "rce":
    passive_value = _reverse_ce(t, p)
  else:
    passive_value = 1.0 - jnp.sum(t * p, axis=-1)
  loss = alpha * active_value + beta * passive_value
  return sparse_values(loss, labels, z.shape[-1], dt)


# ------------------------------------------------------------------ objects


class BitemperedLogistic(Loss, fn=bitempered_logistic):
  """Loss object for :func:`jaxloss.bitempered_logistic`."""

  t1: float = 1.0
  t2: float = 1.0
  label_smoothing: float = 0.0
  num_iters: int = 5


class SymmetricCrossentropy(Loss, fn=symmetric_crossentropy):
  """Loss object for :func:`jaxloss.symmetric_crossentropy`."""

  alpha: float | jax.Array = 0.1
  beta: float | jax.Array = 1.0


class TaylorCrossentropy(Loss, fn=taylor_crossentropy):
  """Loss object for :func:`jaxloss.taylor_crossentropy`."""

  order: int = 2


class ActivePassiveLoss(Loss, fn=active_passive_loss):
  """Loss object for :func:`jaxloss.active_passive_loss`."""

  active: str = "nce"
  passive: str = "rce"
  alpha: float | jax.Array = 1.0
  beta: float | jax.Array = 1.0
  gamma: float = 0.5
