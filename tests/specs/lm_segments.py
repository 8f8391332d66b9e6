"""Specs of ``segment_reduce`` (jaxloss/_src/lm/segments.py): per-segment
sums and means of packed per-token values, against Python loops over the
tokens.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import S
from tests.specs.lm_common import T
from tests.specs.lm_common import numpy_segments
from tests.specs.lm_common import packed_ids


def _segment_inputs(rng, b):
  return rng.normal(size=(b, T)), packed_ids(rng, b)


def segment_reduce_reference(values, ids, *, num_segments, reduction):
  out, _ = numpy_segments(values, ids, mean=reduction == "mean")
  return out


def _segment_edges():
  ids = np.array([[1, 1, 2, 2, 3, 0, 0], [1, 0, 0, 0, 0, 0, 0]], np.int32)
  big = np.array([[1e30, -1e30, 0.0, 1e-30, 3.0, 7.0, 1.0]] * 2)
  return [(big, ids)]


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
]
