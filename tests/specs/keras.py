"""Specs for the 22 Keras 3 losses.

References are NumPy float64 transcriptions of the formulas in the Keras 3.15
docstrings and source (keras/src/losses/losses.py, and the JAX backend's
keras/src/backend/jax/nn.py for the cross-entropies); Keras itself is
compared in tests/test_keras_parity.py.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels
from tests.specs import one_hot
from tests.specs import probs
from tests.specs import simplex

EPS = 1e-7
SRC = "NumPy transcription of the Keras 3.15 formula (keras/src/losses)"
D = 5  # event size
K = 4  # classes


def _reg_inputs(rng, b):
  return rng.normal(size=(b, D)), rng.normal(size=(b, D))


def _pos_inputs(rng, b):
  return rng.uniform(0.1, 3.0, (b, D)), rng.uniform(0.1, 3.0, (b, D))


def _bin_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), probs(rng, (b, D))


def _bin_logit_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), rng.normal(size=(b, D)) * 3


def _cat_inputs(rng, b):
  return one_hot(rng, b, K), simplex(rng, (b, K))


def _cat_logit_inputs(rng, b):
  return one_hot(rng, b, K), rng.normal(size=(b, K)) * 3


def _sparse_inputs(rng, b):
  return int_labels(rng, (b,), K), simplex(rng, (b, K))


def _sparse_logit_inputs(rng, b):
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3


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


# ------------------------------------------------------------- references


def np_mse(t, p):
  return np.mean((t - p) ** 2, -1)


def np_mae(t, p):
  return np.mean(np.abs(t - p), -1)


def np_mape(t, p):
  return 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1)


def np_msle(t, p):
  return np.mean(
    (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1
  )


def np_cosine(t, p, axis=-1):
  def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)

  return -np.sum(unit(t) * unit(p), axis)


def np_huber(t, p, delta=1.0):
  e = np.abs(p - t)
  return np.mean(
    np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), -1
  )


def np_log_cosh(t, p):
  return np.mean(np.log(np.cosh(p - t)), -1)


def _hinge_labels(t):
  return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def np_hinge(t, p):
  return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), -1)


def np_squared_hinge(t, p):
  return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, -1)


def np_categorical_hinge(t, p):
  return np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0)


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


def np_dice(t, p, axis=None):
  inter = np.sum(t * p, axis=axis)
  return 1 - 2 * inter / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)


def np_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
  tp = np.sum(t * p, axis=axis)
  fp = np.sum((1 - t) * p, axis=axis)
  fn = np.sum(t * (1 - p), axis=axis)
  return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _np_lse(x, mask):
  if not mask.any():
    return -np.inf
  m = x[mask].max()
  return m + np.log(np.exp(x[mask] - m).sum())


def np_circle(y, e, remove_diagonal=True, gamma=80.0, margin=0.4):
  """Sun et al. 2020, in Keras 3.15's pairwise-cosine form."""
  d = np.maximum(1 - e @ e.T, 0)
  pos = y[:, None] == y[None, :]
  neg = ~pos
  if remove_diagonal:
    pos = pos & ~np.eye(len(y), dtype=bool)
  out = []
  for i in range(len(y)):
    ap = np.maximum((margin + d[i]) * pos[i], 0)
    an = np.maximum((1 + margin - d[i]) * neg[i], 0)
    lp = _np_lse(-gamma * ap * (margin - d[i]), pos[i])
    ln = _np_lse(gamma * an * (1 - margin - d[i]), neg[i])
    s = lp + ln
    out.append(0.0 if s == -np.inf else np.logaddexp(0, s))
  return np.array(out)


def np_ctc(labels, logits):
  """Brute force over all alignments (Graves et al. 2006): sum of paths."""
  import itertools

  b, t, k = logits.shape
  z = logits - logits.max(-1, keepdims=True)
  logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
  out = []
  for i in range(b):
    target = [c for c in labels[i] if c != 0]
    total = -np.inf
    for path in itertools.product(range(k), repeat=t):
      collapsed = [
        c for j, c in enumerate(path) if c != 0 and (j == 0 or c != path[j - 1])
      ]
      if collapsed == target:
        total = np.logaddexp(
          total, sum(logp[i, j, c] for j, c in enumerate(path))
        )
    out.append(-total)
  return np.array(out)


# ------------------------------------------------------------------ specs


def _unit_embeddings(rng, b):
  e = rng.normal(size=(b, 3))
  labels = np.arange(b) % 2
  return labels, e / np.linalg.norm(e, axis=-1, keepdims=True)


def _ctc_inputs(rng, b):
  labels = np.zeros((b, 2), np.int64)
  labels[:, 0] = rng.integers(1, 3, size=b)
  labels[::2, 1] = rng.integers(1, 3, size=(b + 1) // 2)
  return labels, rng.normal(size=(b, 4, 3))


def _ctc_mismatch(args):
  labels, logits = args
  return labels[:-1], logits


def _labels_mismatch(args):
  labels, *rest = args
  return (np.concatenate([labels, labels[:1]]), *rest)


SPECS = [
  Spec(
    "mean_squared_error",
    jaxloss.mean_squared_error,
    _reg_inputs,
    cls=jaxloss.MeanSquaredError,
    reference=np_mse,
    reference_source=SRC,
  ),
  Spec(
    "mean_absolute_error",
    jaxloss.mean_absolute_error,
    _reg_inputs,
    cls=jaxloss.MeanAbsoluteError,
    reference=np_mae,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.zeros((1, 3)))],
  ),
  Spec(
    "mean_absolute_percentage_error",
    jaxloss.mean_absolute_percentage_error,
    _pos_inputs,
    cls=jaxloss.MeanAbsolutePercentageError,
    reference=np_mape,
    reference_source=SRC,
    half_rtol=0.2,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.ones((1, 3)))],
  ),
  Spec(
    "mean_squared_logarithmic_error",
    jaxloss.mean_squared_logarithmic_error,
    _pos_inputs,
    cls=jaxloss.MeanSquaredLogarithmicError,
    reference=np_msle,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.array([[0.0, -1.0, 1e6]]))],
  ),
  Spec(
    "cosine_similarity",
    jaxloss.cosine_similarity,
    _reg_inputs,
    cls=jaxloss.CosineSimilarity,
    reference=np_cosine,
    reference_source=SRC,
    edge_inputs=lambda: [
      (np.zeros((2, 3)), np.zeros((2, 3))),
      (np.ones((2, 3)), np.zeros((2, 3))),
    ],
  ),
  Spec(
    "huber",
    jaxloss.huber,
    _reg_inputs,
    kwargs={"delta": 0.7},
    cls=jaxloss.Huber,
    reference=np_huber,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 2)), np.array([[1e30, -1e30]]))],
  ),
  Spec(
    "log_cosh",
    jaxloss.log_cosh,
    _reg_inputs,
    cls=jaxloss.LogCosh,
    reference=np_log_cosh,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 2)), np.array([[1e4, -1e4]]))],
  ),
  Spec(
    "hinge",
    jaxloss.hinge,
    _bin_logit_inputs,
    cls=jaxloss.Hinge,
    reference=np_hinge,
    reference_source=SRC,
  ),
  Spec(
    "squared_hinge",
    jaxloss.squared_hinge,
    _bin_logit_inputs,
    cls=jaxloss.SquaredHinge,
    reference=np_squared_hinge,
    reference_source=SRC,
  ),
  Spec(
    "categorical_hinge",
    jaxloss.categorical_hinge,
    _cat_logit_inputs,
    cls=jaxloss.CategoricalHinge,
    reference=np_categorical_hinge,
    reference_source=SRC,
  ),
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
    _pos_inputs,
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
    _bin_inputs,
    kwargs={"label_smoothing": 0.1},
    cls=jaxloss.BinaryCrossentropy,
    reference=np_bce,
    reference_source=SRC,
    edge_inputs=_bin_edges,
  ),
  Spec(
    "binary_crossentropy-logits",
    jaxloss.binary_crossentropy,
    _bin_logit_inputs,
    kwargs={"from_logits": True},
    cls=jaxloss.BinaryCrossentropy,
    reference=np_bce,
    reference_source=SRC,
    edge_inputs=_bin_logit_edges,
  ),
  Spec(
    "binary_focal_crossentropy",
    jaxloss.binary_focal_crossentropy,
    _bin_inputs,
    kwargs={"apply_class_balancing": True, "gamma": 1.5},
    cls=jaxloss.BinaryFocalCrossentropy,
    reference=np_binary_focal,
    reference_source=SRC,
    edge_inputs=_bin_edges,
  ),
  Spec(
    "binary_focal_crossentropy-logits",
    jaxloss.binary_focal_crossentropy,
    _bin_logit_inputs,
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
    _cat_logit_inputs,
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
    _cat_logit_inputs,
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
    mismatch=_labels_mismatch,
  ),
  Spec(
    "sparse_categorical_crossentropy-logits-ignore",
    jaxloss.sparse_categorical_crossentropy,
    _sparse_logit_inputs,
    kwargs={"from_logits": True, "ignore_index": 2, "label_smoothing": 0.1},
    cls=jaxloss.SparseCategoricalCrossentropy,
    reference=np_sparse_cce,
    reference_source=SRC,
    edge_inputs=lambda: _sparse_edges(True),
    mismatch=_labels_mismatch,
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
    mismatch=_labels_mismatch,
  ),
  Spec(
    "dice",
    jaxloss.dice,
    _bin_inputs,
    kwargs={"axis": 1},
    cls=jaxloss.Dice,
    reference=np_dice,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.zeros((1, 3)))],
  ),
  Spec(
    "dice-all-axes",
    jaxloss.dice,
    _bin_inputs,
    cls=jaxloss.Dice,
    reference=np_dice,
    reference_source=SRC,
    per_sample=False,
    value_rank=0,
  ),
  Spec(
    "tversky",
    jaxloss.tversky,
    _bin_inputs,
    kwargs={"alpha": 0.7, "beta": 0.3, "axis": 1},
    cls=jaxloss.Tversky,
    reference=np_tversky,
    reference_source="Salehi et al. 2017, eq. (3) (alpha on FP)",
    edge_inputs=lambda: [(np.zeros((1, 3)), np.zeros((1, 3)))],
  ),
  Spec(
    "circle",
    jaxloss.circle,
    _unit_embeddings,
    kwargs={"gamma": 4.0, "margin": 0.25},
    cls=jaxloss.Circle,
    reference=np_circle,
    reference_source="Sun et al. 2020, eq. (4) in Keras 3.15's form",
    per_sample=False,
    mismatch=_labels_mismatch,
    edge_inputs=lambda: [
      (np.array([0, 1]), np.eye(2)),
      (np.array([0, 0]), np.eye(2)[[0, 0]]),
    ],
  ),
  Spec(
    "ctc",
    jaxloss.ctc,
    _ctc_inputs,
    cls=jaxloss.CTC,
    reference=np_ctc,
    reference_source="brute-force sum over alignments (Graves 2006)",
    mismatch=_ctc_mismatch,
    edge_inputs=lambda: [
      (np.array([[1, 2]]), np.array([[[1e4, -1e4, 0.0]] * 3]))
    ],
  ),
]
