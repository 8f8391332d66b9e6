"""Specs for the LM post-training losses that are per-sample functions of
arrays (issue 13): the preference losses (one value per pair) and the
distillation divergences (one value per token).

References are NumPy float64 transcriptions of the papers' formulas, and
for the preference variants of issue 24 of TRL 1.16.0's trainer code
(``PREFERENCE_VARIANTS``; tests/test_lm_preference.py also compares them
with stored outputs of TRL itself). ``linear_log_probs`` (float32 results
for half inputs, by design), ``kto``'s KL estimate (over the batch) and
``policy_gradient`` (batch-level normalisation) are covered in
tests/test_lm_post.py instead.
"""

from __future__ import annotations

import jax.numpy as jnp
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


def cpo_reference(c, r, *, beta=0.1, cpo_alpha=1.0):
  return -_log_sigmoid(beta * (c - r)) - cpo_alpha * c  # Xu et al. 2024, eq. 6


def orpo_reference(c, r, *, beta=0.1):
  # Hong et al. 2024, eq. 6-7: odds(p) = p / (1 - p), p = exp(average).
  pc, pr = np.exp(c), np.exp(r)
  log_or = np.log(pc / (1 - pc)) - np.log(pr / (1 - pr))
  return -c - beta * _log_sigmoid(log_or)


# TRL 1.16.0's DPOTrainer._compute_loss (trl/trainer/dpo_trainer.py), its
# per-sequence loss written
# out in NumPy float64 for every loss type, f-divergence score, mixture and
# weighting. Where jaxloss differs from that trainer on purpose, the line
# says so: cDPO smoothing under sigmoid and sigmoid_norm (TRL ignores
# label_smoothing there), BCO's reward mean (TRL <= 0.28 kept it as a
# running mean; TRL 1.x uses 0), RPO's rpo_alpha (TRL <= 0.28), and the
# per-pair NLL of sft (TRL: one token-mean over the batch). The lengths
# are the completion token counts TRL divides by (clamped at 1).
TRL_DPO = "TRL 1.16.0 DPOTrainer._compute_loss, transcribed"


def _sigmoid(x):
  return np.exp(_log_sigmoid(x))


def trl_dpo_reference(
  pc,
  pr,
  rc,
  rr,
  *,
  beta=0.1,
  loss_type="sigmoid",
  loss_weights=None,
  label_smoothing=0.0,
  f_divergence="reverse_kl",
  f_alpha_divergence_coef=0.5,
  discopop_tau=0.05,
  bco_reward_mean=0.0,
  chosen_lengths=None,
  rejected_lengths=None,
  chosen_nll=None,
  rpo_alpha=0.0,
  wpo_chosen_logps=None,
  wpo_rejected_logps=None,
):
  chosen_logratios, rejected_logratios = pc - rc, pr - rr
  if f_divergence == "reverse_kl":
    chosen_scores, rejected_scores = chosen_logratios, rejected_logratios
  elif f_divergence == "forward_kl":  # f'(t) = 1 - 1/t
    chosen_scores = 1 - np.exp(-chosen_logratios)
    rejected_scores = 1 - np.exp(-rejected_logratios)
  elif f_divergence == "js_divergence":  # f'(t) = log(2t / (t + 1))
    chosen_scores = np.log(2) + _log_sigmoid(chosen_logratios)
    rejected_scores = np.log(2) + _log_sigmoid(rejected_logratios)
  else:  # f'(t) = (t ** (a - 1) - 1) / (a - 1)
    a = f_alpha_divergence_coef
    chosen_scores = (np.exp((a - 1) * chosen_logratios) - 1) / (a - 1)
    rejected_scores = (np.exp((a - 1) * rejected_logratios) - 1) / (a - 1)
  delta_score = chosen_scores - rejected_scores
  eps = label_smoothing
  nll = -pc if chosen_nll is None else chosen_nll
  if chosen_lengths is not None:
    avg_delta = chosen_scores / np.maximum(
      chosen_lengths, 1
    ) - rejected_scores / np.maximum(rejected_lengths, 1)

  def smoothed(z):
    return -_log_sigmoid(z) * (1 - eps) - _log_sigmoid(-z) * eps

  types = [loss_type] if isinstance(loss_type, str) else list(loss_type)
  weights = loss_weights or [1.0] * len(types)
  loss = 0.0
  for kind, weight in zip(types, weights):
    if kind == "sigmoid":
      per_seq = smoothed(beta * delta_score)  # cDPO smoothing (jaxloss)
    elif kind == "hinge":
      per_seq = np.maximum(0.0, 1 - beta * delta_score)
    elif kind == "ipo":
      ipo_delta = delta_score if chosen_lengths is None else avg_delta
      per_seq = (ipo_delta - 1 / (2 * beta)) ** 2
    elif kind == "exo_pair":
      qw, ql = _sigmoid(beta * delta_score), _sigmoid(-beta * delta_score)
      per_seq = qw * (np.log(qw) - np.log1p(-eps)) + ql * (
        np.log(ql) - np.log(eps)
      )
    elif kind == "nca_pair":
      cw, rw = beta * chosen_logratios, beta * rejected_logratios
      per_seq = (
        -_log_sigmoid(cw) - 0.5 * _log_sigmoid(-cw) - 0.5 * _log_sigmoid(-rw)
      )
    elif kind == "robust":
      per_seq = (
        -(1 - eps) * _log_sigmoid(beta * delta_score)
        + eps * _log_sigmoid(-beta * delta_score)
      ) / (1 - 2 * eps)
    elif kind == "bco_pair":
      d0 = bco_reward_mean
      per_seq = -_log_sigmoid(beta * chosen_logratios - d0) - _log_sigmoid(
        -(beta * rejected_logratios - d0)
      )
    elif kind == "sppo_hard":
      per_seq = (chosen_logratios - 0.5 / beta) ** 2 + (
        rejected_logratios + 0.5 / beta
      ) ** 2
    elif kind == "aot":
      per_seq = smoothed(beta * (np.sort(pc - pr) - np.sort(rc - rr)))
    elif kind in ("aot_unpaired", "aot_pair"):
      per_seq = smoothed(
        beta * (np.sort(chosen_logratios) - np.sort(rejected_logratios))
      )
    elif kind == "apo_zero":
      per_seq = (1 - _sigmoid(beta * chosen_logratios)) + _sigmoid(
        beta * rejected_logratios
      )
    elif kind == "apo_down":
      per_seq = _sigmoid(beta * chosen_logratios) + (
        1 - _sigmoid(beta * (chosen_logratios - rejected_logratios))
      )
    elif kind == "discopop":
      logits = beta * delta_score
      modulation = _sigmoid(logits / discopop_tau)
      per_seq = (
        -_log_sigmoid(logits) * (1 - modulation) + np.exp(-logits) * modulation
      )
    elif kind == "sigmoid_norm":
      per_seq = smoothed(beta * avg_delta)  # cDPO smoothing (jaxloss)
    else:  # sft: the per-pair NLL of the chosen response
      per_seq = nll
    loss = loss + weight * per_seq
  loss = loss + rpo_alpha * nll  # RPO (TRL <= 0.28's rpo_alpha)
  if wpo_chosen_logps is not None:  # WPO, eq. 2: exp(w_c) exp(w_r)
    loss = loss * np.exp(wpo_chosen_logps) * np.exp(wpo_rejected_logps)
  return loss


def _named(fn, name):
  fn.__name__ = name
  return fn


def _dpo_lengths(pc, pr, rc, rr, nc, nr, **kw):
  return jaxloss.dpo(
    pc, pr, rc, rr, chosen_lengths=nc, rejected_lengths=nr, **kw
  )


def _dpo_nll(pc, pr, rc, rr, nll, **kw):
  return jaxloss.dpo(pc, pr, rc, rr, chosen_nll=nll, **kw)


def _dpo_wpo(pc, pr, rc, rr, wc, wr, **kw):
  return jaxloss.dpo(
    pc, pr, rc, rr, wpo_chosen_logps=wc, wpo_rejected_logps=wr, **kw
  )


_dpo_lengths = _named(_dpo_lengths, "dpo")
_dpo_nll = _named(_dpo_nll, "dpo")
_dpo_wpo = _named(_dpo_wpo, "dpo")


def _four_lengths(rng, b):
  return _four(rng, b) + tuple(rng.integers(1, 20, (2, b)))


def _four_nll(rng, b):
  return _four(rng, b) + (rng.uniform(0.5, 3.0, (b,)),)


def _four_wpo(rng, b):
  return _four(rng, b) + tuple(rng.uniform(-2.0, 0.5, (2, b)))


def _ref_lengths(pc, pr, rc, rr, nc, nr, **kw):
  return trl_dpo_reference(
    pc, pr, rc, rr, chosen_lengths=nc, rejected_lengths=nr, **kw
  )


def _ref_nll(pc, pr, rc, rr, nll, **kw):
  return trl_dpo_reference(pc, pr, rc, rr, chosen_nll=nll, **kw)


def _ref_wpo(pc, pr, rc, rr, wc, wr, **kw):
  return trl_dpo_reference(
    pc, pr, rc, rr, wpo_chosen_logps=wc, wpo_rejected_logps=wr, **kw
  )


def _dpo_spec(name, fn=jaxloss.dpo, make=_four, ref=trl_dpo_reference, **kw):
  """A spec of one DPO variant against the TRL transcription."""
  edges = {
    _four: _four_edges,
    _four_lengths: lambda: [
      e + (np.array([1, 7, 0]), np.array([3, 1, 2])) for e in _four_edges()
    ],
    _four_nll: lambda: [
      e + (np.array([1e4, 0.0, 2.0]),) for e in _four_edges()
    ],
    _four_wpo: lambda: [
      e + (np.array([-50.0, 0.0, 3.0]), np.array([0.0, -50.0, 1.0]))
      for e in _four_edges()
    ],
  }[make]
  return Spec(
    name=name,
    fn=fn,
    make_inputs=make,
    kwargs=dict(beta=0.3, **kw),
    reference=ref,
    reference_source=TRL_DPO,
    edge_inputs=edges,
    diff_argnums=(0, 1),
    per_sample=kw.get("loss_type") not in ("aot", "aot_unpaired", "aot_pair"),
  )


def trl_cpo_reference(
  c,
  r,
  *,
  beta=0.1,
  cpo_alpha=1.0,
  alphapo_alpha=0.0,
  gamma=0.0,
  label_smoothing=0.0,
):
  # TRL 1.16.0's CPOTrainer.cpo_loss (trl/experimental/cpo/cpo_trainer.py;
  # loss_type "simpo" when gamma > 0):
  # AlphaPO rewards (1 - p ** -alpha) / alpha, then the smoothed sigmoid of
  # beta (u_c - u_r - gamma / beta), plus cpo_alpha times the NLL (here the
  # sequence's -c; TRL passes its token-mean cross-entropy).
  if alphapo_alpha:
    uc = (1 - np.exp(c) ** -alphapo_alpha) / alphapo_alpha
    ur = (1 - np.exp(r) ** -alphapo_alpha) / alphapo_alpha
  else:
    uc, ur = c, r
  logits = (uc - ur) - gamma / beta
  eps = label_smoothing
  losses = (
    -_log_sigmoid(beta * logits) * (1 - eps)
    - _log_sigmoid(-beta * logits) * eps
  )
  return losses + cpo_alpha * -c


def trl_wpo_reference(token_logps, logits, where):
  # TRL 1.16.0 dpo_trainer.py, use_weighting: per token log p minus the log
  # of sum_v p_v ** 2 (lse(2 s) - 2 lse(s)), masked mean over the completion.
  m = logits.max(-1, keepdims=True)
  lse1 = np.log(np.exp(logits - m).sum(-1)) + m[..., 0]
  lse2 = np.log(np.exp(2 * (logits - m)).sum(-1)) + 2 * m[..., 0]
  aligned = (token_logps - (lse2 - 2 * lse1)) * where
  return aligned.sum(-1) / np.maximum(where.sum(-1), 1)


def _wpo_logps(token_logps, logits, where):
  return jaxloss.wpo_logps(token_logps, logits, where=where)


_wpo_logps = _named(_wpo_logps, "wpo_logps")


def _wpo_inputs(rng, b):
  logits = rng.normal(size=(b, 5, V)) * 2
  lp = np.take_along_axis(
    _log_softmax(logits), rng.integers(0, V, (b, 5, 1)), -1
  )[..., 0]
  where = np.arange(5)[None] < rng.integers(1, 6, (b, 1))
  return lp, logits, where


def trl_ld_reference(token_logps, mask, shared, ld_alpha):
  # TRL 1.16.0 dpo_trainer.py, ld_alpha: positions counted by the cumsum of
  # the completion mask; shared = 1 <= pos <= shared_len, tail = pos >
  # shared_len; logps = sum(shared) + ld_alpha * sum(tail).
  pos = np.cumsum(mask, -1)
  shared_mask = (pos > 0) & (pos <= shared[..., None])
  tail_mask = pos > shared[..., None]
  lp = np.where(mask, token_logps, 0.0)
  return (lp * shared_mask).sum(-1) + ld_alpha * (lp * tail_mask).sum(-1)


def _ld_pair(c, r, mc, mr, *, ld_alpha=0.5):
  return jnp.stack(
    jaxloss.length_desensitized_logps(
      c, r, chosen_where=mc, rejected_where=mr, ld_alpha=ld_alpha
    ),
    -1,
  )


_ld_pair = _named(_ld_pair, "length_desensitized_logps")


def _ld_inputs(rng, b):
  mc, mr = rng.random((b, 6)) < 0.7, rng.random((b, 4)) < 0.7
  mr[0] = False  # an empty rejected response
  return rng.uniform(-3, -0.1, (b, 6)), rng.uniform(-3, -0.1, (b, 4)), mc, mr


def _ld_reference(c, r, mc, mr, *, ld_alpha=0.5):
  shared = np.minimum(mc.sum(-1), mr.sum(-1))
  return np.stack(
    [
      trl_ld_reference(c, mc, shared, ld_alpha),
      trl_ld_reference(r, mr, shared, ld_alpha),
    ],
    -1,
  )


def _kto(p, ref, desirable, **kw):
  return jaxloss.kto(p, ref, desirable, **kw)


_kto = _named(_kto, "kto")


def _kto_inputs(rng, b):
  return (
    rng.uniform(-20, -5, b),
    rng.uniform(-20, -5, b),
    np.arange(b) % 2 == 0,
  )


def trl_apo_zero_unpaired(p, ref, desirable, *, beta=0.1, **weights):
  # TRL 1.16.0 kto_trainer.py, loss_type "apo_zero_unpaired": desirable
  # 1 - sigmoid(beta r), undesirable sigmoid(beta r), no KL term; times
  # desirable_weight / undesirable_weight.
  weights.pop("loss_type")
  s = _sigmoid(beta * (p - ref))
  return np.where(
    desirable,
    weights.get("desirable_weight", 1.0) * (1 - s),
    weights.get("undesirable_weight", 1.0) * s,
  )


PREFERENCE_VARIANTS = [
  _dpo_spec("dpo_exo_pair", loss_type="exo_pair", label_smoothing=1e-3),
  _dpo_spec("dpo_nca_pair", loss_type="nca_pair"),
  _dpo_spec("dpo_bco_pair", loss_type="bco_pair", bco_reward_mean=0.2),
  _dpo_spec("dpo_sppo_hard", loss_type="sppo_hard"),
  _dpo_spec("dpo_aot", loss_type="aot", label_smoothing=0.1),
  _dpo_spec("dpo_aot_unpaired", loss_type="aot_unpaired"),
  _dpo_spec("dpo_apo_zero", loss_type="apo_zero"),
  _dpo_spec("dpo_apo_down", loss_type="apo_down"),
  _dpo_spec("dpo_discopop", loss_type="discopop", discopop_tau=0.5),
  _dpo_spec(
    "dpo_sigmoid_norm",
    _dpo_lengths,
    _four_lengths,
    _ref_lengths,
    loss_type="sigmoid_norm",
  ),
  _dpo_spec(
    "dpo_ipo_lengths",
    _dpo_lengths,
    _four_lengths,
    _ref_lengths,
    loss_type="ipo",
  ),
  _dpo_spec(
    "dpo_mpo",
    _dpo_nll,
    _four_nll,
    _ref_nll,
    loss_type=("sigmoid", "bco_pair", "sft"),
    loss_weights=(0.8, 0.2, 1.0),
  ),
  _dpo_spec("dpo_rpo", loss_type="sigmoid", rpo_alpha=0.5),
  _dpo_spec("dpo_wpo", _dpo_wpo, _four_wpo, _ref_wpo, loss_type="hinge"),
  _dpo_spec("dpo_forward_kl", f_divergence="forward_kl"),
  _dpo_spec("dpo_js_divergence", f_divergence="js_divergence"),
  _dpo_spec(
    "dpo_alpha_divergence",
    f_divergence="alpha_divergence",
    f_alpha_divergence_coef=0.3,
  ),
  Spec(
    name="cpo_alphapo",
    fn=jaxloss.cpo,
    make_inputs=_two_avg,
    kwargs=dict(beta=2.0, cpo_alpha=0.0, alphapo_alpha=0.5, gamma=0.4),
    reference=trl_cpo_reference,
    reference_source="TRL 1.16.0 CPOTrainer.cpo_loss (AlphaPO), transcribed",
    edge_inputs=_two_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="cpo_alphapo_negative",
    fn=jaxloss.cpo,
    make_inputs=_two_avg,
    kwargs=dict(
      beta=0.5, cpo_alpha=0.3, alphapo_alpha=-0.7, label_smoothing=0.1
    ),
    reference=trl_cpo_reference,
    reference_source="TRL 1.16.0 CPOTrainer.cpo_loss (AlphaPO), transcribed",
    edge_inputs=_two_edges,
    diff_argnums=(0, 1),
  ),
  Spec(
    name="length_desensitized_logps",
    fn=_ld_pair,
    make_inputs=_ld_inputs,
    kwargs=dict(ld_alpha=0.3),
    reference=_ld_reference,
    reference_source="TRL 1.16.0 DPOTrainer ld_alpha masks, transcribed",
    edge_inputs=lambda: [
      (
        np.array([[0.0, -1e4, -1e-12]]),
        np.array([[-1e4, 0.0]]),
        np.array([[True, True, False]]),
        np.array([[False, True]]),
      )
    ],
    diff_argnums=(0, 1),
    value_rank=2,
  ),
  Spec(
    name="kto_apo_zero_unpaired",
    fn=_kto,
    make_inputs=_kto_inputs,
    kwargs=dict(
      beta=0.2,
      desirable_weight=1.5,
      undesirable_weight=0.5,
      loss_type="apo_zero_unpaired",
    ),
    reference=trl_apo_zero_unpaired,
    reference_source="TRL 1.16.0 KTOTrainer (apo_zero_unpaired), transcribed",
    edge_inputs=lambda: [
      (
        np.array([1e4, -1e4, 0.0]),
        np.array([-1e4, 1e4, 0.0]),
        np.array([True, False, True]),
      )
    ],
    diff_argnums=(0,),
  ),
  Spec(
    name="wpo_logps",
    fn=_wpo_logps,
    make_inputs=_wpo_inputs,
    reference=lambda lp, s, m: trl_wpo_reference(lp, s, m),
    reference_source="TRL 1.16.0 DPOTrainer use_weighting, transcribed",
    diff_argnums=(0,),
    grad_check=False,
  ),
]


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
    kwargs=dict(beta=0.5, cpo_alpha=0.7),
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
    edge_inputs=_topk_edges,
    diff_argnums=(0,),
    mismatch=_topk_mismatch,
  ),
  *PREFERENCE_VARIANTS,
]


# ------------------------------------------------------------ policy (issue 24)
#
# The reference below transcribes, in NumPy float64, the per-token loss of
# TRL's GRPOTrainer._compute_loss and the sampler correction of
# GRPOTrainer._generate_and_score_completions (huggingface/trl at commit
# f2cd577, version 1.10.0.dev0: GSPO's sequence level, CISPO, SAPO, the
# two-sided `delta` clip, VESPO's gamma weights, truncated / masked
# sampler importance weights at token and sequence level, the off-policy
# sequence mask, the importance-corrected KL, the entropy-quantile mask),
# and verl's core_algos (volcengine/verl at commit b178a3c, 0.8.0.dev:
# compute_policy_loss_vanilla's dual clip, compute_policy_loss_gspo's
# GSPO-token ratio, compute_policy_loss_geo_mean for GMPO,
# compute_policy_loss_cispo's two-sided clip). ``frozen`` stands for the
# stop-gradient copies of the log-probabilities: the value uses
# ``frozen = lp``; holding ``frozen`` fixed while differencing ``lp`` gives
# the gradient the trainers' autodiff computes.

T_PG = 5


def _rollout(rng, b):
  lp = rng.uniform(-3.0, -0.1, (b, T_PG))
  old = lp + rng.normal(0.0, 0.15, (b, T_PG))
  adv = rng.normal(size=(b,))
  mask = rng.uniform(size=(b, T_PG)) < 0.7
  mask[:, :2] = True
  sampler = old + rng.normal(0.0, 0.2, (b, T_PG))
  ent = rng.uniform(0.1, 3.0, (b, T_PG))
  ref = lp + rng.normal(0.0, 0.2, (b, T_PG))
  return lp, old, adv, mask, sampler, ent, ref


def _rollout_edges():
  b = 3
  lp = np.full((b, T_PG), -30.0)
  lp[1] = -1e-6
  old = np.full((b, T_PG), -1e-6)
  old[1] = -30.0
  adv = np.array([5.0, -5.0, 0.0])
  mask = np.ones((b, T_PG), bool)
  mask[2] = False  # an empty row
  return [(lp, old, adv, mask, old - 3.0, np.zeros((b, T_PG)), lp + 30.0)]


def _seq_mean(v, m):
  return (v * m).sum(-1, keepdims=True) / np.maximum(
    m.sum(-1, keepdims=True), 1
  )


def pg_reference(
  lp,
  old,
  adv,
  mask,
  sampler,
  ent,
  ref,
  *,
  frozen=None,
  clip_epsilon=0.2,
  clip_epsilon_high=None,
  objective="ppo",
  importance_level="token",
  clip_ratio_c=None,
  delta=None,
  sapo_temperature_pos=1.0,
  sapo_temperature_neg=1.05,
  vespo_k_pos=2.0,
  vespo_lambda_pos=3.0,
  vespo_k_neg=3.0,
  vespo_lambda_neg=2.0,
  sampler_correction=None,
  sampler_level="token",
  sampler_threshold=3.0,
  sampler_threshold_low=None,
  off_policy_threshold=None,
  kl_coef=0.0,
  kl_estimator="k3",
  kl_importance_weighted=False,
  entropy_coef=0.0,
  top_entropy_quantile=1.0,
  normalization="none",
  normalizer=None,
):
  sg = lp if frozen is None else frozen
  m = mask.astype(np.float64)
  a = adv[:, None] if adv.ndim == 1 else adv
  e_lo = clip_epsilon
  e_hi = clip_epsilon if clip_epsilon_high is None else clip_epsilon_high
  is_ratio = None
  if sampler_correction is not None:
    diff = (old - sampler) * m
    if sampler_level == "sequence":
      diff = diff.sum(-1, keepdims=True)
    is_ratio = np.exp(diff)
    hi = np.inf if sampler_threshold is None else sampler_threshold
    lo = -np.inf if sampler_threshold_low is None else sampler_threshold_low
    if sampler_correction == "tis":
      is_ratio = np.clip(is_ratio, lo, hi)
    else:
      is_ratio = np.where((is_ratio < lo) | (is_ratio > hi), 0.0, is_ratio)
  entropy_mask = None
  if top_entropy_quantile < 1.0:
    threshold = np.quantile(ent[mask], 1 - top_entropy_quantile)
    entropy_mask = (ent * m >= threshold) & mask
  off_mask = None
  if off_policy_threshold is not None:
    behaviour = old if sampler is None else sampler
    avg = _seq_mean(behaviour - sg, m)
    off_mask = (a >= 0) | (avg <= off_policy_threshold)
  log_ratio = lp - old
  if importance_level == "token":
    log_w = log_ratio
  elif importance_level == "sequence":
    log_w = _seq_mean(log_ratio, m)
  else:  # verl's GSPO-token: sg[log s_i] + log_prob - sg[log_prob]
    log_w = _seq_mean(sg - old, m) + lp - sg
  coef_1 = np.exp(log_w)
  d = ref - lp
  kl = {"k1": -d, "k2": 0.5 * d * d, "k3": np.exp(d) - d - 1}[kl_estimator]
  if kl_importance_weighted:
    kl = kl * (np.exp(log_ratio) if objective in ("gmpo", "vespo") else coef_1)
  if objective == "ppo":
    coef_2 = np.clip(coef_1, 1 - e_lo, 1 + e_hi)
    if delta is not None:
      coef_1 = np.minimum(coef_1, delta)
    per = -np.minimum(coef_1 * a, coef_2 * a)
    if clip_ratio_c is not None:
      per = np.where(a < 0, np.minimum(-a * clip_ratio_c, per), per)
  elif objective == "cispo":
    w = np.clip(
      np.exp(
        _seq_mean(sg - old, m) if importance_level != "token" else sg - old
      ),
      1 - e_lo,
      1 + e_hi,
    )
    per = -w * a * lp
  elif objective == "sapo":
    tau = np.where(a > 0, sapo_temperature_pos, sapo_temperature_neg)
    per = -(1 / (1 + np.exp(-tau * (coef_1 - 1)))) * 4 / tau * a
  elif objective == "gmpo":
    sgn = np.sign(a)
    clamped = np.clip(log_ratio, -e_lo, e_hi)
    kept = sgn * np.minimum(sgn * log_ratio, sgn * clamped)
    ratio = np.exp(_seq_mean(kept, m))
    per = np.broadcast_to(-_seq_mean(a * np.ones_like(lp), m) * ratio, lp.shape)
  else:
    seq = np.sum(np.clip(sg - old, -20.0, 20.0) * m, -1, keepdims=True)
    if is_ratio is not None:
      seq = seq + np.sum(
        np.clip(np.log(np.where(mask, is_ratio, 1.0)), np.log(1e-8), 20.0),
        -1,
        keepdims=True,
      )
    log_w_seq = np.clip(seq, np.log(1e-8), 20.0)
    pos = a >= 0
    k = np.where(pos, vespo_k_pos, vespo_k_neg)
    lam = np.where(pos, vespo_lambda_pos, vespo_lambda_neg)
    phi = np.exp(lam + k * log_w_seq - lam * np.exp(log_w_seq))
    per = -phi * a * lp
  if off_mask is not None:
    per = per * off_mask
  if entropy_mask is not None:
    per = per * entropy_mask
  if is_ratio is not None and objective != "vespo":
    per = per * is_ratio
  per = per + kl_coef * kl
  bonus_mask = mask if entropy_mask is None else entropy_mask
  if entropy_coef:
    per = per - entropy_coef * ent * bonus_mask
  per = per * m
  if normalization == "none":
    return per
  if normalization == "sequence":
    seq_loss = per.sum(-1) / np.maximum(m.sum(-1), 1)
    return seq_loss.sum() / (len(per) if normalizer is None else normalizer)
  if normalizer is not None:
    return per.sum() / normalizer
  if normalization == "token":
    return per.sum() / m.sum()
  return per.sum() / per.size


def policy_gradient(lp, old, adv, mask, sampler, ent, ref, **kwargs):
  """The spec's positional form (per-token values unless told)."""
  kwargs.setdefault("normalization", "none")
  return jaxloss.policy_gradient(
    lp,
    old,
    adv,
    where=mask,
    sampler_logps=sampler,
    entropy=ent,
    reference_logps=ref,
    **kwargs,
  )


PG_SRC = (
  "NumPy float64 transcription of TRL 1.10.0.dev0 (f2cd577) "
  "GRPOTrainer._compute_loss and verl 0.8.0.dev (b178a3c) core_algos"
)


def _pg_spec(name, per_sample=True, grad_check=True, **kwargs):
  return Spec(
    name=name,
    fn=policy_gradient,
    make_inputs=_rollout,
    kwargs=kwargs,
    reference=pg_reference,
    reference_source=PG_SRC,
    edge_inputs=_rollout_edges,
    diff_argnums=(0,),
    per_sample=per_sample,
    value_rank=2,
    # A stop-gradient weight makes autodiff's second derivative differ from
    # the finite difference of its gradient: those specs' gradients are
    # checked against the reference in tests/test_lm_post_frontier.py.
    grad_check=grad_check,
  )


POLICY_SPECS = [
  _pg_spec(
    "pg_gspo_tis",
    importance_level="sequence",
    clip_epsilon=0.05,
    sampler_correction="tis",
    sampler_threshold=1.1,
  ),
  _pg_spec(
    "pg_gspo_token_mis_off_policy",
    grad_check=False,
    importance_level="sequence_token",
    clip_epsilon=0.05,
    sampler_correction="mis",
    sampler_level="sequence",
    sampler_threshold=1.5,
    sampler_threshold_low=0.5,
    off_policy_threshold=0.02,
  ),
  _pg_spec(
    "pg_cispo",
    grad_check=False,
    objective="cispo",
    clip_epsilon=0.1,
    clip_epsilon_high=0.15,
  ),
  _pg_spec(
    "pg_sapo_kl_is",
    objective="sapo",
    kl_coef=0.1,
    kl_importance_weighted=True,
  ),
  _pg_spec("pg_gmpo", objective="gmpo", clip_epsilon=0.1),
  _pg_spec(
    "pg_vespo_tis",
    grad_check=False,
    objective="vespo",
    sampler_correction="tis",
    sampler_threshold=1.2,
  ),
  _pg_spec("pg_dual_clip_delta", clip_ratio_c=1.05, delta=1.1),
  _pg_spec(
    "pg_entropy_quantile",
    per_sample=False,
    top_entropy_quantile=0.4,
    entropy_coef=0.05,
  ),
]
SPECS.extend(POLICY_SPECS)


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
  lq, lp = _log_softmax(s), _log_softmax(t)
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
  lq = np.take_along_axis(_log_softmax(s / temperature), ids, -1)
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
