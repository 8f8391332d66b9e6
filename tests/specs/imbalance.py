"""Specs for the class-imbalance losses.

References are NumPy float64 transcriptions of the papers' formulas, written
in probability space (the library works in log space), following the
authors' published conventions where the paper leaves a detail open (weight
normalisation, clamps, the background column).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels

K = 4  # classes
COUNTS = (500, 60, 7, 0)  # a long tail with an empty class
CB = "Cui et al. 2019, eqs. (5)-(8); weights normalised to sum to C"
LDAM = "Cao et al. 2019, eq. (13)"
ASL = "Ridnik et al. 2021, eqs. (3)-(7), authors' AsymmetricLoss clamps"
SEESAW = "Wang et al. 2021, eqs. (2)-(5); mmdetection 2.x seesaw_ce_loss"
EQLV2 = "Tan et al. 2021, eqs. (4)-(9); authors' EQLv2 (background last)"
LA = "Menon et al. 2021, eq. (10); authors' log(pi^tau + 1e-12)"


# ------------------------------------------------------------------ inputs


def sparse_inputs(rng, b):
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3


def cosine_inputs(rng, b):
  return int_labels(rng, (b,), K), rng.uniform(-1, 1, (b, K))


def multilabel_inputs(rng, b):
  return rng.integers(0, 2, (b, K)).astype(float), rng.normal(size=(b, K)) * 3


def seesaw_inputs(rng, b):
  counts = np.array([300.0, 40.0, 5.0, 0.0])
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3, counts


def eqlv2_inputs(rng, b):
  # K - 1 foreground classes and the background column last.
  pos = rng.uniform(0.0, 20.0, K - 1)
  neg = rng.uniform(1.0, 40.0, K - 1)
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3, pos, neg


def labels_mismatch(args):
  labels, *rest = args
  return (np.concatenate([labels, labels[:1]]), *rest)


def sparse_edges():
  """Saturated logits, a label on the empty class, a single class row."""
  return [
    (
      np.array([0, 3]),
      np.array([[1e4, -1e4, 0.0, 0.0], [-1e4, 1e4, 0.0, 0.0]]),
    ),
    (np.array([3, 1]), np.zeros((2, K))),
  ]


def multilabel_edges():
  return [
    (np.array([[1.0, 0.0, 1.0, 0.0]]), np.array([[1e4, -1e4, -1e4, 1e4]])),
    (np.zeros((1, K)), np.zeros((1, K))),
  ]


def seesaw_edges():
  return [
    (
      np.array([0, 3]),
      np.array([[1e4, -1e4, 0.0, 0.0], [-1e4, 1e4, 0.0, 0.0]]),
      np.zeros(K),
    ),
    (
      np.array([1, 2]),
      np.array([[-1e4, 1e4, 3.0, 0.0], [0.0, 0.0, -1e4, 1e4]]),
      np.array([1e6, 0.0, 3.0, 1.0]),
    ),
  ]


def eqlv2_edges():
  return [
    (
      np.array([0, 3]),
      np.array([[1e4, -1e4, 0.0, 0.0], [-1e4, 1e4, 0.0, -1e4]]),
      np.zeros(K - 1),
      np.zeros(K - 1),
    ),
    (
      np.array([1, 2]),
      np.zeros((2, K)),
      np.array([1e9, 0.0, 1.0]),
      np.array([0.0, 1e9, 1.0]),
    ),
  ]


# -------------------------------------------------------------- references


def np_softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def np_sigmoid(z):
  return 1 / (1 + np.exp(-z))


def np_ce(y, z):
  return -np.log(np_softmax(z)[np.arange(len(y)), y])


def np_cb_weights(counts, beta, normalize=True):
  n = np.maximum(np.asarray(counts, float), 1)
  effective = n if beta == 1 else (1 - beta**n) / (1 - beta)
  w = 1 / effective
  return w / w.sum() * len(n) if normalize else w


def np_class_balanced(
  y,
  z,
  samples_per_class=None,
  beta=0.9999,
  loss_type="softmax",
  gamma=2.0,
  normalize=True,
):
  w = np_cb_weights(samples_per_class, beta, normalize)[y]
  t = np.eye(z.shape[-1])[y]
  if loss_type == "softmax":
    return w * np_ce(y, z)
  p = np_sigmoid(z)
  bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
  if loss_type == "focal":
    p_t = np.where(t == 1, p, 1 - p)
    bce = (1 - p_t) ** gamma * bce
  return w * bce.sum(-1)


def np_ldam(
  y, z, samples_per_class=None, max_margin=0.5, scale=30.0, class_weight=None
):
  n = np.maximum(np.asarray(samples_per_class, float), 1)
  margins = n**-0.25
  margins = margins * max_margin / margins.max()
  t = np.eye(z.shape[-1])[y]
  loss = np_ce(y, scale * (z - t * margins))
  if class_weight is not None:
    loss = np.asarray(class_weight)[y] * loss
  return loss


def np_asymmetric(t, z, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8):
  p = np_sigmoid(z)
  p_neg = np.minimum(1 - p + clip, 1.0)
  pos = t * np.log(np.maximum(p, eps)) * (1 - p) ** gamma_pos
  neg = (1 - t) * np.log(np.maximum(p_neg, eps)) * (1 - p_neg) ** gamma_neg
  return -(pos + neg).sum(-1)


def np_seesaw(y, z, counts, p=0.8, q=2.0, eps=1e-2):
  """The mmdetection matrix form: S = M[y] * C, logits z + log S off-label."""
  n = np.maximum(counts, 1)
  ratio = n[None, :] / n[:, None]  # [i, j] = N_j / N_i
  mitigation = np.where(ratio < 1, ratio**p, 1.0)[y]
  scores = np_softmax(z)
  own = scores[np.arange(len(y)), y]
  rel = scores / np.maximum(own, eps)[:, None]
  compensation = np.where(rel > 1, rel**q, 1.0)
  t = np.eye(z.shape[-1])[y]
  shifted = z + np.log(mitigation * compensation) * (1 - t)
  return np_ce(y, shifted)


def np_eqlv2_weights(pos, neg, gamma=12.0, mu=0.8, alpha=4.0):
  neg_w = np.append(np_sigmoid(gamma * (pos / (neg + 1e-10) - mu)), 1.0)
  return 1 + alpha * (1 - neg_w), neg_w


def np_eqlv2(y, z, pos, neg, gamma=12.0, mu=0.8, alpha=4.0):
  pos_w, neg_w = np_eqlv2_weights(pos, neg, gamma, mu, alpha)
  t = np.eye(z.shape[-1])[y]
  p = np_sigmoid(z)
  bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
  return ((t * pos_w + (1 - t) * neg_w) * bce).sum(-1)


def np_logit_adjusted(y, z, class_priors=None, tau=1.0):
  pi = np.asarray(class_priors, float)
  pi = pi / pi.sum()
  return np_ce(y, z + np.log(pi**tau + 1e-12))


# ------------------------------------------------------------------- specs


def _sparse(name, fn, cls, ref, src, kwargs, inputs=sparse_inputs, **extra):
  return Spec(
    name,
    fn,
    inputs,
    kwargs=kwargs,
    cls=cls,
    reference=ref,
    reference_source=src,
    edge_inputs=sparse_edges,
    **extra,
  )


# One spec per loss (two for the class-balanced wrappers); the other
# variants are checked against the same references in
# tests/test_imbalance.py, which keeps the generic suite small.
SPECS = [
  _sparse(
    "class_balanced_loss-softmax",
    jaxloss.class_balanced_loss,
    jaxloss.ClassBalancedLoss,
    np_class_balanced,
    CB,
    {"samples_per_class": COUNTS, "beta": 0.99},
  ),
  _sparse(
    "class_balanced_loss-focal",
    jaxloss.class_balanced_loss,
    jaxloss.ClassBalancedLoss,
    np_class_balanced,
    CB,
    {
      "samples_per_class": COUNTS,
      "beta": 0.9999,
      "loss_type": "focal",
      "gamma": 0.5,
    },
  ),
  _sparse(
    "ldam_loss",
    jaxloss.ldam_loss,
    jaxloss.LDAMLoss,
    np_ldam,
    LDAM + " with deferred re-weighting",
    {
      "samples_per_class": COUNTS,
      "max_margin": 0.3,
      "scale": 8.0,
      "class_weight": (0.5, 1.0, 1.5, 2.0),
    },
    inputs=cosine_inputs,
  ),
  Spec(
    "asymmetric_loss",
    jaxloss.asymmetric_loss,
    multilabel_inputs,
    cls=jaxloss.AsymmetricLoss,
    reference=np_asymmetric,
    reference_source=ASL,
    edge_inputs=multilabel_edges,
  ),
  # The compensation factor is held constant in the backward pass (as in
  # mmdetection), so finite differences disagree with its gradient by
  # design; tests/test_imbalance.py checks the gradient. The state
  # input has no batch axis, hence per_sample=False (vmap and NaN tests
  # with in_axes=None for it are in that file too).
  Spec(
    "seesaw_loss",
    jaxloss.seesaw_loss,
    seesaw_inputs,
    cls=jaxloss.SeesawLoss,
    reference=np_seesaw,
    reference_source=SEESAW,
    edge_inputs=seesaw_edges,
    per_sample=False,
    grad_check=False,
  ),
  Spec(
    "equalization_loss_v2",
    jaxloss.equalization_loss_v2,
    eqlv2_inputs,
    cls=jaxloss.EqualizationLossV2,
    reference=np_eqlv2,
    reference_source=EQLV2,
    edge_inputs=eqlv2_edges,
    per_sample=False,
  ),
  _sparse(
    "logit_adjusted_crossentropy",
    jaxloss.logit_adjusted_crossentropy,
    jaxloss.LogitAdjustedCrossentropy,
    np_logit_adjusted,
    LA,
    {"class_priors": COUNTS, "tau": 1.5},
  ),
]
