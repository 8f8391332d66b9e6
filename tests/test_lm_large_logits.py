"""The fused LM head's statistics at large logits (1e4, 3e5) against float64.

Each token's logits are ``base + offsets`` with offsets that float32 holds
exactly at ``|base| = 3e5`` (multiples of 1/32), so the float64 reference
sees the very logits the kernel sees. A formula that forms ``lse - E_p[s]``
or ``lse - s[y]`` from the large terms loses about ``ulp(3e5) = 1/32``
absolute there; the kernels keep everything relative to the running
maximum. Reference: NumPy float64, ``lse = m + log sum exp(s - m)``,
``H = -sum p log p``, ``CE = lse - s[y]``, DFT ``= p_y * CE`` (Wu et al.
2025).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

# The maximum sits in the second chunk of 3 (chunk_size=3): the running
# maximum changes between chunks.
_OFFSETS = np.array([-0.5, -1.25, -3.0, -0.75, 0.0, -2.0, -6.0, -0.25, -9.5])
_LABELS = np.array([2, 4, 8])


def _head(base):
  """One-hot embeddings ``[3, 3]`` and a head ``[3, V]`` whose row ``i``
  is token ``i``'s logits (``x @ w`` is exact)."""
  rows = np.stack(
    [_OFFSETS, np.roll(_OFFSETS, 2), np.roll(_OFFSETS, 5)]
  ) + np.float32(base)
  w = rows.astype(np.float32)
  assert np.array_equal(w.astype(np.float64), rows), "offsets not exact"
  return jnp.eye(3, dtype=jnp.float32), jnp.asarray(w)


def _reference(w):
  s = np.asarray(w, np.float64)
  m = s.max(-1, keepdims=True)
  lse = (m + np.log(np.exp(s - m).sum(-1, keepdims=True)))[:, 0]
  logp = s - lse[:, None]
  entropy = -np.sum(np.exp(logp) * logp, -1)
  ce = -np.take_along_axis(logp, _LABELS[:, None], -1)[:, 0]
  return lse, entropy, ce, np.exp(logp)


BASES = [1e4, 3e5, -3e5]


@pytest.mark.parametrize("base", BASES)
def test_token_stats_lse_and_entropy(base):
  x, w = _head(base)
  loss, stats = jaxloss.linear_cross_entropy(
    x,
    w,
    jnp.asarray(_LABELS),
    chunk_size=3,
    reduction="none",
    return_token_stats=True,
  )
  lse, entropy, ce, _ = _reference(w)
  # lse is returned in float32: within one float32 rounding of float64's.
  spacing = np.spacing(np.abs(lse).astype(np.float32)).astype(np.float64)
  np.testing.assert_array_less(np.abs(np.asarray(stats["lse"]) - lse), spacing)
  np.testing.assert_allclose(stats["entropy"], entropy, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(loss, ce, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("base", BASES)
def test_cross_entropy_gradient(base):
  x, w = _head(base)
  grad = jax.grad(
    lambda w: jaxloss.linear_cross_entropy(
      x, w, jnp.asarray(_LABELS), chunk_size=3, reduction="sum"
    )
  )(w)
  _, _, _, p = _reference(w)
  want = p - np.eye(w.shape[1])[_LABELS]  # one-hot x: row i is token i's
  np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("base", BASES)
def test_dft_scaling(base):
  x, w = _head(base)
  got = jaxloss.linear_cross_entropy(
    x,
    w,
    jnp.asarray(_LABELS),
    chunk_size=3,
    reduction="none",
    dft_scaling=True,
  )
  _, _, ce, p = _reference(w)
  p_y = np.take_along_axis(p, _LABELS[:, None], -1)[:, 0]
  np.testing.assert_allclose(got, p_y * ce, rtol=1e-5, atol=1e-7)
  grad = jax.grad(
    lambda w: jaxloss.linear_cross_entropy(
      x,
      w,
      jnp.asarray(_LABELS),
      chunk_size=3,
      reduction="sum",
      dft_scaling=True,
    )
  )(w)
  # The weight is a stop-gradient: p_y (p - onehot(y)).
  want = p_y[:, None] * (p - np.eye(w.shape[1])[_LABELS])
  np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("base", BASES)
def test_log_probs_and_entropy(base):
  x, w = _head(base)
  logp, ent = jaxloss.linear_log_probs(
    x, w, jnp.asarray(_LABELS), chunk_size=3, return_entropy=True
  )
  _, entropy, ce, _ = _reference(w)
  np.testing.assert_allclose(logp, -ce, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(ent, entropy, rtol=1e-5, atol=1e-6)
