"""Specs for the fused LM-head cross-entropy (issue 6).

The generic tests differentiate and vmap over the leading axis of every
input, so the specs fix the LM-head weight (and bias) as constants and
expose ``(embeddings, labels)``; tests/test_lm.py covers the weight and bias
gradients against the naive path.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec

D, V = 4, 7
_RNG = np.random.default_rng(1234)
_W = _RNG.normal(size=(D, V))
_B = _RNG.normal(size=(V,))
SRC = (
  "NumPy float64 transcription of -log softmax(x @ w + b)[y] with "
  "uniform label smoothing, PaLM z-loss (Chowdhery et al. 2022, sec. 5) "
  "and Gemma-2 soft-capping cap * tanh(z / cap)"
)
OPTIONS = dict(
  label_smoothing=0.2, z_loss=0.05, logit_softcap=2.5, ignore_index=-1
)


def _head(embeddings, use_bias):
  dtype = jnp.result_type(embeddings)
  if not jnp.issubdtype(dtype, jnp.floating):
    dtype = jnp.float32  # the function rejects the embeddings first
  w = jnp.asarray(_W, dtype)
  b = jnp.asarray(_B, dtype) if use_bias else None
  return w, b


def linear_cross_entropy(embeddings, labels, *, bias=False, **kwargs):
  """``jaxloss.linear_cross_entropy`` with the spec's fixed head, per token."""
  w, b = _head(embeddings, bias)
  return jaxloss.linear_cross_entropy(
    embeddings, w, labels, bias=b, reduction="none", **kwargs
  )


def _inputs(rng, b):
  return rng.normal(size=(b, D)), rng.integers(0, V, size=(b,))


def _inputs_ignored(rng, b):
  x, y = _inputs(rng, b)
  y[1::3] = -1  # every third token from the second one is ignored
  return x, y


def reference(
  x,
  y,
  *,
  bias=False,
  chunk_size=None,
  label_smoothing=0.0,
  z_loss=0.0,
  logit_softcap=None,
  ignore_index=-100,
):
  del chunk_size
  z = x @ _W + (_B if bias else 0.0)
  if logit_softcap is not None:
    z = logit_softcap * np.tanh(z / logit_softcap)
  m = z.max(-1, keepdims=True)
  lse = (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[..., 0]
  valid = y != ignore_index
  target = np.take_along_axis(z, np.where(valid, y, 0)[:, None], -1)[:, 0]
  loss = (
    lse
    - (1 - label_smoothing) * target
    - label_smoothing * z.mean(-1)
    + z_loss * lse**2
  )
  return np.where(valid, loss, 0.0)


def _edges():
  big = np.array([[1e3, -1e3, 5e2, 0.0], [0.0, 0.0, 0.0, 0.0]])
  return [
    (big, np.array([2, 5])),
    (np.zeros((2, D)), np.array([-1, -1])),  # every token ignored
    (big * 10, np.array([-1, 0])),
  ]


SPECS = [
  Spec(
    name="linear_cross_entropy",
    fn=linear_cross_entropy,
    make_inputs=_inputs,
    kwargs=dict(chunk_size=3),
    reference=reference,
    reference_source=SRC,
    edge_inputs=_edges,
    diff_argnums=(0,),
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
  Spec(
    name="linear_cross_entropy_all_options",
    fn=linear_cross_entropy,
    make_inputs=_inputs_ignored,
    kwargs=dict(bias=True, chunk_size=2, **OPTIONS),
    reference=reference,
    reference_source=SRC,
    edge_inputs=_edges,
    diff_argnums=(0,),
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
]
