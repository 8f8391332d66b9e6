"""Parity with Keras 3.15.1 (JAX backend) for the 22 Keras losses.

Every case compares the per-sample function and the loss object of jaxloss
with ``keras.losses`` of the same name: values, and gradients with respect to
``y_pred`` (``jax.grad`` runs through Keras's ops on the JAX backend), to
float32 precision, for every option Keras offers. The deliberate differences
are tested as differences at the end of the module; each is documented in the
docstring of the jaxloss function concerned.

Reference: keras==3.15.1, ``keras.losses`` and
``keras.src.losses.loss.reduce_weighted_values``, KERAS_BACKEND=jax.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
  pytest.skip("Keras parity needs KERAS_BACKEND=jax", allow_module_level=True)

from keras.src.losses import ALL_OBJECTS_DICT  # noqa: E402
from keras.src.losses.loss import reduce_weighted_values  # noqa: E402

import jaxloss  # noqa: E402

KL = keras.losses


def _keras(fn):
  """Runs a Keras callable with rank promotion allowed (Keras relies on it,
  e.g. a per-class alpha list against [B, K]); jaxloss runs under "raise"."""

  def call(*args, **kwargs):
    with jax.numpy_rank_promotion("allow"):
      return fn(*args, **kwargs)

  return call


REDUCTIONS = (
  "sum_over_batch_size",
  "sum",
  "mean",
  "mean_with_sample_weight",
  "none",
  None,
)
RTOL, ATOL = 2e-5, 1e-6  # float32 precision
GRAD_RTOL, GRAD_ATOL = 1e-4, 1e-6

CLASS_OF = {
  "mean_squared_error": "MeanSquaredError",
  "mean_absolute_error": "MeanAbsoluteError",
  "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
  "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
  "cosine_similarity": "CosineSimilarity",
  "huber": "Huber",
  "log_cosh": "LogCosh",
  "hinge": "Hinge",
  "squared_hinge": "SquaredHinge",
  "categorical_hinge": "CategoricalHinge",
  "kl_divergence": "KLDivergence",
  "poisson": "Poisson",
  "binary_crossentropy": "BinaryCrossentropy",
  "binary_focal_crossentropy": "BinaryFocalCrossentropy",
  "categorical_crossentropy": "CategoricalCrossentropy",
  "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
  "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
  "categorical_generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy",
  "dice": "Dice",
  "tversky": "Tversky",
  "circle": "Circle",
  "ctc": "CTC",
}
B, D, K = 3, 4, 4


# ----------------------------------------------------------------- inputs


def _f32(x):
  return np.asarray(x, np.float32)


def _normal(*shape, scale=1.0):
  def make(rng):
    return (_f32(rng.normal(size=shape)), _f32(rng.normal(size=shape) * scale))

  return make


def _positive(*shape):
  def make(rng):
    return (
      _f32(rng.uniform(0.1, 3.0, shape)),
      _f32(rng.uniform(0.1, 3.0, shape)),
    )

  return make


def _binary(*shape, logits=False, signed=False):
  def make(rng):
    t = rng.integers(0, 2, shape).astype(np.float32)
    if signed:
      t = 2 * t - 1
    p = rng.normal(size=shape) * 3 if logits else rng.uniform(0.05, 0.95, shape)
    return t, _f32(p)

  return make


def _categorical(*shape, axis=-1, logits=False):
  """One-hot targets along ``axis`` and probabilities or logits."""

  def make(rng):
    n = shape[axis]
    ids = rng.integers(
      0, n, [s for i, s in enumerate(shape) if i != axis % len(shape)]
    )
    t = np.moveaxis(np.eye(n, dtype=np.float32)[ids], -1, axis)
    if logits:
      p = rng.normal(size=shape) * 3
    else:
      p = rng.uniform(0.1, 1.0, shape)
      p = p / p.sum(axis, keepdims=True)
    return t, _f32(p)

  return make


def _soft_categorical(rng):
  t = rng.uniform(0.1, 1.0, (B, K))
  return _f32(t / t.sum(-1, keepdims=True)), _categorical(B, K)(rng)[1]


def _sparse(
  shape=(B,), classes=K, axis=-1, logits=False, ignore=None, trailing_one=False
):
  """Integer labels of ``shape`` and scores with a class axis at ``axis``."""

  def make(rng):
    labels = rng.integers(0, classes, shape)
    if ignore is not None:
      labels[..., 0] = ignore
    full = list(shape)
    full.insert(axis % (len(shape) + 1), classes)
    if logits:
      p = rng.normal(size=full) * 3
    else:
      p = rng.uniform(0.1, 1.0, full)
      p = p / p.sum(axis, keepdims=True)
    if trailing_one:
      labels = labels[..., None]
    return labels.astype(np.int32), _f32(p)

  return make


def _embeddings(n=6, dim=3, with_ref=False):
  def make(rng):
    e = rng.normal(size=(n, dim))
    e = _f32(e / np.linalg.norm(e, axis=-1, keepdims=True))
    labels = (np.arange(n) % 3).astype(np.int32)
    if not with_ref:
      return labels, e
    r = rng.normal(size=(n + 2, dim))
    r = _f32(r / np.linalg.norm(r, axis=-1, keepdims=True))
    ref_labels = (np.arange(n + 2) % 3).astype(np.int32)
    return labels, e, {"ref_embeddings": r, "ref_labels": ref_labels}

  return make


def _ctc(rng):
  labels = np.zeros((B, 3), np.int32)
  labels[:, 0] = rng.integers(1, K, B)
  labels[1:, 1] = rng.integers(1, K, B - 1)
  labels[2, 2] = 1
  return labels, _f32(rng.normal(size=(B, 6, K)))


def _labels_vs_column(make):
  """Labels ``[B]`` against predictions ``[B, 1]`` (Keras's expand rule)."""

  def wrapped(rng):
    t, p = make(rng)
    return t[:, 0], p

  return wrapped


def _column_vs_labels(make):
  """Labels ``[B, 1]`` against predictions ``[B]``."""

  def wrapped(rng):
    t, p = make(rng)
    return t, p[:, 0]

  return wrapped


def _squeeze_3d(make):
  """Labels ``[B, T, 1]`` against predictions ``[B, T]`` (squeeze rule)."""

  def wrapped(rng):
    t, p = make(rng)
    return t[..., None], p

  return wrapped


# ------------------------------------------------------------------ cases


@dataclasses.dataclass(frozen=True)
class Case:
  """One configuration of one loss, compared with Keras.

  Attributes:
    fn: the shared function name (keras.losses.<fn>, jaxloss.<fn>).
    make: ``rng -> (y_true, y_pred[, extra keyword arrays])``.
    kwargs: keyword arguments, the same for both libraries.
    functional: compare the functions (False where only Keras's object
      applies the squeeze/expand rule, e.g. Keras's binary_crossentropy
      function with labels ``[B]`` and predictions ``[B, 1]``).
    objects: compare the loss objects: True, False (where Keras's object
      lacks the option, e.g. ``ref_embeddings`` of Circle) or None (only
      for the first case of each loss: the functions are compared above,
      the objects add the shape rule, weights, masks and reductions).
    tag: a suffix for the test id.
  """

  fn: str
  make: Callable
  kwargs: dict = dataclasses.field(default_factory=dict)
  functional: bool = True
  objects: bool | None = None
  tag: str = ""

  def __repr__(self):
    opts = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
    return f"{self.fn}[{opts}]{self.tag}"


REGRESSION = [
  "mean_squared_error",
  "mean_absolute_error",
  "mean_absolute_percentage_error",
  "mean_squared_logarithmic_error",
  "log_cosh",
  "huber",
  "cosine_similarity",
]

CASES = [
  *(Case(f, _normal(B, D, scale=2.0)) for f in REGRESSION),
  *(
    Case(
      f,
      _squeeze_3d(_normal(B, D)),
      tag="-[B,T,1]vs[B,T]",
      objects=f == "mean_squared_error",
    )
    for f in REGRESSION[:-1]
  ),
  *(
    Case(
      f,
      _labels_vs_column(_normal(B, 1)),
      tag="-[B]vs[B,1]",
      objects=f == "mean_squared_error",
    )
    for f in REGRESSION[:-1]
  ),
  *(
    Case(
      f,
      _column_vs_labels(_normal(B, 1)),
      tag="-[B,1]vs[B]",
      objects=f == "mean_squared_error",
    )
    for f in REGRESSION[:-1]
  ),
  Case("huber", _normal(B, D, scale=2.0), {"delta": 0.3}, objects=True),
  Case("huber", _normal(B, D, scale=2.0), {"delta": 2.5}),
  Case("cosine_similarity", _normal(B, D), {"axis": 0}, objects=True),
  Case("cosine_similarity", _normal(2, 3, D), {"axis": 1}),
  Case("hinge", _binary(B, D, logits=True)),
  Case("hinge", _binary(B, D, logits=True, signed=True), tag="-signed"),
  Case(
    "hinge",
    _labels_vs_column(_binary(B, 1, logits=True)),
    functional=False,
    objects=True,
    tag="-[B]vs[B,1]",
  ),
  Case("squared_hinge", _binary(B, D, logits=True)),
  Case("squared_hinge", _binary(B, D, logits=True, signed=True), tag="-signed"),
  Case("categorical_hinge", _categorical(B, K, logits=True)),
  Case("kl_divergence", _categorical(B, K)),
  Case("kl_divergence", _soft_categorical, tag="-soft"),
  Case("poisson", _positive(B, D)),
  Case("binary_crossentropy", _binary(B, D)),
  Case("binary_crossentropy", _binary(B, D), {"label_smoothing": 0.2}),
  Case(
    "binary_crossentropy", _binary(B, D, logits=True), {"from_logits": True}
  ),
  Case(
    "binary_crossentropy",
    _binary(B, D, logits=True),
    {"from_logits": True, "label_smoothing": 0.1, "axis": 0},
  ),
  Case("binary_crossentropy", _binary(2, 3, D), {"axis": 1}),
  Case(
    "binary_crossentropy",
    _labels_vs_column(_binary(B, 1)),
    functional=False,
    objects=True,
    tag="-[B]vs[B,1]",
  ),
  Case("binary_focal_crossentropy", _binary(B, D)),
  Case(
    "binary_focal_crossentropy",
    _binary(B, D),
    {"apply_class_balancing": True, "alpha": 0.6, "gamma": 0.5},
  ),
  Case(
    "binary_focal_crossentropy",
    _binary(B, D),
    {"gamma": 0.0, "label_smoothing": 0.2},
  ),
  Case(
    "binary_focal_crossentropy",
    _binary(B, D, logits=True),
    {"from_logits": True, "gamma": 1.5},
  ),
  Case(
    "binary_focal_crossentropy",
    _binary(B, D, logits=True),
    {
      "from_logits": True,
      "apply_class_balancing": True,
      "label_smoothing": 0.1,
      "axis": 0,
    },
  ),
  Case("binary_focal_crossentropy", _binary(2, 3, D), {"axis": 1}),
  Case("categorical_crossentropy", _categorical(B, K)),
  Case("categorical_crossentropy", _soft_categorical, tag="-soft"),
  Case(
    "categorical_crossentropy", _categorical(B, K), {"label_smoothing": 0.3}
  ),
  Case(
    "categorical_crossentropy",
    _categorical(B, K, logits=True),
    {"from_logits": True, "label_smoothing": 0.1},
  ),
  Case("categorical_crossentropy", _categorical(2, K, 3, axis=1), {"axis": 1}),
  Case(
    "categorical_crossentropy",
    _categorical(2, K, 3, axis=1, logits=True),
    {"axis": 1, "from_logits": True},
  ),
  Case("categorical_focal_crossentropy", _categorical(B, K)),
  Case(
    "categorical_focal_crossentropy",
    _categorical(B, K),
    {"alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 0.5},
    objects=True,
  ),
  Case(
    "categorical_focal_crossentropy",
    _categorical(B, K),
    {"alpha": 0.7, "gamma": 0.0, "label_smoothing": 0.2},
  ),
  Case(
    "categorical_focal_crossentropy",
    _categorical(B, K, logits=True),
    {"from_logits": True, "alpha": [0.4, 0.3, 0.2, 0.1]},
  ),
  Case(
    "categorical_focal_crossentropy",
    _categorical(B, K, logits=True),
    {"from_logits": True, "gamma": 3.0, "label_smoothing": 0.1},
  ),
  Case(
    "categorical_focal_crossentropy",
    _categorical(2, K, 3, axis=1),
    {"axis": 1, "alpha": 0.5},
  ),
  Case("sparse_categorical_crossentropy", _sparse()),
  Case(
    "sparse_categorical_crossentropy",
    _sparse(trailing_one=True),
    tag="-[B,1]labels",
  ),
  Case(
    "sparse_categorical_crossentropy",
    _sparse(logits=True),
    {"from_logits": True},
  ),
  Case(
    "sparse_categorical_crossentropy",
    _sparse((2, 3), ignore=1),
    {"ignore_class": 1},
    objects=True,
  ),
  Case(
    "sparse_categorical_crossentropy",
    _sparse((2, 3), logits=True, ignore=-1),
    {"ignore_class": -1, "from_logits": True},
    objects=True,
  ),
  # Keras's JAX backend checks labels.shape == y_pred.shape[:-1] even for a
  # non-last class axis, so its non-last axis works only when K equals the
  # last size: [2, 3, 3] scores with the classes on axis 1.
  Case(
    "sparse_categorical_crossentropy",
    _sparse((2, 3), classes=3, axis=1),
    {"axis": 1},
  ),
  Case(
    "sparse_categorical_crossentropy",
    _sparse((2, 3), classes=3, axis=1, logits=True),
    {"axis": 1, "from_logits": True},
  ),
  Case("categorical_generalized_cross_entropy", _sparse(), {"q": 0.5}),
  Case("categorical_generalized_cross_entropy", _sparse(), {"q": 0.9}),
  # Keras's object rejects q = 1 (its check is q in (0, 1)); its function
  # accepts it, and so do we (q = 1 is MAE on the true-class probability).
  Case(
    "categorical_generalized_cross_entropy",
    _sparse(),
    {"q": 1.0},
    objects=False,
  ),
  Case("dice", _binary(2, 3, D)),
  Case("dice", _binary(B, D), {"axis": 1}, objects=True),
  Case("dice", _binary(2, 3, D), {"axis": (1, 2)}),
  Case("tversky", _binary(2, 3, D)),
  Case("tversky", _binary(B, D), {"alpha": 0.4, "beta": 0.4, "axis": 1}),
  Case("tversky", _binary(2, 3, D), {"axis": (1, 2)}),
  Case("circle", _embeddings()),
  Case(
    "circle",
    _embeddings(),
    {"gamma": 16.0, "margin": 0.25, "remove_diagonal": False},
  ),
  Case(
    "circle",
    _embeddings(with_ref=True),
    {"gamma": 8.0},
    objects=False,
    tag="-ref",
  ),
  Case("ctc", _ctc),
]
IDS = [repr(c) for c in CASES]
assert len({c.fn for c in CASES}) == 22


def _inputs(case, seed=0):
  out = case.make(np.random.default_rng(seed))
  t, p = out[0], out[1]
  extra = dict(out[2]) if len(out) > 2 else {}
  return (
    jnp.asarray(t),
    jnp.asarray(p),
    {k: jnp.asarray(v) for k, v in extra.items()},
  )


def _cotangent(shape):
  """A fixed, non-uniform weighting of the values for the gradient check."""
  n = int(np.prod(shape))
  return jnp.linspace(0.5, 1.5, n, dtype=jnp.float32).reshape(shape)


def _value_and_grad_traced(f, p):
  def scalar(p):
    v = f(p)
    return jnp.sum(v * _cotangent(v.shape)), v

  (_, v), g = jax.value_and_grad(scalar, has_aux=True)(p)
  return v, g


def _value_and_grad(f, p):
  """Values of ``f(p)`` and the gradient of their weighted sum, under jit
  (one compilation per case instead of many eager dispatches)."""
  v, g = jax.jit(lambda p: _value_and_grad_traced(f, p))(p)
  return np.asarray(v), np.asarray(g)


def _assert_close(got, want, what):
  got_v, got_g = got
  want_v, want_g = want
  assert got_v.shape == want_v.shape, what
  np.testing.assert_allclose(
    got_v, want_v, rtol=RTOL, atol=ATOL, err_msg=f"{what}: value"
  )
  np.testing.assert_allclose(
    got_g, want_g, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=f"{what}: gradient"
  )


def _ours(kwargs):
  """Keras's keywords in jaxloss's spelling (ignore_class -> ignore_index)."""
  kwargs = dict(kwargs)
  if "ignore_class" in kwargs:
    kwargs["ignore_index"] = kwargs.pop("ignore_class")
  return kwargs


@pytest.mark.parametrize("case", [c for c in CASES if c.functional], ids=repr)
def test_function_parity(case):
  t, p, extra = _inputs(case)
  kw = {**case.kwargs, **extra}
  ours = getattr(jaxloss, case.fn)
  theirs = _keras(getattr(KL, case.fn))
  _assert_close(
    _value_and_grad(lambda p: ours(t, p, **_ours(kw)), p),
    _value_and_grad(lambda p: theirs(t, p, **kw), p),
    case,
  )


def _sample_weight(case, t, p):
  """Weights of the values' shape (Keras needs equal ranks), or None."""
  values = getattr(jaxloss, case.fn)(t, p, **_ours(case.kwargs))
  if values.ndim == 0:
    return None  # Keras returns scalar values unreduced
  n = values.size
  return jnp.linspace(0.2, 2.0, n, dtype=jnp.float32).reshape(values.shape)


def _all_reductions(make_object, kwargs, t, weight, p, with_grad):
  """Every reduction of one object in one jit, with Keras's positional form
  ``loss(y_true, y_pred, sample_weight)``: values for all, plus (for masked
  losses) the gradient of the default reduction; the others scale it by a
  constant, and the unmasked per-sample gradients are compared above."""
  objects = [make_object(reduction=r, **kwargs) for r in REDUCTIONS]

  def run(p):
    values = [o(t, p, weight) for o in objects]
    # Without weights, "mean_with_sample_weight" divides by the size.
    values.append(objects[3](t, p))
    if not with_grad:
      return values, jnp.zeros(())
    return values, jax.grad(lambda p: objects[0](t, p, weight))(p)

  values, grad = jax.jit(run)(p)
  return [np.asarray(v) for v in values], np.asarray(grad), objects


def _object_cases():
  seen, out = set(), []
  for c in CASES:
    if c.objects or (c.objects is None and c.fn not in seen):
      out.append(c)
    seen.add(c.fn)
  return out


@pytest.mark.parametrize("case", _object_cases(), ids=repr)
def test_object_parity(case):
  t, p, _ = _inputs(case, seed=1)
  weight = _sample_weight(case, t, p)
  name = CLASS_OF[case.fn]
  masked = case.fn == "circle" or "ignore_class" in case.kwargs
  ours, our_grad, our_objects = _all_reductions(
    getattr(jaxloss, name), _ours(case.kwargs), t, weight, p, masked
  )
  theirs, their_grad, their_objects = _all_reductions(
    _keras_class(name), case.kwargs, t, weight, p, masked
  )
  for a, b in zip(our_objects, their_objects, strict=True):
    assert a.name == b.name and a.reduction == b.reduction
  for reduction, a, b in zip(
    REDUCTIONS + ("unweighted",), ours, theirs, strict=True
  ):
    assert a.shape == b.shape, f"{case} reduction={reduction}"
    np.testing.assert_allclose(
      a, b, rtol=RTOL, atol=ATOL, err_msg=f"{case} reduction={reduction}"
    )
  np.testing.assert_allclose(
    our_grad,
    their_grad,
    rtol=GRAD_RTOL,
    atol=GRAD_ATOL,
    err_msg=f"{case}: gradient",
  )


def _keras_class(name):
  """A Keras loss class whose calls run with rank promotion allowed."""
  cls = getattr(KL, name)

  def make(**kwargs):
    obj = cls(**kwargs)
    call = _keras(obj.__call__)
    return type(
      "Wrapped",
      (),
      {
        "__call__": lambda self, *a: call(*a),
        "name": obj.name,
        "reduction": obj.reduction,
      },
    )()

  return make


def test_every_option_is_exercised():
  """Each keyword of each Keras function appears in some case."""
  import inspect

  seen = {}
  for c in CASES:
    seen.setdefault(c.fn, set()).update(c.kwargs)
    if c.make.__qualname__.startswith("_embeddings") and c.tag == "-ref":
      seen[c.fn].update({"ref_embeddings", "ref_labels"})
  for fn, used in seen.items():
    params = set(inspect.signature(getattr(KL, fn)).parameters) - {
      "y_true",
      "y_pred",
    }
    assert params <= used, f"{fn}: options never compared: {params - used}"


# ----------------------------------------------------- names and configs


def test_get_resolves_every_keras_name():
  for name, obj in ALL_OBJECTS_DICT.items():
    if name in ("Loss", "LossFunctionWrapper"):
      continue
    got = jaxloss.get(name)
    if isinstance(obj, type):
      assert type(got) is getattr(jaxloss, name), name
      assert got.name == obj().name, name
    else:
      assert got is getattr(jaxloss, obj.__name__), name


@pytest.mark.parametrize("name", sorted(set(CLASS_OF.values())))
def test_default_names_and_config_keys(name):
  ours, theirs = getattr(jaxloss, name)(), getattr(KL, name)()
  assert ours.name == theirs.name
  assert ours.reduction == theirs.reduction
  # Every key Keras serialises is in our config, with the same default.
  # (Keras 3.15 serialises alpha as given; our tuples equal its lists.)
  # (jaxloss spells Keras's ignore_class as ignore_index; the Keras form,
  # jaxloss.keras, keeps Keras's name.)
  mine = ours.get_config()
  for key, value in _ours(theirs.get_config()).items():
    assert key in mine, f"{name}: config lacks {key}"
    assert mine[key] == (tuple(value) if isinstance(value, list) else value)


def test_config_roundtrips_keep_hyper_parameters():
  huber = jaxloss.Huber(delta=0.3, reduction="sum")
  again = jaxloss.Huber.from_config(huber.get_config())
  assert again.delta == 0.3 and again.name == "huber_loss" and again == huber
  cos = jaxloss.CosineSimilarity(axis=0)
  again = jaxloss.deserialize(jaxloss.serialize(cos))
  assert again.axis == 0 and again.name == "cosine_similarity"
  # Keras 3.15 drops both from get_config (a Keras defect, not copied).
  assert "delta" not in KL.Huber(delta=0.3).get_config()
  assert "axis" not in KL.CosineSimilarity(axis=0).get_config()


# ----------------------------------------------------------- reductions


keras_reduce = _keras(reduce_weighted_values)


def _reduce_pair(values, weight, mask, reduction):
  ours = jaxloss.reduce(
    values, sample_weight=weight, where=mask, reduction=reduction
  )
  theirs = keras_reduce(
    values, sample_weight=weight, mask=mask, reduction=reduction
  )
  return np.asarray(ours), np.asarray(theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduce_matches_keras_on_equal_shapes(reduction):
  rng = np.random.default_rng(3)
  values = jnp.asarray(_f32(rng.uniform(0, 2, (3, 4))))
  weight = jnp.asarray(_f32(rng.uniform(0, 2, (3, 4))))
  mask = jnp.asarray(rng.uniform(size=(3, 4)) > 0.3)
  for w, m in ((None, None), (weight, None), (None, mask), (weight, mask)):
    ours, theirs = _reduce_pair(values, w, m, reduction)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


# ------------------------------------------------ deliberate differences


def test_difference_tversky_alpha_beta_swapped():
  t, p = _binary(B, D)(np.random.default_rng(4))
  ours = jaxloss.tversky(t, p, alpha=0.8, beta=0.2, axis=1)
  np.testing.assert_allclose(
    ours, KL.tversky(t, p, alpha=0.2, beta=0.8, axis=1), rtol=RTOL
  )
  assert not np.allclose(ours, KL.tversky(t, p, alpha=0.8, beta=0.2, axis=1))


def test_difference_binary_focal_saturated_logits():
  t = jnp.array([[1.0, 0.0]])
  wrong = jnp.array([[-30.0, 30.0]])
  ours = jaxloss.binary_focal_crossentropy(t, wrong, from_logits=True)
  theirs = KL.binary_focal_crossentropy(t, wrong, from_logits=True)
  # Keras: sigmoid then a clip at 1e-7, so about -log(1e-7) = 16.1.
  np.testing.assert_allclose(theirs, 16.03, rtol=1e-3)
  np.testing.assert_allclose(ours, 30.0, rtol=1e-6)  # log space: |z|
  # gamma < 1 on confident correct logits: Keras's gradient is NaN.
  right = jnp.array([[30.0, -30.0]])
  for fn in (jaxloss.binary_focal_crossentropy, KL.binary_focal_crossentropy):
    f = lambda p, fn=fn: jnp.sum(fn(t, p, gamma=0.5, from_logits=True))
    g = jax.jit(jax.grad(f))(right)
    assert np.all(np.isfinite(g)) == (fn is jaxloss.binary_focal_crossentropy)


def test_difference_categorical_focal_saturated_logits():
  t = jnp.array([[1.0, 0.0, 0.0]])
  wrong = jnp.array([[-30.0, 30.0, 0.0]])
  ours = jaxloss.categorical_focal_crossentropy(t, wrong, from_logits=True)
  theirs = KL.categorical_focal_crossentropy(t, wrong, from_logits=True)
  np.testing.assert_allclose(theirs, 0.25 * 16.118, rtol=1e-3)  # clipped
  np.testing.assert_allclose(ours, 0.25 * 60.0, rtol=1e-5)
  # Moderate logits agree (also covered by the parity cases above).
  z = jnp.array([[1.0, -0.5, 2.0]])
  np.testing.assert_allclose(
    jaxloss.categorical_focal_crossentropy(t, z, from_logits=True),
    KL.categorical_focal_crossentropy(t, z, from_logits=True),
    rtol=RTOL,
  )


def test_difference_cosine_zero_vector_gradient():
  t = jnp.ones((1, 3))
  zero = jnp.zeros((1, 3))
  for fn, finite in (
    (jaxloss.cosine_similarity, True),
    (KL.cosine_similarity, False),
  ):
    value, g = jax.jit(jax.value_and_grad(lambda p, fn=fn: jnp.sum(fn(t, p))))(
      zero
    )
    assert value == 0
    assert np.all(np.isfinite(g)) == finite


def test_difference_sparse_label_smoothing_extension():
  rng = np.random.default_rng(5)
  for logits in (False, True):
    labels, p = _sparse(logits=logits)(rng)
    one_hot = np.eye(K, dtype=np.float32)[labels]
    np.testing.assert_allclose(
      jaxloss.sparse_categorical_crossentropy(
        labels, p, from_logits=logits, label_smoothing=0.0
      ),
      KL.sparse_categorical_crossentropy(labels, p, from_logits=logits),
      rtol=RTOL,
      atol=ATOL,
    )
    for ls in (0.1, 0.5):
      f_ours = lambda p, ls=ls, lg=logits: (
        jaxloss.sparse_categorical_crossentropy(
          labels, p, from_logits=lg, label_smoothing=ls
        )
      )
      f_theirs = lambda p, ls=ls, lg=logits: KL.categorical_crossentropy(
        one_hot, p, from_logits=lg, label_smoothing=ls
      )
      _assert_close(
        _value_and_grad(f_ours, jnp.asarray(p)),
        _value_and_grad(f_theirs, jnp.asarray(p)),
        f"label_smoothing={ls} from_logits={logits}",
      )
  with pytest.raises(TypeError):  # Keras has no such option
    KL.sparse_categorical_crossentropy(labels, p, label_smoothing=0.1)


def test_difference_gce_column_labels():
  """Labels [B, 1], which Keras documents, are squeezed; Keras 3.15 one-hots
  them to [B, 1, K] and broadcasts against [B, K] into [B, B] values."""
  labels, p = _sparse()(np.random.default_rng(7))
  fn = jaxloss.categorical_generalized_cross_entropy
  ours = fn(labels[:, None], p, q=0.7)
  np.testing.assert_allclose(
    ours, KL.categorical_generalized_cross_entropy(labels, p, q=0.7), rtol=RTOL
  )
  theirs = _keras(KL.categorical_generalized_cross_entropy)(
    labels[:, None], p, q=0.7
  )
  assert ours.shape == (B,) and theirs.shape == (B, B)
  with pytest.raises(ValueError, match="q must be in the interval"):
    KL.CategoricalGeneralizedCrossEntropy(q=1.0)
  np.testing.assert_allclose(
    jaxloss.CategoricalGeneralizedCrossEntropy(q=1.0)(labels, p),
    np.mean(1 - p[np.arange(B), labels]),
    rtol=RTOL,
  )


def test_difference_sample_weight_from_leading_axes():
  rng = np.random.default_rng(6)
  values = jnp.asarray(_f32(rng.uniform(0, 2, (3, 4))))
  w = jnp.asarray(_f32([0.5, 1.0, 2.0]))
  column = w[:, None]
  # jaxloss broadcasts [B] weights over [B, T] values from the leading axes;
  # Keras broadcasts from the trailing axes and raises here (T != B).
  with pytest.raises((ValueError, TypeError)):
    keras_reduce(values, sample_weight=w, reduction="sum")
  for reduction in ("sum", "sum_over_batch_size", "none"):
    ours = jaxloss.reduce(values, sample_weight=w, reduction=reduction)
    theirs = keras_reduce(values, sample_weight=column, reduction=reduction)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)
  # "mean_with_sample_weight": we divide by the sum of the broadcast weights
  # (T * sum(w)); Keras divides by the sum of the weights as given.
  ours = jaxloss.reduce(
    values, sample_weight=w, reduction="mean_with_sample_weight"
  )
  theirs = keras_reduce(
    values, sample_weight=column, reduction="mean_with_sample_weight"
  )
  np.testing.assert_allclose(ours, theirs / values.shape[1], rtol=RTOL)
  np.testing.assert_allclose(
    ours, jnp.sum(values * column) / (values.shape[1] * jnp.sum(w)), rtol=RTOL
  )
  # A square batch: Keras silently weights the columns instead of the rows.
  square = jnp.asarray(_f32(rng.uniform(0, 2, (3, 3))))
  ours = jaxloss.reduce(square, sample_weight=w, reduction="sum")
  theirs = keras_reduce(square, sample_weight=w, reduction="sum")
  np.testing.assert_allclose(ours, jnp.sum(square * column), rtol=RTOL)
  assert not np.allclose(ours, theirs)
