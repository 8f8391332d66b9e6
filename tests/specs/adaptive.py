"""Specs of the adaptive robust NLL (jaxloss/_src/losses/adaptive.py).

No float64 reference here: log Z(alpha) is a quadrature; its closed forms
(alpha = 2, 1, 0) are checked in tests/test_flax_learnable.py.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.common import D


def _residual_edges():
  t = np.zeros((2, D))
  return [
    (t, np.zeros((2, D))),
    (t, 1e4 * np.ones((2, D))),
    (t, -1e4 * np.ones((2, D))),
  ]


SPECS = [
  # No float64 reference here: log Z(alpha) is a quadrature; its closed
  # forms (alpha = 2, 1, 0) are checked in tests/test_flax_learnable.py.
  Spec(
    "adaptive_robust_nll",
    jaxloss.adaptive_robust_nll,
    lambda rng, b: (rng.normal(size=(b, D)), rng.normal(size=(b, D))),
    kwargs={"alpha": 1.2, "scale": 0.7},
    edge_inputs=_residual_edges,
  ),
]
