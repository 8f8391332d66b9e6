"""Specs of ArcFace, CosFace and center loss
(jaxloss/_src/losses/margin_softmax.py), the losses behind the learnable
Flax heads.

Each centre-based loss has two specs: one with the centres as an input
(gradients reach them; not ``per_sample``, since vmapping over the batch
would also map the ``[C, D]`` centres) and one with fixed centres, which
takes the per-sample contract (vmap == batch, sample weights, NaN
propagation). References are NumPy float64 transcriptions of the papers'
equations, cited per spec.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels
from tests.specs.common import C
from tests.specs.common import D

FIXED_CENTRES = np.random.default_rng(11).normal(size=(C, D))


def _np_cosines(emb, centres):
  e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
  c = centres / np.linalg.norm(centres, axis=1, keepdims=True)
  return np.clip(e @ c.T, -1.0, 1.0)


def _np_xent(logits, labels):
  z = logits - logits.max(1, keepdims=True)
  log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
  return -log_p[np.arange(len(labels)), labels]


def np_arcface(labels, emb, centres, scale=64.0, margin=0.5):
  """Deng et al. 2019, eq. 3, with the reference code's monotone fallback
  ``cos - m sin(m)`` where ``theta + m > pi``."""
  cos = _np_cosines(emb, centres)
  rows = np.arange(len(labels))
  theta = np.arccos(cos[rows, labels])
  target = np.where(
    theta + margin <= math.pi,
    np.cos(theta + margin),
    cos[rows, labels] - margin * math.sin(margin),
  )
  logits = scale * cos
  logits[rows, labels] = scale * target
  return _np_xent(logits, labels)


def np_cosface(labels, emb, centres, scale=64.0, margin=0.35):
  """Wang et al. 2018, eq. 4: ``s (cos_j - m [j = y])``."""
  logits = scale * (_np_cosines(emb, centres) - margin * np.eye(C)[labels])
  return _np_xent(logits, labels)


def np_center_loss(labels, emb, centres):
  """Wen et al. 2016, eq. 2: ``0.5 ||x_i - c_{y_i}||^2``."""
  return 0.5 * np.sum((emb - centres[labels]) ** 2, axis=1)


def _with_centres(rng, b):
  return (
    int_labels(rng, b, C),
    rng.normal(size=(b, D)),
    rng.normal(size=(C, D)),
  )


def _labelled(rng, b):
  return int_labels(rng, b, C), rng.normal(size=(b, D))


def _centre_edges():
  c = np.eye(C, D)
  labels = np.array([0, 1, 2])
  return [
    (labels, c.copy(), c),  # each embedding on its centre: cos = 1
    (labels, -c, c),  # antipodal: cos = -1, the fallback branch
    (labels, np.zeros((3, D)), c),  # zero embeddings
    (labels, 1e4 * c[[1, 2, 0]], c),  # huge, on another class's centre
    (labels, c.copy(), np.zeros((C, D))),  # zero centres
  ]


def _fixed_edges():
  return [case[:2] for case in _centre_edges()[:4]]


def _fixed(loss):
  """``loss`` with the centres held at FIXED_CENTRES (in y_pred's dtype)."""

  def fn(y_true, y_pred, **kwargs):
    dtype = jnp.asarray(y_pred).dtype
    return loss(y_true, y_pred, jnp.asarray(FIXED_CENTRES, dtype), **kwargs)

  fn.__name__ = loss.__name__  # error messages name the public function
  return fn


def _fixed_reference(np_loss):
  return lambda labels, emb, **kw: np_loss(labels, emb, FIXED_CENTRES, **kw)


def _centre_specs(name, loss, cls, np_loss, source, **kwargs):
  return [
    Spec(
      name,
      loss,
      _with_centres,
      kwargs=kwargs,
      cls=cls,
      reference=np_loss,
      reference_source=source,
      edge_inputs=_centre_edges,
      diff_argnums=(1, 2),
      per_sample=False,
    ),
    Spec(
      f"{name}-fixed-centres",
      _fixed(loss),
      _labelled,
      kwargs=kwargs,
      reference=_fixed_reference(np_loss),
      reference_source=source,
      edge_inputs=_fixed_edges,
    ),
  ]


SPECS = [
  # Scales of 4-8 keep half-precision logits meaningful (64 would not).
  *_centre_specs(
    "arcface",
    jaxloss.arcface,
    jaxloss.ArcFace,
    np_arcface,
    "Deng et al. 2019 eq. 3",
    scale=8.0,
    margin=0.3,
  ),
  *_centre_specs(
    "cosface",
    jaxloss.cosface,
    jaxloss.CosFace,
    np_cosface,
    "Wang et al. 2018 eq. 4",
    scale=8.0,
    margin=0.2,
  ),
  *_centre_specs(
    "center_loss",
    jaxloss.center_loss,
    jaxloss.CenterLoss,
    np_center_loss,
    "Wen et al. 2016 eq. 2",
  ),
]
