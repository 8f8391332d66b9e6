"""Specs of the pytorch-metric-learning losses (jaxloss/_src/losses/metric.py).

Their values are checked against stored pytorch-metric-learning outputs in
tests/test_metric.py; the specs run the generic contracts on them.
"""

from __future__ import annotations

import jaxloss
from tests.specs.common import pml_pair

SPECS = [
  pml_pair(
    "multi_similarity",
    jaxloss.multi_similarity,
    jaxloss.MultiSimilarity,
    1,
    alpha=2.0,
    beta=10.0,
    base=0.3,
  ),
  pml_pair(
    "margin_loss", jaxloss.margin_loss, jaxloss.MarginLoss, 0, margin=0.4
  ),
  pml_pair(
    "margin_loss-per-class",
    jaxloss.margin_loss,
    jaxloss.MarginLoss,
    0,
    # One boundary per class of every input, the edges' arange(4) too (an
    # id past the last boundary gives NaN).
    beta=(1.0, 1.2, 0.9, 1.1),
    nu=0.1,
  ),
  pml_pair(
    "tuplet_margin",
    jaxloss.tuplet_margin,
    jaxloss.TupletMargin,
    0,
    scale=8.0,
  ),
  pml_pair("fast_ap", jaxloss.fast_ap, jaxloss.FastAP, 0, num_bins=6),
]
