"""``jaxloss.testing``: planted bugs are caught, each by its contract;
correct losses of every kind pass; the pytest helper; import costs."""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss import testing
from tests.optional import require

# The Flax module cases need the flax extra (the whole module skips without).
nn = require("flax.linen")

RNG = np.random.default_rng(0)
Y = RNG.normal(size=(4, 5)).astype(np.float32)
P = RNG.normal(size=(4, 5)).astype(np.float32)


def _failed(report: testing.Report) -> list[str]:
  return [r.name for r in report.failures]


# ------------------------------------------------------------ planted bugs


def _cube_with(factor):
  """``sum((p - y)^3)`` per sample, with a hand-written VJP."""

  @jax.custom_vjp
  def cube(y_true, y_pred):
    return jnp.sum((y_pred - y_true) ** 3, axis=-1)

  def fwd(y_true, y_pred):
    return cube(y_true, y_pred), (y_true, y_pred)

  def bwd(res, g):
    y_true, y_pred = res
    d = factor * (y_pred - y_true) ** 2 * g[:, None]
    return -d, d

  cube.defvjp(fwd, bwd)
  return cube


def test_wrong_custom_vjp_is_caught_by_gradient():
  assert testing.check_loss(_cube_with(3.0), Y, P).passed
  report = testing.check_loss(_cube_with(3.3), Y, P)  # 10% off
  assert _failed(report) == ["gradient"]
  assert "ratio 1.1" in report["gradient"].message


def test_gradient_nan_at_zero_is_caught_by_edges():
  def distance(y_true, y_pred):  # sqrt of a squared norm: NaN gradient at 0
    return jnp.sqrt(jnp.sum((y_true - y_pred) ** 2, axis=-1))

  report = testing.check_loss(distance, Y, P)
  assert _failed(report) == ["edges"]
  assert report["edges"].input == "y_pred equal to y_true"
  assert "non-finite gradient in argument 1" in report["edges"].message

  def norm(x):  # one input of kind "vectors": the zero vectors edge
    return jnp.sqrt(jnp.sum(x**2, axis=-1))

  report = testing.check_loss(norm, P, kinds={0: "vectors"})
  assert _failed(report) == ["edges"]
  assert report["edges"].input == "x zero vectors"
  # The safe norm passes.
  assert testing.check_loss(
    lambda x: jaxloss._src.numerics.safe_norm(x), P, kinds={0: "vectors"}
  ).passed


def test_eager_jit_difference_is_caught_by_jit():
  def eager_only_scale(y_true, y_pred):
    # Reads the prediction's values when it can: eagerly a data-dependent
    # scale, under jit a constant.
    try:
      scale = 1.0 + float(np.min(np.abs(y_pred)))
    except jax.errors.TracerArrayConversionError:
      scale = 1.0
    return scale * jnp.mean((y_true - y_pred) ** 2, axis=-1)

  report = testing.check_loss(eager_only_scale, Y, P)
  assert "jit" in _failed(report)
  assert report["jit"].input == "example inputs (jit vs eager)"


def test_python_branch_on_values_is_not_jit_safe():
  def clipped(y_true, y_pred):
    err = (y_true - y_pred) ** 2
    if jnp.max(err) > 1.0:
      err = jnp.minimum(err, 1.0)
    return jnp.mean(err, axis=-1)

  report = testing.check_loss(clipped, Y, P)
  assert _failed(report) == ["jit"]
  assert "not jit-safe" in report["jit"].message
  assert "TracerBoolConversionError" in report["jit"].message
  assert report["gradient"].status == "skip"


def test_batch_reduction_is_caught_by_vmap():
  def normalised(y_true, y_pred):  # divides by the batch mean
    e = jnp.mean((y_true - y_pred) ** 2, axis=-1)
    return e / jnp.mean(e)

  report = testing.check_loss(normalised, Y, P, implied=False)
  assert _failed(report) == ["vmap"]
  assert "reduces over the batch axis" in report["vmap"].message

  def scalar(y_true, y_pred):  # reduces the batch: one value per batch
    return jnp.mean((y_true - y_pred) ** 2)

  assert testing.check_loss(scalar, Y, P)["vmap"].status == "skip"
  report = testing.check_loss(scalar, Y, P, per_sample=True, contracts=["vmap"])
  assert "a batch of 4 gave values of shape ()" in report["vmap"].message


def test_nan_turned_into_zero_is_caught_by_nan():
  def zeroed(y_true, y_pred):
    return jnp.nan_to_num(jnp.mean((y_true - y_pred) ** 2, axis=-1))

  report = testing.check_loss(zeroed, Y, P)
  assert _failed(report) == ["nan"]
  assert report["nan"].input == "the first sample of argument(s) (1,) NaN"
  assert np.isnan(report["nan"].inputs[1][0]).all()


def test_saturated_logits_and_all_masked_edges():
  labels = np.eye(5)[[0, 1, 2, 3]]

  def naive_ce(y_true, logits):  # log(softmax(x)): -inf at saturation
    return -jnp.sum(y_true * jnp.log(jax.nn.softmax(logits)), axis=-1)

  report = testing.check_loss(naive_ce, labels, P, kinds={1: "logits"})
  assert _failed(report) == ["edges"]
  assert report["edges"].input == "logits saturated (+-10000)"
  good = testing.check_loss(
    jaxloss.categorical_crossentropy,
    labels,
    P,
    kinds={1: "logits"},
    skip=("gradient",),
  )
  assert good.passed, good

  def masked_mean(y_true, y_pred, mask):  # 0/0 when every entry is masked
    e = jnp.where(mask, (y_true - y_pred) ** 2, 0.0)
    return jnp.sum(e, axis=-1) / jnp.sum(mask, axis=-1)

  mask = RNG.uniform(size=Y.shape) < 0.8
  mask[:, 0] = True
  report = testing.check_loss(masked_mean, Y, P, mask, implied=True)
  assert report["edges"].input == "mask all False (all masked)"


def test_strict_raises_a_readable_message():
  def zeroed(y_true, y_pred):
    return jnp.nan_to_num(jnp.mean((y_true - y_pred) ** 2, axis=-1))

  with pytest.raises(testing.LossContractError) as info:
    testing.check_loss(zeroed, Y, P, strict=True, contracts=("nan", "jit"))
  text = str(info.value)
  assert text.startswith("check_loss(zeroed): 1 of 2 contracts failed")
  assert "FAIL nan" in text and "PASS jit" in text


# ---------------------------------------------------- every kind of loss


class _ScaledL2(nn.Module):
  """A linen loss with a learnable per-feature scale."""

  @nn.compact
  def __call__(self, y_true, y_pred):
    scale = self.param("scale", nn.initializers.ones, (y_pred.shape[-1],))
    return jnp.mean(scale[None] * (y_true - y_pred) ** 2)


def test_correct_losses_of_every_kind_pass():
  def cubic(y_true, y_pred, *, scale=1.0):
    return scale * jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)

  losses = {
    "function": jaxloss.huber,
    "object": jaxloss.Huber(delta=0.5, reduction="sum"),
    "wrap": jaxloss.wrap(cubic, scale=2.0),
    "custom_vjp": _cube_with(3.0),
    "linen loss module": jaxloss.flax.linen.LossModule(jaxloss.LogCosh()),
    "nnx loss module": jaxloss.flax.nnx.LossModule(jaxloss.Huber(delta=2.0)),
    "linen module with parameters": _ScaledL2(),
  }
  for kind, loss in losses.items():
    # The module's float32 parameter promotes half inputs: not a jaxloss
    # dtype-policy loss, so that contract is skipped.
    skip = ("half_precision",) if kind.endswith("parameters") else ()
    order = 2 if kind == "custom_vjp" else 1  # reverse over its bwd
    report = testing.check_loss(loss, Y, P, order=order, skip=skip)
    assert report.passed, f"{kind}: {report}"
  assert report["vmap"].status == "skip"  # the linen module's scalar
  # Reductions are checked where a loss object holds them.
  assert testing.check_loss(losses["wrap"], Y, P)["reduction"].status == "pass"


def test_integer_labels_and_declared_arguments():
  labels = RNG.integers(0, 5, size=4)
  report = testing.check_loss(
    jaxloss.SparseCategoricalCrossentropy(from_logits=True),
    labels,
    P,
    kinds={1: "logits"},
  )
  assert report.passed, report
  with pytest.raises(ValueError, match="diff_argnums must name floating"):
    testing.check_loss(
      jaxloss.sparse_categorical_crossentropy, labels, P, diff_argnums=(0,)
    )
  with pytest.raises(ValueError, match="contracts must be among"):
    testing.check_loss(jaxloss.huber, Y, P, skip=("speed",))


# ------------------------------------------------------------ pytest helper


def _zeroed(y_true, y_pred):
  return jnp.nan_to_num(jnp.mean((y_true - y_pred) ** 2, axis=-1))


test_user_losses = testing.loss_contracts(
  huber=testing.case(jaxloss.huber, Y, P, contracts=("jit", "gradient")),
  mse_object=testing.case(jaxloss.MeanSquaredError(), Y, P, skip=("edges",)),
)


def test_loss_contracts_makes_one_test_per_contract(pytester=None):
  fn = testing.loss_contracts(
    zeroed=testing.case(_zeroed, Y, P, contracts=("nan", "reduction"))
  )
  marks = fn.pytestmark[0]
  assert marks.args[0] == ("loss_name", "contract")
  assert marks.kwargs["ids"] == ["zeroed-nan", "zeroed-reduction"]
  with pytest.raises(AssertionError, match="zeroed: FAIL nan"):
    fn("zeroed", "nan")
  with pytest.raises(pytest.skip.Exception, match="plain function"):
    fn("zeroed", "reduction")


def test_import_stays_cheap():
  code = (
    "import sys, jaxloss; a = 'jaxloss.testing' in sys.modules; "
    "import jaxloss.testing; print(a, 'pytest' in sys.modules)"
  )
  out = subprocess.run(
    [sys.executable, "-c", code], capture_output=True, text=True, check=True
  )
  assert out.stdout.split() == ["False", "False"]
