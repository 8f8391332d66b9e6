"""Image quality and reconstruction losses.

SSIM and MS-SSIM (Wang et al. 2003, 2004), PSNR, total variation, the
gradient difference loss, the Charbonnier loss and an LPIPS-style
feature-matching loss over feature maps the caller computes.

Images are ``[B, H, W, C]`` (``channel_axis=-1``, the default) or
``[B, C, H, W]`` (``channel_axis=1``). Half-precision inputs are computed in
float32 and the result is cast back. The Gaussian window is applied as two
1-D filters (rows, then columns), each a sum of shifted slices that XLA
fuses into one loop.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
import math
from typing import Any
from typing import cast

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# Wang, Simoncelli & Bovik (2003), Table 1: the exponents of the five scales.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# --------------------------------------------------------------- helpers


def _channels_last(
  caller, x, channel_axis, name, ranks: int | tuple[int, ...] = 4
):
  """``[B, H, W, C]`` (or ``[B, D, H, W, C]`` where ``ranks`` allows 5)
  from ``x`` with its channel axis at ``channel_axis``."""
  shapes.check_rank(caller, name, x, ranks)
  last = x.ndim - 1
  if channel_axis not in (-1, last, 1, -last):
    raise ValueError(
      f"{caller}: channel_axis must be -1 (channels last, [B, H, W, C]) or 1 "
      f"(channels first, [B, C, H, W]), got {channel_axis!r}"
    )
  if channel_axis in (1, -last):
    x = jnp.moveaxis(x, 1, -1)
  return x


def _image_inputs(
  caller, y_true, y_pred, channel_axis, where, ranks: int | tuple[int, ...] = 4
):
  """Both images ``[B, H, W, C]`` (or ``[B, D, H, W, C]``) in the compute
  dtype, the mask or None."""
  t, p, dt = numerics.prediction_and_target(caller, y_true, y_pred)
  shapes.check_same_shape(caller, y_true=t, y_pred=p)
  t = _channels_last(caller, t, channel_axis, "y_true", ranks)
  p = _channels_last(caller, p, channel_axis, "y_pred", ranks)
  mask = None
  if where is not None:
    mask = numerics.as_array(caller, "where", where)
    if mask.dtype != jnp.bool_:
      raise TypeError(
        f"{caller}: where must be a boolean mask, got {mask.dtype}"
      )
    shapes.check_rank(caller, "where", mask, t.ndim)
    mask = _channels_last(caller, mask, channel_axis, "where", t.ndim)
    if mask.shape[:-1] != t.shape[:-1] or mask.shape[-1] not in (
      1,
      t.shape[-1],
    ):
      raise ValueError(
        f"{caller}: where must have the shape of y_true (or a size-1 channel "
        f"axis), got where.shape={tuple(jnp.shape(where))} and "
        f"y_true.shape={tuple(jnp.shape(y_true))}"
      )
    mask = jnp.broadcast_to(mask, t.shape)
    # Sanitise first: a NaN or inf under the mask never reaches an operation.
    t = jnp.where(mask, t, 0)
    p = jnp.where(mask, p, 0)
  return t, p, mask, dt


def gaussian_window(size: int, sigma: float) -> np.ndarray:
  """The normalised 1-D Gaussian ``exp(-x**2 / (2 sigma**2))``, centred."""
  x = np.arange(size, dtype=np.float64) - (size - 1) / 2
  w = np.exp(-(x**2) / (2 * sigma**2))
  return w / w.sum()


def _correlate(x, window, axis):
  """Valid correlation of ``x`` with the 1-D ``window`` along ``axis``."""
  n = x.shape[axis] - len(window) + 1
  out = None
  for i, w in enumerate(window):
    term = jax.lax.slice_in_dim(x, i, i + n, axis=axis) * x.dtype.type(w)
    out = term if out is None else out + term
  return out


# The filter is linear, and its transpose is again a correlation: of the
# zero-padded cotangent with the reversed window. Writing that VJP out keeps
# the backward pass one fused loop per axis; autodiff of the shifted slices
# materialised every padded slice instead (value_and_grad at 8x256x256x3 on
# CPU: 647 -> 89 MiB of temporaries and about 3x faster). The price: no
# forward-mode differentiation (jax.jvp) through the filter.
@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _filter_axis(x, window, axis):
  return _correlate(x, window, axis)


def _filter_axis_fwd(x, window, axis):
  return _correlate(x, window, axis), None


def _filter_axis_bwd(window, axis, _, g):
  pads = [(0, 0)] * g.ndim
  pads[axis] = (len(window) - 1, len(window) - 1)
  return (_filter_axis(jnp.pad(g, pads), window[::-1], axis),)


_filter_axis.defvjp(_filter_axis_fwd, _filter_axis_bwd)


def gaussian_filter(x, window):
  """Separable valid filter over the spatial axes of ``[B, H, W, C]`` (or
  ``[B, D, H, W, C]``): every axis but the first and the last.

  ``window`` is the 1-D window (any sequence of floats).
  """
  window = tuple(float(w) for w in window)
  for axis in range(1, x.ndim - 1):
    x = _filter_axis(x, window, axis)
  # custom_vjp's stubs do not carry the wrapped function's return type.
  return cast(jax.Array, x)


def _ssim_maps(t, p, mask, *, max_val, window, k1, k2, luminance=False):
  """SSIM and contrast-structure maps, and the weight of each map entry
  (with ``luminance``: the luminance map in place of the SSIM map).

  Without a mask the local statistics are Gaussian-weighted means over the
  window; with one, each window is renormalised over its kept pixels
  (normalised convolution), which equals the unmasked statistics where the
  whole window is kept.
  """
  c1 = (k1 * max_val) ** 2
  c2 = (k2 * max_val) ** 2
  n = t.shape[-1]
  # Variances and covariances do not change under a common shift; taking
  # out each image's mean first avoids most of the cancellation in
  # E[x^2] - E[x]^2 (float32 results then agree between eager and jit).
  spatial = tuple(range(1, t.ndim - 1))
  shift = jax.lax.stop_gradient(
    jnp.mean(t + p, axis=spatial, keepdims=True) / 2
  )
  t = t - shift
  p = p - shift
  stats = [t, p, t * t, p * p, t * p]
  if mask is None:
    mu_t, mu_p, e_tt, e_pp, e_tp = jnp.split(
      gaussian_filter(jnp.concatenate(stats, axis=-1), window), 5, axis=-1
    )
    weight = None
  else:
    m = mask.astype(t.dtype)
    filtered = gaussian_filter(
      jnp.concatenate([m] + [m * x for x in stats], axis=-1), window
    )
    norm, *rest = jnp.split(filtered, 6, axis=-1)
    # Window mass below this is treated as empty (also hides round-off).
    has = norm > 1e-6
    safe = jnp.where(has, norm, 1)
    mu_t, mu_p, e_tt, e_pp, e_tp = (jnp.where(has, r / safe, 0) for r in rest)
    # A map entry counts when its centre pixel is kept.
    r = (len(window) - 1) // 2
    inner = tuple(slice(r, r + size) for size in norm.shape[1:-1])
    centre = mask[(slice(None), *inner, slice(None, n))]
    weight = jnp.logical_and(centre, has)
  var_t = e_tt - mu_t * mu_t
  var_p = e_pp - mu_p * mu_p
  cov = e_tp - mu_t * mu_p
  mu_t = mu_t + shift
  mu_p = mu_p + shift
  cs = (2 * cov + c2) / (var_t + var_p + c2)
  lum = (2 * mu_t * mu_p + c1) / (mu_t * mu_t + mu_p * mu_p + c1)
  if luminance:
    return lum, cs, weight
  return lum * cs, cs, weight


def _spatial_mean(x, weight):
  """Mean over the spatial axes (``[B, C]``), over ``weight`` when given."""
  spatial = tuple(range(1, x.ndim - 1))
  if weight is None:
    return jnp.mean(x, axis=spatial)
  w = weight.astype(x.dtype)
  return numerics.safe_divide(
    jnp.sum(jnp.where(weight, x, 0), axis=spatial), jnp.sum(w, axis=spatial)
  )


def _check_data_range(caller, max_val):
  """``max_val``: a positive number, a ``(min, max)`` pair or "infer"."""
  if isinstance(max_val, str) and max_val == "infer":
    return
  if not isinstance(max_val, (tuple, list)):
    validation.check_range(caller, "max_val", max_val, low=0.0, low_open=True)
    return
  if len(max_val) != 2:
    raise ValueError(
      f"{caller}: max_val must be a number, a (min, max) pair or 'infer', "
      f"got {max_val!r}"
    )
  lo, hi = max_val
  validation.number(caller, "max_val (min)", lo)
  validation.number(caller, "max_val (max)", hi)
  concrete = (int, float, np.number)
  if isinstance(lo, concrete) and isinstance(hi, concrete) and not hi > lo:
    raise ValueError(
      f"{caller}: max_val must be a (min, max) pair with min < max, got "
      f"{max_val!r}"
    )


def _check_ssim_config(
  caller, max_val, filter_size, filter_sigma, k1, k2, ranges=False
):
  if ranges:
    _check_data_range(caller, max_val)
  else:
    validation.check_range(caller, "max_val", max_val, low=0.0, low_open=True)
  validation.integer(caller, "filter_size", filter_size, low=1)
  validation.static_number(
    caller, "filter_sigma", filter_sigma, 0.0, low_open=True
  )
  validation.check_range(caller, "k1", k1, low=0.0, low_open=True)
  validation.check_range(caller, "k2", k2, low=0.0, low_open=True)


PADDINGS = ("valid", "same")
WINDOWS = ("gaussian", "uniform")


def ssim_window(caller, window, filter_size, filter_sigma):
  """The 1-D window: Gaussian, uniform, or the user's weights (normalised
  to sum 1)."""
  if isinstance(window, str):
    validation.choice(caller, "window", window, WINDOWS)
    if window == "uniform":
      return np.full(filter_size, 1.0 / filter_size)
    return gaussian_window(filter_size, filter_sigma)
  w = np.asarray(window, np.float64)
  if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or w.sum() <= 0:
    raise ValueError(
      f"{caller}: window must be 'gaussian', 'uniform' or a 1-D sequence of "
      f"finite weights with a positive sum, got {window!r}"
    )
  return w / w.sum()


def _data_range(t, p, max_val):
  """``(t, p, L)``: ``max_val`` a number (``L``), a ``(min, max)`` pair
  (both images clamped to it, ``L = max - min``), or "infer" (``L`` the
  larger of the two images' value ranges over the whole batch)."""
  if isinstance(max_val, str):
    span = jnp.maximum(jnp.max(t) - jnp.min(t), jnp.max(p) - jnp.min(p))
    return t, p, jax.lax.stop_gradient(span)
  if isinstance(max_val, (tuple, list)):
    lo, hi = max_val
    return jnp.clip(t, lo, hi), jnp.clip(p, lo, hi), hi - lo
  return t, p, max_val


def _reflect_pad(x, window):
  """Reflect-pads the spatial axes by half the window (a "same" map)."""
  lo = (len(window) - 1) // 2
  hi = len(window) - 1 - lo
  pads = ((0, 0),) + ((lo, hi),) * (x.ndim - 2) + ((0, 0),)
  return jnp.pad(x, pads, mode="reflect")


def _check_size(caller, shape, filter_size, what="y_true"):
  spatial = shape[1:-1]
  if any(size < filter_size for size in spatial):
    axes = "both axes" if len(spatial) == 2 else "every spatial axis"
    raise ValueError(
      f"{caller}: {what} spatial size must be at least filter_size="
      f"{filter_size} on {axes}, got {'x'.join(map(str, spatial))}"
    )


# ------------------------------------------------------------------ SSIM


@scoped
def ssim_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  max_val: float | jax.Array | tuple[float, float] | str = 1.0,
  filter_size: int = 11,
  filter_sigma: float = 1.5,
  k1: float | jax.Array = 0.01,
  k2: float | jax.Array = 0.03,
  channel_axis: int = -1,
  where: InputLike | None = None,
  padding: str = "valid",
  window: str | Sequence[float] = "gaussian",
  nonnegative_ssim: bool = False,
) -> jax.Array:
  r"""One minus the structural similarity (SSIM) of each image pair.

  With Gaussian-weighted local means :math:`\mu`, variances
  :math:`\sigma^2` and covariance :math:`\sigma_{tp}` (population
  statistics: weights summing to 1, no ``n / (n - 1)`` factor) over a
  ``filter_size`` window of standard deviation ``filter_sigma``, and
  :math:`c_1 = (k_1 L)^2`, :math:`c_2 = (k_2 L)^2` with ``L = max_val``::

    SSIM(t, p) = (2 mu_t mu_p + c1) (2 sigma_tp + c2)
                 / ((mu_t^2 + mu_p^2 + c1) (sigma_t^2 + sigma_p^2 + c2))

  at every position where the window fits inside the image ("valid"
  filtering), then averaged over positions and channels:
  ``loss = 1 - mean(SSIM)``, in ``[0, 2]``. Both denominators are at least
  ``c1`` and ``c2``, so the value and gradient are finite on constant images.

  With ``where``, masked pixels are left out of every local statistic (each
  window is renormalised over its kept pixels) and of the average (a map
  position counts when its centre pixel is kept). Values under the mask may
  be NaN. An image with no kept position has loss 0.

  The window is applied as two 1-D passes with a written-out VJP: reverse
  mode works to any order, forward mode (``jax.jvp``) does not.

  Volumes ``[B, D, H, W, C]`` (or ``[B, C, D, H, W]``) give 3-D SSIM: the
  window is applied along all three spatial axes (torchmetrics' volumetric
  SSIM with ``padding="same"``).

  Options of other libraries: ``padding="same"`` reflect-pads both images
  by half the window and averages the full-resolution map (kornia's
  default); ``window="uniform"`` (or any 1-D weights) replaces the
  Gaussian; ``nonnegative_ssim=True`` clips each channel's mean SSIM at 0
  before averaging the channels (pytorch-msssim); ``max_val=(min, max)``
  clamps both images to that range and uses ``L = max - min``, and
  ``max_val="infer"`` infers ``L`` from the data as torchmetrics'
  ``data_range=None`` does (the
  larger value range of the two image batches; it depends on the whole
  batch, so values are then not per-sample).

  Args:
    y_true: reference images ``[B, H, W, C]`` (or ``[B, C, H, W]``), or
      volumes ``[B, D, H, W, C]`` (or ``[B, C, D, H, W]``).
    y_pred: images of the same shape.
    max_val: the dynamic range ``L`` of the pixel values (1 for ``[0, 1]``
      images, 255 for 8-bit ones), a ``(min, max)`` pair, or ``"infer"``.
    filter_size: the side of the Gaussian window; ``H`` and ``W`` must be at
      least this.
    filter_sigma: the window's standard deviation, in pixels.
    k1: luminance stabiliser factor.
    k2: contrast stabiliser factor.
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.
    where: optional boolean mask of kept pixels, the images' shape (or a
      size-1 channel axis).
    padding: ``"valid"`` (windows inside the image) or ``"same"``.
    window: ``"gaussian"``, ``"uniform"`` or 1-D weights (normalised to
      sum 1; their length is the window's side, ``filter_size`` unused).
    nonnegative_ssim: clip each channel's SSIM at 0.

  Returns:
    ``[B]`` losses.

  Raises:
    ValueError: for shapes that differ, images smaller than the window,
      non-positive ``max_val``/``k1``/``k2``/``filter_sigma`` or an unknown
      ``channel_axis``.
    TypeError: for integer images or a non-boolean mask.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.linspace(0.0, 1.0, 2 * 16 * 16 * 3).reshape(2, 16, 16, 3)
    >>> jaxloss.ssim_loss(x, x)
    Array([0., 0.], dtype=float32)
    >>> float(jaxloss.ssim_loss(x, 1.0 - x)[0]) > 1.0
    True

  References:
    Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 2004, eqs. (13)-(15);
    matches scikit-image's ``structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=max_val)``.
  """
  caller = "ssim_loss"
  validation.integer(caller, "channel_axis", channel_axis)
  _check_ssim_config(
    caller, max_val, filter_size, filter_sigma, k1, k2, ranges=True
  )
  validation.choice(caller, "padding", padding, PADDINGS)
  validation.flag(caller, "nonnegative_ssim", nonnegative_ssim)
  win = ssim_window(caller, window, filter_size, filter_sigma)
  t, p, mask, dt = _image_inputs(
    caller, y_true, y_pred, channel_axis, where, ranks=(4, 5)
  )
  t, p, max_val = _data_range(t, p, max_val)
  if padding == "same":
    t, p = _reflect_pad(t, win), _reflect_pad(p, win)
    if mask is not None:
      mask = _reflect_pad(mask, win)
  _check_size(caller, t.shape, len(win))
  ssim_map, _, weight = _ssim_maps(
    t, p, mask, max_val=max_val, window=win, k1=k1, k2=k2
  )
  if nonnegative_ssim:
    per_channel = jax.nn.relu(_spatial_mean(ssim_map, weight))
    return (1 - jnp.mean(per_channel, axis=-1)).astype(dt)
  every = tuple(range(1, ssim_map.ndim))
  if weight is None:
    value = jnp.mean(ssim_map, axis=every)
  else:
    total = jnp.sum(jnp.where(weight, ssim_map, 0), axis=every)
    count = jnp.sum(weight, axis=every).astype(total.dtype)
    value = jnp.where(count > 0, numerics.safe_divide(total, count), 1)
  return (1 - value).astype(dt)


def _downsample(x, mask):
  """2x2 average pooling; an odd size repeats its last row/column first.

  With a mask, each pooled pixel averages the kept pixels of its block and
  is kept when any of them is.
  """

  def pad(z):
    if z.shape[1] % 2:
      z = jnp.concatenate([z, z[:, -1:]], axis=1)
    if z.shape[2] % 2:
      z = jnp.concatenate([z, z[:, :, -1:]], axis=2)
    return z

  def pool(z):
    b, h, w, c = z.shape
    return jnp.sum(z.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))

  if mask is None:
    return pool(pad(x)) / 4, None
  m = pad(mask.astype(x.dtype))
  count = pool(m)
  kept = count > 0
  pooled = jnp.where(kept, pool(pad(x)) / jnp.where(kept, count, 1), 0)
  return pooled, kept


def ms_ssim_min_size(filter_size: int, scales: int) -> int:
  """The smallest side for which every scale still holds a window."""
  size = filter_size
  for _ in range(scales - 1):
    size = 2 * size - 1  # the smallest s with ceil(s / 2) >= size
  return size


@scoped
def ms_ssim_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  max_val: float | jax.Array = 1.0,
  filter_size: int = 11,
  filter_sigma: float = 1.5,
  k1: float | jax.Array = 0.01,
  k2: float | jax.Array = 0.03,
  power_factors: Sequence[float] = MS_SSIM_WEIGHTS,
  channel_axis: int = -1,
  where: InputLike | None = None,
  normalize: str = "relu",
) -> jax.Array:
  r"""One minus the multi-scale structural similarity (MS-SSIM).

  The images are compared at ``M = len(power_factors)`` scales, each one a
  2x2 average pooling of the previous (an odd side repeats its last row or
  column first). With ``cs_j`` the mean contrast-structure term
  ``(2 sigma_tp + c2) / (sigma_t^2 + sigma_p^2 + c2)`` at scale ``j`` and
  ``SSIM_M`` the mean SSIM (see :func:`ssim_loss`) at the coarsest scale,
  per channel::

    MS-SSIM = prod_{j < M} relu(cs_j) ** w_j * relu(SSIM_M) ** w_M

  averaged over channels; ``loss = 1 - MS-SSIM``. The ``relu`` (as in
  pytorch-msssim and TensorFlow) keeps the fractional powers real; the
  power has a zero, not infinite, derivative at 0. ``normalize="simple"``
  maps each term to ``(x + 1) / 2`` instead of ``relu(x)``
  (torchmetrics' option, smoother for training).

  Args:
    y_true: reference images ``[B, H, W, C]`` (or ``[B, C, H, W]``).
    y_pred: images of the same shape.
    max_val: the dynamic range of the pixel values.
    filter_size: the side of the Gaussian window.
    filter_sigma: the window's standard deviation, in pixels.
    k1: luminance stabiliser factor.
    k2: contrast stabiliser factor.
    power_factors: the exponents ``w_j``, finest scale first; the default
      is the paper's five.
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.
    where: optional boolean mask of kept pixels (pooled as "any kept pixel
      in the block"), as in :func:`ssim_loss`.

  Returns:
    ``[B]`` losses.

  Raises:
    ValueError: for images too small for the coarsest scale to hold a
      window (161 pixels per side with the defaults), besides the errors of
      :func:`ssim_loss`.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.linspace(0.0, 1.0, 12 * 12).reshape(1, 12, 12, 1)
    >>> # three scales of a 3x3 window (the defaults need 161x161 images)
    >>> jaxloss.ms_ssim_loss(x, x, filter_size=3, power_factors=(0.4, 0.3, 0.3))
    Array([0.], dtype=float32)

  References:
    Wang, Simoncelli & Bovik, "Multiscale structural similarity for image
    quality assessment", Asilomar 2003, eq. (7) and Table 1; the ``relu``
    and the pooling of odd sizes follow TensorFlow's
    ``tf.image.ssim_multiscale``.
  """
  caller = "ms_ssim_loss"
  validation.integer(caller, "channel_axis", channel_axis)
  validation.choice(caller, "normalize", normalize, ("relu", "simple"))
  _check_ssim_config(caller, max_val, filter_size, filter_sigma, k1, k2)
  if (
    not isinstance(power_factors, (tuple, list))
    or not power_factors
    or not all(
      isinstance(w, (int, float)) and not isinstance(w, bool)
      for w in power_factors
    )
  ):
    raise TypeError(
      f"{caller}: power_factors must be a non-empty sequence of numbers, got "
      f"{power_factors!r}"
    )
  validation.check_range(caller, "power_factors", list(power_factors), low=0.0)
  t, p, mask, dt = _image_inputs(caller, y_true, y_pred, channel_axis, where)
  scales = len(power_factors)
  need = ms_ssim_min_size(filter_size, scales)
  if t.shape[1] < need or t.shape[2] < need:
    raise ValueError(
      f"{caller}: y_true spatial size must be at least {need}x{need} for "
      f"{scales} scales with filter_size={filter_size}, got "
      f"{t.shape[1]}x{t.shape[2]}"
    )
  window = gaussian_window(filter_size, filter_sigma)
  value = None
  for j, w in enumerate(power_factors):
    if j:
      t, new_mask = _downsample(t, mask)
      p, _ = _downsample(p, mask)
      mask = new_mask
    ssim_map, cs_map, weight = _ssim_maps(
      t, p, mask, max_val=max_val, window=window, k1=k1, k2=k2
    )
    term = _spatial_mean(ssim_map if j == scales - 1 else cs_map, weight)
    if weight is not None:
      # An empty channel compares as identical (term 1).
      term = jnp.where(jnp.any(weight, axis=(1, 2)), term, 1)
    term = (term + 1) / 2 if normalize == "simple" else jax.nn.relu(term)
    term = numerics.safe_pow(term, w)
    value = term if value is None else value * term
  assert value is not None  # power_factors is non-empty
  return (1 - jnp.mean(value, axis=-1)).astype(dt)


# ------------------------------------------------- MS-SSIM + L1 (Zhao et al.)

MS_SSIM_L1_SIGMAS = (0.5, 1.0, 2.0, 4.0, 8.0)


@scoped
def ms_ssim_l1_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  sigmas: Sequence[float] = MS_SSIM_L1_SIGMAS,
  max_val: float = 1.0,
  k1: float = 0.01,
  k2: float = 0.03,
  alpha: float = 0.025,
  compensation: float = 200.0,
  channel_axis: int = -1,
) -> jax.Array:
  r"""The MS-SSIM + Gaussian-weighted L1 mix of Zhao et al. (kornia's
  ``MS_SSIMLoss``), averaged over each image's pixels.

  MS-SSIM is approximated at full resolution with Gaussian windows of the
  standard deviations ``sigmas`` (zero padding, one window size
  ``int(4 max(sigma) + 1)``): with ``S`` sigmas, ``3 S`` windows, window
  ``j`` of standard deviation ``sigmas[j // 3]`` applied to channel
  ``j // (3 S / C)`` (the reference code's grouping, which needs ``3 S``
  divisible by ``C``), ``l_j`` and ``cs_j`` its luminance and
  contrast-structure maps,

  ``ms = 1 - l_{3S-3} l_{3S-2} l_{3S-1} prod_j cs_j``,
  ``g = mean_c G_{sigma_S} * |t_c - p_c|`` and
  ``loss = compensation (alpha ms + (1 - alpha) g / max_val)``.

  The published weights are ``alpha = 0.025`` (0.84 in the paper's
  notation of the L1 share: ``1 - alpha`` here) and ``compensation = 200``.

  Args:
    y_true: reference images ``[B, H, W, C]`` (or ``[B, C, H, W]``).
    y_pred: images of the same shape.
    sigmas: the Gaussian standard deviations, increasing.
    max_val: the dynamic range ``L``.
    k1: luminance stabiliser factor.
    k2: contrast stabiliser factor.
    alpha: weight of the MS-SSIM term, in ``[0, 1]``.
    compensation: a scale on the whole loss.
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.

  Returns:
    ``[B]`` losses (kornia's ``reduction="mean"`` is their mean).

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.linspace(0.0, 1.0, 2 * 8 * 8 * 3).reshape(2, 8, 8, 3)
    >>> jaxloss.ms_ssim_l1_loss(x, x)
    Array([0., 0.], dtype=float32)

  References:
    Zhao, Gallo, Frosio & Kautz, "Loss Functions for Image Restoration with
    Neural Networks", IEEE TCI 2017, eq. (10);
    ``kornia.losses.MS_SSIMLoss`` (kornia 0.8).
  """
  caller = "ms_ssim_l1_loss"
  validation.integer(caller, "channel_axis", channel_axis)
  validation.check_range(caller, "max_val", max_val, low=0.0, low_open=True)
  validation.check_range(caller, "k1", k1, low=0.0, low_open=True)
  validation.check_range(caller, "k2", k2, low=0.0, low_open=True)
  validation.check_range(caller, "alpha", alpha, 0.0, 1.0)
  validation.number(caller, "compensation", compensation)
  sigmas = tuple(sigmas)
  if not sigmas:
    raise ValueError(f"{caller}: sigmas must be non-empty, got ()")
  for sigma in sigmas:
    validation.static_number(caller, "sigmas", sigma, 0.0, low_open=True)
  t, p, _, dt = _image_inputs(caller, y_true, y_pred, channel_axis, None)
  channels = t.shape[-1]
  n_windows = 3 * len(sigmas)
  if n_windows % channels:
    raise ValueError(
      f"{caller}: 3 * len(sigmas) = {n_windows} windows must divide among "
      f"the {channels} channels"
    )
  size = int(4 * sigmas[-1] + 1)
  pad = int(2 * sigmas[-1])

  def window(sigma):
    win = np.exp(-((np.arange(size) - size // 2) ** 2) / (2 * sigma**2))
    return win / win.sum()

  def zero_pad(x):  # a full-resolution map: windows centred on every pixel
    return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

  per_channel = n_windows // channels
  lum, cs = [], []
  for j in range(n_windows):
    c, sigma = j // per_channel, sigmas[j // 3]
    lum_j, cs_j, _ = _ssim_maps(
      zero_pad(t[..., c : c + 1]),
      zero_pad(p[..., c : c + 1]),
      None,
      max_val=max_val,
      window=window(sigma),
      k1=k1,
      k2=k2,
      luminance=True,
    )
    lum.append(lum_j)
    cs.append(cs_j)
  ms = 1 - lum[-1] * lum[-2] * lum[-3] * functools.reduce(jnp.multiply, cs)
  l1 = gaussian_filter(zero_pad(jnp.abs(t - p)), window(sigmas[-1]))
  l1 = jnp.mean(l1, axis=-1, keepdims=True)
  loss = compensation * (alpha * ms + (1 - alpha) * l1 / max_val)
  return jnp.mean(loss, axis=(1, 2, 3)).astype(dt)


# ------------------------------------------------------------------ PSNR


@scoped
def psnr_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  max_val: float | jax.Array = 1.0,
  eps: float | jax.Array = 1e-10,
  channel_axis: int = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Negative peak signal-to-noise ratio of each image pair, in decibels.

  With ``mse`` the mean squared error over an image's pixels and channels::

    loss = -PSNR = 10 log10(max(mse, eps) / max_val**2)

  The floor ``eps`` keeps identical images finite (PSNR is capped at
  ``10 log10(max_val**2 / eps)``, 100 dB by default), with a zero gradient
  there.

  Args:
    y_true: reference images ``[B, H, W, C]`` (or ``[B, C, H, W]``).
    y_pred: images of the same shape.
    max_val: the dynamic range of the pixel values.
    eps: the floor on the mean squared error, ``> 0``.
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.
    where: optional boolean mask of kept pixels; the mean runs over them
      (an image with none has ``mse = 0``).

  Returns:
    ``[B]`` losses (negative PSNR values).

  Raises:
    ValueError: for shapes that differ or ``max_val``/``eps`` not positive.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> jaxloss.psnr_loss(jnp.zeros((1, 2, 2, 1)), jnp.full((1, 2, 2, 1), 0.1))
    Array([-20.], dtype=float32)

  References:
    The PSNR of ``dm_pix.psnr`` and ``tf.image.psnr``, negated.
  """
  caller = "psnr_loss"
  validation.integer(caller, "channel_axis", channel_axis)
  validation.check_range(caller, "max_val", max_val, low=0.0, low_open=True)
  validation.check_range(caller, "eps", eps, low=0.0, low_open=True)
  t, p, mask, dt = _image_inputs(caller, y_true, y_pred, channel_axis, where)
  sq = jnp.square(p - t)
  if mask is None:
    mse = jnp.mean(sq, axis=(1, 2, 3))
  else:
    mse = numerics.safe_divide(
      jnp.sum(jnp.where(mask, sq, 0), axis=(1, 2, 3)),
      jnp.sum(mask, axis=(1, 2, 3)).astype(sq.dtype),
    )
  # maximum keeps a NaN; below eps the gradient is 0.
  floored = jnp.maximum(mse, jnp.asarray(eps, mse.dtype))
  scale = jnp.asarray(10 / math.log(10), sq.dtype)
  return (
    scale * (jnp.log(floored) - 2 * jnp.log(jnp.asarray(max_val, sq.dtype)))
  ).astype(dt)


# ----------------------------------------------------- gradient penalties


def _differences(x):
  """Forward differences ``[B, H, W-1, C]`` (columns), ``[B, H-1, W, C]``."""
  return x[:, :, 1:] - x[:, :, :-1], x[:, 1:] - x[:, :-1]


@scoped
def total_variation(
  y_pred: InputLike,
  *,
  kind: str = "anisotropic",
  channel_axis: int = -1,
) -> jax.Array:
  r"""Total variation of each image, summed over pixels and channels.

  With forward differences ``dx = x[i, j+1] - x[i, j]`` and
  ``dy = x[i+1, j] - x[i, j]`` (zero past the last column/row)::

    anisotropic:  TV = sum |dx| + |dy|
    isotropic:    TV = sum sqrt(dx^2 + dy^2)

  The anisotropic form is ``tf.image.total_variation``. The isotropic
  square root has a zero (not NaN) gradient where both differences are 0.

  Args:
    y_pred: images ``[B, H, W, C]`` (or ``[B, C, H, W]``).
    kind: ``"anisotropic"`` or ``"isotropic"``.
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.

  Returns:
    ``[B]`` total variations.

  Raises:
    ValueError: for an unknown ``kind`` or an input not of rank 4.

  Examples:
    >>> import jaxloss
    >>> x = [[[[0.0], [1.0]], [[1.0], [1.0]]]]  # [1, 2, 2, 1]
    >>> jaxloss.total_variation(x)
    Array([2.], dtype=float32)
    >>> jaxloss.total_variation(x, kind="isotropic")
    Array([1.4142135], dtype=float32)

  References:
    Rudin, Osher & Fatemi, "Nonlinear total variation based noise removal
    algorithms", Physica D 1992; ``tf.image.total_variation`` (anisotropic).
  """
  caller = "total_variation"
  validation.integer(caller, "channel_axis", channel_axis)
  if kind not in ("anisotropic", "isotropic"):
    raise ValueError(
      f"{caller}: kind must be 'anisotropic' or 'isotropic', got {kind!r}"
    )
  x = numerics.as_float(caller, "y_pred", y_pred)
  dt = x.dtype
  x = _channels_last(
    caller, x.astype(numerics.compute_dtype(dt)), channel_axis, "y_pred"
  )
  dx, dy = _differences(x)
  if kind == "anisotropic":
    tv = jnp.sum(jnp.abs(dx), axis=(1, 2, 3)) + jnp.sum(
      jnp.abs(dy), axis=(1, 2, 3)
    )
  else:
    dx = jnp.pad(dx, ((0, 0), (0, 0), (0, 1), (0, 0)))
    dy = jnp.pad(dy, ((0, 0), (0, 1), (0, 0), (0, 0)))
    tv = jnp.sum(
      numerics.safe_norm(jnp.stack([dx, dy], axis=-1), axis=-1), axis=(1, 2, 3)
    )
  return tv.astype(dt)


@scoped
def gradient_difference_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 1.0,
  channel_axis: int = -1,
) -> jax.Array:
  r"""Gradient difference loss (Mathieu et al. 2016), summed per image.

  With forward differences along rows and columns (see
  :func:`total_variation`)::

    loss = sum | |dy(t)| - |dy(p)| |^alpha + | |dx(t)| - |dx(p)| |^alpha

  It penalises edges the prediction blurs or invents, whatever their sign.
  The power has a zero (not infinite) derivative at 0 for ``alpha < 1``.

  Args:
    y_true: reference images ``[B, H, W, C]`` (or ``[B, C, H, W]``).
    y_pred: images of the same shape.
    alpha: the exponent, ``> 0`` (the paper uses 1 and 2).
    channel_axis: -1 for ``[B, H, W, C]``, 1 for ``[B, C, H, W]``.

  Returns:
    ``[B]`` losses.

  Raises:
    ValueError: for shapes that differ or ``alpha <= 0``.

  Examples:
    >>> import jaxloss
    >>> t = [[[[0.0], [1.0]], [[0.0], [1.0]]]]  # a vertical edge
    >>> jaxloss.gradient_difference_loss(t, [[[[0.5], [0.5]], [[0.5], [0.5]]]])
    Array([2.], dtype=float32)

  References:
    Mathieu, Couprie & LeCun, "Deep multi-scale video prediction beyond mean
    square error", ICLR 2016, eq. (5).
  """
  caller = "gradient_difference_loss"
  validation.integer(caller, "channel_axis", channel_axis)
  validation.check_range(caller, "alpha", alpha, low=0.0, low_open=True)
  t, p, _, dt = _image_inputs(caller, y_true, y_pred, channel_axis, None)
  total: jax.Array | int = 0
  for dt_, dp_ in zip(_differences(t), _differences(p), strict=True):
    diff = jnp.abs(jnp.abs(dt_) - jnp.abs(dp_))
    total = total + jnp.sum(numerics.safe_pow(diff, alpha), axis=(1, 2, 3))
  assert isinstance(total, jax.Array)  # _differences gives two differences
  return total.astype(dt)


@scoped
def charbonnier(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  eps: float | jax.Array = 1e-3,
  axis: int | Sequence[int] = -1,
  where: InputLike | None = None,
) -> jax.Array:
  """Charbonnier loss (a smooth L1), averaged over ``axis``.

  ::

    loss = mean_axis(sqrt((y_pred - y_true)^2 + eps^2))

  Differentiable everywhere, with gradient ``e / sqrt(e^2 + eps^2)``;
  ``eps = 0`` gives the L1 loss (gradient 0 at ``e = 0``).

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions of the same shape.
    eps: the smoothing scale, ``>= 0``.
    axis: the axis (or axes) averaged over; the default is Keras's event
      axis. Use ``(1, 2, 3)`` for one value per ``[B, H, W, C]`` image.
    where: optional boolean mask of kept entries (the shape of ``y_pred``);
      the mean runs over them, and an empty one gives 0.

  Returns:
    Losses with ``axis`` removed.

  Raises:
    ValueError: for shapes that differ, ``eps < 0`` or a bad ``axis``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.charbonnier([[0.0, 0.0]], [[0.3, 0.4]], eps=0.4)
    Array([0.53284276], dtype=float32)

  References:
    Charbonnier, Blanc-Feraud, Aubert & Barlaud, "Two deterministic
    half-quadratic regularization algorithms for computed imaging",
    ICIP 1994; Lai et al., "Deep Laplacian pyramid networks" (LapSRN),
    CVPR 2017, eq. (2).
  """
  caller = "charbonnier"
  validation.axis(caller, axis, sequence=True)
  validation.check_range(caller, "eps", eps, low=0.0)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  axes = shapes.canonical_axes(caller, axis, p.ndim)
  e = p - t
  mask = None
  if where is not None:
    mask = numerics.as_array(caller, "where", where)
    if mask.dtype != jnp.bool_:
      raise TypeError(
        f"{caller}: where must be a boolean mask, got {mask.dtype}"
      )
    shapes.check_same_shape(caller, y_pred=p, where=mask)
    e = jnp.where(mask, e, 0)
  sq = jnp.square(e) + jnp.asarray(eps, e.dtype) ** 2
  zero = sq == 0  # only with eps = 0; a NaN stays NaN
  value = jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, sq)))
  if mask is None:
    return jnp.mean(value, axis=axes).astype(dt)
  return numerics.safe_divide(
    jnp.sum(jnp.where(mask, value, 0), axis=axes),
    jnp.sum(mask, axis=axes).astype(value.dtype),
  ).astype(dt)


# ----------------------------------------------------- feature matching


@scoped
def feature_matching_loss(
  features_true: Any,
  features_pred: Any,
  *,
  layer_weights: Sequence[InputLike] | None = None,
  normalize: bool = True,
  distance: str = "l2",
  channel_axis: int = -1,
  eps: float | jax.Array = 1e-10,
) -> jax.Array:
  r"""Perceptual (feature-matching) loss over the caller's feature maps.

  ``features_true`` and ``features_pred`` are pytrees of the same structure
  (a list of layers, a dict, one array) whose leaves are feature maps
  ``[B, ..., C]`` from any network, e.g. a frozen VGG or a discriminator.
  For each leaf ``l``, with LPIPS's unit normalisation over channels
  ``f_hat = f / (||f||_C + eps)`` (when ``normalize``)::

    d_l = mean_positions( sum_c w_lc |f_hat_t - f_hat_p|_c^q )

  with ``q = 2`` (``distance="l2"``) or ``1`` (``"l1"``), and
  ``loss = sum_l d_l``. ``w_l`` is the leaf's entry of ``layer_weights``:
  a scalar layer weight, or a ``[C]`` vector of per-channel weights (the
  learned linear layer of LPIPS, which the caller supplies: nothing is
  downloaded). A zero feature vector normalises to 0 with a finite gradient.

  Args:
    features_true: pytree of feature maps ``[B, ..., C]`` of the target.
    features_pred: pytree of the same structure and shapes.
    layer_weights: None (every weight 1), or one weight per leaf in
      ``jax.tree_util.tree_leaves`` order, each a number or a sequence of
      ``C`` numbers.
    normalize: unit-normalise each feature vector over channels (LPIPS).
    distance: ``"l2"`` (squared differences, LPIPS) or ``"l1"``.
    channel_axis: the channel axis of every leaf.
    eps: added to the channel norm in the normalisation.

  Returns:
    ``[B]`` losses.

  Raises:
    ValueError: for structures or shapes that differ, a wrong number of
      layer weights, a per-channel weight of the wrong length, or an
      unknown ``distance``.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> f = [jnp.ones((2, 4, 4, 8)), jnp.ones((2, 2, 2, 16))]
    >>> g = [jnp.ones((2, 4, 4, 8)), -jnp.ones((2, 2, 2, 16))]
    >>> jaxloss.feature_matching_loss(f, g, layer_weights=(1.0, 0.5))
    Array([2., 2.], dtype=float32)

  References:
    Zhang, Isola, Efros, Shechtman & Wang, "The unreasonable effectiveness
    of deep features as a perceptual metric" (LPIPS), CVPR 2018, eq. (1);
    Johnson, Alahi & Fei-Fei, "Perceptual losses for real-time style
    transfer and super-resolution", ECCV 2016.
  """
  caller = "feature_matching_loss"
  validation.flag(caller, "normalize", normalize)
  validation.integer(caller, "channel_axis", channel_axis)
  validation.choice(caller, "distance", distance, ("l1", "l2"))
  validation.check_range(caller, "eps", eps, low=0.0)
  leaves_t, tree_t = jax.tree_util.tree_flatten(features_true)
  leaves_p, tree_p = jax.tree_util.tree_flatten(features_pred)
  if tree_t != tree_p:
    raise ValueError(
      f"{caller}: features_true and features_pred must have the same pytree "
      f"structure, got {tree_t} and {tree_p}"
    )
  if not leaves_p:
    raise ValueError(
      f"{caller}: features_pred must hold at least one feature "
      f"map, got an empty pytree"
    )
  if layer_weights is None:
    layer_weights = (1.0,) * len(leaves_p)
  if not isinstance(layer_weights, (tuple, list)) or len(layer_weights) != len(
    leaves_p
  ):
    raise ValueError(
      f"{caller}: layer_weights must hold one weight per feature map "
      f"({len(leaves_p)}), got {layer_weights!r}"
    )
  total = None
  out_dtype = None
  for i, (ft, fp, w) in enumerate(
    zip(leaves_t, leaves_p, layer_weights, strict=True)
  ):
    t, p, dt = numerics.prediction_and_target(caller, ft, fp)
    out_dtype = dt if out_dtype is None else jnp.promote_types(out_dtype, dt)
    shapes.check_same_shape(
      caller, **{f"features_true[{i}]": t, f"features_pred[{i}]": p}
    )
    shapes.check_min_rank(caller, f"features_pred[{i}]", p, 2)
    axis = shapes.canonical_axis(caller, channel_axis, p.ndim, "channel_axis")
    if axis == 0:
      raise ValueError(
        f"{caller}: channel_axis must not be the batch axis, got {channel_axis}"
      )
    t = jnp.moveaxis(t, axis, -1)
    p = jnp.moveaxis(p, axis, -1)
    if normalize:
      t = numerics.l2_normalize(t, eps=eps, eps_on="sum")
      p = numerics.l2_normalize(p, eps=eps, eps_on="sum")
    d = p - t
    d = jnp.square(d) if distance == "l2" else jnp.abs(d)
    w = np.asarray(w, np.float64)
    if w.ndim not in (0, 1) or (w.ndim == 1 and w.shape[0] != p.shape[-1]):
      raise ValueError(
        f"{caller}: layer_weights[{i}] must be a number or {p.shape[-1]} "
        f"per-channel weights, got shape {w.shape}"
      )
    w = jnp.asarray(w, d.dtype)
    if w.ndim:
      w = w.reshape((1,) * (d.ndim - 1) + w.shape)
    per_position = jnp.sum(d * w, axis=-1)
    # Flatten every non-batch axis (an explicit size: an empty batch has
    # no -1 to infer).
    positions = int(np.prod(per_position.shape[1:]))
    value = jnp.mean(per_position.reshape(p.shape[0], positions), axis=-1)
    total = value if total is None else total + value
  assert total is not None  # features_pred is non-empty
  return total.astype(out_dtype)


class SSIMLoss(Loss, fn=ssim_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.ssim_loss`."""

  max_val: float | jax.Array | tuple[float, float] | str = 1.0
  filter_size: int = 11
  filter_sigma: float = 1.5
  k1: float | jax.Array = 0.01
  k2: float | jax.Array = 0.03
  channel_axis: int = -1
  padding: str = "valid"
  window: str | Sequence[float] = "gaussian"
  nonnegative_ssim: bool = False


class MSSSIMLoss(Loss, fn=ms_ssim_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.ms_ssim_loss`."""

  max_val: float | jax.Array = 1.0
  filter_size: int = 11
  filter_sigma: float = 1.5
  k1: float | jax.Array = 0.01
  k2: float | jax.Array = 0.03
  power_factors: Sequence[float] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
  channel_axis: int = -1
  normalize: str = "relu"


class MSSSIML1Loss(Loss, fn=ms_ssim_l1_loss):
  """Loss object for :func:`jaxloss.ms_ssim_l1_loss`."""

  sigmas: Sequence[float] = MS_SSIM_L1_SIGMAS
  max_val: float = 1.0
  k1: float = 0.01
  k2: float = 0.03
  alpha: float = 0.025
  compensation: float = 200.0
  channel_axis: int = -1


class PSNRLoss(Loss, fn=psnr_loss, exclude=("where",)):
  """Loss object for :func:`jaxloss.psnr_loss`."""

  max_val: float | jax.Array = 1.0
  eps: float | jax.Array = 1e-10
  channel_axis: int = -1


class TotalVariation(Loss, fn=total_variation):
  """Loss object for :func:`jaxloss.total_variation`."""

  kind: str = "anisotropic"
  channel_axis: int = -1


class GradientDifferenceLoss(Loss, fn=gradient_difference_loss):
  """Loss object for :func:`jaxloss.gradient_difference_loss`."""

  alpha: float | jax.Array = 1.0
  channel_axis: int = -1


class Charbonnier(Loss, fn=charbonnier, exclude=("where",)):
  """Loss object for :func:`jaxloss.charbonnier`."""

  eps: float | jax.Array = 0.001
  axis: int | Sequence[int] = -1


class FeatureMatchingLoss(Loss, fn=feature_matching_loss):
  """Loss object for :func:`jaxloss.feature_matching_loss`."""

  layer_weights: Sequence[InputLike] | None = None
  normalize: bool = True
  distance: str = "l2"
  channel_axis: int = -1
  eps: float | jax.Array = 1e-10
