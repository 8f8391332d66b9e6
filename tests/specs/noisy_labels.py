"""Specs for the noisy-label losses.

References are NumPy float64 transcriptions of the papers' formulas in
probability space, with the authors' published clamps and iteration where
the paper leaves them open.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import one_hot
from tests.specs import simplex
from tests.specs.imbalance import labels_mismatch
from tests.specs.imbalance import np_softmax
from tests.specs.imbalance import sparse_edges
from tests.specs.imbalance import sparse_inputs

K = 4
BITEMPERED = (
  "Amid et al. 2019, eqs. (5)-(13); fixed-point normalisation "
  "of the authors' google/bi-tempered-loss"
)
SCE = "Wang et al. 2019, eqs. (4)-(6); authors' SCELoss clamps 1e-7, 1e-4"
TAYLOR = "Feng et al. 2020, eq. (8)"
APL = "Ma et al. 2020, eqs. (3), (7); authors' NCE/NFL/RCE/MAE"


# ------------------------------------------------------------------ inputs


def soft_inputs(rng, b):
  return simplex(rng, (b, K)), rng.normal(size=(b, K)) * 2


def onehot_inputs(rng, b):
  return one_hot(rng, b, K), rng.normal(size=(b, K)) * 2


def dense_edges():
  return [
    (
      np.eye(K)[[0, 3]],
      np.array([[1e4, -1e4, 0.0, 0.0], [-1e4, 1e4, 0.0, 0.0]]),
    ),
    (np.full((1, K), 1.0 / K), np.zeros((1, K))),
  ]


# -------------------------------------------------------------- references


def np_log_t(u, t):
  return np.log(u) if t == 1 else (u ** (1 - t) - 1) / (1 - t)


def np_exp_t(u, t):
  if t == 1:
    return np.exp(u)
  return np.maximum(1 + (1 - t) * u, 0) ** (1 / (1 - t))


def np_tempered_softmax(a, t, num_iters=5):
  """Amid et al.'s fixed point for the normaliser (t > 1), then exp_t."""
  if t == 1:
    return np_softmax(a)
  mu = a.max(-1, keepdims=True)
  a0 = a - mu
  x = a0
  for _ in range(num_iters):
    partition = np_exp_t(x, t).sum(-1, keepdims=True)
    x = a0 * partition ** (1 - t)
  partition = np_exp_t(x, t).sum(-1, keepdims=True)
  lam = -np_log_t(1 / partition, t) + mu
  return np_exp_t(a - lam, t)


def np_bitempered(y, a, t1=1.0, t2=1.0, label_smoothing=0.0, num_iters=5):
  c = a.shape[-1]
  if label_smoothing:
    s = label_smoothing
    y = (1 - c / (c - 1) * s) * y + s / (c - 1)
  p = np_tempered_softmax(a, t2, num_iters)
  first = y * (np_log_t(y + 1e-10, t1) - np_log_t(p, t1))
  second = (y ** (2 - t1) - p ** (2 - t1)) / (2 - t1)
  return (first - second).sum(-1)


def np_rce(y, z):
  p = np.clip(np_softmax(z), 1e-7, 1)
  return -(p * np.log(np.clip(np.eye(z.shape[-1])[y], 1e-4, 1))).sum(-1)


def np_symmetric(y, z, alpha=0.1, beta=1.0):
  p = np_softmax(z)
  return alpha * -np.log(p[np.arange(len(y)), y]) + beta * np_rce(y, z)


def np_taylor(y, z, order=2):
  p_y = np_softmax(z)[np.arange(len(y)), y]
  return sum((1 - p_y) ** k / k for k in range(1, order + 1))


def np_active_passive(
  y, z, active="nce", passive="rce", alpha=1.0, beta=1.0, gamma=0.5
):
  p = np_softmax(z)
  log_p = np.log(p)
  rows = np.arange(len(y))
  g = gamma if active == "nfl" else 0.0
  terms = (1 - p) ** g * log_p
  act = terms[rows, y] / terms.sum(-1)
  pas = np_rce(y, z) if passive == "rce" else 1 - p[rows, y]
  return alpha * act + beta * pas


# ------------------------------------------------------------------- specs


def _bt(name, inputs, kwargs, **extra):
  return Spec(
    f"bitempered_logistic-{name}",
    jaxloss.bitempered_logistic,
    inputs,
    kwargs=kwargs,
    cls=jaxloss.BitemperedLogistic,
    reference=np_bitempered,
    reference_source=BITEMPERED,
    edge_inputs=dense_edges,
    **extra,
  )


def _sparse(name, fn, cls, ref, src, kwargs=None):
  return Spec(
    name,
    fn,
    sparse_inputs,
    kwargs=kwargs or {},
    cls=cls,
    reference=ref,
    reference_source=src,
    edge_inputs=sparse_edges,
    mismatch=labels_mismatch,
  )


def _apl(active, passive, **kwargs):
  return _sparse(
    f"active_passive_loss-{active}-{passive}",
    jaxloss.active_passive_loss,
    jaxloss.ActivePassiveLoss,
    np_active_passive,
    APL,
    {"active": active, "passive": passive, **kwargs},
  )


# Other variants: tests/test_noisy_labels.py, against the same references.
SPECS = [
  _bt("t1", soft_inputs, {"t1": 0.7}),
  _bt("t2", soft_inputs, {"t1": 0.5, "t2": 2.0, "label_smoothing": 0.1}),
  _sparse(
    "symmetric_crossentropy",
    jaxloss.symmetric_crossentropy,
    jaxloss.SymmetricCrossentropy,
    np_symmetric,
    SCE,
  ),
  _sparse(
    "taylor_crossentropy",
    jaxloss.taylor_crossentropy,
    jaxloss.TaylorCrossentropy,
    np_taylor,
    TAYLOR,
    {"order": 4},
  ),
  _apl("nce", "rce"),
  _apl("nfl", "mae", gamma=2.0),
]
