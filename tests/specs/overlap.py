"""Specs of the overlap losses (jaxloss/_src/losses/overlap.py).

References are NumPy float64 transcriptions of the Keras 3.15 formulas and
of the papers (Salehi et al. 2017 for Tversky).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.common import EPS
from tests.specs.common import SRC
from tests.specs.common import bin_inputs


def np_dice(t, p, axis=None):
  inter = np.sum(t * p, axis=axis)
  return 1 - 2 * inter / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)


def np_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
  tp = np.sum(t * p, axis=axis)
  fp = np.sum((1 - t) * p, axis=axis)
  fn = np.sum(t * (1 - p), axis=axis)
  return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


SPECS = [
  Spec(
    "dice",
    jaxloss.dice,
    bin_inputs,
    kwargs={"axis": 1},
    cls=jaxloss.Dice,
    reference=np_dice,
    reference_source=SRC,
    edge_inputs=lambda: [(np.zeros((1, 3)), np.zeros((1, 3)))],
  ),
  Spec(
    "dice-all-axes",
    jaxloss.dice,
    bin_inputs,
    cls=jaxloss.Dice,
    reference=np_dice,
    reference_source=SRC,
    per_sample=False,
    value_rank=0,
  ),
  Spec(
    "tversky",
    jaxloss.tversky,
    bin_inputs,
    kwargs={"alpha": 0.7, "beta": 0.3, "axis": 1},
    cls=jaxloss.Tversky,
    reference=np_tversky,
    reference_source="Salehi et al. 2017, eq. (3) (alpha on FP)",
    edge_inputs=lambda: [(np.zeros((1, 3)), np.zeros((1, 3)))],
  ),
]
