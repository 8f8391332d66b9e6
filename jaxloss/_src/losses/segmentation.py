"""Overlap losses of Keras 3 for segmentation: Dice and Tversky.

These follow Keras's ``axis`` convention: the sums run over ``axis``, and the
default ``axis=None`` sums over *every* axis, batch included, giving one
scalar (Keras's behaviour). Pass e.g. ``axis=(1, 2, 3)`` for one value per
image.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped


def overlap_terms(fn, y_true, y_pred, axis):
  """Soft true positives, false positives, false negatives summed over axis.

  Returns ``(tp, fp, fn, out_dtype)``, with ``tp = sum(t p)``,
  ``fp = sum((1 - t) p)`` and ``fn = sum(t (1 - p))``.
  """
  validation.axis(fn, axis, optional=True, sequence=True)
  t, p, dt = shapes.elementwise_inputs(fn, y_true, y_pred)
  axes = shapes.canonical_axes(fn, axis, p.ndim)
  # Keras's operand order, so Tversky compiles to Keras's program.
  tp = jnp.sum(t * p, axis=axes)
  fn_ = jnp.sum((1.0 - p) * t, axis=axes)
  fp = jnp.sum(p * (1.0 - t), axis=axes)
  return tp, fp, fn_, dt


@scoped
def dice(y_true, y_pred, *, axis=None):
  """Soft Dice loss.

  ``loss = 1 - 2 sum(t p) / (sum(t) + sum(p) + 1e-7)``, sums over ``axis``.

  Example:
    >>> import jaxloss
    >>> jaxloss.dice([[1.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]],
    ...              axis=1)
    Array([0.    , 0.3333], dtype=float32)
  """
  # Keras's three sums (faster than sum(t) + sum(p) via overlap_terms; see
  # docs/performance.md).
  validation.axis("dice", axis, optional=True, sequence=True)
  t, p, dt = shapes.elementwise_inputs("dice", y_true, y_pred)
  axes = shapes.canonical_axes("dice", axis, p.ndim)
  tp = jnp.sum(t * p, axis=axes)
  denom = jnp.sum(t, axis=axes) + jnp.sum(p, axis=axes) + numerics.EPSILON
  return (1.0 - 2.0 * tp / denom).astype(dt)


@scoped
def tversky(y_true, y_pred, *, alpha=0.5, beta=0.5, axis=None):
  """Tversky loss (Salehi et al. 2017).

  ``loss = 1 - tp / (tp + alpha fp + beta fn + 1e-7)`` with soft
  ``tp = sum(t p)``, ``fp = sum((1 - t) p)``, ``fn = sum(t (1 - p))`` over
  ``axis``. ``alpha`` weighs false positives and ``beta`` false negatives, as
  the paper and Keras's docstring say; Keras 3.15's code applies them the
  other way round, so ``keras.losses.tversky(alpha=a, beta=b)`` equals
  ``jaxloss.tversky(alpha=b, beta=a)``. ``alpha = beta = 0.5`` is Dice.

  Example:
    >>> import jaxloss
    >>> jaxloss.tversky([[1.0, 0.0, 1.0]], [[1.0, 1.0, 0.0]], alpha=0.9,
    ...                 beta=0.1, axis=1)
    Array([0.5], dtype=float32)
  """
  validation.check_range("tversky", "alpha", alpha, low=0.0)
  validation.check_range("tversky", "beta", beta, low=0.0)
  tp, fp, fn_, dt = overlap_terms("tversky", y_true, y_pred, axis)
  denom = tp + fn_ * beta + fp * alpha + numerics.EPSILON
  return (1.0 - tp / denom).astype(dt)


Dice = loss_class(dice, "Dice")
Tversky = loss_class(tversky, "Tversky")
