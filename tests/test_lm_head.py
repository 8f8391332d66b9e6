"""The LM API's dtype policy, common to the fused heads
(jaxloss/_src/lm/head.py): float32 results for half inputs, float64 under
x64, for the single-device and the vocabulary-parallel forms.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss

HALF = [jnp.bfloat16, jnp.float16]


def _head(dtype, n=6, d=4, v=10):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(n, d)), dtype)
  w = jnp.asarray(rng.normal(size=(d, v)), dtype)
  y = jnp.asarray(rng.integers(0, v, n))
  return x, w, y


def _fused_calls(x, w, y):
  v = w.shape[1]
  ids = jnp.stack([y, (y + 1) % v], axis=-1)
  topk = jnp.log(jnp.full(ids.shape, 0.5, jnp.float32))
  return {
    "linear_cross_entropy": lambda: jaxloss.linear_cross_entropy(x, w, y),
    "linear_log_probs": lambda: jaxloss.linear_log_probs(x, w, y),
    "linear_distillation": lambda: jaxloss.linear_distillation(
      x, w, x, w * 0.5, y
    ),
    "linear_topk_distillation": lambda: jaxloss.linear_topk_distillation(
      x, w, topk, ids
    ),
  }


@pytest.mark.parametrize("dtype", HALF)
def test_fused_lm_functions_return_float32_for_half_inputs(dtype):
  # Traced only (eval_shape): the dtype is decided at trace time.
  x, w, y = _head(dtype)
  for name, call in _fused_calls(x, w, y).items():
    assert jax.eval_shape(call).dtype == jnp.float32, name
  with jax.enable_x64(True):
    x, w, y = _head(jnp.float64)
    for name, call in _fused_calls(x, w, y).items():
      assert jax.eval_shape(call).dtype == jnp.float64, name


@pytest.mark.parametrize("dtype", HALF)
def test_vocab_parallel_forms_return_float32_for_half_inputs(dtype):
  mesh = Mesh(np.array(jax.devices()[:1]), ("model",))
  x, w, y = _head(dtype)

  def body(x, w, y):
    z = x @ w
    return (
      jaxloss.vocab_parallel_linear_cross_entropy(x, w, y, axis_name="model"),
      jaxloss.vocab_parallel_cross_entropy(z, y, axis_name="model"),
      jaxloss.vocab_parallel_log_probs(x, w, y, axis_name="model"),
      jaxloss.vocab_parallel_linear_distillation(
        x, w, x, w, y, axis_name="model"
      ),
    )

  out = jax.eval_shape(
    jax.shard_map(
      body,
      mesh=mesh,
      in_specs=(P(), P(None, "model"), P()),
      out_specs=(P(), P(), P(), P()),
    ),
    x,
    w,
    y,
  )
  assert [o.dtype for o in out] == [jnp.float32] * 4
