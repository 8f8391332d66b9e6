"""Fenchel-Young losses (Blondel, Martins & Niculae 2020) from a max function.

``L(theta; y) = max_fun(theta) - <y, theta>``: with ``max_fun = logsumexp``
this is the softmax cross-entropy (up to the target's entropy), with the
sparsemax "max" (:mod:`jaxloss._src.losses.sparsemax`) the sparsemax loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def fenchel_young(max_fun):
  """Builds ``loss(scores, targets, *args, **kwargs)`` over the last axis.

  ``loss = max_fun(scores[..., :], *args, **kwargs) - sum(targets * scores,
  -1)``; ``max_fun`` maps a vector ``[K]`` to a scalar and is mapped over the
  leading axes of ``scores`` (any number of them). Extra arguments are passed
  to ``max_fun`` unchanged (not mapped).
  """

  def fenchel_young_loss(scores, targets, *args, **kwargs):
    scores = jnp.asarray(scores)
    targets = jnp.asarray(targets)
    lead = scores.shape[:-1]
    flat = scores.reshape((-1, scores.shape[-1]))
    maxes = jax.vmap(lambda s: max_fun(s, *args, **kwargs))(flat)
    return maxes.reshape(lead) - jnp.sum(targets * scores, axis=-1)

  return fenchel_young_loss
