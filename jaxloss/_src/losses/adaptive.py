"""Losses whose own hyper-parameters are learned: Barron's adaptive robust
loss (negative log-likelihood, learnable shape and scale) and Kendall et al.'s
homoscedastic-uncertainty weighting of several task losses.

The learnable quantities are plain inputs here; ``jaxloss.flax`` holds them as
parameters (linen and nnx) and trains them with the model's optimizer.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.losses import regression
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


# Gauss-Legendre rule for the partition function, on u in (0, pi/2) after
# x = tan(u): the integrand exp(-rho(tan u)) / cos(u)^2 stays bounded for
# every alpha in (0, 2]; a fixed rule is accurate to ~1e-6 relative for
# alpha >= 0.5 and ~1e-4 as alpha -> 0 (where the integrand's tail is flat).
# The rule is built on first use, not at import (leggauss solves an
# eigenproblem; every `import jaxloss` would pay for it).
@functools.cache
def _quadrature() -> tuple[np.ndarray, np.ndarray]:
  """Nodes and weights of the rule on ``(0, pi/2)``."""
  nodes, weights = np.polynomial.legendre.leggauss(256)
  return (nodes + 1.0) * (np.pi / 4.0), weights * (np.pi / 4.0)


def _rho(x, alpha):
  """Barron's general loss at unit scale, element-wise, ``alpha`` in (0, 2]."""
  b = jnp.maximum(jnp.abs(alpha - 2.0), jnp.finfo(x.dtype).eps)
  return regression.barron_general(x, alpha, b)


def log_partition(alpha: InputLike) -> jax.Array:
  r"""``log Z(alpha)``, the normaliser of Barron's distribution at scale 1.

  :math:`Z(\alpha) = \int_{-\infty}^{\infty} \exp(-\rho(x, \alpha, 1))\,dx`
  for ``alpha`` in ``(0, 2]``, by a 256-point Gauss-Legendre rule after the
  substitution ``x = tan(u)``; differentiable in ``alpha``. ``Z(2) =
  sqrt(2 pi)``; as ``alpha -> 0``, ``Z -> pi sqrt(2)``.

  Args:
    alpha: shape parameter(s), any shape, values in ``(0, 2]``.

  Returns:
    ``log Z`` with the shape of ``alpha``.
  """
  alpha = numerics.as_float("log_partition", "alpha", alpha)
  nodes, weights = _quadrature()
  shape = alpha.shape + nodes.shape
  u = jnp.broadcast_to(jnp.asarray(nodes, alpha.dtype), shape)
  w = jnp.broadcast_to(jnp.asarray(weights, alpha.dtype), shape)
  a = jnp.broadcast_to(alpha[..., None], shape)
  integrand = jnp.exp(-_rho(jnp.tan(u), a)) / jnp.square(jnp.cos(u))
  return jnp.log(2.0 * jnp.sum(w * integrand, axis=-1))


@scoped
def adaptive_robust_nll(
  y_true: InputLike,
  y_pred: InputLike,
  *,
  alpha: float | jax.Array = 1.0,
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  r"""Negative log-likelihood of Barron's adaptive robust distribution.

  With ``x = y_pred - y_true`` and ``c = scale``:

  ``nll = sum(rho(x / c, alpha) + log(c) + log Z(alpha), axis=-1)``

  where ``rho`` is the general robust loss (see :func:`log_partition` for
  ``Z``). Unlike the bare robust loss, minimising this over ``alpha`` and
  ``c`` is well posed, which makes them learnable (Barron 2019, sec. 2).
  ``alpha`` is restricted to ``(0, 2]`` (where ``Z`` is finite); the
  learnable module maps an unconstrained latent into
  ``[alpha_lo, alpha_hi]`` with a sigmoid.

  Args:
    y_true: targets ``[..., d]``.
    y_pred: predictions ``[..., d]``.
    alpha: shape, a scalar or ``[d]``, in ``(0, 2]``.
    scale: scale ``c > 0``, a scalar or ``[d]``.

  Returns:
    Per-sample NLL ``[...]`` (summed over the last axis).

  Raises:
    ValueError: for mismatched shapes, or a concrete ``alpha`` outside
      ``(0, 2]`` or ``scale <= 0``.

  Examples:
    >>> import jaxloss
    >>> v = jaxloss.adaptive_robust_nll([[0.0]], [[1.0]], alpha=2.0)
    >>> print(round(float(v[0]), 5))  # 0.5 + log(sqrt(2 pi))
    1.41894

  References:
    Barron, "A General and Adaptive Robust Loss Function", CVPR 2019,
    eqs. 1, 16 and 17.
  """
  caller = "adaptive_robust_nll"
  validation.check_range(
    caller, "alpha", alpha, low=0.0, high=2.0, low_open=True
  )
  validation.check_range(caller, "scale", scale, low=0.0, low_open=True)
  y_true, y_pred, dt = shapes.elementwise_inputs(
    caller, y_true, y_pred, min_rank=1
  )
  compute = y_pred.dtype
  d = y_pred.shape[-1]
  alpha = (
    jnp.broadcast_to(jnp.asarray(alpha, compute), (d,))
    if jnp.ndim(alpha) == 0
    else jnp.asarray(alpha, compute)
  )
  scale = (
    jnp.broadcast_to(jnp.asarray(scale, compute), (d,))
    if jnp.ndim(scale) == 0
    else jnp.asarray(scale, compute)
  )
  for name, v in (("alpha", alpha), ("scale", scale)):
    if v.shape != (d,):
      raise ValueError(
        f"{caller}: {name} must be a scalar or of shape ({d},), got shape "
        f"{tuple(v.shape)}"
      )
  # robust_loss averages rho over the last axis; the NLL sums it.
  rho = d * regression.robust_loss(y_true, y_pred, alpha=alpha, scale=scale)
  norm = jnp.sum(jnp.log(scale) + log_partition(alpha))
  return (rho + norm).astype(dt)


def robust_parameters(
  latent_alpha: InputLike,
  latent_scale: InputLike,
  *,
  alpha_lo: float = 0.001,
  alpha_hi: float = 1.999,
  scale_lo: float = 1e-5,
) -> tuple[jax.Array, jax.Array]:
  """Unconstrained latents -> ``(alpha, scale)`` of the adaptive robust loss.

  ``alpha = alpha_lo + (alpha_hi - alpha_lo) * sigmoid(latent_alpha)`` and
  ``scale = scale_lo + softplus(latent_scale)``, as in Barron's reference
  implementation (its defaults for ``alpha_lo``, ``alpha_hi``, ``scale_lo``).
  Internal: the learnable modules of ``jaxloss.flax`` map their parameters
  with it (their ``parameters()`` method gives ``(alpha, scale)``).
  """
  alpha = alpha_lo + (alpha_hi - alpha_lo) * jax.nn.sigmoid(
    jnp.asarray(latent_alpha)
  )
  scale = scale_lo + jax.nn.softplus(jnp.asarray(latent_scale))
  return alpha, scale


def robust_latents(
  alpha: float,
  scale: float,
  *,
  alpha_lo: float = 0.001,
  alpha_hi: float = 1.999,
  scale_lo: float = 1e-5,
) -> tuple[float, float]:
  """Inverse of :func:`robust_parameters` (initial latents from values)."""
  validation.check_range(
    "robust_latents",
    "alpha",
    alpha,
    low=alpha_lo,
    high=alpha_hi,
    low_open=True,
    high_open=True,
  )
  validation.check_range(
    "robust_latents", "scale", scale, low=scale_lo, low_open=True
  )
  t = (alpha - alpha_lo) / (alpha_hi - alpha_lo)
  latent_alpha = math.log(t) - math.log1p(-t)
  x = scale - scale_lo
  latent_scale = x + math.log(-math.expm1(-x))  # softplus^-1
  return latent_alpha, latent_scale


@scoped
def uncertainty_weighting(
  losses: InputLike,
  log_variances: InputLike,
  *,
  regression: bool | Sequence[bool] = True,
) -> jax.Array:
  r"""Kendall et al.'s homoscedastic-uncertainty weighting of task losses.

  With ``s_t = log(sigma_t^2)`` learnable per task ``t``:

  ``total = sum_t c_t exp(-s_t) L_t + 0.5 s_t``

  with ``c_t = 1/2`` for a regression task (Gaussian likelihood, eq. 7)
  and ``c_t = 1`` for a classification task (eq. 10's approximation).
  This reduces over tasks, not samples: ``losses`` are already-reduced
  task losses.

  Args:
    losses: task losses ``[T]``.
    log_variances: ``s = log(sigma^2)`` per task ``[T]``.
    regression: a bool for every task, or a sequence of ``T`` bools.

  Returns:
    The weighted total, a scalar.

  Raises:
    ValueError: for shapes that are not ``[T]`` and ``[T]``, or a
      ``regression`` sequence of the wrong length.

  Examples:
    >>> import jaxloss
    >>> print(jaxloss.uncertainty_weighting([2.0, 1.0], [0.0, 0.0],
    ...                                     regression=(True, False)))
    2.0

  References:
    Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to
    Weigh Losses for Scene Geometry and Semantics", CVPR 2018, eqs. 7, 10.
  """
  caller = "uncertainty_weighting"
  (losses, s), dt = numerics.floats(
    caller, losses=losses, log_variances=log_variances
  )
  shapes.check_rank(caller, "losses", losses, 1)
  shapes.check_same_shape(caller, losses=losses, log_variances=s)
  if isinstance(regression, bool):
    regression = (regression,) * losses.shape[0]
  regression = tuple(bool(r) for r in regression)
  if len(regression) != losses.shape[0]:
    raise ValueError(
      f"{caller}: regression must be a bool or {losses.shape[0]} bools, got "
      f"{len(regression)}"
    )
  c = jnp.asarray([0.5 if r else 1.0 for r in regression], losses.dtype)
  return jnp.sum(c * jnp.exp(-s) * losses + 0.5 * s).astype(dt)
