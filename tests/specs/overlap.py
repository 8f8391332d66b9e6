"""Specs of the overlap losses (jaxloss/_src/losses/overlap.py): Dice,
Tversky, Jaccard, focal Tversky, MCC and Lovász.

References are NumPy float64 transcriptions, each naming its source: the
Keras 3.15 formulas, the papers' equations (Salehi et al. 2017 for
Tversky) and the Lovász authors' reference implementation
(github.com/bermanmaxim/LovaszSoftmax, lovasz_losses.py); the
``-zero-absent`` specs add segmentation-models-pytorch 0.6's rule for
ignored pixels and classes absent from the targets (stored library values
in tests/test_segmentation_options.py).
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs import int_labels
from tests.specs import probs
from tests.specs import simplex
from tests.specs.common import EPS
from tests.specs.common import SRC
from tests.specs.common import bin_inputs

H, W = 3, 4  # image size
K = 4  # classes

SRC_JACCARD = (
  "NumPy: 1 - sum(t p) / (sum(t) + sum(p) - sum(t p) + 1e-7), "
  "the soft IoU of Rahman & Wang 2016 Eq. 3-4"
)
SRC_FOCAL = "NumPy: Abraham & Khan 2019 Eq. 3-4, alpha on FP, exponent gamma"
SRC_LOVASZ = (
  "NumPy transcription of Berman et al. 2018's reference code "
  "(lovasz_losses.py: lovasz_grad, *_flat)"
)


# ------------------------------------------------------------ overlap refs


def np_dice(t, p, axis=None):
  inter = np.sum(t * p, axis=axis)
  return 1 - 2 * inter / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)


def np_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
  tp = np.sum(t * p, axis=axis)
  fp = np.sum((1 - t) * p, axis=axis)
  fn = np.sum(t * (1 - p), axis=axis)
  return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _axes(x, axis):
  return tuple(range(x.ndim)) if axis is None else axis


def np_jaccard(t, p, axis=None):
  a = _axes(p, axis)
  inter = np.sum(t * p, a)
  union = np.sum(t, a) + np.sum(p, a) - inter
  return 1 - inter / (union + EPS)


def np_focal_tversky(t, p, alpha=0.5, beta=0.5, gamma=0.75, axis=None):
  a = _axes(p, axis)
  tp = np.sum(t * p, a)
  fp = np.sum((1 - t) * p, a)
  fn = np.sum(t * (1 - p), a)
  return (1 - tp / (tp + alpha * fp + beta * fn + EPS)) ** gamma


def _img_inputs(rng, b):
  return rng.integers(0, 2, (b, H, W)).astype(float), probs(rng, (b, H, W))


def _img_edges():
  t = np.array([[[1.0, 0.0], [1.0, 1.0]]])
  return [
    (t, t.copy()),  # perfect: 1 - TI = 0
    (np.zeros_like(t), np.zeros_like(t)),  # empty target and prediction
    (t, 1.0 - t),  # everything wrong
    (np.zeros_like(t), np.full_like(t, 0.5)),
  ]


# ------------------------------------------------------------ Lovász refs


def np_lovasz_grad(gt_sorted):
  gts = gt_sorted.sum()
  intersection = gts - np.cumsum(gt_sorted)
  union = gts + np.cumsum(1 - gt_sorted)
  jac = 1.0 - intersection / union
  jac[1:] = jac[1:] - jac[:-1]
  return jac


def _np_lovasz_hinge_flat(logits, labels):
  errors = 1.0 - logits * (2.0 * labels - 1.0)
  perm = np.argsort(-errors, kind="stable")
  return np.dot(np.maximum(errors[perm], 0), np_lovasz_grad(labels[perm]))


def np_lovasz_hinge(t, z, per_image=True):
  if per_image:
    return np.array(
      [
        _np_lovasz_hinge_flat(zi.ravel(), ti.ravel())
        for ti, zi in zip(t, z, strict=True)
      ]
    )
  return _np_lovasz_hinge_flat(z.ravel(), t.ravel())


def _np_lovasz_softmax_flat(probas, labels, classes):
  c_all = probas.shape[1]
  ids = range(c_all) if classes in ("all", "present") else classes
  losses = []
  for c in ids:
    fg = (labels == c).astype(float)
    if classes == "present" and fg.sum() == 0:
      continue
    errors = np.abs(fg - probas[:, c])
    perm = np.argsort(-errors, kind="stable")
    losses.append(np.dot(errors[perm], np_lovasz_grad(fg[perm])))
  return np.mean(losses) if losses else 0.0


def np_lovasz_softmax(y, p, classes="present", per_image=False):
  c = p.shape[-1]
  if per_image:
    return np.array(
      [
        _np_lovasz_softmax_flat(pi.reshape(-1, c), yi.ravel(), classes)
        for yi, pi in zip(y, p, strict=True)
      ]
    )
  return _np_lovasz_softmax_flat(p.reshape(-1, c), y.ravel(), classes)


def _hinge_inputs(rng, b):
  # Hinge errors 1 - z (2t - 1) spread evenly over (-1, 3) in random order,
  # at least 2 / n away from each other and from the kink at 0, so that the
  # finite differences of the gradient checks never cross a kink of the
  # (piecewise-linear) loss.
  t = rng.integers(0, 2, (b, H, W)).astype(float)
  n = t.size
  errors = (rng.permutation(n) + 0.5) * (4.0 / n) - 1.0
  return t, (1.0 - errors.reshape(t.shape)) * (2.0 * t - 1.0)


def _hinge_edges():
  t = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
  return [
    (t, 1e4 * (2 * t - 1)),
    (t, -1e4 * (2 * t - 1)),
    (t, np.zeros_like(t)),
    (np.ones_like(t), np.ones_like(t)),
  ]


def _softmax_inputs(rng, b):
  # Class 3 never occurs, so "present" differs from "all".
  return int_labels(rng, (b, H, W), K - 1), simplex(rng, (b, H, W, K))


def _softmax_edges():
  y = np.array([[[0, 1], [1, 1]]])
  one_hot = np.eye(K)[y]
  return [
    (y, one_hot),
    (y, np.eye(K)[(y + 1) % K]),
    (y, np.full(y.shape + (K,), 1.0 / K)),
    (np.full_like(y, K - 1), np.full(y.shape + (K,), 1.0 / K)),
  ]


def _labels_mismatch(args):
  y, p = args
  return y[..., :-1], p


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
  Spec(
    "jaccard",
    jaxloss.jaccard,
    _img_inputs,
    kwargs={"axis": (1, 2)},
    cls=jaxloss.Jaccard,
    reference=np_jaccard,
    reference_source=SRC_JACCARD,
    edge_inputs=_img_edges,
  ),
  Spec(
    "jaccard-all-axes",
    jaxloss.jaccard,
    _img_inputs,
    cls=jaxloss.Jaccard,
    reference=np_jaccard,
    reference_source=SRC_JACCARD,
    per_sample=False,
  ),
  Spec(
    "focal_tversky",
    jaxloss.focal_tversky,
    _img_inputs,
    kwargs={"alpha": 0.3, "beta": 0.7, "gamma": 0.75, "axis": (1, 2)},
    cls=jaxloss.FocalTversky,
    reference=np_focal_tversky,
    reference_source=SRC_FOCAL,
    edge_inputs=_img_edges,
  ),
  Spec(
    "focal_tversky-all-axes",
    jaxloss.focal_tversky,
    _img_inputs,
    cls=jaxloss.FocalTversky,
    reference=np_focal_tversky,
    reference_source=SRC_FOCAL,
    per_sample=False,
  ),
  Spec(
    "lovasz_hinge",
    jaxloss.lovasz_hinge,
    _hinge_inputs,
    cls=jaxloss.LovaszHinge,
    reference=np_lovasz_hinge,
    reference_source=SRC_LOVASZ,
    edge_inputs=_hinge_edges,
  ),
  Spec(
    "lovasz_hinge-batch",
    jaxloss.lovasz_hinge,
    _hinge_inputs,
    kwargs={"per_image": False},
    cls=jaxloss.LovaszHinge,
    reference=np_lovasz_hinge,
    reference_source=SRC_LOVASZ,
    edge_inputs=_hinge_edges,
    per_sample=False,
  ),
  Spec(
    "lovasz_softmax",
    jaxloss.lovasz_softmax,
    _softmax_inputs,
    cls=jaxloss.LovaszSoftmax,
    reference=np_lovasz_softmax,
    reference_source=SRC_LOVASZ,
    edge_inputs=_softmax_edges,
    per_sample=False,
    mismatch=_labels_mismatch,
  ),
  Spec(
    "lovasz_softmax-per-image-all",
    jaxloss.lovasz_softmax,
    _softmax_inputs,
    kwargs={"classes": "all", "per_image": True},
    cls=jaxloss.LovaszSoftmax,
    reference=np_lovasz_softmax,
    reference_source=SRC_LOVASZ,
    edge_inputs=_softmax_edges,
    mismatch=_labels_mismatch,
  ),
]


# ------------------------------------------ segmentation-models-pytorch options

IGNORE = 255.0
SRC_SMP = (
  "NumPy: the ignored pixels removed before the formula, as "
  "segmentation-models-pytorch 0.6 does (stored library values in "
  "tests/test_segmentation_options.py)"
)


def _img_inputs_ignored(rng, b):
  t, p = _img_inputs(rng, b)
  t[:, 0, :2] = IGNORE
  return t, p


def _img_edges_ignored():
  edges = _img_edges()
  out = []
  for t, p in edges:
    t = t.copy()
    t[..., 0, 0] = IGNORE
    out.append((t, p))
  return out


def _np_ignoring(ref):
  def fn(t, p, ignore_index=None, log_loss=False, **kwargs):
    if ignore_index is not None:
      keep = t != ignore_index
      t, p = np.where(keep, t, 0.0), np.where(keep, p, 0.0)
    loss = ref(t, p, **kwargs)
    return -np.log(np.maximum(1.0 - loss, EPS)) if log_loss else loss

  return fn


def np_mcc(t, p, axis=None, eps=1e-5):
  """Abhishek & Hamarneh 2021 eq. (3), counts + eps (smp's MCCLoss)."""
  a = _axes(p, axis)
  tp = np.sum(t * p, a) + eps
  tn = np.sum((1 - t) * (1 - p), a) + eps
  fp = np.sum((1 - t) * p, a) + eps
  fn = np.sum(t * (1 - p), a) + eps
  den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
  return 1 - (tp * tn - fp * fn) / den


def np_lovasz_hinge_ignoring(t, z, per_image=True, ignore_index=None):
  """The authors' flat hinge on the pixels whose label is not ignored."""
  if per_image:
    return np.array(
      [
        np_lovasz_hinge_ignoring(ti[None], zi[None], False, ignore_index)
        for ti, zi in zip(t, z, strict=True)
      ]
    )
  t, z = t.ravel(), z.ravel()
  keep = t != ignore_index
  return _np_lovasz_hinge_flat(z[keep], t[keep])


def _hinge_inputs_ignored(rng, b):
  t, z = _hinge_inputs(rng, b)
  t = t.copy()
  t[:, 0, 0] = IGNORE
  return t, z


SPECS += [
  Spec(
    "dice-ignore-log",
    jaxloss.dice,
    _img_inputs_ignored,
    kwargs={"axis": (1, 2), "ignore_index": IGNORE, "log_loss": True},
    cls=jaxloss.Dice,
    reference=_np_ignoring(
      lambda t, p, axis: (
        1 - 2 * np.sum(t * p, axis) / (np.sum(t, axis) + np.sum(p, axis) + EPS)
      )
    ),
    reference_source=SRC_SMP,
    edge_inputs=_img_edges_ignored,
  ),
  Spec(
    "jaccard-ignore",
    jaxloss.jaccard,
    _img_inputs_ignored,
    kwargs={"axis": (1, 2), "ignore_index": IGNORE},
    cls=jaxloss.Jaccard,
    reference=_np_ignoring(np_jaccard),
    reference_source=SRC_SMP,
    edge_inputs=_img_edges_ignored,
  ),
  Spec(
    "focal_tversky-ignore",
    jaxloss.focal_tversky,
    _img_inputs_ignored,
    kwargs={"axis": (1, 2), "ignore_index": IGNORE, "beta": 0.7},
    cls=jaxloss.FocalTversky,
    reference=_np_ignoring(np_focal_tversky),
    reference_source=SRC_SMP,
    edge_inputs=_img_edges_ignored,
  ),
  Spec(
    "mcc_loss",
    jaxloss.mcc_loss,
    _img_inputs,
    kwargs={"axis": (1, 2)},
    cls=jaxloss.MCCLoss,
    reference=np_mcc,
    reference_source="NumPy: Abhishek & Hamarneh 2021 eq. (3) with smp's eps",
    edge_inputs=_img_edges,
  ),
  Spec(
    "lovasz_hinge-ignore",
    jaxloss.lovasz_hinge,
    _hinge_inputs_ignored,
    kwargs={"ignore_index": IGNORE},
    cls=jaxloss.LovaszHinge,
    reference=np_lovasz_hinge_ignoring,
    reference_source=SRC_SMP,
  ),
]
