"""Bounding-box regression losses: IoU, GIoU, DIoU and CIoU.

Boxes are ``[..., 4]`` arrays laid out as ``(y_min, x_min, y_max, x_max)``
(tensorflow-addons' convention); one loss value per box. A box with
``max < min`` on an axis has size 0 on it. Every ratio is a
``safe_divide`` (0 / 0 read as 0), so degenerate (zero-area) and
non-overlapping boxes give finite values and gradients.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _boxes(caller, y_true, y_pred):
  t, p, dt = numerics.prediction_and_target(caller, y_true, y_pred)
  shapes.check_same_shape(caller, y_true=t, y_pred=p)
  if p.ndim < 1 or p.shape[-1] != 4:
    raise ValueError(
      f"{caller}: y_pred must have a last axis of 4 (y_min, x_min, y_max, "
      f"x_max), got shape {tuple(p.shape)}"
    )
  return t, p, dt


def _geometry(t, p):
  """IoU and the terms the variants need, per box."""
  t_y0, t_x0, t_y1, t_x1 = jnp.moveaxis(t, -1, 0)
  p_y0, p_x0, p_y1, p_x1 = jnp.moveaxis(p, -1, 0)
  t_h, t_w = jnp.maximum(t_y1 - t_y0, 0), jnp.maximum(t_x1 - t_x0, 0)
  p_h, p_w = jnp.maximum(p_y1 - p_y0, 0), jnp.maximum(p_x1 - p_x0, 0)
  inter_h = jnp.maximum(jnp.minimum(t_y1, p_y1) - jnp.maximum(t_y0, p_y0), 0)
  inter_w = jnp.maximum(jnp.minimum(t_x1, p_x1) - jnp.maximum(t_x0, p_x0), 0)
  inter = inter_h * inter_w
  union = t_h * t_w + p_h * p_w - inter
  enc_h = jnp.maximum(jnp.maximum(t_y1, p_y1) - jnp.minimum(t_y0, p_y0), 0)
  enc_w = jnp.maximum(jnp.maximum(t_x1, p_x1) - jnp.minimum(t_x0, p_x0), 0)
  center_sq = jnp.square((t_y0 + t_y1 - p_y0 - p_y1) / 2) + jnp.square(
    (t_x0 + t_x1 - p_x0 - p_x1) / 2
  )
  return {
    "iou": numerics.safe_divide(inter, union),
    "union": union,
    "enclose": enc_h * enc_w,
    "diag_sq": jnp.square(enc_h) + jnp.square(enc_w),
    "center_sq": center_sq,
    "t_hw": (t_h, t_w),
    "p_hw": (p_h, p_w),
  }


def _angle(h, w):
  """``atan(w / h)`` in [0, pi/2]; 0 for a point box, finite gradient."""
  point = (h == 0) & (w == 0)
  return jnp.where(
    point, 0.0, jnp.arctan2(jnp.where(point, 1, w), jnp.where(point, 1, h))
  )


def _diou_penalty(g):
  return numerics.safe_divide(g["center_sq"], g["diag_sq"])


@scoped
def iou_loss(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """IoU loss: one minus the intersection over union, per box.

  ``loss = 1 - |A n B| / |A u B|`` (``0 / 0`` read as 0).

  Args:
    y_true: boxes ``[..., 4]`` as ``(y_min, x_min, y_max, x_max)``.
    y_pred: boxes ``[..., 4]``.

  Returns:
    Per-box losses ``[...]``.

  Raises:
    ValueError: for shapes that differ or a last axis that is not 4.

  Examples:
    >>> import jaxloss
    >>> jaxloss.iou_loss([[0.0, 0.0, 2.0, 2.0]], [[1.0, 0.0, 3.0, 2.0]])
    Array([0.6666666], dtype=float32)

  References:
    Yu et al., "UnitBox: An Advanced Object Detection Network", ACM MM 2016.
  """
  t, p, dt = _boxes("iou_loss", y_true, y_pred)
  return (1 - _geometry(t, p)["iou"]).astype(dt)


@scoped
def giou_loss(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Generalized IoU loss, per box.

  With ``C`` the smallest enclosing box::

    GIoU = IoU - (|C| - |A u B|) / |C|,   loss = 1 - GIoU

  (``0 / 0`` read as 0, as tensorflow-addons' ``divide_no_nan``).

  Args:
    y_true: boxes ``[..., 4]`` as ``(y_min, x_min, y_max, x_max)``.
    y_pred: boxes ``[..., 4]``.

  Returns:
    Per-box losses ``[...]``, in [0, 2].

  Raises:
    ValueError: for shapes that differ or a last axis that is not 4.

  Examples:
    The tensorflow-addons ``GIoULoss`` example (mean 1.5041667):

    >>> import jaxloss
    >>> jaxloss.giou_loss([[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]],
    ...                   [[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]])
    Array([1.075    , 1.9333334], dtype=float32)

  References:
    Rezatofighi et al., "Generalized Intersection over Union", CVPR 2019,
    Algorithm 1; tensorflow-addons 0.23 ``losses.giou_loss``.
  """
  t, p, dt = _boxes("giou_loss", y_true, y_pred)
  g = _geometry(t, p)
  giou = g["iou"] - numerics.safe_divide(
    g["enclose"] - g["union"], g["enclose"]
  )
  return (1 - giou).astype(dt)


@scoped
def diou_loss(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Distance IoU loss, per box.

  With ``rho`` the distance between the box centres and ``c`` the diagonal
  of the smallest enclosing box::

    loss = 1 - IoU + rho**2 / c**2

  Args:
    y_true: boxes ``[..., 4]`` as ``(y_min, x_min, y_max, x_max)``.
    y_pred: boxes ``[..., 4]``.

  Returns:
    Per-box losses ``[...]``, in [0, 2].

  Raises:
    ValueError: for shapes that differ or a last axis that is not 4.

  Examples:
    >>> import jaxloss
    >>> jaxloss.diou_loss([[0.0, 0.0, 2.0, 2.0]], [[1.0, 0.0, 3.0, 2.0]])
    Array([0.7435897], dtype=float32)

  References:
    Zheng et al., "Distance-IoU Loss", AAAI 2020, eq. (6).
  """
  t, p, dt = _boxes("diou_loss", y_true, y_pred)
  g = _geometry(t, p)
  return (1 - g["iou"] + _diou_penalty(g)).astype(dt)


@scoped
def ciou_loss(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Complete IoU loss, per box.

  :func:`diou_loss` plus an aspect-ratio term::

    v = 4 / pi**2 (atan(w_t / h_t) - atan(w_p / h_p))**2
    a = v / ((1 - IoU) + v)                    (0 / 0 read as 0)
    loss = 1 - IoU + rho**2 / c**2 + a v

  ``a`` is a trade-off weight held constant in the gradient (as in the
  authors' and torchvision's implementations). ``atan(w / h)`` is taken as
  0 for a point box (``w = h = 0``).

  Args:
    y_true: boxes ``[..., 4]`` as ``(y_min, x_min, y_max, x_max)``.
    y_pred: boxes ``[..., 4]``.

  Returns:
    Per-box losses ``[...]``.

  Raises:
    ValueError: for shapes that differ or a last axis that is not 4.

  Examples:
    >>> import jaxloss
    >>> jaxloss.ciou_loss([[0.0, 0.0, 2.0, 2.0]], [[1.0, 0.0, 3.0, 4.0]])
    Array([0.88209075], dtype=float32)

  References:
    Zheng et al., "Distance-IoU Loss", AAAI 2020, eqs. (8)-(11).
  """
  t, p, dt = _boxes("ciou_loss", y_true, y_pred)
  g = _geometry(t, p)
  v = (4 / math.pi**2) * jnp.square(_angle(*g["t_hw"]) - _angle(*g["p_hw"]))
  a = jax.lax.stop_gradient(numerics.safe_divide(v, 1 - g["iou"] + v))
  return (1 - g["iou"] + _diou_penalty(g) + a * v).astype(dt)


class IoULoss(Loss, fn=iou_loss):
  """Loss object for :func:`jaxloss.iou_loss`."""


class GIoULoss(Loss, fn=giou_loss):
  """Loss object for :func:`jaxloss.giou_loss`."""


class DIoULoss(Loss, fn=diou_loss):
  """Loss object for :func:`jaxloss.diou_loss`."""


class CIoULoss(Loss, fn=ciou_loss):
  """Loss object for :func:`jaxloss.ciou_loss`."""
