"""Property-based contracts over the whole test registry (hypothesis).

For every loss spec in ``tests/specs``: random valid batch sizes, seeds and
dtypes give finite values of the promised shape and dtype; a NaN placed
anywhere in a differentiated input reaches the output (in its own sample
for per-sample losses) unless that entry is masked out (it does not move
the output when changed); an empty batch gives an empty result (per-sample
losses) or an error naming the loss (batch-level ones).

Profiles (``JAXLOSS_HYPOTHESIS_PROFILE``): ``ci`` (default: derandomized,
a few examples per loss, a few minutes on 2 cores) and ``local`` (many more
examples, randomized: run it before a release or after touching a kernel).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.specs import Spec
from tests.specs import all_specs

settings.register_profile(
  "ci",
  max_examples=2,
  derandomize=True,
  deadline=None,
  database=None,
  suppress_health_check=[
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
  ],
)
settings.register_profile(
  "local",
  max_examples=60,
  deadline=None,
  suppress_health_check=[
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
  ],
)
PROFILE = os.environ.get("JAXLOSS_HYPOTHESIS_PROFILE", "ci")
PROFILE_SETTINGS = settings.get_profile(PROFILE)

SPECS = all_specs()
PER_SAMPLE = [s for s in SPECS if s.per_sample]
FLOATS = {"float32": np.float32, "float16": np.float16}


def _make(spec: Spec, seed: int, batch: int, dtype=np.float32):
  rng = np.random.default_rng(seed)
  return tuple(
    np.asarray(x, dtype)
    if np.issubdtype(np.asarray(x).dtype, np.floating)
    else np.asarray(x)
    for x in spec.make_inputs(rng, batch)
  )


def _call(spec: Spec, args):
  return spec.fn(*args, **spec.kwargs)


def _live(spec: Spec, args, i: int, flat: int, clean) -> bool:
  """Whether input ``i``'s entry ``flat`` influences the values: masked or
  ignored entries (a ``where`` mask, ``ignore_class``, padding) do not, and
  a NaN there may stay there."""
  for delta in (3.0, -7.0):
    moved = list(args)
    x = np.array(args[i], copy=True)
    x.reshape(-1)[flat] += delta
    moved[i] = x
    if not np.array_equal(np.asarray(_call(spec, moved)), clean):
      return True
  return False


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_random_inputs_finite_values_and_nan_propagation(spec):
  """Random batch sizes, seeds and dtypes: finite values of the promised
  shape and dtype; then a NaN at a random entry of a differentiated input
  reaches the output (its own sample for per-sample losses) whenever that
  entry influences the output at all."""

  @PROFILE_SETTINGS
  @given(
    batch=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
    dtype=st.sampled_from(sorted(FLOATS)),
    which=st.integers(0, 2**16),
    where=st.integers(0, 2**31 - 1),
  )
  def check(batch, seed, dtype, which, where):
    args = _make(spec, seed, batch, FLOATS[dtype])
    context = f"{spec.name}: batch={batch}, seed={seed}, dtype={dtype}"
    values = _call(spec, args)
    assert isinstance(values, jax.Array), context
    assert values.dtype == jnp.dtype(dtype), (context, values.dtype)
    if spec.per_sample:
      assert values.ndim == spec.value_rank, context
      assert values.shape[0] == batch, context
    clean = np.asarray(values, np.float32)
    assert np.all(np.isfinite(clean)), f"{context}: non-finite {clean}"

    args = _make(spec, seed, batch)  # float32 for the NaN property
    clean = np.asarray(_call(spec, args))
    i = spec.diff_argnums[which % len(spec.diff_argnums)]
    poisoned = np.array(args[i], copy=True)
    flat = where % poisoned.size
    poisoned.reshape(-1)[flat] = np.nan
    nan_args = list(args)
    nan_args[i] = poisoned
    got = np.asarray(_call(spec, nan_args))
    if not _live(spec, args, i, flat, clean):
      return
    context += f", NaN at input {i}, flat index {flat} of {poisoned.shape}"
    sample = np.unravel_index(flat, poisoned.shape)[0]
    if spec.per_sample and poisoned.shape[0] == batch:
      assert np.isnan(got[sample]).any(), f"{context}: the NaN vanished"
    else:
      assert np.isnan(got).any(), f"{context}: the NaN vanished"

  check()


def _empty_inputs(spec: Spec):
  try:
    return _make(spec, 0, 0)
  except (ZeroDivisionError, ValueError, IndexError):
    # Input makers that divide by the batch size or set their first sample:
    # slice a batch of 2.
    return tuple(x[:0] for x in _make(spec, 0, 2))


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_empty_batch(spec):
  args = _empty_inputs(spec)
  if spec.per_sample:
    values = _call(spec, args)
    assert values.shape[0] == 0 and values.ndim == spec.value_rank
    return
  try:
    values = _call(spec, args)
  except ValueError as e:
    assert str(e).startswith(f"{spec.fn.__name__}: "), str(e)
    assert "empty batch" in str(e) or "at least one" in str(e), str(e)
  else:
    assert np.all(np.isfinite(np.asarray(values))), (
      f"{spec.name}: an empty batch gave {values}"
    )
