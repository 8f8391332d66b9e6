"""GRPO on a synthetic reward with a tiny causal LM.

The policy samples ``group`` responses of 4 tokens to each random 2-token
prompt; the reward of a response is the fraction of its tokens equal to a
target id. Advantages are the rewards standardised within each group
(GRPO). The loss is :func:`jaxloss.policy_gradient` on per-token
log-probabilities from :func:`jaxloss.linear_log_probs` (with the entropy,
for logging), with the k3 KL penalty against the frozen initial policy and
token-level normalisation. The mean reward rises from about ``1 / vocab``.

The options reproduce an off-policy setup: ``updates_per_batch > 1`` takes
several optimiser steps on each batch of samples (the importance ratios
against the sampling policy then move away from 1, and
``importance_level="sequence"`` is GSPO), and ``sampler_correction``
samples with a bfloat16 head, as an inference engine in lower precision
would, records that sampler's log-probabilities and corrects for the
mismatch with truncated (``"tis"``) or masked (``"mis"``) importance
weights. examples/gspo_tiny.py runs GSPO with TIS.

Run: ``python examples/grpo_tiny.py``.
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)  # the shared tiny model, next to this file
import _tiny_causal_lm as lm  # noqa: E402

sys.path.remove(_HERE)

import jaxloss  # noqa: E402

PROMPT, RESPONSE, TARGET = 2, 4, 3


def sample(params, key, prompts, vocab, dtype=jnp.float32):
  """Autoregressive sampling of ``RESPONSE`` tokens after ``prompts``, with
  the head computed in ``dtype``; returns the tokens and the sampler's
  log-probabilities of the sampled response tokens."""
  tokens = jnp.concatenate(
    [prompts, jnp.zeros((prompts.shape[0], RESPONSE), jnp.int32)], axis=1
  )
  logps = []
  for t in range(RESPONSE):
    pos = PROMPT + t
    h = lm.hidden_states(params, tokens[:, :pos])[:, -1]
    logits = (h.astype(dtype) @ params["head"].astype(dtype)).astype(
      jnp.float32
    )
    key, sub = jax.random.split(key)
    nxt = jax.random.categorical(sub, logits, axis=-1)
    logp = jax.nn.log_softmax(logits, axis=-1)
    logps.append(jnp.take_along_axis(logp, nxt[:, None], axis=-1)[:, 0])
    tokens = tokens.at[:, pos].set(nxt.astype(jnp.int32))
  return tokens, jnp.stack(logps, axis=1)


def token_logps(params, tokens):
  """Per-token log-probabilities and entropies of the responses,
  ``[B, RESPONSE]`` each."""
  h = lm.hidden_states(params, tokens[:, :-1])[:, PROMPT - 1 :]
  return jaxloss.linear_log_probs(
    h, params["head"], tokens[:, PROMPT:], return_entropy=True
  )


def main(
  steps=40,
  prompts=8,
  group=8,
  vocab=8,
  hidden=16,
  lr=2e-2,
  kl_coef=0.02,
  seed=0,
  verbose=True,
  importance_level="token",
  sampler_correction=None,
  sampler_threshold=2.0,
  updates_per_batch=1,
):
  """Trains; returns the per-step mean reward."""
  key = jax.random.key(seed)
  key, init_key = jax.random.split(key)
  params = lm.init(init_key, vocab, hidden, PROMPT + RESPONSE)
  reference = params
  state = lm.adam_init(params)
  mask = jnp.ones((prompts * group, RESPONSE), bool)

  sampler_dtype = jnp.float32 if sampler_correction is None else jnp.bfloat16

  def loss_fn(params, tokens, adv, old, sampler_logps):
    logps, entropy = token_logps(params, tokens)
    ref, _ = token_logps(reference, tokens)
    loss, comps = jaxloss.policy_gradient(
      logps,
      old,
      adv,
      where=mask,
      importance_level=importance_level,
      sampler_logps=sampler_logps,
      sampler_correction=sampler_correction,
      sampler_threshold=sampler_threshold,
      reference_logps=ref,
      kl_coef=kl_coef,
      entropy=entropy,
      normalization="token",
      return_components=True,
    )
    return loss, comps

  @jax.jit
  def step(params, state, key):
    k1, k2 = jax.random.split(key)
    p = jax.random.randint(k1, (prompts, PROMPT), 0, vocab, jnp.int32)
    tokens, sampler_logps = sample(
      params, k2, jnp.repeat(p, group, axis=0), vocab, sampler_dtype
    )
    if sampler_correction is None:
      sampler_logps = None
    reward = jnp.mean(tokens[:, PROMPT:] == TARGET, axis=-1)
    # (r - group mean) / (group std + 1e-4), each prompt's group a row.
    adv = jaxloss.group_advantages(reward.reshape(prompts, group), ddof=0)
    # The trainer's log-probabilities under the policy that sampled (before
    # this batch's updates); None: on-policy, a single update.
    old = None
    if updates_per_batch > 1 or sampler_correction is not None:
      old = jax.lax.stop_gradient(token_logps(params, tokens)[0])

    def update(params, state):
      (_, comps), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, tokens, adv.reshape(-1), old, sampler_logps
      )
      return *lm.adam(params, grads, state, lr), comps

    params, state, comps = update(params, state)
    for _ in range(updates_per_batch - 1):
      params, state, comps = update(params, state)
    return params, state, jnp.mean(reward), comps

  rewards = []
  for i in range(steps):
    key, sub = jax.random.split(key)
    params, state, reward, comps = step(params, state, sub)
    rewards.append(float(reward))
    if verbose and (i % 10 == 0 or i == steps - 1):
      print(
        f"step {i:3d}  mean reward {reward:.3f}  kl {comps['kl']:.4f}"
        f"  entropy {comps['entropy']:.3f}"
      )
  return np.array(rewards)


if __name__ == "__main__":
  main()
