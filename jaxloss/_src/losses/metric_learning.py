"""Metric-learning losses of Keras 3: Circle loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import shapes
from jaxloss._src import validation
from jaxloss._src.objects import loss_class
from jaxloss._src.objects import scoped


def pair_masks(labels, ref_labels, remove_diagonal):
  """Boolean ``[N, M]`` masks of same-label (positive) and other pairs."""
  positive = labels[:, None] == ref_labels[None, :]
  negative = jnp.logical_not(positive)
  if remove_diagonal:
    positive = positive & ~jnp.eye(labels.shape[0], ref_labels.shape[0],
                                   dtype=bool)
  return positive, negative


@scoped
def circle(y_true, y_pred, *, ref_labels=None, ref_embeddings=None,
           remove_diagonal=True, gamma=80.0, margin=0.4):
  """Circle loss (Sun et al. 2020) on L2-normalised embeddings, one per anchor.

  With cosine distances ``d = max(1 - y_pred @ ref.T, 0)``, positives ``P``
  (same label, minus the diagonal) and negatives ``N`` of each anchor:

  ``loss = softplus(logsumexp_P(-gamma a_p (m - d)) +
  logsumexp_N(gamma a_n (1 - m - d)))`` with ``a_p = max(m + d, 0)`` and
  ``a_n = max(1 + m - d, 0)``. An anchor without positives or negatives gives
  0 with a zero gradient; the loss object averages over anchors whose loss is
  positive, as Keras does.

  Args:
    y_true: integer labels ``[N]``.
    y_pred: L2-normalised embeddings ``[N, D]``.
    ref_labels: labels of the reference set ``[M]`` (default ``y_true``).
    ref_embeddings: reference embeddings ``[M, D]`` (default ``y_pred``).
    remove_diagonal: drop self-pairs from the positives.
    gamma: scale.
    margin: relaxation margin ``m``.

  Returns:
    ``[N]`` losses.

  Example:
    >>> import jax.numpy as jnp
    >>> import jaxloss
    >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> jaxloss.circle([0, 0, 1], e, gamma=1.0).shape
    (3,)
  """
  fn = "circle"
  validation.flag(fn, "remove_diagonal", remove_diagonal)
  validation.number(fn, "margin", margin)
  validation.check_range(fn, "gamma", gamma, low=0.0, low_open=True)
  emb = numerics.as_float(fn, "y_pred", y_pred)
  shapes.check_rank(fn, "y_pred", emb, 2)
  labels = shapes.row_labels(
      fn, "y_true", numerics.labels(fn, "y_true", y_true), emb)
  dt = emb.dtype
  emb = emb.astype(numerics.compute_dtype(dt))
  if ref_embeddings is None:
    ref = emb
  else:
    ref = numerics.as_float(fn, "ref_embeddings", ref_embeddings)
    shapes.check_rank(fn, "ref_embeddings", ref, 2)
    ref = ref.astype(emb.dtype)
  ref_lab = labels if ref_labels is None else shapes.row_labels(
      fn, "ref_labels", numerics.labels(fn, "ref_labels", ref_labels))
  if ref_lab.shape[0] != ref.shape[0] or ref.shape[1] != emb.shape[1]:
    raise ValueError(
        f"{fn}: ref_labels/ref_embeddings must be [M] and [M, "
        f"{emb.shape[1]}], got {tuple(ref_lab.shape)} and {tuple(ref.shape)}")
  dist = jnp.maximum(1.0 - emb @ ref.T, 0.0)
  positive, negative = pair_masks(labels, ref_lab, remove_diagonal)
  # Unmasked: the masks act once, inside the log-sum-exps (multiplying by
  # them as well made XLA:CPU materialise several [N, M] temporaries).
  pos_logits = -gamma * jnp.maximum(margin + dist, 0.0) * (margin - dist)
  neg_logits = gamma * jnp.maximum(1.0 + margin - dist, 0.0) * (
      1.0 - margin - dist)
  p_loss = numerics.masked_logsumexp(pos_logits, positive, axis=1)
  n_loss = numerics.masked_logsumexp(neg_logits, negative, axis=1)
  total = p_loss + n_loss
  empty = total == -jnp.inf  # no positives or no negatives: loss 0
  out = jnp.where(empty, 0.0, jax.nn.softplus(jnp.where(empty, 0.0, total)))
  return out.astype(dt)


def _positive_values(y_true, y_pred, values, **_):
  return values > 0


Circle = loss_class(circle, "Circle", exclude=("ref_labels", "ref_embeddings"),
                    where_fn=_positive_values)
