"""Box losses (IoU, GIoU, DIoU, CIoU) beyond the generic contracts: the
tensorflow-addons 0.23 documented examples and edge cases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.specs.boxes import box_inputs
from tests.specs.boxes import np_diou
from tests.specs.boxes import np_iou


def test_tfa_giou_example():
  """tensorflow-addons GIoULoss docstring: mean loss 1.5041667."""
  t = [[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]]
  p = [[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]]
  np.testing.assert_allclose(jaxloss.GIoULoss()(t, p), 1.5041667, rtol=1e-6)


def test_ciou_gradient_holds_tradeoff_constant(x64):
  """CIoU's gradient is that of DIoU + a * v with a = v / (1 - IoU + v)
  frozen at the evaluation point (Zheng et al. 2020; torchvision)."""
  t, p = box_inputs(np.random.default_rng(8), 3)
  iou = 1 - np_iou(t, p)
  th, tw = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]

  def v_of(q):
    ph, pw = q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]
    return 4 / np.pi**2 * (np.arctan(tw / th) - np.arctan(pw / ph)) ** 2

  a = v_of(p) / (1 - iou + v_of(p))
  frozen = lambda q: np.sum(np_diou(t, q) + a * v_of(q))
  numeric = np.zeros_like(p)
  h = 1e-6
  for idx in np.ndindex(p.shape):
    e = np.zeros_like(p)
    e[idx] = h
    numeric[idx] = (frozen(p + e) - frozen(p - e)) / (2 * h)
  got = jax.grad(lambda q: jnp.sum(jaxloss.ciou_loss(t, q)))(p)
  np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


def test_boxes_identical_and_disjoint():
  box = np.array([[0.0, 0.0, 2.0, 3.0]])
  for fn in (
    jaxloss.iou_loss,
    jaxloss.giou_loss,
    jaxloss.diou_loss,
    jaxloss.ciou_loss,
  ):
    np.testing.assert_allclose(fn(box, box), [0.0], atol=1e-7)
  far = np.array([[10.0, 10.0, 12.0, 13.0]])
  np.testing.assert_allclose(jaxloss.iou_loss(box, far), [1.0])
  assert 1.0 < float(jaxloss.giou_loss(box, far)[0]) < 2.0
  assert 1.0 < float(jaxloss.diou_loss(box, far)[0]) < 2.0
