"""Masked softmax cross-entropies, PolyLoss, listwise ranking softmax, label
smoothing and KL divergences from log-probabilities.

Kernels on converted arrays. ``axis`` is an int, a tuple of ints or None
(every axis); ``where`` is a boolean include-mask of the inputs' shape.
Masked entries never enter ``exp``/``log``, and a slice with no unmasked
entry gives a finite value with a finite (zero) gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics

# An axis argument: one axis, several, or every axis (None).
Axis = int | tuple[int, ...] | None


def masked_sum(
  x: jax.Array,
  axis: Axis,
  where: jax.Array | None = None,
  keepdims: bool = False,
) -> jax.Array:
  """``sum(x, axis)`` over the entries where ``where`` is True."""
  if where is not None:
    x = jnp.where(where, x, 0)
  return jnp.sum(x, axis=axis, keepdims=keepdims)


def masked_log_softmax(
  x: jax.Array, axis: Axis, where: jax.Array | None = None
) -> jax.Array:
  """``log_softmax(x)`` along ``axis`` over the unmasked entries.

  Masked entries (and every entry of an empty slice) hold 0, not ``-inf``,
  so products with them stay finite in value and gradient; callers must
  exclude them from their sums.
  """
  if where is None:
    return jax.nn.log_softmax(x, axis=axis)
  axes = tuple(range(x.ndim)) if axis is None else axis
  lse = numerics.masked_logsumexp(x, where, axis=axes)
  lse = jnp.expand_dims(lse, axes)
  lse = jnp.where(jnp.isneginf(lse), 0, lse)
  return jnp.where(where, x - lse, 0)


def softmax_cross_entropy(
  labels: jax.Array,
  logits: jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """``-sum(labels * log_softmax(logits))`` along ``axis`` over ``where``."""
  log_p = masked_log_softmax(logits, axis, where)
  return -masked_sum(labels * log_p, axis, where)


def softmax_cross_entropy_sparse(
  labels: jax.Array, logits: jax.Array, where: jax.Array | None = None
) -> jax.Array:
  """``logsumexp(logits) - logits[label]`` over the last axis.

  Only the true class's logit is gathered: no log-softmax is formed. A row
  with no unmasked class gives 0.
  """
  label_logits = jnp.take_along_axis(logits, labels[..., None], axis=-1)
  label_logits = label_logits[..., 0]
  if where is None:
    return jax.nn.logsumexp(logits, axis=-1) - label_logits
  lse = numerics.masked_logsumexp(logits, where, axis=-1)
  valid = jnp.any(where, axis=-1)
  return jnp.where(valid, jnp.where(valid, lse, 0) - label_logits, 0)


def safe_softmax_cross_entropy(
  labels: jax.Array, logits: jax.Array
) -> jax.Array:
  """Softmax cross-entropy with ``0 * log 0 = 0`` (``-inf`` logits, zero
  labels). A zero label's term and its logit gradient are 0; its label
  gradient is ``-log_softmax`` (0 where that is ``-inf``)."""
  log_p = jax.nn.log_softmax(logits, axis=-1)
  impossible = jnp.isneginf(log_p) & (labels == 0)
  log_p = jnp.where(impossible, 0, log_p)
  return -jnp.sum(labels * log_p, axis=-1)


def poly1_cross_entropy(
  labels: jax.Array,
  logits: jax.Array,
  epsilon: float | jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """Poly-1 loss (Leng et al. 2022, eq. 3): ``CE + epsilon * (1 - p_t)``
  with ``1 - p_t = sum(labels * (1 - softmax(logits)))`` along ``axis``."""
  log_p = masked_log_softmax(logits, axis, where)
  p = jnp.exp(log_p) if where is None else jnp.where(where, jnp.exp(log_p), 0)
  one_minus_pt = masked_sum(labels * (1 - p), axis, where)
  ce = -masked_sum(labels * log_p, axis, where)
  return ce + epsilon * one_minus_pt


def ranking_softmax(
  labels: jax.Array,
  logits: jax.Array,
  where: jax.Array | None = None,
  weights: jax.Array | None = None,
) -> jax.Array:
  """Listwise softmax loss (Cao et al. 2007; Bruch et al. 2019), last axis.

  ``loss = -sum_i w_i y_i log softmax(s)_i`` over the valid items of each
  list; invalid items have no label mass and no probability mass.
  """
  if where is not None:
    labels = jnp.where(where, labels, 0)
  if weights is not None:
    labels = labels * weights
  log_p = masked_log_softmax(logits, -1, where)
  return -masked_sum(labels * log_p, -1, where)


def safe_masked_mean(
  values: jax.Array, where: jax.Array | None = None
) -> jax.Array:
  """Mean over ``where``; an empty mask gives 0 with a zero gradient."""
  if where is None:
    return jnp.mean(values)
  total = jnp.sum(jnp.where(where, values, 0))
  return numerics.safe_divide(total, jnp.sum(where, dtype=values.dtype))


def smooth_labels(
  labels: jax.Array,
  alpha: float | jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """``(1 - alpha) * labels + alpha / num_classes`` (Szegedy et al. 2016).

  ``num_classes`` is the size of ``axis`` (the product for a tuple, the
  whole size for None), or with ``where`` the count of unmasked entries.
  """
  if where is None:
    num = jnp.size(labels, axis) if axis is not None else labels.size
  else:
    num = jnp.sum(where, axis, keepdims=True, dtype=labels.dtype)
  return (1.0 - alpha) * labels + alpha / num


# -------------------------------------------------- KL from log-probabilities


def kl_from_log_predictions(
  targets: jax.Array,
  log_predictions: jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """``sum(t (log t - log q))`` with ``0 log 0 = 0`` and zero terms finite
  (also for ``log q = -inf``), along ``axis`` over ``where``."""
  zero = targets == 0
  log_q = jnp.where(zero, 0, log_predictions)
  terms = numerics.xlogy(targets, targets) - targets * log_q
  return masked_sum(jnp.where(zero, 0, terms), axis, where)


def kl_from_log_targets(
  log_targets: jax.Array,
  log_predictions: jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """``sum(exp(log t) (log t - log q))``; ``log t = -inf`` terms are 0."""
  zero = jnp.isneginf(log_targets)
  log_t = jnp.where(zero, 0, log_targets)
  log_q = jnp.where(zero, 0, log_predictions)
  terms = jnp.exp(log_t) * (log_t - log_q)
  return masked_sum(jnp.where(zero, 0, terms), axis, where)


def generalized_kl(
  targets: jax.Array,
  log_predictions: jax.Array,
  axis: Axis = -1,
  where: jax.Array | None = None,
) -> jax.Array:
  """Bregman divergence of ``x log x - x``: ``KL + sum(q - t)``."""
  kl = kl_from_log_predictions(targets, log_predictions, axis, where)
  return kl + masked_sum(jnp.exp(log_predictions) - targets, axis, where)
