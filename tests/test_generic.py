"""Generic contract tests, run on every loss spec in ``tests/specs``.

Shape contract, eager == jit, vmap == batch, reference values, reductions,
sample weights, dtypes, float64 gradient checks, finite values and gradients
at the edges, NaN propagation, no retracing, and trace-time errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
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


_JITTED = {}


def _jitted(spec: Spec):
  if spec.name not in _JITTED:
    _JITTED[spec.name] = jax.jit(lambda *a: spec.fn(*a, **spec.kwargs))
  return _JITTED[spec.name]


def _call(spec, *args):
  # One compiled program per loss and input signature, shared by every test
  # that only needs the values: eager dispatch of a large loss (MS-SSIM,
  # RNN-T) costs more than compiling it once. `test_shape_and_jit` checks
  # that the eager call agrees.
  return _jitted(spec)(*args)


def _eager(spec, *args):
  return spec.fn(*args, **spec.kwargs)


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
  jitted = _call(spec, *args)
  assert isinstance(eager, jax.Array)
  if spec.per_sample:
    assert eager.shape[0] == BATCH and eager.ndim == spec.value_rank
  np.testing.assert_allclose(eager, jitted, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_vmap_equals_batch(spec):
  args = _inputs(spec)
  batched = _call(spec, *args)
  # vmap over the batch axis with a batch of 1 inside each mapped call.
  one = lambda *a: _eager(spec, *(x[None] for x in a))[0]  # noqa: E731
  mapped = jax.jit(jax.vmap(one))(*args)
  np.testing.assert_allclose(mapped, batched, rtol=2e-5, atol=1e-6)


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


@jax.jit
def _apply_all(losses, args, weight):
  """Each object called with keyword and positional weights: one program."""
  keyword = [lo(*args, sample_weight=weight) for lo in losses]
  positional = [lo(*args, weight) for lo in losses]
  return keyword, positional


@pytest.mark.parametrize("spec", WITH_CLS, ids=repr)
def test_object_reductions(spec):
  args = _inputs(spec)
  values = _call(spec, *args)
  weight = np.linspace(0.5, 2.0, values.shape[0]) if values.ndim else 2.0
  losses = [spec.cls(reduction=r, **spec.kwargs) for r in REDUCTIONS]
  keyword, positional = _apply_all(losses, args, weight)
  for loss, got, by_position in zip(losses, keyword, positional, strict=True):
    where = None
    if loss.where_fn is not None:
      where = loss.where_fn(*args, values, **loss.hyper_parameters())
    want = jaxloss.reduce(
      values, sample_weight=weight, where=where, reduction=loss.reduction
    )
    np.testing.assert_allclose(
      got, want, rtol=1e-6, atol=1e-7, err_msg=loss.reduction
    )
    # Keras's positional sample_weight gives the same.
    np.testing.assert_allclose(by_position, got, rtol=1e-6)


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


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_half_precision(spec, dtype):
  args32 = _inputs(spec)
  args = tuple(
    jnp.asarray(a, dtype) if np.issubdtype(a.dtype, np.floating) else a
    for a in args32
  )
  got = _call(spec, *args)
  want_dtype = dtype if spec.half_out is None else spec.half_out
  assert got.dtype == want_dtype, f"{spec.name}: half in gave {got.dtype}"
  want = _call(spec, *args32)
  np.testing.assert_allclose(
    np.asarray(got, np.float32), want, rtol=spec.half_rtol, atol=spec.half_rtol
  )


def _inner(xs, ys):
  return sum(jnp.vdot(x, y) for x, y in zip(xs, ys, strict=True))


def _check_grads_rev2(f, args, eps, atol=1e-4, rtol=1e-4, seed=0):
  """What ``check_grads(f, args, order=2, modes=("rev",))`` checks, with
  each program compiled once.

  First order: ``<grad f(x), t>`` against the central difference of ``f``
  along a random ``t``. Second order: ``<H t, u>``, the reverse-over-reverse
  derivative of ``<grad f(x), u>``, against the central difference of
  ``<grad f, u>`` along ``t``. Three compiled programs (``f``, its gradient,
  the Hessian-vector product) instead of one per transformation and order.
  """
  rng = np.random.default_rng(seed)
  argnums = tuple(range(len(args)))
  t = [jnp.asarray(rng.normal(size=a.shape), a.dtype) for a in args]
  u = [jnp.asarray(rng.normal(size=a.shape), a.dtype) for a in args]
  value = jax.jit(f)
  grad = jax.jit(jax.grad(f, argnums=argnums))
  hessian_u = jax.jit(
    jax.grad(lambda *x: _inner(jax.grad(f, argnums=argnums)(*x), u), argnums)
  )
  plus = [a + eps * d for a, d in zip(args, t, strict=True)]
  minus = [a - eps * d for a, d in zip(args, t, strict=True)]
  numeric = (value(*plus) - value(*minus)) / (2 * eps)
  np.testing.assert_allclose(
    _inner(grad(*args), t), numeric, atol=atol, rtol=rtol, err_msg="order 1"
  )
  numeric = (_inner(grad(*plus), u) - _inner(grad(*minus), u)) / (2 * eps)
  np.testing.assert_allclose(
    _inner(hessian_u(*args), t),
    numeric,
    atol=atol,
    rtol=rtol,
    err_msg="order 2",
  )


@pytest.mark.parametrize("spec", GRAD, ids=repr)
def test_gradients_float64(spec, x64):
  args = _inputs(spec, seed=2, batch=2, dtype=np.float64)
  diff = tuple(jnp.asarray(args[i]) for i in spec.diff_argnums)
  _check_grads_rev2(_scalar_of(spec, args), diff, eps=spec.grad_eps)


@pytest.mark.parametrize("spec", WITH_EDGES, ids=repr)
def test_finite_at_edges(spec):
  # One program per input signature for all the cases (the non-differentiated
  # inputs are arguments, not constants baked into a program per case).
  value_and_grad = jax.jit(
    jax.value_and_grad(
      lambda *a: jnp.sum(_eager(spec, *a)), argnums=tuple(spec.diff_argnums)
    )
  )
  for case in spec.edge_inputs():
    value, grads = value_and_grad(*(jnp.asarray(a) for a in case))
    assert np.isfinite(value), f"{spec.name}: non-finite value at {case}"
    for g in grads:
      assert np.all(np.isfinite(g)), f"{spec.name}: non-finite grad at {case}"


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_nan_propagates(spec):
  args = list(_inputs(spec))
  i = spec.diff_argnums[0]
  poisoned = np.array(args[i], copy=True)
  poisoned[0] = np.nan  # the whole first sample
  args[i] = poisoned
  values = np.asarray(_call(spec, *args))
  assert np.isnan(values).any(), f"{spec.name}: a NaN input vanished"


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_no_retrace(spec):
  traces = []

  @jax.jit
  def f(*a):
    traces.append(1)
    return spec.fn(*a, **spec.kwargs)

  f(*_inputs(spec, seed=3))
  f(*_inputs(spec, seed=4))
  assert len(traces) == 1


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

  _check_grads_rev2(cube_with(lambda x: 3 * x**2), x, eps=1e-4)
  with pytest.raises(AssertionError, match="order 1"):
    _check_grads_rev2(cube_with(lambda x: 3.01 * x**2), x, eps=1e-4)
  # Right first derivative, but its own derivative is lost.
  with pytest.raises(AssertionError, match="order 2"):
    _check_grads_rev2(
      cube_with(lambda x: 3 * jax.lax.stop_gradient(x) ** 2), x, eps=1e-4
    )
