"""jaxloss.regularizers against Keras 3.15 regularizers (JAX backend)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxloss import regularizers

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
W = RNG.normal(size=(4, 3)).astype(np.float32)

CASES = [
  (regularizers.L1(), keras.regularizers.L1()),
  (regularizers.L1(0.3), keras.regularizers.L1(0.3)),
  (regularizers.L2(), keras.regularizers.L2()),
  (regularizers.L2(0.2), keras.regularizers.L2(0.2)),
  (regularizers.L1L2(l1=0.1, l2=0.05), keras.regularizers.L1L2(0.1, 0.05)),
  (regularizers.l1_l2(), keras.regularizers.l1_l2()),
  (
    regularizers.OrthogonalRegularizer(),
    keras.regularizers.OrthogonalRegularizer(),
  ),
  (
    regularizers.orthogonal(0.5, "columns"),
    keras.regularizers.OrthogonalRegularizer(0.5, "columns"),
  ),
]


@pytest.mark.parametrize("ours,theirs", CASES, ids=lambda c: repr(c)[:40])
def test_matches_keras(ours, theirs):
  want = np.asarray(theirs(jnp.asarray(W)))
  np.testing.assert_allclose(ours(W), want, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(jax.jit(ours)(W), want, rtol=1e-6, atol=1e-7)


def test_defaults_match_keras():
  for name in ("l1", "l2", "l1_l2", "orthogonal_regularizer"):
    theirs = getattr(keras.regularizers, name)().get_config()
    ours = regularizers.get(name).get_config()
    assert set(theirs) == set(ours)
    for k, v in theirs.items():
      assert ours[k] == (v if k == "mode" else pytest.approx(float(v)))


def test_orthogonal_zero_row_finite_grad():
  w = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]], np.float32)
  g = jax.grad(regularizers.OrthogonalRegularizer(1.0))(w)
  assert np.all(np.isfinite(g))
  # Rows 1 and 2 are orthogonal, row 0 is zero: the penalty is 0.
  assert float(regularizers.OrthogonalRegularizer(1.0)(w)) == pytest.approx(
    0.0, abs=1e-6
  )


def test_regularize_kernels_of_linen_params():
  flax_linen = pytest.importorskip("flax.linen")
  model = flax_linen.Sequential([flax_linen.Dense(3), flax_linen.Dense(2)])
  params = model.init(jax.random.key(0), jnp.ones((1, 4)))
  kernels = [params["params"][f"layers_{i}"]["kernel"] for i in (0, 1)]
  biases = [params["params"][f"layers_{i}"]["bias"] + 1.0 for i in (0, 1)]
  params["params"]["layers_0"]["bias"] = biases[0]
  l2 = keras.regularizers.L2(0.01)
  want = sum(float(l2(k)) for k in kernels)
  np.testing.assert_allclose(
    regularizers.regularize("l2", params), want, rtol=1e-6
  )
  everything = regularizers.regularize(regularizers.L2(), params, filter=None)
  want_all = want + sum(
    float(l2(b)) for b in (biases[0], params["params"]["layers_1"]["bias"])
  )
  np.testing.assert_allclose(everything, want_all, rtol=1e-6)
  only_first = regularizers.regularize(
    regularizers.L1(0.5),
    params,
    filter=lambda path, leaf: path.endswith("layers_0/kernel"),
  )
  np.testing.assert_allclose(
    only_first, 0.5 * np.abs(kernels[0]).sum(), rtol=1e-6
  )
  assert (
    float(
      regularizers.regularize("l2", params, filter="nothing", allow_empty=True)
    )
    == 0
  )


def test_half_precision_computed_in_float32():
  # A float16 running sum of 4096 * 0.01 stalls near 32 (spacing 1/32).
  w = np.full((4096,), 0.1, np.float16)
  out = regularizers.L2(1.0)(w)
  assert out.dtype == jnp.float16
  want = 4096 * float(np.float16(0.1)) ** 2
  np.testing.assert_allclose(float(out), want, rtol=1e-3)


def test_errors():
  with pytest.raises(ValueError, match="L1: l1 must be"):
    regularizers.L1(-1.0)
  with pytest.raises(ValueError, match="mode must be"):
    regularizers.OrthogonalRegularizer(mode="diag")
  with pytest.raises(ValueError, match="x must have rank 2"):
    regularizers.OrthogonalRegularizer()(np.ones(3, np.float32))
  with pytest.raises(TypeError, match="x must have a floating dtype"):
    regularizers.L2()(np.ones(3, np.int32))
  with pytest.raises(ValueError, match="get: identifier"):
    regularizers.get("l3")
  with pytest.raises(TypeError, match="filter must be"):
    regularizers.regularize("l2", {"kernel": jnp.ones(2)}, filter=3)


@pytest.mark.parametrize(
  "bad, exc, expectation",
  [
    (-1.0, ValueError, "must be in [0.0, inf), got -1.0"),
    (float("nan"), ValueError, "must be in [0.0, inf), got nan"),
    (float("inf"), ValueError, "must be in [0.0, inf), got inf"),
    ("0.1", TypeError, "must be a Python number, got '0.1'"),
    (None, TypeError, "must be a Python number, got None"),
    (True, TypeError, "must be a Python number, got True"),
    (np.array(0.1), TypeError, "must be a Python number, got array(0.1)"),
  ],
)
def test_factors_are_finite_python_numbers(bad, exc, expectation):
  # Keras's own rule (a finite float >= 0), with validation's messages.
  for make, name in (
    (lambda v: regularizers.L1(l1=v), "L1: l1"),
    (lambda v: regularizers.L2(l2=v), "L2: l2"),
    (lambda v: regularizers.L1L2(l2=v), "L1L2: l2"),
    (
      lambda v: regularizers.OrthogonalRegularizer(factor=v),
      "OrthogonalRegularizer: factor",
    ),
  ):
    with pytest.raises(exc) as info:
      make(bad)
    assert str(info.value) == f"{name} {expectation}"
