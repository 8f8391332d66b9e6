"""Specs for the RNN-T (transducer) losses.

The reference is a NumPy float64 transcription of the forward recursion of
Graves (2012), "Sequence transduction with recurrent neural networks",
eqs. (10)-(13): a plain double loop over the T x (U + 1) lattice, checked in
tests/test_transducer.py against an explicit sum over every alignment path.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

T, U, V = 4, 2, 5
SRC = (
  "NumPy float64 transcription of Graves (2012) eqs. (10)-(13), "
  "double loop over the lattice"
)


def np_log_softmax(x):
  m = x.max(-1, keepdims=True)
  return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def np_rnnt_nll(log_probs, labels, t_len, u_len, blank=0):
  """One sequence's -log p(y|x), Graves (2012) eqs. (10)-(13).

  alpha(0, 0) = 1, alpha(t, u) = alpha(t-1, u) b(t-1, u) +
  alpha(t, u-1) y(t, u-1), p = alpha(T-1, U) b(T-1, U); in log space with a
  plain double loop over t and u.
  """
  lp = log_probs[:t_len, : u_len + 1]
  alpha = np.full((t_len, u_len + 1), -np.inf)
  for t in range(t_len):
    for u in range(u_len + 1):
      if t == 0 and u == 0:
        alpha[t, u] = 0.0
        continue
      terms = []
      if t > 0:
        terms.append(alpha[t - 1, u] + lp[t - 1, u, blank])
      if u > 0:
        terms.append(alpha[t, u - 1] + lp[t, u - 1, labels[u - 1]])
      alpha[t, u] = np.logaddexp.reduce(terms)
  return -(alpha[-1, -1] + lp[-1, -1, blank])


def np_rnnt(logits, labels, t_lens, u_lens, blank=0):
  lp = np_log_softmax(np.asarray(logits, np.float64))
  return np.array(
    [
      np_rnnt_nll(lp[b], labels[b], t_lens[b], u_lens[b], blank)
      for b in range(len(lp))
    ]
  )


def _lengths(rng, batch):
  t_lens = rng.integers(1, T + 1, size=batch)
  u_lens = rng.integers(0, U + 1, size=batch)
  t_lens[0], u_lens[0] = T, U
  return t_lens, u_lens


def _logit_inputs(rng, batch):
  logits = rng.normal(size=(batch, T, U + 1, V))
  labels = rng.integers(1, V, size=(batch, U))
  return (logits, labels, *_lengths(rng, batch))


def _lp_inputs(rng, batch):
  logits, labels, t_lens, u_lens = _logit_inputs(rng, batch)
  lp = np_log_softmax(logits)
  emit = np.take_along_axis(
    lp, np.pad(labels, ((0, 0), (0, 1)))[:, None, :, None], -1
  )[..., 0]
  return lp[..., 0], emit, t_lens, u_lens


def _lp_reference(blank, emit, t_lens, u_lens):
  out = []
  for b in range(len(blank)):
    # A two-symbol "vocabulary" per node: 0 = blank, 1 = the next label.
    lp = np.stack([blank[b], emit[b]], axis=-1)
    out.append(np_rnnt_nll(lp, np.ones(U, int), t_lens[b], u_lens[b]))
  return np.array(out)


def _edges_logits():
  rng = np.random.default_rng(7)
  logits, labels, t_lens, u_lens = _logit_inputs(rng, 2)
  return [
    (logits * 1e4, labels, t_lens, u_lens),  # saturated
    (np.zeros_like(logits), labels, t_lens, u_lens),  # uniform
    (logits, labels, np.array([T, 0]), u_lens),  # no frame
  ]


def _edges_lp():
  rng = np.random.default_rng(8)
  blank, emit, t_lens, u_lens = _lp_inputs(rng, 2)
  return [
    (blank * 1e4, emit * 1e4, t_lens, u_lens),
    (blank, emit, np.array([T, 0]), u_lens),
  ]


def _wrong_labels(args):
  logits, labels, t_lens, u_lens = args
  return logits, labels[:, :-1], t_lens, u_lens


def _wrong_emit(args):
  blank, emit, t_lens, u_lens = args
  return blank, emit[:, :-1], t_lens, u_lens


SPECS = [
  Spec(
    "rnnt_loss",
    jaxloss.rnnt_loss,
    _logit_inputs,
    cls=jaxloss.RNNTLoss,
    reference=np_rnnt,
    reference_source=SRC,
    edge_inputs=_edges_logits,
    diff_argnums=(0,),
    mismatch=_wrong_labels,
  ),
  Spec(
    "rnnt_loss_from_log_probs",
    jaxloss.rnnt_loss_from_log_probs,
    _lp_inputs,
    cls=jaxloss.RNNTLossFromLogProbs,
    reference=_lp_reference,
    reference_source=SRC,
    edge_inputs=_edges_lp,
    diff_argnums=(0, 1),
    mismatch=_wrong_emit,
  ),
]
