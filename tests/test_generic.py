"""Generic contract tests, run on every loss spec in ``tests/specs``.

Shape contract, eager == jit, vmap == batch, reference values, reductions,
sample weights, dtypes, float64 gradient checks, finite values and gradients
at the edges, NaN propagation, no retracing, and trace-time errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.test_util import check_grads
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
  eager = _call(spec, *args)
  jitted = _jitted(spec)(*args)
  assert isinstance(eager, jax.Array)
  if spec.per_sample:
    assert eager.shape[0] == BATCH and eager.ndim == spec.value_rank
  np.testing.assert_allclose(eager, jitted, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("spec", PER_SAMPLE, ids=repr)
def test_vmap_equals_batch(spec):
  args = _inputs(spec)
  batched = _call(spec, *args)
  # vmap over the batch axis with a batch of 1 inside each mapped call.
  mapped = jax.vmap(lambda *a: _call(spec, *(x[None] for x in a))[0])(*args)
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


@pytest.mark.parametrize(
  "reduction",
  ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"],
)
@pytest.mark.parametrize("spec", WITH_CLS, ids=repr)
def test_object_reductions(spec, reduction):
  args = _inputs(spec)
  loss = spec.cls(reduction=reduction, **spec.kwargs)
  values = _call(spec, *args)
  weight = np.linspace(0.5, 2.0, values.shape[0]) if values.ndim else 2.0
  got = loss(*args, sample_weight=weight)
  where = None
  if loss.where_fn is not None:
    where = loss.where_fn(*args, values, **loss.hyper_parameters())
  want = jaxloss.reduce(
    values, sample_weight=weight, where=where, reduction=reduction
  )
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
  # Keras's positional sample_weight gives the same.
  np.testing.assert_allclose(loss(*args, weight), got, rtol=1e-6)


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
  assert got.dtype == dtype, f"{spec.name}: half in must give half out"
  want = _call(spec, *args32)
  np.testing.assert_allclose(
    np.asarray(got, np.float32), want, rtol=spec.half_rtol, atol=spec.half_rtol
  )


@pytest.mark.parametrize("spec", GRAD, ids=repr)
def test_gradients_float64(spec, x64):
  args = _inputs(spec, seed=2, batch=2, dtype=np.float64)
  diff = tuple(jnp.asarray(args[i]) for i in spec.diff_argnums)
  # Jitted: check_grads evaluates the function many times; op-by-op eager
  # dispatch would dominate the suite's run time.
  check_grads(
    jax.jit(_scalar_of(spec, args)),
    diff,
    order=2,
    modes=("rev",),
    eps=spec.grad_eps,
    atol=1e-4,
    rtol=1e-4,
  )


@pytest.mark.parametrize("spec", WITH_EDGES, ids=repr)
def test_finite_at_edges(spec):
  for case in spec.edge_inputs():
    args = tuple(jnp.asarray(a) for a in case)
    argnums = tuple(range(len(spec.diff_argnums)))
    value_and_grad = jax.jit(
      jax.value_and_grad(_scalar_of(spec, args), argnums=argnums)
    )
    value, grads = value_and_grad(*(args[i] for i in spec.diff_argnums))
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
    _call(spec, *args)


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
    _call(spec, *args)
