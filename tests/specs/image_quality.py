"""Specs for the image-quality and reconstruction losses.

References are NumPy float64 transcriptions written from the papers'
equations (each names its source), with explicit loops over windows and
pixels. The SSIM transcription is also checked against values stored from
scikit-image in tests/test_image_quality.py.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec

H, W, C = 8, 9, 2
SSIM_KW = dict(filter_size=5, filter_sigma=1.5)
MS_KW = dict(filter_size=3, filter_sigma=1.0, power_factors=(0.3, 0.3, 0.4))
MS_H, MS_W = 10, 11  # odd sizes exercise the padding before pooling


# ------------------------------------------------------------ references


def np_window(size, sigma):
  x = np.arange(size) - (size - 1) / 2
  w = np.exp(-(x**2) / (2 * sigma**2))
  return w / w.sum()


def np_filter(x, win):
  """Valid 2-D correlation of ``[H, W]`` with ``outer(win, win)``: every
  window as an explicit ``[k, k]`` view, weighted and summed (not
  separable, unlike the library's two 1-D passes)."""
  k = len(win)
  views = np.lib.stride_tricks.sliding_window_view(x, (k, k))
  return np.sum(views * np.outer(win, win), axis=(-2, -1))


def np_ssim_cs(
  t, p, *, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03
):
  """Mean SSIM and mean contrast-structure of one channel ``[H, W]``.

  Wang et al. 2004, eqs. (13)-(15) with Gaussian weights (sec. III-C) and
  population statistics.
  """
  win = np_window(filter_size, filter_sigma)
  c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
  mt, mp = np_filter(t, win), np_filter(p, win)
  vt = np_filter(t * t, win) - mt**2
  vp = np_filter(p * p, win) - mp**2
  cov = np_filter(t * p, win) - mt * mp
  cs = (2 * cov + c2) / (vt + vp + c2)
  lum = (2 * mt * mp + c1) / (mt**2 + mp**2 + c1)
  return np.mean(lum * cs), np.mean(cs)


def np_ssim_loss(y_true, y_pred, **kw):
  return np.array(
    [
      1
      - np.mean(
        [np_ssim_cs(t[..., c], p[..., c], **kw)[0] for c in range(t.shape[-1])]
      )
      for t, p in zip(y_true, y_pred, strict=True)
    ]
  )


def np_downsample(x):
  """2x2 mean; an odd side repeats its last row/column (TensorFlow's
  symmetric padding of ``ssim_multiscale``)."""
  if x.shape[0] % 2:
    x = np.concatenate([x, x[-1:]], 0)
  if x.shape[1] % 2:
    x = np.concatenate([x, x[:, -1:]], 1)
  return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4


def np_ms_ssim_loss(
  y_true,
  y_pred,
  *,
  power_factors=(0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
  normalize="relu",
  **kw,
):
  """Wang, Simoncelli & Bovik 2003, eq. (7), relu'd as TensorFlow does
  (``normalize="simple"``: ``(x + 1) / 2``, torchmetrics' option)."""
  out = []
  for t, p in zip(y_true, y_pred, strict=True):
    per_channel = []
    for c in range(t.shape[-1]):
      a, b = t[..., c], p[..., c]
      value = 1.0
      for j, w in enumerate(power_factors):
        if j:
          a, b = np_downsample(a), np_downsample(b)
        ssim, cs = np_ssim_cs(a, b, **kw)
        term = ssim if j == len(power_factors) - 1 else cs
        if normalize == "simple":
          term = (term + 1.0) / 2.0
        value *= max(term, 0.0) ** w
      per_channel.append(value)
    out.append(1 - np.mean(per_channel))
  return np.array(out)


def np_psnr_loss(y_true, y_pred, *, max_val=1.0, eps=1e-10):
  mse = np.mean((y_true - y_pred) ** 2, axis=(1, 2, 3))
  return -10 * np.log10(max_val**2 / np.maximum(mse, eps))


def np_total_variation(x, *, kind="anisotropic"):
  """Rudin-Osher-Fatemi 1992, forward differences, zero past the edge."""
  out = []
  for img in x:
    h, w = img.shape[:2]
    total = 0.0
    for i in range(h):
      for j in range(w):
        dx = img[i, j + 1] - img[i, j] if j + 1 < w else 0 * img[i, j]
        dy = img[i + 1, j] - img[i, j] if i + 1 < h else 0 * img[i, j]
        if kind == "anisotropic":
          total += np.sum(np.abs(dx) + np.abs(dy))
        else:
          total += np.sum(np.sqrt(dx**2 + dy**2))
    out.append(total)
  return np.array(out)


def np_gdl(y_true, y_pred, *, alpha=1.0):
  """Mathieu et al. 2016, eq. (5), summed over pixels and channels."""
  out = []
  for t, p in zip(y_true, y_pred, strict=True):
    total = 0.0
    for axis in (0, 1):
      gt = np.abs(np.diff(t, axis=axis))
      gp = np.abs(np.diff(p, axis=axis))
      total += np.sum(np.abs(gt - gp) ** alpha)
    out.append(total)
  return np.array(out)


def np_charbonnier(y_true, y_pred, *, eps=1e-3):
  """Charbonnier et al. 1994: sqrt(e^2 + eps^2), mean over the last axis."""
  return np.mean(np.sqrt((y_pred - y_true) ** 2 + eps**2), axis=-1)


def np_feature_matching(f_true, f_pred, *, layer_weights=None, eps=1e-10, **_):
  """LPIPS (Zhang et al. 2018) eq. (1) for one layer: unit-normalise over
  channels, weighted squared distance, mean over positions."""
  w = np.asarray(layer_weights[0]) if layer_weights else 1.0
  out = []
  for t, p in zip(f_true, f_pred, strict=True):
    t = t.reshape(-1, t.shape[-1])
    p = p.reshape(-1, p.shape[-1])
    nt = t / (np.linalg.norm(t, axis=-1, keepdims=True) + eps)
    np_ = p / (np.linalg.norm(p, axis=-1, keepdims=True) + eps)
    out.append(np.mean(np.sum(w * (nt - np_) ** 2, axis=-1)))
  return np.array(out)


# ------------------------------------------------------------ inputs


def _images(rng, batch, h=H, w=W, c=C):
  t = rng.uniform(0.0, 1.0, size=(batch, h, w, c))
  p = np.clip(t + 0.2 * rng.normal(size=t.shape), 0, 1)
  return t, p


def _ms_images(rng, batch):
  return _images(rng, batch, MS_H, MS_W)


def _one_image(rng, batch):
  return (rng.uniform(0.0, 1.0, size=(batch, 4, 5, C)),)


def _features(rng, batch):
  return (rng.normal(size=(batch, 3, 3, 4)), rng.normal(size=(batch, 3, 3, 4)))


def _image_edges(h=H, w=W, n=5):
  def edges():
    z = np.zeros((2, h, w, C))
    x = np.random.default_rng(3).uniform(size=(2, h, w, C))
    # Constant images, identical ones, anti-correlated ones (MS-SSIM's
    # contrast terms clip at 0), a constant target.
    return [(z, z), (x, 1 - x), (x, x), (z, z + 1), (z + 1, x)][:n]

  return edges


def _smooth_images(rng, batch):
  """Unclipped: no two neighbours equal, away from the kinks of |d|."""
  t = rng.uniform(0.0, 1.0, size=(batch, H, W, C))
  return t, t + 0.2 * rng.normal(size=t.shape)


def _single_edges():
  return [(np.zeros((2, 4, 5, C)),), (np.ones((2, 4, 5, C)),)]


def _feature_edges():
  z = np.zeros((2, 3, 3, 4))
  return [(z, z), (z, z + 1), (z + 1, z + 1)]


def _rank3(args):
  return (args[0][0],)


SRC_SSIM = (
  "NumPy float64 loops of Wang et al. 2004 eqs. (13)-(15), "
  "Gaussian window, population statistics"
)
SPECS = [
  Spec(
    "ssim_loss",
    jaxloss.ssim_loss,
    _images,
    kwargs=SSIM_KW,
    cls=jaxloss.SSIMLoss,
    reference=np_ssim_loss,
    reference_source=SRC_SSIM,
    edge_inputs=_image_edges(),
  ),
  Spec(
    "ms_ssim_loss",
    jaxloss.ms_ssim_loss,
    _ms_images,
    kwargs=MS_KW,
    cls=jaxloss.MSSSIMLoss,
    reference=np_ms_ssim_loss,
    reference_source="NumPy float64 loops of Wang et al. 2003 eq. (7)",
    edge_inputs=_image_edges(MS_H, MS_W, 2),
  ),
  Spec(
    "psnr_loss",
    jaxloss.psnr_loss,
    _images,
    cls=jaxloss.PSNRLoss,
    reference=np_psnr_loss,
    reference_source="10 log10(mse / max^2)",
    edge_inputs=_image_edges(),
    half_rtol=0.1,
  ),
  Spec(
    "total_variation",
    jaxloss.total_variation,
    _one_image,
    cls=jaxloss.TotalVariation,
    reference=np_total_variation,
    reference_source="Rudin et al. 1992, loops",
    diff_argnums=(0,),
    edge_inputs=_single_edges,
    mismatch=_rank3,
  ),
  Spec(
    "total_variation_isotropic",
    jaxloss.total_variation,
    _one_image,
    kwargs=dict(kind="isotropic"),
    reference=np_total_variation,
    reference_source="Rudin et al. 1992, loops",
    diff_argnums=(0,),
    edge_inputs=_single_edges,
    mismatch=_rank3,
  ),
  Spec(
    "gradient_difference_loss",
    jaxloss.gradient_difference_loss,
    _smooth_images,
    cls=jaxloss.GradientDifferenceLoss,
    reference=np_gdl,
    reference_source="Mathieu et al. 2016 eq. (5)",
    edge_inputs=_image_edges(),
    grad_eps=1e-6,
  ),
  Spec(
    "gradient_difference_loss_a2",
    jaxloss.gradient_difference_loss,
    _smooth_images,
    kwargs=dict(alpha=2.0),
    reference=np_gdl,
    reference_source="Mathieu et al. 2016 eq. (5)",
    edge_inputs=_image_edges(),
    grad_eps=1e-6,
  ),
  Spec(
    "charbonnier",
    jaxloss.charbonnier,
    lambda rng, b: (rng.normal(size=(b, 6)), rng.normal(size=(b, 6))),
    kwargs=dict(eps=0.1),
    cls=jaxloss.Charbonnier,
    reference=np_charbonnier,
    reference_source="Charbonnier et al. 1994",
    edge_inputs=lambda: [(np.zeros((2, 6)), np.zeros((2, 6)))],
  ),
  Spec(
    "feature_matching_loss",
    jaxloss.feature_matching_loss,
    _features,
    kwargs=dict(layer_weights=((0.5, 1.0, 2.0, 0.0),)),
    cls=jaxloss.FeatureMatchingLoss,
    reference=np_feature_matching,
    reference_source="LPIPS, Zhang et al. 2018 eq. (1)",
    edge_inputs=_feature_edges,
    diff_argnums=(1,),
  ),
]


# ------------------------------------------ SSIM options of other libraries


def np_ssim_options(
  y_true,
  y_pred,
  *,
  filter_size=11,
  filter_sigma=1.5,
  padding="valid",
  window="gaussian",
  nonnegative_ssim=False,
  max_val=1.0,
  k1=0.01,
  k2=0.03,
):
  """Wang et al. 2004 with the options of kornia (reflect "same" padding),
  torchmetrics (uniform window) and pytorch-msssim (per-channel SSIM
  clipped at 0), by explicit windows."""
  if window == "uniform":
    win = np.full(filter_size, 1.0 / filter_size)
  else:
    win = np_window(filter_size, filter_sigma)
  c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
  r = (len(win) - 1) // 2
  out = []
  for t, p in zip(y_true, y_pred, strict=True):
    per_channel = []
    for c in range(t.shape[-1]):
      a, b = t[..., c], p[..., c]
      if padding == "same":
        pad = ((r, len(win) - 1 - r),) * 2
        a, b = np.pad(a, pad, mode="reflect"), np.pad(b, pad, mode="reflect")
      mt, mp = np_filter(a, win), np_filter(b, win)
      vt = np_filter(a * a, win) - mt**2
      vp = np_filter(b * b, win) - mp**2
      cov = np_filter(a * b, win) - mt * mp
      ssim = ((2 * mt * mp + c1) * (2 * cov + c2)) / (
        (mt**2 + mp**2 + c1) * (vt + vp + c2)
      )
      per_channel.append(np.mean(ssim))
    per_channel = np.array(per_channel)
    if nonnegative_ssim:
      per_channel = np.maximum(per_channel, 0.0)
    out.append(1 - np.mean(per_channel))
  return np.array(out)


SRC_MS_SIMPLE = (
  "NumPy float64 loops of Wang et al. 2003 eq. (7) with torchmetrics 1.9's "
  "normalize='simple' ((x + 1) / 2 before the powers)"
)

SRC_SSIM_OPTIONS = (
  "NumPy float64 windows of Wang et al. 2004 with kornia's / torchmetrics' "
  "reflect padding and uniform window (stored library values in "
  "tests/test_ssim_options.py)"
)

SPECS += [
  Spec(
    "ms_ssim_loss-simple",
    jaxloss.ms_ssim_loss,
    _ms_images,
    kwargs={**MS_KW, "normalize": "simple"},
    cls=jaxloss.MSSSIMLoss,
    reference=np_ms_ssim_loss,
    reference_source=SRC_MS_SIMPLE,
    edge_inputs=_image_edges(MS_H, MS_W, 2),
  ),
  Spec(
    "ssim_loss-same-uniform",
    jaxloss.ssim_loss,
    _images,
    kwargs={"filter_size": 5, "padding": "same", "window": "uniform"},
    cls=jaxloss.SSIMLoss,
    reference=np_ssim_options,
    reference_source=SRC_SSIM_OPTIONS,
    edge_inputs=_image_edges(),
  ),
  Spec(
    "ssim_loss-nonnegative",
    jaxloss.ssim_loss,
    _images,
    kwargs={"filter_size": 5, "nonnegative_ssim": True},
    cls=jaxloss.SSIMLoss,
    reference=np_ssim_options,
    reference_source="NumPy float64, pytorch-msssim 1.0's nonnegative_ssim",
    edge_inputs=_image_edges(),
  ),
]


def _rgb_images(rng, batch):
  return _images(rng, batch, c=3)


SPECS += [
  Spec(
    "ms_ssim_l1_loss",
    jaxloss.ms_ssim_l1_loss,
    _rgb_images,
    kwargs={"sigmas": (0.5, 1.0), "alpha": 0.3, "compensation": 1.0},
    cls=jaxloss.MSSSIML1Loss,
    reference_source="kornia 0.8.1 MS_SSIMLoss stored values "
    "(tests/test_ssim_options.py)",
    edge_inputs=lambda: [
      (a[..., :1].repeat(3, -1), b[..., :1].repeat(3, -1))
      for a, b in _image_edges()()
    ],
  ),
]


def _volumes(rng, batch):
  t = rng.uniform(size=(batch, 5, 6, 7, 2))
  return t, np.clip(t + 0.2 * rng.normal(size=t.shape), 0.0, 1.0)


def _volume_edges():
  z = np.zeros((2, 5, 6, 7, 2))
  x = np.random.default_rng(4).uniform(size=z.shape)
  return [(z, z), (x, x), (x, 1.0 - x), (z, np.ones_like(z))]


SPECS += [
  Spec(
    "ssim_loss-3d",
    jaxloss.ssim_loss,
    _volumes,
    kwargs={"filter_size": 3, "filter_sigma": 1.0, "padding": "same"},
    cls=jaxloss.SSIMLoss,
    reference_source="torchmetrics 1.9.0 volumetric SSIM stored values "
    "(tests/test_ssim_options.py)",
    edge_inputs=_volume_edges,
  ),
]
