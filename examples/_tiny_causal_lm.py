"""A very small causal LM in plain JAX, shared by the post-training examples.

Hidden state at position ``t``: ``tanh((mean of the token embeddings up to
t) @ w_mix + pos[t])``; the LM head ``[H, V]`` is kept separate so that the
fused losses (:func:`jaxloss.linear_log_probs`) take the hidden states and
the head weight, never the logits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def init(key, vocab, hidden, length):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  return {
    "embed": jax.random.normal(k1, (vocab, hidden)) * 0.5,
    "mix": jax.random.normal(k2, (hidden, hidden)) / jnp.sqrt(hidden),
    "pos": jax.random.normal(k3, (length, hidden)) * 0.1,
    "head": jax.random.normal(k4, (hidden, vocab)) * 0.1,
  }


def hidden_states(params, tokens):
  """``[B, L] -> [B, L, H]``; position ``t`` sees tokens ``0..t``."""
  e = params["embed"][tokens]
  counts = jnp.arange(1, tokens.shape[1] + 1, dtype=e.dtype)[None, :, None]
  mean = jnp.cumsum(e, axis=1) / counts
  return jnp.tanh(mean @ params["mix"] + params["pos"][None, : tokens.shape[1]])


def sgd(params, grads, lr):
  return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def adam(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
  """One Adam step (Kingma and Ba 2015); ``state = (m, v, t)``."""
  m, v, t = state
  t = t + 1
  m = jax.tree.map(lambda a, g: b1 * a + (1 - b1) * g, m, grads)
  v = jax.tree.map(lambda a, g: b2 * a + (1 - b2) * g * g, v, grads)
  c1, c2 = 1 - b1**t, 1 - b2**t
  params = jax.tree.map(
    lambda p, a, b: p - lr * (a / c1) / (jnp.sqrt(b / c2) + eps), params, m, v
  )
  return params, (m, v, t)


def adam_init(params):
  zeros = jax.tree.map(jnp.zeros_like, params)
  return (zeros, zeros, 0)
