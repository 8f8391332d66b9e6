"""Specs for the catalogue beyond Keras, part A: likelihood, robust, margin
and box losses.

References are NumPy float64 transcriptions of the papers' formulas or of
the named library's documented formula (tensorflow-addons 0.23, PyTorch
2.13); tests/test_likelihood_margin_boxes.py compares stored PyTorch
2.13 values.
"""

from __future__ import annotations

import math

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels
from tests.specs import one_hot
from tests.specs import probs
from tests.specs import simplex

D = 5  # event size
K = 4  # classes
TFA = "tensorflow-addons 0.23 formula (tensorflow_addons/losses)"
TORCH = "PyTorch 2.13 documented formula (torch.nn.{})"


# ------------------------------------------------------------------ inputs


def _bin_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), probs(rng, (b, D))


def _bin_logit_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), rng.normal(size=(b, D)) * 3


def _pm_logit_inputs(rng, b):
  return 2.0 * rng.integers(0, 2, (b, D)) - 1, rng.normal(size=(b, D)) * 2


def _reg_inputs(rng, b):
  return rng.normal(size=(b, D)), rng.normal(size=(b, D)) * 2


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


def _kappa_inputs(rng, b):
  return one_hot(rng, b, K), simplex(rng, (b, K))


def _sparse_logit_inputs(rng, b):
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3


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


def _box_inputs(rng, b):
  """Ground-truth boxes and jittered predictions (mostly overlapping)."""
  corner = rng.uniform(0, 4, (b, 2))
  size = rng.uniform(1, 3, (b, 2))
  t = np.concatenate([corner, corner + size], -1)
  p = t + rng.normal(size=(b, 4)) * 0.6
  return t, p


def _labels_mismatch(args):
  labels, *rest = args
  return (np.concatenate([labels, labels[:1]]), *rest)


# -------------------------------------------------------------- references

EPS = 1e-7


def _sigmoid(z):
  return 1 / (1 + np.exp(-z))


def np_sigmoid_focal(t, p, alpha=0.25, gamma=2.0, from_logits=False):
  """tensorflow-addons sigmoid_focal_crossentropy (tf.keras backend BCE)."""
  if from_logits:
    q = _sigmoid(p)
    bce = np.maximum(p, 0) - t * p + np.log1p(np.exp(-np.abs(p)))
  else:
    q = p
    c = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(c + EPS) + (1 - t) * np.log(1 - c + EPS))
  p_t = t * q + (1 - t) * (1 - q)
  a_t = t * alpha + (1 - t) * (1 - alpha)
  return np.sum(a_t * (1 - p_t) ** gamma * bce, -1)


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


def np_multi_margin_weighted(y, x, p=1, margin=1.0, weight=None):
  """PyTorch 2.13's kernel: ``w[y]`` times the sum of powered hinges."""
  return np.asarray(weight)[y] * np_multi_margin(y, x, p, margin)


def np_kl_div(t, log_q, log_target=False):
  """PyTorch 2.13 ``F.kl_div`` point-wise terms, summed over the last axis."""
  if log_target:
    return np.sum(np.exp(t) * (t - log_q), axis=-1)
  xlogx = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t)))
  return np.sum(xlogx - t * log_q, axis=-1)


def _kl_div_inputs(rng, b):
  t = rng.dirichlet(np.ones(4), size=b)
  return t, np.log(rng.dirichlet(np.ones(4), size=b))


def _kl_div_log_inputs(rng, b):
  t, log_q = _kl_div_inputs(rng, b)
  return np.log(t), log_q


def np_margin_ranking(y, x1, x2, margin=0.0):
  return np.maximum(0, -y * (x1 - x2) + margin)


def np_hinge_embedding(t, p, margin=1.0):
  return np.where(t == 1, p, np.maximum(0, margin - p)).mean(-1)


def np_cosine_embedding(y, x1, x2, margin=0.0):
  cos = (x1 * x2).sum(-1) / np.sqrt(
    ((x1**2).sum(-1) + 1e-12) * ((x2**2).sum(-1) + 1e-12)
  )
  return np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))


def _np_box_terms(t, p):
  def parts(b):
    h = np.maximum(b[..., 2] - b[..., 0], 0)
    w = np.maximum(b[..., 3] - b[..., 1], 0)
    return h, w

  (th, tw), (ph, pw) = parts(t), parts(p)
  ih = np.maximum(
    np.minimum(t[..., 2], p[..., 2]) - np.maximum(t[..., 0], p[..., 0]), 0
  )
  iw = np.maximum(
    np.minimum(t[..., 3], p[..., 3]) - np.maximum(t[..., 1], p[..., 1]), 0
  )
  inter = ih * iw
  union = th * tw + ph * pw - inter
  iou = inter / union
  eh = np.maximum(t[..., 2], p[..., 2]) - np.minimum(t[..., 0], p[..., 0])
  ew = np.maximum(t[..., 3], p[..., 3]) - np.minimum(t[..., 1], p[..., 1])
  rho2 = (
    ((t[..., 0] + t[..., 2]) - (p[..., 0] + p[..., 2])) ** 2
    + ((t[..., 1] + t[..., 3]) - (p[..., 1] + p[..., 3])) ** 2
  ) / 4
  return iou, union, eh * ew, eh**2 + ew**2, rho2, (th, tw, ph, pw)


def np_iou(t, p):
  return 1 - _np_box_terms(t, p)[0]


def np_giou(t, p):
  """Rezatofighi et al. 2019, Algorithm 1."""
  iou, union, enclose, *_ = _np_box_terms(t, p)
  return 1 - (iou - (enclose - union) / enclose)


def np_diou(t, p):
  """Zheng et al. 2020, eq. (6)."""
  iou, _, _, diag2, rho2, _ = _np_box_terms(t, p)
  return 1 - iou + rho2 / diag2


def np_ciou(t, p):
  """Zheng et al. 2020, eqs. (8)-(10)."""
  iou, _, _, diag2, rho2, (th, tw, ph, pw) = _np_box_terms(t, p)
  v = 4 / math.pi**2 * (np.arctan(tw / th) - np.arctan(pw / ph)) ** 2
  a = v / ((1 - iou) + v)
  return 1 - iou + rho2 / diag2 + a * v


# ------------------------------------------------------------------- edges


def _prob_edges():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [
    (t, np.array([[0.0, 1.0, 1.0, 0.0]])),
    (t, np.array([[1e-30, 1 - 1e-7, 0.5, 1e-12]])),
  ]


def _logit_edges():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [(t, np.array([[1e4, -1e4, -1e4, 1e4]])), (t, np.zeros((1, 4)))]


def _pm_edges():
  t = np.array([[1.0, -1.0, 1.0]])
  return [(t, np.array([[1e4, -1e4, -1e4]])), (t, np.zeros((1, 3)))]


def _box_edges():
  point = np.array([[1.0, 1.0, 1.0, 1.0]])
  flat = np.array([[0.0, 0.0, 0.0, 2.0]])  # zero height
  box = np.array([[0.0, 0.0, 2.0, 2.0]])
  far = np.array([[10.0, 10.0, 11.0, 12.0]])
  inverted = np.array([[2.0, 2.0, 0.0, 0.0]])
  return [
    (point, point),
    (box, box),
    (box, far),
    (point, box),
    (flat, flat),
    (box, flat),
    (box, inverted),
    (np.zeros((1, 4)), np.zeros((1, 4))),
  ]


def _robust_edges(huge=1e30):
  """Zero, tiny and huge residuals (``huge`` squared must stay finite in
  float32 for alpha >= 2, where the loss itself grows like x**2)."""
  return [
    (np.zeros((1, 5)), np.zeros((1, 5))),
    (np.zeros((1, 5)), np.array([[huge, -huge, 1e-30, 1e-20, 3.0]])),
  ]


# ------------------------------------------------------------------- specs


def _robust(name, kwargs, huge=1e30, **extra):
  return Spec(
    f"robust_loss-{name}",
    jaxloss.robust_loss,
    _reg_inputs,
    kwargs=kwargs,
    cls=jaxloss.RobustLoss,
    reference=np_robust,
    reference_source="Barron 2019, eqs. (1) and (8)",
    edge_inputs=lambda: _robust_edges(huge),
    **extra,
  )


def _box(fn, cls, ref, src, **extra):
  return Spec(
    fn.__name__,
    fn,
    _box_inputs,
    cls=cls,
    reference=ref,
    reference_source=src,
    edge_inputs=_box_edges,
    **extra,
  )


SPECS = [
  # likelihood
  Spec(
    "sigmoid_focal_crossentropy",
    jaxloss.sigmoid_focal_crossentropy,
    _bin_inputs,
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=TFA,
    edge_inputs=_prob_edges,
  ),
  Spec(
    "sigmoid_focal_crossentropy-logits",
    jaxloss.sigmoid_focal_crossentropy,
    _bin_logit_inputs,
    kwargs={"from_logits": True, "alpha": 0.6, "gamma": 0.5},
    cls=jaxloss.SigmoidFocalCrossEntropy,
    reference=np_sigmoid_focal,
    reference_source=TFA,
    edge_inputs=_logit_edges,
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
    _bin_inputs,
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
    _bin_inputs,
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
    _kappa_inputs,
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
    _sparse_logit_inputs,
    cls=jaxloss.ZLoss,
    reference=np_z_loss,
    reference_source="Chowdhery et al. 2022 (PaLM), sec. 5",
    mismatch=_labels_mismatch,
    edge_inputs=lambda: [
      (np.array([0, 1]), np.array([[1e4, -1e4, 0, 0], [0, 0, 0, 0]]))
    ],
  ),
  # robust
  Spec(
    "smooth_l1",
    jaxloss.smooth_l1,
    _reg_inputs,
    kwargs={"beta": 0.7},
    cls=jaxloss.SmoothL1Loss,
    reference=np_smooth_l1,
    reference_source=TORCH.format("SmoothL1Loss"),
    edge_inputs=lambda: [(np.zeros((1, 2)), np.array([[1e30, 0.0]]))],
  ),
  Spec(
    "pinball",
    jaxloss.pinball,
    _reg_inputs,
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
    _bin_logit_inputs,
    cls=jaxloss.MultiLabelSoftMarginLoss,
    reference=np_multilabel_soft_margin,
    reference_source=TORCH.format("MultiLabelSoftMarginLoss"),
    edge_inputs=_logit_edges,
  ),
  Spec(
    "multi_margin",
    jaxloss.multi_margin,
    _sparse_logit_inputs,
    cls=jaxloss.MultiMarginLoss,
    reference=np_multi_margin,
    reference_source=TORCH.format("MultiMarginLoss"),
    mismatch=_labels_mismatch,
  ),
  Spec(
    "multi_margin-p2",
    jaxloss.multi_margin,
    _sparse_logit_inputs,
    kwargs={"p": 2, "margin": 0.5},
    cls=jaxloss.MultiMarginLoss,
    reference=np_multi_margin,
    reference_source=TORCH.format("MultiMarginLoss"),
    mismatch=_labels_mismatch,
  ),
  Spec(
    "multi_margin-weight",
    jaxloss.multi_margin,
    _sparse_logit_inputs,
    kwargs={"p": 2, "weight": (0.5, 1.0, 2.0, 3.0)},
    cls=jaxloss.MultiMarginLoss,
    reference=np_multi_margin_weighted,
    reference_source=TORCH.format("MultiMarginLoss") + " (its C++ kernel)",
    mismatch=_labels_mismatch,
  ),
  Spec(
    "kl_div",
    jaxloss.kl_div,
    _kl_div_inputs,
    cls=jaxloss.KLDiv,
    reference=np_kl_div,
    reference_source=TORCH.format("KLDivLoss"),
  ),
  Spec(
    "kl_div-log_target",
    jaxloss.kl_div,
    _kl_div_log_inputs,
    kwargs={"log_target": True},
    cls=jaxloss.KLDiv,
    reference=np_kl_div,
    reference_source=TORCH.format("KLDivLoss"),
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
  # boxes
  _box(jaxloss.iou_loss, jaxloss.IoULoss, np_iou, "Yu et al. 2016 (IoU)"),
  _box(
    jaxloss.giou_loss,
    jaxloss.GIoULoss,
    np_giou,
    "Rezatofighi et al. 2019, Algorithm 1",
  ),
  _box(
    jaxloss.diou_loss, jaxloss.DIoULoss, np_diou, "Zheng et al. 2020, eq. (6)"
  ),
  # The CIoU trade-off weight is held constant in the gradient (paper and
  # torchvision), so finite differences of the value do not match it;
  # tests/test_likelihood_margin_boxes.py checks that gradient separately.
  _box(
    jaxloss.ciou_loss,
    jaxloss.CIoULoss,
    np_ciou,
    "Zheng et al. 2020, eqs. (8)-(10)",
    grad_check=False,
  ),
]
