"""Specs of the box losses (jaxloss/_src/losses/boxes.py): IoU, GIoU, DIoU,
CIoU.

References are NumPy float64 transcriptions of the papers' formulas.
"""

from __future__ import annotations

import math

import numpy as np

import jaxloss
from tests.specs import Spec


def box_inputs(rng, b):
  """Ground-truth boxes and jittered predictions (mostly overlapping)."""
  corner = rng.uniform(0, 4, (b, 2))
  size = rng.uniform(1, 3, (b, 2))
  t = np.concatenate([corner, corner + size], -1)
  p = t + rng.normal(size=(b, 4)) * 0.6
  return t, p


def _np_box_terms(t, p):
  def parts(b):
    h = np.maximum(b[..., 2] - b[..., 0], 0)
    w = np.maximum(b[..., 3] - b[..., 1], 0)
    return h, w

  (th, tw), (ph, pw) = parts(t), parts(p)
  ih = np.maximum(
    np.minimum(t[..., 2], p[..., 2]) - np.maximum(t[..., 0], p[..., 0]), 0
  )
  iw = np.maximum(
    np.minimum(t[..., 3], p[..., 3]) - np.maximum(t[..., 1], p[..., 1]), 0
  )
  inter = ih * iw
  union = th * tw + ph * pw - inter
  iou = inter / union
  eh = np.maximum(t[..., 2], p[..., 2]) - np.minimum(t[..., 0], p[..., 0])
  ew = np.maximum(t[..., 3], p[..., 3]) - np.minimum(t[..., 1], p[..., 1])
  rho2 = (
    ((t[..., 0] + t[..., 2]) - (p[..., 0] + p[..., 2])) ** 2
    + ((t[..., 1] + t[..., 3]) - (p[..., 1] + p[..., 3])) ** 2
  ) / 4
  return iou, union, eh * ew, eh**2 + ew**2, rho2, (th, tw, ph, pw)


def np_iou(t, p):
  return 1 - _np_box_terms(t, p)[0]


def np_giou(t, p):
  """Rezatofighi et al. 2019, Algorithm 1."""
  iou, union, enclose, *_ = _np_box_terms(t, p)
  return 1 - (iou - (enclose - union) / enclose)


def np_diou(t, p):
  """Zheng et al. 2020, eq. (6)."""
  iou, _, _, diag2, rho2, _ = _np_box_terms(t, p)
  return 1 - iou + rho2 / diag2


def np_ciou(t, p):
  """Zheng et al. 2020, eqs. (8)-(10)."""
  iou, _, _, diag2, rho2, (th, tw, ph, pw) = _np_box_terms(t, p)
  v = 4 / math.pi**2 * (np.arctan(tw / th) - np.arctan(pw / ph)) ** 2
  a = v / ((1 - iou) + v)
  return 1 - iou + rho2 / diag2 + a * v


def _box_edges():
  point = np.array([[1.0, 1.0, 1.0, 1.0]])
  flat = np.array([[0.0, 0.0, 0.0, 2.0]])  # zero height
  box = np.array([[0.0, 0.0, 2.0, 2.0]])
  far = np.array([[10.0, 10.0, 11.0, 12.0]])
  inverted = np.array([[2.0, 2.0, 0.0, 0.0]])
  return [
    (point, point),
    (box, box),
    (box, far),
    (point, box),
    (flat, flat),
    (box, flat),
    (box, inverted),
    (np.zeros((1, 4)), np.zeros((1, 4))),
  ]


def _box(fn, cls, ref, src, **extra):
  return Spec(
    fn.__name__,
    fn,
    box_inputs,
    cls=cls,
    reference=ref,
    reference_source=src,
    edge_inputs=_box_edges,
    **extra,
  )


SPECS = [
  # boxes
  _box(jaxloss.iou_loss, jaxloss.IoULoss, np_iou, "Yu et al. 2016 (IoU)"),
  _box(
    jaxloss.giou_loss,
    jaxloss.GIoULoss,
    np_giou,
    "Rezatofighi et al. 2019, Algorithm 1",
  ),
  _box(
    jaxloss.diou_loss, jaxloss.DIoULoss, np_diou, "Zheng et al. 2020, eq. (6)"
  ),
  # The CIoU trade-off weight is held constant in the gradient (paper and
  # torchvision), so finite differences of the value do not match it;
  # tests/test_boxes.py checks that gradient separately.
  _box(
    jaxloss.ciou_loss,
    jaxloss.CIoULoss,
    np_ciou,
    "Zheng et al. 2020, eqs. (8)-(10)",
    grad_check=False,
  ),
]
