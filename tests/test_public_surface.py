"""The public surface: lazy submodules, the Flax modules' ``__all__``,
helpers either exported with docs or private, and batch-level losses on the
shared call of the loss objects."""

from __future__ import annotations

import ast
import inspect
import math
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
from jaxloss._src import objects
from jaxloss._src.losses import adaptive
from jaxloss._src.losses import margin_softmax

ROOT = pathlib.Path(__file__).resolve().parent.parent

# ------------------------------------------------------- lazy submodules

_LAZY = """
import sys
import jaxloss
print("after import:", sorted(
    m for m in ("keras", "flax", "optax", "jaxloss.optax", "jaxloss.flax",
                "jaxloss.keras") if m in sys.modules))
import jax.numpy as jnp
v = jaxloss.optax.softmax_cross_entropy(jnp.zeros((2, 3)), jnp.ones((2, 3)) / 3)
print("optax:", [round(float(x), 5) for x in v])
import importlib.util
if importlib.util.find_spec("flax") is not None:
  print("flax:", jaxloss.flax.linen.LossModule.__name__, "keras" in sys.modules)
else:
  print("flax: LossModule False")  # the extra is not installed here
if importlib.util.find_spec("keras") is not None:
  print("keras:", jaxloss.keras.Huber.__name__)
else:
  print("keras: Huber")
try:
  jaxloss.not_a_submodule
except AttributeError as e:
  print("error:", e)
"""


def test_submodules_are_lazy_and_optional_extras_stay_unimported():
  out = subprocess.run(
    [sys.executable, "-c", _LAZY],
    capture_output=True,
    text=True,
    timeout=240,
    cwd=ROOT,
    env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PATH": ""},
  )
  assert out.returncode == 0, out.stderr
  lines = out.stdout.splitlines()
  # `import jaxloss` imports neither the optax forms nor an optional extra.
  assert lines[0] == "after import: []"
  # log(3) per row: the uniform target on zero logits.
  assert lines[1] == "optax: [1.09861, 1.09861]"
  assert lines[2] == "flax: LossModule False"  # flax does not pull in keras
  assert lines[3] == "keras: Huber"
  assert "has no attribute 'not_a_submodule'" in lines[4]


_IMPORT_COST = """
import logging, sys
import jax
events = []
class Catch(logging.Handler):
  def emit(self, record):
    message = record.getMessage()
    if any(w in message for w in ("tracing", "ompil", "backend")):
      events.append(message)
logging.getLogger("jax").addHandler(Catch())
logging.getLogger("jax").setLevel(logging.DEBUG)
jax.config.update("jax_log_compiles", True)
before = set(sys.modules)
import jaxloss
new = set(sys.modules) - before
print("heavy:", sorted(m for m in new if m in (
    "jax.experimental.checkify", "jax.scipy.special", "jax.scipy")))
print("jax events:", events)
print("arrays:", len(jax.live_arrays()))
"""


def test_import_computes_and_compiles_nothing():
  # `import jaxloss` on top of `import jax` traces, compiles and creates
  # nothing: no jax tracing or compilation is logged, no backend is even
  # initialised (so no array can have been made; none is alive after),
  # and none of the jax modules only a few losses need (checkify for
  # `checked`, jax.scipy.special for one formula) is imported: they load on
  # first use. The import time is recorded in docs/performance.md
  # (benchmarks/import_time.py measures it).
  out = subprocess.run(
    [sys.executable, "-c", _IMPORT_COST],
    capture_output=True,
    text=True,
    timeout=240,
    cwd=ROOT,
    env={"JAX_PLATFORMS": "cpu", "PATH": ""},
  )
  assert out.returncode == 0, out.stderr
  lines = out.stdout.splitlines()
  assert lines == ["heavy: []", "jax events: []", "arrays: 0"], out.stdout


# ------------------------------------------------ Flax modules' __all__


def _flax_modules():
  pytest.importorskip("flax")
  from jaxloss.flax import linen  # noqa: PLC0415
  from jaxloss.flax import nnx  # noqa: PLC0415

  return {"linen": linen, "nnx": nnx}


@pytest.mark.parametrize("kind", ["linen", "nnx"])
def test_flax_all_lists_every_public_class_and_nothing_else(kind):
  module = _flax_modules()[kind]
  names = module.__all__
  assert len(names) == len(set(names)), "duplicates in __all__"
  public_classes = {
    n
    for n in dir(module)
    if not n.startswith("_")
    and isinstance(getattr(module, n), type)
    and getattr(module, n).__module__ == module.__name__
  }
  # Every class the adapter defines (heads, LossModule) is listed, and every
  # listed name exists and is public; the deprecated per-loss forms are not.
  assert public_classes <= set(names)
  for n in names:
    assert not n.startswith("_"), n
    assert getattr(module, n) is not None
  assert {"LossModule", "ArcFaceHead", "add_loss"} <= set(names)
  assert not {"Huber", "CoxPH", "ArcFace"} & set(names)
  namespace: dict = {}
  exec(f"from jaxloss.flax.{kind} import *", namespace)
  assert set(names) <= set(namespace) and "Huber" not in namespace


# ---------------------------------------------- helpers: public or private


def test_margin_softmax_helpers_are_documented_exports():
  for name in ("arcface_logits", "cosface_logits", "class_cosines"):
    fn = getattr(jaxloss, name)
    assert name in jaxloss.__all__
    assert fn is getattr(margin_softmax, name)
    doc = inspect.getdoc(fn) or ""
    assert ">>> import jaxloss" in doc and f"jaxloss.{name}(" in doc, name


def test_arcface_is_cross_entropy_on_its_logits():
  # The public logits feed the documented formula of the loss:
  # arcface = -log_softmax(arcface_logits)[y] (Deng et al. 2019, eq. 3).
  rng = np.random.default_rng(0)
  y = np.array([0, 2, 1])
  emb = rng.normal(size=(3, 4))
  cen = rng.normal(size=(3, 4))
  for logits_fn, loss_fn in (
    (jaxloss.arcface_logits, jaxloss.arcface),
    (jaxloss.cosface_logits, jaxloss.cosface),
  ):
    z = np.asarray(logits_fn(y, emb, cen, scale=4.0, margin=0.3), np.float64)
    logp = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    want = -logp[np.arange(3), y]
    got = loss_fn(y, emb, cen, scale=4.0, margin=0.3)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_path_name_is_private_with_a_deprecated_alias():
  from jaxloss._src import tree_paths  # noqa: PLC0415

  assert "path_name" not in jaxloss.regularizers.__all__
  with pytest.warns(DeprecationWarning, match="path_name is deprecated"):
    old = jaxloss.regularizers.path_name
  assert old is tree_paths.path_name
  path = jax.tree_util.tree_flatten_with_path({"params": {"w": [0.0, 1.0]}})
  assert [tree_paths.path_name(p) for p, _ in path[0]] == [
    "params/w/0",
    "params/w/1",
  ]
  with pytest.raises(AttributeError, match="no attribute 'nope'"):
    jaxloss.regularizers.nope  # noqa: B018


def test_path_name_has_one_home():
  # Only the module that owns the idea defines it; the others import it.
  defined = []
  for py in (ROOT / "jaxloss").rglob("*.py"):
    tree = ast.parse(py.read_text())
    defined += [
      py.name
      for node in tree.body
      if isinstance(node, ast.FunctionDef) and node.name == "path_name"
    ]
  assert defined == ["tree_paths.py"]


def test_robust_latents_and_parameters_invert_each_other():
  # (Formerly doctests that imported from the private package.)
  # sigmoid(0) = 1/2 -> alpha = 1 on [0, 2]; softplus(0) = log 2.
  a, c = adaptive.robust_parameters(
    0.0, 0.0, alpha_lo=0.0, alpha_hi=2.0, scale_lo=0.0
  )
  assert float(a) == 1.0
  assert math.isclose(float(c), math.log(2.0), rel_tol=1e-6)
  # softplus^-1(1) = log(e - 1) = 0.5413248546129181.
  la, ls = adaptive.robust_latents(
    1.0, 1.0, alpha_lo=0.0, alpha_hi=2.0, scale_lo=0.0
  )
  assert la == 0.0 and math.isclose(ls, math.log(math.e - 1.0), rel_tol=1e-12)
  a, c = adaptive.robust_parameters(la, ls, alpha_lo=0.0, alpha_hi=2.0)
  assert math.isclose(float(a), 1.0, rel_tol=1e-6)


def test_no_user_facing_example_imports_the_private_package():
  bad = []
  # Doctests of every module (source text, so optional extras count too).
  for py in (ROOT / "jaxloss").rglob("*.py"):
    for line in py.read_text().splitlines():
      s = line.strip()
      if s.startswith((">>>", "...")) and "_src" in s:
        bad.append(f"{py.relative_to(ROOT)}: {s}")
  # The README, the docs pages and the examples.
  pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
  pages += list((ROOT / "examples").rglob("*.py"))
  for page in pages:
    for line in page.read_text().splitlines():
      if "from jaxloss._src" in line or "import jaxloss._src" in line:
        bad.append(f"{page.relative_to(ROOT)}: {line.strip()}")
  assert not bad, "\n".join(bad)


# ------------------------------------------------------------- CoxPH


def test_cox_uses_the_shared_batch_level_call():
  assert "__call__" not in vars(jaxloss.CoxPH)
  assert jaxloss.CoxPH.__call__ is objects.Loss.__call__
  assert jaxloss.CoxPH.batch_level
  assert jaxloss.CoxPH.keyword_inputs == ("strata",)
  assert "strata" not in jaxloss.CoxPH.hyper_parameter_names()
  t, e, eta = [1.0, 2.0, 3.0], [1, 0, 1], [0.2, -0.4, 0.1]
  loss = jaxloss.CoxPH()
  value = jaxloss.cox_ph(t, e, eta)
  # A scalar weight scales the batch's value (the shared rule).
  np.testing.assert_allclose(loss(t, e, eta, sample_weight=2.0), 2 * value)
  for reduction in ("sum", "none", "mean_with_sample_weight"):
    got = jaxloss.CoxPH(reduction=reduction)(t, e, eta)
    np.testing.assert_allclose(got, value, rtol=1e-6)
  np.testing.assert_allclose(
    loss.values(t, e, eta, strata=[0, 1, 0]),
    jaxloss.cox_ph(t, e, eta, strata=[0, 1, 0]),
  )
  with pytest.raises(TypeError, match=r"CoxPH: keyword inputs must be one of"):
    loss(t, e, eta, stratum=[0, 1, 0])
  with pytest.raises(TypeError, match=r"Huber: keyword inputs must be none"):
    jaxloss.Huber()([0.0], [1.0], strata=[0])


def test_cox_strata_under_jit_and_grad():
  t = jnp.array([1.0, 2.0, 3.0, 4.0])
  e = jnp.array([1, 1, 0, 1])
  s = jnp.array([0, 1, 0, 1])
  loss = jaxloss.CoxPH(ties="efron")
  f = jax.jit(lambda r: loss(t, e, r, strata=s))
  r = jnp.array([0.3, -0.2, 0.1, 0.5])
  np.testing.assert_allclose(
    f(r), jaxloss.cox_ph(t, e, r, ties="efron", strata=s), rtol=1e-6
  )
  g = jax.grad(f)(r)
  assert np.all(np.isfinite(g))


def test_batch_level_losses_reject_a_normalizer():
  labels = np.array([0, 0, 1, 1])
  emb = np.random.default_rng(0).normal(size=(4, 3))
  with pytest.raises(
    ValueError,
    match=r"TripletSemiHardLoss: normalizer must be None for this "
    r"batch-level loss",
  ):
    jaxloss.TripletSemiHardLoss()(labels, emb, normalizer=4.0)
  # A per-sample loss keeps its normalizer.
  got = jaxloss.Huber(reduction="mean")(
    [[0.0], [0.0]], [[1.0], [1.0]], normalizer=4.0
  )
  np.testing.assert_allclose(got, 0.25)  # (0.5 + 0.5) / 4


def test_flax_forms_pass_keyword_inputs_on():
  mods = _flax_modules()
  t, e, eta = [1.0, 2.0, 3.0], [1, 0, 1], [0.2, -0.4, 0.1]
  want = jaxloss.cox_ph(t, e, eta, strata=[0, 1, 0])
  lin = mods["linen"].LossModule(jaxloss.CoxPH())
  np.testing.assert_allclose(lin.apply({}, t, e, eta, strata=[0, 1, 0]), want)
  nx = mods["nnx"].LossModule(jaxloss.CoxPH())
  np.testing.assert_allclose(nx(t, e, eta, strata=[0, 1, 0]), want)


def test_class_cosines_reference_and_errors():
  # cos = <u, v> of L2-normalised rows (NumPy formula), clipped to [-1, 1].
  rng = np.random.default_rng(1)
  emb, cen = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
  u = emb / np.linalg.norm(emb, axis=1, keepdims=True)
  v = cen / np.linalg.norm(cen, axis=1, keepdims=True)
  np.testing.assert_allclose(
    jaxloss.class_cosines(emb, cen), u @ v.T, rtol=1e-5, atol=1e-6
  )
  with pytest.raises(TypeError, match="class_cosines: y_pred must have a "):
    jaxloss.class_cosines([[1, 0]], [[1.0, 0.0]])
  with pytest.raises(ValueError, match=r"class_cosines: centers must be \["):
    jaxloss.class_cosines([[1.0, 0.0, 0.0]], [[1.0, 0.0]])
  with pytest.raises(ValueError, match="class_cosines: y_pred must have rank"):
    jaxloss.class_cosines([1.0, 0.0], [[1.0, 0.0]])
