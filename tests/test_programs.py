"""One kernel, one program: a Keras-form loss object compiles to the same
optimised XLA program as optax's function for the same formula (optax 0.2.8,
mean reduction, value and gradient), compared with the benchmark's program
fingerprint (benchmarks/run.py: the optimised HLO without names and source
locations)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.optional import require

optax = require("optax")
from benchmarks.run import program_fingerprint  # noqa: E402

B, K = 64, 48


def _fingerprint(f, *args):
  return program_fingerprint(
    jax.jit(jax.value_and_grad(f)).lower(*args).compile()
  )


def _logits():
  rng = np.random.default_rng(0)
  return jnp.asarray(rng.normal(size=(B, K)), jnp.float32)


def test_sparse_categorical_crossentropy_is_optax_program():
  labels = jnp.asarray(np.random.default_rng(1).integers(0, K, size=(B,)))
  keras_form = jaxloss.SparseCategoricalCrossentropy(from_logits=True)
  ours = _fingerprint(lambda z: keras_form(labels, z), _logits())
  theirs = _fingerprint(
    lambda z: optax.softmax_cross_entropy_with_integer_labels(z, labels).mean(),
    _logits(),
  )
  assert ours == theirs


def test_log_cosh_is_optax_program():
  targets = jnp.asarray(
    np.random.default_rng(2).normal(size=(B, K)), jnp.float32
  )
  keras_form = jaxloss.LogCosh()
  ours = _fingerprint(lambda z: keras_form(targets, z), _logits())
  theirs = _fingerprint(lambda z: optax.log_cosh(z, targets).mean(), _logits())
  assert ours == theirs


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
def test_log_cosh_one_mean_equals_mean_of_means(shape, x64):
  # The single-reduction path is the same number as per-sample means then
  # reduce (rows have equal length), and weights / masks / other
  # reductions still take the per-sample path.
  rng = np.random.default_rng(3)
  t, p = rng.normal(size=shape), rng.normal(size=shape)
  per_sample = np.mean(np.log(np.cosh(p - t)), axis=-1)  # the formula
  loss = jaxloss.LogCosh()
  np.testing.assert_allclose(loss(t, p), per_sample.mean(), rtol=1e-12)
  w = rng.uniform(size=shape[:-1])
  np.testing.assert_allclose(loss(t, p, w), (per_sample * w).mean(), rtol=1e-12)
  np.testing.assert_allclose(
    jaxloss.LogCosh(reduction="sum")(t, p), per_sample.sum(), rtol=1e-12
  )
  g = jax.grad(lambda q: loss(t, q))(jnp.asarray(p))
  np.testing.assert_allclose(
    g, np.tanh(p - t) / per_sample.size / shape[-1] * 1.0, rtol=1e-12
  )


def test_categorical_crossentropy_is_optax_program():
  # CategoricalCrossentropy(from_logits=True) and optax's
  # softmax_cross_entropy share one kernel: the same optimised program.
  labels = jax.nn.one_hot(
    np.random.default_rng(4).integers(0, K, size=(B,)), K, dtype=jnp.float32
  )
  keras_form = jaxloss.CategoricalCrossentropy(from_logits=True)
  ours = _fingerprint(lambda z: keras_form(labels, z), _logits())
  theirs = _fingerprint(
    lambda z: optax.softmax_cross_entropy(z, labels).mean(), _logits()
  )
  assert ours == theirs
  # The optax form of jaxloss is that program as well.
  from jaxloss import optax as jaxloss_optax  # noqa: PLC0415

  drop_in = _fingerprint(
    lambda z: jaxloss_optax.softmax_cross_entropy(z, labels).mean(), _logits()
  )
  assert drop_in == theirs


def test_categorical_crossentropy_program_differs_from_other_formulas():
  # The fingerprint tells programs apart: the probability form (Keras's
  # normalise-and-clip) is another program.
  labels = jax.nn.one_hot(jnp.arange(B) % K, K, dtype=jnp.float32)
  logits_form = jaxloss.CategoricalCrossentropy(from_logits=True)
  probs_form = jaxloss.CategoricalCrossentropy()
  z = jax.nn.softmax(_logits())
  assert _fingerprint(lambda z: logits_form(labels, z), z) != _fingerprint(
    lambda z: probs_form(labels, z), z
  )
