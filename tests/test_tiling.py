"""The shared tiling machinery (jaxloss/_src/tiling.py) on its own.

The losses built on it (tests/test_lm_cross_entropy.py,
test_lm_log_probs.py, test_lm_distillation.py, test_lm_vocab_parallel.py,
test_contrastive.py) check it end to end; these tests pin the pieces: the
online log-sum-exp against a NumPy ``logsumexp`` (and the entropy sum
against ``-sum p log p``), empty rows, the scan's tail tile, the
cross-device combine and the chunk checks.
"""

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss
from jaxloss._src import tiling
from jaxloss._src import validation


def _np_lse(s):
  m = np.max(s, axis=-1, keepdims=True)
  return (m + np.log(np.sum(np.exp(s - m), axis=-1, keepdims=True)))[..., 0]


def _online(s, chunk, weighted=False):
  """The online state over the tiles of ``s`` (through scan_tiles)."""
  s = jnp.asarray(s)

  def step(state, start, size):
    tile = jax.lax.dynamic_slice_in_dim(s, start, size, axis=1)
    state, _, _ = tiling.lse_add(state, tile)
    return state

  start = tiling.lse_start(s.shape[:1], s.dtype, weighted=weighted)
  return tiling.scan_tiles(step, start, s.shape[1], chunk, ())


@pytest.mark.parametrize("chunk", [1, 3, 7, 10])
def test_online_lse_and_entropy_match_numpy(chunk):
  rng = np.random.default_rng(0)
  s = rng.normal(size=(4, 10)).astype(np.float32) * 5
  state = _online(s, chunk, weighted=True)
  lse = tiling.finish_lse(state.m, state.se)
  np.testing.assert_allclose(lse, _np_lse(s), rtol=1e-6)
  # Entropy from the tracked sum: lse - E_p[s], E_p[s] = m + sw / se.
  p = np.exp(s - _np_lse(s)[:, None])
  entropy = -np.sum(p * np.log(p), axis=-1)
  mean_s = state.m + state.sw / state.se
  np.testing.assert_allclose(lse - mean_s, entropy, rtol=1e-5, atol=1e-6)


def test_empty_rows_give_minus_inf_and_nan_propagates():
  s = np.array(
    [[-np.inf, -np.inf, -np.inf], [0.0, np.nan, 1.0], [0.0, 1.0, 2.0]],
    np.float32,
  )
  state = _online(s, 2)
  lse = np.asarray(tiling.finish_lse(state.m, state.se, empty_rows=True))
  assert lse[0] == -np.inf
  assert np.isnan(lse[1])
  np.testing.assert_allclose(lse[2], _np_lse(s[2:])[0], rtol=1e-6)


def test_scan_tiles_visits_full_tiles_then_the_tail():
  seen = []

  def step(carry, start, size):
    seen.append(size)
    return carry + size

  total = tiling.scan_tiles(step, jnp.zeros(()), 10, 4, ())
  assert float(total) == 10.0
  # Traced once for the scanned full tiles, once for the tail tile.
  assert seen == [4, 2]


def test_chunk_for():
  assert tiling.chunk_for(None, 1 << 15, 1 << 17) == tiling.MIN_CHUNK
  assert tiling.chunk_for(None, 8, 100) == 100
  assert tiling.chunk_for(64, 8, 10) == 10
  assert tiling.chunk_for(None, 8, 0) == 1


def test_lse_across_devices_matches_the_whole_row():
  rng = np.random.default_rng(1)
  s = rng.normal(size=(3, 16)).astype(np.float32) * 4
  w = rng.normal(size=(3,)).astype(np.float32)
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("v",))

  def local(shard, extra):
    state = tiling.vary_like(
      tiling.lse_start((3,), jnp.float32, True), (shard,)
    )
    state, _, e = tiling.lse_add(state, shard)
    weighted = jnp.sum(e * shard, axis=-1)  # sum exp(s - m) s, rescaled
    (state,), (summed,), (weighted,) = tiling.lse_across(
      "v", [state], [extra], [(0, weighted)]
    )
    return tiling.finish_lse(state.m, state.se), summed, weighted / state.se

  f = jax.shard_map(
    local,
    mesh=mesh,
    in_specs=(P(None, "v"), P()),
    out_specs=(P(), P(), P()),
  )
  lse, summed, mean_s = f(s, w)
  np.testing.assert_allclose(lse, _np_lse(s), rtol=1e-6)
  np.testing.assert_allclose(summed, 4 * w, rtol=1e-6)
  p = np.exp(s - _np_lse(s)[:, None])
  np.testing.assert_allclose(mean_s, np.sum(p * s, axis=-1), rtol=1e-5)


def test_positive_integer_checker():
  validation.positive_integer("f", "n", 3)
  validation.positive_integer("f", "n", np.int64(1))
  validation.positive_integer("f", "n", None, optional=True)
  with pytest.raises(ValueError, match=r"^f: n must be a positive int, got 0$"):
    validation.positive_integer("f", "n", 0)
  for bad in (1.5, True, "2"):
    with pytest.raises(
      TypeError, match=r"^f: n must be a positive int or None, got "
    ):
      validation.positive_integer("f", "n", bad, optional=True)


@pytest.mark.parametrize(
  "call",
  [
    lambda c: jaxloss.linear_cross_entropy(
      np.ones((2, 3)), np.ones((3, 4)), np.zeros(2, int), chunk_size=c
    ),
    lambda c: jaxloss.linear_log_probs(
      np.ones((2, 3)), np.ones((3, 4)), np.zeros(2, int), chunk_size=c
    ),
    lambda c: jaxloss.clip_loss(np.ones((2, 3)), np.ones((2, 3)), chunk_size=c),
  ],
  ids=["linear_cross_entropy", "linear_log_probs", "clip_loss"],
)
def test_chunk_size_errors_name_the_function(call):
  with pytest.raises(ValueError, match=r": chunk_size must be a positive int"):
    call(0)
  with pytest.raises(TypeError, match=r": chunk_size must be a positive int"):
    call(2.0)
