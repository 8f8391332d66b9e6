"""RNN-T loss: values against a NumPy transcription of Graves (2012), exact
gradients, lengths, the two forms agreeing, edges and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from tests.specs.transducer import np_log_softmax
from tests.specs.transducer import np_rnnt
from tests.specs.transducer import np_rnnt_nll

# Compiled once per shape and dtype and shared by the tests: op-by-op eager
# dispatch of the scan's surroundings costs far more than the work.
rnnt = jax.jit(jaxloss.rnnt_loss, static_argnames="blank")
rnnt_lp = jax.jit(jaxloss.rnnt_loss_from_log_probs)


rnnt_value_and_grad = jax.jit(
  jax.value_and_grad(lambda z, *rest: jnp.sum(jaxloss.rnnt_loss(z, *rest)))
)


def np_rnnt_brute_force(log_probs, labels, t_len, u_len, blank=0):
  """Sum over every alignment path explicitly (tiny lattices only): a
  check of the recursion above that does not share its structure."""
  lp = log_probs[:t_len, : u_len + 1]
  total = []

  def walk(t, u, acc):
    if t == t_len - 1 and u == u_len:
      total.append(acc + lp[t, u, blank])
      return
    if t < t_len - 1:
      walk(t + 1, u, acc + lp[t, u, blank])
    if u < u_len:
      walk(t, u + 1, acc + lp[t, u, labels[u]])

  walk(0, 0, 0.0)
  return -np.logaddexp.reduce(total)


def _case(seed, batch=3, frames=5, labels=3, vocab=6, full=False):
  rng = np.random.default_rng(seed)
  logits = rng.normal(size=(batch, frames, labels + 1, vocab)) * 2
  y = rng.integers(1, vocab, size=(batch, labels))
  if full:
    t_lens = np.full(batch, frames)
    u_lens = np.full(batch, labels)
  else:
    t_lens = rng.integers(1, frames + 1, size=batch)
    u_lens = rng.integers(0, labels + 1, size=batch)
    t_lens[0], u_lens[0] = frames, labels
  return logits, y, t_lens, u_lens


def test_numpy_reference_matches_brute_force():
  logits, y, t_lens, u_lens = _case(0, batch=2, frames=4, labels=3)
  lp = np_log_softmax(logits)
  for b in range(2):
    np.testing.assert_allclose(
      np_rnnt_nll(lp[b], y[b], t_lens[b], u_lens[b]),
      np_rnnt_brute_force(lp[b], y[b], t_lens[b], u_lens[b]),
      rtol=1e-12,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_against_graves_recursion(seed, x64):
  logits, y, t_lens, u_lens = _case(seed)
  got = rnnt(logits, y, t_lens, u_lens)
  np.testing.assert_allclose(
    got, np_rnnt(logits, y, t_lens, u_lens), rtol=1e-10
  )


def test_nonzero_blank_and_keywords(x64):
  logits, y, t_lens, u_lens = _case(3)
  y = np.where(y == 2, 1, y)  # no label equals the blank 2
  got = rnnt(logits, y, logit_lengths=t_lens, label_lengths=u_lens, blank=2)
  np.testing.assert_allclose(
    got, np_rnnt(logits, y, t_lens, u_lens, 2), rtol=1e-10
  )


def test_more_labels_than_frames(x64):
  # RNN-T may emit several labels per frame: U > T is a valid case.
  logits, y, t_lens, u_lens = _case(4, batch=2, frames=2, labels=6, full=True)
  np.testing.assert_allclose(
    rnnt(logits, y, t_lens, u_lens),
    np_rnnt(logits, y, t_lens, u_lens),
    rtol=1e-10,
  )


def test_from_log_probs_equals_logits_form(x64):
  logits, y, t_lens, u_lens = _case(5)
  lp = np_log_softmax(logits)
  blank = lp[..., 0]
  emit = np.take_along_axis(lp[:, :, :-1], y[:, None, :, None], -1)[..., 0]
  want = rnnt(logits, y, t_lens, u_lens)
  for label_lp in (emit, np.pad(emit, ((0, 0), (0, 0), (0, 1)))):
    got = rnnt_lp(blank, label_lp, t_lens, u_lens)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_gradients_exact_with_lengths(x64):
  logits, y, t_lens, u_lens = _case(6, batch=2, frames=3, labels=2, vocab=3)
  f = jax.jit(lambda z: jnp.sum(jaxloss.rnnt_loss(z, y, t_lens, u_lens)))
  check_grads(
    f,
    (jnp.asarray(logits),),
    order=1,
    modes=("rev",),
    eps=1e-4,
    atol=1e-6,
    rtol=1e-6,
  )


def test_gradient_is_softmax_minus_occupancy(x64):
  # d(-log p)/d logits sums to 0 over the vocabulary at every node (the
  # gradient of a log-softmax input), and vanishes at padded nodes.
  logits, y, t_lens, u_lens = _case(7)
  g = np.asarray(rnnt_value_and_grad(logits, y, t_lens, u_lens)[1])
  np.testing.assert_allclose(g.sum(-1), 0, atol=1e-12)
  for b in range(3):
    assert np.all(g[b, t_lens[b] :] == 0)
    assert np.all(g[b, :, u_lens[b] + 1 :] == 0)
    assert np.abs(g[b, : t_lens[b], : u_lens[b] + 1]).sum() > 0


def test_padding_values_do_not_matter(x64):
  logits, y, t_lens, u_lens = _case(8)
  want = rnnt(logits, y, t_lens, u_lens)
  noisy = logits.copy()
  for b in range(len(t_lens)):
    noisy[b, t_lens[b] :] = 50.0
    noisy[b, :, u_lens[b] + 1 :] = -50.0
  y2 = y.copy()
  y2[1, u_lens[1] :] = -1  # padding labels may be anything, even negative
  got = rnnt(noisy, y2, t_lens, u_lens)
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_zero_frames_gives_zero_loss_and_gradient(x64):
  logits, y, _, u_lens = _case(9)
  t_lens = np.array([5, 0, 3])
  value, g = rnnt_value_and_grad(logits, y, t_lens, u_lens)
  per = rnnt(logits, y, t_lens, u_lens)
  assert per[1] == 0 and np.all(np.asarray(g)[1] == 0)
  assert np.isfinite(value) and np.all(np.isfinite(g))


def test_saturated_logits_finite():
  logits, y, t_lens, u_lens = _case(10)
  value, g = rnnt_value_and_grad(
    jnp.asarray(logits * 1e4, jnp.float32), y, t_lens, u_lens
  )
  assert np.isfinite(value) and np.all(np.isfinite(g))


def test_object_reduces_sum(x64):
  logits, y, t_lens, u_lens = _case(11)
  values = np_rnnt(logits, y, t_lens, u_lens)
  got = jax.jit(jaxloss.RNNTLoss(reduction="sum"))(logits, y, t_lens, u_lens)
  np.testing.assert_allclose(got, values.sum(), rtol=1e-10)
  assert jaxloss.get("RNNTLoss") == jaxloss.RNNTLoss()
  assert jaxloss.get("rnnt_loss") is jaxloss.rnnt_loss


@pytest.mark.parametrize(
  "call, match",
  [
    (lambda z, y: jaxloss.rnnt_loss(z[0], y), "logits must have rank 4"),
    (
      lambda z, y: jaxloss.rnnt_loss(z, y[:, :-1]),
      r"labels must have shape \[B, U\]",
    ),
    (
      lambda z, y: jaxloss.rnnt_loss(z, y.astype(np.float32)),
      "labels must have an integer dtype",
    ),
    (
      lambda z, y: jaxloss.rnnt_loss(z, y, blank=9),
      r"blank must be in \[0, 6\)",
    ),
    (
      lambda z, y: jaxloss.rnnt_loss(z, y, logit_lengths=[1, 2]),
      r"logit_lengths must have shape \(3,\)",
    ),
    (
      lambda z, y: jaxloss.rnnt_loss_from_log_probs(z[..., 0], z[:, :2, :, 0]),
      "label_log_probs must have shape",
    ),
  ],
)
def test_errors(call, match):
  logits, y, _, _ = _case(12)
  with pytest.raises((ValueError, TypeError), match=match):
    call(logits.astype(np.float32), y)


def test_benchmark_baseline_is_correct(x64):
  # benchmarks/rnnt.py times against this naive T x U scan: check it.
  from benchmarks.rnnt import naive_rnnt  # noqa: PLC0415

  logits, y, t_lens, u_lens = _case(13, full=True)
  np.testing.assert_allclose(
    jax.jit(naive_rnnt)(logits, y),
    np_rnnt(logits, y, t_lens, u_lens).sum(),
    rtol=1e-10,
  )
