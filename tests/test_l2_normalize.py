"""The library's one L2 normalisation, ``numerics.l2_normalize``.

References are NumPy float64 transcriptions of the three conventions:
Keras 3's ``keras.utils.normalize`` / ``torch.nn.functional.normalize``
(``x / max(||x||, eps)``), ``tf.math.l2_normalize`` and optax 0.2.8's
``cosine_similarity`` (``x / sqrt(max(||x||^2, eps))``) and LPIPS's
``normalize_tensor`` (``x / (||x|| + eps)``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

from jaxloss._src import numerics


def _np_normalize(x, eps, eps_on, where=None):
  sq = np.square(x)
  if where is not None:
    sq = np.where(where, sq, 0.0)
  sq = sq.sum(-1, keepdims=True)
  if eps_on == "norm":
    n = np.maximum(np.sqrt(sq), eps)
  elif eps_on == "squared_norm":
    n = np.sqrt(np.maximum(sq, eps))
  else:
    n = np.sqrt(sq) + eps
  return np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)


def _inputs():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(6, 4))
  x[0] = 0.0  # a zero vector
  x[1] *= 1e-9  # a vector below every floor used here
  return x


@pytest.mark.parametrize(
  "eps_on, eps",
  [
    ("norm", 1e-7),
    ("norm", 1e-6),
    ("norm", 0.0),
    ("squared_norm", 0.0),
    ("squared_norm", 1e-12),
    ("squared_norm", -1.0),
    ("sum", 1e-10),
    ("sum", 0.0),
  ],
)
def test_matches_the_numpy_formula(eps_on, eps, x64):
  x = _inputs()
  got = numerics.l2_normalize(jnp.asarray(x), eps=eps, eps_on=eps_on)
  np.testing.assert_allclose(
    got, _np_normalize(x, eps, eps_on), rtol=1e-14, atol=1e-300
  )


def test_where_counts_only_the_kept_entries(x64):
  x = _inputs()
  where = np.array([True, True, False, True])
  got = numerics.l2_normalize(
    jnp.asarray(x), eps=0.0, where=where, eps_on="squared_norm"
  )
  np.testing.assert_allclose(
    got, _np_normalize(x, 0.0, "squared_norm", where), rtol=1e-14
  )


@pytest.mark.parametrize(
  "eps_on, eps, slope",
  [
    # Below the floor the map is x / eps: its Jacobian is I / eps.
    ("norm", 1e-7, 1e7),
    ("squared_norm", 1e-12, 1e6),
    ("sum", 1e-10, 1e10),
    # No floor: the zero vector maps to 0 with a zero gradient.
    ("norm", 0.0, 0.0),
    ("squared_norm", 0.0, 0.0),
  ],
)
def test_zero_vector_value_and_gradient_are_finite(eps_on, eps, slope):
  zero = jnp.zeros((2, 3), jnp.float32)
  out = numerics.l2_normalize(zero, eps=eps, eps_on=eps_on)
  np.testing.assert_array_equal(out, np.zeros((2, 3)))
  grad = jax.grad(
    lambda x: jnp.sum(numerics.l2_normalize(x, eps=eps, eps_on=eps_on))
  )(zero)
  assert np.all(np.isfinite(grad))
  np.testing.assert_allclose(grad, np.full((2, 3), slope), rtol=1e-6)


@pytest.mark.parametrize("eps_on", ["norm", "squared_norm", "sum"])
def test_nan_propagates_to_its_vector(eps_on):
  x = jnp.array([[jnp.nan, 1.0], [0.0, 0.0], [3.0, 4.0]])
  out = numerics.l2_normalize(x, eps=0.0, eps_on=eps_on)
  assert np.all(np.isnan(out[0]))
  np.testing.assert_allclose(out[1:], [[0.0, 0.0], [0.6, 0.8]], rtol=1e-6)


@pytest.mark.parametrize("eps_on", ["norm", "squared_norm", "sum"])
def test_gradients_match_finite_differences(eps_on, x64):
  x = jnp.asarray(_inputs()[2:])
  check_grads(
    lambda x: numerics.l2_normalize(x, eps=1e-3, eps_on=eps_on),
    (x,),
    order=2,
    modes=("rev",),
  )


def test_traced_squared_floor_is_differentiable(x64):
  # optax's cosine_similarity takes its epsilon as an array-like.
  x = jnp.asarray(_inputs())
  g = jax.grad(
    lambda e: jnp.sum(numerics.l2_normalize(x, eps=e, eps_on="squared_norm"))
  )(0.5)
  # d/de of x / sqrt(e) = -x / (2 e^1.5) on the rows whose |x|^2 < e.
  sq = np.sum(np.square(_inputs()), -1)
  below = sq < 0.5
  want = np.sum(-_inputs()[below] / (2 * 0.5**1.5))
  np.testing.assert_allclose(g, want, rtol=1e-12)


def test_unknown_eps_on_is_an_error():
  with pytest.raises(ValueError, match="l2_normalize: eps_on must be one of"):
    numerics.l2_normalize(jnp.ones(3), eps_on="max")


def test_clip_probabilities_takes_eps():
  p = jnp.array([0.0, 0.5, 1.0])
  np.testing.assert_allclose(
    numerics.clip_probabilities(p, eps=0.1), [0.1, 0.5, 0.9], rtol=1e-6
  )
