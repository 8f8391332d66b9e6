"""Trace-time errors of the Keras losses, the loss objects and ``reduce``.

Every bad input must raise before any computation, eagerly and under
``jax.jit``, with a message of the form
``"<function>: <argument> <expectation>, got <actual>"``; each test checks
all four parts of the message.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

X = np.ones((3, 4), np.float32)
P = np.full((3, 4), 0.25, np.float32)
LABELS = np.array([0, 1, 2])


def _check(exc, call, *args, parts, jit=True):
  """``call(*args)`` raises ``exc`` eagerly and when traced by ``jax.jit``.

  ``parts`` are the fragments the message must contain, in order.
  """
  pattern = ".*".join(re.escape(p) for p in parts)
  with pytest.raises(exc, match=pattern):
    call(*args)
  if jit:
    with pytest.raises(exc, match=pattern):
      jax.jit(call)(*args)


# ------------------------------------------------------------- shapes


@pytest.mark.parametrize(
  "fn",
  [
    jaxloss.mean_squared_error,
    jaxloss.mean_absolute_error,
    jaxloss.mean_absolute_percentage_error,
    jaxloss.mean_squared_logarithmic_error,
    jaxloss.cosine_similarity,
    jaxloss.huber,
    jaxloss.log_cosh,
    jaxloss.hinge,
    jaxloss.squared_hinge,
    jaxloss.categorical_hinge,
    jaxloss.kl_divergence,
    jaxloss.poisson,
    jaxloss.binary_crossentropy,
    jaxloss.binary_focal_crossentropy,
    jaxloss.categorical_crossentropy,
    jaxloss.categorical_focal_crossentropy,
    jaxloss.dice,
    jaxloss.tversky,
  ],
  ids=lambda f: f.__name__,
)
def test_mismatched_shapes(fn):
  # [3, 4] vs [3, 5]: no trailing-1 rule applies; nothing is broadcast.
  _check(
    ValueError,
    fn,
    X,
    np.ones((3, 5), np.float32),
    parts=(
      f"{fn.__name__}: y_true and y_pred must have the same shape",
      "got y_true.shape=(3, 4)",
      "y_pred.shape=(3, 5)",
    ),
  )
  # [3] vs [3, 4]: rank differs by one, but the last axis is not 1.
  _check(
    ValueError,
    fn,
    X[:, 0],
    X,
    parts=(
      f"{fn.__name__}: y_true and y_pred must have the same shape",
      "got y_true.shape=(3,)",
      "y_pred.shape=(3, 4)",
    ),
  )


@pytest.mark.parametrize(
  "fn",
  [
    jaxloss.sparse_categorical_crossentropy,
    jaxloss.categorical_generalized_cross_entropy,
  ],
  ids=lambda f: f.__name__,
)
def test_sparse_label_shape(fn):
  _check(
    ValueError,
    fn,
    np.array([0, 1]),
    P,
    parts=(
      f"{fn.__name__}: y_true must have the shape of y_pred without "
      "its class axis",
      "got y_true.shape=(2,)",
      "y_pred.shape=(3, 4)",
    ),
  )


def test_ctc_ranks_and_batch():
  logits = np.zeros((2, 5, 3), np.float32)
  _check(
    ValueError,
    jaxloss.ctc,
    np.array([1, 2]),
    logits,
    parts=("ctc: y_true must have rank 2", "got rank 1", "shape (2,)"),
  )
  _check(
    ValueError,
    jaxloss.ctc,
    np.array([[1], [2]]),
    logits[0],
    parts=("ctc: y_pred must have rank 3", "got rank 2", "shape (5, 3)"),
  )
  _check(
    ValueError,
    jaxloss.ctc,
    np.array([[1, 0]] * 3),
    logits,
    parts=(
      "ctc: y_true and y_pred must have the same batch size",
      "got y_true.shape=(3, 2)",
      "y_pred.shape=(2, 5, 3)",
    ),
  )


def test_circle_ranks_and_sizes():
  emb = np.eye(3, dtype=np.float32)
  _check(
    ValueError,
    jaxloss.circle,
    LABELS,
    emb[0],
    parts=("circle: y_pred must have rank 2", "got rank 1", "shape (3,)"),
  )
  _check(
    ValueError,
    jaxloss.circle,
    np.zeros((3, 2), np.int32),
    emb,
    parts=("circle: y_true must have rank 1", "got rank 2", "shape (3, 2)"),
  )
  _check(
    ValueError,
    jaxloss.circle,
    LABELS[:2],
    emb,
    parts=(
      "circle: y_true must have one label per row of y_pred",
      "got y_true.shape=(2,)",
      "y_pred.shape=(3, 3)",
    ),
  )
  bad_ref = lambda t, e: jaxloss.circle(t, e, ref_embeddings=e[:, :2])
  _check(
    ValueError,
    bad_ref,
    LABELS,
    emb,
    parts=(
      "circle: ref_labels/ref_embeddings must be [M] and [M, 3]",
      "got (3,) and (3, 2)",
    ),
  )


def test_bad_axis():
  _check(
    ValueError,
    lambda t, p: jaxloss.cosine_similarity(t, p, axis=2),
    X,
    X,
    parts=("cosine_similarity: axis must be in [-2, 2)", "got 2"),
  )
  _check(
    TypeError,
    lambda t, p: jaxloss.categorical_crossentropy(t, p, axis=1.0),
    X,
    P,
    parts=("categorical_crossentropy: axis must be an int", "got 1.0"),
  )
  _check(
    ValueError,
    lambda t, p: jaxloss.dice(t, p, axis=(1, 1)),
    X,
    P,
    parts=("dice: axis has repeated axes", "got (1, 1)"),
  )


# ------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
  "fn,args",
  [
    (jaxloss.mean_squared_error, (X,)),
    (jaxloss.binary_crossentropy, (X,)),
    (jaxloss.categorical_crossentropy, (X,)),
    (jaxloss.sparse_categorical_crossentropy, (LABELS,)),
    (jaxloss.dice, (X,)),
    (jaxloss.circle, (LABELS,)),
  ],
  ids=lambda x: getattr(x, "__name__", ""),
)
def test_integer_predictions(fn, args):
  ints = np.ones((3, 4), np.int32)
  _check(
    TypeError,
    fn,
    *args,
    ints,
    parts=(f"{fn.__name__}: y_pred must have a floating dtype", "got int32"),
  )


def test_boolean_labels_and_logits_flag():
  _check(
    TypeError,
    jaxloss.sparse_categorical_crossentropy,
    np.array([True, False, True]),
    P,
    parts=(
      "sparse_categorical_crossentropy: y_true must hold integer class ids",
      "got bool",
    ),
  )
  _check(
    TypeError,
    lambda t, p: jaxloss.binary_crossentropy(t, p, from_logits=1),
    X,
    P,
    parts=("binary_crossentropy: from_logits must be a bool", "got 1"),
  )


# --------------------------------------------------- hyper-parameters


@pytest.mark.parametrize(
  "fn",
  [
    jaxloss.binary_crossentropy,
    jaxloss.binary_focal_crossentropy,
    jaxloss.categorical_crossentropy,
    jaxloss.categorical_focal_crossentropy,
  ],
  ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("ls", [-0.1, 1.5])
def test_label_smoothing_range(fn, ls):
  _check(
    ValueError,
    lambda t, p: fn(t, p, label_smoothing=ls),
    X,
    P,
    parts=(
      f"{fn.__name__}: label_smoothing must be in [0.0, 1.0]",
      f"got {ls}",
    ),
  )


def test_sparse_label_smoothing_range():
  fn = jaxloss.sparse_categorical_crossentropy
  _check(
    ValueError,
    lambda t, p: fn(t, p, label_smoothing=2.0),
    LABELS,
    P,
    parts=(
      "sparse_categorical_crossentropy: label_smoothing must be in [0.0, 1.0]",
      "got 2.0",
    ),
  )


@pytest.mark.parametrize("delta", [0.0, -1.0])
def test_huber_delta(delta):
  _check(
    ValueError,
    lambda t, p: jaxloss.huber(t, p, delta=delta),
    X,
    P,
    parts=("huber: delta must be in (0, inf]", f"got {delta}"),
  )
  with pytest.raises(ValueError, match=re.escape("huber: delta must be in")):
    jaxloss.Huber(delta=delta)(X, P)


@pytest.mark.parametrize(
  "fn",
  [jaxloss.binary_focal_crossentropy, jaxloss.categorical_focal_crossentropy],
  ids=lambda f: f.__name__,
)
def test_negative_gamma(fn):
  _check(
    ValueError,
    lambda t, p: fn(t, p, gamma=-0.5),
    X,
    P,
    parts=(f"{fn.__name__}: gamma must be in [0.0, inf]", "got -0.5"),
  )


def test_circle_gamma():
  _check(
    ValueError,
    lambda t, e: jaxloss.circle(t, e, gamma=0.0),
    LABELS,
    np.eye(3, dtype=np.float32),
    parts=("circle: gamma must be in (0.0, inf]", "got 0.0"),
  )


@pytest.mark.parametrize("q", [0.0, -0.2, 1.5])
def test_gce_q_range(q):
  fn = jaxloss.categorical_generalized_cross_entropy
  _check(
    ValueError,
    lambda t, p: fn(t, p, q=q),
    LABELS,
    P,
    parts=(
      "categorical_generalized_cross_entropy: q must be in (0.0, 1.0]",
      f"got {q}",
    ),
  )


def test_binary_focal_alpha_range():
  fn = jaxloss.binary_focal_crossentropy
  _check(
    ValueError,
    lambda t, p: fn(t, p, alpha=1.5),
    X,
    P,
    parts=("binary_focal_crossentropy: alpha must be in [0.0, 1.0]", "got 1.5"),
  )


@pytest.mark.parametrize("alpha", [(0.1, 0.2, 0.3), ((0.25,) * 4,) * 2])
def test_categorical_focal_alpha_length(alpha):
  fn = jaxloss.categorical_focal_crossentropy
  shape = np.shape(alpha)
  _check(
    ValueError,
    lambda t, p: fn(t, p, alpha=alpha),
    X,
    P,
    parts=(
      "categorical_focal_crossentropy: alpha must be a scalar or "
      "have one entry per class (4)",
      f"got shape {shape}",
    ),
  )


def test_tversky_negative_weights():
  _check(
    ValueError,
    lambda t, p: jaxloss.tversky(t, p, beta=-1.0),
    X,
    P,
    parts=("tversky: beta must be in [0.0, inf]", "got -1.0"),
  )


# ----------------------------------------------- objects, get, reduce


@pytest.mark.parametrize(
  "cls",
  [
    jaxloss.MeanSquaredError,
    jaxloss.Huber,
    jaxloss.SparseCategoricalCrossentropy,
    jaxloss.Circle,
    jaxloss.CTC,
  ],
)
def test_object_unknown_reduction(cls):
  with pytest.raises(
    ValueError, match=re.escape(f"{cls.__name__}: reduction must be one of")
  ) as info:
    cls(reduction="avg")
  assert "got 'avg'" in str(info.value)
  assert "'sum_over_batch_size'" in str(info.value)


def test_object_errors_under_jit():
  # Hyper-parameters are checked when the object is built (inside the call).
  _check(
    ValueError,
    lambda t, p: jaxloss.BinaryCrossentropy(label_smoothing=3.0)(t, p),
    X,
    P,
    parts=(
      "binary_crossentropy: label_smoothing must be in [0.0, 1.0]",
      "got 3.0",
    ),
  )
  _check(
    ValueError,
    jaxloss.MeanSquaredError(),
    X,
    np.ones((3, 5)),
    parts=(
      "mean_squared_error: y_true and y_pred must have the same shape",
      "got y_true.shape=(3, 4)",
    ),
  )
  _check(
    TypeError,
    jaxloss.MeanSquaredError(),
    X,
    P,
    P,
    P,
    parts=("MeanSquaredError: expected 2 inputs", "got 4"),
  )


def test_get_unknown_name():
  with pytest.raises(
    ValueError,
    match=re.escape(
      "get: identifier must be a known loss name, got 'mean_squared_eror'"
    ),
  ):
    jaxloss.get("mean_squared_eror")
  with pytest.raises(
    TypeError,
    match=re.escape(
      "get: identifier must be a name, a config dict or a callable, got int"
    ),
  ):
    jaxloss.get(3)
  with pytest.raises(
    ValueError,
    match=re.escape(
      "deserialize: class_name must be a known loss class, got 'Nope'"
    ),
  ):
    jaxloss.deserialize({"class_name": "Nope", "config": {}})


def test_reduce_unknown_reduction():
  _check(
    ValueError,
    lambda v: jaxloss.reduce(v, reduction="avg"),
    X,
    parts=("reduce: reduction must be one of", "got 'avg'"),
  )


@pytest.mark.parametrize(
  "weight",
  [np.ones(4), np.ones((3, 4, 2)), np.ones((2, 4))],
  ids=["trailing", "too-many-axes", "wrong-batch"],
)
def test_reduce_bad_sample_weight(weight):
  shape = tuple(weight.shape)
  _check(
    ValueError,
    lambda v, w: jaxloss.reduce(v, sample_weight=w),
    X,
    weight,
    parts=(
      "reduce: sample_weight must broadcast from the leading axes "
      "of the loss values of shape (3, 4)",
      f"got sample_weight.shape={shape}",
    ),
  )


def test_reduce_bad_where():
  _check(
    ValueError,
    lambda v, m: jaxloss.reduce(v, where=m),
    X,
    np.ones(4, bool),
    parts=(
      "reduce: where must broadcast from the leading axes",
      "got where.shape=(4,)",
    ),
  )
  _check(
    TypeError,
    lambda v, m: jaxloss.reduce(v, where=m),
    X,
    np.ones(3, np.float32),
    parts=("reduce: where must be a boolean mask", "got float32"),
  )


@pytest.mark.parametrize("reduction", ["sum", "none", None])
def test_reduce_normalizer_needs_mean(reduction):
  _check(
    ValueError,
    lambda v: jaxloss.reduce(v, reduction=reduction, normalizer=4.0),
    X,
    parts=(
      "reduce: normalizer applies only to the mean-like reductions",
      f"got reduction={reduction!r}",
    ),
  )


def test_reduce_integer_values():
  _check(
    TypeError,
    jaxloss.reduce,
    jnp.ones(3, jnp.int32),
    parts=("reduce: values must have a floating dtype", "got int32"),
  )
