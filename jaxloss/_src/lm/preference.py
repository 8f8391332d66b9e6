"""Preference losses on sequence log-probabilities: DPO (and its SLiC, IPO
and robust variants), SimPO, CPO, ORPO and KTO.

Every function takes per-sequence log-probabilities (sums or means over the
response tokens, e.g. from :func:`jaxloss.linear_log_probs`) and returns one
value per pair (or per example for KTO), to be reduced with
:func:`jaxloss.reduce`. With ``return_components=True`` they also return a
dict of logging quantities (rewards, margins, reward accuracy), with the
same leading shape and no gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Any
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

DPO_LOSS_TYPES = (
  "sigmoid",
  "hinge",
  "ipo",
  "robust",
  "exo_pair",
  "nca_pair",
  "bco_pair",
  "sppo_hard",
  "aot",
  "aot_unpaired",
  "aot_pair",
  "apo_zero",
  "apo_down",
  "discopop",
  "sigmoid_norm",
  "sft",
)
F_DIVERGENCES = (
  "reverse_kl",
  "forward_kl",
  "js_divergence",
  "alpha_divergence",
)
KTO_LOSS_TYPES = ("kto", "apo_zero_unpaired")
# Loss types that sort over the batch: their values are batch-level.
SORTED_LOSS_TYPES = ("aot", "aot_unpaired", "aot_pair")
# Exponentials of log-ratios are capped at exp(80) (finite in float32), as
# TRL caps its alpha-divergence scores.
EXP_CAP = 80.0


def _inputs(caller, **arrays):
  (*values,), out_dtype = numerics.floats(caller, **arrays)
  shapes.check_same_shape(caller, **{k: v for k, v in zip(arrays, values)})
  return values, out_dtype


def _pair_components(chosen_rewards, rejected_rewards, out_dtype):
  c = jax.lax.stop_gradient(chosen_rewards)
  r = jax.lax.stop_gradient(rejected_rewards)
  return {
    "chosen_rewards": c.astype(out_dtype),
    "rejected_rewards": r.astype(out_dtype),
    "margins": (c - r).astype(out_dtype),
    "accuracies": (c > r).astype(out_dtype),
  }


def _finish(values, out_dtype, components, return_components):
  values = values.astype(out_dtype)
  return (values, components) if return_components else values


def log1mexp(a):
  """``log(1 - exp(a))`` for ``a < 0``, stable at both ends (Mächler 2012);
  ``a`` is clipped to ``<= -1e-7`` first, so ``a = 0`` stays finite."""
  a = jnp.minimum(a, -1e-7)
  return jnp.where(
    a > -0.6931472, jnp.log(-jnp.expm1(a)), jnp.log1p(-jnp.exp(a))
  )


def _smoothed_sigmoid(x, eps):
  """``-(1 - eps) log sigmoid(x) - eps log sigmoid(-x)``."""
  values = -(1 - eps) * jax.nn.log_sigmoid(x)
  if not isinstance(eps, (int, float)) or eps:
    values = values - eps * jax.nn.log_sigmoid(-x)
  return values


def _capped_exp(t):
  """``exp(min(t, 80))``: finite in float32, gradient 0 past the cap."""
  return jnp.exp(jnp.minimum(t, EXP_CAP))


def _capped_expm1(t):
  """``expm1(min(t, 80))``, likewise."""
  return jnp.expm1(jnp.minimum(t, EXP_CAP))


def _f_scores(logratio, divergence, coef):
  # f'(u) at u = pi / ref = exp(logratio) (Wang et al. 2024, table 1).
  if divergence == "forward_kl":
    return -_capped_expm1(-logratio)  # 1 - 1 / u
  if divergence == "js_divergence":
    return math.log(2.0) + jax.nn.log_sigmoid(logratio)  # log(2u / (1 + u))
  if divergence == "alpha_divergence" and abs(coef - 1.0) >= 1e-6:
    # (u ** (a - 1) - 1) / (a - 1)
    return _capped_expm1((coef - 1.0) * logratio) / (coef - 1.0)
  return logratio  # log u


class _Pair(NamedTuple):
  """What the DPO loss types read: log-probabilities, log-ratios
  ``lc``/``lr``, f-divergence scores ``sc``/``sr`` and their difference
  ``d``, and the options."""

  pc: jax.Array
  pr: jax.Array
  rc: jax.Array
  rr: jax.Array
  lc: jax.Array
  lr: jax.Array
  sc: jax.Array
  sr: jax.Array
  d: jax.Array
  beta: Any
  eps: Any
  tau: Any
  shift: jax.Array
  len_c: Any
  len_r: Any
  nll: jax.Array

  def normalised_margin(self):
    return self.sc / self.len_c - self.sr / self.len_r


def _sorted_batch(x):
  return jnp.sort(x, axis=0)


_DPO_TERMS = {
  "sigmoid": lambda p: _smoothed_sigmoid(p.beta * p.d, p.eps),
  "hinge": lambda p: jax.nn.relu(1.0 - p.beta * p.d),
  "ipo": lambda p: jnp.square(
    (p.d if p.len_c is None else p.normalised_margin()) - 0.5 / p.beta
  ),
  "robust": lambda p: (
    (
      -(1 - p.eps) * jax.nn.log_sigmoid(p.beta * p.d)
      + p.eps * jax.nn.log_sigmoid(-p.beta * p.d)
    )
    / (1 - 2 * p.eps)
  ),
  "exo_pair": lambda p: (
    jax.nn.sigmoid(p.beta * p.d)
    * (jax.nn.log_sigmoid(p.beta * p.d) - jnp.log1p(-p.eps))
    + jax.nn.sigmoid(-p.beta * p.d)
    * (jax.nn.log_sigmoid(-p.beta * p.d) - jnp.log(p.eps))
  ),
  "nca_pair": lambda p: (
    -jax.nn.log_sigmoid(p.beta * p.lc)
    - 0.5 * jax.nn.log_sigmoid(-p.beta * p.lc)
    - 0.5 * jax.nn.log_sigmoid(-p.beta * p.lr)
  ),
  "bco_pair": lambda p: (
    -jax.nn.log_sigmoid(p.beta * p.lc - p.shift)
    - jax.nn.log_sigmoid(-(p.beta * p.lr - p.shift))
  ),
  "sppo_hard": lambda p: (
    jnp.square(p.lc - 0.5 / p.beta) + jnp.square(p.lr + 0.5 / p.beta)
  ),
  "aot": lambda p: _smoothed_sigmoid(
    p.beta * (_sorted_batch(p.pc - p.pr) - _sorted_batch(p.rc - p.rr)),
    p.eps,
  ),
  "aot_unpaired": lambda p: _smoothed_sigmoid(
    p.beta * (_sorted_batch(p.lc) - _sorted_batch(p.lr)), p.eps
  ),
  "apo_zero": lambda p: (
    1.0 - jax.nn.sigmoid(p.beta * p.lc) + jax.nn.sigmoid(p.beta * p.lr)
  ),
  "apo_down": lambda p: (
    jax.nn.sigmoid(p.beta * p.lc) + 1.0 - jax.nn.sigmoid(p.beta * (p.lc - p.lr))
  ),
  # sigmoid(-x / tau) softplus(-x) + sigmoid(x / tau) exp(-x), the second
  # product in log space so that it stays finite for x -> -inf.
  "discopop": lambda p: (
    jax.nn.sigmoid(-p.beta * p.d / p.tau) * jax.nn.softplus(-p.beta * p.d)
    + _capped_exp(-p.beta * p.d + jax.nn.log_sigmoid(p.beta * p.d / p.tau))
  ),
  "sigmoid_norm": lambda p: _smoothed_sigmoid(
    p.beta * p.normalised_margin(), p.eps
  ),
  "sft": lambda p: p.nll,
}
_DPO_TERMS["aot_pair"] = _DPO_TERMS["aot_unpaired"]


def _loss_types(caller, loss_type, loss_weights, choices):
  """``loss_type`` (one name or a sequence) and ``loss_weights`` as
  matching tuples."""
  types = (loss_type,) if isinstance(loss_type, str) else loss_type
  if not isinstance(types, (tuple, list)) or not types:
    raise ValueError(
      f"{caller}: loss_type must be one of {choices} or a non-empty "
      f"sequence of them, got {loss_type!r}"
    )
  for t in types:
    validation.choice(caller, "loss_type", t, choices)
  if loss_weights is None:
    return tuple(types), (1.0,) * len(types)
  if not isinstance(loss_weights, (tuple, list)) or len(loss_weights) != len(
    types
  ):
    raise ValueError(
      f"{caller}: loss_weights must be a sequence of {len(types)} numbers "
      f"(one per loss type), got {loss_weights!r}"
    )
  for i, w in enumerate(loss_weights):
    validation.number(caller, f"loss_weights[{i}]", w)
  return tuple(types), tuple(loss_weights)


def _together(caller, **optional):
  """Two optional inputs that are given both or neither."""
  (a, x), (b, y) = optional.items()
  if (x is None) != (y is None):
    raise ValueError(
      f"{caller}: {a} and {b} must be given together, got only "
      f"{a if y is None else b}"
    )


def _lengths(caller, name, x, like):
  x = numerics.as_array(caller, name, x)
  if not (
    jnp.issubdtype(x.dtype, jnp.integer)
    or jnp.issubdtype(x.dtype, jnp.floating)
  ):
    raise TypeError(f"{caller}: {name} must hold token counts, got {x.dtype}")
  shapes.check_same_shape(caller, policy_chosen_logps=like, **{name: x})
  return jnp.maximum(x.astype(like.dtype), 1)


@scoped
def dpo(
  policy_chosen_logps: InputLike,
  policy_rejected_logps: InputLike,
  reference_chosen_logps: InputLike,
  reference_rejected_logps: InputLike,
  *,
  beta: float | jax.Array = 0.1,
  loss_type: str | Sequence[str] = "sigmoid",
  loss_weights: Sequence[float | jax.Array] | None = None,
  label_smoothing: float | jax.Array = 0.0,
  f_divergence: str = "reverse_kl",
  f_alpha_divergence_coef: float = 0.5,
  discopop_tau: float | jax.Array = 0.05,
  bco_reward_mean: InputLike | None = None,
  chosen_lengths: InputLike | None = None,
  rejected_lengths: InputLike | None = None,
  chosen_nll: InputLike | None = None,
  rpo_alpha: float | jax.Array = 0.0,
  wpo_chosen_logps: InputLike | None = None,
  wpo_rejected_logps: InputLike | None = None,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Direct preference optimisation and its variants, alone or mixed.

  With the log-ratios ``lc = pi_c - ref_c``, ``lr = pi_r - ref_r`` of the
  chosen and the rejected response, their f-divergence scores ``sc =
  f(lc)``, ``sr = f(lr)``, ``d = sc - sr`` (``h = lc - lr`` under the
  default reverse KL, ``f(l) = l``), ``eps = label_smoothing`` and
  ``S(x) = -(1 - eps) log sigmoid(x) - eps log sigmoid(-x)``::

    sigmoid:      S(beta d)                      (DPO; cDPO for eps > 0)
    hinge:        max(0, 1 - beta d)                              (SLiC)
    ipo:          (d - 1 / (2 beta)) ** 2      (d per token with lengths)
    robust:       (-(1 - eps) log sigmoid(beta d)
                   + eps log sigmoid(-beta d)) / (1 - 2 eps)
    exo_pair:     q log(q / (1 - eps)) + (1 - q) log((1 - q) / eps),
                  q = sigmoid(beta d)                     (eps > 0 needed)
    nca_pair:     -log sigmoid(beta lc) - log sigmoid(-beta lc) / 2
                  - log sigmoid(-beta lr) / 2
    bco_pair:     -log sigmoid(beta lc - delta) - log sigmoid(delta - beta lr)
    sppo_hard:    (lc - 1 / (2 beta)) ** 2 + (lr + 1 / (2 beta)) ** 2
    aot:          S(beta (sort(pi_c - pi_r) - sort(ref_c - ref_r)))
    aot_unpaired: S(beta (sort(lc) - sort(lr)))        (alias: aot_pair)
    apo_zero:     1 - sigmoid(beta lc) + sigmoid(beta lr)
    apo_down:     sigmoid(beta lc) + 1 - sigmoid(beta (lc - lr))
    discopop:     sigmoid(-x / tau) softplus(-x) + sigmoid(x / tau) e^-x,
                  x = beta d
    sigmoid_norm: S(beta (sc / n_c - sr / n_r))
    sft:          nll  (chosen_nll, or -pi_c when not given)

  The f-divergence scores (Wang et al.) are ``f'(u)`` at ``u = exp(l)``:
  ``l`` (``reverse_kl``, standard DPO), ``1 - exp(-l)`` (``forward_kl``),
  ``log 2 + log sigmoid(l)`` (``js_divergence``) and ``(exp((a - 1) l) -
  1) / (a - 1)`` (``alpha_divergence`` with ``a =
  f_alpha_divergence_coef``; ``a = 1`` is reverse KL); exponents are capped
  at 80. As in TRL, ``nca_pair``, ``bco_pair``, ``sppo_hard``, ``aot*``
  and ``apo_*`` read the log-ratios, not the scores. ``delta`` is
  ``bco_reward_mean`` (the running mean of the rewards that BCO keeps; the
  batch's mean reward is returned in the components so that the caller can
  update it), 0 when not given. ``n_c``, ``n_r`` are ``chosen_lengths``
  and ``rejected_lengths`` (token counts, clipped below at 1).

  ``loss_type`` may name several types: the loss is then
  ``sum_k loss_weights[k] * loss_k`` (MPO mixes ``("sigmoid", "bco_pair",
  "sft")``). ``rpo_alpha > 0`` adds ``rpo_alpha * nll`` (RPO). With
  ``wpo_chosen_logps`` and ``wpo_rejected_logps`` (the policy's
  length-averaged aligned log-probabilities, see
  :func:`jaxloss.wpo_logps`), the whole per-pair loss is multiplied by
  ``exp(stop_gradient(wpo_c + wpo_r))`` (WPO). ``aot*`` sort over the
  leading (batch) axis, so their values depend on the whole batch (and
  cannot be WPO-weighted).

  Args:
    policy_chosen_logps: ``[...]`` policy log-probabilities of the chosen
      responses (for LD-DPO, from :func:`jaxloss.length_desensitized_logps`).
    policy_rejected_logps: ``[...]`` of the rejected responses.
    reference_chosen_logps: ``[...]`` reference-model log-probabilities of
      the chosen responses (treated as data: pass them under
      ``stop_gradient`` or computed without gradient).
    reference_rejected_logps: ``[...]`` likewise for the rejected ones.
    beta: positive inverse temperature (KL strength).
    loss_type: one of the names above, or a sequence of them.
    loss_weights: one number per loss type (default: all 1).
    label_smoothing: in ``[0, 0.5)``; read by sigmoid, robust, exo_pair,
      aot*, sigmoid_norm.
    f_divergence: ``"reverse_kl"``, ``"forward_kl"``, ``"js_divergence"``
      or ``"alpha_divergence"``.
    f_alpha_divergence_coef: the alpha of ``alpha_divergence`` (a Python
      number).
    discopop_tau: positive temperature of DiscoPOP's blend.
    bco_reward_mean: optional scalar ``delta`` of ``bco_pair`` (no
      gradient).
    chosen_lengths: optional ``[...]`` token counts of the chosen responses
      (needed by sigmoid_norm; makes ipo per token).
    rejected_lengths: ``[...]`` likewise (with the former).
    chosen_nll: optional ``[...]`` NLL of the chosen responses, for sft and
      ``rpo_alpha``.
    rpo_alpha: weight (>= 0) of the NLL added by RPO.
    wpo_chosen_logps: optional ``[...]`` WPO log-weights of the chosen
      responses.
    wpo_rejected_logps: ``[...]`` likewise (with the former).
    return_components: also return ``{"chosen_rewards",
      "rejected_rewards", "margins", "accuracies"}`` (rewards ``beta lc``,
      ``beta lr``), plus ``"reward_mean"`` (scalar) with bco_pair and
      ``"weights"`` with WPO, all without gradient.

  Returns:
    Per-pair losses ``[...]`` in the inputs' dtype, and the components dict
    when asked.

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jaxloss
    >>> jaxloss.dpo([-10.0], [-12.0], [-11.0], [-11.0], beta=0.5)
    Array([0.3132617], dtype=float32)

  References:
    Rafailov et al., "Direct Preference Optimization", NeurIPS 2023
    (arXiv:2305.18290), eq. 7. Zhao et al., "SLiC-HF", 2023
    (arXiv:2305.10425). Azar et al. (IPO), 2023 (arXiv:2310.12036), eq. 17.
    Chowdhury et al., "Provably Robust DPO", ICML 2024 (arXiv:2403.00409).
    Mitchell, "A note on DPO with noisy preferences" (cDPO), 2023. Ji et
    al. (EXO), 2024 (arXiv:2402.00856), eq. 16. Chen et al. (NCA), 2024
    (arXiv:2402.05369). Jung et al. (BCO), 2024 (arXiv:2404.04656). Wu et
    al. (SPPO), 2024 (arXiv:2405.00675). Melnyk et al. (AOT), 2024
    (arXiv:2406.05882). D'Oosterlinck et al. (APO), 2024
    (arXiv:2408.06266), eq. 7-8. Chris Lu et al. (DiscoPOP), 2024
    (arXiv:2406.08414), eq. 5. Xiao et al. (MPO), 2024 (arXiv:2411.10442).
    Pang et al. (RPO), 2024 (arXiv:2404.19733). Zhou et al. (WPO), 2024
    (arXiv:2406.11827), eq. 2. Wang et al. (f-DPO), ICLR 2024
    (arXiv:2309.16240). TRL 1.16's ``DPOTrainer`` for the exact forms
    above.
  """
  caller = "dpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  types, weights = _loss_types(caller, loss_type, loss_weights, DPO_LOSS_TYPES)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 0.5, high_open=True
  )
  validation.choice(caller, "f_divergence", f_divergence, F_DIVERGENCES)
  validation.static_number(
    caller, "f_alpha_divergence_coef", f_alpha_divergence_coef
  )
  validation.check_range(
    caller, "discopop_tau", discopop_tau, low=0.0, low_open=True
  )
  validation.check_range(caller, "rpo_alpha", rpo_alpha, low=0.0)
  validation.flag(caller, "return_components", return_components)
  if "exo_pair" in types and isinstance(label_smoothing, (int, float)):
    if label_smoothing == 0:
      raise ValueError(
        f"{caller}: label_smoothing must be > 0 for loss_type 'exo_pair' "
        f"(EXO's target probability of the rejected response; the paper "
        f"suggests 1e-3), got {label_smoothing!r}"
      )
  _together(
    caller, chosen_lengths=chosen_lengths, rejected_lengths=rejected_lengths
  )
  if "sigmoid_norm" in types and chosen_lengths is None:
    raise ValueError(
      f"{caller}: loss_type 'sigmoid_norm' needs chosen_lengths and "
      f"rejected_lengths, got neither"
    )
  _together(
    caller,
    wpo_chosen_logps=wpo_chosen_logps,
    wpo_rejected_logps=wpo_rejected_logps,
  )
  sorting = [t for t in types if t in SORTED_LOSS_TYPES]
  if sorting and wpo_chosen_logps is not None:
    raise ValueError(
      f"{caller}: WPO weights (wpo_chosen_logps) cannot be combined with "
      f"loss_type {sorting[0]!r}, which sorts the batch, got both"
    )
  arrays = dict(
    policy_chosen_logps=policy_chosen_logps,
    policy_rejected_logps=policy_rejected_logps,
    reference_chosen_logps=reference_chosen_logps,
    reference_rejected_logps=reference_rejected_logps,
  )
  if chosen_nll is not None:
    arrays["chosen_nll"] = chosen_nll
  if wpo_chosen_logps is not None and wpo_rejected_logps is not None:
    arrays["wpo_chosen_logps"] = wpo_chosen_logps
    arrays["wpo_rejected_logps"] = wpo_rejected_logps
  values_in, out_dtype = _inputs(caller, **arrays)
  named = dict(zip(arrays, values_in))
  pc, pr, rc, rr = values_in[:4]
  if sorting and pc.ndim == 0:
    raise ValueError(
      f"{caller}: loss_type {sorting[0]!r} sorts over the leading (batch) "
      f"axis and needs inputs of rank >= 1, got shape ()"
    )
  if bco_reward_mean is None:
    shift = jnp.zeros((), pc.dtype)
  else:
    shift = numerics.as_array(caller, "bco_reward_mean", bco_reward_mean)
    if jnp.issubdtype(shift.dtype, jnp.bool_):
      raise TypeError(f"{caller}: bco_reward_mean must be a number, got bool")
    if shift.ndim:
      raise ValueError(
        f"{caller}: bco_reward_mean must be a scalar, got shape {shift.shape}"
      )
    shift = jax.lax.stop_gradient(shift.astype(pc.dtype))
  len_c = len_r = None
  if chosen_lengths is not None:
    len_c = _lengths(caller, "chosen_lengths", chosen_lengths, pc)
    len_r = _lengths(caller, "rejected_lengths", rejected_lengths, pc)
  lc, lr = pc - rc, pr - rr
  sc = _f_scores(lc, f_divergence, f_alpha_divergence_coef)
  sr = _f_scores(lr, f_divergence, f_alpha_divergence_coef)
  nll = named.get("chosen_nll", -pc)
  pair = _Pair(
    pc=pc, pr=pr, rc=rc, rr=rr, lc=lc, lr=lr, sc=sc, sr=sr, d=sc - sr,
    beta=beta, eps=label_smoothing, tau=discopop_tau, shift=shift,
    len_c=len_c, len_r=len_r, nll=nll,
  )  # fmt: skip
  values = sum(w * _DPO_TERMS[t](pair) for t, w in zip(types, weights))
  if not isinstance(rpo_alpha, (int, float)) or rpo_alpha:
    values = values + rpo_alpha * nll
  comps = _pair_components(beta * lc, beta * lr, out_dtype)
  if "bco_pair" in types:
    mean = 0.5 * (jnp.mean(beta * lc) + jnp.mean(beta * lr))
    comps["reward_mean"] = jax.lax.stop_gradient(mean).astype(out_dtype)
  if wpo_chosen_logps is not None:
    w = jnp.exp(
      jax.lax.stop_gradient(
        named["wpo_chosen_logps"] + named["wpo_rejected_logps"]
      )
    )
    values = values * w
    comps["weights"] = w.astype(out_dtype)
  return _finish(values, out_dtype, comps, return_components)


@scoped
def length_desensitized_logps(
  chosen_token_logps: InputLike,
  rejected_token_logps: InputLike,
  *,
  chosen_where: InputLike,
  rejected_where: InputLike,
  ld_alpha: float | jax.Array,
) -> tuple[jax.Array, jax.Array]:
  r"""LD-DPO's sequence log-probabilities: tokens past the shared length
  count with weight ``ld_alpha``.

  With ``n = min(n_c, n_r)`` the shorter response's number of valid
  tokens, each response's value is the sum of its first ``n`` valid
  tokens' log-probabilities plus ``ld_alpha`` times the sum of the rest::

    logps = sum_{k <= n} logp_k + ld_alpha * sum_{k > n} logp_k

  (``k`` counts valid tokens only). Apply it to the policy's and the
  reference model's per-token log-probabilities alike and pass the results
  to :func:`jaxloss.dpo`. ``ld_alpha = 1`` is the plain sum; 0 drops the
  tail.

  Args:
    chosen_token_logps: ``[..., T_c]`` per-token log-probabilities of the
      chosen responses.
    rejected_token_logps: ``[..., T_r]`` of the rejected ones (same leading
      shape).
    chosen_where: bool ``[..., T_c]``, True at the response's tokens.
    rejected_where: bool ``[..., T_r]``.
    ld_alpha: weight in ``[0, 1]`` of the tokens past the shared length.

  Returns:
    ``(chosen_logps, rejected_logps)``, each ``[...]``.

  Raises:
    TypeError: for non-floating log-probabilities or non-bool masks.
    ValueError: for mismatched shapes or ``ld_alpha`` outside ``[0, 1]``.

  Examples:
    >>> import jaxloss
    >>> c, r = jaxloss.length_desensitized_logps(
    ...     [[-1.0, -1.0, -1.0]], [[-2.0, 0.0, 0.0]],
    ...     chosen_where=[[True, True, True]],
    ...     rejected_where=[[True, False, False]], ld_alpha=0.5)
    >>> c, r
    (Array([-2.], dtype=float32), Array([-2.], dtype=float32))

  References:
    Liu et al., "Length Desensitization in Direct Preference Optimization"
    (LD-DPO), 2024 (arXiv:2409.06411); TRL's ``DPOConfig.ld_alpha``.
  """
  caller = "length_desensitized_logps"
  validation.check_range(caller, "ld_alpha", ld_alpha, 0.0, 1.0)
  (c, r), out_dtype = numerics.floats(
    caller,
    chosen_token_logps=chosen_token_logps,
    rejected_token_logps=rejected_token_logps,
  )
  mc = numerics.as_array(caller, "chosen_where", chosen_where)
  mr = numerics.as_array(caller, "rejected_where", rejected_where)
  validation.bool_mask(caller, "chosen_where", mc)
  validation.bool_mask(caller, "rejected_where", mr)
  shapes.check_same_shape(caller, chosen_token_logps=c, chosen_where=mc)
  shapes.check_same_shape(caller, rejected_token_logps=r, rejected_where=mr)
  if c.ndim == 0 or c.shape[:-1] != r.shape[:-1]:
    raise ValueError(
      f"{caller}: chosen_token_logps and rejected_token_logps must have the "
      f"same leading shape and a token axis, got {c.shape} and {r.shape}"
    )
  pos_c, pos_r = jnp.cumsum(mc, -1), jnp.cumsum(mr, -1)
  shared = jnp.minimum(pos_c[..., -1], pos_r[..., -1])[..., None]

  def weighted(x, m, pos):
    w = jnp.where(pos <= shared, 1.0, ld_alpha).astype(x.dtype)
    return jnp.sum(jnp.where(m, x, 0) * w, -1).astype(out_dtype)

  return weighted(c, mc, pos_c), weighted(r, mr, pos_r)


@scoped
def wpo_logps(
  token_logps: InputLike, logits: InputLike, *, where: InputLike
) -> jax.Array:
  r"""WPO's per-sequence log-weight: the length-averaged log-probability
  aligned by the distribution's collision probability, without gradient.

  Per sequence, over its valid tokens ``t`` with next-token logits
  ``s_t``::

    wpo = mean_t (log p(y_t) - log sum_v p_v(t) ** 2),  p(t) = softmax(s_t)

  ``exp(wpo_c + wpo_r)`` is the weight of a pair in :func:`jaxloss.dpo`
  (``wpo_chosen_logps``, ``wpo_rejected_logps``). ``log sum_v p_v ** 2`` is
  ``logsumexp(2 s) - 2 logsumexp(s)``. This form needs the logits; without
  them, the plain mean log-probability is the paper's unaligned weight.

  Args:
    token_logps: ``[..., T]`` log-probabilities of the sampled tokens.
    logits: ``[..., T, V]`` the logits they come from.
    where: bool ``[..., T]``, True at the response's tokens.

  Returns:
    ``[...]`` log-weights (0 for a sequence without valid tokens).

  Raises:
    TypeError: for non-floating inputs or a non-bool mask.
    ValueError: for mismatched shapes.

  Examples:
    >>> import jaxloss
    >>> jaxloss.wpo_logps([[-0.5]], [[[0.0, 0.0]]], where=[[True]])
    Array([0.19314718], dtype=float32)

  References:
    Zhou et al., "WPO: Enhancing RLHF with Weighted Preference
    Optimization", EMNLP 2024 (arXiv:2406.11827), eq. 2 and section 3.2.
  """
  caller = "wpo_logps"
  (lp, s), out_dtype = numerics.floats(
    caller, token_logps=token_logps, logits=logits
  )
  m = numerics.as_array(caller, "where", where)
  validation.bool_mask(caller, "where", m)
  shapes.check_same_shape(caller, token_logps=lp, where=m)
  if s.shape[:-1] != lp.shape:
    raise ValueError(
      f"{caller}: logits must have shape token_logps.shape + (V,), got "
      f"{s.shape} for token_logps of shape {lp.shape}"
    )
  log_coll = jax.nn.logsumexp(2 * s, -1) - 2 * jax.nn.logsumexp(s, -1)
  aligned = jnp.where(m, lp - log_coll, 0)
  count = jnp.sum(m, -1).astype(lp.dtype)
  out = numerics.safe_divide(jnp.sum(aligned, -1), count)
  return jax.lax.stop_gradient(out).astype(out_dtype)


@scoped
def simpo(
  chosen_avg_logps: InputLike,
  rejected_avg_logps: InputLike,
  *,
  beta: float | jax.Array = 2.0,
  gamma: float | jax.Array = 0.5,
  label_smoothing: float | jax.Array = 0.0,
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

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Examples:
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
  (c, r), out_dtype = _inputs(
    caller,
    chosen_avg_logps=chosen_avg_logps,
    rejected_avg_logps=rejected_avg_logps,
  )
  values = _smoothed_sigmoid(beta * (c - r) - gamma, label_smoothing)
  comps = _pair_components(beta * c, beta * r, out_dtype)
  return _finish(values, out_dtype, comps, return_components)


@validation.deprecated_alias({"alpha": "cpo_alpha"})
@scoped
def cpo(
  chosen_logps: InputLike,
  rejected_logps: InputLike,
  *,
  beta: float | jax.Array = 0.1,
  cpo_alpha: float | jax.Array = 1.0,
  alphapo_alpha: float | jax.Array = 0.0,
  gamma: float | jax.Array = 0.0,
  chosen_nll: InputLike | None = None,
  label_smoothing: float | jax.Array = 0.0,
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Contrastive preference optimisation: reference-free DPO plus an NLL
  term on the chosen responses; AlphaPO's reward shaping.

  With ``c``, ``r`` the policy's log-probabilities of the chosen and the
  rejected responses, the rewards ``u(c)``, ``u(r)`` and ``x = beta
  (u(c) - u(r)) - gamma``::

    loss = -(1 - eps) log sigmoid(x) - eps log sigmoid(-x) + cpo_alpha * nll
    u(l) = l                                     if alphapo_alpha = 0
    u(l) = (1 - exp(-a l)) / a,  a = alphapo_alpha  otherwise   (AlphaPO)

  where ``nll = chosen_nll`` when given (TRL passes the token-mean
  cross-entropy of the chosen responses) and ``-c`` otherwise (the
  sequence's sum when ``c`` is a sum). ``exp(-a l)`` is capped at
  ``exp(80)``. AlphaPO is ``cpo(c_avg, r_avg, cpo_alpha=0, gamma=...,
  alphapo_alpha=...)`` on length-averaged log-probabilities (SimPO's form;
  ``alphapo_alpha = 0`` is SimPO).

  ``cpo_alpha`` was called ``alpha`` before; ``alpha=`` still works, with a
  ``DeprecationWarning`` (TRL's ``alpha`` is AlphaPO's, here
  ``alphapo_alpha``).

  Args:
    chosen_logps: ``[...]`` policy log-probabilities of the chosen
      responses.
    rejected_logps: ``[...]`` of the rejected ones.
    beta: positive scale of the preference term.
    cpo_alpha: weight (>= 0) of the NLL term (the paper's behaviour-cloning
      regulariser; TRL's ``cpo_alpha``).
    alphapo_alpha: AlphaPO's reward-shape parameter (TRL's ``alpha``); 0 is
      the log-probability reward.
    gamma: target reward margin (>= 0; TRL's ``simpo_gamma``).
    chosen_nll: optional ``[...]`` NLL of the chosen responses.
    label_smoothing: in ``[0, 0.5)``.
    return_components: also return the rewards ``beta u(c)``, ``beta
      u(r)``, margins, accuracies and ``"nll"``.

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jaxloss
    >>> jaxloss.cpo([-2.0], [-4.0], beta=0.5, cpo_alpha=1.0)
    Array([2.3132617], dtype=float32)

  References:
    Xu et al., "Contrastive Preference Optimization: Pushing the Boundaries
    of LLM Performance in Machine Translation", ICML 2024
    (arXiv:2401.08417), eq. 3 and 6. Gupta et al., "AlphaPO: Reward Shape
    Matters for LLM Alignment", 2025 (arXiv:2501.03884). TRL's
    ``CPOTrainer`` (TRL 1.16) for the AlphaPO reward.
  """
  caller = "cpo"
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.check_range(caller, "cpo_alpha", cpo_alpha, low=0.0)
  validation.number(caller, "alphapo_alpha", alphapo_alpha)
  validation.check_range(caller, "gamma", gamma, low=0.0)
  validation.check_range(
    caller, "label_smoothing", label_smoothing, 0.0, 0.5, high_open=True
  )
  validation.flag(caller, "return_components", return_components)
  arrays = dict(chosen_logps=chosen_logps, rejected_logps=rejected_logps)
  if chosen_nll is not None:
    arrays["chosen_nll"] = chosen_nll
  values_in, out_dtype = _inputs(caller, **arrays)
  c, r = values_in[0], values_in[1]
  nll = values_in[2] if chosen_nll is not None else -c
  uc, ur = _alphapo_reward(c, alphapo_alpha), _alphapo_reward(r, alphapo_alpha)
  values = _smoothed_sigmoid(beta * (uc - ur) - gamma, label_smoothing)
  values = values + cpo_alpha * nll
  comps = _pair_components(beta * uc, beta * ur, out_dtype)
  comps["nll"] = jax.lax.stop_gradient(nll).astype(out_dtype)
  return _finish(values, out_dtype, comps, return_components)


def _alphapo_reward(logps, a):
  """AlphaPO's ``(1 - p ** -a) / a`` for ``p = exp(logps)``; ``logps`` at
  ``a = 0`` (its limit)."""
  if isinstance(a, (int, float)) and a == 0:
    return logps
  safe = jnp.where(a == 0, 1.0, a)
  shaped = -_capped_expm1(-safe * logps) / safe
  return jnp.where(a == 0, logps, shaped)


@scoped
def orpo(
  chosen_avg_logps: InputLike,
  rejected_avg_logps: InputLike,
  *,
  beta: float | jax.Array = 0.1,
  chosen_nll: InputLike | None = None,
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

  Returns:
    Per-pair losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating inputs.
    ValueError: for mismatched shapes or bad options.

  Examples:
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
  values_in, out_dtype = _inputs(caller, **arrays)
  c, r = values_in[0], values_in[1]
  nll = values_in[2] if chosen_nll is not None else -c
  log_or = (c - log1mexp(c)) - (r - log1mexp(r))
  values = nll - beta * jax.nn.log_sigmoid(log_or)
  comps = _pair_components(beta * c, beta * r, out_dtype)
  comps["log_odds_ratio"] = jax.lax.stop_gradient(log_or).astype(out_dtype)
  comps["nll"] = jax.lax.stop_gradient(nll).astype(out_dtype)
  return _finish(values, out_dtype, comps, return_components)


@scoped
def kto(
  policy_logps: InputLike,
  reference_logps: InputLike,
  desirable: InputLike,
  *,
  policy_kl_logps: InputLike | None = None,
  reference_kl_logps: InputLike | None = None,
  kl: InputLike | None = None,
  beta: float | jax.Array = 0.1,
  desirable_weight: float | jax.Array = 1.0,
  undesirable_weight: float | jax.Array = 1.0,
  loss_type: str = "kto",
  return_components: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
  r"""Kahneman–Tversky optimisation on unpaired desirable / undesirable
  examples, and APO-zero's unpaired form.

  With ``r = policy - reference`` (sequence log-ratio) and the reference
  point ``z0``::

    desirable:   desirable_weight   * (1 - sigmoid(beta (r - z0)))
    undesirable: undesirable_weight * (1 - sigmoid(beta (z0 - r)))

  ``z0`` is ``kl`` when given, else ``max(0, mean(policy_kl_logps -
  reference_kl_logps))`` over the batch (log-ratios of mismatched
  prompt/completion pairs, the paper's KL estimate), else 0; it carries no
  gradient. Under data parallelism compute the global estimate yourself and
  pass it as ``kl`` so that it does not depend on the local batch.

  ``loss_type="apo_zero_unpaired"`` is the same with ``z0 = 0`` and no KL
  estimate (APO-zero on unpaired data: ``1 - sigmoid(beta r)`` for
  desirable examples, ``sigmoid(beta r)`` for undesirable ones); the KL
  arguments are then rejected.

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
    loss_type: ``"kto"`` or ``"apo_zero_unpaired"``.
    return_components: also return ``{"rewards", "kl"}`` (no gradient).

  Returns:
    Per-example losses ``[...]`` (and the components dict when asked).

  Raises:
    TypeError: for non-floating log-probabilities or a non-bool mask.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jaxloss
    >>> jaxloss.kto([-5.0, -7.0], [-6.0, -6.0], [True, False], beta=1.0)
    Array([0.2689414, 0.2689414], dtype=float32)

  References:
    Ethayarajh et al., "KTO: Model Alignment as Prospect Theoretic
    Optimization", ICML 2024 (arXiv:2402.01306), eq. 8. D'Oosterlinck et
    al., "Anchored Preference Optimization and Contrastive Revisions"
    (APO), 2024 (arXiv:2408.06266), eq. 7; TRL 1.16's ``KTOTrainer`` for
    its unpaired form.
  """
  caller = "kto"
  validation.choice(caller, "loss_type", loss_type, KTO_LOSS_TYPES)
  if loss_type == "apo_zero_unpaired":
    given = [
      n
      for n, v in (
        ("kl", kl),
        ("policy_kl_logps", policy_kl_logps),
        ("reference_kl_logps", reference_kl_logps),
      )
      if v is not None
    ]
    if given:
      raise ValueError(
        f"{caller}: loss_type 'apo_zero_unpaired' has no reference point; "
        f"{given[0]} must not be given, got {given[0]}"
      )
  validation.check_range(caller, "beta", beta, low=0.0, low_open=True)
  validation.check_range(caller, "desirable_weight", desirable_weight, low=0.0)
  validation.check_range(
    caller, "undesirable_weight", undesirable_weight, low=0.0
  )
  validation.flag(caller, "return_components", return_components)
  (p, ref), out_dtype = _inputs(
    caller, policy_logps=policy_logps, reference_logps=reference_logps
  )
  d = numerics.as_array(caller, "desirable", desirable)
  validation.bool_mask(caller, "desirable", d)
  shapes.check_same_shape(caller, policy_logps=p, desirable=d)
  _together(
    caller,
    policy_kl_logps=policy_kl_logps,
    reference_kl_logps=reference_kl_logps,
  )
  if kl is not None:
    z0 = numerics.as_float(caller, "kl", kl)
    if z0.ndim:
      raise ValueError(f"{caller}: kl must be a scalar, got shape {z0.shape}")
    z0 = z0.astype(p.dtype)
  elif policy_kl_logps is not None:
    (pk, rk), _ = _inputs(
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
  return _finish(values, out_dtype, comps, return_components)
