"""Similarity-based losses: clipped cosine similarity, NT-Xent (SimCLR) and
the triplet margin loss. Kernels on converted arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics


def unit_vectors(x, axis=-1, epsilon=0.0, where=None):
  """``x / sqrt(max(sum(x^2), epsilon))`` along ``axis`` (over ``where``).

  A zero vector with ``epsilon = 0`` gives the zero vector (not NaN) with a
  finite gradient.
  """
  sq = jnp.square(x)
  if where is not None:
    sq = jnp.where(where, sq, 0)
  sq = jnp.maximum(jnp.sum(sq, axis=axis, keepdims=True), epsilon)
  positive = sq > 0
  inv = jnp.where(positive, jax.lax.rsqrt(jnp.where(positive, sq, 1)), 0)
  return x * inv


def clipped_cosine(a, b, axis=-1, epsilon=0.0, where=None):
  """``<a, b> / (sqrt(max(|a|^2, eps)) sqrt(max(|b|^2, eps)))``."""
  prod = unit_vectors(a, axis, epsilon, where) * unit_vectors(
      b, axis, epsilon, where)
  if where is not None:
    prod = jnp.where(where, prod, 0)
  return jnp.sum(prod, axis=axis)


def ntxent(labels, embeddings, temperature):
  """NT-Xent (Chen et al. 2020, eq. 1), averaged over all positive pairs.

  With ``s_ij = cos(e_i, e_j) / temperature`` (squared norms clipped at the
  dtype's machine epsilon), positives ``P`` (same label, ``i != j``) and
  negatives ``N_i`` (other label):
  ``loss = mean_{(i,j) in P} log(1 + sum_{k in N_i} exp(s_ik - s_ij))``.
  No positive pair gives 0 (with a zero gradient).
  """
  eps = jnp.finfo(embeddings.dtype).eps
  u = unit_vectors(embeddings, -1, eps)
  sims = jnp.matmul(u, u.T, precision=jax.lax.Precision.HIGHEST) / temperature
  same = labels[:, None] == labels[None, :]
  negatives = ~same
  positives = same & ~jnp.eye(labels.shape[0], dtype=bool)
  neg_lse = numerics.masked_logsumexp(sims, negatives, axis=1)[:, None]
  has_neg = jnp.any(negatives, axis=1, keepdims=True)
  gap = jnp.where(has_neg, neg_lse, 0) - sims
  per_pair = jnp.where(has_neg & positives, jax.nn.softplus(gap), 0)
  return numerics.safe_divide(
      jnp.sum(per_pair), jnp.sum(positives, dtype=embeddings.dtype))


def lp_distance(x, y, axis, degree, eps, absolute=False):
  """``(sum(d^degree) + eps)^(1/degree)`` with ``d = x - y`` (``|x - y|``
  when ``absolute``; then the gradient at ``d = 0`` is finite for any
  degree)."""
  d = x - y
  if absolute:
    powered = numerics.safe_pow(jnp.abs(d), degree)
  else:
    powered = jnp.power(d, degree)
  return jnp.power(jnp.sum(powered, axis=axis) + eps, 1 / degree)


def triplet_margin(anchors, positives, negatives, axis=-1, degree=2,
                   margin=1.0, eps=1e-6, absolute=False):
  """``max(d(a, p) - d(a, n) + margin, 0)`` (Balntas et al. 2016)."""
  pos = lp_distance(anchors, positives, axis, degree, eps, absolute)
  neg = lp_distance(anchors, negatives, axis, degree, eps, absolute)
  return jnp.maximum(pos - neg + margin, 0)
