"""Regression losses: the Keras 3 family (MSE, MAE, MAPE, MSLE, cosine
similarity, Huber, log-cosh) and the robust ones (smooth L1, pinball or
quantile, Barron's general robust loss).

Huber and log-cosh have one element-wise kernel each
(:func:`huber_elementwise`, :func:`log_cosh_elementwise`), shared by the
Keras forms here and the optax forms in ``jaxloss.optax``; smooth L1 is
Huber rescaled (``huber(delta=beta) / beta``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# ----------------------------------------------------------------------------
# Keras 3 regression losses: MSE, MAE, MAPE, MSLE, cosine, Huber, log-cosh.


def _mean_last(x, out_dtype):
  return jnp.mean(x, axis=-1).astype(out_dtype)


@scoped
def mean_squared_error(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Mean squared error over the last axis.

  ``loss = mean((y_true - y_pred) ** 2, axis=-1)``

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.

  Returns:
    Per-sample losses ``[...]``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
    Array([0.5], dtype=float32)

  References:
    Keras 3 ``keras.losses.mean_squared_error``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "mean_squared_error", y_true, y_pred, min_rank=1
  )
  return _mean_last(jnp.square(t - p), dt)


@scoped
def mean_absolute_error(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Mean absolute error over the last axis.

  ``loss = mean(abs(y_true - y_pred), axis=-1)``

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.mean_absolute_error([[0.0, 1.0]], [[1.0, 3.0]])
    Array([1.5], dtype=float32)

  References:
    Keras 3 ``keras.losses.mean_absolute_error``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "mean_absolute_error", y_true, y_pred, min_rank=1
  )
  return _mean_last(jnp.abs(t - p), dt)


@scoped
def mean_absolute_percentage_error(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Mean absolute percentage error over the last axis.

  ``loss = 100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), -1)``
  with ``eps = 1e-7`` (Keras's epsilon).

  Args:
    y_true: targets ``[..., d]`` (0 is floored at ``eps``).
    y_pred: predictions ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> jaxloss.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 5.0]])
    Array([37.5], dtype=float32)

  References:
    Keras 3 ``keras.losses.mean_absolute_percentage_error``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "mean_absolute_percentage_error", y_true, y_pred, min_rank=1
  )
  diff = jnp.abs((t - p) / jnp.maximum(jnp.abs(t), numerics.EPSILON))
  return (100.0 * jnp.mean(diff, axis=-1)).astype(dt)


@scoped
def mean_squared_logarithmic_error(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Mean squared logarithmic error over the last axis.

  ``loss = mean((log1p(max(y_pred, eps)) - log1p(max(y_true, eps))) ** 2, -1)``
  with ``eps = 1e-7``, as in Keras.

  Args:
    y_true: non-negative targets ``[..., d]``.
    y_pred: non-negative predictions ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> round(float(jaxloss.mean_squared_logarithmic_error(
    ...     [[0.0, 0.0]], [[1.0, 1.0]])[0]), 4)
    0.4805

  References:
    Keras 3 ``keras.losses.mean_squared_logarithmic_error``.
  """
  t, p, dt = shapes.elementwise_inputs(
    "mean_squared_logarithmic_error", y_true, y_pred, min_rank=1
  )
  first = jnp.log1p(jnp.maximum(p, numerics.EPSILON))
  second = jnp.log1p(jnp.maximum(t, numerics.EPSILON))
  return _mean_last(jnp.square(first - second), dt)


@scoped
def cosine_similarity(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  axis: int = -1,
) -> jax.Array:
  """Negative cosine similarity along ``axis``.

  ``loss = -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` where
  ``l2_normalize(x) = x / max(||x||, 1e-7)`` (Keras). A zero vector gives 0,
  with a finite gradient (Keras's gradient there is NaN).

  Args:
    y_true: target vectors ``[..., d, ...]``.
    y_pred: predicted vectors, shape of ``y_true``.
    axis: the axis along which the vectors lie.

  Returns:
    Per-sample losses: the inputs' shape without ``axis``, in [-1, 1].

  Examples:
    >>> import jaxloss
    >>> jaxloss.cosine_similarity([[0.0, 1.0], [1.0, 1.0]],
    ...                           [[1.0, 0.0], [1.0, 1.0]])
    Array([-0.       , -0.9999999], dtype=float32)

  References:
    Keras 3 ``keras.losses.cosine_similarity``.
  """
  caller = "cosine_similarity"
  validation.axis(caller, axis)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  axis = shapes.canonical_axis(caller, axis, t.ndim)
  t = numerics.l2_normalize(t, axis)
  p = numerics.l2_normalize(p, axis)
  return (-jnp.sum(t * p, axis=axis)).astype(dt)


@scoped
def huber(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  delta: float | jax.Array = 1.0,
) -> jax.Array:
  """Huber loss, averaged over the last axis.

  With ``e = y_pred - y_true``:
  ``0.5 * e**2`` if ``|e| <= delta`` else ``delta * |e| - 0.5 * delta**2``.

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.
    delta: the error at which the loss turns from quadratic to linear, > 0.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Raises:
    ValueError: if ``delta <= 0``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.huber([[0.0, 0.0]], [[0.5, 3.0]], delta=1.0)
    Array([1.3125], dtype=float32)

  References:
    Huber, "Robust Estimation of a Location Parameter", Annals of
    Mathematical Statistics 35(1), 1964; Keras 3 ``keras.losses.huber``.
  """
  caller = "huber"
  validation.check_range(caller, "delta", delta, low=0, low_open=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  return _mean_last(huber_elementwise(p - t, delta), dt)


@scoped
def log_cosh(
  y_true: InputLike,
  y_pred: InputLike,
) -> jax.Array:
  """Log of the hyperbolic cosine of the error, averaged over the last axis.

  ``loss = mean(log(cosh(x)))`` with ``x = y_pred - y_true``, computed as
  ``logaddexp(x, -x) - log(2)`` (Keras writes ``x + softplus(-2x) - log(2)``,
  the same function), which never overflows.

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.

  Returns:
    Per-sample losses ``[...]`` (the last axis reduced).

  Examples:
    >>> import jaxloss
    >>> round(float(jaxloss.log_cosh([[0.0]], [[1.0]])[0]), 5)
    0.43378

  References:
    Keras 3 ``keras.losses.log_cosh``.
  """
  return _mean_last(*_log_cosh_terms(y_true, y_pred))


def _log_cosh_terms(y_true, y_pred):
  t, p, dt = shapes.elementwise_inputs("log_cosh", y_true, y_pred, min_rank=1)
  return log_cosh_elementwise(p - t), dt


def huber_elementwise(err, delta):
  """Element-wise Huber of an error ``err`` (no reduction, no checks)."""
  abs_err = jnp.abs(err)
  quadratic = 0.5 * jnp.square(err)
  linear = delta * abs_err - 0.5 * delta * delta
  return jnp.where(abs_err <= delta, quadratic, linear)


def log_cosh_elementwise(x):
  """Element-wise ``log(cosh(x)) = logaddexp(x, -x) - log(2)``.

  The same function as Keras's ``x + softplus(-2x) - log(2)``, never
  overflowing; ``logaddexp``'s own derivative rule makes value_and_grad
  about 20% faster on CPU than differentiating the softplus form.
  """
  return jnp.logaddexp(x, -x) - jnp.log(2.0).astype(x.dtype)


class MeanSquaredError(Loss, fn=mean_squared_error, aliases=("mse", "MSE")):
  """Loss object for :func:`jaxloss.mean_squared_error`."""


class MeanAbsoluteError(Loss, fn=mean_absolute_error, aliases=("mae", "MAE")):
  """Loss object for :func:`jaxloss.mean_absolute_error`."""


class MeanAbsolutePercentageError(
  Loss, fn=mean_absolute_percentage_error, aliases=("mape", "MAPE")
):
  """Loss object for :func:`jaxloss.mean_absolute_percentage_error`."""


class MeanSquaredLogarithmicError(
  Loss, fn=mean_squared_logarithmic_error, aliases=("msle", "MSLE")
):
  """Loss object for :func:`jaxloss.mean_squared_logarithmic_error`."""


class CosineSimilarity(Loss, fn=cosine_similarity):
  """Loss object for :func:`jaxloss.cosine_similarity`."""

  axis: int = -1


class Huber(Loss, fn=huber, default_name="huber_loss"):
  """Loss object for :func:`jaxloss.huber`."""

  delta: float | jax.Array = 1.0


class LogCosh(
  Loss, fn=log_cosh, aliases=("logcosh",), mean_terms=_log_cosh_terms
):
  """Loss object for :func:`jaxloss.log_cosh`."""


# ----------------------------------------------------------------------------
# Robust regression losses: smooth L1, pinball (quantile), Barron's loss.


@scoped
def smooth_l1(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  beta: float | jax.Array = 1.0,
) -> jax.Array:
  """Smooth L1 loss, PyTorch's ``SmoothL1Loss``, averaged over the last axis.

  With ``e = |y_pred - y_true|``::

    loss = mean(0.5 e**2 / beta  if e < beta  else  e - 0.5 beta)

  ``beta = 0`` gives the L1 loss. (Huber with ``delta = beta`` equals
  ``beta * smooth_l1``.)

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.
    beta: the switch point, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``beta < 0`` or shapes that differ.

  Examples:
    >>> import jaxloss
    >>> jaxloss.smooth_l1([[0.0, 0.0]], [[0.5, 3.0]])
    Array([1.3125], dtype=float32)

  References:
    Girshick, "Fast R-CNN", ICCV 2015, eq. (3); PyTorch 2.13
    ``torch.nn.SmoothL1Loss``.
  """
  caller = "smooth_l1"
  validation.check_range(caller, "beta", beta, low=0.0)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  e = jnp.abs(p - t)
  small = e < beta
  quad = numerics.safe_divide(
    0.5 * jnp.square(jnp.where(small, e, 0)), jnp.asarray(beta, e.dtype)
  )
  loss = jnp.where(small, quad, e - 0.5 * beta)
  return jnp.mean(loss, axis=-1).astype(dt)


@scoped
def pinball(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  tau: float | jax.Array = 0.5,
) -> jax.Array:
  """Pinball (quantile) loss, averaged over the last axis.

  With ``r = y_true - y_pred``::

    loss = mean(max(tau r, (tau - 1) r))

  Its minimiser is the ``tau``-quantile; ``tau = 0.5`` is half the MAE.

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predicted quantiles ``[..., d]``.
    tau: the quantile level, in [0, 1] (a scalar, or an array broadcasting
      against the last axis for several quantiles at once).

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for ``tau`` outside [0, 1] or shapes that differ.

  Examples:
    >>> import jaxloss
    >>> jaxloss.pinball([[1.0, 1.0]], [[0.0, 2.0]], tau=0.9)
    Array([0.5], dtype=float32)

  References:
    Koenker & Bassett, "Regression Quantiles", Econometrica 46(1), 1978,
    eq. (1.3).
  """
  caller = "pinball"
  validation.check_range(caller, "tau", tau, 0.0, 1.0)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  tau = _broadcast_param(caller, "tau", tau, p)
  r = t - p
  return jnp.mean(jnp.maximum(tau * r, (tau - 1) * r), axis=-1).astype(dt)


def _broadcast_param(caller, name, value, x):
  """A scalar or array hyper-parameter, broadcast to ``x`` (trailing axes)."""
  v = jnp.asarray(value)
  if not jnp.issubdtype(v.dtype, jnp.floating):
    v = v.astype(x.dtype)
  try:
    shape = jnp.broadcast_shapes(v.shape, x.shape)
  except ValueError:
    shape = None
  if shape != x.shape:
    raise ValueError(
      f"{caller}: {name} must broadcast against the inputs of shape "
      f"{tuple(x.shape)} (trailing axes), got {name}.shape="
      f"{tuple(v.shape)}"
    )
  return jnp.broadcast_to(v.astype(x.dtype), x.shape)


# Below this |u| the Taylor series of expm1(u)/u is used (value and
# derivatives accurate in float32 and float64; see _expm1_over).
_TAYLOR_U = 1e-2
# Above this u, b * expm1(u) is computed as exp(log b + u) (no overflow).
_BIG_U = 40.0


def _expm1_over(u):
  """``expm1(u) / u`` for ``|u| <= _TAYLOR_U`` (the series to ``u**4``)."""
  return 1 + u * (1 / 2 + u * (1 / 6 + u * (1 / 24 + u / 120)))


def barron_general(z, alpha, b):
  """``b / alpha * ((1 + s / b) ** (alpha / 2) - 1)`` for finite ``alpha``.

  ``z = x / c``, ``s = z**2`` and ``b = max(|alpha - 2|, eps) > 0``. Written as
  ``b / alpha * expm1(u)`` with ``u = alpha / 2 * log1p(s / b)``: smooth in
  ``alpha`` through 0 (series branch), overflow-free for large ``s`` (log
  space) and never evaluating ``0 / 0`` in any branch.
  """
  # L = log1p(s / b), with s / b formed only when it is <= 1.
  # log s = 2 log |z| in the large branch, so that s never overflows.
  small_s = jnp.square(z) <= b
  z_lo = jnp.where(small_s, z, 0)
  z_hi = jnp.where(small_s, 1, z)
  big_l = jnp.where(
    small_s,
    jnp.log1p(jnp.square(z_lo) / b),
    jax.nn.softplus(2 * jnp.log(jnp.abs(z_hi)) - jnp.log(b)),
  )
  u = 0.5 * alpha * big_l
  taylor = jnp.abs(u) <= _TAYLOR_U
  mid = ~taylor & (u <= _BIG_U)
  u_t = jnp.clip(u, -_TAYLOR_U, _TAYLOR_U)
  u_m = jnp.minimum(u, _BIG_U)
  u_b = jnp.maximum(u, _BIG_U)
  alpha_safe = jnp.where(taylor, 1, alpha)
  v_taylor = b * 0.5 * big_l * _expm1_over(u_t)
  v_mid = b * jnp.expm1(u_m) / alpha_safe
  v_big = jnp.exp(jnp.log(b) + u_b) / alpha_safe
  return jnp.where(taylor, v_taylor, jnp.where(mid, v_mid, v_big))


@scoped
def robust_loss(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 1.0,
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  r"""Barron's general and adaptive robust loss, averaged over the last axis.

  With ``x = y_pred - y_true``, ``s = (x / scale)**2`` (Barron 2019, eq. 1)::

    rho = |alpha - 2| / alpha * ((s / |alpha - 2| + 1) ** (alpha / 2) - 1)

  and its limits (eq. 8): ``alpha = 2``: ``s / 2`` (L2); ``alpha = 0``:
  ``log(s / 2 + 1)`` (Cauchy / Lorentzian); ``alpha = -inf``:
  ``1 - exp(-s / 2)`` (Welsch); ``alpha = +inf``: ``exp(s / 2) - 1``.
  ``alpha = 1`` is the pseudo-Huber / Charbonnier loss ``sqrt(s + 1) - 1``
  and ``alpha = -2`` is Geman-McClure ``2 s / (s + 4)``.

  Every real ``alpha`` uses one smooth formula,
  ``b / alpha * expm1(alpha / 2 * log1p(s / b))`` with
  ``b = max(|alpha - 2|, eps)`` (``eps`` the machine epsilon of the compute
  dtype, as in Barron's reference code): it is exact at ``alpha = 0``
  (through a series for ``expm1(u) / u``), stable near 0 and 2, and
  overflow-free for large residuals (``log1p(s / b)`` in log space). At
  ``alpha = 2`` the value is ``s / 2`` exactly. ``alpha`` and ``scale`` may
  be traced arrays (learnable parameters): the loss is differentiable in
  both. The ``alpha``-derivative diverges logarithmically at ``alpha = 2``;
  there the finite derivative of the ``eps``-clamped formula is returned.

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.
    alpha: shape parameter in ``[-inf, inf]``: a scalar, or an array
      broadcasting against ``[..., d]`` from the trailing axes (e.g. one
      ``alpha`` per output dimension, ``[d]``).
    scale: ``c > 0``, the width of the quadratic bowl near 0; a scalar or an
      array like ``alpha``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for a concrete ``scale <= 0``, or shapes that do not fit.

  Examples:
    >>> import jaxloss
    >>> x = [[0.0, 0.0, 0.0]]
    >>> jaxloss.robust_loss(x, [[1.0, 2.0, 3.0]], alpha=2.0)
    Array([2.3333335], dtype=float32)
    >>> jaxloss.robust_loss(x, [[1.0, 2.0, 3.0]], alpha=0.0)
    Array([1.0696086], dtype=float32)

  References:
    Barron, "A General and Adaptive Robust Loss Function", CVPR 2019,
    eqs. (1) and (8).
  """
  caller = "robust_loss"
  validation.number(caller, "alpha", alpha)
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  t, p, dt = shapes.elementwise_inputs(caller, y_true, y_pred, min_rank=1)
  alpha = _broadcast_param(caller, "alpha", alpha, p)
  scale = _broadcast_param(caller, "scale", scale, p)
  z = (p - t) / scale
  s = jnp.square(z)
  # NaN alpha takes the general branch, so that NaN propagates to the value.
  finite = ~jnp.isinf(alpha)
  a = jnp.where(finite, alpha, 1)
  b = jnp.maximum(jnp.abs(a - 2), jnp.finfo(p.dtype).eps)
  general = barron_general(z, a, b)
  # Exact value at alpha = 2; derivatives from the general formula.
  exact_two = (a == 2) & jnp.isfinite(s)
  general = jnp.where(
    exact_two, general + jax.lax.stop_gradient(0.5 * s - general), general
  )
  s_neg = jnp.where(alpha == -jnp.inf, s, 0)
  s_pos = jnp.where(alpha == jnp.inf, s, 0)
  rho = jnp.where(
    finite,
    general,
    jnp.where(alpha > 0, jnp.expm1(0.5 * s_pos), -jnp.expm1(-0.5 * s_neg)),
  )
  return jnp.mean(rho, axis=-1).astype(dt)


class SmoothL1Loss(Loss, fn=smooth_l1):
  """Loss object for :func:`jaxloss.smooth_l1`."""

  beta: float | jax.Array = 1.0


class PinballLoss(Loss, fn=pinball):
  """Loss object for :func:`jaxloss.pinball`."""

  tau: float | jax.Array = 0.5


class RobustLoss(Loss, fn=robust_loss):
  """Loss object for :func:`jaxloss.robust_loss`."""

  alpha: float | jax.Array = 1.0
  scale: float | jax.Array = 1.0
