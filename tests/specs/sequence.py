"""Specs of the CTC loss (jaxloss/_src/losses/sequence.py).

The reference is a brute-force sum over alignments (Graves et al. 2006).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec


def np_ctc(labels, logits):
  """Brute force over all alignments (Graves et al. 2006): sum of paths."""
  import itertools

  b, t, k = logits.shape
  z = logits - logits.max(-1, keepdims=True)
  logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
  out = []
  for i in range(b):
    target = [c for c in labels[i] if c != 0]
    total = -np.inf
    for path in itertools.product(range(k), repeat=t):
      collapsed = [
        c for j, c in enumerate(path) if c != 0 and (j == 0 or c != path[j - 1])
      ]
      if collapsed == target:
        total = np.logaddexp(
          total, sum(logp[i, j, c] for j, c in enumerate(path))
        )
    out.append(-total)
  return np.array(out)


def _ctc_inputs(rng, b):
  labels = np.zeros((b, 2), np.int64)
  labels[:, 0] = rng.integers(1, 3, size=b)
  labels[::2, 1] = rng.integers(1, 3, size=(b + 1) // 2)
  return labels, rng.normal(size=(b, 4, 3))


def _ctc_mismatch(args):
  labels, logits = args
  return labels[:-1], logits


SPECS = [
  Spec(
    "ctc",
    jaxloss.ctc,
    _ctc_inputs,
    cls=jaxloss.CTC,
    reference=np_ctc,
    reference_source="brute-force sum over alignments (Graves 2006)",
    mismatch=_ctc_mismatch,
    edge_inputs=lambda: [
      (np.array([[1, 2]]), np.array([[[1e4, -1e4, 0.0]] * 3]))
    ],
  ),
]
