"""Specs for the embedding / metric-learning losses beyond Keras.

References are NumPy float64 loops written from the papers' equations and
the tensorflow-addons 0.23 API docs (tensorflow-addons is not installable
here); each says which. PyTorch parity for ``triplet_margin_loss`` and the tfa
documented examples are in tests/test_embedding.py.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.common import labels_mismatch

D = 3  # embedding size
TFA = "tensorflow-addons 0.23 docs"


# ------------------------------------------------------------ references


def np_distances(emb, metric="L2"):
  """Pairwise distances by explicit loops (tfa's metrics, its docs)."""
  n = len(emb)
  out = np.zeros((n, n))
  for i in range(n):
    for j in range(n):
      if metric == "angular":
        u = emb[i] / max(np.linalg.norm(emb[i]), 1e-6)
        v = emb[j] / max(np.linalg.norm(emb[j]), 1e-6)
        out[i, j] = max(1.0 - u @ v, 0.0)
      elif i != j:
        sq = np.sum((emb[i] - emb[j]) ** 2)
        out[i, j] = sq if metric == "squared-L2" else np.sqrt(sq)
  return out


def np_triplet_margin(a, p, n, margin=1.0, p_norm=2.0, eps=1e-6, swap=False):
  """PyTorch TripletMarginLoss: d(x, y) = ||x - y + eps||_p, per triplet."""
  out = []
  for i in range(len(a)):
    d_ap = np.linalg.norm(a[i] - p[i] + eps, ord=p_norm)
    d_an = np.linalg.norm(a[i] - n[i] + eps, ord=p_norm)
    if swap:
      d_an = min(d_an, np.linalg.norm(p[i] - n[i] + eps, ord=p_norm))
    out.append(max(d_ap - d_an + margin, 0.0))
  return np.array(out)


def _np_triplet_margin_ref(
  a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False
):
  return np_triplet_margin(a, pos, neg, margin, p, eps, swap)


def np_quadruplet(a, p, n1, n2, margin1=1.0, margin2=0.5):
  """Chen et al. 2017, eq. (6), squared L2 distances."""
  out = []
  for i in range(len(a)):
    d_ap = np.sum((a[i] - p[i]) ** 2)
    out.append(
      max(d_ap - np.sum((a[i] - n1[i]) ** 2) + margin1, 0.0)
      + max(d_ap - np.sum((n1[i] - n2[i]) ** 2) + margin2, 0.0)
    )
  return np.array(out)


def np_contrastive(y, d, margin=1.0):
  """Hadsell et al. 2006 eq. (4) without 1/2 (tfa contrastive_loss docs)."""
  return np.array(
    [
      yi * di**2 + (1 - yi) * max(margin - di, 0.0) ** 2
      for yi, di in zip(y, d, strict=True)
    ]
  )


def _unit(x):
  return x / max(np.linalg.norm(x), 1e-7)


def np_info_nce(q, k, negative_keys=None, temperature=0.1):
  """van den Oord et al. 2018 eq. (4) with cosine scores / temperature."""
  out = []
  for i in range(len(q)):
    qi = _unit(q[i])
    pos = qi @ _unit(k[i]) / temperature
    if negative_keys is None:
      negs = [qi @ _unit(k[j]) / temperature for j in range(len(q)) if j != i]
    else:
      rows = negative_keys if negative_keys.ndim == 2 else negative_keys[i]
      negs = [qi @ _unit(r) / temperature for r in rows]
    scores = np.array([pos] + negs)
    m = scores.max()
    out.append(m + np.log(np.sum(np.exp(scores - m))) - pos)
  return np.array(out)


def np_semihard(labels, emb, margin=1.0, distance_metric="L2"):
  """Semi-hard mining as the tfa docs describe it (FaceNet sec. 3.2).

  Negative: the closest one farther than the positive; else the farthest
  negative; with no negatives at all, the smallest entry of the row (the
  fallback behind tfa's documented example value 2.4142137).
  """
  d = np_distances(emb, distance_metric)
  n = len(labels)
  total, count = 0.0, 0
  for a in range(n):
    negs = [j for j in range(n) if labels[j] != labels[a]]
    for p in range(n):
      if p == a or labels[p] != labels[a]:
        continue
      farther = [d[a, j] for j in negs if d[a, j] > d[a, p]]
      if farther:
        dn = min(farther)
      elif negs:
        dn = max(d[a, j] for j in negs)
      else:
        dn = d[a].min()
      total += max(margin + d[a, p] - dn, 0.0)
      count += 1
  return np.float64(total / count if count else 0.0)


def np_hard(labels, emb, margin=1.0, soft=False, distance_metric="L2"):
  """Batch-hard mining (Hermans et al. 2017 eq. (5)), tfa's fallbacks."""
  d = np_distances(emb, distance_metric)
  n = len(labels)
  out = []
  for a in range(n):
    pos = [d[a, j] for j in range(n) if j != a and labels[j] == labels[a]]
    neg = [d[a, j] for j in range(n) if labels[j] != labels[a]]
    dp = max(pos) if pos else d[a].min()
    dn = min(neg) if neg else d[a].max()
    out.append(
      np.log1p(np.exp(dp - dn)) if soft else max(dp - dn + margin, 0.0)
    )
  return np.float64(np.mean(out))


def np_lifted(labels, emb, margin=1.0):
  """Oh Song et al. 2016 eq. (4): unordered positive pairs, L2 distances."""
  d = np_distances(emb)
  n = len(labels)
  total, count = 0.0, 0
  for i in range(n):
    for j in range(i + 1, n):
      if labels[i] != labels[j]:
        continue
      count += 1
      terms = [
        np.exp(margin - d[i, k]) for k in range(n) if labels[k] != labels[i]
      ]
      terms += [
        np.exp(margin - d[j, k]) for k in range(n) if labels[k] != labels[j]
      ]
      if terms:
        total += max(np.log(np.sum(terms)) + d[i, j], 0.0) ** 2
  return np.float64(total / (2 * count) if count else 0.0)


def np_npairs(labels, sim):
  """Sohn 2016 eq. (6) (no regulariser), tfa's label-normalised targets."""
  n = len(labels)
  out = []
  for i in range(n):
    m = sim[i].max()
    log_z = m + np.log(np.sum(np.exp(sim[i] - m)))
    same = [j for j in range(n) if labels[j] == labels[i]]
    out.append(-np.mean([sim[i, j] - log_z for j in same]))
  return np.float64(np.mean(out))


def np_supcon(labels, emb, temperature=0.07):
  """Khosla et al. 2020 eq. (2) (L_out), normalised embeddings."""
  z = np.array([_unit(e) for e in emb])
  s = z @ z.T / temperature
  n = len(labels)
  out = []
  for i in range(n):
    others = [a for a in range(n) if a != i]
    pos = [p for p in others if labels[p] == labels[i]]
    if not pos:
      out.append(0.0)
      continue
    m = max(s[i, a] for a in others)
    log_z = m + np.log(sum(np.exp(s[i, a] - m) for a in others))
    out.append(-np.mean([s[i, p] - log_z for p in pos]))
  return np.array(out)


# ------------------------------------------------------------ inputs


def _triplets(rng, b):
  return tuple(rng.normal(size=(b, 4)) for _ in range(3))


def _quadruplets(rng, b):
  return tuple(rng.normal(size=(b, 4)) for _ in range(4))


def _pairs(rng, b):
  return rng.integers(0, 2, size=b).astype(float), rng.uniform(0.05, 2.0, b)


def _queries(rng, b):
  return rng.normal(size=(b, 4)), rng.normal(size=(b, 4))


def _queries_paired(rng, b):
  return (*_queries(rng, b), rng.normal(size=(b, 3, 4)))


def _labelled(rng, b):
  """2b embeddings over 2 or 3 classes: positives and negatives exist even
  for b = 2 (mined losses are not per-sample)."""
  n = 2 * b
  return rng.permutation(np.arange(n) % (2 if n <= 4 else 3)), rng.normal(
    size=(n, D)
  )


def _similarities(rng, b):
  n = 2 * b
  return rng.permutation(np.arange(n) % 3), 2.0 * rng.normal(size=(n, n))


def _info_nce_with_negatives(query, positive_key, negative_keys, **kwargs):
  return jaxloss.info_nce(
    query, positive_key, negative_keys=negative_keys, **kwargs
  )


# Error messages name the public function.
_info_nce_with_negatives.__name__ = "info_nce"


def _np_info_nce_with_negatives(q, k, nk, **kwargs):
  return np_info_nce(q, k, nk, **kwargs)


# ------------------------------------------------------------ edges


def _tuple_edges(k):
  z = np.zeros((2, 4))
  big = np.full((2, 4), 1e4)
  rng = np.random.default_rng(5)
  x = rng.normal(size=(2, 4))
  return [
    (z,) * k,
    (x,) * k,
    (big, -big) + (big,) * (k - 2),
    (x, x) + (-x,) * (k - 2),
  ]


def _pair_edges():
  return [
    (np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])),
    (np.array([1.0, 0.0]), np.array([1e4, 1e4])),
  ]


def _query_edges():
  z = np.zeros((3, 4))
  x = np.random.default_rng(6).normal(size=(3, 4))
  return [(z, z), (x, x), (1e4 * x, -1e4 * x)]


def _query_edges_paired():
  z = np.zeros((3, 4))
  x = np.random.default_rng(6).normal(size=(3, 4))
  return [
    (z, z, np.zeros((3, 2, 4))),
    (x, x, np.stack([x, x], 1)),
    (1e4 * x, x, np.stack([-1e4 * x, x], 1)),
  ]


def _mined_edges():
  e = np.random.default_rng(7).normal(size=(4, D))
  pairs = np.array([0, 0, 1, 1])
  return [
    (pairs, np.zeros((4, D))),  # all identical at the origin
    (pairs, e[[0, 0, 1, 1]]),  # zero positive distances
    (np.zeros(4, int), e),  # no negatives
    (np.arange(4), e),  # no positives
  ]


def _similarity_edges():
  big = 1e4 * np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, -1.0]])
  return [
    (np.array([0, 1, 2]), big),
    (np.zeros(3, int), big),
    (np.array([0, 0, 1]), np.zeros((3, 3))),
  ]


def _mined(name, fn, cls, reference, source, **kwargs):
  return Spec(
    name,
    fn,
    _labelled,
    kwargs=kwargs,
    cls=cls,
    reference=reference,
    reference_source=source,
    edge_inputs=_mined_edges,
    per_sample=False,
    value_rank=0,
    mismatch=labels_mismatch,
  )


def _np_lse(x, mask):
  if not mask.any():
    return -np.inf
  m = x[mask].max()
  return m + np.log(np.exp(x[mask] - m).sum())


def np_circle(y, e, remove_diagonal=True, gamma=80.0, margin=0.4):
  """Sun et al. 2020, in Keras 3.15's pairwise-cosine form."""
  d = np.maximum(1 - e @ e.T, 0)
  pos = y[:, None] == y[None, :]
  neg = ~pos
  if remove_diagonal:
    pos = pos & ~np.eye(len(y), dtype=bool)
  out = []
  for i in range(len(y)):
    ap = np.maximum((margin + d[i]) * pos[i], 0)
    an = np.maximum((1 + margin - d[i]) * neg[i], 0)
    lp = _np_lse(-gamma * ap * (margin - d[i]), pos[i])
    ln = _np_lse(gamma * an * (1 - margin - d[i]), neg[i])
    s = lp + ln
    out.append(0.0 if s == -np.inf else np.logaddexp(0, s))
  return np.array(out)


def _unit_embeddings(rng, b):
  e = rng.normal(size=(b, 3))
  labels = np.arange(b) % 2
  return labels, e / np.linalg.norm(e, axis=-1, keepdims=True)


SPECS = [
  Spec(
    "triplet_margin_loss",
    jaxloss.triplet_margin_loss,
    _triplets,
    cls=jaxloss.TripletMarginLoss,
    reference=_np_triplet_margin_ref,
    reference_source="PyTorch 2.13 TripletMarginLoss docs formula",
    diff_argnums=(0, 1, 2),
    edge_inputs=lambda: _tuple_edges(3),
  ),
  Spec(
    "triplet_margin_loss-p3-swap",
    jaxloss.triplet_margin_loss,
    _triplets,
    kwargs={"p": 3.0, "margin": 2.0, "swap": True, "eps": 1e-3},
    reference=_np_triplet_margin_ref,
    reference_source="PyTorch 2.13 TripletMarginLoss docs formula",
    diff_argnums=(0, 1, 2),
    edge_inputs=lambda: _tuple_edges(3),
  ),
  Spec(
    "quadruplet_loss",
    jaxloss.quadruplet_loss,
    _quadruplets,
    kwargs={"margin1": 2.0, "margin2": 1.5},
    cls=jaxloss.QuadrupletLoss,
    reference=np_quadruplet,
    reference_source="Chen et al. 2017 eq. (6)",
    diff_argnums=(0, 1, 2, 3),
    edge_inputs=lambda: _tuple_edges(4),
  ),
  Spec(
    "contrastive_loss",
    jaxloss.contrastive_loss,
    _pairs,
    cls=jaxloss.ContrastiveLoss,
    reference=np_contrastive,
    reference_source=f"Hadsell et al. 2006 eq. (4), {TFA}",
    edge_inputs=_pair_edges,
  ),
  Spec(
    "info_nce",
    jaxloss.info_nce,
    _queries,
    kwargs={"temperature": 0.5},
    cls=jaxloss.InfoNCE,
    reference=np_info_nce,
    reference_source="van den Oord et al. 2018 eq. (4), cosine scores",
    diff_argnums=(0, 1),
    per_sample=False,
    edge_inputs=_query_edges,
  ),
  Spec(
    "info_nce-paired",
    _info_nce_with_negatives,
    _queries_paired,
    kwargs={"temperature": 0.5},
    reference=_np_info_nce_with_negatives,
    reference_source="van den Oord et al. 2018 eq. (4), cosine scores",
    diff_argnums=(0, 1, 2),
    edge_inputs=_query_edges_paired,
  ),
  _mined(
    "triplet_semihard_loss",
    jaxloss.triplet_semihard_loss,
    jaxloss.TripletSemiHardLoss,
    np_semihard,
    f"FaceNet sec. 3.2 as the {TFA} describe it",
  ),
  _mined(
    "triplet_semihard_loss-angular",
    jaxloss.triplet_semihard_loss,
    jaxloss.TripletSemiHardLoss,
    np_semihard,
    f"FaceNet sec. 3.2 as the {TFA} describe it",
    margin=0.5,
    distance_metric="angular",
  ),
  _mined(
    "triplet_hard_loss-soft",
    jaxloss.triplet_hard_loss,
    jaxloss.TripletHardLoss,
    np_hard,
    f"Hermans et al. 2017 eq. (5), {TFA}",
    soft=True,
  ),
  _mined(
    "triplet_hard_loss-squared",
    jaxloss.triplet_hard_loss,
    jaxloss.TripletHardLoss,
    np_hard,
    f"Hermans et al. 2017 eq. (5), {TFA}",
    margin=3.0,
    distance_metric="squared-L2",
  ),
  _mined(
    "lifted_struct_loss",
    jaxloss.lifted_struct_loss,
    jaxloss.LiftedStructLoss,
    np_lifted,
    f"Oh Song et al. 2016 eq. (4), {TFA}",
  ),
  Spec(
    "npairs_loss",
    jaxloss.npairs_loss,
    _similarities,
    cls=jaxloss.NpairsLoss,
    reference=np_npairs,
    reference_source=f"Sohn 2016 eq. (6), {TFA}",
    edge_inputs=_similarity_edges,
    per_sample=False,
    value_rank=0,
    mismatch=labels_mismatch,
  ),
  Spec(
    "supervised_contrastive",
    jaxloss.supervised_contrastive,
    _labelled,
    kwargs={"temperature": 0.5},
    cls=jaxloss.SupervisedContrastive,
    reference=np_supcon,
    reference_source="Khosla et al. 2020 eq. (2)",
    edge_inputs=_mined_edges,
    per_sample=False,
    mismatch=labels_mismatch,
  ),
  Spec(
    "circle",
    jaxloss.circle,
    _unit_embeddings,
    kwargs={"gamma": 4.0, "margin": 0.25},
    cls=jaxloss.Circle,
    reference=np_circle,
    reference_source="Sun et al. 2020, eq. (4) in Keras 3.15's form",
    per_sample=False,
    mismatch=labels_mismatch,
    edge_inputs=lambda: [
      (np.array([0, 1]), np.eye(2)),
      (np.array([0, 0]), np.eye(2)[[0, 0]]),
    ],
  ),
]


# ------------------------------------------- pytorch-metric-learning pairs

PML = (
  "pytorch-metric-learning 2.9 stored values "
  "(tests/reference_data/metric_learning.json, tests/test_metric.py)"
)


def _pml_pair(name, fn, cls, value_rank, grad_check=True, **kwargs):
  return Spec(
    name,
    fn,
    _labelled,
    kwargs=kwargs,
    cls=cls,
    reference_source=PML,
    edge_inputs=_mined_edges,
    per_sample=False,
    value_rank=value_rank,
    mismatch=labels_mismatch,
    grad_check=grad_check,
  )


SPECS += [
  _pml_pair(
    "multi_similarity",
    jaxloss.multi_similarity,
    jaxloss.MultiSimilarity,
    1,
    alpha=2.0,
    beta=10.0,
    base=0.3,
  ),
  _pml_pair(
    "margin_loss", jaxloss.margin_loss, jaxloss.MarginLoss, 0, margin=0.4
  ),
  _pml_pair(
    "margin_loss-per-class",
    jaxloss.margin_loss,
    jaxloss.MarginLoss,
    0,
    # One boundary per class of every input, the edges' arange(4) too (an
    # id past the last boundary gives NaN).
    beta=(1.0, 1.2, 0.9, 1.1),
    nu=0.1,
  ),
  _pml_pair(
    "tuplet_margin",
    jaxloss.tuplet_margin,
    jaxloss.TupletMargin,
    0,
    scale=8.0,
  ),
  _pml_pair("fast_ap", jaxloss.fast_ap, jaxloss.FastAP, 0, num_bins=6),
  _pml_pair(
    "circle-stop-weight-gradient",
    jaxloss.circle,
    jaxloss.Circle,
    1,
    # The stopped gradient is not the derivative: no finite differences.
    grad_check=False,
    gamma=4.0,
    stop_weight_gradient=True,
  ),
]
