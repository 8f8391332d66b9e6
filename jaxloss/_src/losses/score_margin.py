"""Margin losses on raw scores: binary hinge and perceptron, and their
multiclass (Crammer-Singer, Collins) forms with integer labels.

Kernels on converted arrays; ``jnp.maximum``/``jnp.max`` split the gradient
evenly between tied arguments.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
