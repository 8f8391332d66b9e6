"""Specs for the contrastive losses at scale (issue 14): CLIP and SigLIP;
CoCa and CLIP distillation (open_clip, issue 27).

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


# ------------------------------------------------------------------- CoCa

T, V = 4, 6  # caption length, vocabulary
COCA_SRC = (
  "NumPy float64: Yu et al. 2022 eq. (3) as open_clip's CoCaLoss sums it: "
  "w_clip * mean CLIP + w_cap * token-mean CE over labels != pad_id"
)


def np_coca(
  x,
  y,
  logits,
  labels,
  *,
  scale,
  clip_loss_weight=1.0,
  caption_loss_weight=2.0,
  pad_id=0,
  chunk_size=None,
):
  clip = np.mean(np_clip(x, y, scale=scale))
  total, count = 0.0, 0
  for b in range(len(labels)):
    for t in range(labels.shape[1]):
      if labels[b, t] == pad_id:
        continue
      total += _lse(logits[b, t]) - logits[b, t, labels[b, t]]
      count += 1
  caption = total / count if count else 0.0
  return np.float64(clip_loss_weight * clip + caption_loss_weight * caption)


def _coca_inputs(rng, b):
  x, y = _pairs(rng, b)
  labels = rng.integers(0, V, size=(b, T))
  labels[:, -1] = 0  # padding
  return x, y, rng.normal(size=(b, T, V)), labels


def _coca_edges():
  x = np.eye(3, D)
  big = 1e4 * np.eye(V)[np.array([[1, 2, 0, 0]] * 3)]
  return [
    (x, x, big, np.array([[1, 2, 0, 0]] * 3)),
    (x, -x, np.zeros((3, T, V)), np.zeros((3, T), int)),  # no tokens
  ]


def _coca_mismatch(args):
  x, y, logits, labels = args
  return x, y, logits, labels[:, :-1]


SPECS += [
  Spec(
    name="coca_loss",
    fn=jaxloss.coca_loss,
    make_inputs=_coca_inputs,
    kwargs=dict(scale=2.0, chunk_size=3),
    cls=jaxloss.CoCaLoss,
    reference=np_coca,
    reference_source=COCA_SRC,
    edge_inputs=_coca_edges,
    diff_argnums=(0, 1, 2),
    per_sample=False,
    value_rank=0,
    mismatch=_coca_mismatch,
  ),
]


# ------------------------------------------------------- CLIP distillation

DT = 3  # the teacher's embedding width (not the student's)
DISTILL_SRC = (
  "NumPy float64 loops over open_clip's DistillClipLoss (loss.py): "
  "w_clip * CLIP_i + w_distill * 0.5 * (-sum_j p_ij log q_ij - sum_j "
  "p'_ji log q'_ji), p / q the teacher's / student's softmax over rows "
  "(p', q' over columns)"
)


def _log_softmax(v):
  return v - _lse(v)


def np_distill_clip(
  x,
  y,
  tx,
  ty,
  *,
  scale,
  teacher_scale,
  clip_loss_weight=1.0,
  distill_loss_weight=1.0,
  where=None,
  chunk_size=None,
):
  """Per-row values; rows with ``where`` False are dropped, give 0."""
  clip = np_clip(x, y, scale=scale, where=where)
  keep = np.ones(len(x), bool) if where is None else np.asarray(where)
  idx = np.flatnonzero(keep)
  out = np.zeros(len(x))
  for i in idx:
    total = 0.0
    for s_vec, t_vec in (
      (  # image i against every text
        [scale * x[i] @ y[j] for j in idx],
        [teacher_scale * tx[i] @ ty[j] for j in idx],
      ),
      (  # text i against every image
        [scale * x[j] @ y[i] for j in idx],
        [teacher_scale * tx[j] @ ty[i] for j in idx],
      ),
    ):
      p = np.exp(_log_softmax(np.array(t_vec)))
      total -= np.sum(p * _log_softmax(np.array(s_vec)))
    out[i] = clip_loss_weight * clip[i] + distill_loss_weight * 0.5 * total
  return out


def _distill_inputs(rng, b):
  x, y = _pairs(rng, b)
  tx = _unit(rng.normal(size=(b, DT)))
  ty = _unit(tx + 0.5 * rng.normal(size=(b, DT)))
  return x, y, tx, ty


def _distill_edges():
  rng = np.random.default_rng(5)
  x = _unit(rng.normal(size=(3, D)))
  t = _unit(rng.normal(size=(3, DT)))
  return [
    (np.zeros((3, D)), np.zeros((3, D)), np.zeros((3, DT)), t),
    (x, x, t, t),  # identical features (student and teacher pairs)
    (x * 1e3, -x * 1e3, t * 1e3, t * 1e3),  # saturated softmaxes
    (x * 1e3, x * 1e3, t * 1e3, -t * 1e3),  # teacher against student
    (x[:1], x[:1], t[:1], t[:1]),  # a batch of one
  ]


SPECS += [
  Spec(
    name="distill_clip_loss",
    fn=jaxloss.distill_clip_loss,
    make_inputs=_distill_inputs,
    kwargs=dict(scale=2.0, teacher_scale=4.0, chunk_size=3),
    cls=jaxloss.DistillCLIPLoss,
    reference=np_distill_clip,
    reference_source=DISTILL_SRC,
    edge_inputs=_distill_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
  Spec(
    name="distill_clip_loss-one_tile-weights",
    fn=jaxloss.distill_clip_loss,
    make_inputs=_distill_inputs,
    # Moderate scales: the distillation term's float32 round-off grows
    # like |teacher logit| * |student logit| * eps (the teacher's softmax
    # weighs the student's logits), beyond the jit contract's 2e-6 at 30.
    kwargs=dict(
      scale=6.0,
      teacher_scale=10.0,
      clip_loss_weight=0.5,
      distill_loss_weight=2.0,
    ),
    reference=np_distill_clip,
    reference_source=DISTILL_SRC,
    edge_inputs=_distill_edges,
    diff_argnums=(0, 1),
    per_sample=False,
  ),
]
