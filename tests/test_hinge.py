"""Hinge and margin losses beyond the generic contracts (PyTorch forms on
unbatched inputs, options the registry leaves out).
"""

from __future__ import annotations

import numpy as np

import jaxloss


def test_torch_multi_margin_doc_example():
  """PyTorch MultiMarginLoss docstring example: 0.3250."""
  np.testing.assert_allclose(
    jaxloss.multi_margin([3], [[0.1, 0.2, 0.4, 0.8]]), [0.325], rtol=1e-6
  )
