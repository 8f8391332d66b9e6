"""Specs for the fused LM-head cross-entropy (issue 6).

The generic tests differentiate and vmap over the leading axis of every
input, so the specs fix the LM-head weight (and bias) as constants and
expose ``(embeddings, labels)``; tests/test_lm_cross_entropy.py covers the
weight and bias gradients against the naive path.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import head_w
from tests.specs.lm_common import np_head

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


def _edges(ignore=-100):
  big = np.array([[1e3, -1e3, 5e2, 0.0], [0.0, 0.0, 0.0, 0.0]])
  return [
    (big, np.array([2, 5])),
    (np.zeros((2, D)), np.array([ignore, ignore])),  # every token ignored
    (big * 10, np.array([ignore, 0])),
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
    edge_inputs=lambda: _edges(OPTIONS["ignore_index"]),
    diff_argnums=(0,),
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
]


# ------------------------------------------------------------ fused head


def _head_inputs(rng, b):
  y = rng.integers(0, 9, size=(b,))
  y[1::3] = -100
  return rng.normal(size=(b, 4)), y


def linear_cross_entropy_dft(x, y, **kw):
  """Per-token DFT-scaled loss with the spec's fixed head."""
  return jaxloss.linear_cross_entropy(
    x, head_w(x), y, reduction="none", dft_scaling=True, **kw
  )


linear_cross_entropy_dft.__name__ = "linear_cross_entropy"


def dft_reference(x, y, *, chunk_size, logit_softcap, z_loss):
  # Wu et al. 2025 (DFT): sg(p_y) * (-log p_y), plus the unweighted
  # z-loss z * lse ** 2 (Chowdhery et al. 2022).
  del chunk_size
  z, lse = np_head(x, logit_softcap)
  valid = y != -100
  tgt = np.take_along_axis(z, np.where(valid, y, 0)[:, None], -1)[:, 0]
  v = np.exp(tgt - lse) * (lse - tgt) + z_loss * lse**2
  return np.where(valid, v, 0.0)


def linear_cross_entropy_lse(x, y, **kw):
  """The differentiable per-token log-sum-exp of ``return_token_stats``."""
  _, stats = jaxloss.linear_cross_entropy(
    x, head_w(x), y, return_token_stats=True, **kw
  )
  return stats["lse"]


linear_cross_entropy_lse.__name__ = "linear_cross_entropy"


def lse_reference(x, y, *, chunk_size, logit_softcap):
  del chunk_size
  _, lse = np_head(x, logit_softcap)
  return np.where(y != -100, lse, 0.0)


_HEAD_EDGES = lambda: [  # noqa: E731
  (np.array([[1e3, -1e3, 5e2, 0.0], [0.0] * 4]), np.array([2, 5])),
  (np.zeros((2, 4)), np.array([-100, -100])),
]

SPECS += [
  Spec(
    name="linear_cross_entropy_dft",
    fn=linear_cross_entropy_dft,
    make_inputs=_head_inputs,
    kwargs=dict(chunk_size=4, logit_softcap=3.0, z_loss=0.05),
    reference=dft_reference,
    reference_source="NumPy float64 transcription of DFT (Wu et al. 2025): "
    "stop-gradient p_y times the token NLL, plus the PaLM z-loss",
    edge_inputs=_HEAD_EDGES,
    diff_argnums=(0,),
    grad_check=False,  # the weight is a stop-gradient: not the derivative
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
  Spec(
    name="linear_cross_entropy_lse",
    fn=linear_cross_entropy_lse,
    make_inputs=_head_inputs,
    kwargs=dict(chunk_size=4, logit_softcap=3.0),
    reference=lse_reference,
    reference_source="NumPy float64 log-sum-exp of the capped logits",
    edge_inputs=_HEAD_EDGES,
    diff_argnums=(0,),
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
]
