"""Specs for the LM post-training losses that are per-sample functions of
arrays (issue 13): the preference losses (one value per pair) and the
distillation divergences (one value per token).

References are NumPy float64 transcriptions of the papers' formulas.
``linear_log_probs`` (float32 results for half inputs, by design), ``kto``
(a boolean input) and ``policy_gradient`` (batch-level normalisation) are
covered in tests/test_lm_post.py instead.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

V, K = 7, 3


def _log_sigmoid(x):
  return -np.logaddexp(0.0, -x)


def _log_softmax(z):
  m = z.max(-1, keepdims=True)
  return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


# ------------------------------------------------------------ preference


def _four(rng, b):
  return tuple(rng.uniform(-12.0, -2.0, (b,)) for _ in range(4))


def _two_avg(rng, b):
  return rng.uniform(-3.0, -0.05, (b,)), rng.uniform(-3.0, -0.05, (b,))


def _four_edges():
  big = np.array([1e4, -1e4, 0.0])
  z = np.zeros(3)
  return [(big, -big, z, z), (z, z, z, z)]


def _two_edges():
  return [(np.array([0.0, -1e-12, -1e4]), np.array([-1e4, 0.0, -1e-12]))]


def dpo_reference(
  pc, pr, rc, rr, *, beta=0.1, loss_type="sigmoid", label_smoothing=0.0
):
  # Rafailov et al. 2023 eq. 7 (+ cDPO smoothing); Azar et al. 2023 eq. 17;
  # Chowdhury et al. 2024 (robust).
  h = (pc - rc) - (pr - rr)
  eps = label_smoothing
  if loss_type == "sigmoid":
    return -(1 - eps) * _log_sigmoid(beta * h) - eps * _log_sigmoid(-beta * h)
  if loss_type == "ipo":
    return (h - 1 / (2 * beta)) ** 2
  return (
    -(1 - eps) * _log_sigmoid(beta * h) + eps * _log_sigmoid(-beta * h)
  ) / (1 - 2 * eps)


def simpo_reference(c, r, *, beta=2.0, gamma=0.5):
  return -_log_sigmoid(beta * (c - r) - gamma)  # Meng et al. 2024, eq. 6


def cpo_reference(c, r, *, beta=0.1, alpha=1.0):
  return -_log_sigmoid(beta * (c - r)) - alpha * c  # Xu et al. 2024, eq. 6


def orpo_reference(c, r, *, beta=0.1):
  # Hong et al. 2024, eq. 6-7: odds(p) = p / (1 - p), p = exp(average).
  pc, pr = np.exp(c), np.exp(r)
  log_or = np.log(pc / (1 - pc)) - np.log(pr / (1 - pr))
  return -c - beta * _log_sigmoid(log_or)


# ------------------------------------------------------------ distillation


def _logits(rng, b):
  return rng.normal(size=(b, V)) * 2, rng.normal(size=(b, V)) * 2


def _logit_edges():
  big = np.array([[1e4, -1e4, 0.0, 5e3, -5e3, 1.0, 2.0], [0.0] * V])
  return [(big, big[::-1]), (big, -big)]


def distillation_reference(
  s, t, *, divergence="forward_kl", beta=0.5, temperature=1.0
):
  # KL; generalised JSD of Agarwal et al. 2024 (teacher weight beta); TV.
  lq, lp = _log_softmax(s / temperature), _log_softmax(t / temperature)
  p, q = np.exp(lp), np.exp(lq)
  if divergence == "forward_kl":
    return np.sum(p * (lp - lq), -1)
  if divergence == "reverse_kl":
    return np.sum(q * (lq - lp), -1)
  if divergence == "jsd":
    m = beta * p + (1 - beta) * q
    return beta * np.sum(p * (lp - np.log(m)), -1) + (1 - beta) * np.sum(
      q * (lq - np.log(m)), -1
    )
  return 0.5 * np.sum(np.abs(p - q), -1)


def _topk(rng, b):
  s = rng.normal(size=(b, V)) * 2
  ids = np.stack([rng.permutation(V)[:K] for _ in range(b)])
  lp = _log_softmax(rng.normal(size=(b, V)) * 2)
  return s, np.take_along_axis(lp, ids, -1), ids


def topk_reference(s, top, ids, *, temperature=1.0, renormalize=True):
  lq = np.take_along_axis(_log_softmax(s / temperature), ids, -1)
  lp = _log_softmax(top / temperature) if renormalize else top
  return np.sum(np.exp(lp) * (lp - lq), -1)


def _topk_mismatch(args):
  s, top, ids = args
  return s, top, ids[..., :-1]


PAPERS = "NumPy float64 transcription of the paper's equation"
DIV_SRC = (
  "NumPy float64 sums over the vocabulary of KL, the generalised "
  "JSD (Agarwal et al. 2024, GKD) and total variation"
)

SPECS = [
  Spec(
    name="dpo",
    fn=jaxloss.dpo,
    make_inputs=_four,
    kwargs=dict(beta=0.3, label_smoothing=0.1),
    reference=dpo_reference,
    reference_source=PAPERS + " (DPO, cDPO)",
    edge_inputs=_four_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="dpo_ipo",
    fn=jaxloss.dpo,
    make_inputs=_four,
    kwargs=dict(beta=0.3, loss_type="ipo"),
    reference=dpo_reference,
    reference_source=PAPERS + " (IPO)",
    edge_inputs=_four_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="dpo_robust",
    fn=jaxloss.dpo,
    make_inputs=_four,
    kwargs=dict(beta=0.3, loss_type="robust", label_smoothing=0.2),
    reference=dpo_reference,
    reference_source=PAPERS + " (rDPO)",
    edge_inputs=_four_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="simpo",
    fn=jaxloss.simpo,
    make_inputs=_two_avg,
    kwargs=dict(beta=2.0, gamma=0.5),
    reference=simpo_reference,
    reference_source=PAPERS + " (SimPO)",
    edge_inputs=_two_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="cpo",
    fn=jaxloss.cpo,
    make_inputs=_two_avg,
    kwargs=dict(beta=0.5, alpha=0.7),
    reference=cpo_reference,
    reference_source=PAPERS + " (CPO)",
    edge_inputs=_two_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="orpo",
    fn=jaxloss.orpo,
    make_inputs=_two_avg,
    kwargs=dict(beta=0.2),
    reference=orpo_reference,
    reference_source=PAPERS + " (ORPO)",
    edge_inputs=_two_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="distillation_forward_kl",
    fn=jaxloss.distillation,
    make_inputs=_logits,
    kwargs=dict(temperature=1.5),
    reference=distillation_reference,
    reference_source=DIV_SRC,
    edge_inputs=_logit_edges,
    diff_argnums=(0,),
  ),
  Spec(
    name="distillation_reverse_kl",
    fn=jaxloss.distillation,
    make_inputs=_logits,
    kwargs=dict(divergence="reverse_kl"),
    reference=distillation_reference,
    reference_source=DIV_SRC,
    edge_inputs=_logit_edges,
    diff_argnums=(0,),
  ),
  Spec(
    name="distillation_jsd",
    fn=jaxloss.distillation,
    make_inputs=_logits,
    kwargs=dict(divergence="jsd", beta=0.3),
    reference=distillation_reference,
    reference_source=DIV_SRC,
    edge_inputs=_logit_edges,
    diff_argnums=(0,),
  ),
  Spec(
    name="distillation_tv",
    fn=jaxloss.distillation,
    make_inputs=_logits,
    kwargs=dict(divergence="tv"),
    reference=distillation_reference,
    reference_source=DIV_SRC,
    edge_inputs=_logit_edges,
    diff_argnums=(0,),
    grad_check=False,
  ),
  Spec(
    name="topk_distillation",
    fn=jaxloss.topk_distillation,
    make_inputs=_topk,
    kwargs=dict(temperature=1.3),
    reference=topk_reference,
    reference_source="NumPy float64 forward KL over the teacher's "
    "top-k (Hinton et al. 2015)",
    edge_inputs=lambda: [
      (
        _logit_edges()[0][0],
        np.log(np.full((2, K), 1.0 / K)),
        np.array([[0, 1, 2], [3, 4, 5]]),
      )
    ],
    diff_argnums=(0,),
    mismatch=_topk_mismatch,
  ),
]
