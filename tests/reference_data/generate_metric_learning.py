"""Generates metric_learning.json: pytorch-metric-learning reference values.

Run in an environment with torch 2.13 (CPU) and pytorch-metric-learning 2.9
(neither is needed by the tests):

    python tests/reference_data/generate_metric_learning.py

Every case computes in float64 on seeded inputs; each entry stores its
inputs, the library call and the value (a loss) or the mined index tuples.
"""

from __future__ import annotations

from importlib.metadata import version
import json
import math
import pathlib

import numpy as np
from pytorch_metric_learning import losses
from pytorch_metric_learning import miners
import torch

OUT = pathlib.Path(__file__).with_name("metric_learning.json")
N, D, C = 8, 4, 3


def _tensor(x):
  return torch.tensor(np.asarray(x), dtype=torch.float64)


def _set(param, value):
  with torch.no_grad():
    param.copy_(_tensor(value))


def main():
  torch.set_default_dtype(torch.float64)
  rng = np.random.default_rng(20261205)
  labels = np.array([0, 0, 0, 1, 1, 2, 2, 1])
  emb = rng.normal(size=(N, D))
  ref_labels = np.array([0, 1, 2, 2, 1])
  ref = rng.normal(size=(5, D))
  proxies = rng.normal(size=(C, D))
  sub = rng.normal(size=(C * 2, D))
  entries = {}
  t_lab, t_emb = torch.tensor(labels), _tensor(emb)
  t_rlab, t_ref = torch.tensor(ref_labels), _tensor(ref)

  def pair_case(key, call, loss, jax_kwargs, with_ref=True):
    entries[key] = {
      "call": call,
      "kwargs": jax_kwargs,
      "value": float(loss(t_emb, t_lab).detach()),
    }
    if with_ref:
      entries[key + "-ref"] = {
        "call": call + " with ref_emb, ref_labels",
        "kwargs": jax_kwargs,
        "value": float(
          loss(t_emb, t_lab, ref_emb=t_ref, ref_labels=t_rlab).detach()
        ),
      }

  pair_case(
    "multi_similarity",
    "MultiSimilarityLoss(alpha=2, beta=40, base=0.3)",
    losses.MultiSimilarityLoss(alpha=2, beta=40, base=0.3),
    {"alpha": 2.0, "beta": 40.0, "base": 0.3},
  )
  pair_case(
    "margin_loss",
    "MarginLoss(margin=0.3, beta=1.0)",
    losses.MarginLoss(margin=0.3, beta=1.0),
    {"margin": 0.3, "beta": 1.0},
  )
  per_class = losses.MarginLoss(
    margin=0.2, nu=0.1, beta=1.1, learn_beta=True, num_classes=C
  )
  _set(per_class.beta, [1.0, 1.2, 0.9])
  pair_case(
    "margin_loss-per-class",
    "MarginLoss(margin=0.2, nu=0.1, learn_beta=True, num_classes=3), "
    "beta=[1.0, 1.2, 0.9]",
    per_class,
    {"margin": 0.2, "nu": 0.1, "beta": [1.0, 1.2, 0.9]},
    with_ref=False,
  )
  pair_case(
    "tuplet_margin",
    "TupletMarginLoss(margin=5.73, scale=16)",
    losses.TupletMarginLoss(margin=5.73, scale=16),
    {"margin": 5.73, "scale": 16.0},
  )
  pair_case(
    "fast_ap",
    "FastAPLoss(num_bins=10)",
    losses.FastAPLoss(num_bins=10),
    {"num_bins": 10},
    with_ref=False,
  )
  pair_case(
    "circle",
    "CircleLoss(m=0.25, gamma=16)",
    losses.CircleLoss(m=0.25, gamma=16),
    {"margin": 0.25, "gamma": 16.0},
  )

  def proxy_case(key, call, loss, attr, weights, jax_kwargs, transpose):
    _set(getattr(loss, attr), weights.T if transpose else weights)
    entries[key] = {
      "call": call,
      "kwargs": jax_kwargs,
      "centers": weights.tolist(),
      "value": float(loss(t_emb, t_lab).detach()),
    }

  proxy_case(
    "proxy_nca",
    "ProxyNCALoss(3, 4, softmax_scale=2)",
    losses.ProxyNCALoss(C, D, softmax_scale=2),
    "proxies",
    proxies,
    {"softmax_scale": 2.0},
    False,
  )
  proxy_case(
    "proxy_anchor",
    "ProxyAnchorLoss(3, 4, margin=0.1, alpha=8)",
    losses.ProxyAnchorLoss(C, D, margin=0.1, alpha=8),
    "proxies",
    proxies,
    {"margin": 0.1, "alpha": 8.0},
    False,
  )
  proxy_case(
    "soft_triple",
    "SoftTripleLoss(3, 4, centers_per_class=2, la=10, gamma=0.2, margin=0.05)",
    losses.SoftTripleLoss(
      C, D, centers_per_class=2, la=10, gamma=0.2, margin=0.05
    ),
    "fc",
    sub,
    {"centers_per_class": 2, "la": 10.0, "gamma": 0.2, "margin": 0.05},
    True,
  )
  proxy_case(
    "subcenter_arcface",
    "SubCenterArcFaceLoss(num_classes=3, embedding_size=4, margin=28.6, "
    "scale=8, sub_centers=2)",
    losses.SubCenterArcFaceLoss(
      num_classes=C, embedding_size=D, margin=28.6, scale=8, sub_centers=2
    ),
    "W",
    sub,
    {"sub_centers": 2, "scale": 8.0, "margin": math.radians(28.6)},
    True,
  )
  for m in (2, 3, 4):
    proxy_case(
      f"large_margin_softmax-m{m}",
      f"LargeMarginSoftmaxLoss(3, 4, margin={m}, scale=0.5)",
      losses.LargeMarginSoftmaxLoss(C, D, margin=m, scale=0.5),
      "W",
      proxies,
      {"margin": m, "scale": 0.5},
      True,
    )
  proxy_case(
    "sphereface",
    "SphereFaceLoss(3, 4, margin=4, scale=1)",
    losses.SphereFaceLoss(C, D, margin=4, scale=1),
    "W",
    proxies,
    {"margin": 4, "scale": 1.0},
    True,
  )
  proxy_case(
    "normalized_softmax",
    "NormalizedSoftmaxLoss(3, 4, temperature=0.1)",
    losses.NormalizedSoftmaxLoss(C, D, temperature=0.1),
    "W",
    proxies,
    {"temperature": 0.1},
    True,
  )

  def miner_case(key, call, miner, jax_kwargs):
    for suffix, args in (
      ("", (t_emb, t_lab)),
      ("-ref", (t_emb, t_lab, t_ref, t_rlab)),
    ):
      out = miner(*args)
      if len(out) == 3:  # triplets: the pairs (a, p) and (a, n) they use
        out = (out[0], out[1], out[0], out[2])
      entries[key + suffix] = {
        "call": call,
        "kwargs": jax_kwargs,
        "pairs": [o.tolist() for o in out],
      }

  miner_case(
    "batch_hard_miner", "BatchHardMiner()", miners.BatchHardMiner(), {}
  )
  for kind in ("all", "hard", "semihard", "easy"):
    miner_case(
      f"triplet_margin_miner-{kind}",
      f"TripletMarginMiner(margin=0.4, type_of_triplets={kind!r})",
      miners.TripletMarginMiner(margin=0.4, type_of_triplets=kind),
      {"margin": 0.4, "type_of_triplets": kind},
    )
  miner_case(
    "multi_similarity_miner",
    "MultiSimilarityMiner(epsilon=0.2)",
    miners.MultiSimilarityMiner(epsilon=0.2),
    {"epsilon": 0.2},
  )
  miner_case(
    "pair_margin_miner",
    "PairMarginMiner(pos_margin=0.9, neg_margin=1.2)",
    miners.PairMarginMiner(pos_margin=0.9, neg_margin=1.2),
    {"pos_margin": 0.9, "neg_margin": 1.2},
  )
  miner_case(
    "angular_miner",
    "AngularMiner(angle=35)",
    miners.AngularMiner(angle=35),
    {"angle": 35.0},
  )
  out = {
    "provenance": {
      "libraries": [
        f"pytorch-metric-learning {version('pytorch-metric-learning')}",
        f"torch {version('torch')}",
      ],
      "dtype": "float64",
      "script": "tests/reference_data/generate_metric_learning.py",
    },
    "inputs": {
      "labels": labels.tolist(),
      "embeddings": emb.tolist(),
      "ref_labels": ref_labels.tolist(),
      "ref_embeddings": ref.tolist(),
    },
    "entries": entries,
  }
  OUT.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
  main()
