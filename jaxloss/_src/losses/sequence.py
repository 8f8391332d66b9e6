"""Sequence losses: CTC (Graves et al. 2006)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped

# A finite "log 0": impossible alignments give a large finite loss (about
# 1e5 per missing step) instead of inf, and no inf - inf ever appears.
LOG_ZERO = -1e5


def ctc_neg_log_likelihood(log_probs, input_lengths, labels, label_lengths,
                           blank=0):
  """``-log p(labels | inputs)`` by the CTC forward (alpha) recursion.

  Runs over the extended label sequence ``[blank, l1, blank, l2, ...,
  blank]`` (``2N + 1`` states) in log space, one ``lax.scan`` step per frame;
  frames at or past ``input_lengths`` leave the state unchanged.

  Args:
    log_probs: ``[B, T, K]`` log-probabilities (log-softmax of the logits).
    input_lengths: ``[B]`` valid frames per sequence.
    labels: ``[B, N]`` integer labels, padded past ``label_lengths``.
    label_lengths: ``[B]`` valid labels per sequence.
    blank: the blank class id.

  Returns:
    ``[B]`` negative log-likelihoods.
  """
  batch, frames, _ = log_probs.shape
  n = labels.shape[1]
  dtype = log_probs.dtype
  ext = jnp.full((batch, 2 * n + 1), blank, labels.dtype)
  ext = ext.at[:, 1::2].set(labels)
  # [T, B, S]: log-probability of each extended state's symbol per frame.
  emit = jnp.take_along_axis(log_probs, ext[:, None, :], axis=2)
  emit = jnp.moveaxis(emit, 1, 0)
  prev2 = jnp.pad(ext[:, :-2], ((0, 0), (2, 0)), constant_values=blank)
  can_skip = (ext != blank) & (ext != prev2)
  log_zero = jnp.asarray(LOG_ZERO, dtype)

  def shift(a, k):
    return jnp.pad(a[:, :-k], ((0, 0), (k, 0)), constant_values=LOG_ZERO)

  states = jnp.arange(2 * n + 1)
  alpha0 = jnp.where(states[None, :] < 2, emit[0], log_zero)

  def step(alpha, inputs):
    emit_t, t = inputs
    skip = jnp.where(can_skip, shift(alpha, 2), log_zero)
    stacked = jnp.stack([alpha, shift(alpha, 1), skip])
    new = jax.nn.logsumexp(stacked, axis=0) + emit_t
    active = (t < input_lengths)[:, None]
    return jnp.where(active, new, alpha), None

  alpha, _ = jax.lax.scan(step, alpha0, (emit[1:], jnp.arange(1, frames)))
  last = 2 * label_lengths
  end_blank = jnp.take_along_axis(alpha, last[:, None], axis=1)[:, 0]
  end_label = jnp.take_along_axis(
      alpha, jnp.maximum(last - 1, 0)[:, None], axis=1)[:, 0]
  end_label = jnp.where(label_lengths > 0, end_label, log_zero)
  return -jnp.logaddexp(end_blank, end_label)


@scoped
def ctc(y_true, y_pred):
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

  Example:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> # uniform logits over 3 classes, 2 frames, label "1"
    >>> float(jaxloss.ctc([[1, 0]], jnp.zeros((1, 2, 3)))[0]) > 0
    True
  """
  fn = "ctc"
  logits = numerics.as_float(fn, "y_pred", y_pred)
  labels = numerics.labels(fn, "y_true", y_true)
  shapes.check_rank(fn, "y_true", labels, 2)
  shapes.check_rank(fn, "y_pred", logits, 3)
  if labels.shape[0] != logits.shape[0]:
    raise ValueError(
        f"{fn}: y_true and y_pred must have the same batch size, got "
        f"y_true.shape={tuple(labels.shape)} and "
        f"y_pred.shape={tuple(logits.shape)}")
  dt = logits.dtype
  log_probs = jax.nn.log_softmax(
      logits.astype(numerics.compute_dtype(dt)), axis=-1)
  batch, frames, _ = logits.shape
  input_lengths = jnp.full((batch,), frames, jnp.int32)
  label_lengths = jnp.sum(labels != 0, axis=-1).astype(jnp.int32)
  return ctc_neg_log_likelihood(
      log_probs, input_lengths, labels, label_lengths, blank=0).astype(dt)


CTC = loss_class(ctc, "CTC")
