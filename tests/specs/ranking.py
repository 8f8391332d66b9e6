"""Specs of the ranking losses (jaxloss/_src/losses/ranking.py).

References are NumPy float64 transcriptions of TF-Ranking 0.5.5's
``losses_impl.py`` (TF-Ranking is not installable here).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

L = 5  # list size

SRC_TFR = "NumPy transcription of TF-Ranking 0.5.5 losses_impl.py"


def _valid(t, where):
  v = t >= 0
  return v if where is None else v & where


def _np_pairwise(t, s, where, loss):
  out = []
  for ti, si, vi in zip(t, s, _valid(t, where), strict=True):
    total, count = 0.0, 0
    for i in range(len(ti)):
      for j in range(len(ti)):
        if vi[i] and vi[j] and ti[i] > ti[j]:
          total += loss(si[i] - si[j])
          count += 1
    out.append(total / count if count else 0.0)
  return np.array(out)


def np_pairwise_hinge(t, s, where=None):
  return _np_pairwise(t, s, where, lambda d: max(0.0, 1.0 - d))


def np_pairwise_logistic(t, s, where=None):
  # TF-Ranking: relu(-d) + log1p(exp(-|d|)) == log(1 + exp(-d)).
  return _np_pairwise(
    t, s, where, lambda d: max(-d, 0.0) + np.log1p(np.exp(-abs(d)))
  )


def np_listnet(t, s, where=None):
  # TF-Ranking SoftmaxLoss: labels / label_sum vs softmax over valid items;
  # lists with label_sum = 0 carry weight 0 there, value 0 here.
  out = []
  for ti, si, vi in zip(t, s, _valid(t, where), strict=True):
    ti, si = ti[vi], si[vi]
    if ti.sum() <= 0:
      out.append(0.0)
      continue
    log_q = si - np.logaddexp.reduce(si)
    out.append(-np.sum(ti / ti.sum() * log_q))
  return np.array(out)


def np_listmle(t, s, where=None):
  # TF-Ranking ListMLELoss with ties broken by list position (stable sort).
  out = []
  for ti, si, vi in zip(t, s, _valid(t, where), strict=True):
    ti, si = ti[vi], si[vi]
    order = np.argsort(-ti, kind="stable")
    ss = si[order]
    out.append(sum(np.logaddexp.reduce(ss[k:]) - ss[k] for k in range(len(ss))))
  return np.array(out)


def np_approx_ndcg(t, s, where=None, temperature=0.1):
  # TF-Ranking ApproxNDCGLoss: invalid logits -> min - 1e3; ranks
  # 0.5 + sum_j sigmoid((s_j - s_i) / T); gains 2^t - 1; 1 / ln(1 + rank).
  valid = _valid(t, where)
  t = np.where(valid, t, 0.0)
  s = np.where(valid, s, s.min(-1, keepdims=True) - 1e3) / temperature
  out = []
  for ti, si in zip(t, s, strict=True):
    if ti.sum() <= 0:
      out.append(0.0)
      continue
    # sigmoid(x) = (1 + tanh(x / 2)) / 2, without overflow.
    above = 0.5 * (1.0 + np.tanh(0.5 * (si[None, :] - si[:, None])))
    ranks = 0.5 + np.sum(above, -1)
    gains = 2.0**ti - 1
    dcg = np.sum(gains / np.log1p(ranks))
    ideal = np.sort(gains)[::-1]
    max_dcg = np.sum(ideal / np.log1p(np.arange(1, len(ti) + 1)))
    out.append(-dcg / max_dcg)
  return np.array(out)


def _rank_inputs(rng, b):
  return rng.integers(0, 4, (b, L)).astype(float), rng.normal(size=(b, L))


def _masked_rank_inputs(rng, b):
  t, s = _rank_inputs(rng, b)
  where = rng.uniform(size=(b, L)) < 0.7
  where[:, 0] = True
  t[:, -1] = -1.0  # TF-Ranking's padding label, on top of the mask
  return t, s, where


def _rank_edges():
  t = np.array(
    [[3.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0]]
  )
  big = np.array(
    [[1e4, -1e4, 0.0, 1e4], [-1e4, 1e4, 1e4, 0.0], [1e4, 1e4, -1e4, -1e4]]
  )
  return [(t, big), (t, -big), (t, np.zeros_like(big))]


def _masked_rank_edges():
  t = np.array([[3.0, 1.0, 0.0, 1.0], [1.0, 2.0, -1.0, 0.0]])
  s = np.array([[1e4, np.nan, -1e4, 1e4], [0.0, 1.0, np.nan, -1e4]])
  where = np.array([[True, False, True, False], [False, False, False, False]])
  return [(t, s, where), (t, np.nan_to_num(s), np.zeros_like(where))]


def _with_where(fn, **kwargs):
  """``fn`` with the item mask as a third positional input."""

  def masked(y_true, y_pred, where):
    return fn(y_true, y_pred, item_mask=where, **kwargs)

  masked.__name__ = fn.__name__
  return masked


def _ref_with_where(ref, **kwargs):
  return lambda t, s, where: ref(t, s, where=where, **kwargs)


def _ranking_specs():
  cases = [
    (
      "pairwise_hinge",
      jaxloss.pairwise_hinge,
      jaxloss.PairwiseHinge,
      np_pairwise_hinge,
      {},
    ),
    (
      "pairwise_logistic",
      jaxloss.pairwise_logistic,
      jaxloss.PairwiseLogistic,
      np_pairwise_logistic,
      {},
    ),
    ("listnet", jaxloss.listnet, jaxloss.ListNet, np_listnet, {}),
    ("listmle", jaxloss.listmle, jaxloss.ListMLE, np_listmle, {}),
    (
      "approx_ndcg",
      jaxloss.approx_ndcg,
      jaxloss.ApproxNDCG,
      np_approx_ndcg,
      {},
    ),
  ]
  specs = []
  for name, fn, cls, ref, kw in cases:
    specs.append(
      Spec(
        name,
        fn,
        _rank_inputs,
        kwargs=kw,
        cls=cls,
        reference=ref,
        reference_source=SRC_TFR,
        edge_inputs=_rank_edges,
      )
    )
    specs.append(
      Spec(
        name + "-masked",
        _with_where(fn, **kw),
        _masked_rank_inputs,
        reference=_ref_with_where(ref, **kw),
        reference_source=SRC_TFR,
        edge_inputs=_masked_rank_edges,
      )
    )
  return specs


SPECS = _ranking_specs()
