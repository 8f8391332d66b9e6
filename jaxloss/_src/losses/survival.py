"""Survival losses: the Cox partial likelihood (Breslow and Efron ties,
strata, censoring) and the discrete-time (logistic hazard) survival NLL."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import empty
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


def _vector(caller, name, x, n=None, n_name="times"):
  """A rank-1 input (``[N, 1]`` is squeezed) with ``n`` entries if given."""
  if x.ndim == 2 and x.shape[-1] == 1:
    x = x[:, 0]
  shapes.check_rank(caller, name, x, 1)
  if n is not None and x.shape[0] != n:
    raise ValueError(
      f"{caller}: {name} must have one entry per entry of {n_name}, got "
      f"{name}.shape={tuple(x.shape)} and {n_name}.shape=({n},)"
    )
  return x


def _events(caller, events, shape):
  e = numerics.as_array(caller, "events", events)
  if e.shape != shape:
    raise ValueError(
      f"{caller}: events must have the shape {tuple(shape)}, got "
      f"events.shape={tuple(e.shape)}"
    )
  return e != 0 if e.dtype != jnp.bool_ else e


@scoped
def cox_ph(
  times: InputLike,
  events: InputLike,
  risk_scores: InputLike,
  *,
  ties: str = "breslow",
  strata: InputLike | None = None,
) -> jax.Array:
  """Cox proportional-hazards loss: mean negative log partial likelihood.

  A **batch-level** loss: the risk set of each event is taken from the
  batch, so it returns one scalar for the batch. With risk scores (log
  hazard ratios) ``eta``, the risk set ``R_i = {j : t_j >= t_i}`` (within
  the stratum of ``i`` when ``strata`` is given) and ``E`` the events::

    breslow:  l_i = eta_i - log sum_{j in R_i} exp(eta_j)
    efron:    l_i = eta_i - log(sum_{j in R_i} exp(eta_j)
                               - (r_i / d_i) sum_{j in D_i} exp(eta_j))
    loss = -sum_{i in E} l_i / |E|                  (0 when |E| = 0)

  where ``D_i`` are the ``d_i`` events tied with ``i`` (same time and
  stratum) and ``r_i`` in ``0..d_i - 1`` numbers them, so that a tie group
  contributes Efron's ``sum_r log(S_R - r / d S_D)``. Without ties both
  agree. Censored samples (``events == 0``) only enter risk sets. All
  denominators are computed in log space (``logsumexp``, ``log1p``); an
  all-censored batch gives 0 with zero gradients. A NaN in ``times`` or
  ``risk_scores`` (any sample, censored or not) makes the value NaN.

  The risk sets are formed as an ``[N, N]`` mask: memory is ``O(N^2)`` in
  the batch size. Because the loss couples the samples of a batch, its
  object (:class:`CoxPH`) rejects a per-sample ``sample_weight`` or
  ``where`` and any ``normalizer``; the reduction of the object leaves the
  scalar as it is.

  Args:
    times: event or censoring times ``[N]`` (ties allowed).
    events: event indicators ``[N]`` (bool, or 0/1): 1 for an observed
      event, 0 for censoring.
    risk_scores: predicted log hazard ratios ``[N]`` (or ``[N, 1]``).
    ties: "breslow" or "efron".
    strata: optional integer stratum ids ``[N]``: risk sets are formed
      within strata.

  Returns:
    A scalar: the mean over events of the negative log partial likelihood.

  Raises:
    ValueError: for an unknown ``ties`` or shapes that do not fit.
    TypeError: for integer ``risk_scores``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.cox_ph([1.0, 2.0, 3.0], [1, 0, 1], [0.0, 0.0, 0.0])
    Array(0.54930615, dtype=float32)

  References:
    Cox, "Regression Models and Life-Tables", JRSS B 34, 1972; Breslow,
    "Covariance analysis of censored survival data", Biometrics 30, 1974;
    Efron, "The efficiency of Cox's likelihood function for censored
    data", JASA 72, 1977; statsmodels 0.15 ``PHReg.loglike`` (same
    definitions, summed).
  """
  caller = "cox_ph"
  if ties not in ("breslow", "efron"):
    raise ValueError(
      f"{caller}: ties must be 'breslow' or 'efron', got {ties!r}"
    )
  eta = numerics.as_float(caller, "risk_scores", risk_scores)
  eta = _vector(caller, "risk_scores", eta)
  empty.require_samples(caller, "risk_scores", eta)
  n = eta.shape[0]
  t = _vector(caller, "times", numerics.as_array(caller, "times", times))
  if t.shape[0] != n:
    raise ValueError(
      f"{caller}: times and risk_scores must have the same length, got "
      f"times.shape={tuple(t.shape)} and "
      f"risk_scores.shape={tuple(eta.shape)}"
    )
  e = _events(caller, events, (n,))
  dt = eta.dtype
  eta = eta.astype(numerics.compute_dtype(dt))
  same = jnp.ones((n, n), bool)
  if strata is not None:
    s = numerics.labels(caller, "strata", strata)
    s = _vector(caller, "strata", s, n, "risk_scores")
    same = s[:, None] == s[None, :]
  # Row i: who is at risk at time t_i (column j).
  at_risk = (t[None, :] >= t[:, None]) & same
  scores = jnp.broadcast_to(eta[None, :], (n, n))
  log_risk = numerics.masked_logsumexp(scores, at_risk, axis=-1)
  if ties == "efron":
    tied = (t[None, :] == t[:, None]) & same & e[None, :]
    d = jnp.sum(tied, axis=-1)
    before = jnp.arange(n)[None, :] < jnp.arange(n)[:, None]
    r = jnp.sum(tied & before, axis=-1)
    frac = numerics.safe_divide(r, d).astype(eta.dtype)
    log_tied = numerics.masked_logsumexp(scores, tied, axis=-1)
    # log(S_R - f S_D) = log S_R + log1p(-f S_D / S_R), 0 <= f S_D / S_R < 1.
    ratio = jnp.exp(jnp.minimum(log_tied - log_risk, 0))
    log_den = log_risk + jnp.log1p(-frac * ratio)
  else:
    log_den = log_risk
  ll = jnp.where(e, eta - jnp.where(e, log_den, 0), 0)
  n_events = jnp.sum(e).astype(eta.dtype)
  loss = numerics.safe_divide(-jnp.sum(ll), n_events)
  # A NaN time (censored or not) or risk score reorders every risk set it
  # touches (comparisons with NaN are False): the value is NaN, never a
  # finite number from the remaining samples.
  unknown = jnp.any(jnp.isnan(t)) | jnp.any(jnp.isnan(eta))
  return jnp.where(unknown, jnp.nan, loss).astype(dt)


@domains.declare(class_ids=domains.ClassIds("intervals", "logits"))
@scoped
def discrete_survival_nll(
  intervals: InputLike, events: InputLike, logits: InputLike
) -> jax.Array:
  """Discrete-time survival NLL with logistic hazards.

  The time axis is cut into ``K`` intervals; ``logits[..., k]`` gives the
  hazard ``h_k = sigmoid(logits_k)``, the probability of the event in
  interval ``k`` given survival until then. For a sample whose event
  (``events = 1``) or censoring (``events = 0``) falls in interval ``tau``::

    nll = -sum_{k < tau} log(1 - h_k) - e log h_tau - (1 - e) log(1 - h_tau)

  (a censored sample is taken to survive its last interval, the convention
  of pycox's ``nll_logistic_hazard``), computed with log-sigmoids. An
  interval outside ``[0, K)`` gives NaN (never a silently wrong value).

  Args:
    intervals: interval indices ``[...]`` (integers in ``[0, K)``).
    events: event indicators ``[...]`` (bool, or 0/1).
    logits: hazard logits ``[..., K]``.

  Returns:
    Per-sample losses ``[...]``.

  Raises:
    ValueError: for shapes that do not fit.
    TypeError: for integer ``logits`` or boolean ``intervals``.

  Examples:
    >>> import jaxloss
    >>> jaxloss.discrete_survival_nll([1, 1], [1, 0], [[0.0, 0.0, 0.0]] * 2)
    Array([1.3862944, 1.3862944], dtype=float32)

  References:
    Brown, "On the use of artificial neural networks for the analysis of
    survival data", IEEE TNN 8, 1997; Gensheimer & Narasimhan, "A scalable
    discrete-time survival model for neural networks", PeerJ 7, 2019;
    Kvamme & Borgan, "Continuous and discrete-time survival prediction with
    neural networks", Lifetime Data Analysis 27, 2021, eq. (8).
  """
  caller = "discrete_survival_nll"
  z = numerics.as_float(caller, "logits", logits)
  shapes.check_min_rank(caller, "logits", z, 1)
  tau = numerics.labels(caller, "intervals", intervals)
  tau = shapes.check_labels_shape(caller, tau, z, name="intervals")
  e = _events(caller, events, tau.shape)
  dt = z.dtype
  z = z.astype(numerics.compute_dtype(dt))
  k = z.shape[-1]
  z = numerics.nan_at_bad_ids(z, tau, k)
  ks = jnp.reshape(jnp.arange(k), (1,) * tau.ndim + (k,))
  at = ks == tau[..., None]
  target = (at & e[..., None]).astype(z.dtype)
  bce = numerics.sigmoid_cross_entropy(target, z)
  nll = jnp.sum(jnp.where(ks <= tau[..., None], bce, 0), axis=-1)
  valid = (tau >= 0) & (tau < k)
  return jnp.where(valid, nll, jnp.nan).astype(dt)


# Batch-level: one scalar per batch. The shared call rejects a per-sample
# sample_weight or where, and a normalizer; strata come with each call.


class CoxPH(Loss, fn=cox_ph, batch_level=True, keyword_inputs=("strata",)):
  """Loss object for :func:`jaxloss.cox_ph`."""

  ties: str = "breslow"


CoxPH.__doc__ = """Loss object for :func:`jaxloss.cox_ph` (batch-level).

Fields are ``ties`` plus ``reduction``, ``name`` and ``dtype``; call it as
``loss(times, events, risk_scores, sample_weight=None, *, strata=None)``.
It returns the scalar of :func:`jaxloss.cox_ph` whatever the reduction. The
partial likelihood couples the samples of a batch, so a per-sample
``sample_weight`` or ``where`` and any ``normalizer`` raise a ValueError; a
scalar ``sample_weight`` scales the batch's value.
"""


class DiscreteSurvivalNLL(Loss, fn=discrete_survival_nll):
  """Loss object for :func:`jaxloss.discrete_survival_nll`."""
