"""Preference losses on sequence log-probabilities: DPO (and its SLiC, IPO
and robust variants), SimPO, CPO, ORPO and KTO.

Every function takes per-sequence log-probabilities (sums or means over the
response tokens, e.g. from :func:`jaxloss.linear_log_probs`) and returns one
value per pair (or per example for KTO), to be reduced with
:func:`jaxloss.reduce`. With ``return_components=True`` they also return a
dict of logging quantities (rewards, margins, reward accuracy), with the
same leading shape and no gradient.

Packed batches: with ``segment_ids`` (``[..., T]``, ``1, 2, ...`` per
sequence, 0 for padding; one array, or a pair ``(chosen, rejected)`` for the
paired losses, a tuple) the log-probability inputs are per-token values (e.g.
:func:`jaxloss.linear_log_probs`, 0 at ignored tokens) and are reduced per
sequence first: sums for the sequence log-probabilities, means for the
length-averaged ones and the NLL. The values are then ``[..., S]``, segment
``k`` at index ``k - 1`` (pair ``k`` = chosen segment ``k`` with rejected
segment ``k``), 0 where a segment is missing, and equal the values of the
same sequences unpacked. Give the segment ids only at the tokens that count
(``jnp.where(response_mask, segment_ids, 0)``): the means divide by the
number of tokens carrying the id.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.lm import segments
from jaxloss._src.objects import scoped

DPO_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust")


def _inputs(caller, packing=None, mean=(), **arrays):
  """Floating inputs of one shape; with a :class:`segments.Packing`,
  per-token inputs reduced per sequence (names with "rejected" read the
  second layout). Returns ``(values, out_dtype, present)``, ``present``
  the mask of existing pairs (None without packing)."""
  (*values,), out_dtype = numerics.floats(caller, **arrays)
  named = dict(zip(arrays, values))
  found = None
  if packing is not None:
    named, found = packing.sequences(
      caller, named, layout=lambda k: int("rejected" in k), mean=mean
    )
  shapes.check_same_shape(caller, **named)
  return list(named.values()), out_dtype, found


def _pair_components(chosen_rewards, rejected_rewards, out_dtype):
  c = jax.lax.stop_gradient(chosen_rewards)
  r = jax.lax.stop_gradient(rejected_rewards)
  return {
    "chosen_rewards": c.astype(out_dtype),
    "rejected_rewards": r.astype(out_dtype),
    "margins": (c - r).astype(out_dtype),
    "accuracies": (c > r).astype(out_dtype),
  }


def _finish(values, out_dtype, components, return_components, found=None):
  if found is not None:
    values = jnp.where(found, values, 0)
    components = {k: jnp.where(found, v, 0) for k, v in components.items()}
  values = values.astype(out_dtype)
  return (values, components) if return_components else values


def log1mexp(a):
  """``log(1 - exp(a))`` for ``a < 0``, stable at both ends (Mächler 2012);
  ``a`` is clipped to ``<= -1e-7`` first, so ``a = 0`` stays finite."""
  a = jnp.minimum(a, -1e-7)
  return jnp.where(
    a > -0.6931472, jnp.log(-jnp.expm1(a)), jnp.log1p(-jnp.exp(a))
  )


@scoped
def dpo(
  policy_chosen_logps: ArrayLike,
  policy_rejected_logps: ArrayLike,
  reference_chosen_logps: ArrayLike,
  reference_rejected_logps: ArrayLike,
  *,
  beta: float | jax.Array = 0.1,
  loss_type: str = "sigmoid",
  label_smoothing: float | jax.Array = 0.0,
  segment_ids: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
  num_segments: int | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Direct preference optimisation and its hinge, IPO and robust forms.

  With ``h = (pi_c - ref_c) - (pi_r - ref_r)`` (the difference of the
  policy-to-reference log-ratios of the chosen and the rejected response)
  and ``eps = label_smoothing``::

    sigmoid: -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)
    hinge:   max(0, 1 - beta h)                                   (SLiC)
    ipo:     (h - 1 / (2 beta)) ** 2
    robust:  (-(1 - eps) log sigmoid(beta h) + eps log sigmoid(-beta h))
             / (1 - 2 eps)

  ``sigmoid`` with ``eps > 0`` is conservative DPO (cDPO); ``robust`` is the
  unbiased estimator of Chowdhury et al. under label noise ``eps``. IPO's
  paper uses length-averaged log-probabilities: pass means, not sums. The
  implicit rewards are ``beta (pi_c - ref_c)`` and ``beta (pi_r - ref_r)``.

  Args:
    policy_chosen_logps: ``[...]`` policy log-probabilities of the chosen
      responses.
    policy_rejected_logps: ``[...]`` of the rejected responses.
    reference_chosen_logps: ``[...]`` reference-model log-probabilities of
      the chosen responses (treated as data: pass them under
      ``stop_gradient`` or computed without gradient).
    reference_rejected_logps: ``[...]`` likewise for the rejected ones.
    beta: positive inverse temperature (KL strength).
    loss_type: one of ``"sigmoid"``, ``"hinge"``, ``"ipo"``, ``"robust"``.
    label_smoothing: in ``[0, 0.5)``; used by sigmoid and robust.
    return_components: also return ``{"chosen_rewards",
      "rejected_rewards", "margins", "accuracies"}`` (no gradient).
    segment_ids: optional integer ``[..., T]`` (or a pair ``(chosen,
      rejected)``) for a packed batch: the log-probability inputs are then
      per-token and reduced per sequence (module docstring).
    num_segments: static maximum number of sequences per row (default
      ``T``), with ``segment_ids``.

  Returns:
    Per-pair losses ``[...]`` in the inputs' dtype, and the components dict
    when asked.

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jaxloss
    >>> jaxloss.dpo([-10.0], [-12.0], [-11.0], [-11.0], beta=0.5)
    Array([0.3132617], dtype=float32)

  References:
    Rafailov et al., "Direct Preference Optimization", NeurIPS 2023
    (arXiv:2305.18290), eq. 7. Zhao et al., "SLiC-HF", 2023
    (arXiv:2305.10425). Azar et al., "A General Theoretical Paradigm to
    Understand Learning from Human Preferences" (IPO), 2023
    (arXiv:2310.12036), eq. 17. Chowdhury et al., "Provably Robust DPO",
    ICML 2024 (arXiv:2403.00409). Mitchell, "A note on DPO with noisy
    preferences" (cDPO), 2023.
  """
  caller = "dpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.choice(caller, "loss_type", loss_type, DPO_LOSS_TYPES)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 0.5, high_open=True
  )
  validation.flag(caller, "return_components", return_components)
  packing = segments.Packing.make(caller, segment_ids, num_segments, 2)
  (pc, pr, rc, rr), out_dtype, found = _inputs(
    caller,
    packing,
    policy_chosen_logps=policy_chosen_logps,
    policy_rejected_logps=policy_rejected_logps,
    reference_chosen_logps=reference_chosen_logps,
    reference_rejected_logps=reference_rejected_logps,
  )
  chosen, rejected = pc - rc, pr - rr
  h = chosen - rejected
  eps = label_smoothing
  if loss_type == "sigmoid":
    values = -(1 - eps) * jax.nn.log_sigmoid(beta * h)
    if eps:
      values = values - eps * jax.nn.log_sigmoid(-beta * h)
  elif loss_type == "hinge":
    values = jax.nn.relu(1.0 - beta * h)
  elif loss_type == "ipo":
    values = jnp.square(h - 1.0 / (2.0 * beta))
  else:
    values = (
      -(1 - eps) * jax.nn.log_sigmoid(beta * h)
      + eps * jax.nn.log_sigmoid(-beta * h)
    ) / (1 - 2 * eps)
  comps = _pair_components(beta * chosen, beta * rejected, out_dtype)
  return _finish(values, out_dtype, comps, return_components, found)


@scoped
def simpo(
  chosen_avg_logps: ArrayLike,
  rejected_avg_logps: ArrayLike,
  *,
  beta: float | jax.Array = 2.0,
  gamma: float | jax.Array = 0.5,
  label_smoothing: float | jax.Array = 0.0,
  segment_ids: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
  num_segments: int | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Simple preference optimisation (reference-free, length-normalised).

  With ``c`` and ``r`` the *average* per-token log-probabilities of the
  chosen and rejected responses and ``x = beta (c - r) - gamma``::

    loss = -(1 - eps) log sigmoid(x) - eps log sigmoid(-x)

  ``gamma`` is the target reward margin of the paper (in reward units, so
  it is not scaled by ``beta``); the rewards are ``beta c`` and ``beta r``.

  Args:
    chosen_avg_logps: ``[...]`` length-averaged log-probabilities.
    rejected_avg_logps: ``[...]`` likewise.
    beta: positive reward scale.
    gamma: target reward margin (>= 0).
    label_smoothing: in ``[0, 0.5)``.
    return_components: also return the rewards, margins and accuracies.
    segment_ids: optional integer ``[..., T]`` (or a pair ``(chosen,
      rejected)``) for a packed batch: the log-probability inputs are then
      per-token and reduced per sequence (module docstring).
    num_segments: static maximum number of sequences per row (default
      ``T``), with ``segment_ids``.

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jaxloss
    >>> jaxloss.simpo([-1.0], [-1.5], beta=2.0, gamma=0.5)
    Array([0.474077], dtype=float32)

  References:
    Meng, Xia and Chen, "SimPO: Simple Preference Optimization with a
    Reference-Free Reward", NeurIPS 2024 (arXiv:2405.14734), eq. 6.
  """
  caller = "simpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 0.5, high_open=True
  )
  validation.flag(caller, "return_components", return_components)
  packing = segments.Packing.make(caller, segment_ids, num_segments, 2)
  (c, r), out_dtype, found = _inputs(
    caller,
    packing,
    ("chosen_avg_logps", "rejected_avg_logps"),
    chosen_avg_logps=chosen_avg_logps,
    rejected_avg_logps=rejected_avg_logps,
  )
  x = beta * (c - r) - gamma
  values = -(1 - label_smoothing) * jax.nn.log_sigmoid(x)
  if label_smoothing:
    values = values - label_smoothing * jax.nn.log_sigmoid(-x)
  comps = _pair_components(beta * c, beta * r, out_dtype)
  return _finish(values, out_dtype, comps, return_components, found)


@scoped
def cpo(
  chosen_logps: ArrayLike,
  rejected_logps: ArrayLike,
  *,
  beta: float | jax.Array = 0.1,
  alpha: float | jax.Array = 1.0,
  chosen_nll: ArrayLike | None = None,
  label_smoothing: float | jax.Array = 0.0,
  segment_ids: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
  num_segments: int | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Contrastive preference optimisation: reference-free DPO plus an NLL
  term on the chosen responses.

  With ``c``, ``r`` the policy's sequence log-probabilities and ``x = beta
  (c - r)``::

    loss = -(1 - eps) log sigmoid(x) - eps log sigmoid(-x) + alpha * nll

  where ``nll = chosen_nll`` when given (e.g. the token-mean cross-entropy
  of the chosen responses) and ``-c`` otherwise.

  Args:
    chosen_logps: ``[...]`` policy log-probabilities of the chosen
      responses.
    rejected_logps: ``[...]`` of the rejected ones.
    beta: positive scale of the preference term.
    alpha: weight (>= 0) of the NLL term (the paper's behaviour-cloning
      regulariser).
    chosen_nll: optional ``[...]`` NLL of the chosen responses.
    label_smoothing: in ``[0, 0.5)``.
    return_components: also return the rewards ``beta c``, ``beta r``,
      margins, accuracies and ``"nll"``.
    segment_ids: optional integer ``[..., T]`` (or a pair ``(chosen,
      rejected)``) for a packed batch: the log-probability inputs are then
      per-token and reduced per sequence (module docstring).
    num_segments: static maximum number of sequences per row (default
      ``T``), with ``segment_ids``.

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jaxloss
    >>> jaxloss.cpo([-2.0], [-4.0], beta=0.5, alpha=1.0)
    Array([2.3132617], dtype=float32)

  References:
    Xu et al., "Contrastive Preference Optimization: Pushing the Boundaries
    of LLM Performance in Machine Translation", ICML 2024
    (arXiv:2401.08417), eq. 3 and 6.
  """
  caller = "cpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.check_range(caller, "alpha", alpha, low=0.0)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 0.5, high_open=True
  )
  validation.flag(caller, "return_components", return_components)
  arrays = dict(chosen_logps=chosen_logps, rejected_logps=rejected_logps)
  if chosen_nll is not None:
    arrays["chosen_nll"] = chosen_nll
  packing = segments.Packing.make(caller, segment_ids, num_segments, 2)
  values_in, out_dtype, found = _inputs(
    caller, packing, ("chosen_nll",), **arrays
  )
  c, r = values_in[0], values_in[1]
  nll = values_in[2] if chosen_nll is not None else -c
  x = beta * (c - r)
  values = -(1 - label_smoothing) * jax.nn.log_sigmoid(x)
  if label_smoothing:
    values = values - label_smoothing * jax.nn.log_sigmoid(-x)
  values = values + alpha * nll
  comps = _pair_components(beta * c, beta * r, out_dtype)
  comps["nll"] = jax.lax.stop_gradient(nll).astype(out_dtype)
  return _finish(values, out_dtype, comps, return_components, found)


@scoped
def orpo(
  chosen_avg_logps: ArrayLike,
  rejected_avg_logps: ArrayLike,
  *,
  beta: float | jax.Array = 0.1,
  chosen_nll: ArrayLike | None = None,
  segment_ids: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
  num_segments: int | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Odds-ratio preference optimisation: NLL plus an odds-ratio term.

  With ``c``, ``r`` the *average* per-token log-probabilities (so ``exp(c)``
  is a probability), ``log odds(p) = log p - log(1 - p)`` and::

    log_or = (c - log(1 - exp(c))) - (r - log(1 - exp(r)))
    loss   = nll - beta * log sigmoid(log_or)

  with ``nll = chosen_nll`` when given and ``-c`` otherwise (the paper's SFT
  term is the chosen responses' token-mean NLL). ``log(1 - exp(a))`` is
  computed stably with ``a`` clipped to ``<= -1e-7``, so a log-probability
  of 0 stays finite.

  Args:
    chosen_avg_logps: ``[...]``, each ``<= 0``.
    rejected_avg_logps: ``[...]``, each ``<= 0``.
    beta: positive weight of the odds-ratio term (the paper's lambda).
    chosen_nll: optional ``[...]`` NLL of the chosen responses.
    return_components: also return the rewards ``beta c``, ``beta r``,
      margins, accuracies, ``"log_odds_ratio"`` and ``"nll"``.
    segment_ids: optional integer ``[..., T]`` (or a pair ``(chosen,
      rejected)``) for a packed batch: the log-probability inputs are then
      per-token and reduced per sequence (module docstring).
    num_segments: static maximum number of sequences per row (default
      ``T``), with ``segment_ids``.

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jaxloss
    >>> jaxloss.orpo([-0.5], [-1.5], beta=0.1)
    Array([0.5170859], dtype=float32)

  References:
    Hong, Lee and Thorne, "ORPO: Monolithic Preference Optimization without
    Reference Model", EMNLP 2024 (arXiv:2403.07691), eq. 6-7.
  """
  caller = "orpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.flag(caller, "return_components", return_components)
  arrays = dict(
    chosen_avg_logps=chosen_avg_logps, rejected_avg_logps=rejected_avg_logps
  )
  if chosen_nll is not None:
    arrays["chosen_nll"] = chosen_nll
  packing = segments.Packing.make(caller, segment_ids, num_segments, 2)
  values_in, out_dtype, found = _inputs(
    caller, packing, tuple(arrays), **arrays
  )
  c, r = values_in[0], values_in[1]
  nll = values_in[2] if chosen_nll is not None else -c
  log_or = (c - log1mexp(c)) - (r - log1mexp(r))
  values = nll - beta * jax.nn.log_sigmoid(log_or)
  comps = _pair_components(beta * c, beta * r, out_dtype)
  comps["log_odds_ratio"] = jax.lax.stop_gradient(log_or).astype(out_dtype)
  comps["nll"] = jax.lax.stop_gradient(nll).astype(out_dtype)
  return _finish(values, out_dtype, comps, return_components, found)


@scoped
def kto(
  policy_logps: ArrayLike,
  reference_logps: ArrayLike,
  desirable: ArrayLike,
  *,
  policy_kl_logps: ArrayLike | None = None,
  reference_kl_logps: ArrayLike | None = None,
  kl: ArrayLike | None = None,
  beta: float | jax.Array = 0.1,
  desirable_weight: float | jax.Array = 1.0,
  undesirable_weight: float | jax.Array = 1.0,
  segment_ids: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
  num_segments: int | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Kahneman–Tversky optimisation on unpaired desirable / undesirable
  examples.

  With ``r = policy - reference`` (sequence log-ratio) and the reference
  point ``z0``::

    desirable:   desirable_weight   * (1 - sigmoid(beta (r - z0)))
    undesirable: undesirable_weight * (1 - sigmoid(beta (z0 - r)))

  ``z0`` is ``kl`` when given, else ``max(0, mean(policy_kl_logps -
  reference_kl_logps))`` over the batch (log-ratios of mismatched
  prompt/completion pairs, the paper's KL estimate), else 0; it carries no
  gradient. Under data parallelism compute the global estimate yourself and
  pass it as ``kl`` so that it does not depend on the local batch.

  Args:
    policy_logps: ``[...]`` policy sequence log-probabilities.
    reference_logps: ``[...]`` reference-model ones.
    desirable: bool ``[...]``, True for desirable examples.
    policy_kl_logps: optional ``[M]`` policy log-probabilities of
      mismatched pairs.
    reference_kl_logps: optional ``[M]`` reference ones (with the former).
    kl: optional scalar reference point (overrides the estimate).
    beta: positive scale.
    desirable_weight: weight (>= 0) of desirable examples.
    undesirable_weight: weight (>= 0) of undesirable examples.
    return_components: also return ``{"rewards", "kl"}`` (no gradient).
    segment_ids: optional integer ``[..., T]`` for a packed batch: the
      log-probabilities are then per-token and summed per sequence, and
      ``desirable`` is ``[..., S]`` (module docstring); the KL inputs stay
      per-sequence.
    num_segments: static maximum number of sequences per row (default
      ``T``), with ``segment_ids``.

  Returns:
    Per-example losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating log-probabilities or a non-bool mask.
    ValueError: for mismatched shapes or bad options.

  Example:
    >>> import jaxloss
    >>> jaxloss.kto([-5.0, -7.0], [-6.0, -6.0], [True, False], beta=1.0)
    Array([0.2689414, 0.2689414], dtype=float32)

  References:
    Ethayarajh et al., "KTO: Model Alignment as Prospect Theoretic
    Optimization", ICML 2024 (arXiv:2402.01306), eq. 8.
  """
  caller = "kto"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.check_range(caller, "desirable_weight", desirable_weight, low=0.0)
  validation.check_range(
    caller, "undesirable_weight", undesirable_weight, low=0.0
  )
  validation.flag(caller, "return_components", return_components)
  packing = segments.Packing.make(caller, segment_ids, num_segments)
  (p, ref), out_dtype, found = _inputs(
    caller, packing, policy_logps=policy_logps, reference_logps=reference_logps
  )
  d = numerics.as_array(caller, "desirable", desirable)
  validation.bool_mask(caller, "desirable", d)
  shapes.check_same_shape(caller, policy_logps=p, desirable=d)
  if (policy_kl_logps is None) != (reference_kl_logps is None):
    raise ValueError(
      f"{caller}: policy_kl_logps and reference_kl_logps must be given "
      f"together, got only "
      f"{'policy' if reference_kl_logps is None else 'reference'}_kl_logps"
    )
  if kl is not None:
    z0 = numerics.as_float(caller, "kl", kl)
    if z0.ndim:
      raise ValueError(f"{caller}: kl must be a scalar, got shape {z0.shape}")
    z0 = z0.astype(p.dtype)
  elif policy_kl_logps is not None:
    (pk, rk), _, _ = _inputs(
      caller,
      policy_kl_logps=policy_kl_logps,
      reference_kl_logps=reference_kl_logps,
    )
    z0 = jnp.maximum(jnp.mean(pk - rk).astype(p.dtype), 0)
  else:
    z0 = jnp.zeros((), p.dtype)
  z0 = jax.lax.stop_gradient(z0)
  r = p - ref
  values = jnp.where(
    d,
    desirable_weight * (1 - jax.nn.sigmoid(beta * (r - z0))),
    undesirable_weight * (1 - jax.nn.sigmoid(beta * (z0 - r))),
  )
  comps = {
    "rewards": jax.lax.stop_gradient(beta * r).astype(out_dtype),
    "kl": z0.astype(out_dtype),
  }
  return _finish(values, out_dtype, comps, return_components, found)
