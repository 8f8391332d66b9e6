"""Specs of the preference losses (jaxloss/_src/lm/preference.py): one
value per pair, and per packed segment for the packed-sequence forms.

References are NumPy float64 transcriptions of the papers' formulas, and
for the preference variants of issue 24 of TRL 1.16.0's trainer code
(``PREFERENCE_VARIANTS``; tests/test_lm_preference.py also compares them
with stored outputs of TRL itself); the packed forms sum or average the
tokens of each segment in Python loops first. ``kto``'s KL estimate (over
the batch) is covered in tests/test_lm_preference.py instead.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import S
from tests.specs.lm_common import T
from tests.specs.lm_common import V
from tests.specs.lm_common import log_sigmoid
from tests.specs.lm_common import log_softmax
from tests.specs.lm_common import numpy_segments
from tests.specs.lm_common import packed_ids


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
    return -(1 - eps) * log_sigmoid(beta * h) - eps * log_sigmoid(-beta * h)
  if loss_type == "ipo":
    return (h - 1 / (2 * beta)) ** 2
  return (-(1 - eps) * log_sigmoid(beta * h) + eps * log_sigmoid(-beta * h)) / (
    1 - 2 * eps
  )


def simpo_reference(c, r, *, beta=2.0, gamma=0.5):
  return -log_sigmoid(beta * (c - r) - gamma)  # Meng et al. 2024, eq. 6


def cpo_reference(c, r, *, beta=0.1, cpo_alpha=1.0):
  return -log_sigmoid(beta * (c - r)) - cpo_alpha * c  # Xu et al. 2024, eq. 6


def orpo_reference(c, r, *, beta=0.1):
  # Hong et al. 2024, eq. 6-7: odds(p) = p / (1 - p), p = exp(average).
  pc, pr = np.exp(c), np.exp(r)
  log_or = np.log(pc / (1 - pc)) - np.log(pr / (1 - pr))
  return -c - beta * log_sigmoid(log_or)


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
  return np.exp(log_sigmoid(x))


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
    chosen_scores = np.log(2) + log_sigmoid(chosen_logratios)
    rejected_scores = np.log(2) + log_sigmoid(rejected_logratios)
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
    return -log_sigmoid(z) * (1 - eps) - log_sigmoid(-z) * eps

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
        -log_sigmoid(cw) - 0.5 * log_sigmoid(-cw) - 0.5 * log_sigmoid(-rw)
      )
    elif kind == "robust":
      per_seq = (
        -(1 - eps) * log_sigmoid(beta * delta_score)
        + eps * log_sigmoid(-beta * delta_score)
      ) / (1 - 2 * eps)
    elif kind == "bco_pair":
      d0 = bco_reward_mean
      per_seq = -log_sigmoid(beta * chosen_logratios - d0) - log_sigmoid(
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
        -log_sigmoid(logits) * (1 - modulation) + np.exp(-logits) * modulation
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
    -log_sigmoid(beta * logits) * (1 - eps) - log_sigmoid(-beta * logits) * eps
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
    log_softmax(logits), rng.integers(0, V, (b, 5, 1)), -1
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


PAPERS = "NumPy float64 transcription of the paper's equation"

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
  *PREFERENCE_VARIANTS,
]


# ------------------------------------------------------------ packed (issue 25)


def _token_logps(rng, b, n, low=-3.0, high=-0.05):
  # per-token log-probabilities, all layouts alike: (n arrays, ids, ids)
  return tuple(rng.uniform(low, high, (b, T)) for _ in range(n))


def _make_pref(n, low=-3.0, high=-0.05):
  def make(rng, b):
    return (
      *_token_logps(rng, b, n, low, high),
      packed_ids(rng, b),
      packed_ids(rng, b),
    )

  return make


def _packed(fn, n, mean):
  """``fn`` on packed per-token inputs; ids as trailing positional inputs
  (the generic tests vary the batch, so they cannot be fixed keywords)."""

  def call(*args, **kw):
    *tok, chosen_ids, rejected_ids = args
    return fn(
      *tok, segment_ids=(chosen_ids, rejected_ids), num_segments=S, **kw
    )

  call.__name__ = fn.__name__

  def reference(*args, **kw):
    *tok, c_ids, r_ids = args
    layout = [c_ids, r_ids] * 2
    seq, found = [], None
    for v, ids in zip(tok, layout):
      out, present = numpy_segments(v, ids, mean)
      seq.append(out)
      found = present if found is None else found & present
    ref = globals()[f"{fn.__name__}_reference"]
    # missing pairs give 0; evaluate the formula at a harmless -1 there
    seq = [np.where(found, v, -1.0) for v in seq]
    return np.where(found, ref(*seq, **kw), 0.0)

  return call, reference


def _pref_edges(n):
  ids = np.array([[1, 1, 2, 2, 3, 0, 0], [1, 2, 2, 2, 2, 2, 0]], np.int32)
  big = np.array([[0.0, -1e-12, -1e4, -1e4, 0.0, -5.0, -5.0]] * 2)
  return lambda: [(*[big, big[::-1].copy()] * (n // 2), ids, ids[::-1].copy())]


def _pref_spec(name, fn, n, mean, kwargs, low=-3.0):
  call, reference = _packed(fn, n, mean)
  return Spec(
    name=name,
    fn=call,
    make_inputs=_make_pref(n, low),
    kwargs=kwargs,
    reference=reference,
    reference_source="NumPy float64 per-segment sums / means (token loops) "
    "then the paper's equation (tests/specs/lm_preference.py)",
    edge_inputs=_pref_edges(n),
    diff_argnums=(0, 1),
    value_rank=2,
  )


SPECS += [
  _pref_spec("dpo_packed", jaxloss.dpo, 4, False, dict(beta=0.3), low=-2.0),
  _pref_spec(
    "dpo_ipo_packed", jaxloss.dpo, 4, False, dict(beta=0.3, loss_type="ipo")
  ),
  _pref_spec("simpo_packed", jaxloss.simpo, 2, True, dict(beta=2.0, gamma=0.5)),
  _pref_spec(
    "cpo_packed", jaxloss.cpo, 2, False, dict(beta=0.5, cpo_alpha=0.7)
  ),
  _pref_spec("orpo_packed", jaxloss.orpo, 2, True, dict(beta=0.2)),
]
