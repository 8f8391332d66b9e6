"""Specs of the hinge and margin losses (jaxloss/_src/losses/hinge.py): Keras's
hinge, squared and categorical hinge, and the PyTorch margin losses.

References are NumPy float64 transcriptions of the Keras 3.15 formulas and
of PyTorch 2.13's documented formulas (stored PyTorch values are compared
in tests/test_torch_reference.py).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.common import SRC
from tests.specs.common import TORCH
from tests.specs.common import D
from tests.specs.common import bin_logit_edges_with_zero
from tests.specs.common import bin_logit_inputs
from tests.specs.common import cat_logit_inputs
from tests.specs.common import labels_mismatch
from tests.specs.common import sparse_logit_inputs


def _hinge_labels(t):
  return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_hinge(t, p):
  return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), -1)


def np_squared_hinge(t, p):
  return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, -1)


def np_categorical_hinge(t, p):
  return np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0)


def _pm_logit_inputs(rng, b):
  return 2.0 * rng.integers(0, 2, (b, D)) - 1, rng.normal(size=(b, D)) * 2


def _ranking_inputs(rng, b):
  return (
    2.0 * rng.integers(0, 2, b) - 1,
    rng.normal(size=b),
    rng.normal(size=b),
  )


def _hinge_emb_inputs(rng, b):
  return 2.0 * rng.integers(0, 2, (b, D)) - 1, rng.uniform(0.0, 2.0, (b, D))


def _cosine_inputs(rng, b):
  return (
    2.0 * rng.integers(0, 2, b) - 1,
    rng.normal(size=(b, 3)),
    rng.normal(size=(b, 3)),
  )


def np_soft_margin(t, p):
  return np.logaddexp(0, -t * p).mean(-1)


def np_multilabel_soft_margin(t, p):
  return -(t * -np.logaddexp(0, -p) + (1 - t) * -np.logaddexp(0, p)).mean(-1)


def np_multi_margin(y, x, p=1, margin=1.0):
  n, c = x.shape
  out = np.zeros(n)
  for i in range(n):
    for j in range(c):
      if j != y[i]:
        out[i] += max(0.0, margin - x[i, y[i]] + x[i, j]) ** p
  return out / c


def np_margin_ranking(y, x1, x2, margin=0.0):
  return np.maximum(0, -y * (x1 - x2) + margin)


def np_hinge_embedding(t, p, margin=1.0):
  return np.where(t == 1, p, np.maximum(0, margin - p)).mean(-1)


def np_cosine_embedding(y, x1, x2, margin=0.0):
  cos = (x1 * x2).sum(-1) / np.sqrt(
    ((x1**2).sum(-1) + 1e-12) * ((x2**2).sum(-1) + 1e-12)
  )
  return np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))


def _pm_edges():
  t = np.array([[1.0, -1.0, 1.0]])
  return [(t, np.array([[1e4, -1e4, -1e4]])), (t, np.zeros((1, 3)))]


SPECS = [
  Spec(
    "hinge",
    jaxloss.hinge,
    bin_logit_inputs,
    cls=jaxloss.Hinge,
    reference=np_hinge,
    reference_source=SRC,
  ),
  Spec(
    "squared_hinge",
    jaxloss.squared_hinge,
    bin_logit_inputs,
    cls=jaxloss.SquaredHinge,
    reference=np_squared_hinge,
    reference_source=SRC,
  ),
  Spec(
    "categorical_hinge",
    jaxloss.categorical_hinge,
    cat_logit_inputs,
    cls=jaxloss.CategoricalHinge,
    reference=np_categorical_hinge,
    reference_source=SRC,
  ),
  # margin
  Spec(
    "soft_margin",
    jaxloss.soft_margin,
    _pm_logit_inputs,
    cls=jaxloss.SoftMarginLoss,
    reference=np_soft_margin,
    reference_source=TORCH.format("SoftMarginLoss"),
    edge_inputs=_pm_edges,
  ),
  Spec(
    "multilabel_soft_margin",
    jaxloss.multilabel_soft_margin,
    bin_logit_inputs,
    cls=jaxloss.MultiLabelSoftMarginLoss,
    reference=np_multilabel_soft_margin,
    reference_source=TORCH.format("MultiLabelSoftMarginLoss"),
    edge_inputs=bin_logit_edges_with_zero,
  ),
  Spec(
    "multi_margin",
    jaxloss.multi_margin,
    sparse_logit_inputs,
    cls=jaxloss.MultiMarginLoss,
    reference=np_multi_margin,
    reference_source=TORCH.format("MultiMarginLoss"),
    mismatch=labels_mismatch,
  ),
  Spec(
    "multi_margin-p2",
    jaxloss.multi_margin,
    sparse_logit_inputs,
    kwargs={"p": 2, "margin": 0.5},
    cls=jaxloss.MultiMarginLoss,
    reference=np_multi_margin,
    reference_source=TORCH.format("MultiMarginLoss"),
    mismatch=labels_mismatch,
  ),
  Spec(
    "margin_ranking",
    jaxloss.margin_ranking,
    _ranking_inputs,
    kwargs={"margin": 0.1},
    cls=jaxloss.MarginRankingLoss,
    reference=np_margin_ranking,
    diff_argnums=(1, 2),
    reference_source=TORCH.format("MarginRankingLoss"),
  ),
  Spec(
    "hinge_embedding",
    jaxloss.hinge_embedding,
    _hinge_emb_inputs,
    kwargs={"margin": 1.2},
    cls=jaxloss.HingeEmbeddingLoss,
    reference=np_hinge_embedding,
    reference_source=TORCH.format("HingeEmbeddingLoss"),
  ),
  Spec(
    "cosine_embedding",
    jaxloss.cosine_embedding,
    _cosine_inputs,
    kwargs={"margin": 0.2},
    cls=jaxloss.CosineEmbeddingLoss,
    reference=np_cosine_embedding,
    diff_argnums=(1, 2),
    reference_source=TORCH.format("CosineEmbeddingLoss"),
    edge_inputs=lambda: [
      (np.array([1.0, -1.0]), np.zeros((2, 3)), np.zeros((2, 3))),
      (np.array([1.0, -1.0]), np.zeros((2, 3)), np.ones((2, 3))),
    ],
  ),
]
