"""Class-imbalance losses beyond the generic registry tests.

* the variants the registry leaves out, against the same NumPy
  transcriptions of the papers (tests/specs/imbalance.py);
* the limits where each loss becomes a loss it generalises (checked against
  optax 0.2.8 and jaxloss's Keras-checked cross-entropy);
* the stateful losses (seesaw's class counts, EQLv2's gradient statistics):
  vmap with unbatched state, NaN propagation, the detached compensation
  factor, and the statistics against autodiff;
* empty classes, saturated logits and the trace-time errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import optax
import pytest

import jaxloss
from tests.family_helpers import K
from tests.family_helpers import softmax_ce
from tests.family_helpers import sparse
from tests.specs import imbalance as imb
from tests.specs import noisy_labels as noisy

VARIANTS = [
  (
    "cb-sigmoid",
    jaxloss.class_balanced_loss,
    imb.sparse_inputs,
    {
      "samples_per_class": imb.COUNTS,
      "beta": 0.999,
      "loss_type": "sigmoid",
      "normalize": False,
    },
    imb.np_class_balanced,
  ),
  (
    "cb-focal-beta1",
    jaxloss.class_balanced_loss,
    imb.sparse_inputs,
    {"samples_per_class": imb.COUNTS, "beta": 1.0, "loss_type": "focal"},
    imb.np_class_balanced,
  ),
  (
    "ldam-default",
    jaxloss.ldam_loss,
    imb.cosine_inputs,
    {"samples_per_class": imb.COUNTS},
    imb.np_ldam,
  ),
  (
    "asl-noclip",
    jaxloss.asymmetric_loss,
    imb.multilabel_inputs,
    {"gamma_neg": 2.5, "gamma_pos": 0.0, "clip": 0.0},
    imb.np_asymmetric,
  ),
  (
    "asl-float-gammas",
    jaxloss.asymmetric_loss,
    imb.multilabel_inputs,
    {"gamma_neg": 1.5, "gamma_pos": 0.5, "clip": 0.2},
    imb.np_asymmetric,
  ),
  (
    "seesaw-mitigation",
    jaxloss.seesaw_loss,
    imb.seesaw_inputs,
    {"p": 1.5, "q": 0.0},
    imb.np_seesaw,
  ),
  (
    "seesaw-compensation",
    jaxloss.seesaw_loss,
    imb.seesaw_inputs,
    {"p": 0.0, "q": 1.0, "eps": 0.3},
    imb.np_seesaw,
  ),
  (
    "eqlv2-params",
    jaxloss.equalization_loss_v2,
    imb.eqlv2_inputs,
    {"gamma": 6.0, "mu": 0.5, "alpha": 1.0},
    imb.np_eqlv2,
  ),
  (
    "la-tau0.5",
    jaxloss.logit_adjusted_crossentropy,
    imb.sparse_inputs,
    {"class_priors": (0.5, 0.3, 0.15, 0.05), "tau": 0.5},
    imb.np_logit_adjusted,
  ),
  (
    "bt-ce-onehot",
    jaxloss.bitempered_logistic,
    noisy.onehot_inputs,
    {},
    noisy.np_bitempered,
  ),
  (
    "bt-t2-onehot",
    jaxloss.bitempered_logistic,
    noisy.onehot_inputs,
    {"t1": 0.8, "t2": 1.5},
    noisy.np_bitempered,
  ),
  (
    "bt-t1-above-1",
    jaxloss.bitempered_logistic,
    noisy.soft_inputs,
    {"t1": 1.3, "t2": 3.0, "num_iters": 3},
    noisy.np_bitempered,
  ),
  (
    "sce-weights",
    jaxloss.symmetric_crossentropy,
    imb.sparse_inputs,
    {"alpha": 0.5, "beta": 2.0},
    noisy.np_symmetric,
  ),
  (
    "taylor-1",
    jaxloss.taylor_crossentropy,
    imb.sparse_inputs,
    {"order": 1},
    noisy.np_taylor,
  ),
  (
    "apl-nce-mae",
    jaxloss.active_passive_loss,
    imb.sparse_inputs,
    {"active": "nce", "passive": "mae", "alpha": 2.0, "beta": 0.5},
    noisy.np_active_passive,
  ),
  (
    "apl-nfl-rce",
    jaxloss.active_passive_loss,
    imb.sparse_inputs,
    {"active": "nfl", "passive": "rce", "gamma": 0.5},
    noisy.np_active_passive,
  ),
]


def _seesaw_args(seed=0, b=4):
  return imb.seesaw_inputs(np.random.default_rng(seed), b)


def _eqlv2_args(seed=0, b=4):
  return imb.eqlv2_inputs(np.random.default_rng(seed), b)


Y, Z = np.array([0, 1]), np.zeros((2, K))


ERRORS = [
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {},
    ValueError,
    "class_balanced_loss: samples_per_class must be given",
  ),
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {"samples_per_class": (1, 2)},
    ValueError,
    r"samples_per_class must have one entry per class \(4",
  ),
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "beta": 1.5},
    ValueError,
    r"class_balanced_loss: beta must be in \[0.0, 1.0\], got 1.5",
  ),
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "beta": "0.9"},
    TypeError,
    "class_balanced_loss: beta must be a Python number",
  ),
  (
    jaxloss.ldam_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "max_margin": -0.1},
    ValueError,
    "ldam_loss: max_margin",
  ),
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "loss_type": "hinge"},
    ValueError,
    "loss_type must be one of",
  ),
  (
    jaxloss.class_balanced_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "gamma": -1.0},
    ValueError,
    "gamma",
  ),
  (
    jaxloss.ldam_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "scale": 0.0},
    ValueError,
    "ldam_loss: scale",
  ),
  (
    jaxloss.ldam_loss,
    (Y, Z),
    {"samples_per_class": imb.COUNTS, "class_weight": (1.0,)},
    ValueError,
    "ldam_loss: class_weight must have one entry per class",
  ),
  (
    jaxloss.ldam_loss,
    (np.array([0, 1, 2]), Z),
    {"samples_per_class": imb.COUNTS},
    ValueError,
    "ldam_loss: y_true must have the shape of y_pred without",
  ),
  (
    jaxloss.asymmetric_loss,
    (Z, Z),
    {"clip": 1.5},
    ValueError,
    "asymmetric_loss: clip",
  ),
  (
    jaxloss.asymmetric_loss,
    (Z, Z),
    {"eps": 0.0},
    ValueError,
    "asymmetric_loss: eps",
  ),
  (
    jaxloss.asymmetric_loss,
    (Z[:, :2], Z),
    {},
    ValueError,
    "asymmetric_loss: y_true and y_pred must have the same shape",
  ),
  (
    jaxloss.seesaw_loss,
    (Y, Z, np.ones(3)),
    {},
    ValueError,
    r"seesaw_loss: class_counts must have shape \(4,\)",
  ),
  (
    jaxloss.seesaw_loss,
    (Y, Z, np.ones(K)),
    {"p": -1.0},
    ValueError,
    "seesaw_loss: p",
  ),
  (
    jaxloss.equalization_loss_v2,
    (Y, Z, np.ones(K), np.ones(K - 1)),
    {},
    ValueError,
    r"equalization_loss_v2: pos_grad must have shape \(3,\)",
  ),
  (
    jaxloss.equalization_loss_v2,
    (Y, Z[:, :1], np.ones(0), np.ones(0)),
    {},
    ValueError,
    "y_pred must have at least 2 columns",
  ),
  (
    jaxloss.equalization_loss_v2,
    (Y, Z, np.ones(3, int), np.ones(3)),
    {},
    TypeError,
    "pos_grad must have a floating dtype",
  ),
  (
    jaxloss.logit_adjusted_crossentropy,
    (Y, Z),
    {},
    ValueError,
    "class_priors must be given",
  ),
  (
    jaxloss.logit_adjusted_crossentropy,
    (Y, Z),
    {"class_priors": imb.COUNTS, "tau": -1.0},
    ValueError,
    "tau",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z, Z),
    {"t2": 0.5},
    ValueError,
    r"bitempered_logistic: t2 must be in \[1.0, inf\]",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z, Z),
    {"t1": 2.0},
    ValueError,
    r"t1 must be in \[0.0, 2.0\)",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z, Z),
    {"num_iters": 0},
    ValueError,
    "num_iters",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z, Z),
    {"num_iters": 2.0},
    TypeError,
    "num_iters must be an int",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z, Z),
    {"label_smoothing": 1.0},
    ValueError,
    "label_smoothing",
  ),
  (
    jaxloss.bitempered_logistic,
    (Z[:, :1], Z[:, :1]),
    {"label_smoothing": 0.1},
    ValueError,
    r"y_pred.shape\[-1\] >= 2",
  ),
  (
    jaxloss.symmetric_crossentropy,
    (Y, Z),
    {"beta": -0.1},
    ValueError,
    "symmetric_crossentropy: beta",
  ),
  (jaxloss.taylor_crossentropy, (Y, Z), {"order": 0}, ValueError, "order"),
  (
    jaxloss.taylor_crossentropy,
    (Y, Z),
    {"order": 2.0},
    TypeError,
    "taylor_crossentropy: order must be an int",
  ),
  (
    jaxloss.active_passive_loss,
    (Y, Z),
    {"active": "ce"},
    ValueError,
    "active_passive_loss: active must be one of",
  ),
  (
    jaxloss.active_passive_loss,
    (Y, Z),
    {"passive": "ce"},
    ValueError,
    "passive must be one of",
  ),
  (
    jaxloss.active_passive_loss,
    (Y.astype(bool), Z),
    {},
    TypeError,
    "y_true must hold integer class ids",
  ),
]


@pytest.mark.parametrize(
  "fn,make,kwargs,ref", [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_variants_match_references(fn, make, kwargs, ref, x64):
  args = make(np.random.default_rng(7), 5)
  got = fn(*args, **kwargs)
  assert got.dtype == jnp.float64
  np.testing.assert_allclose(got, ref(*args, **kwargs), rtol=1e-10, atol=1e-12)


def test_limits_that_give_the_cross_entropy(x64):
  y, z = sparse()
  ce = softmax_ce(y, z)
  counts = (30, 3, 1, 0)
  cases = {
    "cb beta=0": jaxloss.class_balanced_loss(
      y, z, samples_per_class=counts, beta=0.0
    ),
    "ldam no margin": jaxloss.ldam_loss(
      y, z, samples_per_class=counts, max_margin=0.0, scale=1.0
    ),
    "seesaw p=q=0": jaxloss.seesaw_loss(
      y, z, np.array(counts, float), p=0.0, q=0.0
    ),
    "seesaw equal counts, q=0": jaxloss.seesaw_loss(
      y, z, np.full(K, 7.0), q=0.0
    ),
    "la tau=0": jaxloss.logit_adjusted_crossentropy(
      y, z, class_priors=counts, tau=0.0
    ),
    "la uniform priors": jaxloss.logit_adjusted_crossentropy(
      y, z, class_priors=(1, 1, 1, 1)
    ),
    "bitempered t1=t2=1": jaxloss.bitempered_logistic(np.eye(K)[y], z),
    "sce alpha=1 beta=0": jaxloss.symmetric_crossentropy(
      y, z, alpha=1.0, beta=0.0
    ),
  }
  for name, got in cases.items():
    # The authors' y log_t(y + 1e-10) label term adds log(1 + 1e-10).
    rtol = 1e-9 if name.startswith("bitempered") else 1e-12
    np.testing.assert_allclose(got, ce, rtol=rtol, err_msg=name)


def test_limits_that_give_the_sigmoid_cross_entropy(x64):
  y, z = sparse(1)
  t = np.eye(K)[y]
  bce = np.sum(optax.sigmoid_binary_cross_entropy(z, t), -1)
  counts = (30, 3, 1, 0)
  cases = {
    "cb sigmoid beta=0": jaxloss.class_balanced_loss(
      y, z, samples_per_class=counts, beta=0.0, loss_type="sigmoid"
    ),
    "cb focal gamma=0": jaxloss.class_balanced_loss(
      y, z, samples_per_class=counts, beta=0.0, loss_type="focal", gamma=0.0
    ),
    "asl no focusing, no clip": jaxloss.asymmetric_loss(
      t, z, gamma_neg=0.0, gamma_pos=0.0, clip=0.0
    ),
    # neg weight sigmoid(12 (1e6 - 0.8)) = 1, pos weight 1 + 0 * ...
    "eqlv2 balanced": jaxloss.equalization_loss_v2(
      y, z, np.full(K - 1, 1e6), np.ones(K - 1), alpha=0.0
    ),
  }
  for name, got in cases.items():
    np.testing.assert_allclose(got, bce, rtol=1e-7, err_msg=name)


def test_class_balanced_weights_limits(x64):
  counts = np.array([400.0, 40.0, 4.0, 0.0])
  inverse = 1 / np.maximum(counts, 1)
  np.testing.assert_allclose(
    jaxloss.class_balanced_weights(counts, 1.0, dtype=jnp.float64),
    inverse / inverse.sum() * 4,
    rtol=1e-12,
  )
  np.testing.assert_array_equal(
    jaxloss.class_balanced_weights(counts, 0.0, dtype=jnp.float64), np.ones(4)
  )
  # beta -> 1 approaches inverse frequency; the double log(beta) keeps
  # 1 - beta^n accurate (1e-9 relative) where float32 beta would not.
  near = jaxloss.class_balanced_weights(
    counts, 1 - 1e-9, normalize=False, dtype=jnp.float64
  )
  np.testing.assert_allclose(near, inverse, rtol=1e-6)


def test_ldam_margins_follow_the_quarter_power():
  m = jaxloss.ldam_margins([10000, 16, 1, 0], 0.5)
  np.testing.assert_allclose(m, [0.05, 0.25, 0.5, 0.5], rtol=1e-6)


@pytest.mark.parametrize(
  "fn,args",
  [
    (jaxloss.seesaw_loss, _seesaw_args()),
    (jaxloss.equalization_loss_v2, _eqlv2_args()),
  ],
  ids=["seesaw", "eqlv2"],
)
def test_state_losses_vmap_and_nan(fn, args):
  args = tuple(
    np.asarray(a, np.float32) if a.dtype.kind == "f" else a for a in args
  )
  n_state = len(args) - 2
  batched = fn(*args)
  mapped = jax.vmap(
    lambda y, z, *s: fn(y[None], z[None], *s)[0],
    in_axes=(0, 0) + (None,) * n_state,
  )(*args)
  np.testing.assert_allclose(mapped, batched, rtol=2e-5, atol=1e-6)
  z = np.array(args[1], copy=True)
  z[0] = np.nan
  values = np.asarray(fn(args[0], z, *args[2:]))
  assert np.isnan(values[0]) and np.all(np.isfinite(values[1:]))
  # Varying state does not retrace a jitted loss.
  traces = []

  @jax.jit
  def f(*a):
    traces.append(1)
    return fn(*a)

  f(*args)
  f(*args[:2], *(s + 1 for s in args[2:]))
  assert len(traces) == 1


def test_seesaw_gradient_holds_compensation_constant(x64):
  y, z, counts = _seesaw_args(1)
  got = jax.jit(jax.grad(lambda z: jnp.sum(jaxloss.seesaw_loss(y, z, counts))))(
    z
  )
  # d/dz CE(z + (1 - t) log S) with S held fixed = softmax(shifted) - t.
  n = np.maximum(counts, 1)
  ratio = n[None, :] / n[:, None]
  m = np.where(ratio < 1, ratio**0.8, 1.0)[y]
  s = imb.np_softmax(z)
  rel = s / np.maximum(s[np.arange(len(y)), y], 1e-2)[:, None]
  c = np.where(rel > 1, rel**2.0, 1.0)
  t = np.eye(K)[y]
  want = imb.np_softmax(z + np.log(m * c) * (1 - t)) - t
  np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
  # With q = 0 the loss is smooth in z: full second-order check.
  check_grads(
    jax.jit(lambda z: jnp.sum(jaxloss.seesaw_loss(y, z, counts, q=0.0))),
    (z,),
    order=2,
    modes=("rev",),
    eps=1e-4,
  )


def test_eqlv2_statistics_are_the_weighted_gradient_magnitudes(x64):
  y, z, pos, neg = _eqlv2_args(2, b=6)
  got_pos, got_neg = jaxloss.equalization_loss_v2_statistics(y, z, pos, neg)
  # The official collect_grad: |dBCE/dz| * weight, split by target; the
  # same as |d loss / d z| by autodiff, background column dropped.
  g = jnp.abs(
    jax.jit(
      jax.grad(lambda z: jnp.sum(jaxloss.equalization_loss_v2(y, z, pos, neg)))
    )(z)
  )
  t = np.eye(K)[y]
  np.testing.assert_allclose(got_pos, np.sum(g * t, 0)[:-1], rtol=1e-12)
  np.testing.assert_allclose(got_neg, np.sum(g * (1 - t), 0)[:-1], rtol=1e-12)
  # A short accumulation loop under jit, as a training step would run it.
  step = jax.jit(
    lambda p, n: tuple(
      a + b
      for a, b in zip(
        (p, n), jaxloss.equalization_loss_v2_statistics(y, z, p, n)
      )
    )
  )
  p, n = jnp.zeros(K - 1), jnp.zeros(K - 1)
  for _ in range(3):
    p, n = step(p, n)
  assert np.all(np.isfinite(p)) and np.all(np.asarray(n) > 0)


def test_empty_classes_and_saturation_are_finite():
  y = np.array([3, 3])
  z = np.array([[1e4, -1e4, 0.0, 0.0], [0.0, 0.0, -1e4, 1e4]])
  zero = (0, 0, 0, 0)
  losses = [
    lambda z: jaxloss.class_balanced_loss(y, z, samples_per_class=zero),
    lambda z: jaxloss.class_balanced_loss(
      y, z, samples_per_class=zero, loss_type="focal"
    ),
    lambda z: jaxloss.ldam_loss(y, z, samples_per_class=zero),
    lambda z: jaxloss.logit_adjusted_crossentropy(
      y, z, class_priors=(5, 1, 1, 0)
    ),
    lambda z: jaxloss.seesaw_loss(y, z, jnp.zeros(K)),
    lambda z: jaxloss.taylor_crossentropy(y, z, order=3),
    lambda z: jaxloss.active_passive_loss(y, z, active="nfl"),
    lambda z: jaxloss.bitempered_logistic(np.eye(K)[y], z, t1=0.2, t2=3.0),
  ]
  for i, loss in enumerate(losses):
    value, grad = jax.jit(
      jax.value_and_grad(lambda z, loss=loss: jnp.sum(loss(z)))
    )(z)
    assert np.isfinite(value) and np.all(np.isfinite(grad)), i


@pytest.mark.parametrize(
  "fn,args,kwargs,error,match",
  ERRORS,
  ids=[f"{e[0].__name__}-{i}" for i, e in enumerate(ERRORS)],
)
def test_errors(fn, args, kwargs, error, match):
  with pytest.raises(error, match=match):
    fn(*args, **kwargs)


def test_objects_by_name_and_config():
  loss = jaxloss.get("LDAMLoss")
  assert isinstance(loss, jaxloss.LDAMLoss)
  obj = jaxloss.ClassBalancedLoss(
    samples_per_class=[10, 1, 1, 0], loss_type="focal"
  )
  assert obj.samples_per_class == (10, 1, 1, 0)  # lists are frozen
  again = jaxloss.deserialize(jaxloss.serialize(obj))
  assert again == obj and hash(again) == hash(obj)
  y, z = sparse()
  want = jnp.mean(
    jaxloss.class_balanced_loss(
      y, z, samples_per_class=(10, 1, 1, 0), loss_type="focal"
    )
  )
  np.testing.assert_allclose(obj(y, z), want, rtol=1e-6)
