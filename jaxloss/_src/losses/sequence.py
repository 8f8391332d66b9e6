"""Sequence losses: CTC (Graves et al. 2006)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import domains
from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src.objects import Loss
from jaxloss._src.scoping import scoped
from jaxloss._src.typing import InputLike

# A finite "log 0": impossible alignments give a large finite loss (about
# 1e5 per missing step) instead of inf, and no inf - inf ever appears.
LOG_ZERO = -1e5


def _extended_labels(labels, blank):
  """The extended state sequence ``[blank, l1, blank, ..., lN, blank]``
  ``[B, S]`` and, per state, whether the skip from two states back is
  allowed (into a label that differs from the label before it; a label equal
  to the blank id, e.g. padding, is still a label state)."""
  batch, n = labels.shape
  ext = jnp.full((batch, 2 * n + 1), blank, labels.dtype)
  ext = ext.at[:, 1::2].set(labels)
  prev2 = jnp.pad(ext[:, :-2], ((0, 0), (2, 0)), constant_values=blank)
  is_label = jnp.arange(2 * n + 1) % 2 == 1
  return ext, is_label[None, :] & (ext != prev2)


def _shift(a, k, fill):
  """``a[:, s - k]``, and ``fill`` for the first ``k`` states."""
  pad = jnp.broadcast_to(fill, (a.shape[0], k))
  return jnp.concatenate([pad, a[:, :-k]], axis=1)


def ctc_forward(log_probs, labels, *, frame_active, blank=0, log_zero=LOG_ZERO):
  """The CTC forward (alpha) recursion over the extended label sequence.

  States are ``[blank, l1, blank, l2, ..., lN, blank]`` (``S = 2N + 1``):
  state ``2n`` is "blank after ``n`` labels" and ``2n + 1`` is "label
  ``n + 1``". Before the first frame all the mass sits on a virtual blank
  state 0 (``log 1 = 0``); each active frame ``t`` then applies, in log space,

  ``alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s - 1),
  [skip] alpha_{t-1}(s - 2)) + log y_t(symbol(s))``

  where the skip is allowed into a label that differs from the label two
  states before. Inactive frames leave ``alpha`` unchanged (padding may sit
  anywhere, not only at the end). ``log_zero`` is a finite "log 0", so
  impossible alignments stay finite and no ``inf - inf`` appears.

  Args:
    log_probs: ``[B, T, K]`` log-probabilities (log-softmax of the logits).
    labels: ``[B, N]`` integer labels (padding entries are harmless).
    frame_active: ``[B, T]`` booleans, False for padded frames.
    blank: the blank class id.
    log_zero: the finite stand-in for ``log 0``.

  Returns:
    ``[T, B, S]`` log-alphas after each frame.
  """
  ext, can_skip = _extended_labels(labels, blank)
  # [T, B, S]: the log-probability of each state's symbol per frame.
  emit = jnp.moveaxis(
    jnp.take_along_axis(log_probs, ext[:, None, :], axis=2), 1, 0
  )
  _, batch, num_states = emit.shape
  log_zero = jnp.asarray(log_zero, emit.dtype)
  first = jnp.arange(num_states)[None, :] == 0
  alpha_init = jnp.broadcast_to(
    jnp.where(first, jnp.zeros((), emit.dtype), log_zero), (batch, num_states)
  )

  def step(alpha, inputs):
    emit_t, active_t = inputs
    skip = jnp.where(can_skip, _shift(alpha, 2, log_zero), log_zero)
    new = _logaddexp3(alpha, _shift(alpha, 1, log_zero), skip) + emit_t
    new = jnp.where(active_t[:, None], new, alpha)
    return new, new

  # No unrolling: with the element-wise step, unroll=2 or 3 made both the
  # forward and value_and_grad slower on CPU at the benchmark's shape.
  _, alphas = jax.lax.scan(
    step, alpha_init, (emit, jnp.moveaxis(frame_active, 1, 0))
  )
  return alphas


def _logaddexp3(a, b, c):
  """``log(exp(a) + exp(b) + exp(c))``, element-wise.

  Written out rather than as ``logsumexp`` over a stacked axis: in the scan's
  hot loop the element-wise form fuses into one kernel per step and its
  derivative is about twice as fast on CPU. The shift is held constant for
  the derivative (the result does not depend on it), and a non-finite
  maximum, only possible with ``-inf`` log-probabilities, is replaced by 0 so
  no ``inf - inf`` appears.
  """
  top = jax.lax.stop_gradient(jnp.maximum(a, jnp.maximum(b, c)))
  top = jnp.where(jnp.isfinite(top), top, 0.0)
  return top + jnp.log(jnp.exp(a - top) + jnp.exp(b - top) + jnp.exp(c - top))


def ctc_final_log_likelihood(alpha, label_lengths):
  """``log p(labels)`` from the last alphas ``[B, S]``: the paths ending in
  the final blank or (for a non-empty label) in the last label."""
  last = 2 * label_lengths
  end_blank = jnp.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
  end_label = jnp.take_along_axis(
    alpha, jnp.maximum(last - 1, 0)[:, None], axis=1
  )[:, 0]
  return jnp.where(
    label_lengths > 0, jnp.logaddexp(end_blank, end_label), end_blank
  )


def ctc_neg_log_likelihood(
  log_probs, input_lengths, labels, label_lengths, blank=0
):
  """``-log p(labels | inputs)`` by the CTC forward recursion.

  See :func:`ctc_forward`; frames at or past ``input_lengths`` are inactive.

  Args:
    log_probs: ``[B, T, K]`` log-probabilities (log-softmax of the logits).
    input_lengths: ``[B]`` valid frames per sequence.
    labels: ``[B, N]`` integer labels, padded past ``label_lengths``.
    label_lengths: ``[B]`` valid labels per sequence.
    blank: the blank class id.

  Returns:
    ``[B]`` negative log-likelihoods.
  """
  frames = log_probs.shape[1]
  active = jnp.arange(frames)[None, :] < input_lengths[:, None]
  alphas = ctc_forward(log_probs, labels, frame_active=active, blank=blank)
  return -ctc_final_log_likelihood(alphas[-1], label_lengths)


def ctc_with_paddings(
  caller, logits, logit_paddings, labels, label_paddings, *, blank, log_zero
):
  """CTC from padding masks (optax's inputs), with the forward variables.

  Frames with ``logit_paddings >= 0.5`` are inactive; labels are
  right-padded, ``N_b = N - sum(label_paddings[b])`` of them valid. The
  forward variables are split by state: ``phi[t, b, n]`` (blank after ``n``
  labels) and ``emit[t, b, n]`` (label ``n + 1``); at the last frame ``phi``
  also holds the paths that end in label ``n``, so ``loss = -phi[-1, b,
  N_b]``.

  Args:
    caller: the public function, for messages.
    logits: ``[B, T, K]``.
    logit_paddings: ``[B, T]``, 1.0 for padded frames.
    labels: ``[B, N]`` integer labels.
    label_paddings: ``[B, N]``, 1.0 for padded labels.
    blank: the blank class id.
    log_zero: the finite stand-in for ``log 0``.

  Returns:
    ``(loss [B], phi [T, B, N + 1], emit [T, B, N])`` in ``logits``' dtype.
  """
  z = numerics.as_float(caller, "logits", logits)
  dt = z.dtype
  z = z.astype(numerics.compute_dtype(dt))
  shapes.check_rank(caller, "logits", z, 3)
  y = numerics.labels(caller, "labels", labels)
  shapes.check_rank(caller, "labels", y, 2)
  lpad = numerics.as_array(caller, "label_paddings", label_paddings)
  fpad = numerics.as_array(caller, "logit_paddings", logit_paddings)
  shapes.check_same_shape(caller, labels=y, label_paddings=lpad)
  if fpad.shape != z.shape[:2]:
    raise ValueError(
      f"{caller}: logit_paddings must have shape {tuple(z.shape[:2])}, got "
      f"logit_paddings.shape={tuple(fpad.shape)}"
    )
  if y.shape[0] != z.shape[0]:
    raise ValueError(
      f"{caller}: labels must have the batch size of logits ({z.shape[0]}), "
      f"got {y.shape[0]}"
    )
  log_probs = jax.nn.log_softmax(z, axis=-1)
  label_lengths = y.shape[1] - jnp.sum(lpad, axis=1).astype(jnp.int32)
  alphas = ctc_forward(
    log_probs, y, frame_active=fpad < 0.5, blank=blank, log_zero=log_zero
  )
  phi, emit = alphas[..., 0::2], alphas[..., 1::2]
  last_phi = jnp.concatenate(
    [phi[-1, :, :1], jnp.logaddexp(phi[-1, :, 1:], emit[-1])], axis=-1
  )
  phi = phi.at[-1].set(last_phi)
  loss = -ctc_final_log_likelihood(alphas[-1], label_lengths)
  loss = numerics.nan_at_bad_ids(loss, y, z.shape[-1], where=lpad < 0.5)
  return loss.astype(dt), phi.astype(dt), emit.astype(dt)


@domains.declare(class_ids=domains.ClassIds("y_true", "y_pred"))
@scoped
def ctc(y_true: InputLike, y_pred: InputLike) -> jax.Array:
  """Connectionist temporal classification loss, Keras's form.

  ``y_true`` holds labels padded with 0, which is also the blank class: the
  label length is the number of non-zero entries, and every sequence uses
  all ``T`` frames. ``loss = -log p(y_true | softmax(y_pred))`` summed over
  all alignments (forward algorithm in log space).

  Args:
    y_true: integer labels ``[B, N]``, 0 = blank / padding.
    y_pred: logits ``[B, T, K]`` (not softmax-normalised).

  Returns:
    ``[B]`` losses.

  Examples:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> # uniform logits over 3 classes, 2 frames, label "1"
    >>> float(jaxloss.ctc([[1, 0]], jnp.zeros((1, 2, 3)))[0]) > 0
    True

  References:
    Graves et al., "Connectionist Temporal Classification", ICML 2006;
    Keras 3 ``keras.losses.ctc``.
  """
  caller = "ctc"
  logits = numerics.as_float(caller, "y_pred", y_pred)
  labels = numerics.labels(caller, "y_true", y_true)
  shapes.check_rank(caller, "y_true", labels, 2)
  shapes.check_rank(caller, "y_pred", logits, 3)
  if labels.shape[0] != logits.shape[0]:
    raise ValueError(
      f"{caller}: y_true and y_pred must have the same batch size, got "
      f"y_true.shape={tuple(labels.shape)} and "
      f"y_pred.shape={tuple(logits.shape)}"
    )
  dt = logits.dtype
  log_probs = jax.nn.log_softmax(
    logits.astype(numerics.compute_dtype(dt)), axis=-1
  )
  batch, frames, _ = logits.shape
  input_lengths = jnp.full((batch,), frames, jnp.int32)
  label_lengths = jnp.sum(labels != 0, axis=-1).astype(jnp.int32)
  loss = ctc_neg_log_likelihood(
    log_probs, input_lengths, labels, label_lengths, blank=0
  )
  return numerics.nan_at_bad_ids(loss, labels, log_probs.shape[-1]).astype(dt)


class CTC(Loss, fn=ctc):
  """Loss object for :func:`jaxloss.ctc`."""
