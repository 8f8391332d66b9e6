"""Per-class soft Dice/Tversky scores with additive smoothing, and the
generalised Dice class weights (Sudre et al. 2017)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._src.losses.segmentation import overlap_terms


def smoothed_tversky_per_class(fn, targets, probs, axis, smooth, alpha, beta):
  """``1 - (tp + s) / (tp + alpha fp + beta fn + s)`` per class.

  Soft counts ``tp = sum(t p)``, ``fp = sum((1 - t) p)``, ``fn = sum(t (1 -
  p))`` run over ``axis`` (the class axis is kept); ``alpha = beta = 0.5``
  is the Dice loss (Milletari et al. 2016) with smoothing ``s``.
  """
  tp, fp, fn_, _ = overlap_terms(fn, targets, probs, axis)
  return 1.0 - (tp + smooth) / (tp + alpha * fp + beta * fn_ + smooth)


def generalized_dice_weights(targets, epsilon=1e-7):
  """``w_c = 1 / (n_c^2 + eps)``, rescaled to sum to the number of classes,
  with ``n_c`` the target mass of class ``c`` over every other axis."""
  counts = jnp.sum(targets, axis=tuple(range(targets.ndim - 1)))
  weights = 1.0 / (counts**2 + epsilon)
  return weights / jnp.sum(weights) * weights.shape[0]
