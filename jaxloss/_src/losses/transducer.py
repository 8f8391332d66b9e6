"""The RNN-T (transducer) loss (Graves 2012), over anti-diagonals.

Two forms share one forward recursion:

* :func:`rnnt_loss` takes the joint network's logits ``[B, T, U + 1, V]``;
  it gathers the blank and label log-probabilities with one log-sum-exp over
  the vocabulary, so the full ``[B, T, U + 1, V]`` log-softmax is never kept
  for the backward pass (autodiff of the log-sum-exp recomputes the softmax
  from the logits, which the caller holds anyway).
* :func:`rnnt_loss_from_log_probs` takes only the blank and label
  log-probabilities ``[B, T, U + 1]``: the caller may compute them without
  ever materialising a ``[B, T, U + 1, V]`` array (the "function merging"
  of Li et al. 2019, or a tiled joint network).

The forward variables ``alpha(t, u)`` depend on ``alpha(t - 1, u)`` and
``alpha(t, u - 1)``, so every anti-diagonal ``t + u = n`` is computed at
once from the previous one: ``T + U`` sequential steps instead of ``T U``.
Gradients are exact, by automatic differentiation through the scan.
"""

from __future__ import annotations

import functools
from typing import cast

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# A finite "log 0" for the states outside the lattice: no inf - inf appears
# and their exp underflows to exactly 0.
LOG_ZERO = -1e5


def _skew(x):
  """``[B, T, U1] -> [T + U1 - 1, B, U1]``: entry ``[n, b, u]`` is
  ``x[b, n - u, u]``, and ``LOG_ZERO`` where ``n - u`` is outside
  ``[0, T)``. Row ``n`` is the anti-diagonal ``t + u = n``."""
  _, frames, u1 = x.shape
  n = jnp.arange(frames + u1 - 1)[:, None]
  u = jnp.arange(u1)[None, :]
  t = n - u
  inside = (t >= 0) & (t < frames)
  gathered = x[:, jnp.clip(t, 0, frames - 1), u]  # [B, N, U1]
  gathered = jnp.where(inside[None], gathered, LOG_ZERO)
  return jnp.moveaxis(gathered, 1, 0), inside


def rnnt_alphas(blank: jax.Array, emit: jax.Array) -> jax.Array:
  """The forward variables of the transducer lattice, by anti-diagonal.

  ``alpha(0, 0) = 0`` and, in log space,

  ``alpha(t, u) = logaddexp(alpha(t-1, u) + blank(t-1, u),
  alpha(t, u-1) + emit(t, u-1))``.

  Args:
    blank: ``[B, T, U1]`` log-probabilities of the blank at each node.
    emit: ``[B, T, U1]`` log-probabilities of the next label at each node
      (the last column is never used).

  Returns:
    ``[T + U1 - 1, B, U1]``: row ``n`` holds ``alpha(n - u, u)`` at ``u``
    (``LOG_ZERO`` off the lattice).
  """
  batch, _, u1 = blank.shape
  blank_d, inside = _skew(blank)
  emit_d, _ = _skew(emit)
  log_zero = jnp.asarray(LOG_ZERO, blank.dtype)
  first = jnp.where(jnp.arange(u1) == 0, jnp.zeros((), blank.dtype), log_zero)
  alpha0 = jnp.broadcast_to(first, (batch, u1))
  pad = jnp.full((batch, 1), log_zero)

  def step(alpha, xs):
    blank_prev, emit_prev, inside_n = xs
    from_blank = alpha + blank_prev
    from_emit = jnp.concatenate([pad, (alpha + emit_prev)[:, :-1]], axis=1)
    new = jnp.logaddexp(from_blank, from_emit)
    new = jnp.where(inside_n[None, :], new, log_zero)
    return new, new

  _, rest = jax.lax.scan(step, alpha0, (blank_d[:-1], emit_d[:-1], inside[1:]))
  return jnp.concatenate([alpha0[None], rest], axis=0)


def _nll(blank, emit, logit_lengths, label_lengths):
  """``-log p(y | x)`` ``[B]`` from the lattice's log-probabilities."""
  batch, frames, u1 = blank.shape
  if batch == 0:  # an empty batch: an empty result
    return jnp.zeros((0,), blank.dtype)
  t_len = jnp.clip(logit_lengths, 0, frames)
  u_len = jnp.clip(label_lengths, 0, u1 - 1)
  # Zero the nodes past the lengths: they never reach the final node, and
  # this keeps padding (of any finite value) out of every overflow.
  t_idx = jnp.arange(frames)[None, :, None]
  u_idx = jnp.arange(u1)[None, None, :]
  inside = (t_idx < t_len[:, None, None]) & (u_idx <= u_len[:, None, None])
  blank = jnp.where(inside, blank, 0)
  emit = jnp.where(inside, emit, 0)
  alphas = rnnt_alphas(blank, emit)
  last_t = jnp.maximum(t_len - 1, 0)
  rows = jnp.arange(batch)
  final = alphas[last_t + u_len, rows, u_len] + blank[rows, last_t, u_len]
  # No frame: no alignment at all. Documented as a loss of 0 (padding rows).
  return jnp.where(t_len > 0, -final, 0)


def _scale_gradient(x, factor):
  """``x`` in value; its gradient multiplied by ``factor``."""
  return x + (factor - 1.0) * (x - jax.lax.stop_gradient(x))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 5))
def _clamped_per_sample(logits, blank_ids, label_ids, t_len, u_len, hyper):
  return _from_logits(logits, blank_ids, label_ids, t_len, u_len, hyper)


def _clamped_fwd(logits, blank_ids, label_ids, t_len, u_len, hyper):
  values, vjp = jax.vjp(
    lambda z: _from_logits(z, blank_ids, label_ids, t_len, u_len, hyper),
    logits,
  )
  # Each sequence's loss reads only its own logits: the gradient of the sum
  # is every sequence's own gradient, clamped before any outer scaling.
  (grads,) = vjp(jnp.ones_like(values))
  clamp = hyper[1]
  return values, (jnp.clip(grads, -clamp, clamp),)


def _clamped_bwd(blank_ids, hyper, res, g):
  del blank_ids, hyper
  (grads,) = res
  return (grads * g[:, None, None, None], None, None, None)


_clamped_per_sample.defvjp(_clamped_fwd, _clamped_bwd)


def _from_logits(z, blank, ids, t_len, u_len, hyper):
  """``[B]`` losses from logits in the compute dtype (``hyper``:
  ``(fastemit_lambda, clamp)``)."""
  lse = jax.nn.logsumexp(z, axis=-1)  # [B, T, U1]
  blank_lp = z[..., blank] - lse
  label_z = jnp.take_along_axis(z, ids[:, None, :, None], axis=-1)[..., 0]
  emit = label_z - lse
  fastemit_lambda = hyper[0]
  if fastemit_lambda:
    emit = _scale_gradient(emit, 1.0 + fastemit_lambda)
  return _nll(blank_lp, emit, t_len, u_len)


def _lengths(caller, name, lengths, batch, default):
  if lengths is None:
    return jnp.full((batch,), default, jnp.int32)
  lengths = numerics.labels(caller, name, lengths)
  if lengths.shape != (batch,):
    raise ValueError(
      f"{caller}: {name} must have shape ({batch},) (one length per sequence), "
      f"got {name}.shape={tuple(lengths.shape)}"
    )
  return lengths


@scoped
def rnnt_loss_from_log_probs(
  blank_log_probs: InputLike,
  label_log_probs: InputLike,
  logit_lengths: InputLike | None = None,
  label_lengths: InputLike | None = None,
) -> jax.Array:
  r"""RNN-T negative log-likelihood from blank and label log-probabilities.

  The memory-lean form of :func:`rnnt_loss`: with
  ``blank(t, u) = log P(blank | t, u)`` and
  ``emit(t, u) = log P(y_{u+1} | t, u)`` at each node of the ``T x (U + 1)``
  lattice, the forward variables are ``alpha(0, 0) = 0`` and

  .. math::
     \alpha(t, u) = \operatorname{logaddexp}(\alpha(t-1, u) + blank(t-1, u),
                                              \alpha(t, u-1) + emit(t, u-1))

  and ``loss = -(alpha(T_b - 1, U_b) + blank(T_b - 1, U_b))`` for a sequence
  of ``T_b = logit_lengths[b]`` frames and ``U_b = label_lengths[b]``
  labels. Nodes past the lengths are ignored (padding may hold any finite
  value). Every label sequence has an alignment when ``T_b >= 1``; a
  sequence with ``T_b = 0`` has none and gets loss 0 (and zero gradient),
  like a padding row. Lengths beyond the array sizes are clipped to them.

  Args:
    blank_log_probs: ``[B, T, U + 1]`` blank log-probabilities.
    label_log_probs: ``[B, T, U + 1]`` (or ``[B, T, U]``)
      log-probabilities of the next label ``y_{u+1}`` at node ``(t, u)``;
      column ``U`` is not used.
    logit_lengths: ``[B]`` integer frame counts; None means ``T``.
    label_lengths: ``[B]`` integer label counts; None means ``U``.

  Returns:
    ``[B]`` negative log-likelihoods.

  Raises:
    ValueError: for inputs not of rank 3, shapes that disagree or lengths
      of the wrong shape.
    TypeError: for integer log-probabilities.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> # one frame, no label: the only path emits the blank, p = 0.5
    >>> lp = jnp.log(jnp.full((1, 1, 1), 0.5))
    >>> jaxloss.rnnt_loss_from_log_probs(lp, lp)
    Array([0.6931472], dtype=float32)

  References:
    Graves, "Sequence transduction with recurrent neural networks", ICML
    2012 workshop, eqs. (10)-(13); Li, Zhao, Hu & Gong, "Improving RNN
    transducer modeling for end-to-end speech recognition", ASRU 2019
    (function merging).
  """
  caller = "rnnt_loss_from_log_probs"
  (blank, emit), dt = numerics.floats(
    caller, blank_log_probs=blank_log_probs, label_log_probs=label_log_probs
  )
  shapes.check_rank(caller, "blank_log_probs", blank, 3)
  shapes.check_rank(caller, "label_log_probs", emit, 3)
  batch, frames, u1 = blank.shape
  if emit.shape == (batch, frames, u1 - 1):
    emit = jnp.pad(emit, ((0, 0), (0, 0), (0, 1)))
  if emit.shape != blank.shape:
    raise ValueError(
      f"{caller}: label_log_probs must have shape [B, T, U + 1] or [B, T, U] "
      f"matching blank_log_probs, got "
      f"label_log_probs.shape={tuple(emit.shape)} and "
      f"blank_log_probs.shape={tuple(blank.shape)}"
    )
  t_len = _lengths(caller, "logit_lengths", logit_lengths, batch, frames)
  u_len = _lengths(caller, "label_lengths", label_lengths, batch, u1 - 1)
  return _nll(blank, emit, t_len, u_len).astype(dt)


@domains.declare(
  class_ids=domains.ClassIds("labels", "logits", lengths="label_lengths")
)
@scoped
def rnnt_loss(
  logits: InputLike,
  labels: InputLike,
  logit_lengths: InputLike | None = None,
  label_lengths: InputLike | None = None,
  *,
  blank: int = 0,
  fastemit_lambda: float = 0.0,
  clamp: float = -1.0,
) -> jax.Array:
  r"""RNN-T (transducer) loss from the joint network's logits.

  ``-log p(y | x)`` summed over all monotonic alignments of the
  ``T x (U + 1)`` lattice (Graves 2012), with ``log P(k | t, u) =
  logits[b, t, u, k] - logsumexp_k logits[b, t, u, :]``. The blank and label
  log-probabilities are gathered with one log-sum-exp over the vocabulary
  and passed to :func:`rnnt_loss_from_log_probs` (formula, lengths and
  edge cases there); the ``[B, T, U + 1, V]`` log-softmax is never stored.

  The loss object :class:`jaxloss.RNNTLoss` takes the same four inputs and
  reduces the ``[B]`` values (``reduction="sum_over_batch_size"`` by
  default; ``"sum"`` for torchaudio's ``reduction="sum"``).

  ``fastemit_lambda > 0`` is FastEmit (Yu et al. 2021): the value is
  unchanged, and the gradient through every label emission's
  log-probability is multiplied by ``1 + fastemit_lambda`` (as
  warp-transducer and NeMo apply it), which favours emitting labels early.
  ``clamp > 0`` clips each sequence's gradient with respect to its logits
  to ``[-clamp, clamp]`` before it is scaled by the reduction (torchaudio's
  ``clamp``).

  Args:
    logits: ``[B, T, U + 1, V]`` joint-network outputs (not normalised).
    labels: ``[B, U]`` integer labels in ``[0, V)``, never ``blank`` within
      the lengths (an id outside ``[0, V)`` there makes the sample's value
      NaN); entries past ``label_lengths`` are ignored.
    logit_lengths: ``[B]`` integer frame counts; None means ``T``.
    label_lengths: ``[B]`` integer label counts; None means ``U``.
    blank: the blank id, in ``[0, V)``.
    fastemit_lambda: FastEmit's ``lambda >= 0`` (0: none).
    clamp: the gradient clamp, ``> 0``; ``<= 0`` clamps nothing.

  Returns:
    ``[B]`` negative log-likelihoods.

  Raises:
    ValueError: for ``logits`` not of rank 4, labels whose shape does not
      match ``[B, U]``, lengths of the wrong shape or ``blank`` outside
      ``[0, V)``.
    TypeError: for integer logits or floating-point labels.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> # uniform over 2 symbols, 1 frame, label [1]: emit 1, then blank
    >>> logits = jnp.zeros((1, 1, 2, 2))
    >>> jaxloss.rnnt_loss(logits, jnp.array([[1]]))
    Array([1.3862944], dtype=float32)

  References:
    Graves, "Sequence transduction with recurrent neural networks", ICML
    2012 workshop; torchaudio's ``rnnt_loss`` (same conventions: ``logits``
    ``[B, T, U + 1, V]``, ``blank=0``); Yu et al., "FastEmit: Low-latency
    streaming ASR with sequence-level emission regularization", ICASSP
    2021, eq. (8).
  """
  caller = "rnnt_loss"
  validation.integer(caller, "blank", blank, low=0)
  validation.static_number(caller, "fastemit_lambda", fastemit_lambda, 0.0)
  validation.static_number(caller, "clamp", clamp)
  logits = numerics.as_float(caller, "logits", logits)
  labels = numerics.as_array(caller, "labels", labels)
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(
      f"{caller}: labels must have an integer dtype, got {labels.dtype}"
    )
  shapes.check_rank(caller, "logits", logits, 4)
  shapes.check_rank(caller, "labels", labels, 2)
  batch, frames, u1, vocab = logits.shape
  if labels.shape != (batch, u1 - 1):
    raise ValueError(
      f"{caller}: labels must have shape [B, U] = ({batch}, {u1 - 1}) for "
      f"logits of shape [B, T, U + 1, V], got labels.shape="
      f"{tuple(labels.shape)} and logits.shape={tuple(logits.shape)}"
    )
  if isinstance(blank, bool) or not isinstance(blank, int):
    raise TypeError(f"{caller}: blank must be an int, got {blank!r}")
  if not 0 <= blank < vocab:
    raise ValueError(f"{caller}: blank must be in [0, {vocab}), got {blank}")
  t_len = _lengths(caller, "logit_lengths", logit_lengths, batch, frames)
  u_len = _lengths(caller, "label_lengths", label_lengths, batch, u1 - 1)
  dt = logits.dtype
  z = logits.astype(numerics.compute_dtype(dt))
  ids = jnp.clip(labels, 0, vocab - 1)
  ids = jnp.pad(ids, ((0, 0), (0, 1)))  # the last column is never used
  hyper = (fastemit_lambda, clamp)
  if clamp > 0:
    # custom_vjp's wrapper is typed as returning object.
    out = cast(
      jax.Array, _clamped_per_sample(z, blank, ids, t_len, u_len, hyper)
    )
  else:
    out = _from_logits(z, blank, ids, t_len, u_len, hyper)
  # A label id outside [0, V) within the label length makes its value NaN.
  live = jnp.arange(u1 - 1).reshape(1, -1) < u_len.reshape(-1, 1)
  out = numerics.nan_at_bad_ids(out, labels, vocab, where=live)
  return out.astype(dt)


class RNNTLoss(Loss, fn=rnnt_loss):
  """Loss object for :func:`jaxloss.rnnt_loss`."""

  blank: int = 0
  fastemit_lambda: float = 0.0
  clamp: float = -1.0


class RNNTLossFromLogProbs(Loss, fn=rnnt_loss_from_log_probs):
  """Loss object for :func:`jaxloss.rnnt_loss_from_log_probs`."""
