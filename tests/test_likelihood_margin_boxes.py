"""Reference and parity tests for the catalogue beyond Keras, part A.

Sources: PyTorch 2.13 (CPU; values stored in tests/reference_data by
generate_torch.py) for the PyTorch-semantics losses; the documented
examples of tensorflow-addons 0.23; closed forms of Barron 2019, eq. (8)
and sec. 2 for the robust loss's special cases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
import numpy as np
import pytest

import jaxloss
from tests.reference_data import torch_cases
from tests.reference_data import torch_reference
from tests.specs import likelihood_margin_boxes as ref

RNG = np.random.default_rng(0)
X64 = dict(rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ PyTorch


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


def test_torch_gaussian_nll_var_gradient(x64):
  """PyTorch clamps var without a gradient: d/dvar at var < eps is the
  derivative at eps, passed through unchanged."""
  t, p, var = torch_cases.gaussian_var_gradient_inputs()
  g = jax.grad(lambda v: jnp.sum(jaxloss.gaussian_nll(t, p, v)))(var)
  want = torch_reference("gaussian_nll-var_gradient")["grad_var"]
  # torch's "sum" sums over all entries; ours averages over the last axis.
  np.testing.assert_allclose(g * 2, want, rtol=1e-10)


# -------------------------------------------------------- documented values


def test_tfa_sigmoid_focal_example():
  """tensorflow-addons SigmoidFocalCrossEntropy docstring example."""
  got = jaxloss.SigmoidFocalCrossEntropy(reduction="none")(
    [[1.0], [1.0], [0.0]], [[0.97], [0.91], [0.03]]
  )
  np.testing.assert_allclose(
    got, [6.8532745e-06, 1.9097870e-04, 2.0559824e-05], rtol=1e-6
  )


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


def test_tfa_giou_example():
  """tensorflow-addons GIoULoss docstring: mean loss 1.5041667."""
  t = [[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]]
  p = [[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]]
  np.testing.assert_allclose(jaxloss.GIoULoss()(t, p), 1.5041667, rtol=1e-6)


def test_torch_multi_margin_doc_example():
  """PyTorch MultiMarginLoss docstring example: 0.3250."""
  np.testing.assert_allclose(
    jaxloss.multi_margin([3], [[0.1, 0.2, 0.4, 0.8]]), [0.325], rtol=1e-6
  )


def test_weighted_kappa_linear_and_perfect(x64):
  t, p = ref._kappa_inputs(np.random.default_rng(3), 6)
  got = jaxloss.weighted_kappa_loss(t, p, weightage="linear", eps=1e-3)
  want = ref.np_weighted_kappa(t, p, weightage="linear", epsilon=1e-3)
  np.testing.assert_allclose(got, want, **X64)
  # Perfect agreement: kappa = 1, loss = log(eps).
  np.testing.assert_allclose(
    jaxloss.weighted_kappa_loss(np.eye(3), np.eye(3)), np.log(1e-6), **X64
  )


def test_weighted_kappa_old_epsilon_keyword_warns(x64):
  # ``epsilon`` (tensorflow-addons's name) was the keyword before 0.3.
  t, p = ref._kappa_inputs(np.random.default_rng(3), 6)
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
  t, p = ref._bin_inputs(np.random.default_rng(4), 3)
  np.testing.assert_allclose(
    jaxloss.fbeta_loss(t, p), jaxloss.dice(t, p, axis=-1), rtol=1e-6
  )


def test_z_loss_ignores_labels():
  z = RNG.normal(size=(3, 4)).astype(np.float32)
  a = jaxloss.z_loss(np.zeros(3, np.int32), z)
  b = jaxloss.z_loss(np.ones((3, 4), np.float32), z)
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(a, jaxloss.z_loss(None, z))
  np.testing.assert_allclose(a, ref.np_z_loss(None, z), rtol=1e-6)


# ------------------------------------------------------------ robust loss

_X = np.linspace(-6.0, 6.0, 13)[None]
_ZERO = np.zeros_like(_X)


@pytest.mark.parametrize(
  "alpha,closed_form",
  [
    (2.0, lambda s: s / 2),  # L2
    (1.0, lambda s: np.sqrt(s + 1) - 1),  # pseudo-Huber
    (0.0, lambda s: np.log(s / 2 + 1)),  # Cauchy
    (-2.0, lambda s: 2 * s / (s + 4)),  # Geman-McClure
    (-np.inf, lambda s: 1 - np.exp(-s / 2)),  # Welsch
    (np.inf, lambda s: np.expm1(s / 2)),
  ],
  ids=["2", "1", "0", "-2", "-inf", "inf"],
)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_robust_special_cases(alpha, closed_form, scale, x64):
  """Barron 2019, sec. 2 / eq. (8): named losses as special cases."""
  per_elem = jaxloss.robust_loss(_ZERO.T, _X.T, alpha=alpha, scale=scale)
  np.testing.assert_allclose(per_elem, closed_form((_X[0] / scale) ** 2), **X64)


@pytest.mark.parametrize("alpha", [-3.0, -0.5, 0.25, 0.5, 1.5, 3.0])
def test_robust_general_formula(alpha, x64):
  got = jaxloss.robust_loss(_ZERO.T, _X.T, alpha=alpha, scale=0.7)
  want = [ref.np_barron(x, alpha, 0.7) for x in _X[0]]
  np.testing.assert_allclose(got, want, **X64)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("limit", [0.0, 2.0])
def test_robust_stable_near_limits(limit, dtype, x64):
  """Approaching alpha = 0 or 2 from both sides gives the limit's value
  (to the size of the step in alpha), with no cancellation blow-up."""
  x = jnp.asarray(_X.T, dtype)
  at = jaxloss.robust_loss(jnp.zeros_like(x), x, alpha=limit)
  tol = 1e-4 if dtype == jnp.float32 else 1e-9
  for delta in (1e-3, 1e-6, 1e-9, 1e-12):
    for a in (limit - delta, limit + delta):
      near = jaxloss.robust_loss(
        jnp.zeros_like(x), x, alpha=jnp.asarray(a, dtype)
      )
      assert np.all(np.isfinite(near))
      np.testing.assert_allclose(
        near, at, rtol=max(tol, 30 * delta), atol=1e-12
      )


def test_robust_grad_alpha_scale(x64):
  """d/dalpha and d/dscale against finite differences (float64), alpha and
  scale as traced (jitted) inputs, through alpha = 0 (the series branch)."""
  t, p = ref._reg_inputs(np.random.default_rng(5), 2)

  @jax.jit
  def f(a, c):
    return jnp.sum(jaxloss.robust_loss(t, p, alpha=a, scale=c))

  for alpha in (-3.0, 0.0, 1e-4, 0.5, 1.9, 3.0):
    check_grads(
      f,
      (jnp.asarray(alpha), jnp.asarray(0.8)),
      order=1,
      modes=("rev",),
      eps=1e-5,
      atol=1e-5,
      rtol=1e-5,
    )


def test_robust_alpha_gradient_at_two_is_finite_and_positive(x64):
  """The true d/dalpha diverges (logarithmically) at alpha = 2; ours is a
  finite positive value, so a learnable alpha starting at 2 still moves."""
  g = jax.jit(
    jax.grad(lambda a: jnp.sum(jaxloss.robust_loss(_ZERO, _X, alpha=a)))
  )
  at_two = g(2.0)
  assert np.isfinite(at_two) and at_two > g(1.99) > 0


def test_robust_per_dimension_parameters(x64):
  t, p = ref._reg_inputs(np.random.default_rng(6), 3)
  alpha = jnp.asarray([-4.0, 0.0, 1.0, 2.0, -jnp.inf])
  scale = jnp.asarray([0.5, 1.0, 1.5, 2.0, 3.0])
  got = jax.jit(lambda a, c: jaxloss.robust_loss(t, p, alpha=a, scale=c))(
    alpha, scale
  )
  np.testing.assert_allclose(got, ref.np_robust(t, p, alpha, scale), **X64)
  grads = jax.grad(
    lambda a, c: jnp.sum(jaxloss.robust_loss(t, p, alpha=a, scale=c)),
    argnums=(0, 1),
  )(alpha, scale)
  assert all(np.all(np.isfinite(g)) for g in grads)


# ----------------------------------------------------------------- boxes


def test_ciou_gradient_holds_tradeoff_constant(x64):
  """CIoU's gradient is that of DIoU + a * v with a = v / (1 - IoU + v)
  frozen at the evaluation point (Zheng et al. 2020; torchvision)."""
  t, p = ref._box_inputs(np.random.default_rng(8), 3)
  iou = 1 - ref.np_iou(t, p)
  th, tw = t[:, 2] - t[:, 0], t[:, 3] - t[:, 1]

  def v_of(q):
    ph, pw = q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]
    return 4 / np.pi**2 * (np.arctan(tw / th) - np.arctan(pw / ph)) ** 2

  a = v_of(p) / (1 - iou + v_of(p))
  frozen = lambda q: np.sum(ref.np_diou(t, q) + a * v_of(q))
  numeric = np.zeros_like(p)
  h = 1e-6
  for idx in np.ndindex(p.shape):
    e = np.zeros_like(p)
    e[idx] = h
    numeric[idx] = (frozen(p + e) - frozen(p - e)) / (2 * h)
  got = jax.grad(lambda q: jnp.sum(jaxloss.ciou_loss(t, q)))(p)
  np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


def test_boxes_identical_and_disjoint():
  box = np.array([[0.0, 0.0, 2.0, 3.0]])
  for fn in (
    jaxloss.iou_loss,
    jaxloss.giou_loss,
    jaxloss.diou_loss,
    jaxloss.ciou_loss,
  ):
    np.testing.assert_allclose(fn(box, box), [0.0], atol=1e-7)
  far = np.array([[10.0, 10.0, 12.0, 13.0]])
  np.testing.assert_allclose(jaxloss.iou_loss(box, far), [1.0])
  assert 1.0 < float(jaxloss.giou_loss(box, far)[0]) < 2.0
  assert 1.0 < float(jaxloss.diou_loss(box, far)[0]) < 2.0


# ---------------------------------------------------------------- errors


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
