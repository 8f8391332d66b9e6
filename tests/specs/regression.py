"""Specs of the regression losses (jaxloss/_src/losses/regression.py): the
Keras losses (MSE, MAE, MAPE, MSLE, cosine similarity, Huber, log-cosh) and
the robust ones (smooth L1, pinball, Barron's loss).

References are NumPy float64 transcriptions of the Keras 3.15 formulas
(keras/src/losses/losses.py; Keras itself is compared in
tests/test_keras_parity.py), of PyTorch 2.13's documented formulas, and of
Barron (2019).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.common import EPS
from tests.specs.common import SRC
from tests.specs.common import TORCH
from tests.specs.common import D
from tests.specs.common import pos_inputs


def _reg_inputs(rng, b):
  return rng.normal(size=(b, D)), rng.normal(size=(b, D))


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


def wide_reg_inputs(rng, b):
  return rng.normal(size=(b, D)), rng.normal(size=(b, D)) * 2


def np_smooth_l1(t, p, beta=1.0):
  e = np.abs(p - t)
  if beta == 0:
    return e.mean(-1)
  return np.where(e < beta, 0.5 * e**2 / beta, e - 0.5 * beta).mean(-1)


def np_pinball(t, p, tau=0.5):
  r = t - p
  return np.where(r >= 0, tau * r, (tau - 1) * r).mean(-1)


def np_barron(x, alpha, scale=1.0):
  """Barron 2019, eq. (1) and its limits, eq. (8)."""
  s = (x / scale) ** 2
  if alpha == 2:
    return s / 2
  if alpha == 0:
    return np.log(s / 2 + 1)
  if alpha == -np.inf:
    return 1 - np.exp(-s / 2)
  if alpha == np.inf:
    return np.exp(s / 2) - 1
  b = abs(alpha - 2)
  return b / alpha * ((s / b + 1) ** (alpha / 2) - 1)


def np_robust(t, p, alpha=1.0, scale=1.0):
  alpha = np.broadcast_to(np.asarray(alpha, float), p.shape)
  scale = np.broadcast_to(np.asarray(scale, float), p.shape)
  out = np.vectorize(np_barron)(p - t, alpha, scale)
  return out.mean(-1)


def _robust_edges(huge=1e30):
  """Zero, tiny and huge residuals (``huge`` squared must stay finite in
  float32 for alpha >= 2, where the loss itself grows like x**2)."""
  return [
    (np.zeros((1, 5)), np.zeros((1, 5))),
    (np.zeros((1, 5)), np.array([[huge, -huge, 1e-30, 1e-20, 3.0]])),
  ]


def _robust(name, kwargs, huge=1e30, **extra):
  return Spec(
    f"robust_loss-{name}",
    jaxloss.robust_loss,
    wide_reg_inputs,
    kwargs=kwargs,
    cls=jaxloss.RobustLoss,
    reference=np_robust,
    reference_source="Barron 2019, eqs. (1) and (8)",
    edge_inputs=lambda: _robust_edges(huge),
    **extra,
  )


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
    pos_inputs,
    cls=jaxloss.MeanAbsolutePercentageError,
    reference=np_mape,
    reference_source=SRC,
    half_rtol=0.2,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.ones((1, 3)))],
  ),
  Spec(
    "mean_squared_logarithmic_error",
    jaxloss.mean_squared_logarithmic_error,
    pos_inputs,
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
  # robust
  Spec(
    "smooth_l1",
    jaxloss.smooth_l1,
    wide_reg_inputs,
    kwargs={"beta": 0.7},
    cls=jaxloss.SmoothL1Loss,
    reference=np_smooth_l1,
    reference_source=TORCH.format("SmoothL1Loss"),
    edge_inputs=lambda: [(np.zeros((1, 2)), np.array([[1e30, 0.0]]))],
  ),
  Spec(
    "pinball",
    jaxloss.pinball,
    wide_reg_inputs,
    kwargs={"tau": 0.3},
    cls=jaxloss.PinballLoss,
    reference=np_pinball,
    reference_source="Koenker & Bassett 1978, eq. (1.3)",
    edge_inputs=lambda: [(np.zeros((1, 2)), np.zeros((1, 2)))],
  ),
  _robust("1", {}),
  _robust("0", {"alpha": 0.0}),
  _robust("2", {"alpha": 2.0, "scale": 0.5}, huge=1e15),
  _robust("-inf", {"alpha": -np.inf, "scale": 2.0}),
  _robust("near2", {"alpha": 2.0 - 1e-6}, huge=1e15, grad_eps=1e-5),
  _robust(
    "per-dim",
    {"alpha": (-4.0, 0.0, 1.0, 1.5, 3.0), "scale": (0.5, 1.0, 1.0, 2.0, 3.0)},
    huge=1e8,
  ),
]
