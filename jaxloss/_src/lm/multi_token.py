"""Multi-token prediction: ``K`` prediction depths sharing one LM head.

DeepSeek-V3 and Megatron-core's MTP modules predict, from depth ``k``'s
hidden states, the token ``k + 1`` positions ahead, all through the same
output head. :func:`multi_token_prediction_loss` stacks the depths' hidden
states into one set of rows and runs the chunked kernel of
:func:`jaxloss.linear_cross_entropy` once: every vocabulary chunk of the
head weight is read once for all depths (forward and backward), never
``K`` times, and no ``[tokens, vocab]`` logits exist.
"""

from __future__ import annotations

from typing import cast

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src.lm import cross_entropy as ce
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike


@scoped
def multi_token_prediction_loss(
  embeddings: InputLike,
  weight: InputLike,
  labels: InputLike,
  *,
  depth_weights: InputLike | None = None,
  bias: InputLike | None = None,
  ignore_index: int = -100,
  label_smoothing: float = 0.0,
  z_loss: float = 0.0,
  logit_softcap: float | None = None,
  normalizer: InputLike | None = None,
  chunk_size: int | None = None,
) -> tuple[jax.Array, jax.Array]:
  r"""Fused cross-entropy of ``K`` prediction depths through one LM head.

  With ``x_k`` the hidden states of depth ``k`` (``embeddings[k]``) and
  ``y_k`` its labels (the tokens ``k + 1`` positions ahead of the main
  model's targets, ``ignore_index`` where they run past the sequence),
  each depth's loss is the token mean of :func:`jaxloss.linear_cross_entropy`
  and the total their weighted sum::

    L_k   = sum_t ce(x_k[t] @ w, y_k[t]) / N_k     (N_k non-ignored tokens,
                                                   or normalizer)
    total = sum_k depth_weights[k] * L_k           (default 1 / K each)

  DeepSeek-V3 multiplies the mean over depths by ``lambda``
  (``depth_weights = lambda / K``); Megatron-core scales each depth's
  token mean by ``mtp_loss_scaling_factor / mtp_num_layers``, the same.
  All depths go through the chunked kernel as one set of rows, so each
  chunk of ``weight`` is read once per pass for all of them, and the
  backward pass accumulates every depth's gradient into the one head
  gradient; values and gradients equal ``K`` separate
  :func:`jaxloss.linear_cross_entropy` calls.

  Args:
    embeddings: ``[K, ..., D]`` hidden states, one slice per depth.
    weight: LM-head kernel ``[D, V]`` shared by every depth.
    labels: integer ``[K, ...]``.
    depth_weights: optional ``[K]`` weights of the depths' losses (traced
      values allowed; default ``1 / K``).
    bias: optional ``[V]``.
    ignore_index: as in :func:`jaxloss.linear_cross_entropy`.
    label_smoothing: as in :func:`jaxloss.linear_cross_entropy`.
    z_loss: as in :func:`jaxloss.linear_cross_entropy`.
    logit_softcap: as in :func:`jaxloss.linear_cross_entropy`.
    normalizer: divisor of every depth's sum instead of its token count
      (e.g. the global count of main-model tokens).
    chunk_size: vocabulary entries per chunk; None picks one so that a
      float32 tile of all ``K`` depths' rows holds about 4M elements.

  Returns:
    ``(total, per_depth)``: a scalar and ``[K]``, in the embeddings' dtype.

  Raises:
    TypeError: for non-floating arrays or non-integer labels.
    ValueError: for mismatched shapes or bad options.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> x = jnp.zeros((2, 3, 4))          # K = 2 depths, 3 tokens, D = 4
    >>> w = jnp.zeros((4, 8))
    >>> total, per_depth = jaxloss.multi_token_prediction_loss(
    ...     x, w, jnp.array([[1, 2, 3], [2, 3, -100]]))
    >>> print(f"{float(total):.4f}", per_depth.shape)
    2.0794 (2,)

  References:
    DeepSeek-AI, "DeepSeek-V3 Technical Report", 2024 (arXiv:2412.19437),
    section 2.2, eq. 24-25. Gloeckle et al., "Better & Faster Large
    Language Models via Multi-token Prediction", ICML 2024
    (arXiv:2404.19737). Megatron-core's MTP loss in ``GPTModel``
    (``megatron/core/models/gpt/gpt_model.py``, 2025).
  """
  caller = "multi_token_prediction_loss"
  x = numerics.as_float(caller, "embeddings", embeddings)
  if x.ndim < 2:
    raise ValueError(
      f"{caller}: embeddings must have shape [K, ..., D], got shape "
      f"{tuple(x.shape)}"
    )
  k = x.shape[0]
  if depth_weights is None:
    dw = jnp.full((k,), 1.0 / k, numerics.compute_dtype(x.dtype))
  else:
    dw = numerics.as_float(caller, "depth_weights", depth_weights)
    if dw.shape != (k,):
      raise ValueError(
        f"{caller}: depth_weights must have shape [K] = ({k},), got "
        f"depth_weights.shape={tuple(dw.shape)}"
      )
  values = ce.fused_cross_entropy(
    caller,
    x,
    weight,
    labels,
    bias=bias,
    ignore_index=ignore_index,
    label_smoothing=label_smoothing,
    z_loss=z_loss,
    logit_softcap=logit_softcap,
    sample_weight=None,
    reduction="none",
    normalizer=None,
    chunk_size=chunk_size,
    axis_name=None,
  )
  values = cast(jax.Array, values)  # no token statistics asked for
  acc = numerics.compute_dtype(values.dtype)
  axes = tuple(range(1, values.ndim))
  sums = jnp.sum(values.astype(acc), axis=axes)
  if normalizer is None:
    valid = jnp.asarray(labels) != ignore_index
    den = jnp.sum(valid, axis=axes, dtype=acc)
  else:
    den = jnp.asarray(normalizer, acc)
  per_depth = numerics.safe_divide(sums, den)
  total = jnp.sum(dw.astype(acc) * per_depth)
  return total.astype(x.dtype), per_depth.astype(x.dtype)
