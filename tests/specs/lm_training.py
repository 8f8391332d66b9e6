"""Specs for LM training as it is run (issue 25): packed sequences
(``segment_reduce`` and the preference losses on packed per-token
log-probabilities), the MoE router losses and multi-token prediction.

References are NumPy float64 transcriptions: per-segment sums written as
Python loops over the tokens, then the papers' formulas (the preference
references of tests/specs/lm_post.py).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import lm_post

T, S = 7, 3


def _ids(rng, b):
  """Random packings of ``b`` rows: segment 1 starts every row, up to
  ``S`` segments, trailing padding (id 0)."""
  ids = np.zeros((b, T), np.int32)
  for r in range(b):
    cuts = np.sort(rng.choice(np.arange(1, T), size=S - 1, replace=False))
    end = rng.integers(cuts[-1] + 1, T + 1)
    k = rng.integers(1, S + 1)  # number of segments in this row
    bounds = [0, *cuts[: k - 1], end]
    for j in range(k):
      ids[r, bounds[j] : bounds[j + 1]] = j + 1
  return ids


def _numpy_segments(values, ids, mean=False):
  # One loop per token: the definition of a per-segment sum / mean.
  out = np.zeros(values.shape[:-1] + (S,))
  cnt = np.zeros(values.shape[:-1] + (S,))
  for r in range(values.shape[0]):
    for t in range(values.shape[-1]):
      if ids[r, t] > 0:
        out[r, ids[r, t] - 1] += values[r, t]
        cnt[r, ids[r, t] - 1] += 1
  if mean:
    out = np.where(cnt > 0, out / np.maximum(cnt, 1), 0.0)
  return out, cnt > 0


def _segment_inputs(rng, b):
  return rng.normal(size=(b, T)), _ids(rng, b)


def segment_reduce_reference(values, ids, *, num_segments, reduction):
  out, _ = _numpy_segments(values, ids, mean=reduction == "mean")
  return out


def _segment_edges():
  ids = np.array([[1, 1, 2, 2, 3, 0, 0], [1, 0, 0, 0, 0, 0, 0]], np.int32)
  big = np.array([[1e30, -1e30, 0.0, 1e-30, 3.0, 7.0, 1.0]] * 2)
  return [(big, ids)]


# ------------------------------------------------------------ preference


def _token_logps(rng, b, n, low=-3.0, high=-0.05):
  # per-token log-probabilities, all layouts alike: (n arrays, ids, ids)
  return tuple(rng.uniform(low, high, (b, T)) for _ in range(n))


def _make_pref(n, low=-3.0, high=-0.05):
  def make(rng, b):
    return (*_token_logps(rng, b, n, low, high), _ids(rng, b), _ids(rng, b))

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
      out, present = _numpy_segments(v, ids, mean)
      seq.append(out)
      found = present if found is None else found & present
    ref = getattr(lm_post, f"{fn.__name__}_reference")
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
    "then the paper's equation (tests/specs/lm_post.py)",
    edge_inputs=_pref_edges(n),
    diff_argnums=(0, 1),
    value_rank=2,
  )


SPECS = [
  Spec(
    name="segment_reduce_sum",
    fn=jaxloss.segment_reduce,
    make_inputs=_segment_inputs,
    kwargs=dict(num_segments=S, reduction="sum"),
    reference=segment_reduce_reference,
    reference_source="NumPy float64 loop over tokens (per-segment sums)",
    edge_inputs=_segment_edges,
    diff_argnums=(0,),
    value_rank=2,
  ),
  Spec(
    name="segment_reduce_mean",
    fn=jaxloss.segment_reduce,
    make_inputs=_segment_inputs,
    kwargs=dict(num_segments=S, reduction="mean"),
    reference=segment_reduce_reference,
    reference_source="NumPy float64 loop over tokens (per-segment means)",
    edge_inputs=_segment_edges,
    diff_argnums=(0,),
    value_rank=2,
  ),
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


# ------------------------------------------------------------ MoE routers

E, KE = 5, 2


def _router(rng, b):
  logits = rng.normal(size=(b, T, E)) * 1.5
  p = np.exp(logits - logits.max(-1, keepdims=True))
  p = p / p.sum(-1, keepdims=True)
  return p, np.argsort(-p, axis=-1)[..., :KE]


def sequence_balance_reference(p, idx):
  # DeepSeek-V3 eq. 17-20 per sequence (loops over tokens and choices).
  out = []
  for b in range(p.shape[0]):
    f = np.zeros(E)
    for t in range(T):
      for j in range(KE):
        f[idx[b, t, j]] += E / (KE * T)
    out.append(np.sum(f * p[b].sum(0) / T))
  return np.array(out)


def load_balancing_reference(p, idx):
  # Fedus et al. 2022 eq. 4-6 over every token of the batch, top-k form.
  p2, i2 = p.reshape(-1, E), idx.reshape(-1, KE)
  f = np.bincount(i2.ravel(), minlength=E) / (len(p2) * KE)
  return E * np.sum(f * p2.mean(0))


def _router_edges():
  p = np.zeros((2, T, E))
  p[..., 0] = 1.0  # saturated router
  return [(p, np.zeros((2, T, KE), np.int64) + np.arange(KE))]


def _z_logits(rng, b):
  return (rng.normal(size=(b, E)) * 3,)


def z_reference(z):
  # Zoph et al. 2022 eq. 5, per token: logsumexp(z) ** 2.
  m = z.max(-1)
  return (m + np.log(np.exp(z - m[:, None]).sum(-1))) ** 2


SPECS += [
  Spec(
    name="load_balancing_loss",
    fn=jaxloss.load_balancing_loss,
    make_inputs=_router,
    reference=load_balancing_reference,
    reference_source="NumPy float64 transcription of Switch Transformer eq. "
    "4-6 (Fedus et al. 2022) with Megatron-core's 1/K",
    edge_inputs=_router_edges,
    diff_argnums=(0,),
    per_sample=False,
    value_rank=0,
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
  Spec(
    name="sequence_load_balancing_loss",
    fn=jaxloss.sequence_load_balancing_loss,
    make_inputs=_router,
    reference=sequence_balance_reference,
    reference_source="NumPy float64 transcription of DeepSeek-V3 eq. 17-20",
    edge_inputs=_router_edges,
    diff_argnums=(0,),
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
  Spec(
    name="router_z_loss",
    fn=jaxloss.router_z_loss,
    make_inputs=_z_logits,
    reference=z_reference,
    reference_source="NumPy float64 transcription of ST-MoE eq. 5",
    edge_inputs=lambda: [(np.array([[1e4, -1e4, 0.0, 0.0, 0.0]] * 2),)],
    diff_argnums=(0,),
    mismatch=lambda a: (a[0][0, 0],),  # a scalar: no expert axis
  ),
]


# ------------------------------------------------------------ fused head

_HW = np.random.default_rng(4321).normal(size=(4, 9))


def _head_inputs(rng, b):
  y = rng.integers(0, 9, size=(b,))
  y[1::3] = -100
  return rng.normal(size=(b, 4)), y


def _head_w(x):
  dtype = jnp.result_type(x)
  if not jnp.issubdtype(dtype, jnp.floating):
    dtype = jnp.float32  # the function rejects the embeddings first
  return jnp.asarray(_HW, dtype)


def _np_head(x, cap):
  z = x @ _HW
  if cap is not None:
    z = cap * np.tanh(z / cap)
  m = z.max(-1, keepdims=True)
  return z, (m + np.log(np.exp(z - m).sum(-1, keepdims=True)))[..., 0]


def linear_cross_entropy_dft(x, y, **kw):
  """Per-token DFT-scaled loss with the spec's fixed head."""
  return jaxloss.linear_cross_entropy(
    x, _head_w(x), y, reduction="none", dft_scaling=True, **kw
  )


linear_cross_entropy_dft.__name__ = "linear_cross_entropy"


def dft_reference(x, y, *, chunk_size, logit_softcap, z_loss):
  # Wu et al. 2025 (DFT): sg(p_y) * (-log p_y), plus the unweighted
  # z-loss z * lse ** 2 (Chowdhery et al. 2022).
  del chunk_size
  z, lse = _np_head(x, logit_softcap)
  valid = y != -100
  tgt = np.take_along_axis(z, np.where(valid, y, 0)[:, None], -1)[:, 0]
  v = np.exp(tgt - lse) * (lse - tgt) + z_loss * lse**2
  return np.where(valid, v, 0.0)


def linear_cross_entropy_lse(x, y, **kw):
  """The differentiable per-token log-sum-exp of ``return_token_stats``."""
  _, stats = jaxloss.linear_cross_entropy(
    x, _head_w(x), y, return_token_stats=True, **kw
  )
  return stats["lse"]


linear_cross_entropy_lse.__name__ = "linear_cross_entropy"


def lse_reference(x, y, *, chunk_size, logit_softcap):
  del chunk_size
  _, lse = _np_head(x, logit_softcap)
  return np.where(y != -100, lse, 0.0)


_HEAD_EDGES = lambda: [  # noqa: E731
  (np.array([[1e3, -1e3, 5e2, 0.0], [0.0] * 4]), np.array([2, 5])),
  (np.zeros((2, 4)), np.array([-100, -100])),
]

SPECS += [
  Spec(
    name="linear_cross_entropy_dft",
    fn=linear_cross_entropy_dft,
    make_inputs=_head_inputs,
    kwargs=dict(chunk_size=4, logit_softcap=3.0, z_loss=0.05),
    reference=dft_reference,
    reference_source="NumPy float64 transcription of DFT (Wu et al. 2025): "
    "stop-gradient p_y times the token NLL, plus the PaLM z-loss",
    edge_inputs=_HEAD_EDGES,
    diff_argnums=(0,),
    grad_check=False,  # the weight is a stop-gradient: not the derivative
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
  Spec(
    name="linear_cross_entropy_lse",
    fn=linear_cross_entropy_lse,
    make_inputs=_head_inputs,
    kwargs=dict(chunk_size=4, logit_softcap=3.0),
    reference=lse_reference,
    reference_source="NumPy float64 log-sum-exp of the capped logits",
    edge_inputs=_HEAD_EDGES,
    diff_argnums=(0,),
    half_out=jnp.float32,  # the fused LM functions' dtype policy
  ),
]


# ------------------------------------------------------------ MTP

_KD = 3


def _mtp_inputs(rng, b):
  y = rng.integers(0, 9, size=(b, _KD))
  y[:, -1] = np.where(rng.random(b) < 0.5, -100, y[:, -1])
  return rng.normal(size=(b, _KD, 4)), y


def multi_token_prediction_loss(x, y, **kw):
  """The weighted total with the spec's fixed head; the batch leads, so the
  depth axis moves to the front."""
  total, _ = jaxloss.multi_token_prediction_loss(
    jnp.moveaxis(x, 1, 0), _head_w(x), jnp.moveaxis(y, 1, 0), **kw
  )
  return total


def mtp_reference(x, y, *, chunk_size):
  # DeepSeek-V3 eq. 24-25 with lambda = 1: mean over depths of each depth's
  # token-mean cross-entropy.
  del chunk_size
  per = []
  for k in range(_KD):
    z, lse = _np_head(x[:, k], None)
    valid = y[:, k] != -100
    tgt = np.take_along_axis(z, np.where(valid, y[:, k], 0)[:, None], -1)
    ce = np.where(valid, lse - tgt[:, 0], 0.0)
    per.append(ce.sum() / valid.sum() if valid.any() else 0.0)
  return np.mean(per)


SPECS += [
  Spec(
    name="multi_token_prediction_loss",
    fn=multi_token_prediction_loss,
    make_inputs=_mtp_inputs,
    kwargs=dict(chunk_size=4),
    reference=mtp_reference,
    reference_source="NumPy float64 transcription of DeepSeek-V3 eq. 24-25",
    edge_inputs=lambda: [
      (np.array([[[1e3, -1e3, 5e2, 0.0]] * _KD] * 2), np.zeros((2, _KD), int)),
      (np.zeros((2, _KD, 4)), np.full((2, _KD), -100)),
    ],
    diff_argnums=(0,),
    per_sample=False,
    value_rank=0,
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
]
