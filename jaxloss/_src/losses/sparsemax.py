"""Sparsemax (the Euclidean projection onto the simplex), its losses, and the
Fenchel-Young construction (Blondel, Martins & Niculae 2020) they come from.

``L(theta; y) = max_fun(theta) - <y, theta>``: with ``max_fun = logsumexp``
this is the softmax cross-entropy (up to the target's entropy), with the
sparsemax "max" the sparsemax loss. Kernels on already-converted arrays
(compute dtype, class axis last); the public signatures live in the adapters
(``jaxloss.optax``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._src.typing import InputLike

# ----------------------------------------------------------------------------
# Fenchel-Young losses (Blondel, Martins & Niculae 2020) from a max function.


def fenchel_young(max_fun: Callable[..., Any]) -> Callable[..., jax.Array]:
  """Builds ``loss(scores, targets, *args, **kwargs)`` over the last axis.

  ``loss = max_fun(scores[..., :], *args, **kwargs) - sum(targets * scores,
  -1)``; ``max_fun`` maps a vector ``[K]`` to a scalar and is mapped over the
  leading axes of ``scores`` (any number of them). Extra arguments are passed
  to ``max_fun`` unchanged (not mapped).
  """

  def fenchel_young_loss(
    scores: InputLike, targets: InputLike, *args, **kwargs
  ) -> jax.Array:
    scores = jnp.asarray(scores)
    targets = jnp.asarray(targets)
    lead = scores.shape[:-1]
    flat = scores.reshape((-1, scores.shape[-1]))
    maxes = jax.vmap(lambda s: max_fun(s, *args, **kwargs))(flat)
    return maxes.reshape(lead) - jnp.sum(targets * scores, axis=-1)

  return fenchel_young_loss


# ----------------------------------------------------------------------------
# Sparsemax: the Euclidean projection onto the simplex, and its losses.


@jax.custom_jvp
def sparsemax(x: jax.Array) -> jax.Array:
  """Euclidean projection of ``x`` onto the probability simplex (last axis).

  ``sparsemax(x) = max(x - tau, 0)`` with the threshold
  ``tau = (sum_{j <= k} u_j - 1) / k``, ``u`` the entries sorted in
  decreasing order and ``k`` the number of ``j`` with
  ``1 / j + u_j - sum_{i <= j} u_i / j > 0`` (Martins & Astudillo 2016,
  Alg. 1). Ties are harmless: tied entries share the threshold.

  The JVP is the projection's Jacobian on the support ``S = {p > 0}``:
  ``dp = s * dx - s * sum(s * dx) / |S|`` with ``s`` the support indicator,
  finite everywhere (``|S| >= 1``).

  Args:
    x: scores ``[..., K]``; ``-inf`` entries get probability 0.

  Returns:
    Probabilities ``[..., K]``: non-negative, summing to 1, often sparse.
  """
  k = x.shape[-1]
  u = -jnp.sort(-x, axis=-1)
  cumsum = jnp.cumsum(u, axis=-1)
  ind = jnp.arange(1, k + 1, dtype=x.dtype)
  ind = jnp.broadcast_to(ind, x.shape)
  support = 1.0 / ind + (u - cumsum / ind) > 0
  size = jnp.sum(support, axis=-1, keepdims=True)
  total = jnp.take_along_axis(cumsum, size - 1, axis=-1)
  return jax.nn.relu(1.0 / size + (x - total / size))


@sparsemax.defjvp
def _sparsemax_jvp(primals, tangents):
  (x,), (dx,) = primals, tangents
  p = sparsemax(x)
  s = (p > 0).astype(p.dtype)
  size = jnp.sum(s, axis=-1, keepdims=True)
  dp = s * dx - s * jnp.sum(s * dx, axis=-1, keepdims=True) / size
  return p, dp


def multiclass_sparsemax_loss(
  labels: jax.Array, scores: jax.Array
) -> jax.Array:
  """Sparsemax loss (Martins & Astudillo 2016, eq. 21) with integer labels.

  ``loss = <p, z - z_y> + (1 - ||p||^2) / 2`` with ``p = sparsemax(z)``: the
  Fenchel-Young loss of the Gini negentropy. Entries outside the support
  do not enter the product, so ``-inf`` scores stay finite. The gradient is
  ``p - onehot(y)``.

  Args:
    labels: integer labels ``[...]``.
    scores: scores ``[..., K]``.

  Returns:
    ``[...]`` losses.
  """
  p = sparsemax(scores)
  true_score = jnp.take_along_axis(scores, labels[..., None], axis=-1)
  shifted = jnp.where(p > 0, scores - true_score, 0.0)
  return jnp.sum(p * shifted, axis=-1) + 0.5 * (1.0 - jnp.sum(p * p, axis=-1))


def binary_sparsemax_loss(labels: jax.Array, logits: jax.Array) -> jax.Array:
  """Binary sparsemax loss (Blondel et al. 2020, sec. 4.4), element-wise.

  ``loss = sparse_plus(-z)`` for a positive label and ``sparse_plus(z)``
  for a negative one, with ``sparse_plus(x) = 0`` for ``x <= -1``,
  ``(x + 1)^2 / 4`` for ``|x| < 1`` and ``x`` for ``x >= 1``.
  """
  return jax.nn.sparse_plus(jnp.where(labels, -logits, logits))
