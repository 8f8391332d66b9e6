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

import functools
import os

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
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


@functools.cache
def _compiled(spec: Spec):
  # One jitted function per spec, compiled once per input signature: the
  # properties hold of the compiled loss (what training runs; eager == jit
  # is test_generic's contract), and compiling a program is cheaper than
  # dispatching a large loss op by op at each new shape.
  return jax.jit(functools.partial(spec.fn, **spec.kwargs))


def _call(spec: Spec, args):
  return _compiled(spec)(*args)


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
    want = jnp.dtype(dtype) if spec.half_out is None else spec.half_out
    if jnp.dtype(dtype).itemsize > 2:
      want = jnp.dtype(dtype)
    assert values.dtype == want, (context, values.dtype)
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


# ------------------------------------------------ ids outside [0, V)

# Every spec whose inputs hold class (or token) ids: (input position, V).
# The library's rule: an id outside [0, V) that is not the ignore value makes
# its value NaN (the naive gather's answer), never a clipped, wrapped or
# all-zero one-hot score; ``jaxloss.checked`` names it.
CLASS_IDS = {
  "class_balanced_loss-softmax": (0, 4),
  "class_balanced_loss-focal": (0, 4),
  "ldam_loss": (0, 4),
  "seesaw_loss": (0, 4),
  "equalization_loss_v2": (0, 4),
  "logit_adjusted_crossentropy": (0, 4),
  "sparse_categorical_crossentropy": (0, 4),
  "sparse_categorical_crossentropy-logits-ignore": (0, 4),
  "categorical_generalized_cross_entropy": (0, 4),
  "ctc": (0, 3),
  "arcface": (0, 3),
  "arcface-fixed-centres": (0, 3),
  "cosface": (0, 3),
  "cosface-fixed-centres": (0, 3),
  "center_loss": (0, 3),
  "center_loss-fixed-centres": (0, 3),
  "multi_margin": (0, 4),
  "multi_margin-p2": (0, 4),
  "multi_margin-weight": (0, 4),
  "linear_cross_entropy": (1, 7),
  "linear_cross_entropy_all_options": (1, 7),
  "topk_distillation": (2, 7),
  "symmetric_crossentropy": (0, 4),
  "taylor_crossentropy": (0, 4),
  "active_passive_loss-nce-rce": (0, 4),
  "active_passive_loss-nfl-mae": (0, 4),
  "lovasz_softmax": (0, 4),
  "lovasz_softmax-per-image-all": (0, 4),
  "discrete_survival_nll": (0, 4),
  "rnnt_loss": (1, 5),
  "proxy_nca": (0, 3),
  "proxy_nca-fixed-centres": (0, 3),
  "proxy_anchor": (0, 3),
  "soft_triple": (0, 3),
  "soft_triple-fixed-centres": (0, 3),
  "subcenter_arcface": (0, 3),
  "subcenter_arcface-fixed-centres": (0, 3),
  "large_margin_softmax": (0, 3),
  "large_margin_softmax-fixed-centres": (0, 3),
  "sphereface": (0, 3),
  "sphereface-fixed-centres": (0, 3),
  "normalized_softmax": (0, 3),
  "normalized_softmax-fixed-centres": (0, 3),
  "margin_loss-per-class": (0, 4),
  "coca_loss": (3, 6),
  "load_balancing_loss": (1, 5),
  "sequence_load_balancing_loss": (1, 5),
  "linear_cross_entropy_dft": (1, 9),
  "multi_token_prediction_loss": (1, 9),
  "topk_distillation_tail": (2, 7),
}
# Integer inputs that are not ids into a set of classes, and why.
NOT_CLASS_IDS = {
  # identities compared for equality only (any integer is a label)
  "triplet_semihard_loss": "labels are identities",
  "triplet_semihard_loss-angular": "labels are identities",
  "triplet_hard_loss-soft": "labels are identities",
  "triplet_hard_loss-squared": "labels are identities",
  "lifted_struct_loss": "labels are identities",
  "npairs_loss": "labels are identities",
  "supervised_contrastive": "labels are identities",
  "circle": "labels are identities",
  "z_loss": "y_true is unused",
  "cox_ph-efron-strata": "strata are identities",
  "rnnt_loss_from_log_probs": "lengths only (labels enter as log-probs)",
  # identities compared for equality only (metric learning, issue 27)
  "multi_similarity": "labels are identities",
  "margin_loss": "labels are identities (a scalar beta; per class above)",
  "tuplet_margin": "labels are identities",
  "fast_ap": "labels are identities",
  "circle-stop-weight-gradient": "labels are identities",
  # lengths, not ids
  "dpo_sigmoid_norm": "sequence lengths",
  "dpo_ipo_lengths": "sequence lengths",
  "rnnt_loss-fastemit-clamp": "covered by rnnt_loss's entry (same kernel)",
  # statistics of the logits alone: the label enters only as the ignore mask
  "linear_cross_entropy_lse": "the log-sum-exp does not read the label",
}


def _integer_inputs(spec):
  args = spec.make_inputs(np.random.default_rng(0), 3)
  return [
    i for i, a in enumerate(args) if np.issubdtype(np.asarray(a).dtype, int)
  ]


def test_every_id_taking_spec_is_listed():
  unlisted = [
    s.name
    for s in SPECS
    if _integer_inputs(s)
    and s.name not in CLASS_IDS
    and s.name not in NOT_CLASS_IDS
  ]
  assert not unlisted, f"specs with integer inputs, unclassified: {unlisted}"


def _checked_form(spec: Spec):
  """The checked wrapper of the spec's loss: its class or its function."""
  if spec.cls is not None:
    return jaxloss.checked(spec.cls(**spec.kwargs, reduction="none"))
  return jaxloss.checked(functools.partial(spec.fn, **spec.kwargs))


ID_SPECS = [s for s in SPECS if s.name in CLASS_IDS]


@pytest.mark.parametrize("bad", ["V", "-1", "-V"])
@pytest.mark.parametrize("spec", ID_SPECS, ids=repr)
def test_ids_outside_range_give_nan(spec, bad):
  pos, num_classes = CLASS_IDS[spec.name]
  args = list(_make(spec, 0, 3))
  ids = np.array(args[pos], copy=True)
  assert ids.max() < num_classes, "CLASS_IDS names the wrong V"
  ids.reshape(-1)[0] = {"V": num_classes, "-1": -1, "-V": -num_classes}[bad]
  ignore = spec.kwargs.get("ignore_index")
  if ids.reshape(-1)[0] == ignore:
    ids.reshape(-1)[0] = -num_classes - 1
  args[pos] = ids
  # Compiled, where XLA may rewrite a one-hot product into a select (which
  # drops a NaN placed in the logits), and op by op in the checked form.
  _assert_first_sample_nan(spec, _call(spec, args))
  if spec.fn.__module__.startswith("tests."):
    return  # a test wrapper: the LM forms' checked test is in test_debug.py
  error, values = _checked_form(spec)(*args)
  _assert_first_sample_nan(spec, values)
  message = error.get()
  assert message is not None and "class ids in [0," in message, message


def _assert_first_sample_nan(spec: Spec, values):
  values = np.asarray(values)
  if spec.per_sample:
    assert np.isnan(values.reshape(values.shape[0], -1)[0]).all(), values
    assert np.isfinite(values.reshape(values.shape[0], -1)[1:]).all(), values
  else:
    assert np.isnan(values).any(), values
