"""Stable numerical primitives and the dtype policy: the one home for both.

Every loss builds on these helpers instead of writing its own clipping, safe
division or log-space trick, so that edge-case behaviour (finite gradients at
zero norms, saturated logits, masked branches) is fixed in one place.

Dtype policy (used by every loss):

* Floating inputs keep their dtype in the result: float16 in, float16 out.
* Half-precision inputs (float16, bfloat16) are *computed* in float32 and cast
  back only at the end, so statistics (log-sum-exp, means, sums) never
  accumulate in half precision.
* float64 inputs (with ``jax_enable_x64``) are computed in float64.
* Integer or boolean ``y_pred`` is rejected; integer ``y_true`` is cast to the
  compute dtype (labels are data, not parameters).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Keras's ``backend.epsilon()``: the clip used by its probability losses.
EPSILON = 1e-7

_HALF = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def is_floating(x) -> bool:
  return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def compute_dtype(dtype) -> jnp.dtype:
  """The dtype a loss computes in for inputs of ``dtype`` (half -> float32)."""
  dtype = jnp.dtype(dtype)
  return jnp.dtype(jnp.float32) if dtype in _HALF else dtype


def as_array(caller: str, name: str, x) -> jax.Array:
  """Converts an array-like (list, NumPy array, scalar) to a jax array."""
  if isinstance(x, jax.Array):
    return x
  try:
    return jnp.asarray(x)
  except (TypeError, ValueError) as e:
    ragged = _ragged(name, x)
    if ragged:
      raise ValueError(
        f"{caller}: {name} must be a rectangular array-like (nested lists of "
        f"equal lengths), got a ragged {type(x).__name__}: {ragged}"
      ) from e
    raise TypeError(
      f"{caller}: {name} must be an array-like, got {type(x).__name__}"
    ) from e


def _ragged(name, x, index=""):
  """Where a nested list stops being rectangular ('' if it does not)."""
  if not isinstance(x, (list, tuple)):
    return ""
  rows = [r for r in x if isinstance(r, (list, tuple))]
  if rows and len(rows) != len(x):
    return f"{name}{index} mixes lists and scalars"
  lengths = [len(r) for r in rows]
  for i, n in enumerate(lengths):
    if n != lengths[0]:
      return (
        f"{name}{index}[{i}] has length {n} but {name}{index}[0] has "
        f"length {lengths[0]}"
      )
  for i, r in enumerate(rows):
    found = _ragged(name, r, f"{index}[{i}]")
    if found:
      return found
  return ""


def as_float(caller: str, name: str, x) -> jax.Array:
  """Converts ``x`` to a floating array and rejects integer/boolean inputs."""
  x = as_array(caller, name, x)
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(
      f"{caller}: {name} must have a floating dtype, got {x.dtype}"
    )
  return x


def prediction_and_target(caller: str, y_true, y_pred):
  """Standard conversion for ``(y_true, y_pred)`` losses.

  Returns ``(y_true, y_pred, out_dtype)`` where both arrays are in the compute
  dtype and ``out_dtype`` is the dtype the caller must cast its result to.
  """
  y_pred = as_float(caller, "y_pred", y_pred)
  y_true = as_array(caller, "y_true", y_true)
  out_dtype = y_pred.dtype
  if jnp.issubdtype(y_true.dtype, jnp.floating):
    out_dtype = jnp.promote_types(out_dtype, y_true.dtype)
  dtype = compute_dtype(out_dtype)
  return y_true.astype(dtype), y_pred.astype(dtype), out_dtype


def floats(caller: str, **arrays):
  """Converts named floating inputs to one compute dtype.

  Returns ``(tuple_of_arrays, out_dtype)`` in the order given.
  """
  converted = {k: as_float(caller, k, v) for k, v in arrays.items()}
  out_dtype = jnp.result_type(*converted.values())
  dtype = compute_dtype(out_dtype)
  return tuple(v.astype(dtype) for v in converted.values()), out_dtype


def labels(caller: str, name: str, x) -> jax.Array:
  """Integer class labels; floating labels holding integers are cast."""
  x = as_array(caller, name, x)
  if jnp.issubdtype(x.dtype, jnp.bool_):
    raise TypeError(f"{caller}: {name} must hold integer class ids, got bool")
  if not jnp.issubdtype(x.dtype, jnp.integer):
    x = x.astype(jnp.int32)
  return x


# ------------------------------------------------------------------ primitives


def safe_divide(num, den):
  """``num / den`` with 0 where ``den == 0``; the gradient stays finite."""
  nonzero = den != 0
  return jnp.where(nonzero, num / jnp.where(nonzero, den, 1), 0)


def safe_pow(x, exponent):
  """``x ** exponent`` for ``x >= 0`` whose gradient is finite at ``x = 0``.

  At ``x = 0`` the value is ``0 ** exponent`` (1 for exponent 0) and the
  gradient is 0 (the true derivative is infinite when ``exponent < 1``).
  A NaN ``x`` stays NaN.
  """
  if (
    isinstance(exponent, (int, float))
    and not isinstance(exponent, bool)
    and float(exponent).is_integer()
    and exponent >= 2
  ):
    # x ** n has a zero derivative at 0 already. A plain integer power (a
    # product) keeps the loss fusible, where the guarded form below does not
    # (measurements: docs/performance.md).
    return jax.lax.integer_pow(x, int(exponent))
  zero = x <= 0
  powered = jnp.where(zero, 1, x) ** exponent
  zero_value = jnp.where(jnp.asarray(exponent) == 0, 1.0, 0.0).astype(x.dtype)
  return jnp.where(zero, zero_value, powered)


def xlogy(x, y):
  """``x * log(y)`` with ``0 * log(0) = 0`` and finite gradients there."""
  zero = x == 0
  safe_y = jnp.where(zero, 1, y)
  return jnp.where(zero, 0, x * jnp.log(safe_y))


def xlog_ratio(x, log_x, log_y):
  """``x (log x - log y)`` with ``0`` where ``x == 0`` (``0 log 0 = 0``,
  whatever ``y``: a masked ``-inf`` entry in both distributions), and a
  zero, never NaN, gradient there; ``x > 0`` against ``log y = -inf`` is
  ``inf``."""
  zero = x == 0
  log_x = jnp.where(zero, 0, log_x)
  log_y = jnp.where(zero, 0, log_y)
  return jnp.where(zero, 0, x * (log_x - log_y))


def safe_norm(x, axis=-1, keepdims=False):
  """L2 norm whose gradient at the zero vector is 0 instead of NaN."""
  sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
  zero = sq == 0
  norm = jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, sq)))
  return norm if keepdims else jnp.squeeze(norm, axis=axis)


def l2_normalize(
  x,
  axis: int | tuple[int, ...] | None = -1,
  eps: float | jax.Array = EPSILON,
  *,
  where: jax.Array | None = None,
  eps_on: str = "norm",
) -> jax.Array:
  """Unit vectors along ``axis``: the library's one L2 normalisation.

  ``x / n`` with the guarded norm ``n`` chosen by ``eps_on``:

  * ``"norm"``: ``n = max(||x||, eps)`` (Keras's ``normalize``,
    ``torch.nn.functional.normalize``);
  * ``"squared_norm"``: ``n = sqrt(max(||x||^2, eps))``
    (``tf.math.l2_normalize``, optax's ``cosine_similarity``); ``eps`` may be
    0, negative (no floor) or traced;
  * ``"sum"``: ``n = ||x|| + eps`` (LPIPS's unit normalisation).

  Only the entries where ``where`` holds count in the norm. Where ``n`` is 0
  (a zero vector with no floor) the result is the zero vector, and the
  gradient is finite everywhere.
  """
  if eps_on not in ("norm", "squared_norm", "sum"):
    raise ValueError(
      f"l2_normalize: eps_on must be one of ('norm', 'squared_norm', 'sum'), "
      f"got {eps_on!r}"
    )
  sq = jnp.square(x)
  if where is not None:
    sq = jnp.where(where, sq, 0)
  sq = jnp.sum(sq, axis=axis, keepdims=True)
  if eps_on == "sum":
    zero = sq == 0
    norm = jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, sq)))
    return safe_divide(x, norm + eps)
  # Floor the squared norm, then one rsqrt, sanitised so that rsqrt(0) never
  # enters the graph. For a floor eps**2 this is Keras's
  # x * min(rsqrt(sq), 1 / eps), bit for bit. A NaN entry makes its whole
  # vector NaN.
  sq = jnp.maximum(sq, eps * eps if eps_on == "norm" else eps)
  zero = sq == 0
  inv = jnp.where(zero, 0, jax.lax.rsqrt(jnp.where(zero, 1, sq)))
  return x * inv


def clip_probabilities(p, eps=EPSILON):
  """Keras's clip of probabilities into ``[eps, 1 - eps]``."""
  return jnp.clip(p, eps, 1.0 - eps)


def sigmoid_cross_entropy(targets, logits):
  """``-t log sigmoid(z) - (1 - t) log sigmoid(-z)``, element-wise.

  Computed as ``max(z, 0) - t z + log1p(exp(-|z|))``: finite for any ``z``,
  and it keeps growing linearly where ``sigmoid(z)`` rounds to 0 or 1.
  """
  return sigmoid_cross_entropy_and_sigmoids(targets, logits)[0]


def sigmoid_cross_entropy_and_sigmoids(targets, logits):
  """:func:`sigmoid_cross_entropy` with ``sigmoid(z)`` and ``sigmoid(-z)``.

  All three share one ``e = exp(-|z|)``: ``sigmoid(|z|) = 1 / (1 + e)`` and
  ``sigmoid(-|z|) = e / (1 + e)``, each accurate (no ``1 - s``
  cancellation); one ``exp`` instead of three keeps the focal loss from
  logits cheap (docs/performance.md).
  """
  e = jnp.exp(-jnp.abs(logits))
  ce = jnp.maximum(logits, 0) - targets * logits + jnp.log1p(e)
  large = 1 / (1 + e)
  small = e * large
  nonnegative = logits >= 0
  return (
    ce,
    jnp.where(nonnegative, large, small),
    jnp.where(nonnegative, small, large),
  )


def masked_logsumexp(x, where, axis: int | tuple[int, ...] = -1):
  """``log(sum(exp(x), where=where))``: ``-inf`` for an empty row, and a
  zero (never NaN) gradient there and at masked entries."""
  # Mask once, to -inf, and read that array twice (max, sum): the masked
  # entries add exp(-inf) = 0 with a zero derivative. Masking inside each
  # pass instead makes XLA:CPU materialise several more temporaries
  # (docs/performance.md).
  x = jnp.where(where, x, -jnp.inf)
  x_max = jnp.max(x, axis=axis, keepdims=True)
  # Empty rows are the ones whose maximum is -inf (a NaN maximum is kept, so
  # NaN propagates); a row of valid -inf entries is -inf either way.
  valid = x_max != -jnp.inf
  shift = jax.lax.stop_gradient(jnp.where(valid, x_max, 0))
  total = jnp.sum(jnp.exp(x - shift), axis=axis, keepdims=True)
  out = jnp.where(valid, jnp.log(jnp.where(valid, total, 1)) + shift, -jnp.inf)
  return jnp.squeeze(out, axis=axis)


# ------------------------------------------------------------------ class ids


def ids_outside(ids, num_classes, ignore_index=None) -> jax.Array:
  """True where an id lies outside ``[0, num_classes)`` and is not
  ``ignore_index``: the entries every id-taking loss turns into NaN."""
  ids = jnp.asarray(ids)
  bad = (ids < 0) | (ids >= num_classes)
  if ignore_index is not None:
    bad = bad & (ids != ignore_index)
  return bad


def nan_at_bad_ids(x, ids, num_classes, *, ignore_index=None, where=None):
  """``x`` with NaN wherever its id is outside ``[0, num_classes)``.

  The one rule of every loss that takes class (or token) ids: an id outside
  ``[0, num_classes)`` that is not ``ignore_index`` makes its value NaN, as
  the naive gather-based formula does, instead of a plausible finite number
  (a clipped, wrapped or all-zero one-hot row). ``ids`` may have more axes
  than ``x`` (a label sequence for one value: any bad id poisons it) or fewer
  (the logits row ``x [..., C]`` of one id); the leading axes match.
  ``where`` (the shape of ``ids``) restricts the check to live entries
  (padding beyond a sequence's length holds any id). Entries that are set
  to NaN get a zero gradient; the others are untouched.
  """
  bad = ids_outside(ids, num_classes, ignore_index)
  if where is not None:
    bad = bad & where
  if bad.ndim > x.ndim:
    bad = jnp.any(bad, axis=tuple(range(x.ndim, bad.ndim)))
  elif bad.ndim < x.ndim:
    bad = bad.reshape(bad.shape + (1,) * (x.ndim - bad.ndim))
  return jnp.where(bad, jnp.asarray(jnp.nan, x.dtype), x)
