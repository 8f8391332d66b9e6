"""Tests of the per-sequence and group-advantage helpers
(jaxloss/_src/lm/sequences.py).

References: NumPy float64 transcriptions of the definitions
(``sequence_log_probs``: masked sums and means; ``group_advantages``:
GRPO's ``(r - mean) / (std + eps)`` per group with ``np.std(ddof=1)``, as
TRL's ``GRPOTrainer`` computes it with ``torch.std``, and Dr. GRPO's
``r - mean``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

HALF = [jnp.bfloat16, jnp.float16]


def _np_sequence(values, mask, mean):
  total = np.sum(np.where(mask, values, 0.0), axis=-1)
  if not mean:
    return total
  count = mask.sum(-1)
  return np.where(count > 0, total / np.maximum(count, 1), 0.0)


@pytest.mark.parametrize("mean", [False, True])
def test_sequence_log_probs_matches_numpy(mean, x64):
  rng = np.random.default_rng(2)
  values = rng.normal(size=(2, 3, 5)) - 1.0
  mask = rng.uniform(size=(2, 3, 5)) < 0.6
  mask[0, 0] = False  # an empty sequence: 0
  want = _np_sequence(values, mask, mean)
  for m in (mask, mask.astype(np.float64), mask.astype(np.int32)):
    got = jaxloss.sequence_log_probs(values, where=m, mean=mean)
    np.testing.assert_allclose(got, want, rtol=1e-12)
  every = jaxloss.sequence_log_probs(values, mean=mean)
  want_every = values.mean(-1) if mean else values.sum(-1)
  np.testing.assert_allclose(every, want_every, rtol=1e-12)


def test_sequence_log_probs_masked_garbage_and_empty_rows_stay_finite():
  values = jnp.array([[-1.0, jnp.nan, -jnp.inf], [-2.0, -3.0, -4.0]])
  mask = jnp.array([[True, False, False], [False, False, False]])
  for mean in (False, True):
    f = lambda v: jnp.sum(jaxloss.sequence_log_probs(v, where=mask, mean=mean))
    value, grad = jax.value_and_grad(f)(values)
    assert np.isfinite(value)
    np.testing.assert_array_equal(grad, np.where(mask, 1.0, 0.0))
  # A NaN in a counted token propagates.
  assert np.isnan(
    jaxloss.sequence_log_probs(values, where=jnp.ones((2, 3), bool))[0]
  )


@pytest.mark.parametrize("dtype", HALF)
def test_sequence_log_probs_returns_float32_for_half(dtype):
  values = jnp.full((2, 300), -0.01, dtype)
  got = jaxloss.sequence_log_probs(values)
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(got, [-3.0, -3.0], rtol=1e-2)


def test_sequence_log_probs_bad_inputs():
  with pytest.raises(ValueError, match="sequence_log_probs: token_values and"):
    jaxloss.sequence_log_probs(jnp.zeros((2, 3)), where=jnp.ones((2, 4)))
  with pytest.raises(TypeError, match="sequence_log_probs: token_values"):
    jaxloss.sequence_log_probs(jnp.zeros((2, 3), jnp.int32))
  with pytest.raises(ValueError, match="token axis"):
    jaxloss.sequence_log_probs(jnp.float32(1.0))
  with pytest.raises(TypeError, match="sequence_log_probs: mean"):
    jaxloss.sequence_log_probs(jnp.zeros((2, 3)), mean=1)


def test_sequence_log_probs_feed_dpo():
  """The documented use: per-token log-probabilities to DPO's inputs."""
  tok = jnp.log(jnp.array([[0.5, 0.5, 1.0], [0.25, 0.5, 1.0]]))
  mask = jnp.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
  seq = jaxloss.sequence_log_probs(tok, where=mask)
  np.testing.assert_allclose(seq, np.log([0.25, 0.125]), rtol=1e-6)
  loss = jaxloss.dpo(seq[:1], seq[1:], seq[1:], seq[:1], beta=0.1)
  assert np.isfinite(loss)


def _np_advantages(r, scale, ddof=1, eps=1e-4):
  centred = r - r.mean(-1, keepdims=True)
  if scale == "none":
    return centred
  if scale == "group":
    sd = r.std(-1, ddof=ddof, keepdims=True)
  else:
    sd = r.std(ddof=ddof)
  return centred / (sd + eps)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_group_advantages_match_numpy(scale, ddof, x64):
  rng = np.random.default_rng(3)
  r = rng.normal(size=(2, 3, 4))
  got = jaxloss.group_advantages(r, scale=scale, ddof=ddof, eps=1e-4)
  want = _np_advantages(r, scale, ddof=ddof, eps=1e-4)
  np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_group_advantages_flat_layout_and_constant_groups():
  # Two prompts, four completions each, laid out flat (TRL's layout).
  flat = jnp.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5])
  adv = jaxloss.group_advantages(flat.reshape(-1, 4)).reshape(-1)
  sd = np.std([1.0, 0.0, 0.0, 1.0], ddof=1)
  np.testing.assert_allclose(
    adv[:4], np.array([0.5, -0.5, -0.5, 0.5]) / (sd + 1e-4), rtol=1e-6
  )
  np.testing.assert_array_equal(adv[4:], 0.0)  # equal rewards: no signal
  # A one-completion group with ddof=1 has no spread: zero, not NaN.
  np.testing.assert_array_equal(jaxloss.group_advantages(jnp.ones((3, 1))), 0.0)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_group_advantages_gradient_finite_at_equal_rewards(scale):
  g = jax.grad(
    lambda r: jnp.sum(jaxloss.group_advantages(r, scale=scale, eps=0.0) * 0.3)
  )(jnp.ones((2, 4)))
  assert np.all(np.isfinite(g))


def test_group_advantages_dtype_and_errors():
  r = jnp.ones((2, 4), jnp.bfloat16)
  assert jaxloss.group_advantages(r).dtype == jnp.bfloat16
  with pytest.raises(ValueError, match="group_advantages: scale must be"):
    jaxloss.group_advantages(r, scale="std")
  with pytest.raises(ValueError, match="group_advantages: eps"):
    jaxloss.group_advantages(r, eps=-1.0)
  with pytest.raises(ValueError, match="group_advantages: ddof"):
    jaxloss.group_advantages(r, ddof=-1)
  with pytest.raises(ValueError, match="group axis"):
    jaxloss.group_advantages(jnp.float32(1.0))
