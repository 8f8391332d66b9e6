"""A sampler's truncation rule (top-k, top-p, min-p) evaluated inside the
chunked LM head, for :func:`jaxloss.linear_log_probs`'s ``support``.

One forward pass over the vocabulary chunks keeps, per token, the running
top ``K`` scaled logits and their ids (``K`` = ``top_k``, or
``max_candidates``) and the log-sum-exp; the rule then picks the support
among those candidates. The pass carries no gradient (set membership is
piecewise constant); the renormalised log-probabilities are differentiated
by the support path of :func:`jaxloss.linear_log_probs`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import tiling
from jaxloss._src import validation
from jaxloss._src.lm import head


class SamplingRule(NamedTuple):
  """The truncation a sampler applies before drawing a token.

  Applied in vLLM's order to the logits divided by the temperature:
  ``top_k`` keeps the ``k`` largest; ``top_p`` then keeps the smallest
  prefix of those (by decreasing probability, renormalised over the top-k
  when ``top_k`` is set, else over the vocabulary) whose mass reaches
  ``top_p``; ``min_p`` keeps the tokens whose probability is at least
  ``min_p`` times the largest. Without ``top_k`` the candidates are the
  ``max_candidates`` most likely tokens (a static bound: a top-p or min-p
  set larger than it is cut there).

  Examples:
    >>> import jaxloss
    >>> jaxloss.SamplingRule(top_k=50, top_p=0.9)
    SamplingRule(top_k=50, top_p=0.9, min_p=None, max_candidates=64)
  """

  top_k: int | None = None
  top_p: float | None = None
  min_p: float | None = None
  max_candidates: int = 64


def check_rule(caller, rule):
  validation.positive_integer(
    caller, "support.top_k", rule.top_k, optional=True
  )
  validation.check_range(
    caller, "support.top_p", rule.top_p, 0.0, 1.0, low_open=True, optional=True
  )
  validation.check_range(
    caller, "support.min_p", rule.min_p, 0.0, 1.0, low_open=True, optional=True
  )
  validation.positive_integer(
    caller, "support.max_candidates", rule.max_candidates
  )


def _candidates(x, w, b, k, *, temperature, logit_softcap, chunk):
  """Top-``k`` scaled logits ``[N, k]`` (descending), their ids and the
  per-token log-sum-exp over the vocabulary, one chunk at a time."""
  acc = numerics.compute_dtype(x.dtype)
  n = x.shape[0]

  def step(carry, start, size):
    lse, vals, ids = carry
    z = head.chunk_logits(x, w, b, start, size, acc)
    s = head.softcap(z, logit_softcap)[0] / temperature
    lse, _, _ = tiling.lse_add(lse, s)
    cols = (start + jnp.arange(size)).astype(jnp.int32)
    both = jnp.concatenate([vals, s], axis=-1)
    both_ids = jnp.concatenate([ids, jnp.broadcast_to(cols, s.shape)], -1)
    vals, pos = lax.top_k(both, k)
    return lse, vals, jnp.take_along_axis(both_ids, pos, axis=-1)

  carry = (
    tiling.lse_start((n,), acc),
    jnp.full((n, k), -jnp.inf, acc),
    jnp.zeros((n, k), jnp.int32),
  )
  lse, vals, ids = tiling.scan_tiles(step, carry, w.shape[1], chunk, (x, w, b))
  return vals, ids, tiling.finish_lse(lse.m, lse.se)


def support_ids(rule, x, w, b, *, temperature, logit_softcap, chunk_size):
  """The rule's support ``[..., K]`` for hidden states ``x [..., D]`` (ids,
  -1 where a candidate is cut), without gradient."""
  lead = x.shape[:-1]
  x2 = lax.stop_gradient(x.reshape((-1, x.shape[-1])))
  w = lax.stop_gradient(w)
  b = None if b is None else lax.stop_gradient(b)
  vocab = w.shape[1]
  k = min(rule.top_k or rule.max_candidates, vocab)
  vals, ids, lse = _candidates(
    x2,
    w,
    b,
    k,
    temperature=float(temperature),
    logit_softcap=None if logit_softcap is None else float(logit_softcap),
    chunk=tiling.chunk_for(chunk_size, x2.shape[0], vocab),
  )
  keep = jnp.ones(vals.shape, bool)
  if rule.top_p is not None:
    ref = jax.nn.logsumexp(vals, axis=-1) if rule.top_k else lse
    p = jnp.exp(vals - ref[:, None])
    before = jnp.cumsum(p, axis=-1) - p  # mass of the more likely ones
    keep = keep & (before < rule.top_p)
  if rule.min_p is not None:
    keep = keep & (vals >= vals[:, :1] + jnp.log(rule.min_p))
  return jnp.where(keep, ids, -1).reshape(lead + (k,))
