"""Keras ``Loss`` subclasses of jaxloss's loss object classes.

For every public jaxloss loss class ``jaxloss.X`` whose inputs are
``(y_true, y_pred)``, ``jaxloss.keras.X`` is declared below as a
``keras.losses.Loss`` subclass naming its jaxloss class
(``class Huber(JaxlossLoss, core=jaxloss.Huber)``); its ``call`` returns
jaxloss's per-sample values. Keras's own ``Loss.__call__`` then casts the
inputs to the loss's dtype, applies ``sample_weight`` (hence
``class_weight``), Keras masks and the reduction, exactly as it does for
its own losses.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any
from typing import Self
from typing import cast

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike
import keras
from keras.src.backend import get_keras_mask
from keras.src.backend import set_keras_mask
from keras.src.losses import LossFunctionWrapper as KerasLossFunctionWrapper
from keras.src.losses.loss import squeeze_or_expand_to_same_rank

import jaxloss
from jaxloss._src.typing import InputLike

PACKAGE = "jaxloss"
_BASE_KEYS = ("reduction", "name", "dtype")

# Where the Keras form keeps Keras's own name for a jaxloss keyword:
# {class name: {jaxloss keyword: Keras keyword}}. The mapping is all the
# adapter does; the loss object underneath holds jaxloss's name.
KERAS_KEYWORDS: dict[str, dict[str, str]] = {
  "SparseCategoricalCrossentropy": {"ignore_index": "ignore_class"},
  # Keras 3.15's code weighs false negatives by ``alpha`` and false
  # positives by ``beta`` (its docstring says the opposite); jaxloss follows
  # the paper. The Keras form promises Keras's number, so it swaps them.
  "Tversky": {"alpha": "beta", "beta": "alpha"},
}


@functools.cache
def keras_config_keys(
  name: str,
) -> tuple[frozenset[str], frozenset[str]] | None:
  """``(config keys, constructor keywords)`` of Keras's own class
  ``keras.losses.<name>`` (built with its defaults), or None where Keras
  has no such class."""
  keras_class = getattr(keras.losses, name, None)
  if not (
    isinstance(keras_class, type) and issubclass(keras_class, keras.losses.Loss)
  ):
    return None
  keywords = frozenset(inspect.signature(keras_class.__init__).parameters)
  return frozenset(keras_class().get_config()), keywords


def _is_default(value, default) -> bool:
  if value is None or default is None:
    return value is default
  try:
    return bool(value == default)
  except (TypeError, ValueError):  # arrays: never the default
    return False


def _hyper_defaults(cls) -> dict[str, Any]:
  """The class's constructor keywords besides reduction/name/dtype."""
  return {
    p.name: p.default
    for p in inspect.signature(cls).parameters.values()
    if p.name not in _BASE_KEYS and p.kind is not p.VAR_KEYWORD
  }


def _dtype_config(dtype):
  if dtype is None or isinstance(dtype, str):
    return dtype
  return keras.dtype_policies.serialize(dtype)


class JaxlossLoss(keras.losses.Loss):
  """Base of the generated adapters: a Keras loss around a jaxloss object.

  Subclasses set ``core_class`` (the jaxloss loss class). The constructor
  takes that class's keyword arguments plus Keras's ``reduction``, ``name``
  and ``dtype`` (a dtype or a ``keras.DTypePolicy``; ``None`` follows
  ``keras.backend.floatx()``, so half inputs give float32 losses, as for
  Keras's own losses).
  """

  core_class: type | None = None  # the class keyword ``core``
  # {jaxloss keyword: Keras keyword} where the two differ (KERAS_KEYWORDS).
  keras_keywords: dict[str, str] = {}

  def __init_subclass__(
    cls, *, core: type | None = None, **kwargs: Any
  ) -> None:
    """Names the jaxloss class of a declared adapter, gives the adapter the
    class's constructor signature (under Keras's keyword names) and
    registers it with Keras as ``"jaxloss>Name"``."""
    super().__init_subclass__(**kwargs)
    if core is None:
      return
    if core.__name__ != cls.__name__:
      raise TypeError(
        f"jaxloss.keras: the adapter of {core.__name__} must be named "
        f"{core.__name__}, got {cls.__name__}"
      )
    cls.core_class = core
    cls.keras_keywords = dict(KERAS_KEYWORDS.get(cls.__name__, {}))
    cls.__init__ = _make_init(cls, core)
    for ours, theirs in cls.keras_keywords.items():
      cls.__doc__ = (
        f"{cls.__doc__ or ''}\n\nKeras's ``{theirs}`` stands for "
        f"jaxloss's ``{ours}``."
      )
    keras.saving.register_keras_serializable(package=PACKAGE)(cls)

  def __init__(
    self,
    *,
    reduction: str | None = "sum_over_batch_size",
    name: str | None = None,
    dtype: DTypeLike | keras.DTypePolicy | None = None,
    **hyper_parameters: Any,
  ):
    core_class = type(self).core_class
    assert core_class is not None  # every adapter class sets it
    to_core = {k: c for c, k in type(self).keras_keywords.items()}
    hyper_parameters = {
      to_core.get(k, k): v for k, v in hyper_parameters.items()
    }
    # The jaxloss object validates the hyper-parameters (clear errors early).
    core = core_class(**hyper_parameters)
    # Keras accepts reduction=None; its signature's inferred type omits it.
    super().__init__(
      name=name or core.name,
      reduction=reduction,  # pyright: ignore[reportArgumentType]
      dtype=dtype,
    )
    self._core = core
    self._dtype_argument = dtype
    self._weighted = False

  @property
  def core(self) -> Any:  # an instance of ``core_class``
    """The jaxloss loss object holding the hyper-parameters."""
    return self._core

  def hyper_parameters(self) -> dict[str, Any]:
    """The hyper-parameters under the Keras form's keyword names."""
    names = type(self).keras_keywords
    params = cast(dict[str, Any], self._core.hyper_parameters())
    return {names.get(k, k): v for k, v in params.items()}

  def __call__(
    self,
    y_true: InputLike,
    y_pred: InputLike,
    sample_weight: InputLike | None = None,
  ) -> jax.Array:
    # Remember, for ``call``, whether Keras will weight or mask the values.
    self._weighted = (
      sample_weight is not None or get_keras_mask(y_pred) is not None
    )
    try:
      # On the JAX backend Keras returns a jax.Array (its multi-backend
      # signature says any backend's tensor).
      return cast(
        jax.Array,
        super().__call__(y_true, y_pred, sample_weight=sample_weight),
      )
    finally:
      self._weighted = False

  def call(self, y_true: InputLike, y_pred: InputLike) -> jax.Array:
    """jaxloss's per-sample values (Keras then weights and reduces)."""
    name = type(self).__name__
    # Keras's rule for every loss function: a trailing axis of size 1 is
    # squeezed (or added) so that [B] targets meet [B, 1] outputs.
    # Keras maps nested lists element by element: stack them back.
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    # Keras's multi-backend code types its result as any backend's tensor.
    y_true, y_pred = cast(
      tuple[jax.Array, jax.Array],
      squeeze_or_expand_to_same_rank(y_true, y_pred),
    )
    values = self._core.values(y_true, y_pred)
    # Keras's own batch-level forms (Dice, Tversky with axis=None) accept
    # weights: Keras scales the batch's value by them, and so does the Keras
    # form here. A loss with no Keras counterpart keeps the rule.
    if (
      jnp.ndim(values) == 0
      and jnp.ndim(y_pred) > 0
      and self._weighted
      and keras_config_keys(name) is None
    ):
      raise ValueError(
        f"jaxloss.keras.{name}: sample_weight (or class_weight, or a Keras "
        f"mask) must be absent for a batch-level loss (one value per "
        f"batch), got weights or a mask"
      )
    where_fn = getattr(type(self._core), "where_fn", None)
    if where_fn is not None:
      # The loss's own mask (ignore_class, Circle): Keras reads it from the
      # values' Keras mask, as it does for its own losses.
      mask = where_fn(y_true, y_pred, values, **self._core.hyper_parameters())
      if mask is not None:
        set_keras_mask(values, mask)
    return values

  def get_config(self) -> dict[str, Any]:
    """The config. For a loss Keras has, Keras's: the keys of Keras's own
    class (``name``, ``reduction`` and the hyper-parameters its config
    keeps, under Keras's names), dropping what Keras's drops (a ``dtype``;
    Huber's ``delta``, CosineSimilarity's ``axis``: such a loss reloads
    with those defaults, as Keras's own does), plus a jaxloss extension
    Keras has no keyword for (``label_smoothing`` of the sparse
    cross-entropy) when it is not the default. Other losses keep ``dtype``
    and every hyper-parameter."""
    config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
    keras_class = keras_config_keys(type(self).__name__)
    if keras_class is None:
      config["dtype"] = _dtype_config(self._dtype_argument)
      config.update(self.hyper_parameters())
      return config
    keys, keywords = keras_class
    names = type(self).keras_keywords
    defaults = {
      names.get(k, k): v
      for k, v in _hyper_defaults(type(self).core_class).items()
    }
    for key, value in self.hyper_parameters().items():
      extension = key not in keywords
      if key in keys or (extension and not _is_default(value, defaults[key])):
        config[key] = value
    return config

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> Self:
    """The adapter made from :meth:`get_config`'s dict."""
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
      config["dtype"] = keras.dtype_policies.deserialize(dtype)
    return cls(**config)

  def __repr__(self) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
    return f"jaxloss.keras.{type(self).__name__}({params})"


def _init_signature(core_class) -> inspect.Signature:
  names = KERAS_KEYWORDS.get(core_class.__name__, {})
  kw = inspect.Parameter.KEYWORD_ONLY
  params = [
    inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
    inspect.Parameter("reduction", kw, default="sum_over_batch_size"),
    inspect.Parameter("name", kw, default=None),
    inspect.Parameter("dtype", kw, default=None),
  ]
  params += [
    inspect.Parameter(names.get(k, k), kw, default=v)
    for k, v in _hyper_defaults(core_class).items()
  ]
  return inspect.Signature(params)


def _make_init(cls, core_class):
  def __init__(self, **kwargs):
    JaxlossLoss.__init__(self, **kwargs)

  __init__.__signature__ = _init_signature(core_class)
  __init__.__qualname__ = f"{cls.__name__}.__init__"
  __init__.__module__ = cls.__module__  # where the reference finds it
  return __init__


# ------------------------------------------------------------- the adapters
# One per public (y_true, y_pred) loss class (tests/test_keras_adapter.py
# checks that none is missing). Each takes the keywords of its jaxloss class
# plus Keras's reduction, name and dtype.


class ActivePassiveLoss(JaxlossLoss, core=jaxloss.ActivePassiveLoss):
  """Keras form of :class:`jaxloss.ActivePassiveLoss`."""


class ApproxNDCG(JaxlossLoss, core=jaxloss.ApproxNDCG):
  """Keras form of :class:`jaxloss.ApproxNDCG`."""


class AsymmetricLoss(JaxlossLoss, core=jaxloss.AsymmetricLoss):
  """Keras form of :class:`jaxloss.AsymmetricLoss`."""


class BinaryCrossentropy(JaxlossLoss, core=jaxloss.BinaryCrossentropy):
  """Keras form of :class:`jaxloss.BinaryCrossentropy`."""


class BinaryFocalCrossentropy(
  JaxlossLoss, core=jaxloss.BinaryFocalCrossentropy
):
  """Keras form of :class:`jaxloss.BinaryFocalCrossentropy`."""


class BitemperedLogistic(JaxlossLoss, core=jaxloss.BitemperedLogistic):
  """Keras form of :class:`jaxloss.BitemperedLogistic`."""


class CIoULoss(JaxlossLoss, core=jaxloss.CIoULoss):
  """Keras form of :class:`jaxloss.CIoULoss`."""


class CRPSEnsemble(JaxlossLoss, core=jaxloss.CRPSEnsemble):
  """Keras form of :class:`jaxloss.CRPSEnsemble`."""


class CTC(JaxlossLoss, core=jaxloss.CTC):
  """Keras form of :class:`jaxloss.CTC`."""


class CategoricalCrossentropy(
  JaxlossLoss, core=jaxloss.CategoricalCrossentropy
):
  """Keras form of :class:`jaxloss.CategoricalCrossentropy`."""


class CategoricalFocalCrossentropy(
  JaxlossLoss, core=jaxloss.CategoricalFocalCrossentropy
):
  """Keras form of :class:`jaxloss.CategoricalFocalCrossentropy`."""


class CategoricalGeneralizedCrossEntropy(
  JaxlossLoss, core=jaxloss.CategoricalGeneralizedCrossEntropy
):
  """Keras form of :class:`jaxloss.CategoricalGeneralizedCrossEntropy`."""


class CategoricalHinge(JaxlossLoss, core=jaxloss.CategoricalHinge):
  """Keras form of :class:`jaxloss.CategoricalHinge`."""


class Charbonnier(JaxlossLoss, core=jaxloss.Charbonnier):
  """Keras form of :class:`jaxloss.Charbonnier`."""


class Circle(JaxlossLoss, core=jaxloss.Circle):
  """Keras form of :class:`jaxloss.Circle`."""


class ClassBalancedLoss(JaxlossLoss, core=jaxloss.ClassBalancedLoss):
  """Keras form of :class:`jaxloss.ClassBalancedLoss`."""


class ContrastiveLoss(JaxlossLoss, core=jaxloss.ContrastiveLoss):
  """Keras form of :class:`jaxloss.ContrastiveLoss`."""


class CosineSimilarity(JaxlossLoss, core=jaxloss.CosineSimilarity):
  """Keras form of :class:`jaxloss.CosineSimilarity`."""


class DIoULoss(JaxlossLoss, core=jaxloss.DIoULoss):
  """Keras form of :class:`jaxloss.DIoULoss`."""


class Dice(JaxlossLoss, core=jaxloss.Dice):
  """Keras form of :class:`jaxloss.Dice`."""


class EnergyDistance(JaxlossLoss, core=jaxloss.EnergyDistance):
  """Keras form of :class:`jaxloss.EnergyDistance`."""


class EnergyScore(JaxlossLoss, core=jaxloss.EnergyScore):
  """Keras form of :class:`jaxloss.EnergyScore`."""


class EvidentialRegression(JaxlossLoss, core=jaxloss.EvidentialRegression):
  """Keras form of :class:`jaxloss.EvidentialRegression`."""


class FBetaLoss(JaxlossLoss, core=jaxloss.FBetaLoss):
  """Keras form of :class:`jaxloss.FBetaLoss`."""


class FocalTversky(JaxlossLoss, core=jaxloss.FocalTversky):
  """Keras form of :class:`jaxloss.FocalTversky`."""


class GIoULoss(JaxlossLoss, core=jaxloss.GIoULoss):
  """Keras form of :class:`jaxloss.GIoULoss`."""


class GradientDifferenceLoss(JaxlossLoss, core=jaxloss.GradientDifferenceLoss):
  """Keras form of :class:`jaxloss.GradientDifferenceLoss`."""


class Hinge(JaxlossLoss, core=jaxloss.Hinge):
  """Keras form of :class:`jaxloss.Hinge`."""


class HingeEmbeddingLoss(JaxlossLoss, core=jaxloss.HingeEmbeddingLoss):
  """Keras form of :class:`jaxloss.HingeEmbeddingLoss`."""


class Huber(JaxlossLoss, core=jaxloss.Huber):
  """Keras form of :class:`jaxloss.Huber`."""


class IoULoss(JaxlossLoss, core=jaxloss.IoULoss):
  """Keras form of :class:`jaxloss.IoULoss`."""


class Jaccard(JaxlossLoss, core=jaxloss.Jaccard):
  """Keras form of :class:`jaxloss.Jaccard`."""


class KLDivergence(JaxlossLoss, core=jaxloss.KLDivergence):
  """Keras form of :class:`jaxloss.KLDivergence`."""


class LDAMLoss(JaxlossLoss, core=jaxloss.LDAMLoss):
  """Keras form of :class:`jaxloss.LDAMLoss`."""


class LiftedStructLoss(JaxlossLoss, core=jaxloss.LiftedStructLoss):
  """Keras form of :class:`jaxloss.LiftedStructLoss`."""


class ListMLE(JaxlossLoss, core=jaxloss.ListMLE):
  """Keras form of :class:`jaxloss.ListMLE`."""


class ListNet(JaxlossLoss, core=jaxloss.ListNet):
  """Keras form of :class:`jaxloss.ListNet`."""


class LogCosh(JaxlossLoss, core=jaxloss.LogCosh):
  """Keras form of :class:`jaxloss.LogCosh`."""


class LogitAdjustedCrossentropy(
  JaxlossLoss, core=jaxloss.LogitAdjustedCrossentropy
):
  """Keras form of :class:`jaxloss.LogitAdjustedCrossentropy`."""


class LovaszHinge(JaxlossLoss, core=jaxloss.LovaszHinge):
  """Keras form of :class:`jaxloss.LovaszHinge`."""


class LovaszSoftmax(JaxlossLoss, core=jaxloss.LovaszSoftmax):
  """Keras form of :class:`jaxloss.LovaszSoftmax`."""


class MMD(JaxlossLoss, core=jaxloss.MMD):
  """Keras form of :class:`jaxloss.MMD`."""


class MSSSIMLoss(JaxlossLoss, core=jaxloss.MSSSIMLoss):
  """Keras form of :class:`jaxloss.MSSSIMLoss`."""


class MeanAbsoluteError(JaxlossLoss, core=jaxloss.MeanAbsoluteError):
  """Keras form of :class:`jaxloss.MeanAbsoluteError`."""


class MeanAbsolutePercentageError(
  JaxlossLoss, core=jaxloss.MeanAbsolutePercentageError
):
  """Keras form of :class:`jaxloss.MeanAbsolutePercentageError`."""


class MeanSquaredError(JaxlossLoss, core=jaxloss.MeanSquaredError):
  """Keras form of :class:`jaxloss.MeanSquaredError`."""


class MeanSquaredLogarithmicError(
  JaxlossLoss, core=jaxloss.MeanSquaredLogarithmicError
):
  """Keras form of :class:`jaxloss.MeanSquaredLogarithmicError`."""


class MultiLabelSoftMarginLoss(
  JaxlossLoss, core=jaxloss.MultiLabelSoftMarginLoss
):
  """Keras form of :class:`jaxloss.MultiLabelSoftMarginLoss`."""


class MultiMarginLoss(JaxlossLoss, core=jaxloss.MultiMarginLoss):
  """Keras form of :class:`jaxloss.MultiMarginLoss`."""


class NpairsLoss(JaxlossLoss, core=jaxloss.NpairsLoss):
  """Keras form of :class:`jaxloss.NpairsLoss`."""


class PSNRLoss(JaxlossLoss, core=jaxloss.PSNRLoss):
  """Keras form of :class:`jaxloss.PSNRLoss`."""


class PairwiseHinge(JaxlossLoss, core=jaxloss.PairwiseHinge):
  """Keras form of :class:`jaxloss.PairwiseHinge`."""


class PairwiseLogistic(JaxlossLoss, core=jaxloss.PairwiseLogistic):
  """Keras form of :class:`jaxloss.PairwiseLogistic`."""


class PinballLoss(JaxlossLoss, core=jaxloss.PinballLoss):
  """Keras form of :class:`jaxloss.PinballLoss`."""


class Poisson(JaxlossLoss, core=jaxloss.Poisson):
  """Keras form of :class:`jaxloss.Poisson`."""


class PoissonNLLLoss(JaxlossLoss, core=jaxloss.PoissonNLLLoss):
  """Keras form of :class:`jaxloss.PoissonNLLLoss`."""


class RobustLoss(JaxlossLoss, core=jaxloss.RobustLoss):
  """Keras form of :class:`jaxloss.RobustLoss`."""


class SSIMLoss(JaxlossLoss, core=jaxloss.SSIMLoss):
  """Keras form of :class:`jaxloss.SSIMLoss`."""


class SigmoidFocalCrossEntropy(
  JaxlossLoss, core=jaxloss.SigmoidFocalCrossEntropy
):
  """Keras form of :class:`jaxloss.SigmoidFocalCrossEntropy`."""


class SmoothL1Loss(JaxlossLoss, core=jaxloss.SmoothL1Loss):
  """Keras form of :class:`jaxloss.SmoothL1Loss`."""


class SoftMarginLoss(JaxlossLoss, core=jaxloss.SoftMarginLoss):
  """Keras form of :class:`jaxloss.SoftMarginLoss`."""


class SparseCategoricalCrossentropy(
  JaxlossLoss, core=jaxloss.SparseCategoricalCrossentropy
):
  """Keras form of :class:`jaxloss.SparseCategoricalCrossentropy`."""


class SquaredHinge(JaxlossLoss, core=jaxloss.SquaredHinge):
  """Keras form of :class:`jaxloss.SquaredHinge`."""


class SupervisedContrastive(JaxlossLoss, core=jaxloss.SupervisedContrastive):
  """Keras form of :class:`jaxloss.SupervisedContrastive`."""


class SymmetricCrossentropy(JaxlossLoss, core=jaxloss.SymmetricCrossentropy):
  """Keras form of :class:`jaxloss.SymmetricCrossentropy`."""


class TaylorCrossentropy(JaxlossLoss, core=jaxloss.TaylorCrossentropy):
  """Keras form of :class:`jaxloss.TaylorCrossentropy`."""


class TripletHardLoss(JaxlossLoss, core=jaxloss.TripletHardLoss):
  """Keras form of :class:`jaxloss.TripletHardLoss`."""


class TripletSemiHardLoss(JaxlossLoss, core=jaxloss.TripletSemiHardLoss):
  """Keras form of :class:`jaxloss.TripletSemiHardLoss`."""


class Tversky(JaxlossLoss, core=jaxloss.Tversky):
  """Keras form of :class:`jaxloss.Tversky`."""


class WeightedKappaLoss(JaxlossLoss, core=jaxloss.WeightedKappaLoss):
  """Keras form of :class:`jaxloss.WeightedKappaLoss`."""


class ZLoss(JaxlossLoss, core=jaxloss.ZLoss):
  """Keras form of :class:`jaxloss.ZLoss`."""


class KLDiv(JaxlossLoss, core=jaxloss.KLDiv):
  """Keras form of :class:`jaxloss.KLDiv`."""


class MCCLoss(JaxlossLoss, core=jaxloss.MCCLoss):
  """Keras form of :class:`jaxloss.MCCLoss`."""


class FastAP(JaxlossLoss, core=jaxloss.FastAP):
  """Keras form of :class:`jaxloss.FastAP`."""


class MarginLoss(JaxlossLoss, core=jaxloss.MarginLoss):
  """Keras form of :class:`jaxloss.MarginLoss`."""


class MultiSimilarity(JaxlossLoss, core=jaxloss.MultiSimilarity):
  """Keras form of :class:`jaxloss.MultiSimilarity`."""


class TupletMargin(JaxlossLoss, core=jaxloss.TupletMargin):
  """Keras form of :class:`jaxloss.TupletMargin`."""


class MSSSIML1Loss(JaxlossLoss, core=jaxloss.MSSSIML1Loss):
  """Keras form of :class:`jaxloss.MSSSIML1Loss`."""


ADAPTERS: dict[str, type[JaxlossLoss]] = {
  cls.__name__: cls for cls in JaxlossLoss.__subclasses__()
}


def from_jaxloss(obj: jaxloss.Loss | keras.losses.Loss) -> keras.losses.Loss:
  """The Keras form of a jaxloss loss object (same hyper-parameters).

  A ``jaxloss.wrap(fn, **kwargs)`` object becomes Keras's own
  ``LossFunctionWrapper(fn, **kwargs)`` (``keras.src.losses``); a Keras
  loss passes through.

  Raises:
    TypeError: for an object with no Keras form (inputs other than
      ``(y_true, y_pred)``).
  """
  if isinstance(obj, keras.losses.Loss):
    return obj
  if isinstance(obj, jaxloss.LossFunctionWrapper):
    return KerasLossFunctionWrapper(
      obj.function,
      # Keras accepts None; its signature's inferred type omits it.
      reduction=obj.reduction,  # pyright: ignore[reportArgumentType]
      name=obj.name,
      dtype=obj.dtype,
      **obj.hyper_parameters(),
    )
  name = type(obj).__name__
  if not isinstance(obj, jaxloss.Loss) or name not in ADAPTERS:
    raise TypeError(
      f"from_jaxloss: obj must be a jaxloss loss object with inputs "
      f"(y_true, y_pred), got {obj!r}"
    )
  names = KERAS_KEYWORDS.get(name, {})
  return ADAPTERS[name](
    reduction=obj.reduction,
    name=obj.name,
    dtype=obj.dtype,
    **{names.get(k, k): v for k, v in obj.hyper_parameters().items()},
  )


__all__ = [
  "ADAPTERS",
  "JaxlossLoss",
  "from_jaxloss",
  "ActivePassiveLoss",
  "ApproxNDCG",
  "AsymmetricLoss",
  "BinaryCrossentropy",
  "BinaryFocalCrossentropy",
  "BitemperedLogistic",
  "CIoULoss",
  "CRPSEnsemble",
  "CTC",
  "CategoricalCrossentropy",
  "CategoricalFocalCrossentropy",
  "CategoricalGeneralizedCrossEntropy",
  "CategoricalHinge",
  "Charbonnier",
  "Circle",
  "ClassBalancedLoss",
  "ContrastiveLoss",
  "CosineSimilarity",
  "DIoULoss",
  "Dice",
  "EnergyDistance",
  "EnergyScore",
  "EvidentialRegression",
  "FBetaLoss",
  "FastAP",
  "FocalTversky",
  "GIoULoss",
  "GradientDifferenceLoss",
  "Hinge",
  "HingeEmbeddingLoss",
  "Huber",
  "IoULoss",
  "Jaccard",
  "KLDiv",
  "KLDivergence",
  "LDAMLoss",
  "LiftedStructLoss",
  "ListMLE",
  "ListNet",
  "LogCosh",
  "LogitAdjustedCrossentropy",
  "LovaszHinge",
  "LovaszSoftmax",
  "MCCLoss",
  "MMD",
  "MSSSIML1Loss",
  "MSSSIMLoss",
  "MarginLoss",
  "MeanAbsoluteError",
  "MeanAbsolutePercentageError",
  "MeanSquaredError",
  "MeanSquaredLogarithmicError",
  "MultiLabelSoftMarginLoss",
  "MultiMarginLoss",
  "MultiSimilarity",
  "NpairsLoss",
  "PSNRLoss",
  "PairwiseHinge",
  "PairwiseLogistic",
  "PinballLoss",
  "Poisson",
  "PoissonNLLLoss",
  "RobustLoss",
  "SSIMLoss",
  "SigmoidFocalCrossEntropy",
  "SmoothL1Loss",
  "SoftMarginLoss",
  "SparseCategoricalCrossentropy",
  "SquaredHinge",
  "SupervisedContrastive",
  "SymmetricCrossentropy",
  "TaylorCrossentropy",
  "TripletHardLoss",
  "TripletSemiHardLoss",
  "TupletMargin",
  "Tversky",
  "WeightedKappaLoss",
  "ZLoss",
]
