"""PyTorch-semantics options against PyTorch 2.13, without torch at run time.

Reference values come from ``tests/reference_data/torch_reference.json``,
written once by ``tests/reference_data/generate_torch.py`` with PyTorch
2.13.0 (CPU, float64, ``reduction="none"``); the inputs are rebuilt from
the seeded NumPy generators in ``torch_cases.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.reference_data import torch_cases
from tests.reference_data import torch_reference
from tests.reference_data import torch_version

TIGHT = dict(rtol=1e-10, atol=1e-12)


def test_reference_file_provenance():
  assert torch_version().startswith("2.13")


@pytest.mark.parametrize(
  "key, in_shape, var_shape",
  torch_cases.GAUSSIAN_VAR_SHAPES,
  ids=[c[0] for c in torch_cases.GAUSSIAN_VAR_SHAPES],
)
def test_gaussian_nll_accepts_pytorch_var_shapes(key, in_shape, var_shape, x64):
  y, mu, var = torch_cases.gaussian_var_shape_inputs(in_shape, var_shape)
  got = jaxloss.gaussian_nll(y, mu, var)
  # PyTorch's elementwise values, averaged over the last axis as ours are.
  want = torch_reference(f"gaussian_nll-var_shape-{key}")["value"]
  np.testing.assert_allclose(got, want.mean(-1), **TIGHT)


def test_gaussian_nll_rejects_what_pytorch_rejects():
  y = np.zeros((4, 3, 5))
  # Two mismatched axes: PyTorch 2.13 raises "var is of incorrect size".
  with pytest.raises(
    ValueError,
    match=r"gaussian_nll: var must .* got "
    r"var.shape=\(1, 1, 5\)",
  ):
    jaxloss.gaussian_nll(y, y, np.ones((1, 1, 5)))
  with pytest.raises(ValueError, match="gaussian_nll: var"):
    jaxloss.gaussian_nll(y, y, np.ones((4, 2, 5)))


@pytest.mark.parametrize("key", sorted(torch_cases.POS_WEIGHTS))
def test_bce_pos_weight_from_logits_matches_pytorch(key, x64):
  t, z = torch_cases.pos_weight_inputs()
  pw = torch_cases.POS_WEIGHTS[key]
  want = torch_reference(f"bce_pos_weight-{key}")

  def total(z):
    v = jaxloss.binary_crossentropy(t, z, from_logits=True, pos_weight=pw)
    return jnp.sum(v), v

  (_, got), grad = jax.value_and_grad(total, has_aux=True)(z)
  np.testing.assert_allclose(got, want["value"].mean(-1), **TIGHT)
  # Ours averages over the last axis (3 entries): d(sum)/dz is 1/3 torch's.
  np.testing.assert_allclose(grad * 3, want["grad_logits"], **TIGHT)
  obj = jaxloss.BinaryCrossentropy(
    from_logits=True, pos_weight=pw, reduction="none"
  )
  np.testing.assert_allclose(obj(t, z), got, **TIGHT)


def test_bce_pos_weight_from_probabilities_formula(x64):
  # -(w t log p + (1 - t) log(1 - p)), p clipped to [1e-7, 1 - 1e-7]
  # (no PyTorch counterpart: BCELoss has no pos_weight).
  t = np.array([[1.0, 0.0, 0.5]])
  p = np.array([[0.8, 0.3, 0.0]])
  w = np.array([2.0, 3.0, 0.5])
  q = np.clip(p, 1e-7, 1 - 1e-7)
  want = np.mean(-(w * t * np.log(q) + (1 - t) * np.log1p(-q)), -1)
  got = jaxloss.binary_crossentropy(t, p, pos_weight=w)
  np.testing.assert_allclose(got, want, **TIGHT)
  # pos_weight = 1 is the plain loss.
  np.testing.assert_allclose(
    jaxloss.binary_crossentropy(t, p, pos_weight=1.0),
    jaxloss.binary_crossentropy(t, p),
    **TIGHT,
  )


@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_categorical_crossentropy_weight_soft_targets_matches_pytorch(ls, x64):
  t, z, w = torch_cases.soft_target_weight_inputs()
  want = torch_reference(f"cross_entropy_soft_weight-ls{ls}")

  def total(z):
    v = jaxloss.categorical_crossentropy(
      t, z, from_logits=True, weight=w, label_smoothing=ls
    )
    return jnp.sum(v), v

  (_, got), grad = jax.value_and_grad(total, has_aux=True)(z)
  np.testing.assert_allclose(got, want["value"], **TIGHT)
  np.testing.assert_allclose(grad, want["grad_logits"], **TIGHT)


def test_categorical_crossentropy_weight_mean_is_over_batch(x64):
  t, z, w = torch_cases.soft_target_weight_inputs()
  obj = jaxloss.CategoricalCrossentropy(from_logits=True, weight=tuple(w))
  want = torch_reference("cross_entropy_soft_weight-mean")["value"]
  np.testing.assert_allclose(obj(t, z), want, **TIGHT)


def test_multilabel_soft_margin_weight_matches_pytorch(x64):
  t, z, w = torch_cases.multilabel_weight_inputs()
  want = torch_reference("multilabel_soft_margin-weight")

  def total(z):
    v = jaxloss.multilabel_soft_margin(t, z, weight=w)
    return jnp.sum(v), v

  (_, got), grad = jax.value_and_grad(total, has_aux=True)(z)
  np.testing.assert_allclose(got, want["value"], **TIGHT)
  np.testing.assert_allclose(grad, want["grad_logits"], **TIGHT)


@pytest.mark.parametrize(
  "call",
  [
    lambda w: jaxloss.binary_crossentropy(
      np.zeros((2, 3)), np.zeros((2, 3)), from_logits=True, pos_weight=w
    ),
    lambda w: jaxloss.categorical_crossentropy(
      np.zeros((2, 3)), np.zeros((2, 3)), weight=w
    ),
    lambda w: jaxloss.multilabel_soft_margin(
      np.zeros((2, 3)), np.zeros((2, 3)), weight=w
    ),
  ],
  ids=["bce", "cce", "multilabel"],
)
def test_per_class_weights_wrong_length_raise(call):
  with pytest.raises(
    ValueError,
    match=r": (pos_)?weight must be a scalar "
    r"or have one entry per class \(3\), got shape \(2,\)",
  ):
    call([1.0, 2.0])
  with pytest.raises(TypeError, match="weight must be a number"):
    call(True)


def test_per_class_weights_finite_gradient_at_saturation():
  t = np.array([[1.0, 0.0]], np.float32)
  z = np.array([[-100.0, 100.0]], np.float32)
  g = jax.grad(
    lambda z: jnp.sum(
      jaxloss.binary_crossentropy(t, z, from_logits=True, pos_weight=[3.0, 0.5])
    )
  )(z)
  assert np.all(np.isfinite(g))
  # d/dz of w t softplus(-z) + (1 - t) softplus(z), averaged over 2 entries:
  # -w sigmoid(-z) / 2 = -1.5 at z = -100; sigmoid(z) / 2 = 0.5 at z = 100.
  np.testing.assert_allclose(g, [[-1.5, 0.5]], rtol=1e-6)


@pytest.mark.parametrize(
  "case", torch_cases.parity_cases(), ids=torch_cases.case_id
)
def test_torch_parity(case, x64):
  """Values against torch.nn.functional (PyTorch 2.13, reduction='none'
  then the mean over the last axis where ours averages it), stored by
  tests/reference_data/generate_torch.py."""
  name, kwargs, inputs, _, _, _, elementwise = case
  got = getattr(jaxloss, name)(*inputs, **kwargs)
  want = torch_reference(torch_cases.case_id(case))["value"]
  if elementwise and name != "margin_ranking":
    want = want.mean(-1)
  np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
