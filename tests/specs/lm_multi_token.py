"""Specs of ``multi_token_prediction_loss`` (jaxloss/_src/lm/multi_token.py),
against a NumPy float64 transcription of DeepSeek-V3 eq. 24-25.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import head_w
from tests.specs.lm_common import np_head

# ------------------------------------------------------------ MTP

_KD = 3


def _mtp_inputs(rng, b):
  y = rng.integers(0, 9, size=(b, _KD))
  y[:, -1] = np.where(rng.random(b) < 0.5, -100, y[:, -1])
  return rng.normal(size=(b, _KD, 4)), y


def multi_token_prediction_loss(x, y, **kw):
  """The weighted total with the spec's fixed head; the batch leads, so the
  depth axis moves to the front."""
  total, _ = jaxloss.multi_token_prediction_loss(
    jnp.moveaxis(x, 1, 0), head_w(x), jnp.moveaxis(y, 1, 0), **kw
  )
  return total


def mtp_reference(x, y, *, chunk_size):
  # DeepSeek-V3 eq. 24-25 with lambda = 1: mean over depths of each depth's
  # token-mean cross-entropy.
  del chunk_size
  per = []
  for k in range(_KD):
    z, lse = np_head(x[:, k], None)
    valid = y[:, k] != -100
    tgt = np.take_along_axis(z, np.where(valid, y[:, k], 0)[:, None], -1)
    ce = np.where(valid, lse - tgt[:, 0], 0.0)
    per.append(ce.sum() / valid.sum() if valid.any() else 0.0)
  return np.mean(per)


SPECS = [
  Spec(
    name="multi_token_prediction_loss",
    fn=multi_token_prediction_loss,
    make_inputs=_mtp_inputs,
    kwargs=dict(chunk_size=4),
    reference=mtp_reference,
    reference_source="NumPy float64 transcription of DeepSeek-V3 eq. 24-25",
    edge_inputs=lambda: [
      (np.array([[[1e3, -1e3, 5e2, 0.0]] * _KD] * 2), np.zeros((2, _KD), int)),
      (np.zeros((2, _KD, 4)), np.full((2, _KD), -100)),
    ],
    diff_argnums=(0,),
    per_sample=False,
    value_rank=0,
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
]
