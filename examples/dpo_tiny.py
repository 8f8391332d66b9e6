"""DPO on synthetic preference pairs with a tiny causal LM.

Each example is a prompt of 2 tokens followed by a response of 4; the
*chosen* response is made of "good" tokens (even ids), the *rejected* one of
odd ids. The policy starts as a copy of the (frozen) reference model. Every
step computes the per-token log-probabilities of both responses with
:func:`jaxloss.linear_log_probs` (hidden states and head weight in, the
``[tokens, vocab]`` logits never built; the prompt is ``ignore_index``),
sums them per sequence and minimises :func:`jaxloss.dpo`. The implicit
reward margin ``beta * ((pi_c - ref_c) - (pi_r - ref_r))`` starts at 0 and
rises, and the reward accuracy goes to 1.

Run: ``python examples/dpo_tiny.py``.
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

PROMPT, RESPONSE, IGNORE = 2, 4, -100


def make_pairs(rng, batch, vocab):
  prompts = rng.integers(0, vocab, (batch, PROMPT))
  good = 2 * rng.integers(0, vocab // 2, (batch, RESPONSE))
  bad = good + 1
  chosen = np.concatenate([prompts, good], axis=1)
  rejected = np.concatenate([prompts, bad], axis=1)
  return jnp.asarray(chosen, jnp.int32), jnp.asarray(rejected, jnp.int32)


def sequence_logps(params, tokens):
  """Sum of the response tokens' log-probabilities, ``[B]``."""
  h = lm.hidden_states(params, tokens[:, :-1])
  labels = tokens[:, 1:]
  positions = jnp.arange(labels.shape[1])[None, :]
  labels = jnp.where(positions >= PROMPT - 1, labels, IGNORE)
  logps = jaxloss.linear_log_probs(h, params["head"], labels)
  return jnp.sum(logps, axis=-1)


def main(
  steps=40,
  batch=16,
  vocab=16,
  hidden=16,
  beta=0.5,
  lr=1e-2,
  seed=0,
  verbose=True,
):
  """Trains; returns the per-step ``(loss, margin, accuracy)`` history."""
  rng = np.random.default_rng(seed)
  params = lm.init(jax.random.key(seed), vocab, hidden, PROMPT + RESPONSE)
  reference = params
  state = lm.adam_init(params)

  def loss_fn(params, chosen, rejected):
    ref_c = jax.lax.stop_gradient(sequence_logps(reference, chosen))
    ref_r = jax.lax.stop_gradient(sequence_logps(reference, rejected))
    values, comps = jaxloss.dpo(
      sequence_logps(params, chosen),
      sequence_logps(params, rejected),
      ref_c,
      ref_r,
      beta=beta,
      return_components=True,
    )
    return jnp.mean(values), (
      jnp.mean(comps["margins"]),
      jnp.mean(comps["accuracies"]),
    )

  @jax.jit
  def step(params, state, chosen, rejected):
    (loss, (margin, acc)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      params, chosen, rejected
    )
    params, state = lm.adam(params, grads, state, lr)
    return params, state, loss, margin, acc

  history = []
  for i in range(steps):
    chosen, rejected = make_pairs(rng, batch, vocab)
    params, state, loss, margin, acc = step(params, state, chosen, rejected)
    history.append((float(loss), float(margin), float(acc)))
    if verbose and (i % 10 == 0 or i == steps - 1):
      print(
        f"step {i:3d}  dpo loss {loss:.4f}  reward margin {margin:.3f}"
        f"  accuracy {acc:.2f}"
      )
  return np.array(history)


if __name__ == "__main__":
  main()
