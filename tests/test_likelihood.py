"""Likelihood losses beyond the generic contracts: sigmoid focal, Poisson and
Gaussian NLL, F-beta, weighted kappa, z-loss.

Sources: PyTorch 2.13 (CPU; values stored in tests/reference_data by
generate_torch.py) for the PyTorch-semantics losses; the documented
examples of tensorflow-addons 0.23.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from tests.family_helpers import X64
from tests.reference_data import torch_cases
from tests.reference_data import torch_reference
from tests.specs.common import bin_inputs
from tests.specs.likelihood import kappa_inputs
from tests.specs.likelihood import np_weighted_kappa
from tests.specs.likelihood import np_z_loss

RNG = np.random.default_rng(0)


def test_torch_gaussian_nll_var_gradient(x64):
  """PyTorch clamps var without a gradient: d/dvar at var < eps is the
  derivative at eps, passed through unchanged."""
  t, p, var = torch_cases.gaussian_var_gradient_inputs()
  g = jax.grad(lambda v: jnp.sum(jaxloss.gaussian_nll(t, p, v)))(var)
  want = torch_reference("gaussian_nll-var_gradient")["grad_var"]
  # torch's "sum" sums over all entries; ours averages over the last axis.
  np.testing.assert_allclose(g * 2, want, rtol=1e-10)


def test_tfa_sigmoid_focal_example():
  """tensorflow-addons SigmoidFocalCrossEntropy docstring example."""
  got = jaxloss.SigmoidFocalCrossEntropy(reduction="none")(
    [[1.0], [1.0], [0.0]], [[0.97], [0.91], [0.03]]
  )
  np.testing.assert_allclose(
    got, [6.8532745e-06, 1.9097870e-04, 2.0559824e-05], rtol=1e-6
  )


def test_sigmoid_focal_alpha_none_drops_the_balancing_weight():
  """tensorflow-addons 0.23 ``sigmoid_focal_crossentropy``: ``if alpha:``
  guards the factor ``t alpha + (1 - t)(1 - alpha)``, so None (and 0)
  leave it out. Reference: that formula in NumPy float64, with the
  probability path's ``eps = 1e-7`` inside the logs."""
  t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
  p = np.array([[0.9, 0.2, 0.4], [0.7, 0.6, 0.05]])
  q = np.clip(p, 1e-7, 1 - 1e-7)
  bce = -(t * np.log(q + 1e-7) + (1 - t) * np.log(1 - q + 1e-7))
  p_t = t * p + (1 - t) * (1 - p)
  want = np.sum((1 - p_t) ** 2.0 * bce, axis=-1)
  got = jaxloss.sigmoid_focal_crossentropy(t, p, alpha=None)
  np.testing.assert_allclose(got, want, rtol=1e-5)
  np.testing.assert_allclose(
    jaxloss.sigmoid_focal_crossentropy(t, p, alpha=0.0), want, rtol=1e-5
  )
  obj = jaxloss.SigmoidFocalCrossEntropy(alpha=None, reduction="none")
  np.testing.assert_allclose(obj(t, p), want, rtol=1e-5)
  # A number outside [0, 1] is still rejected.
  with pytest.raises(ValueError, match="alpha must be in"):
    jaxloss.sigmoid_focal_crossentropy(t, p, alpha=1.5)


def test_tfa_weighted_kappa_example():
  """tensorflow-addons WeightedKappaLoss docstring: Loss: -1.1611923."""
  t = [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
  p = [
    [0.1, 0.2, 0.6, 0.1],
    [0.1, 0.5, 0.3, 0.1],
    [0.8, 0.05, 0.05, 0.1],
    [0.01, 0.09, 0.1, 0.8],
  ]
  got = jaxloss.WeightedKappaLoss()(t, p)
  np.testing.assert_allclose(got, -1.1611923, rtol=1e-6)


def test_weighted_kappa_linear_and_perfect(x64):
  t, p = kappa_inputs(np.random.default_rng(3), 6)
  got = jaxloss.weighted_kappa_loss(t, p, weightage="linear", eps=1e-3)
  want = np_weighted_kappa(t, p, weightage="linear", epsilon=1e-3)
  np.testing.assert_allclose(got, want, **X64)
  # Perfect agreement: kappa = 1, loss = log(eps).
  np.testing.assert_allclose(
    jaxloss.weighted_kappa_loss(np.eye(3), np.eye(3)), np.log(1e-6), **X64
  )


def test_weighted_kappa_old_epsilon_keyword_warns(x64):
  # ``epsilon`` (tensorflow-addons's name) was the keyword before 0.3.
  t, p = kappa_inputs(np.random.default_rng(3), 6)
  want = jaxloss.weighted_kappa_loss(t, p, eps=1e-3)
  assert float(want) != float(jaxloss.weighted_kappa_loss(t, p))
  with pytest.warns(DeprecationWarning, match="epsilon is deprecated, use eps"):
    got = jaxloss.weighted_kappa_loss(t, p, epsilon=1e-3)
  np.testing.assert_array_equal(got, want)
  with pytest.warns(DeprecationWarning, match="WeightedKappaLoss: epsilon"):
    loss = jaxloss.WeightedKappaLoss(epsilon=1e-3)
  assert loss == jaxloss.WeightedKappaLoss(eps=1e-3)
  np.testing.assert_array_equal(loss(t, p), want)
  with pytest.raises(TypeError, match="pass only eps"):
    jaxloss.weighted_kappa_loss(t, p, epsilon=1e-3, eps=1e-3)


def test_fbeta_one_is_dice():
  t, p = bin_inputs(np.random.default_rng(4), 3)
  np.testing.assert_allclose(
    jaxloss.fbeta_loss(t, p), jaxloss.dice(t, p, axis=-1), rtol=1e-6
  )


def test_z_loss_ignores_labels():
  z = RNG.normal(size=(3, 4)).astype(np.float32)
  a = jaxloss.z_loss(np.zeros(3, np.int32), z)
  b = jaxloss.z_loss(np.ones((3, 4), np.float32), z)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(a, jaxloss.z_loss(None, z))
  np.testing.assert_allclose(a, np_z_loss(None, z), rtol=1e-6)


@pytest.mark.parametrize(
  "call,match",
  [
    (
      lambda: jaxloss.weighted_kappa_loss(
        np.eye(3), np.eye(3), weightage="cubic"
      ),
      "weightage",
    ),
    (lambda: jaxloss.multi_margin([0], [[0.0, 1.0]], p=3), "p must be"),
    (lambda: jaxloss.pinball([[0.0]], [[1.0]], tau=1.5), "tau"),
    (lambda: jaxloss.robust_loss([[0.0]], [[1.0]], scale=0.0), "scale"),
    (
      lambda: jaxloss.robust_loss(
        [[0.0, 1.0]], [[1.0, 1.0]], alpha=[1.0, 2.0, 3.0]
      ),
      "alpha",
    ),
    (
      lambda: jaxloss.giou_loss([[0.0, 0.0, 1.0]], [[0.0, 0.0, 1.0]]),
      "last axis of 4",
    ),
    (
      lambda: jaxloss.gaussian_nll(
        np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 2))
      ),
      "var must",
    ),
    (
      lambda: jaxloss.cosine_embedding(
        [1.0], [[1.0, 0.0]], [[1.0, 0.0]], margin=2.0
      ),
      "margin",
    ),
    (lambda: jaxloss.smooth_l1([[0.0]], [[1.0]], beta=-1.0), "beta"),
    (lambda: jaxloss.fbeta_loss([[0.0]], [[1.0]], beta=0.0), "beta"),
    (
      lambda: jaxloss.sigmoid_focal_crossentropy([[0.0]], [[1.0]], gamma=-1.0),
      "gamma",
    ),
  ],
)
def test_config_errors(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_names_registered():
  for name in (
    "sigmoid_focal_crossentropy",
    "SigmoidFocalCrossEntropy",
    "poisson_nll",
    "GaussianNLLLoss",
    "robust_loss",
    "RobustLoss",
    "smooth_l1",
    "pinball",
    "margin_ranking",
    "CosineEmbeddingLoss",
    "giou_loss",
    "CIoULoss",
    "z_loss",
    "WeightedKappaLoss",
  ):
    assert jaxloss.get(name) is not None
  loss = jaxloss.GaussianNLLLoss(full=True)
  assert loss.inputs == ("y_true", "y_pred", "var")
  np.testing.assert_allclose(
    loss([[0.0, 1.0]], [[0.0, 0.0]], [[1.0, 1.0]], sample_weight=[2.0]),
    2 * (0.25 + 0.5 * np.log(2 * np.pi)),
    rtol=1e-6,
  )
