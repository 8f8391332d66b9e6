"""Every script in examples/ runs at toy size and learns something."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _example(name):
  sys.path.insert(0, str(ROOT))
  try:
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses (linen modules) look it up
    spec.loader.exec_module(module)
  finally:
    sys.path.remove(str(ROOT))
  return module


@pytest.mark.parametrize(
  "name", ["activity_regularization_linen", "activity_regularization_nnx"]
)
def test_activity_regularization(name):
  out = _example(name).main(steps=20, hidden=8)
  assert out["traces"] == 1
  assert out["last_loss"] < out["first_loss"]
  assert out["aux"] > 0


def test_activity_regularization_linen_equals_nnx_term():
  # Same data, same kind of layer: the aux term is rate * sum(relu(xW+b)^2)
  # in both; checked by hand on the linen model.
  lin = _example("activity_regularization_linen")
  import jax
  import jax.numpy as jnp

  from jaxloss.flax import linen as jl

  x, _ = lin.make_data(0, n=8)
  model = lin.MLP(hidden=4, rate=0.5)
  params = model.init(jax.random.key(0), x)["params"]
  _, aux = jl.apply_with_losses(model, {"params": params}, x)
  h = x
  want = 0.0
  for layer in ("ActivityRegularizedDense_0", "ActivityRegularizedDense_1"):
    p = params[layer]["Dense_0"]
    h = np.maximum(
      np.asarray(h) @ np.asarray(p["kernel"]) + np.asarray(p["bias"]), 0
    )
    want += 0.5 * np.sum(h.astype(np.float64) ** 2)
  np.testing.assert_allclose(aux, want, rtol=1e-5)
  assert jnp.ndim(aux) == 0


def test_multitask_uncertainty():
  out = _example("multitask_uncertainty").main(steps=30)
  assert out["last_loss"] < out["first_loss"]
  assert np.all(np.isfinite(out["log_variances"]))
  assert np.any(out["log_variances"] != 0)  # the weights were learned


def test_ensemble_vmap():
  out = _example("ensemble_vmap").main(members=8, steps=30)
  assert out["traces"] == 1
  assert out["last_losses"].shape == (8,)
  assert np.all(out["last_losses"] < out["first_losses"])


def test_arcface_digits():
  out = _example("arcface_digits").main(steps=40, batch=64, n_train=400)
  assert out["last_loss"] < out["first_loss"]
  assert out["test_accuracy"] > 0.5  # 10 classes: chance is 0.1


def test_proxy_heads_digits():
  """Learnable proxies (linen Proxy-Anchor, nnx SoftTriple) raise the
  held-out retrieval recall@1 of the embeddings."""
  out = _example("proxy_heads_digits").main(steps=60, batch=64, n_train=400)
  for name, recall in out.items():
    assert recall["recall_after"] > recall["recall_before"] + 0.03, name
