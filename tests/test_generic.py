"""Generic contract tests, run on every loss spec in ``tests/specs``.

Shape contract, eager == jit, vmap == batch, reference values, reductions,
sample weights, dtypes, float64 gradient checks, finite values and gradients
at the edges, NaN propagation, no retracing, and trace-time errors.

The contracts are the checks of ``jaxloss.testing.check_loss`` (its
machinery, ``jaxloss._src.testing``), so the public tool is the one the
library's own losses are held to.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src import testing
from tests.specs import Spec
from tests.specs import all_specs

SPECS = all_specs()
WITH_CLS = [s for s in SPECS if s.cls is not None]
PER_SAMPLE = [s for s in SPECS if s.per_sample]
WITH_REF = [s for s in SPECS if s.reference is not None]
WITH_EDGES = [s for s in SPECS if s.edge_inputs is not None]
GRAD = [s for s in SPECS if s.grad_check]
BATCH = 4


def _inputs(spec: Spec, seed=0, batch=BATCH, dtype=np.float32):
  rng = np.random.default_rng(seed)
  return tuple(
    np.asarray(x, dtype)
    if np.issubdtype(np.asarray(x).dtype, np.floating)
    else np.asarray(x)
    for x in spec.make_inputs(rng, batch)
  )


_PROGRAMS: dict[str, testing.Programs] = {}


def _programs(spec: Spec) -> testing.Programs:
  # One compiled program per loss and input signature, shared by every test
  # that only needs the values: eager dispatch of a large loss (MS-SSIM,
  # RNN-T) costs more than compiling it once. `test_shape_and_jit` checks
  # that the eager call agrees.
  if spec.name not in _PROGRAMS:
    _PROGRAMS[spec.name] = testing.Programs(
      lambda *a: spec.fn(*a, **spec.kwargs), spec.diff_argnums
    )
  return _PROGRAMS[spec.name]


def _call(spec, *args):
  return _programs(spec).jitted(*args)


def _eager(spec, *args):
  return spec.fn(*args, **spec.kwargs)


def _holds(result: testing.ContractResult, spec: Spec):
  assert result.passed, f"{spec.name}: {result}"


def _scalar_of(spec, args):
  """Sum of values as a function of the differentiated inputs."""

  def f(*diff):
    full = list(args)
    for i, d in zip(spec.diff_argnums, diff):
      full[i] = d
    return jnp.sum(_call(spec, *full))

  return f


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_shape_and_jit(spec):
  args = _inputs(spec)
  eager = _eager(spec, *args)
  assert isinstance(eager, jax.Array)
  if spec.per_sample:
    assert eager.shape[0] == BATCH and eager.ndim == spec.value_rank
  _holds(testing.check_jit(_programs(spec), args, eager=eager), spec)


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_vmap_equals_batch(spec):
  # vmap over the batch axis with a batch of 1 inside each mapped call.
  _holds(testing.check_vmap(_programs(spec), _inputs(spec)), spec)


@pytest.mark.parametrize("spec", WITH_REF, ids=repr)
def test_reference(spec, x64):
  args = _inputs(spec, seed=1, dtype=np.float64)
  got = _call(spec, *args)
  assert got.dtype == jnp.float64
  want = spec.reference(*args, **spec.kwargs)
  np.testing.assert_allclose(
    got, want, rtol=1e-10, atol=1e-10, err_msg=spec.reference_source
  )


REDUCTIONS = (
  "sum_over_batch_size",
  "sum",
  "mean",
  "mean_with_sample_weight",
  "none",
)


@pytest.mark.parametrize("spec", WITH_CLS, ids=repr)
def test_object_reductions(spec):
  # Every reduction's object, with keyword and Keras's positional weights,
  # in one compiled program, against `jaxloss.reduce` of the values.
  args = _inputs(spec)
  values = _call(spec, *args)
  weight = np.linspace(0.5, 2.0, values.shape[0]) if values.ndim else 2.0
  losses = [spec.cls(reduction=r, **spec.kwargs) for r in REDUCTIONS]
  _holds(testing.check_reductions(losses, args, values, weight), spec)


@pytest.mark.parametrize("spec", WITH_CLS, ids=repr)
def test_object_config_roundtrip(spec):
  loss = spec.cls(reduction="sum", name="custom", **spec.kwargs)
  again = jaxloss.deserialize(jaxloss.serialize(loss))
  assert again == loss and hash(again) == hash(loss)
  assert type(loss).from_config(loss.get_config()) == loss
  assert jaxloss.get(type(loss).__name__) == spec.cls()


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_sample_weight_shapes(spec):
  args = _inputs(spec)
  values = np.asarray(_call(spec, *args), np.float64)
  w = np.arange(1.0, BATCH + 1)
  want = np.sum(values * w.reshape((BATCH,) + (1,) * (values.ndim - 1)))
  for weight in (w, w[:, None] if values.ndim == 1 else w):
    got = jaxloss.reduce(
      jnp.asarray(values, jnp.float32), sample_weight=weight, reduction="sum"
    )
    np.testing.assert_allclose(got, want, rtol=1e-5)


# One half dtype per spec, alternating along the registry: both are covered
# across the families, at half the compiled programs.
_HALF = (jnp.float16, jnp.bfloat16)


@pytest.mark.parametrize(
  "spec, dtype",
  [(s, _HALF[i % 2]) for i, s in enumerate(SPECS)],
  ids=[f"{s!r}-{_HALF[i % 2].__name__}" for i, s in enumerate(SPECS)],
)
def test_half_precision(spec, dtype):
  result = testing.check_half_precision(
    _programs(spec),
    _inputs(spec),
    dtype,
    rtol=spec.half_rtol,
    out_dtype=spec.half_out,
  )
  _holds(result, spec)


@pytest.mark.parametrize("spec", GRAD, ids=repr)
def test_gradients_float64(spec, x64):
  args = _inputs(spec, seed=2, batch=2, dtype=np.float64)
  diff = tuple(jnp.asarray(args[i]) for i in spec.diff_argnums)
  f = _scalar_of(spec, args)
  # Second order only where a backward pass is written by hand (a custom
  # VJP, whose own derivative autodiff does not check); elsewhere the
  # Hessian is JAX's differentiation of JAX's derivative.
  order = 2 if _has_custom_vjp(f, diff) else 1
  for result in testing.check_gradients(
    f, diff, eps=spec.grad_eps, order=order
  ):
    _holds(result, spec)


def _has_custom_vjp(f, args) -> bool:
  """Whether tracing ``f`` meets a hand-written backward pass."""
  return "custom_vjp_call" in str(jax.make_jaxpr(f)(*args))


@pytest.mark.parametrize("spec", WITH_EDGES, ids=repr)
def test_finite_at_edges(spec):
  # One program per input signature for all the cases (the non-differentiated
  # inputs are arguments, not constants baked into a program per case).
  cases = [(f"edge {k}", c) for k, c in enumerate(spec.edge_inputs())]
  _holds(testing.check_edges(_programs(spec), cases), spec)


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_nan_propagates(spec):
  result = testing.check_nan(
    _programs(spec),
    _inputs(spec),
    argnums=spec.diff_argnums[:1],
    per_sample=True,
  )
  _holds(result, spec)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_no_retrace(spec):
  # The shared value program counts its traces: new values of the same
  # shapes must reuse it.
  result = testing.check_retrace(
    _programs(spec), _inputs(spec, seed=3), _inputs(spec, seed=4)
  )
  _holds(result, spec)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_integer_prediction_rejected(spec):
  args = list(_inputs(spec))
  i = spec.diff_argnums[0]
  args[i] = np.zeros(args[i].shape, np.int32)
  with pytest.raises(TypeError, match=spec.fn.__name__):
    _eager(spec, *args)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_mismatched_shapes_rejected(spec):
  args = list(_inputs(spec))
  if spec.mismatch is not None:
    args = spec.mismatch(tuple(args))
  else:
    i = spec.diff_argnums[0]
    # Two extra entries on the last axis (a trailing-1 axis would be legal).
    args[i] = np.concatenate([args[i], args[i][..., :2]], axis=-1)
  with pytest.raises(ValueError, match=spec.fn.__name__):
    _eager(spec, *args)


def test_gradient_check_catches_wrong_derivatives(x64):
  x = (jnp.linspace(0.5, 1.5, 5),)

  def cube_with(bwd_factor):
    @jax.custom_vjp
    def cube(x):
      return jnp.sum(x**3)

    cube.defvjp(lambda x: (cube(x), x), lambda x, g: (g * bwd_factor(x),))
    return cube

  def failed(fn):
    results = testing.check_gradients(fn, x, eps=1e-4, order=2)
    return [r.name for r in results if not r.passed]

  assert failed(cube_with(lambda x: 3 * x**2)) == []
  # Off by a factor: the gradient is wrong, its derivative consistent with it.
  assert failed(cube_with(lambda x: 3.01 * x**2)) == ["gradient"]
  # Right first derivative, but its own derivative is lost.
  assert failed(cube_with(lambda x: 3 * jax.lax.stop_gradient(x) ** 2)) == [
    "second_order"
  ]
