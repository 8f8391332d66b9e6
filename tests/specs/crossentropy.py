"""Specs of the cross-entropy losses (jaxloss/_src/losses/crossentropy.py):
binary, categorical, sparse and focal cross-entropy, generalised CE, KL
divergence and Poisson, in Keras's forms.

References are NumPy float64 transcriptions of the Keras 3.15 formulas
(keras/src/losses/losses.py and the JAX backend's keras/src/backend/jax/nn.py;
Keras itself is compared in tests/test_keras_parity.py).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels
from tests.specs import one_hot
from tests.specs import simplex
from tests.specs.common import EPS
from tests.specs.common import SRC
from tests.specs.common import K
from tests.specs.common import bin_inputs
from tests.specs.common import bin_logit_inputs
from tests.specs.common import cat_logit_inputs
from tests.specs.common import labels_mismatch
from tests.specs.common import pos_inputs
from tests.specs.common import sparse_logit_inputs


def _cat_inputs(rng, b):
  return one_hot(rng, b, K), simplex(rng, (b, K))


def _sparse_inputs(rng, b):
  return int_labels(rng, (b,), K), simplex(rng, (b, K))


def _bin_edges():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [
    (t, np.array([[0.0, 1.0, 1.0, 0.0]])),
    (t, np.array([[1e-30, 1 - 1e-7, 0.5, 1e-12]])),
  ]


def _logit_edges(classes=4):
  t = np.eye(classes)[:2]
  return [
    (t, np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, 1e4, 1e4, 0.0]])),
    (t, np.zeros((2, classes))),
  ]


def _bin_logit_edges():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [(t, np.array([[1e4, -1e4, -1e4, 1e4]]))]


def _cat_prob_edges():
  t = np.eye(4)[:2]
  return [(t, np.eye(4)[[1, 0]]), (t, np.eye(4)[:2])]


def _sparse_edges(logits):
  labels = np.array([0, 3])
  if logits:
    return [(labels, np.array([[1e4, -1e4, 0.0, 0.0], [1e4, 0, 0, -1e4]]))]
  return [(labels, np.eye(4)[[1, 3]])]


def np_kld(t, p):
  t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
  return np.sum(t * np.log(t / p), -1)


def np_poisson(t, p):
  return np.mean(p - t * np.log(p + EPS), -1)


def _sigmoid(z):
  return 1 / (1 + np.exp(-z))


def np_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
  t = t * (1 - label_smoothing) + 0.5 * label_smoothing
  q = _sigmoid(p) if from_logits else np.clip(p, EPS, 1 - EPS)
  return np.mean(-(t * np.log(q) + (1 - t) * np.log(1 - q)), axis)


def np_binary_focal(
  t,
  p,
  apply_class_balancing=False,
  alpha=0.25,
  gamma=2.0,
  from_logits=False,
  label_smoothing=0.0,
  axis=-1,
):
  t = t * (1 - label_smoothing) + 0.5 * label_smoothing
  q = _sigmoid(p) if from_logits else p
  qc = np.clip(q, EPS, 1 - EPS)
  bce = -(t * np.log(qc) + (1 - t) * np.log(1 - qc))
  p_t = t * q + (1 - t) * (1 - q)
  out = (1 - p_t) ** gamma * bce
  if apply_class_balancing:
    out = (t * alpha + (1 - t) * (1 - alpha)) * out
  return np.mean(out, axis)


def _np_log_q(p, from_logits):
  if from_logits:
    z = p - p.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))
  return np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS))


def np_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
  t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
  return -np.sum(t * _np_log_q(p, from_logits), -1)


def np_categorical_focal(
  t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
  t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
  log_q = _np_log_q(p, from_logits)
  q = np.exp(log_q)
  return -np.sum(np.asarray(alpha) * (1 - q) ** gamma * t * log_q, -1)


def np_sparse_cce(
  y, p, from_logits=False, ignore_index=None, axis=-1, label_smoothing=0.0
):
  t = np.eye(p.shape[-1])[np.where(y == ignore_index, 0, y)]
  out = np_cce(t, p, from_logits, label_smoothing)
  return np.where(y == ignore_index, 0.0, out)


def np_gce(y, p, q=0.5):
  return (1 - np.take_along_axis(p, y[:, None], -1)[:, 0] ** q) / q


SPECS = [
  Spec(
    "kl_divergence",
    jaxloss.kl_divergence,
    _cat_inputs,
    cls=jaxloss.KLDivergence,
    reference=np_kld,
    reference_source=SRC,
    edge_inputs=lambda: [
      (np.eye(3)[:2], np.eye(3)[[1, 1]]),
      (np.zeros((2, 3)), np.zeros((2, 3))),
    ],
  ),
  Spec(
    "poisson",
    jaxloss.poisson,
    pos_inputs,
    cls=jaxloss.Poisson,
    reference=np_poisson,
    reference_source=SRC,
    edge_inputs=lambda: [
      (np.zeros((1, 3)), np.zeros((1, 3))),
      (np.ones((1, 3)), np.zeros((1, 3))),
    ],
  ),
  Spec(
    "binary_crossentropy",
    jaxloss.binary_crossentropy,
    bin_inputs,
    kwargs={"label_smoothing": 0.1},
    cls=jaxloss.BinaryCrossentropy,
    reference=np_bce,
    reference_source=SRC,
    edge_inputs=_bin_edges,
  ),
  Spec(
    "binary_crossentropy-logits",
    jaxloss.binary_crossentropy,
    bin_logit_inputs,
    kwargs={"from_logits": True},
    cls=jaxloss.BinaryCrossentropy,
    reference=np_bce,
    reference_source=SRC,
    edge_inputs=_bin_logit_edges,
  ),
  Spec(
    "binary_focal_crossentropy",
    jaxloss.binary_focal_crossentropy,
    bin_inputs,
    kwargs={"apply_class_balancing": True, "gamma": 1.5},
    cls=jaxloss.BinaryFocalCrossentropy,
    reference=np_binary_focal,
    reference_source=SRC,
    edge_inputs=_bin_edges,
  ),
  Spec(
    "binary_focal_crossentropy-logits",
    jaxloss.binary_focal_crossentropy,
    bin_logit_inputs,
    kwargs={"from_logits": True, "gamma": 0.5, "label_smoothing": 0.1},
    cls=jaxloss.BinaryFocalCrossentropy,
    reference=np_binary_focal,
    reference_source=SRC,
    edge_inputs=_bin_logit_edges,
  ),
  Spec(
    "categorical_crossentropy",
    jaxloss.categorical_crossentropy,
    _cat_inputs,
    kwargs={"label_smoothing": 0.2},
    cls=jaxloss.CategoricalCrossentropy,
    reference=np_cce,
    reference_source=SRC,
    edge_inputs=_cat_prob_edges,
  ),
  Spec(
    "categorical_crossentropy-logits",
    jaxloss.categorical_crossentropy,
    cat_logit_inputs,
    kwargs={"from_logits": True},
    cls=jaxloss.CategoricalCrossentropy,
    reference=np_cce,
    reference_source=SRC,
    edge_inputs=_logit_edges,
  ),
  Spec(
    "categorical_focal_crossentropy",
    jaxloss.categorical_focal_crossentropy,
    _cat_inputs,
    kwargs={"alpha": (0.1, 0.2, 0.3, 0.4)},
    cls=jaxloss.CategoricalFocalCrossentropy,
    reference=np_categorical_focal,
    reference_source=SRC,
    edge_inputs=_cat_prob_edges,
  ),
  Spec(
    "categorical_focal_crossentropy-logits",
    jaxloss.categorical_focal_crossentropy,
    cat_logit_inputs,
    kwargs={"from_logits": True, "gamma": 0.5},
    cls=jaxloss.CategoricalFocalCrossentropy,
    reference=np_categorical_focal,
    reference_source=SRC,
    edge_inputs=_logit_edges,
  ),
  Spec(
    "sparse_categorical_crossentropy",
    jaxloss.sparse_categorical_crossentropy,
    _sparse_inputs,
    cls=jaxloss.SparseCategoricalCrossentropy,
    reference=np_sparse_cce,
    reference_source=SRC,
    edge_inputs=lambda: _sparse_edges(False),
    mismatch=labels_mismatch,
  ),
  Spec(
    "sparse_categorical_crossentropy-logits-ignore",
    jaxloss.sparse_categorical_crossentropy,
    sparse_logit_inputs,
    kwargs={"from_logits": True, "ignore_index": 2, "label_smoothing": 0.1},
    cls=jaxloss.SparseCategoricalCrossentropy,
    reference=np_sparse_cce,
    reference_source=SRC,
    edge_inputs=lambda: _sparse_edges(True),
    mismatch=labels_mismatch,
  ),
  Spec(
    "categorical_generalized_cross_entropy",
    jaxloss.categorical_generalized_cross_entropy,
    _sparse_inputs,
    kwargs={"q": 0.7},
    cls=jaxloss.CategoricalGeneralizedCrossEntropy,
    reference=np_gce,
    reference_source="Zhang & Sabuncu 2018, eq. (6); Keras 3.15",
    edge_inputs=lambda: _sparse_edges(False),
    mismatch=labels_mismatch,
  ),
]
