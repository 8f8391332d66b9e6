"""Small helpers post-training loops write by hand: per-sequence sums of
per-token values (the inputs of the preference losses) and GRPO's
group-normalised advantages (the inputs of :func:`policy_gradient`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

ADVANTAGE_SCALES = ("group", "batch", "none")


@scoped
def sequence_log_probs(
  token_values: InputLike,
  *,
  where: InputLike | None = None,
  mean: bool = False,
) -> jax.Array:
  """Per-sequence sums (or means) of per-token values over the last axis.

  With the mask ``m`` (``where``; all ones when None)::

    sum:  s_b = sum_t m_bt v_bt
    mean: s_b = sum_t m_bt v_bt / sum_t m_bt      (0 for an empty sequence)

  The per-token values are typically the log-probabilities of
  :func:`jaxloss.linear_log_probs`; the sums are what :func:`jaxloss.dpo`,
  :func:`jaxloss.kto` and :func:`jaxloss.orpo` take, the means what
  :func:`jaxloss.simpo` takes. Masked tokens contribute neither value nor
  gradient, even when they hold NaN or infinities.

  Args:
    token_values: ``[..., T]`` floating per-token values.
    where: ``[..., T]`` mask of the tokens that count: booleans, or 0/1
      numbers (a trainer's ``completion_mask``; nonzero counts), or None
      for every token.
    mean: divide each sum by the sequence's number of counted tokens.

  Returns:
    ``[...]``: float32 for half-precision values (sums over many tokens),
    else the values' dtype.

  Raises:
    TypeError: for non-floating values, a non-numeric mask or a non-bool
      ``mean``.
    ValueError: for values of rank 0 or a mask of another shape.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> lp = jnp.array([[-1.0, -2.0, -9.0], [-0.5, -0.5, -0.5]])
    >>> m = jnp.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    >>> jaxloss.sequence_log_probs(lp, where=m)
    Array([-3. , -1.5], dtype=float32)
    >>> jaxloss.sequence_log_probs(lp, where=m, mean=True)
    Array([-1.5, -0.5], dtype=float32)
  """
  caller = "sequence_log_probs"
  validation.flag(caller, "mean", mean)
  values = numerics.as_float(caller, "token_values", token_values)
  if values.ndim < 1:
    raise ValueError(
      f"{caller}: token_values must have a token axis [..., T], got "
      f"token_values.shape={tuple(values.shape)}"
    )
  values = values.astype(numerics.compute_dtype(values.dtype))
  if where is None:
    mask = jnp.ones(values.shape, bool)
  else:
    mask = numerics.as_array(caller, "where", where)
    mask = validation.binary_mask(caller, "where", mask)
    shapes.check_same_shape(caller, token_values=values, where=mask)
  total = jnp.sum(jnp.where(mask, values, 0), axis=-1)
  if not mean:
    return total
  count = jnp.sum(mask, axis=-1, dtype=values.dtype)
  return numerics.safe_divide(total, count)


@scoped
def group_advantages(
  rewards: InputLike,
  *,
  scale: str = "group",
  ddof: int = 1,
  eps: float = 1e-4,
) -> jax.Array:
  """GRPO's group-relative advantages: rewards centred within each group.

  The last axis of ``rewards`` holds one group (the completions sampled
  for one prompt). With ``r_bi`` the reward of completion ``i`` of group
  ``b``, ``mu_b`` the group's mean and ``sd`` a standard deviation with
  ``ddof`` degrees of freedom removed::

    "group": A_bi = (r_bi - mu_b) / (sd(r_b) + eps)      GRPO
    "batch": A_bi = (r_bi - mu_b) / (sd(r) + eps)        sd of all rewards
    "none":  A_bi =  r_bi - mu_b                          Dr. GRPO

  The defaults (``ddof=1``, ``eps=1e-4``) follow TRL's ``GRPOTrainer``
  (``scale_rewards="group"``, ``"batch"``, ``"none"``). A group whose
  rewards are all equal gets zero advantages. Rewards laid out flat,
  ``[num_prompts * G]`` with each prompt's ``G`` completions adjacent,
  take a ``reshape(-1, G)`` first and a ``reshape(-1)`` after.

  Args:
    rewards: ``[..., G]`` floating rewards, ``G >= 1`` completions a group.
    scale: ``"group"``, ``"batch"`` or ``"none"``.
    ddof: degrees of freedom removed from the count in the standard
      deviation (1: the unbiased estimate; 0: the population one).
    eps: added to the standard deviation (>= 0).

  Returns:
    ``[..., G]`` advantages in the rewards' dtype (computed in float32
    for half-precision rewards); pass them (a row per sequence) to
    :func:`jaxloss.policy_gradient`.

  Raises:
    TypeError: for non-floating rewards or bad option types.
    ValueError: for rewards of rank 0 or an unknown ``scale``.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> r = jnp.array([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    >>> jaxloss.group_advantages(r, eps=0.0).tolist()
    [[0.866, -0.866, -0.866, 0.866], [-0.5, -0.5, -0.5, 1.5]]
    >>> jaxloss.group_advantages(r, scale="none")
    Array([[ 0.5 , -0.5 , -0.5 ,  0.5 ],
           [-0.25, -0.25, -0.25,  0.75]], dtype=float32)

  References:
    Shao et al., "DeepSeekMath" (GRPO), 2024 (arXiv:2402.03300),
    section 4.1.2. Liu et al., "Understanding R1-Zero-Like Training: A
    Critical Perspective" (Dr. GRPO), 2025 (arXiv:2503.20783).
  """
  caller = "group_advantages"
  validation.choice(caller, "scale", scale, ADVANTAGE_SCALES)
  validation.integer(caller, "ddof", ddof, low=0)
  validation.check_range(caller, "eps", eps, low=0.0)
  (r,), out_dtype = numerics.floats(caller, rewards=rewards)
  if r.ndim < 1:
    raise ValueError(
      f"{caller}: rewards must have a group axis [..., G], got "
      f"rewards.shape={tuple(r.shape)}"
    )
  centred = r - jnp.mean(r, axis=-1, keepdims=True)
  if scale == "none":
    return centred.astype(out_dtype)
  if scale == "group":
    norm = numerics.safe_norm(centred, axis=-1, keepdims=True)
    count = r.shape[-1]
  else:
    norm = numerics.safe_norm((r - jnp.mean(r)).ravel(), axis=-1)
    count = r.size
  # No spread to measure (one completion a group with ddof=1): sd = 0.
  dof = max(count - ddof, 0)
  sd = (
    norm / jnp.sqrt(jnp.asarray(dof, r.dtype)) if dof else jnp.zeros_like(norm)
  )
  return numerics.safe_divide(centred, sd + eps).astype(out_dtype)
