"""Specs of the overlap losses (jaxloss/_src/losses/overlap.py).

References are NumPy float64 transcriptions of the Keras 3.15 formulas and
of the papers (Salehi et al. 2017 for Tversky); the ``-zero-absent`` specs
add segmentation-models-pytorch 0.6's rule for ignored pixels and classes
absent from the targets (stored library values in
tests/test_segmentation_options.py).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import probs
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


IGNORE = 255.0
SRC_ABSENT = (
  "NumPy: ignored pixels removed and a loss 0 where the targets sum to 0, "
  "as segmentation-models-pytorch 0.6's DiceLoss / JaccardLoss / "
  "TverskyLoss (on the Keras / Salehi et al. formulas)"
)


def np_smp_rule(ref, t, p, ignore_index, axis, log_loss=False, gamma=1.0, **kw):
  """``ref`` (``np_dice``, or ``np_tversky``: ``alpha = beta = 1`` is
  Jaccard) with ``ignore_index``'s entries removed, ``log_loss``, the focal
  exponent ``gamma``, and 0 where the remaining targets sum to 0."""
  keep = t != ignore_index
  t, p = np.where(keep, t, 0.0), np.where(keep, p, 0.0)
  loss = ref(t, p, axis=axis, **kw)
  if log_loss:
    loss = -np.log(np.maximum(1.0 - loss, EPS))
  loss = loss**gamma
  return np.where(np.sum(t, axis=axis) > 0, loss, 0.0)


def _absent_inputs(rng, b):
  """Binary images ``[B, 3, 4]`` with an ignored pixel each; every other
  image has no positive pixel."""
  t = rng.integers(0, 2, (b, 3, 4)).astype(float)
  t[::2] = 0.0
  t[:, 0, 0] = IGNORE
  return t, probs(rng, (b, 3, 4))


def _absent_edges():
  t = np.array([[[IGNORE, 0.0], [1.0, 1.0]]])
  return [
    (t, np.where(t == IGNORE, 0.3, t)),  # perfect
    (np.zeros_like(t), np.zeros_like(t)),  # empty target and prediction
    (np.zeros_like(t), np.full_like(t, 0.5)),  # empty target
    (np.full_like(t, IGNORE), np.full_like(t, 0.5)),  # every pixel ignored
    (t, 1.0 - np.where(t == IGNORE, 0.0, t)),  # everything wrong
  ]


def _absent_spec(name, fn, cls, reference, **kwargs):
  return Spec(
    name + "-zero-absent",
    fn,
    _absent_inputs,
    kwargs={
      "axis": (1, 2),
      "ignore_index": IGNORE,
      "zero_absent_classes": True,
      **kwargs,
    },
    cls=cls,
    reference=reference,
    reference_source=SRC_ABSENT,
    edge_inputs=_absent_edges,
  )


def _smp_rule(ref, **fixed):
  def fn(t, p, ignore_index, axis, zero_absent_classes, **kw):
    assert zero_absent_classes
    return np_smp_rule(ref, t, p, ignore_index, axis, **fixed, **kw)

  return fn


SPECS = [
  _absent_spec(
    "dice",
    jaxloss.dice,
    jaxloss.Dice,
    _smp_rule(np_dice),
    log_loss=True,
  ),
  _absent_spec(
    "jaccard",
    jaxloss.jaccard,
    jaxloss.Jaccard,
    _smp_rule(np_tversky, alpha=1.0, beta=1.0),
  ),
  _absent_spec(
    "tversky",
    jaxloss.tversky,
    jaxloss.Tversky,
    _smp_rule(np_tversky),
    alpha=0.3,
    beta=0.7,
  ),
  _absent_spec(
    "focal_tversky",
    jaxloss.focal_tversky,
    jaxloss.FocalTversky,
    _smp_rule(np_tversky),
    alpha=0.3,
    beta=0.7,
    gamma=0.75,
  ),
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
