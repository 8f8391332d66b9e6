"""MoE router losses (issue 25).

References, each written here in NumPy float64:
* Switch Transformer load balancing, Fedus et al. 2022 eq. 4-6 (loops over
  tokens and experts), with Megatron-core's ``1 / K`` for top-k;
* Megatron-core's closed forms, transcribed from
  ``megatron/core/transformer/moe/moe_utils.py`` and ``router.py``
  (NVIDIA/Megatron-LM, 2025, commit 00611e6e):
  ``switch_load_balancing_loss_func`` =
  ``sum(probs.sum(0) * tokens_per_expert) * E / (topk * T * T)``,
  ``Router._apply_seq_aux_loss`` (sequence-first ``[T, B, E]`` scores
  reshaped to ``[T, B * E]``, the switch loss with ``total_num_tokens = T``,
  divided by ``B``) and ``z_loss_func`` = ``mean(logsumexp(logits) ** 2)``;
* DeepSeek-V3 report eq. 17-20 (per-sequence ``f_i``, ``P_i``).
The global statistics over a mesh axis are checked on 8 simulated CPU
devices against the single-device call on the whole batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
import numpy as np
import pytest

import jaxloss
from tests.test_packed import make_packing
from tests.test_packed import pack
from tests.test_packed import slot_weights
from tests.test_packed import unpack_segments

E, K = 6, 2


def _route(rng, shape, e=E, k=K):
  logits = rng.normal(size=shape + (e,)) * 1.5
  p = np.exp(logits - logits.max(-1, keepdims=True))
  p = p / p.sum(-1, keepdims=True)
  idx = np.argsort(-p, axis=-1)[..., :k]
  return logits, p, idx


def switch_paper(p, idx, e=E):
  # Fedus et al. eq. 4-6: f_i fraction of dispatches, P_i mean probability.
  n, k = p.shape[0], idx.shape[1]
  f = np.zeros(e)
  for t in range(n):
    for j in range(k):
      f[idx[t, j]] += 1.0 / (n * k)
  pm = np.zeros(e)
  for t in range(n):
    pm += p[t] / n
  return e * sum(f[i] * pm[i] for i in range(e))


def switch_megatron(probs, tokens_per_expert, total_num_tokens, topk, e):
  # moe_utils.switch_load_balancing_loss_func (coefficient 1).
  return np.sum(probs.sum(0) * tokens_per_expert) * (
    e / (topk * total_num_tokens * total_num_tokens)
  )


def test_load_balancing_matches_paper_and_megatron(x64):
  rng = np.random.default_rng(0)
  _, p, idx = _route(rng, (11,))
  got = float(jaxloss.load_balancing_loss(p, idx))
  np.testing.assert_allclose(got, switch_paper(p, idx), rtol=1e-12)
  counts = np.bincount(idx.ravel(), minlength=E)
  np.testing.assert_allclose(
    got, switch_megatron(p, counts, 11, K, E), rtol=1e-12
  )
  # leading axes are flattened; where drops tokens
  got = jaxloss.load_balancing_loss(p.reshape(1, 11, E), idx.reshape(1, 11, K))
  np.testing.assert_allclose(float(got), switch_paper(p, idx), rtol=1e-12)
  keep = rng.random(11) < 0.6
  got = jaxloss.load_balancing_loss(p, idx, where=keep)
  np.testing.assert_allclose(
    float(got), switch_paper(p[keep], idx[keep]), rtol=1e-12
  )


def test_load_balancing_gradient(x64):
  # d/dp_{t,i} = E f_i / N  (f carries no gradient)
  rng = np.random.default_rng(1)
  _, p, idx = _route(rng, (9,))
  g = jax.grad(jaxloss.load_balancing_loss)(jnp.asarray(p), idx)
  f = np.bincount(idx.ravel(), minlength=E) / (9 * K)
  np.testing.assert_allclose(g, np.tile(E * f / 9, (9, 1)), rtol=1e-12)


def test_uniform_router_gives_one():
  p = np.full((E, E), 1.0 / E, np.float32)
  idx = np.arange(E)[:, None]
  np.testing.assert_allclose(jaxloss.load_balancing_loss(p, idx), 1.0)


def test_global_statistics_over_8_devices():
  if jax.device_count() < 8:
    pytest.skip("needs 8 (simulated) devices")
  mesh = Mesh(np.array(jax.devices()[:8]), ("data",))
  rng = np.random.default_rng(2)
  _, p, idx = _route(rng, (8 * 5,))
  p = p.astype(np.float32)
  keep = rng.random(40) < 0.7  # uneven valid tokens per device

  def body(p, idx, keep):
    return jaxloss.load_balancing_loss(p, idx, where=keep, axis_name="data")

  sharded = jax.shard_map(
    body,
    mesh=mesh,
    in_specs=(P("data"), P("data"), P("data")),
    out_specs=P(),
  )
  want, want_g = jax.value_and_grad(
    lambda p: jaxloss.load_balancing_loss(p, idx, where=keep)
  )(p)
  got, got_g = jax.jit(jax.value_and_grad(lambda p: sharded(p, idx, keep)))(p)
  np.testing.assert_allclose(got, want, rtol=1e-6)
  np.testing.assert_allclose(got_g, want_g, rtol=1e-5, atol=1e-7)
  # micro-batch statistics differ: the mean of per-device losses is not it
  local = np.mean(
    [
      jaxloss.load_balancing_loss(
        p[i * 5 : i * 5 + 5], idx[i * 5 : i * 5 + 5], where=keep[i * 5 :][:5]
      )
      for i in range(8)
    ]
  )
  assert abs(local - float(want)) > 1e-3


def deepseek_sequence(p, idx, e=E):
  # DeepSeek-V3 eq. 17-20 for one sequence of T tokens.
  t, k = idx.shape
  f = np.zeros(e)
  for s in range(t):
    for j in range(k):
      f[idx[s, j]] += e / (k * t)
  pm = p.sum(0) / t
  return np.sum(f * pm)


def megatron_seq_aux(scores_tbe, routing_map_tbe):
  # Router._apply_seq_aux_loss on sequence-first [T, B, E] tensors.
  t, b, e = scores_tbe.shape
  scores = scores_tbe.reshape(t, -1)
  tokens_per_expert = routing_map_tbe.reshape(t, -1).sum(0)
  return switch_megatron(scores, tokens_per_expert, t, K, e) / b


def test_sequence_loss_matches_deepseek_and_megatron(x64):
  rng = np.random.default_rng(3)
  # DeepSeek-V3's gate: sigmoid affinities, normalised for the balance loss
  logits = rng.normal(size=(3, 8, E))
  s = 1 / (1 + np.exp(-logits))
  sn = s / s.sum(-1, keepdims=True)
  idx = np.argsort(-s, axis=-1)[..., :K]
  got = np.asarray(jaxloss.sequence_load_balancing_loss(sn, idx))
  want = [deepseek_sequence(sn[b], idx[b]) for b in range(3)]
  np.testing.assert_allclose(got, want, rtol=1e-12)
  routing = np.zeros((3, 8, E))
  np.put_along_axis(routing, idx, 1.0, axis=-1)
  np.testing.assert_allclose(
    got.mean(),
    megatron_seq_aux(sn.transpose(1, 0, 2), routing.transpose(1, 0, 2)),
    rtol=1e-12,
  )


def test_sequence_loss_packed_equals_unpacked(x64):
  rng = np.random.default_rng(4)
  n = 6
  ids, lengths, where = make_packing(rng, n)
  lens, starts = lengths[0], [(r, s[0]) for r, s in where]
  big = int(lens.max())
  _, p_u, idx_u = _route(rng, (n, big))
  valid_u = np.arange(big)[None] < lens[:, None]
  p_p = pack(p_u, lens, starts, ids.shape[1:], 0.0)
  idx_p = pack(idx_u, lens, starts, ids.shape[1:], -1)  # bad ids at padding
  s = int(ids.max())
  w = rng.uniform(0.5, 1.5, size=n)
  sw = slot_weights(where, n, (ids.shape[1], s), w)

  def packed(p):
    return jaxloss.sequence_load_balancing_loss(
      p, idx_p, segment_ids=ids[0], num_segments=s
    )

  def unpacked(p):
    return jaxloss.sequence_load_balancing_loss(p, idx_u, where=valid_u)

  vp, vu = packed(p_p), unpacked(p_u)
  np.testing.assert_allclose(unpack_segments(np.asarray(vp), where, n), vu)
  gp = jax.grad(lambda p: jnp.sum(sw * packed(p)))(p_p)
  gu = jax.grad(lambda p: jnp.sum(w * unpacked(p)))(p_u)
  np.testing.assert_allclose(
    gp, pack(np.asarray(gu), lens, starts, ids.shape[1:], 0.0), atol=1e-12
  )


def test_z_loss_matches_megatron(x64):
  rng = np.random.default_rng(5)
  logits = rng.normal(size=(4, 5, E)) * 3
  per_token = jaxloss.router_z_loss(logits)
  m = logits.max(-1)
  lse = m + np.log(np.exp(logits - m[..., None]).sum(-1))
  np.testing.assert_allclose(float(jnp.mean(per_token)), np.mean(lse**2))
  g = jax.grad(lambda z: jnp.mean(jaxloss.router_z_loss(z)))(logits)
  soft = np.exp(logits - lse[..., None])
  np.testing.assert_allclose(g, 2 * lse[..., None] * soft / 20, rtol=1e-12)


def test_out_of_range_expert_is_nan():
  p = np.full((3, 4), 0.25, np.float32)
  assert np.isnan(jaxloss.load_balancing_loss(p, [[0], [4], [1]]))
  # ... unless the token does not count
  keep = np.array([True, False, True])
  assert np.isfinite(
    jaxloss.load_balancing_loss(p, [[0], [4], [1]], where=keep)
  )
  got = jaxloss.sequence_load_balancing_loss(
    np.stack([p, p]), np.array([[[0], [4], [1]], [[0], [1], [2]]])
  )
  assert np.isnan(got[0]) and np.isfinite(got[1])


def test_router_errors():
  with pytest.raises(ValueError, match="load_balancing_loss: expert_indices"):
    jaxloss.load_balancing_loss(np.ones((3, 4), np.float32), [[0, 1]])
  with pytest.raises(TypeError, match="load_balancing_loss: expert_indices"):
    jaxloss.load_balancing_loss(np.ones((3, 4), np.float32), np.ones((3, 1)))
  with pytest.raises(ValueError, match="load_balancing_loss: where"):
    jaxloss.load_balancing_loss(
      np.ones((3, 4), np.float32), np.zeros((3, 1), int), where=[True]
    )
  with pytest.raises(ValueError, match="sequence_load_balancing_loss"):
    jaxloss.sequence_load_balancing_loss(
      np.ones((3, 4), np.float32), np.zeros((3, 1), int)
    )
