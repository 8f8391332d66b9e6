"""Distributional and probabilistic losses: proper scoring rules and
two-sample distances.

* ``crps_ensemble`` (standard and fair estimators), ``crps_gaussian`` and
  ``crps_logistic`` (closed forms): the continuous ranked probability score.
* ``energy_score``: the multivariate generalisation of the CRPS.
* ``mmd`` (Gaussian and multi-scale kernels, biased and unbiased) and
  ``energy_distance``: distances between two samples, summed over pairs in
  tiles so that memory does not grow with ``N x M``.
* ``mdn_nll`` (Gaussian mixture density network) and
  ``evidential_regression`` (Normal-Inverse-Gamma evidence).
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

_LOG_2PI = math.log(2 * math.pi)


def _safe_sqrt(x):
  """``sqrt(x)`` for ``x >= 0`` with a zero (not infinite) gradient at 0."""
  zero = x == 0  # NaN is not 0: it propagates
  return jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, x)))


def _lead(x, nbatch):
  """``x`` with ``nbatch`` leading size-1 axes (explicit rank promotion)."""
  return jnp.reshape(x, (1,) * nbatch + x.shape)


# ------------------------------------------------------- tiled pair sums


def _sq_dist(x, y):
  """Squared distances ``[..., n, m]`` by explicit differences (exact 0 for
  equal points, no ``|x|^2 + |y|^2 - 2 x.y`` cancellation)."""
  diff = x[..., :, None, :] - y[..., None, :, :]
  return jnp.sum(jnp.square(diff), axis=-1)


def _blocks(x, tile):
  """``[..., n, d]`` -> blocks ``[nb, ..., tile, d]``, mask ``[nb, tile]``."""
  n = x.shape[-2]
  nb = -(-n // tile)
  pad = nb * tile - n
  if pad:
    widths = [(0, 0)] * (x.ndim - 2) + [(0, pad), (0, 0)]
    x = jnp.pad(x, widths)
  x = jnp.reshape(x, x.shape[:-2] + (nb, tile, x.shape[-1]))
  x = jnp.moveaxis(x, -3, 0)
  mask = (jnp.arange(nb * tile) < n).reshape(nb, tile)
  return x, mask


def pair_sum(x, y, kernel, tile_size):
  """``sum_ij kernel(|x_i - y_j|^2)`` for ``x [..., n, d]``, ``y [..., m, d]``.

  Up to ``tile_size`` rows of each input at a time: the ``[n, m]`` matrix is
  never formed. Each tile is rematerialised in the backward pass
  (``jax.checkpoint``), so the memory of value and gradient is
  ``O((n + m) d + tile_size^2 d)``.
  """
  n, m = x.shape[-2], y.shape[-2]
  if n <= tile_size and m <= tile_size:
    return jnp.sum(kernel(_sq_dist(x, y)), axis=(-2, -1))
  nbatch = x.ndim - 2
  xb, xmask = _blocks(x, min(tile_size, n))
  yb, ymask = _blocks(y, min(tile_size, m))

  @jax.checkpoint
  def tile(xi, mi, yj, mj):
    mask = _lead(mi[:, None] & mj[None, :], nbatch)
    values = jnp.where(mask, kernel(_sq_dist(xi, yj)), 0)
    return jnp.sum(values, axis=(-2, -1))

  @jax.checkpoint
  def row(acc, xs):
    xi, mi = xs

    def col(acc2, ys):
      yj, mj = ys
      return acc2 + tile(xi, mi, yj, mj), None

    acc, _ = jax.lax.scan(col, acc, (yb, ymask))
    return acc, None

  acc = jnp.zeros(x.shape[:-2], x.dtype)
  acc, _ = jax.lax.scan(row, acc, (xb, xmask))
  return acc


def _two_samples(caller, y_true, y_pred):
  (x, y), dt = numerics.floats(caller, y_true=y_true, y_pred=y_pred)
  shapes.check_min_rank(caller, "y_true", x, 2)
  shapes.check_min_rank(caller, "y_pred", y, 2)
  if x.shape[:-2] != y.shape[:-2] or x.shape[-1] != y.shape[-1]:
    raise ValueError(
      f"{caller}: y_true [..., N, D] and y_pred [..., M, D] must share their "
      f"leading axes and D, got y_true.shape={tuple(x.shape)} and "
      f"y_pred.shape={tuple(y.shape)}"
    )
  return x, y, dt


def _self_and_cross(x, y, kernel, tile_size):
  return (
    pair_sum(x, x, kernel, tile_size),
    pair_sum(y, y, kernel, tile_size),
    pair_sum(x, y, kernel, tile_size),
  )


def _check_estimator(caller, estimator, n, m):
  validation.choice(caller, "estimator", estimator, ("biased", "unbiased"))
  if estimator == "unbiased" and min(n, m) < 2:
    raise ValueError(
      f"{caller}: estimator='unbiased' needs at least 2 samples on each side, "
      f"got N={n} and M={m}"
    )


# -------------------------------------------------------------------- CRPS


@scoped
def crps_ensemble(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  fair: bool = False,
) -> jax.Array:
  """Continuous ranked probability score of an ensemble forecast.

  With ``M`` members ``x_i`` (the last axis of ``y_pred``) and observation
  ``y``::

    crps = mean_i |x_i - y| - sum_ij |x_i - x_j| / (2 M^2)          (standard)
    crps = mean_i |x_i - y| - sum_ij |x_i - x_j| / (2 M (M - 1))    (fair)

  The standard form is the CRPS of the ensemble's empirical distribution
  (``properscoring.crps_ensemble``); the fair form is its unbiased
  estimate for the distribution the members are drawn from (Ferro 2014).
  The pair sum is computed from the sorted members,
  ``sum_ij |x_i - x_j| = 2 sum_k (2k - M - 1) x_(k)``, in ``O(M log M)``.

  Args:
    y_true: observations ``[...]`` (or ``[..., 1]``).
    y_pred: ensemble members ``[..., M]``.
    fair: use the fair (unbiased) estimator; needs ``M >= 2``.

  Returns:
    Scores ``[...]``, the shape of ``y_true`` (one per forecast).

  Raises:
    ValueError: for shapes that do not fit, or ``fair`` with ``M < 2``.
    TypeError: for a non-bool ``fair`` or an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.crps_ensemble([0.0, 1.0], [[0.0, 1.0], [0.0, 1.0]])
    Array([0.25, 0.25], dtype=float32)

  References:
    Gneiting & Raftery, "Strictly Proper Scoring Rules, Prediction, and
    Estimation", JASA 102, 2007, eq. (21); Ferro, "Fair scores for
    ensemble forecasts", QJRMS 140, 2014; properscoring 0.1
    ``crps_ensemble``.
  """
  caller = "crps_ensemble"
  validation.flag(caller, "fair", fair)
  x = numerics.as_float(caller, "y_pred", y_pred)
  y = numerics.as_array(caller, "y_true", y_true)
  shapes.check_min_rank(caller, "y_pred", x, 1)
  if y.ndim == x.ndim and y.ndim and y.shape[-1] == 1:
    y = jnp.squeeze(y, -1)
  if y.shape != x.shape[:-1]:
    raise ValueError(
      f"{caller}: y_true must have the shape of y_pred without its ensemble "
      f"axis, got y_true.shape={tuple(y.shape)} and "
      f"y_pred.shape={tuple(x.shape)}"
    )
  m = x.shape[-1]
  if fair and m < 2:
    raise ValueError(f"{caller}: fair=True needs M >= 2 members, got M={m}")
  dt = x.dtype
  if jnp.issubdtype(y.dtype, jnp.floating):
    dt = jnp.promote_types(dt, y.dtype)
  cdt = numerics.compute_dtype(dt)
  x, y = x.astype(cdt), y.astype(cdt)
  skill = jnp.mean(jnp.abs(x - y[..., None]), axis=-1)
  k = jnp.arange(1, m + 1, dtype=cdt)
  w = _lead(2 * k - m - 1, x.ndim - 1)
  pairs = 2 * jnp.sum(jnp.sort(x, axis=-1) * w, axis=-1)
  spread = pairs / (2 * m * (m - 1) if fair else 2 * m * m)
  return (skill - spread).astype(dt)


def _location_scale(caller, y_true, loc, scale, names):
  (mu, s), dt = numerics.floats(caller, **{names[0]: loc, names[1]: scale})
  shapes.check_same_shape(caller, **{names[0]: mu, names[1]: s})
  y = numerics.as_array(caller, "y_true", y_true)
  if jnp.issubdtype(y.dtype, jnp.floating):
    dt = jnp.promote_types(dt, y.dtype)
  cdt = numerics.compute_dtype(dt)
  y, mu, s = y.astype(cdt), mu.astype(cdt), s.astype(cdt)
  y, mu = shapes.match_ranks(caller, y, mu, names=("y_true", names[0]))
  return y, mu, jnp.reshape(s, mu.shape), dt


def _scale_split(s):
  """``(regular, safe_s)``: scales large enough for the closed form.

  Below ``sqrt(tiny)`` of the dtype (1e-19 in float32) the scale-0 limit is
  used instead (it differs by less than the scale), so that ``1 / s^2`` in
  the gradient stays finite.
  """
  regular = s > math.sqrt(jnp.finfo(s.dtype).tiny)
  return regular, jnp.where(regular, s, 1)


def _degenerate(regular, value, y, mu, s):
  """The scale-0 limit ``|y - mu|``; NaN for a negative (or NaN) scale."""
  return jnp.where(regular, value, jnp.where(s >= 0, jnp.abs(y - mu), jnp.nan))


@scoped
def crps_gaussian(
  y_true: InputLike,
  mean: InputLike,
  std: InputLike,
) -> jax.Array:
  """CRPS of a Gaussian predictive distribution, in closed form.

  With ``z = (y - mean) / std``, ``Phi`` and ``phi`` the standard normal
  CDF and density::

    crps = std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))

  At ``std = 0`` the value is its limit ``|y - mean|`` (the CRPS of a point
  forecast) with finite gradients (used below ``std = sqrt(tiny)``, 1e-19
  in float32, where the two differ by less than ``std``); a negative
  ``std`` gives NaN.

  Args:
    y_true: observations ``[...]``.
    mean: predictive means, shape of ``y_true``.
    std: predictive standard deviations (``>= 0``), shape of ``mean``.

  Returns:
    Scores ``[...]``, element-wise (the shape of ``mean``).

  Raises:
    ValueError: for shapes that differ.
    TypeError: for an integer ``mean`` or ``std``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.crps_gaussian([0.0, 1.0], [0.0, 0.0], [1.0, 0.0])
    Array([0.23369497, 1.        ], dtype=float32)

  References:
    Gneiting, Raftery, Westveld & Goldman, "Calibrated Probabilistic
    Forecasting Using Ensemble Model Output Statistics and Minimum CRPS
    Estimation", Monthly Weather Review 133, 2005, eq. (5);
    properscoring 0.1 ``crps_gaussian``.
  """
  caller = "crps_gaussian"
  y, mu, s, dt = _location_scale(caller, y_true, mean, std, ("mean", "std"))
  regular, safe_s = _scale_split(s)
  z = (y - mu) / safe_s
  pdf = jnp.exp(-0.5 * jnp.square(z)) / math.sqrt(2 * math.pi)
  # jax.scipy.special on first use: importing it costs import jaxloss ~15 ms.

  # jax.scipy.special on first use: importing it costs import jaxloss ~15 ms.
  from jax.scipy.special import ndtr  # noqa: PLC0415

  value = safe_s * (z * (2 * ndtr(z) - 1) + 2 * pdf - 1 / math.sqrt(math.pi))
  return _degenerate(regular, value, y, mu, s).astype(dt)


@scoped
def crps_logistic(
  y_true: InputLike,
  loc: InputLike,
  scale: InputLike,
) -> jax.Array:
  """CRPS of a logistic predictive distribution, in closed form.

  With ``z = (y - loc) / scale`` and ``F(z) = sigmoid(z)`` the logistic
  CDF::

    crps = scale * (z - 2 log F(z) - 1) = scale * (z + 2 softplus(-z) - 1)

  computed with ``softplus`` so that it stays finite for any ``z``. At
  ``scale = 0`` the value is its limit ``|y - loc|``; a negative ``scale``
  gives NaN.

  Args:
    y_true: observations ``[...]``.
    loc: predictive locations, shape of ``y_true``.
    scale: predictive scales (``>= 0``), shape of ``loc``.

  Returns:
    Scores ``[...]``, element-wise (the shape of ``loc``).

  Raises:
    ValueError: for shapes that differ.
    TypeError: for an integer ``loc`` or ``scale``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.crps_logistic([0.0], [0.0], [1.0])
    Array([0.38629436], dtype=float32)

  References:
    Taillardat, Mestre, Zamo & Naveau, "Calibrated Ensemble Forecasts Using
    Quantile Regression Forests and Ensemble Model Output Statistics",
    Monthly Weather Review 144, 2016, appendix (logistic CRPS); Jordan,
    Krueger & Lerch, "Evaluating Probabilistic Forecasts with
    scoringRules", J. Stat. Softw. 90, 2019 (``crps_logis``).
  """
  caller = "crps_logistic"
  y, mu, s, dt = _location_scale(caller, y_true, loc, scale, ("loc", "scale"))
  regular, safe_s = _scale_split(s)
  z = (y - mu) / safe_s
  value = safe_s * (z + 2 * jax.nn.softplus(-z) - 1)
  return _degenerate(regular, value, y, mu, s).astype(dt)


# ------------------------------------------------------------ energy score


@scoped
def energy_score(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  fair: bool = False,
) -> jax.Array:
  """Energy score of a multivariate ensemble forecast.

  With ``M`` members ``x_i`` in ``R^D`` and observation ``y``::

    es = mean_i |x_i - y| - sum_ij |x_i - x_j| / (2 M^2)          (standard)
    es = mean_i |x_i - y| - sum_ij |x_i - x_j| / (2 M (M - 1))    (fair)

  with ``|.|`` the Euclidean norm; for ``D = 1`` it is the CRPS of
  :func:`crps_ensemble`. Distances of equal points have a zero gradient
  (not NaN). The member pairs are summed in tiles of 128 members.

  Args:
    y_true: observations ``[..., D]``.
    y_pred: ensemble members ``[..., M, D]``.
    fair: use the fair (unbiased) estimator; needs ``M >= 2``.

  Returns:
    Scores ``[...]``.

  Raises:
    ValueError: for shapes that do not fit, or ``fair`` with ``M < 2``.
    TypeError: for a non-bool ``fair`` or an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.energy_score([[0.0, 0.0]], [[[3.0, 4.0], [0.0, 0.0]]])
    Array([1.25], dtype=float32)

  References:
    Gneiting & Raftery, "Strictly Proper Scoring Rules, Prediction, and
    Estimation", JASA 102, 2007, eq. (22); Gneiting, Stanberry, Grimit,
    Held & Johnson, "Assessing probabilistic forecasts of multivariate
    quantities", TEST 17, 2008.
  """
  caller = "energy_score"
  validation.flag(caller, "fair", fair)
  (y, x), dt = numerics.floats(caller, y_true=y_true, y_pred=y_pred)
  shapes.check_min_rank(caller, "y_pred", x, 2)
  if y.shape != x.shape[:-2] + x.shape[-1:]:
    raise ValueError(
      f"{caller}: y_true must have the shape of y_pred without its ensemble "
      f"axis (-2), got y_true.shape={tuple(y.shape)} and "
      f"y_pred.shape={tuple(x.shape)}"
    )
  m = x.shape[-2]
  if fair and m < 2:
    raise ValueError(f"{caller}: fair=True needs M >= 2 members, got M={m}")
  skill = jnp.mean(numerics.safe_norm(x - y[..., None, :], axis=-1), axis=-1)
  pairs = pair_sum(x, x, _safe_sqrt, 128)
  spread = pairs / (2 * m * (m - 1) if fair else 2 * m * m)
  return (skill - spread).astype(dt)


# ---------------------------------------------------------- MMD and energy


def _bandwidths(caller, bandwidth):
  validation.check_range(caller, "bandwidth", bandwidth, low=0.0, low_open=True)
  if isinstance(bandwidth, (list, tuple)):
    values = list(bandwidth)
  else:
    b = (
      jnp.asarray(bandwidth)
      if not isinstance(bandwidth, (int, float))
      else bandwidth
    )
    if isinstance(b, (int, float)) or b.ndim == 0:
      values = [bandwidth]
    elif b.ndim == 1:
      values = [b[i] for i in range(b.shape[0])]
    else:
      raise ValueError(
        f"{caller}: bandwidth must be a number or a 1-D sequence, got shape "
        f"{tuple(b.shape)}"
      )
  if not values:
    raise ValueError(
      f"{caller}: bandwidth must not be empty, got {bandwidth!r}"
    )
  return values


@scoped
def mmd(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  kernel: str = "gaussian",
  bandwidth: float | Sequence[float] | jax.Array = 1.0,
  estimator: str = "biased",
  tile_size: int = 128,
) -> jax.Array:
  """Squared maximum mean discrepancy between two samples.

  Between ``x_1..x_N`` (``y_true``) and ``y_1..y_M`` (``y_pred``) in
  ``R^D``, with kernel sums ``S_xx = sum_ij k(x_i, x_j)`` (likewise
  ``S_yy``, ``S_xy``)::

    biased:    S_xx / N^2 + S_yy / M^2 - 2 S_xy / (N M)
    unbiased:  (S_xx - N k0) / (N (N - 1)) + (S_yy - M k0) / (M (M - 1))
               - 2 S_xy / (N M)

  where ``k0 = k(x, x)`` (the diagonal is dropped). The biased (V-) statistic
  is ``>= 0``; the unbiased (U-) statistic may be slightly negative. Kernels,
  summed over the bandwidths ``s`` in ``bandwidth`` (one number, or several
  for a multi-scale kernel), with ``r = |a - b|``:

  * ``"gaussian"``: ``k = sum_s exp(-r^2 / (2 s^2))``;
  * ``"multiscale"``: ``k = sum_s s^2 / (s^2 + r^2)`` (inverse
    multiquadric; heavier tails than the Gaussian).

  Pairs are summed ``tile_size`` rows by ``tile_size`` rows (a ``lax.scan``
  over tiles, each rematerialised in the backward pass), so neither value
  nor gradient forms an ``[N, M]`` matrix: memory is
  ``O((N + M) D + tile_size^2 D)``.

  Args:
    y_true: the first sample ``[..., N, D]``.
    y_pred: the second sample ``[..., M, D]`` (same leading axes and ``D``).
    kernel: "gaussian" or "multiscale".
    bandwidth: kernel bandwidth(s) ``s > 0``: a number, or a tuple of them.
    estimator: "biased" or "unbiased".
    tile_size: rows per tile (static).

  Returns:
    Squared MMD ``[...]``, one per pair of samples.

  Raises:
    ValueError: for an unknown kernel or estimator, a bandwidth ``<= 0``,
      ``tile_size < 1``, shapes that do not fit, or ``"unbiased"`` with
      fewer than 2 points on a side.
    TypeError: for integer inputs.

  Examples:
    >>> import jaxloss
    >>> x = [[0.0], [1.0]]
    >>> jaxloss.mmd(x, x)
    Array(0., dtype=float32)
    >>> jaxloss.mmd(x, [[0.0], [3.0]], bandwidth=(1.0, 2.0))
    Array(0.629067, dtype=float32)

  References:
    Gretton, Borgwardt, Rasch, Schoelkopf & Smola, "A Kernel Two-Sample
    Test", JMLR 13, 2012, eqs. (2)-(5); Li, Swersky & Zemel, "Generative
    Moment Matching Networks", ICML 2015 (sums of Gaussian kernels).
  """
  caller = "mmd"
  validation.integer(caller, "tile_size", tile_size, low=1)
  if kernel not in ("gaussian", "multiscale"):
    raise ValueError(
      f"{caller}: kernel must be 'gaussian' or 'multiscale', got {kernel!r}"
    )
  bws = _bandwidths(caller, bandwidth)
  x, y, dt = _two_samples(caller, y_true, y_pred)
  n, m = x.shape[-2], y.shape[-2]
  _check_estimator(caller, estimator, n, m)
  bws = [jnp.asarray(b, x.dtype) for b in bws]

  def k(r2):
    if kernel == "gaussian":
      terms = [jnp.exp(-r2 / (2 * b * b)) for b in bws]
    else:
      terms = [b * b / (b * b + r2) for b in bws]
    return sum(terms[1:], terms[0])

  sxx, syy, sxy = _self_and_cross(x, y, k, tile_size)
  k0 = len(bws)
  if estimator == "biased":
    value = sxx / (n * n) + syy / (m * m)
  else:
    value = (sxx - n * k0) / (n * (n - 1)) + (syy - m * k0) / (m * (m - 1))
  return (value - 2 * sxy / (n * m)).astype(dt)


@scoped
def energy_distance(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  estimator: str = "biased",
  tile_size: int = 128,
) -> jax.Array:
  """Energy distance between two samples (Szekely & Rizzo).

  Between ``x_1..x_N`` (``y_true``) and ``y_1..y_M`` (``y_pred``) in
  ``R^D``, with distance sums ``S_xx = sum_ij |x_i - x_j|`` (likewise
  ``S_yy``, ``S_xy``)::

    biased:    2 S_xy / (N M) - S_xx / N^2 - S_yy / M^2
    unbiased:  2 S_xy / (N M) - S_xx / (N (N - 1)) - S_yy / (M (M - 1))

  i.e. ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (the square of
  ``scipy.stats.energy_distance`` in one dimension, for the biased form).
  Distances of equal points have a zero gradient. Pairs are summed in tiles
  as in :func:`mmd`: memory is ``O((N + M) D + tile_size^2 D)``.

  Args:
    y_true: the first sample ``[..., N, D]``.
    y_pred: the second sample ``[..., M, D]`` (same leading axes and ``D``).
    estimator: "biased" or "unbiased".
    tile_size: rows per tile (static).

  Returns:
    Energy distances ``[...]``, one per pair of samples.

  Raises:
    ValueError: for an unknown estimator, ``tile_size < 1``, shapes that do
      not fit, or ``"unbiased"`` with fewer than 2 points on a side.
    TypeError: for integer inputs.

  Examples:
    >>> import jaxloss
    >>> jaxloss.energy_distance([[0.0], [1.0]], [[0.0], [3.0]])
    Array(1., dtype=float32)

  References:
    Szekely & Rizzo, "Energy statistics: A class of statistics based on
    distances", J. Stat. Planning and Inference 143, 2013, eq. (2.1);
    scipy 1.17 ``scipy.stats.energy_distance``.
  """
  caller = "energy_distance"
  validation.integer(caller, "tile_size", tile_size, low=1)
  x, y, dt = _two_samples(caller, y_true, y_pred)
  n, m = x.shape[-2], y.shape[-2]
  _check_estimator(caller, estimator, n, m)
  sxx, syy, sxy = _self_and_cross(x, y, _safe_sqrt, tile_size)
  if estimator == "biased":
    self_terms = sxx / (n * n) + syy / (m * m)
  else:
    self_terms = sxx / (n * (n - 1)) + syy / (m * (m - 1))
  return (2 * sxy / (n * m) - self_terms).astype(dt)


# ------------------------------------------------------ mixture density NLL


@scoped
def mdn_nll(
  y_true: InputLike,
  logits: InputLike,
  means: InputLike,
  scales: InputLike,
  *,
  variance_floor: float | jax.Array = 1e-6,
) -> jax.Array:
  """Negative log-likelihood of a diagonal Gaussian mixture (MDN head).

  With ``K`` components, mixture weights ``pi = softmax(logits)``, means
  ``mu_k`` and standard deviations ``s_k`` in ``R^D``::

    var_kd = max(s_kd^2, variance_floor)
    log N_k = -0.5 sum_d ((y_d - mu_kd)^2 / var_kd + log var_kd + log 2 pi)
    nll = -logsumexp_k (log_softmax(logits)_k + log N_k)

  in log space throughout, so far-away targets and very peaked components
  stay finite. The floor keeps a collapsing component from sending the
  likelihood to infinity (below it, ``s`` gets no gradient).

  Args:
    y_true: targets ``[..., D]``.
    logits: unnormalised mixture weights ``[..., K]``.
    means: component means ``[..., K, D]``.
    scales: component standard deviations ``[..., K, D]`` (e.g. from
      ``softplus`` or ``exp`` of a network output).
    variance_floor: lower bound of the variances; ``> 0``.

  Returns:
    Per-sample negative log-likelihoods ``[...]``.

  Raises:
    ValueError: for shapes that do not fit or ``variance_floor <= 0``.
    TypeError: for integer inputs.

  Examples:
    >>> import jaxloss
    >>> jaxloss.mdn_nll([[0.0]], [[0.0, 0.0]], [[[0.0], [0.0]]],
    ...                 [[[1.0], [1.0]]])
    Array([0.9189385], dtype=float32)

  References:
    Bishop, "Mixture Density Networks", Aston University NCRG/94/004, 1994,
    eqs. (23)-(29).
  """
  caller = "mdn_nll"
  validation.check_range(
    caller, "variance_floor", variance_floor, low=0.0, low_open=True
  )
  (y, z, mu, s), dt = numerics.floats(
    caller, y_true=y_true, logits=logits, means=means, scales=scales
  )
  shapes.check_min_rank(caller, "means", mu, 2)
  shapes.check_same_shape(caller, means=mu, scales=s)
  if z.shape != mu.shape[:-1]:
    raise ValueError(
      f"{caller}: logits must have the shape of means without its last axis, "
      f"got logits.shape={tuple(z.shape)} and means.shape={tuple(mu.shape)}"
    )
  if y.shape != mu.shape[:-2] + mu.shape[-1:]:
    raise ValueError(
      f"{caller}: y_true must have the shape of means without its component "
      f"axis (-2), got y_true.shape={tuple(y.shape)} and "
      f"means.shape={tuple(mu.shape)}"
    )
  var = jnp.maximum(jnp.square(s), variance_floor)
  sq = jnp.square(y[..., None, :] - mu) / var
  log_n = -0.5 * jnp.sum(sq + jnp.log(var) + _LOG_2PI, axis=-1)
  log_p = jax.nn.logsumexp(jax.nn.log_softmax(z, axis=-1) + log_n, axis=-1)
  return (-log_p).astype(dt)


# ---------------------------------------------------- evidential regression


@scoped
def evidential_regression(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  coeff: float | jax.Array = 1e-2,
) -> jax.Array:
  """Deep evidential regression loss (Amini et al. 2020).

  ``y_pred[..., :]`` holds the Normal-Inverse-Gamma parameters
  ``(gamma, nu, alpha, beta)`` with ``nu > 0``, ``alpha > 1``, ``beta > 0``
  (e.g. ``softplus`` outputs, plus 1 for ``alpha``). With
  ``Omega = 2 beta (1 + nu)``::

    nll = 0.5 log(pi / nu) - alpha log Omega
          + (alpha + 0.5) log(nu (y - gamma)^2 + Omega)
          + lgamma(alpha) - lgamma(alpha + 0.5)
    reg = |y - gamma| (2 nu + alpha)
    loss = nll + coeff * reg

  ``nll`` is the negative log of the Student-t marginal likelihood; ``reg``
  penalises evidence on wrong predictions.

  Args:
    y_true: targets ``[...]`` (or ``[..., 1]``).
    y_pred: ``[..., 4]``: gamma, nu, alpha, beta on the last axis.
    coeff: weight ``lambda`` of the evidence regulariser, ``>= 0``.

  Returns:
    Per-sample losses ``[...]``, the shape of ``y_true``.

  Raises:
    ValueError: for ``y_pred`` without a last axis of 4, a ``y_true`` that
      does not fit, or ``coeff < 0``.
    TypeError: for an integer ``y_pred``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.evidential_regression([0.0], [[0.0, 1.0, 2.0, 1.0]])
    Array([0.980829], dtype=float32)

  References:
    Amini, Schwarting, Soleimany & Rus, "Deep Evidential Regression",
    NeurIPS 2020, eqs. (8), (9) and (10).
  """
  caller = "evidential_regression"
  validation.check_range(caller, "coeff", coeff, low=0.0)
  p = numerics.as_float(caller, "y_pred", y_pred)
  t = numerics.as_array(caller, "y_true", y_true)
  shapes.check_min_rank(caller, "y_pred", p, 1)
  if p.shape[-1] != 4:
    raise ValueError(
      f"{caller}: y_pred must have a last axis of 4 (gamma, nu, alpha, beta), "
      f"got y_pred.shape={tuple(p.shape)}"
    )
  if t.ndim == p.ndim and t.shape[-1] == 1:
    t = jnp.squeeze(t, -1)
  if t.shape != p.shape[:-1]:
    raise ValueError(
      f"{caller}: y_true must have the shape of y_pred without its last axis, "
      f"got y_true.shape={tuple(t.shape)} and y_pred.shape={tuple(p.shape)}"
    )
  dt = p.dtype
  if jnp.issubdtype(t.dtype, jnp.floating):
    dt = jnp.promote_types(dt, t.dtype)
  cdt = numerics.compute_dtype(dt)
  t, p = t.astype(cdt), p.astype(cdt)
  gamma, nu, alpha, beta = (p[..., i] for i in range(4))
  omega = 2 * beta * (1 + nu)
  err = t - gamma
  nll = (
    0.5 * jnp.log(math.pi / nu)
    - alpha * jnp.log(omega)
    + (alpha + 0.5) * jnp.log(nu * jnp.square(err) + omega)
    + jax.lax.lgamma(alpha)
    - jax.lax.lgamma(alpha + 0.5)
  )
  reg = jnp.abs(err) * (2 * nu + alpha)
  return (nll + coeff * reg).astype(dt)


class CRPSEnsemble(Loss, fn=crps_ensemble):
  """Loss object for :func:`jaxloss.crps_ensemble`."""

  fair: bool = False


class CRPSGaussian(Loss, fn=crps_gaussian):
  """Loss object for :func:`jaxloss.crps_gaussian`."""


class CRPSLogistic(Loss, fn=crps_logistic):
  """Loss object for :func:`jaxloss.crps_logistic`."""


class EnergyScore(Loss, fn=energy_score):
  """Loss object for :func:`jaxloss.energy_score`."""

  fair: bool = False


class MMD(Loss, fn=mmd):
  """Loss object for :func:`jaxloss.mmd`."""

  kernel: str = "gaussian"
  bandwidth: float | Sequence[float] | jax.Array = 1.0
  estimator: str = "biased"
  tile_size: int = 128


class EnergyDistance(Loss, fn=energy_distance):
  """Loss object for :func:`jaxloss.energy_distance`."""

  estimator: str = "biased"
  tile_size: int = 128


class MDNNLL(Loss, fn=mdn_nll):
  """Loss object for :func:`jaxloss.mdn_nll`."""

  variance_floor: float | jax.Array = 1e-06


class EvidentialRegression(Loss, fn=evidential_regression):
  """Loss object for :func:`jaxloss.evidential_regression`."""

  coeff: float | jax.Array = 0.01
