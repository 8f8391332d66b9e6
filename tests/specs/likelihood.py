"""Specs of the likelihood losses (jaxloss/_src/losses/likelihood.py): sigmoid
focal (tfa), Poisson and Gaussian NLL (PyTorch), soft F-beta, weighted kappa,
z-loss.

References are NumPy float64 transcriptions of the papers' formulas or of
the named library's documented formula (tensorflow-addons 0.23, PyTorch
2.13); tests/test_likelihood.py compares stored PyTorch 2.13
values.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import one_hot
from tests.specs import simplex
from tests.specs.common import EPS
from tests.specs.common import TORCH
from tests.specs.common import D
from tests.specs.common import K
from tests.specs.common import bin_inputs
from tests.specs.common import bin_logit_edges_with_zero
from tests.specs.common import bin_logit_inputs
from tests.specs.common import labels_mismatch
from tests.specs.common import sparse_logit_inputs

TFA = "tensorflow-addons 0.23 formula (tensorflow_addons/losses)"


def _count_inputs(rng, b):
  return rng.integers(0, 5, (b, D)).astype(float), rng.normal(size=(b, D))


def _rate_inputs(rng, b):
  return rng.integers(0, 5, (b, D)).astype(float), rng.uniform(0.1, 3, (b, D))


def _gauss_inputs(rng, b):
  return (
    rng.normal(size=(b, D)),
    rng.normal(size=(b, D)),
    rng.uniform(0.2, 2.0, (b, D)),
  )


def _gauss_shared_inputs(rng, b):
  return (
    rng.normal(size=(b, D)),
    rng.normal(size=(b, D)),
    rng.uniform(0.2, 2.0, (b, 1)),
  )


def kappa_inputs(rng, b):
  return one_hot(rng, b, K), simplex(rng, (b, K))


def _sigmoid(z):
  return 1 / (1 + np.exp(-z))


def np_sigmoid_focal(
  t,
  p,
  alpha=0.25,
  gamma=2.0,
  from_logits=False,
  reduced_threshold=None,
  normalized=False,
):
  """tensorflow-addons sigmoid_focal_crossentropy (tf.keras backend BCE);
  with ``reduced_threshold`` the reduced focal factor of Sergievskiy and
  Ponamarev 2019, with ``normalized`` the sum divided by the sum of the
  factors (floored at 1e-6), segmentation-models-pytorch 0.6's formulas."""
  if from_logits:
    q = _sigmoid(p)
    bce = np.maximum(p, 0) - t * p + np.log1p(np.exp(-np.abs(p)))
  else:
    q = p
    c = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(c + EPS) + (1 - t) * np.log(1 - c + EPS))
  p_t = t * q + (1 - t) * (1 - q)
  a_t = t * alpha + (1 - t) * (1 - alpha)
  factor = (1 - p_t) ** gamma
  if reduced_threshold is not None:
    factor = np.where(
      p_t < reduced_threshold, 1.0, ((1 - p_t) / reduced_threshold) ** gamma
    )
  loss = np.sum(a_t * factor * bce, -1)
  if normalized:
    loss = loss / np.maximum(np.sum(factor, -1), 1e-6)
  return loss


def np_poisson_nll(t, p, log_input=True, full=False, eps=1e-8):
  loss = np.exp(p) - t * p if log_input else p - t * np.log(p + eps)
  if full:
    ts = np.where(t > 1, t, 2.0)
    stirling = ts * np.log(ts) - ts + 0.5 * np.log(2 * np.pi * ts)
    loss = loss + np.where(t > 1, stirling, 0.0)
  return loss.mean(-1)


def np_gaussian_nll(t, p, var, full=False, eps=1e-6):
  var = np.broadcast_to(np.maximum(var, eps), p.shape)
  loss = 0.5 * (np.log(var) + (p - t) ** 2 / var)
  if full:
    loss = loss + 0.5 * np.log(2 * np.pi)
  return loss.mean(-1)


def np_fbeta(t, p, beta=1.0):
  tp, fp, fn = (t * p).sum(-1), ((1 - t) * p).sum(-1), (t * (1 - p)).sum(-1)
  b2 = beta**2
  return 1 - (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp + EPS)


def np_fbeta_batch(t, p, beta=1.0, mode="batch"):
  """Macro soft F-beta: counts summed over the batch per class, loops."""
  b2, scores = beta**2, []
  for k in range(t.shape[-1]):
    tk, pk = t[..., k].ravel(), p[..., k].ravel()
    tp = sum(a * b for a, b in zip(tk, pk))
    fp = sum((1 - a) * b for a, b in zip(tk, pk))
    fn = sum(a * (1 - b) for a, b in zip(tk, pk))
    scores.append((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp + EPS))
  return 1 - np.mean(scores)


def np_weighted_kappa(t, p, weightage="quadratic", epsilon=1e-6):
  """tensorflow-addons WeightedKappaLoss.call, transcribed with loops."""
  n, k = p.shape
  power = 1 if weightage == "linear" else 2
  w = (
    np.array([[abs(i - j) ** power for j in range(k)] for i in range(k)], float)
    / (k - 1) ** power
  )
  labels = t.argmax(-1)
  num = sum(w[labels[i], j] * p[i, j] for i in range(n) for j in range(k))
  hist_t, hist_p = t.sum(0), p.sum(0)
  den = (
    sum(hist_t[i] * w[i, j] * hist_p[j] for i in range(k) for j in range(k)) / n
  )
  return np.log(num / den + epsilon)


def np_z_loss(labels, logits):
  m = logits.max(-1)
  return (m + np.log(np.exp(logits - m[:, None]).sum(-1))) ** 2


def _prob_edges():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [
    (t, np.array([[0.0, 1.0, 1.0, 0.0]])),
    (t, np.array([[1e-30, 1 - 1e-7, 0.5, 1e-12]])),
  ]


SMP_NORMALIZED = (
  "NumPy: segmentation-models-pytorch 0.6 focal_loss_with_logits "
  "(normalized=True) over each sample's last axis (stored library values "
  "in tests/test_segmentation_options.py)"
)

SPECS = [
  # likelihood
  Spec(
    "sigmoid_focal_crossentropy",
    jaxloss.sigmoid_focal_crossentropy,
    bin_inputs,
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=TFA,
    edge_inputs=_prob_edges,
  ),
  Spec(
    "sigmoid_focal_crossentropy-logits",
    jaxloss.sigmoid_focal_crossentropy,
    bin_logit_inputs,
    kwargs={"from_logits": True, "alpha": 0.6, "gamma": 0.5},
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=TFA,
    edge_inputs=bin_logit_edges_with_zero,
  ),
  Spec(
    "sigmoid_focal_crossentropy-reduced",
    jaxloss.sigmoid_focal_crossentropy,
    bin_logit_inputs,
    kwargs={"from_logits": True, "reduced_threshold": 0.4},
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source="NumPy: Sergievskiy and Ponamarev 2019, "
    "segmentation-models-pytorch 0.6 focal_loss_with_logits",
    edge_inputs=bin_logit_edges_with_zero,
  ),
  Spec(
    "sigmoid_focal_crossentropy-normalized",
    jaxloss.sigmoid_focal_crossentropy,
    bin_logit_inputs,
    kwargs={"from_logits": True, "normalized": True},
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=SMP_NORMALIZED,
    edge_inputs=bin_logit_edges_with_zero,
  ),
  Spec(
    "sigmoid_focal_crossentropy-normalized-reduced",
    jaxloss.sigmoid_focal_crossentropy,
    bin_inputs,
    kwargs={"normalized": True, "reduced_threshold": 0.5, "gamma": 1.5},
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=SMP_NORMALIZED,
    edge_inputs=_prob_edges,
  ),
  Spec(
    "poisson_nll-full",
    jaxloss.poisson_nll,
    _count_inputs,
    kwargs={"full": True},
    cls=jaxloss.PoissonNLLLoss,
    reference=np_poisson_nll,
    reference_source=TORCH.format("PoissonNLLLoss"),
    edge_inputs=lambda: [(np.zeros((1, 3)), np.array([[-50.0, 0, 30]]))],
  ),
  Spec(
    "poisson_nll-rate",
    jaxloss.poisson_nll,
    _rate_inputs,
    kwargs={"log_input": False},
    cls=jaxloss.PoissonNLLLoss,
    reference=np_poisson_nll,
    reference_source=TORCH.format("PoissonNLLLoss"),
    edge_inputs=lambda: [(np.array([[0.0, 3.0]]), np.zeros((1, 2)))],
  ),
  Spec(
    "gaussian_nll-full",
    jaxloss.gaussian_nll,
    _gauss_inputs,
    kwargs={"full": True},
    cls=jaxloss.GaussianNLLLoss,
    reference=np_gaussian_nll,
    diff_argnums=(1, 2),
    reference_source=TORCH.format("GaussianNLLLoss"),
    edge_inputs=lambda: [(np.zeros((1, 2)), np.ones((1, 2)), np.zeros((1, 2)))],
  ),
  Spec(
    "gaussian_nll-shared-var",
    jaxloss.gaussian_nll,
    _gauss_shared_inputs,
    kwargs={"eps": 1e-3},
    cls=jaxloss.GaussianNLLLoss,
    reference=np_gaussian_nll,
    diff_argnums=(1, 2),
    reference_source=TORCH.format("GaussianNLLLoss"),
  ),
  Spec(
    "fbeta_loss",
    jaxloss.fbeta_loss,
    bin_inputs,
    kwargs={"beta": 2.0},
    cls=jaxloss.FBetaLoss,
    reference=np_fbeta,
    reference_source="van Rijsbergen 1979 F-measure on soft counts",
    edge_inputs=lambda: [
      (np.zeros((1, 3)), np.zeros((1, 3))),
      (np.ones((1, 3)), np.ones((1, 3))),
    ],
  ),
  Spec(
    "fbeta_loss-batch",
    jaxloss.fbeta_loss,
    bin_inputs,
    kwargs={"beta": 2.0, "mode": "batch"},
    cls=jaxloss.FBetaLoss,
    reference=np_fbeta_batch,
    per_sample=False,
    value_rank=0,
    reference_source="van Rijsbergen 1979 F-measure on soft counts "
    "summed over the batch, macro over classes",
    edge_inputs=lambda: [
      (np.zeros((2, 3)), np.zeros((2, 3))),
      (np.ones((2, 3)), np.ones((2, 3))),
    ],
  ),
  Spec(
    "weighted_kappa_loss",
    jaxloss.weighted_kappa_loss,
    kappa_inputs,
    cls=jaxloss.WeightedKappaLoss,
    reference=np_weighted_kappa,
    reference_source=TFA,
    per_sample=False,
    value_rank=0,
    edge_inputs=lambda: [(np.eye(3), np.eye(3)), (np.eye(3), np.zeros((3, 3)))],
  ),
  Spec(
    "z_loss",
    jaxloss.z_loss,
    sparse_logit_inputs,
    cls=jaxloss.ZLoss,
    reference=np_z_loss,
    reference_source="Chowdhery et al. 2022 (PaLM), sec. 5",
    mismatch=labels_mismatch,
    edge_inputs=lambda: [
      (np.array([0, 1]), np.array([[1e4, -1e4, 0, 0], [0, 0, 0, 0]]))
    ],
  ),
]
