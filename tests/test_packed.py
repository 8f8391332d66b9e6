"""Packed sequences (issue 25): every sequence-level LM function given
``segment_ids`` equals the same sequences unpacked and padded, one per row,
through the functions' unpacked forms -- values and gradients.

Reference: the unpacked, padded batch (one sequence per row) through the
library's own per-row path (sums / means over the row's tokens in NumPy
order), i.e. the behaviour packing must not change. Packings are random
(first-fit of random lengths); padding tokens of the packed batch hold NaN,
which must reach neither a value nor a gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

T_PACKED = 9
IGNORE = -100


def make_packing(rng, n, layouts=1, max_len=5, t=T_PACKED):
  """``n`` sequences (for ``layouts`` layouts each: chosen, rejected) of
  random lengths packed first-fit into rows of ``t`` tokens.

  Returns ``(ids [layouts, R, t], lengths [layouts, n], where [n] ->
  (row, [start per layout]))``.
  """
  lengths = rng.integers(1, max_len + 1, size=(layouts, n))
  rows = []  # per row: used tokens per layout, segments
  where = []
  for i in range(n):
    fits = [
      j
      for j, row in enumerate(rows)
      if all(row[0][k] + lengths[k, i] <= t for k in range(layouts))
    ]
    if not fits:
      rows.append(([0] * layouts, []))
    r = fits[0] if fits else len(rows) - 1
    used, segs = rows[r]
    where.append((r, list(used)))
    for k in range(layouts):
      used[k] += lengths[k, i]
    segs.append(i)
  ids = np.zeros((layouts, len(rows), t), np.int32)
  for i, (r, starts) in enumerate(where):
    seg = rows[r][1].index(i) + 1
    for k in range(layouts):
      ids[k, r, starts[k] : starts[k] + lengths[k, i]] = seg
  return ids, lengths, where


def pack(values_u, lengths, where, shape, fill=np.nan):
  """Unpacked ``[n, L, ...]`` -> packed ``[R, t, ...]`` (padding ``fill``)."""
  out = np.full(shape + values_u.shape[2:], fill, values_u.dtype)
  for i, (r, start) in enumerate(where):
    out[r, start : start + lengths[i]] = values_u[i, : lengths[i]]
  return out


def unpack_segments(values_p, where, n):
  """Packed per-segment ``[R, S]`` -> ``[n]`` in sequence order."""
  rows = {}
  out = []
  for r, _ in where:
    rows[r] = rows.get(r, 0) + 1
    out.append(values_p[r, rows[r] - 1])
  assert len(out) == n
  return np.stack(out)


def padded(rng, lengths, fill=0.0, low=-3.0, high=-0.1):
  """Random per-token values ``[n, L]``, ``fill`` past each length."""
  n, big = len(lengths), int(max(lengths))
  v = rng.uniform(low, high, size=(n, big))
  v[np.arange(big)[None, :] >= lengths[:, None]] = fill
  return v


def _starts(where, k):
  return [(r, s[k]) for r, s in where]


def slot_weights(where, n, shape, weights):
  """``[R, S]`` holding sequence ``i``'s weight at its segment's slot."""
  out = np.zeros(shape)
  seen = {}
  for i, (r, _) in enumerate(where):
    seen[r] = seen.get(r, 0) + 1
    out[r, seen[r] - 1] = weights[i]
  return out


def compare(
  packed_fn,
  unpacked_fn,
  tokens_p,
  tokens_u,
  lengths,
  where,
  weights,
  layout,
  rtol=1e-5,
):
  """Values at every sequence and gradients at every token agree; padded
  slots give 0 and padding tokens get zero gradient."""
  n = len(weights)
  vp = np.asarray(packed_fn(*tokens_p))
  vu = np.asarray(unpacked_fn(*tokens_u))
  assert np.all(np.isfinite(vp)), vp
  np.testing.assert_allclose(
    unpack_segments(vp, where, n), vu, rtol=rtol, atol=1e-6
  )
  sw = slot_weights(where, n, vp.shape, weights)
  assert np.all(vp[sw == 0] == 0)
  argnums = tuple(range(len(tokens_p)))
  gp = jax.grad(lambda *t: jnp.sum(sw * packed_fn(*t)), argnums)(*tokens_p)
  gu = jax.grad(lambda *t: jnp.sum(weights * unpacked_fn(*t)), argnums)(
    *tokens_u
  )
  for a, b, t, k in zip(gp, gu, tokens_p, layout):
    want = pack(np.asarray(b), lengths[k], _starts(where, k), t.shape, 0.0)
    np.testing.assert_allclose(np.asarray(a), want, rtol=rtol, atol=1e-6)


PAIRED = [
  (jaxloss.dpo, dict(beta=0.7), 4, False),
  (jaxloss.dpo, dict(beta=0.4, loss_type="ipo"), 4, False),
  (jaxloss.simpo, dict(beta=2.0, gamma=0.3), 2, True),
  (jaxloss.cpo, dict(beta=0.5, cpo_alpha=0.3), 2, False),
  (jaxloss.orpo, dict(beta=0.3), 2, True),
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
  "fn,kw,n_inputs,mean", PAIRED, ids=lambda v: getattr(v, "__name__", None)
)
def test_preference_packed_equals_unpacked(fn, kw, n_inputs, mean, seed):
  rng = np.random.default_rng(seed)
  n = 7
  ids, lengths, where = make_packing(rng, n, layouts=2)
  layout = [0, 1, 0, 1][:n_inputs]
  tokens_u = [padded(rng, lengths[k]) for k in layout]
  tokens_p = [
    pack(u, lengths[k], _starts(where, k), ids.shape[1:])
    for u, k in zip(tokens_u, layout)
  ]
  weights = rng.uniform(0.5, 1.5, size=n)
  s = int(ids.max())

  def packed_fn(*tok):
    return fn(*tok, segment_ids=(ids[0], ids[1]), num_segments=s, **kw)

  def unpacked_fn(*tok):
    seq = [
      jnp.sum(t, -1) / (lengths[k] if mean else 1) for t, k in zip(tok, layout)
    ]
    return fn(*seq, **kw)

  compare(
    packed_fn, unpacked_fn, tokens_p, tokens_u, lengths, where, weights, layout
  )


@pytest.mark.parametrize("fn", [jaxloss.cpo, jaxloss.orpo])
def test_chosen_nll_is_a_sequence_mean(fn):
  rng = np.random.default_rng(3)
  n = 6
  ids, lengths, where = make_packing(rng, n, layouts=2)
  layout = [0, 1, 0]
  tokens_u = [padded(rng, lengths[k]) for k in layout]
  tokens_u[2] = -tokens_u[2]  # token NLL >= 0
  tokens_p = [
    pack(u, lengths[k], _starts(where, k), ids.shape[1:])
    for u, k in zip(tokens_u, layout)
  ]
  mean = fn is jaxloss.orpo

  def packed_fn(c, r, nll):
    return fn(c, r, chosen_nll=nll, segment_ids=(ids[0], ids[1]))

  def unpacked_fn(c, r, nll):
    seq = [
      jnp.sum(t, -1) / (lengths[k] if mean else 1)
      for t, k in zip((c, r), layout)
    ]
    return fn(*seq, chosen_nll=jnp.sum(nll, -1) / lengths[0])

  compare(
    packed_fn,
    unpacked_fn,
    tokens_p,
    tokens_u,
    lengths,
    where,
    rng.uniform(0.5, 1.5, size=n),
    layout,
  )


def test_kto_packed_equals_unpacked():
  rng = np.random.default_rng(4)
  n = 8
  ids, lengths, where = make_packing(rng, n)
  tokens_u = [padded(rng, lengths[0]) for _ in range(2)]
  tokens_p = [
    pack(u, lengths[0], _starts(where, 0), ids.shape[1:]) for u in tokens_u
  ]
  desirable = rng.random(n) < 0.5
  s = int(ids.max())
  des_p = slot_weights(where, n, (ids.shape[1], s), desirable) > 0

  def packed_fn(p, r):
    return jaxloss.kto(
      p, r, des_p, kl=0.1, beta=0.5, segment_ids=ids[0], num_segments=s
    )

  def unpacked_fn(p, r):
    return jaxloss.kto(
      jnp.sum(p, -1), jnp.sum(r, -1), desirable, kl=0.1, beta=0.5
    )

  compare(
    packed_fn,
    unpacked_fn,
    tokens_p,
    tokens_u,
    lengths,
    where,
    rng.uniform(0.5, 1.5, size=n),
    [0, 0],
  )


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_segment_reduce_packed_equals_unpacked(reduction):
  rng = np.random.default_rng(5)
  n = 9
  ids, lengths, where = make_packing(rng, n)
  tok_u = padded(rng, lengths[0])
  tok_p = pack(tok_u, lengths[0], _starts(where, 0), ids.shape[1:])
  s = int(ids.max())

  def packed_fn(v):
    return jaxloss.segment_reduce(
      v, ids[0], num_segments=s, reduction=reduction
    )

  def unpacked_fn(v):
    out = jnp.sum(v, -1)
    return out / lengths[0] if reduction == "mean" else out

  compare(
    packed_fn,
    unpacked_fn,
    [tok_p],
    [tok_u],
    lengths,
    where,
    rng.uniform(0.5, 1.5, size=n),
    [0],
  )


def _scalar_compare(packed_fn, unpacked_fn, args_p, args_u, lengths, where):
  """Scalar losses: value and the gradient of the first argument."""
  vp, gp = jax.value_and_grad(packed_fn)(*args_p)
  vu, gu = jax.value_and_grad(unpacked_fn)(*args_u)
  np.testing.assert_allclose(vp, vu, rtol=1e-5, atol=1e-7)
  shape = args_p[0].shape[:2]
  want = pack(np.asarray(gu), lengths, where, shape, 0.0)
  np.testing.assert_allclose(np.asarray(gp), want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("normalization", ["sequence", "token"])
@pytest.mark.parametrize("seed", [0, 1])
def test_policy_gradient_packed_equals_unpacked(normalization, seed):
  rng = np.random.default_rng(10 + seed)
  n = 7
  ids, lengths, where = make_packing(rng, n)
  starts, lens, shape = _starts(where, 0), lengths[0], ids.shape[1:]
  lp, old, ref = (padded(rng, lens) for _ in range(3))
  adv_seq = rng.normal(size=n)
  adv = np.repeat(adv_seq[:, None], lp.shape[1], 1)
  # response tokens: all but a random prompt prefix of each sequence
  prompt = rng.integers(0, lens)
  mask_u = (np.arange(lp.shape[1])[None] >= prompt[:, None]) & (
    np.arange(lp.shape[1])[None] < lens[:, None]
  )
  kw = dict(
    normalization=normalization,
    clip_epsilon=0.1,
    kl_coef=0.05,
    clip_epsilon_high=0.3,
  )
  mask_p = pack(mask_u, lens, starts, shape, False)
  adv_p = jaxloss.segment_broadcast(
    slot_weights(where, n, (shape[0], int(ids.max())), adv_seq), ids[0]
  )

  def packed_fn(lp, old, ref):
    return jaxloss.policy_gradient(
      lp,
      old,
      adv_p,
      where=mask_p,
      reference_logps=ref,
      segment_ids=ids[0],
      **kw,
    )

  def unpacked_fn(lp, old, ref):
    return jaxloss.policy_gradient(
      lp, old, adv, where=mask_u, reference_logps=ref, **kw
    )

  args_p = [pack(a, lens, starts, shape) for a in (lp, old, ref)]
  _scalar_compare(packed_fn, unpacked_fn, args_p, [lp, old, ref], lens, starts)


def test_count_tokens_counts_sequences():
  rng = np.random.default_rng(12)
  ids, lengths, where = make_packing(rng, 11)
  labels = np.where(ids[0] > 0, 3, IGNORE)
  assert float(jaxloss.count_tokens(labels, segment_ids=ids[0])) == 11.0
  assert float(jaxloss.count_tokens(labels)) == lengths.sum()
  bad = ids[0].copy()
  bad[0, 0] = -1
  assert np.isnan(float(jaxloss.count_tokens(labels, segment_ids=bad)))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_linear_distillation_packed_equals_unpacked(reduction):
  rng = np.random.default_rng(13)
  n, d, v = 6, 4, 11
  ids, lengths, where = make_packing(rng, n)
  starts, lens, shape = _starts(where, 0), lengths[0], ids.shape[1:]
  big = int(lens.max())
  xs_u = rng.normal(size=(n, big, d)).astype(np.float32)
  xt_u = rng.normal(size=(n, big, d)).astype(np.float32)
  y_u = rng.integers(0, v, size=(n, big))
  y_u[:, 0] = IGNORE  # each sequence's first token is prompt
  valid = np.arange(big)[None] < lens[:, None]
  y_u = np.where(valid, y_u, IGNORE)
  ws = rng.normal(size=(d, v)).astype(np.float32)
  wt = rng.normal(size=(d, v)).astype(np.float32)
  xs_p = pack(xs_u, lens, starts, shape, 0.0)
  xt_p = pack(xt_u, lens, starts, shape, 0.0)
  y_p = pack(y_u, lens, starts, shape, IGNORE)
  kw = dict(divergence="jsd", hard_label_weight=0.3, chunk_size=4)

  def packed_fn(xs):
    return jaxloss.linear_distillation(
      xs, ws, xt_p, wt, y_p, segment_ids=ids[0], reduction=reduction, **kw
    )

  def unpacked_fn(xs):
    tok = jaxloss.linear_distillation(
      xs, ws, xt_u, wt, y_u, reduction="none", **kw
    )
    cnt = jnp.sum(y_u != IGNORE, -1)
    seq = jnp.where(cnt > 0, jnp.sum(tok, -1) / jnp.maximum(cnt, 1), 0)
    den = jnp.sum(cnt > 0) if reduction == "mean" else 1
    return jnp.sum(seq) / den

  _scalar_compare(packed_fn, unpacked_fn, [xs_p], [xs_u], lens, starts)


def test_segment_reduce_transforms():
  """jit, vmap over an extra axis, and shard_map over the batch axis."""
  rng = np.random.default_rng(14)
  ids, _, _ = make_packing(rng, 16)
  ids = ids[0][:4]
  v = rng.normal(size=ids.shape).astype(np.float32)
  want = jaxloss.segment_reduce(v, ids, num_segments=5)
  f = jax.jit(lambda v, i: jaxloss.segment_reduce(v, i, num_segments=5))
  np.testing.assert_allclose(f(v, ids), want)
  vm = jax.vmap(f)(np.stack([v, 2 * v]), np.stack([ids, ids]))
  np.testing.assert_allclose(vm[1], 2 * np.asarray(want), rtol=1e-6)
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("data",))
  P = jax.sharding.PartitionSpec
  sm = jax.shard_map(
    lambda v, i: jaxloss.segment_reduce(v, i, num_segments=5),
    mesh=mesh,
    in_specs=(P("data"), P("data")),
    out_specs=P("data"),
  )
  np.testing.assert_allclose(sm(v, ids), want, rtol=1e-6)


def test_segment_reduce_bad_ids_and_nan():
  v = np.array([[1.0, np.nan, 2.0, 4.0], [1.0, 2.0, 3.0, 4.0]], np.float32)
  ids = np.array([[1, 0, 2, 2], [1, 1, 3, 0]])
  out = np.asarray(jaxloss.segment_reduce(v, ids, num_segments=2))
  np.testing.assert_array_equal(out[0], [1.0, 6.0])  # NaN at padding unseen
  assert np.all(np.isnan(out[1]))  # id 3 > num_segments
  v[0, 0] = np.nan
  out = np.asarray(jaxloss.segment_reduce(v, ids, num_segments=2))
  assert np.isnan(out[0, 0]) and out[0, 1] == 6.0  # NaN stays in its segment
  g = jax.grad(
    lambda v: jnp.sum(jaxloss.segment_reduce(v, ids, reduction="mean"))
  )(np.ones((2, 4), np.float32))
  assert np.all(np.isfinite(np.asarray(g)[0]))


def test_segment_errors():
  with pytest.raises(TypeError, match="segment_reduce: segment_ids must have"):
    jaxloss.segment_reduce([[1.0]], [[1.0]])
  with pytest.raises(ValueError, match="segment_reduce: segment_ids must have"):
    jaxloss.segment_reduce([[1.0, 2.0]], [[1]])
  with pytest.raises(ValueError, match="segment_reduce: num_segments"):
    jaxloss.segment_reduce([[1.0]], [[1]], num_segments=0)
  with pytest.raises(ValueError, match="dpo: with segment_ids, policy_chosen"):
    jaxloss.dpo([[-1.0]], [[-1.0]], [[-1.0]], [[-1.0]], segment_ids=[[1, 1]])
  with pytest.raises(ValueError, match="policy_gradient: advantages"):
    jaxloss.policy_gradient(
      [[-1.0]], None, [1.0], where=[[True]], segment_ids=[[1]]
    )


def test_vocab_parallel_distillation_packed_matches_single_device():
  if jax.device_count() < 8:
    pytest.skip("needs 8 (simulated) devices")
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:8]), ("vocab",))
  spec = jax.sharding.PartitionSpec
  rng = np.random.default_rng(15)
  ids, _, _ = make_packing(rng, 6)
  ids = ids[0]
  d, v = 4, 16
  xs = rng.normal(size=ids.shape + (d,)).astype(np.float32)
  xt = rng.normal(size=ids.shape + (d,)).astype(np.float32)
  ws = rng.normal(size=(d, v)).astype(np.float32)
  wt = rng.normal(size=(d, v)).astype(np.float32)
  y = np.where(ids > 0, rng.integers(0, v, ids.shape), IGNORE)
  kw = dict(divergence="reverse_kl", segment_ids=ids, chunk_size=2)

  par = jax.shard_map(
    lambda xs, ws, wt: jaxloss.vocab_parallel_linear_distillation(
      xs, ws, xt, wt, y, axis_name="vocab", **kw
    ),
    mesh=mesh,
    in_specs=(spec(), spec(None, "vocab"), spec(None, "vocab")),
    out_specs=spec(),
  )
  got = jax.value_and_grad(par, (0, 1))(xs, ws, wt)
  want = jax.value_and_grad(
    lambda xs, ws: jaxloss.linear_distillation(xs, ws, xt, wt, y, **kw),
    (0, 1),
  )(xs, ws)
  np.testing.assert_allclose(got[0], want[0], rtol=2e-6)
  for a, b in zip(got[1], want[1]):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
