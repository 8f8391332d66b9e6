"""The benchmark table: one :class:`Case` per (loss, configuration).

Each case names the jaxloss per-sample function, an input maker that builds
``y_pred`` with about ``n`` elements, and its counterparts: the optax 0.2.8
function computing the same quantity (``None`` where optax has none), the
Keras 3 function name on the JAX backend, and a naive ``jnp`` transcription
of the formula. Every implementation is timed through the same wrapper,
``mean(values)``, so forward and ``value_and_grad`` do the same work.

To add a loss: append a ``Case`` to ``CASES``. Registered loss classes that
have no case here are still benchmarked (jaxloss against the memory floor
only) when they accept two ``[B, D]`` float arrays; see :func:`all_cases`.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxloss
from jaxloss import optax as jaxloss_optax
from jaxloss._src import objects

EPS = 1e-7
D = 128  # event size of element-wise losses
K = 128  # classes of categorical losses
GENERIC_MAX_N = 100_000  # cap for losses found in the registry, not the table


@dataclasses.dataclass(frozen=True)
class Case:
  """How to benchmark one loss.

  Attributes:
    name: row label (function name, plus a variant in brackets).
    loss: the jaxloss per-sample function.
    make: ``(rng, n) -> tuple of NumPy arrays``, the positional inputs, with
      ``y_pred`` holding about ``n`` elements.
    kwargs: hyper-parameters for ``loss``.
    optax: ``(*inputs) -> per-sample values`` with optax, or None.
    keras: ``(function name, kwargs)`` in ``keras.losses``, or None.
    naive: ``(*inputs) -> per-sample values`` in plain ``jnp``, or None.
    family: what limits it: "memory", "transcendental", "reduction",
      "gather", "pairwise" or "sequential".
    max_n: largest ``n`` worth running (pairwise and sequential losses).
    argnum: the input differentiated in ``value_and_grad`` (``y_pred``).
  """

  name: str
  loss: Callable[..., Any]
  make: Callable[[np.random.Generator, int], tuple]
  kwargs: dict = dataclasses.field(default_factory=dict)
  optax: Callable[..., Any] | None = None
  keras: tuple[str, dict] | None = None
  naive: Callable[..., Any] | None = None
  family: str = "memory"
  max_n: int | None = None
  argnum: int = 1

  def jaxloss_fn(self):
    return lambda *a: self.loss(*a, **self.kwargs)


# ------------------------------------------------------------ input makers

f32 = np.float32


def _rows(n, width):
  return max(int(n) // width, 1)


def reg(rng, n):
  b = _rows(n, D)
  return (
    rng.normal(size=(b, D)).astype(f32),
    rng.normal(size=(b, D)).astype(f32),
  )


def positive(rng, n):
  b = _rows(n, D)
  return (
    rng.uniform(0.1, 3.0, (b, D)).astype(f32),
    rng.uniform(0.1, 3.0, (b, D)).astype(f32),
  )


def binary_probs(rng, n):
  b = _rows(n, D)
  return (
    rng.integers(0, 2, (b, D)).astype(f32),
    rng.uniform(0.02, 0.98, (b, D)).astype(f32),
  )


def binary_logits(rng, n):
  b = _rows(n, D)
  return (
    rng.integers(0, 2, (b, D)).astype(f32),
    (3 * rng.normal(size=(b, D))).astype(f32),
  )


def signed(rng, n):
  b = _rows(n, D)
  return (
    (2 * rng.integers(0, 2, (b, D)) - 1).astype(f32),
    rng.normal(size=(b, D)).astype(f32),
  )


def _one_hot(rng, b):
  return np.eye(K, dtype=f32)[rng.integers(0, K, b)]


def cat_probs(rng, n):
  b = _rows(n, K)
  p = rng.uniform(0.1, 1.0, (b, K))
  return _one_hot(rng, b), (p / p.sum(-1, keepdims=True)).astype(f32)


def cat_logits(rng, n):
  b = _rows(n, K)
  return _one_hot(rng, b), (3 * rng.normal(size=(b, K))).astype(f32)


def sparse_probs(rng, n):
  t, p = cat_probs(rng, n)
  return np.argmax(t, -1).astype(np.int32), p


def sparse_logits(rng, n):
  t, p = cat_logits(rng, n)
  return np.argmax(t, -1).astype(np.int32), p


def embeddings(rng, n, dim=64):
  b = _rows(n, dim)
  x = rng.normal(size=(b, dim))
  x /= np.linalg.norm(x, axis=-1, keepdims=True)
  return rng.integers(0, 10, b).astype(np.int32), x.astype(f32)


CTC_T, CTC_K, CTC_N = 50, 32, 12


def ctc_inputs(rng, n):
  b = _rows(n, CTC_T * CTC_K)
  labels = rng.integers(1, CTC_K, (b, CTC_N)).astype(np.int32)
  lengths = rng.integers(CTC_N // 2, CTC_N + 1, b)
  labels[np.arange(CTC_N)[None] >= lengths[:, None]] = 0
  logits = rng.normal(size=(b, CTC_T, CTC_K)).astype(f32)
  return labels, logits


# ------------------------------------------------------- naive versions


def _mean(x):
  return jnp.mean(x, axis=-1)


def _naive_bce_probs(t, p):
  p = jnp.clip(p, EPS, 1 - EPS)
  return _mean(-(t * jnp.log(p) + (1 - t) * jnp.log(1 - p)))


def _naive_bce_logits(t, z):
  s = jax.nn.sigmoid(z)
  return _naive_bce_probs(t, s)


def _naive_focal_logits(t, z, gamma=2.0):
  s = jax.nn.sigmoid(z)
  pt = t * s + (1 - t) * (1 - s)
  s = jnp.clip(s, EPS, 1 - EPS)
  bce = -(t * jnp.log(s) + (1 - t) * jnp.log(1 - s))
  return _mean((1 - pt) ** gamma * bce)


def _naive_cce_probs(t, p):
  p = jnp.clip(p / jnp.sum(p, -1, keepdims=True), EPS, 1 - EPS)
  return -jnp.sum(t * jnp.log(p), -1)


def _naive_cce_logits(t, z):
  return -jnp.sum(t * jnp.log(jax.nn.softmax(z, -1)), -1)


def _naive_sparse(labels, p, from_logits):
  t = jax.nn.one_hot(labels, p.shape[-1], dtype=p.dtype)
  return (_naive_cce_logits if from_logits else _naive_cce_probs)(t, p)


def _naive_cfce_logits(t, z, gamma=2.0, alpha=0.25):
  q = jax.nn.softmax(z, -1)
  return -jnp.sum(alpha * (1 - q) ** gamma * t * jnp.log(q), -1)


def _naive_cosine(t, p):
  t = t / jnp.maximum(jnp.linalg.norm(t, axis=-1, keepdims=True), EPS)
  p = p / jnp.maximum(jnp.linalg.norm(p, axis=-1, keepdims=True), EPS)
  return -jnp.sum(t * p, -1)


def _naive_huber(t, p, delta=1.0):
  e = jnp.abs(p - t)
  return _mean(jnp.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2))


def _naive_categorical_hinge(t, p):
  pos = jnp.sum(t * p, -1)
  neg = jnp.max((1 - t) * p, -1)
  return jnp.maximum(neg - pos + 1, 0)


def _naive_dice(t, p):
  inter = jnp.sum(t * p, -1)
  return 1 - 2 * inter / (jnp.sum(t, -1) + jnp.sum(p, -1) + EPS)


def _naive_tversky(t, p, alpha=0.5, beta=0.5):
  tp = jnp.sum(t * p, -1)
  fp = jnp.sum((1 - t) * p, -1)
  fn = jnp.sum(t * (1 - p), -1)
  return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _naive_gce(labels, p, q=0.5):
  pt = jnp.take_along_axis(p, labels[:, None], -1)[:, 0]
  return (1 - pt**q) / q


def _optax_ctc(labels, logits):
  return optax.losses.ctc_loss(*_ctc_args(labels, logits))


# ------------------------------------------------------------------ table

CASES: list[Case] = [
  # Element-wise regression: memory-bound or transcendental-bound.
  Case(
    "mean_squared_error",
    jaxloss.mean_squared_error,
    reg,
    optax=lambda t, p: _mean(optax.losses.squared_error(p, t)),
    keras=("mean_squared_error", {}),
    naive=lambda t, p: _mean((t - p) ** 2),
  ),
  Case(
    "mean_absolute_error",
    jaxloss.mean_absolute_error,
    reg,
    keras=("mean_absolute_error", {}),
    naive=lambda t, p: _mean(jnp.abs(t - p)),
  ),
  Case(
    "mean_absolute_percentage_error",
    jaxloss.mean_absolute_percentage_error,
    reg,
    keras=("mean_absolute_percentage_error", {}),
    naive=lambda t, p: (
      100 * _mean(jnp.abs((t - p) / jnp.maximum(jnp.abs(t), EPS)))
    ),
  ),
  Case(
    "mean_squared_logarithmic_error",
    jaxloss.mean_squared_logarithmic_error,
    positive,
    keras=("mean_squared_logarithmic_error", {}),
    naive=lambda t, p: _mean(
      (jnp.log1p(jnp.maximum(p, EPS)) - jnp.log1p(jnp.maximum(t, EPS))) ** 2
    ),
    family="transcendental",
  ),
  Case(
    "cosine_similarity",
    jaxloss.cosine_similarity,
    reg,
    optax=lambda t, p: -optax.losses.cosine_similarity(p, t, epsilon=EPS),
    keras=("cosine_similarity", {}),
    naive=_naive_cosine,
    family="reduction",
  ),
  Case(
    "huber",
    jaxloss.huber,
    reg,
    optax=lambda t, p: _mean(optax.losses.huber_loss(p, t)),
    keras=("huber", {}),
    naive=_naive_huber,
  ),
  Case(
    "log_cosh",
    jaxloss.log_cosh,
    reg,
    optax=lambda t, p: _mean(optax.losses.log_cosh(p, t)),
    keras=("log_cosh", {}),
    naive=lambda t, p: _mean(jnp.log(jnp.cosh(p - t))),
    family="transcendental",
  ),
  # Hinge.
  Case(
    "hinge",
    jaxloss.hinge,
    signed,
    keras=("hinge", {}),
    naive=lambda t, p: _mean(jnp.maximum(1 - t * p, 0)),
  ),
  Case(
    "squared_hinge",
    jaxloss.squared_hinge,
    signed,
    keras=("squared_hinge", {}),
    naive=lambda t, p: _mean(jnp.maximum(1 - t * p, 0) ** 2),
  ),
  Case(
    "categorical_hinge",
    jaxloss.categorical_hinge,
    cat_logits,
    keras=("categorical_hinge", {}),
    naive=_naive_categorical_hinge,
    family="reduction",
  ),
  # Binary probabilistic.
  Case(
    "binary_crossentropy",
    jaxloss.binary_crossentropy,
    binary_probs,
    keras=("binary_crossentropy", {}),
    naive=_naive_bce_probs,
    family="transcendental",
  ),
  Case(
    "binary_crossentropy[logits]",
    jaxloss.binary_crossentropy,
    binary_logits,
    kwargs={"from_logits": True},
    optax=lambda t, z: _mean(optax.losses.sigmoid_binary_cross_entropy(z, t)),
    keras=("binary_crossentropy", {"from_logits": True}),
    naive=_naive_bce_logits,
    family="transcendental",
  ),
  Case(
    "binary_focal_crossentropy[logits]",
    jaxloss.binary_focal_crossentropy,
    binary_logits,
    kwargs={"from_logits": True},
    optax=lambda t, z: _mean(optax.losses.sigmoid_focal_loss(z, t)),
    keras=("binary_focal_crossentropy", {"from_logits": True}),
    naive=_naive_focal_logits,
    family="transcendental",
  ),
  Case(
    "poisson",
    jaxloss.poisson,
    positive,
    keras=("poisson", {}),
    naive=lambda t, p: _mean(p - t * jnp.log(p + EPS)),
    family="transcendental",
  ),
  Case(
    "kl_divergence",
    jaxloss.kl_divergence,
    cat_probs,
    keras=("kl_divergence", {}),
    naive=lambda t, p: jnp.sum(
      jnp.clip(t, EPS, 1) * jnp.log(jnp.clip(t, EPS, 1) / jnp.clip(p, EPS, 1)),
      -1,
    ),
    family="transcendental",
  ),
  # Categorical (softmax over a class axis).
  Case(
    "categorical_crossentropy",
    jaxloss.categorical_crossentropy,
    cat_probs,
    keras=("categorical_crossentropy", {}),
    naive=_naive_cce_probs,
    family="transcendental",
  ),
  Case(
    "categorical_crossentropy[logits]",
    jaxloss.categorical_crossentropy,
    cat_logits,
    kwargs={"from_logits": True},
    optax=lambda t, z: optax.losses.softmax_cross_entropy(z, t),
    keras=("categorical_crossentropy", {"from_logits": True}),
    naive=_naive_cce_logits,
    family="transcendental",
  ),
  Case(
    "categorical_focal_crossentropy[logits]",
    jaxloss.categorical_focal_crossentropy,
    cat_logits,
    kwargs={"from_logits": True},
    keras=("categorical_focal_crossentropy", {"from_logits": True}),
    naive=_naive_cfce_logits,
    family="transcendental",
  ),
  Case(
    "sparse_categorical_crossentropy",
    jaxloss.sparse_categorical_crossentropy,
    sparse_probs,
    keras=("sparse_categorical_crossentropy", {}),
    naive=lambda y, p: _naive_sparse(y, p, False),
    family="gather",
  ),
  Case(
    "sparse_categorical_crossentropy[logits]",
    jaxloss.sparse_categorical_crossentropy,
    sparse_logits,
    kwargs={"from_logits": True},
    optax=lambda y, z: optax.losses.softmax_cross_entropy_with_integer_labels(
      z, y
    ),
    keras=("sparse_categorical_crossentropy", {"from_logits": True}),
    naive=lambda y, z: _naive_sparse(y, z, True),
    family="gather",
  ),
  Case(
    "categorical_generalized_cross_entropy",
    jaxloss.categorical_generalized_cross_entropy,
    sparse_probs,
    keras=("categorical_generalized_cross_entropy", {}),
    naive=_naive_gce,
    family="gather",
  ),
  # Overlap (segmentation), per sample along the last axis.
  Case(
    "dice",
    jaxloss.dice,
    binary_probs,
    kwargs={"axis": -1},
    keras=("dice", {"axis": -1}),
    naive=_naive_dice,
    family="reduction",
  ),
  Case(
    "tversky",
    jaxloss.tversky,
    binary_probs,
    kwargs={"axis": -1},
    keras=("tversky", {"axis": -1}),
    naive=_naive_tversky,
    family="reduction",
  ),
  # Pairwise and sequential: not element-wise, capped sizes.
  Case(
    "circle",
    jaxloss.circle,
    embeddings,
    keras=("circle", {}),
    family="pairwise",
    max_n=100_000,
  ),
  Case(
    "ctc",
    jaxloss.ctc,
    ctc_inputs,
    optax=_optax_ctc,
    keras=("ctc", {}),
    family="sequential",
    max_n=1_000_000,
  ),
]


def _dropin(name, make, family="memory", args=lambda t, p: (p, t), **kw):
  """``jaxloss.optax.<name>`` against ``optax.losses.<name>``, same inputs.

  The Keras-semantics rows above compare with optax only where the two
  compute the same quantity; these rows time the drop-in module, whose
  semantics are optax's by construction.
  """
  ours, theirs = getattr(jaxloss_optax, name), getattr(optax.losses, name)
  return Case(
    f"optax.{name}",
    lambda *a: ours(*args(*a), **kw),
    make,
    optax=lambda *a: theirs(*args(*a), **kw),
    family=family,
    max_n=1_000_000 if family == "sequential" else None,
  )


def _ctc_args(labels, logits):
  return (
    logits,
    jnp.zeros(logits.shape[:2], logits.dtype),
    labels,
    (labels == 0).astype(logits.dtype),
  )


CASES += [
  _dropin("squared_error", reg),
  _dropin("huber_loss", reg),
  _dropin("log_cosh", reg, "transcendental"),
  _dropin("hinge_loss", signed),
  _dropin("cosine_distance", reg, "reduction"),
  _dropin("sigmoid_binary_cross_entropy", binary_logits, "transcendental"),
  _dropin("sigmoid_focal_loss", binary_logits, "transcendental"),
  _dropin(
    "kl_divergence",
    cat_probs,
    "transcendental",
    args=lambda t, p: (jnp.log(p), t),
  ),
  _dropin("softmax_cross_entropy", cat_logits, "transcendental"),
  _dropin("softmax_cross_entropy_with_integer_labels", sparse_logits, "gather"),
  _dropin("ctc_loss", ctc_inputs, "sequential", args=_ctc_args),
]


def _generic_inputs(rng, n):
  b = _rows(n, D)
  return (
    rng.uniform(0.0, 1.0, (b, D)).astype(f32),
    rng.uniform(0.05, 0.95, (b, D)).astype(f32),
  )


def all_cases() -> tuple[list[Case], list[str]]:
  """The table, plus a generic case for every other registered loss class.

  Returns ``(cases, skipped)``: ``skipped`` names registered classes that
  have no table entry and do not accept two ``[B, D]`` float arrays (they
  need a ``Case`` written by hand).
  """
  covered = {c.loss for c in CASES}
  cases, skipped = list(CASES), []
  rng = np.random.default_rng(0)
  for name, cls in sorted(objects.classes().items()):
    fn = getattr(cls, "fn", None)
    if fn is None or fn in covered or len(cls.inputs) != 2:
      continue
    covered.add(fn)
    try:
      jax.eval_shape(fn, *_generic_inputs(rng, 4 * D))
    except Exception:  # noqa: BLE001 - any failure means "needs a case"
      skipped.append(name)
      continue
    # Unknown cost model (many are pairwise in the batch or the list axis):
    # capped so that one quadratic loss cannot take over the run.
    cases.append(
      Case(
        fn.__name__, fn, _generic_inputs, family="generic", max_n=GENERIC_MAX_N
      )
    )
  return cases, skipped
