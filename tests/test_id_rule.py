"""The id rule beyond the registry's property (tests/test_properties.py):
a sampler's support ids in ``linear_log_probs`` and the ``jaxloss.optax``
forms' integer labels under ``jaxloss.checked``."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import optax as jl_optax

_RNG = np.random.default_rng(0)
_X = jnp.asarray(_RNG.normal(size=(3, 4)), jnp.float32)
_W = jnp.asarray(_RNG.normal(size=(4, 5)), jnp.float32)  # V = 5
_Y = jnp.array([1, 2, 0])
_SUPPORT = np.array([[1, 0, -1], [2, 3, 4], [0, 4, -1]])  # -1 pads


def _support_log_probs(support):
  return jaxloss.linear_log_probs(_X, _W, _Y, support=jnp.asarray(support))


def test_support_padding_is_minus_one_only():
  # The renormalised log-probability over the live ids, from log_softmax.
  got = np.asarray(_support_log_probs(_SUPPORT))
  logp = np.asarray(jax.nn.log_softmax(_X @ _W))
  for i, row in enumerate(_SUPPORT):
    live = row[row >= 0]
    want = logp[i, _Y[i]] - np.log(np.exp(logp[i, live]).sum())
    np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [5, 7, -2, -5])
def test_support_id_outside_vocabulary_gives_nan(bad):
  support = _SUPPORT.copy()
  support[0, 1] = bad  # the first token's support names no token
  values = np.asarray(_support_log_probs(support))
  assert np.isnan(values[0]), values
  assert np.isfinite(values[1:]).all(), values
  # The other tokens' gradients stay finite.
  grad = jax.grad(
    lambda x: jnp.sum(
      jaxloss.linear_log_probs(x, _W, _Y, support=jnp.asarray(support))[1:]
    )
  )(_X)
  assert np.isfinite(np.asarray(grad)).all()
  check = jaxloss.checked(
    functools.partial(jaxloss.linear_log_probs, support=jnp.asarray(support))
  )
  error, _ = check(_X, _W, _Y)
  message = error.get()
  assert message is not None
  assert "support must hold class ids in [0, 5)" in message, message
  assert f"(value {bad})" in message, message


def test_support_padding_is_not_reported():
  check = jaxloss.checked(
    functools.partial(jaxloss.linear_log_probs, support=jnp.asarray(_SUPPORT))
  )
  error, value = check(_X, _W, _Y)
  assert error.get() is None
  assert np.isfinite(np.asarray(value)).all()


_SCORES = jnp.array([[1.0, 2.0, 0.5], [0.0, 1.0, 2.0]])


@pytest.mark.parametrize(
  "fn",
  [
    jl_optax.softmax_cross_entropy_with_integer_labels,
    jl_optax.multiclass_hinge_loss,
    jl_optax.multiclass_perceptron_loss,
    jl_optax.multiclass_sparsemax_loss,
  ],
  ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("bad", [-1, 3])
def test_optax_forms_labels_reported_by_checked(fn, bad):
  # The optax forms keep optax's values (docs/guide.md); checked names the
  # label that is outside [0, K).
  error, _ = jaxloss.checked(fn)(_SCORES, jnp.array([bad, 1]))
  message = error.get()
  assert message is not None
  assert "labels must hold class ids in [0, 3)" in message, message
  error, _ = jaxloss.checked(fn)(_SCORES, jnp.array([2, 1]))
  assert error.get() is None
