"""Specs of the distillation divergences (jaxloss/_src/lm/distillation.py),
one value per token.

References are NumPy float64 sums over the vocabulary of KL, the
generalised JSD (Agarwal et al. 2024, GKD) and total variation, and
transcriptions of TRL's sparse (top-k, tail-bucket) divergences.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import V
from tests.specs.lm_common import log_softmax

K = 3  # teacher top-k


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
  lq, lp = log_softmax(s / temperature), log_softmax(t / temperature)
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
  lp = log_softmax(rng.normal(size=(b, V)) * 2)
  return s, np.take_along_axis(lp, ids, -1), ids


def topk_reference(s, top, ids, *, temperature=1.0, renormalize=True):
  lq = np.take_along_axis(log_softmax(s / temperature), ids, -1)
  lp = log_softmax(top / temperature) if renormalize else top
  return np.sum(np.exp(lp) * (lp - lq), -1)


def _topk_edges():
  return [
    (
      _logit_edges()[0][0],
      np.log(np.full((2, K), 1.0 / K)),
      np.array([[0, 1, 2], [3, 4, 5]]),
    )
  ]


def _topk_mismatch(args):
  s, top, ids = args
  return s, top, ids[..., :-1]


DIV_SRC = (
  "NumPy float64 sums over the vocabulary of KL, the generalised "
  "JSD (Agarwal et al. 2024, GKD) and total variation"
)


SPECS = [
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
    edge_inputs=_topk_edges,
    diff_argnums=(0,),
    mismatch=_topk_mismatch,
  ),
]


# ------------------------------------------------------------ distillation (24)
#
# NumPy float64 transcription of TRL's IWOPDTrainer.generalized_jsd_loss
# and _jsd_divergence (huggingface/trl f2cd577, 1.10.0.dev0): the support
# is the teacher's top-k for beta = 0 (forward KL), the student's for
# beta = 1 (reverse KL), the union otherwise; the tail bucket appends
# log(1 - exp(min(lse_S, -1e-7))); without it both are renormalised on S.
# At beta = 0 / 1 without top-k: GKDTrainer.generalized_jsd_loss's
# F.kl_div forms (forward / reverse KL). Teacher columns past the student's
# vocabulary are dropped (jaxloss's documented handling of padding).


def _tail_bucket(logps):
  m = logps.max(-1, keepdims=True)
  lse = np.log(np.exp(logps - m).sum(-1, keepdims=True)) + m
  lse = np.minimum(lse, -1e-7)
  return np.concatenate([logps, np.log(-np.expm1(lse))], -1)


def _trl_jsd(lq, lp, beta, valid):
  q = np.where(valid, np.exp(lq), 0.0)
  p = np.where(valid, np.exp(lp), 0.0)
  sq, sp = np.where(valid, lq, 0.0), np.where(valid, lp, 0.0)
  if beta == 0:
    return np.sum(p * (sp - sq), -1)
  if beta == 1:
    return np.sum(q * (sq - sp), -1)
  mix = (1 - beta) * q + beta * p
  lm = np.where(valid, np.log(np.maximum(mix, np.finfo(float).tiny)), 0.0)
  return np.sum(beta * p * (sp - lm) + (1 - beta) * q * (sq - lm), -1)


def sparse_distillation_reference(
  s,
  t,
  *,
  divergence="forward_kl",
  beta=0.5,
  temperature=1.0,
  top_k=None,
  tail=True,
):
  v = s.shape[-1]
  s, t = s / temperature, t[..., :v] / temperature
  b = {"forward_kl": 0.0, "reverse_kl": 1.0}.get(divergence, beta)
  lq, lp = log_softmax(s), log_softmax(t)
  if top_k is None or top_k >= v:
    return _trl_jsd(lq, lp, b, np.ones_like(lq, bool))
  teacher_top = np.argsort(-t, -1, kind="stable")[..., :top_k]
  student_top = np.argsort(-s, -1, kind="stable")[..., :top_k]
  if b == 0:
    support = teacher_top
  elif b == 1:
    support = student_top
  else:
    support = np.concatenate([teacher_top, student_top], -1)
  valid = np.ones(support.shape, bool)
  for i in range(1, support.shape[-1]):
    seen = (support[..., i : i + 1] == support[..., :i]) & valid[..., :i]
    valid[..., i] &= ~seen.any(-1)
  support = np.where(valid, support, 0)
  sq = np.where(valid, np.take_along_axis(lq, support, -1), -np.inf)
  sp = np.where(valid, np.take_along_axis(lp, support, -1), -np.inf)
  if tail:
    sq, sp = _tail_bucket(sq), _tail_bucket(sp)
    valid = np.concatenate([valid, np.ones(valid.shape[:-1] + (1,), bool)], -1)
  else:
    sq = sq - np.log(np.exp(sq).sum(-1, keepdims=True))
    sp = sp - np.log(np.exp(sp).sum(-1, keepdims=True))
  return _trl_jsd(sq, sp, b, valid)


def topk_tail_reference(
  s, top, ids, *, temperature=1.0, renormalize=False, tail=True
):
  # Forward KL over the teacher's K ids plus the tail class (TRL's
  # _add_tail_bucket on both sides, then F.kl_div).
  lq = np.take_along_axis(log_softmax(s / temperature), ids, -1)
  lq, lp = _tail_bucket(lq), _tail_bucket(top)
  return np.sum(np.exp(lp) * (lp - lq), -1)


def _padded_teacher(rng, b):
  return rng.normal(size=(b, V)) * 2, rng.normal(size=(b, V + 3)) * 2


def _padded_edges():
  s, t = _logit_edges()[0]
  return [(s, np.concatenate([t, np.full((2, 3), 50.0)], -1))]


def _leading_mismatch(args):
  return (args[0][:-1],) + tuple(args[1:])


TRL_SPARSE = (
  "NumPy float64 transcription of TRL 1.10.0.dev0 (f2cd577) "
  "IWOPDTrainer.generalized_jsd_loss / GKDTrainer.generalized_jsd_loss"
)


def _distill_spec(name, make=_logits, edges=_logit_edges, **kwargs):
  return Spec(
    name=name,
    fn=jaxloss.distillation,
    make_inputs=make,
    kwargs=kwargs,
    reference=sparse_distillation_reference,
    reference_source=TRL_SPARSE,
    edge_inputs=edges,
    diff_argnums=(0,),
    mismatch=_leading_mismatch,
  )


DISTILL_SPECS = [
  _distill_spec("distillation_jsd_beta0", divergence="jsd", beta=0.0),
  _distill_spec("distillation_jsd_beta1", divergence="jsd", beta=1.0),
  _distill_spec(
    "distillation_topk_forward_tail", divergence="forward_kl", top_k=3
  ),
  _distill_spec(
    "distillation_topk_reverse_tail",
    divergence="reverse_kl",
    top_k=2,
    temperature=1.5,
  ),
  _distill_spec(
    "distillation_topk_jsd_union", divergence="jsd", beta=0.3, top_k=2
  ),
  _distill_spec(
    "distillation_topk_jsd_renormalized",
    divergence="jsd",
    beta=0.6,
    top_k=3,
    tail=False,
  ),
  _distill_spec(
    "distillation_padded_teacher",
    make=_padded_teacher,
    edges=_padded_edges,
    divergence="jsd",
    beta=0.4,
  ),
  Spec(
    name="topk_distillation_tail",
    fn=jaxloss.topk_distillation,
    make_inputs=_topk,
    kwargs=dict(temperature=1.3, renormalize=False, tail=True),
    reference=topk_tail_reference,
    reference_source="NumPy float64 forward KL over the teacher's top-k and "
    "the tail class (TRL 1.10.0.dev0 IWOPDTrainer._add_tail_bucket)",
    edge_inputs=_topk_edges,
    diff_argnums=(0,),
    mismatch=_topk_mismatch,
  ),
]
SPECS.extend(DISTILL_SPECS)
