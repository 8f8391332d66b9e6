"""Specs for the contrastive losses at scale (issue 14): CLIP and SigLIP.

Both compare every row with every other row of the batch, so the values are
not per-sample (``per_sample=False``: vmap over a batch of one is another
loss). The sharded forms run inside ``shard_map`` and are covered by
tests/test_contrastive.py against the same references.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

D = 5
CLIP_SRC = (
  "NumPy float64 loops over Radford et al. 2021, figure 3: "
  "0.5 (lse_j l[i, j] - l[i, i]) + 0.5 (lse_j l[j, i] - l[i, i]), "
  "l = scale * x @ y.T"
)
SIGLIP_SRC = (
  "NumPy float64 loops over Zhai et al. 2023, eq. (1): "
  "-sum_j log sigmoid(z_ij (scale x_i . y_j + bias)), z = 2 I - 1"
)


def _lse(v):
  m = np.max(v)
  return m + np.log(np.sum(np.exp(v - m)))


def np_clip(x, y, *, scale, where=None, chunk_size=None):
  """Per-row CLIP values; rows with ``where`` False are dropped, give 0."""
  del chunk_size
  keep = np.ones(len(x), bool) if where is None else np.asarray(where)
  idx = np.flatnonzero(keep)
  out = np.zeros(len(x))
  for i in idx:
    row = np.array([scale * x[i] @ y[j] for j in idx])
    col = np.array([scale * x[j] @ y[i] for j in idx])
    pos = scale * x[i] @ y[i]
    out[i] = 0.5 * (_lse(row) - pos) + 0.5 * (_lse(col) - pos)
  return out


def _log_sigmoid(v):
  return -np.logaddexp(0.0, -v)


def np_siglip(x, y, *, scale, bias, where=None, chunk_size=None):
  """Per-row SigLIP values; rows with ``where`` False are dropped, give 0."""
  del chunk_size
  keep = np.ones(len(x), bool) if where is None else np.asarray(where)
  idx = np.flatnonzero(keep)
  out = np.zeros(len(x))
  for i in idx:
    total = 0.0
    for j in idx:
      z = 1.0 if i == j else -1.0
      total -= _log_sigmoid(z * (scale * x[i] @ y[j] + bias))
    out[i] = total
  return out


def _unit(v):
  return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _pairs(rng, b):
  x = _unit(rng.normal(size=(b, D)))
  y = _unit(x + 0.5 * rng.normal(size=(b, D)))
  return x, y


def _edges():
  rng = np.random.default_rng(3)
  x = _unit(rng.normal(size=(3, D)))
  return [
    (np.zeros((3, D)), np.zeros((3, D))),  # all similarities 0
    (x, x),  # perfect pairs
    (x * 1e3, -x * 1e3),  # saturated logits of both signs
    (x[:1], x[:1]),  # a batch of one
  ]


SPECS = [
  Spec(
    name="clip_loss",
    fn=jaxloss.clip_loss,
    make_inputs=_pairs,
    kwargs=dict(scale=2.0, chunk_size=3),
    cls=jaxloss.CLIPLoss,
    reference=np_clip,
    reference_source=CLIP_SRC,
    edge_inputs=_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
  Spec(
    name="clip_loss-one_tile",
    fn=jaxloss.clip_loss,
    make_inputs=_pairs,
    kwargs=dict(scale=14.0),
    reference=np_clip,
    reference_source=CLIP_SRC,
    edge_inputs=_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
  Spec(
    name="siglip_loss",
    fn=jaxloss.siglip_loss,
    make_inputs=_pairs,
    kwargs=dict(scale=3.0, bias=-1.5, chunk_size=3),
    cls=jaxloss.SigLIPLoss,
    reference=np_siglip,
    reference_source=SIGLIP_SRC,
    edge_inputs=_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
  Spec(
    name="siglip_loss-one_tile",
    fn=jaxloss.siglip_loss,
    make_inputs=_pairs,
    kwargs=dict(scale=10.0, bias=-10.0),
    reference=np_siglip,
    reference_source=SIGLIP_SRC,
    edge_inputs=_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
]
