"""Flax nnx forms of jaxloss: loss modules, auxiliary losses, learnable
losses.

Every registered loss object class ``jaxloss.<Name>`` has an nnx module
``jaxloss.flax.nnx.<Name>`` taking the same keyword arguments, made from the
registry on first access::

    loss = jaxloss.flax.nnx.Huber(delta=2.0)
    value = loss(y_true, y_pred)

Auxiliary losses are :class:`AuxLoss` variables sown under ``nnx.capture``;
see :func:`add_loss` and :func:`call_with_losses`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import functools
import inspect
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp

from jaxloss._src import reduction as reduction_lib
from jaxloss._src.losses import adaptive
from jaxloss._src.losses import margin_softmax
from jaxloss._src.typing import InputLike
from jaxloss.flax import _common
from jaxloss.flax._common import collect_losses

# ------------------------------------------------------------ loss modules


class LossModule(nnx.Module):
  """An nnx module around any loss object: ``LossModule(jaxloss.Huber())``."""

  def __init__(self, loss: Callable[..., jax.Array]):
    self.loss = loss

  def __call__(
    self,
    *inputs: InputLike,
    sample_weight: InputLike | None = None,
    where: InputLike | None = None,
    normalizer: float | jax.Array | None = None,
    **kwargs: InputLike,
  ) -> jax.Array:
    # ``kwargs``: the loss's keyword inputs of one call (CoxPH's ``strata``).
    return self.loss(
      *inputs,
      sample_weight=sample_weight,
      where=where,
      normalizer=normalizer,
      **kwargs,
    )


@functools.cache
def module_class(loss_cls: type) -> type[nnx.Module]:
  """The nnx module class of a loss object class (cached)."""
  fields = _common.config_fields(loss_cls)

  def __init__(self, **config):
    LossModule.__init__(self, loss_cls(**config))

  __init__.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [
      inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default
      )
      for f in fields
    ]
  )
  namespace = {
    "__init__": __init__,
    "__module__": __name__,
    "__qualname__": loss_cls.__name__,
    "__doc__": (
      f"nnx module of :class:`jaxloss.{loss_cls.__name__}`; keyword "
      f"arguments: {', '.join(f.name for f in fields)}."
    ),
  }
  return type(loss_cls.__name__, (LossModule,), namespace)


# --------------------------------------------------------- auxiliary losses


class AuxLoss(nnx.Intermediate[Any]):
  """The variable type auxiliary loss terms are sown as."""


def add_loss(
  module: nnx.Module, value: InputLike, *, name: str = "aux_loss"
) -> bool:
  """Records an auxiliary loss term (Keras's ``add_loss``) from a module.

  The term is sown as an :class:`AuxLoss` when the call runs under
  ``nnx.capture(..., AuxLoss)`` (e.g. through :func:`call_with_losses`);
  otherwise nothing is recorded (a plain forward pass, or construction).
  Each capture starts empty, so terms never accumulate across calls;
  several terms under one name in one call are all kept and summed.

  Returns:
    Whether the term was recorded.

  Examples:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> from jaxloss.flax import nnx as jn
    >>> class Act(nnx.Module):
    ...   def __call__(self, x):
    ...     jn.add_loss(self, 0.1 * jnp.sum(x ** 2))
    ...     return x
    >>> out, total = jn.call_with_losses(Act(), jnp.ones(3))
    >>> print(round(float(total), 4))
    0.3
  """
  if not hasattr(module, "__captures__"):
    return False
  return module.sow(AuxLoss, name, value)


def call_with_losses(
  fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[Any, jax.Array]:
  """Calls ``fn`` (a module, a bound method, or ``f(module, ...)``) under
  ``nnx.capture(fn, AuxLoss)`` and sums the recorded terms.

  Returns:
    ``(out, total)``.
  """
  out, state = nnx.capture(fn, AuxLoss)(*args, **kwargs)
  return out, collect_losses(state)


# ---------------------------------------------------------- learnable losses


class AdaptiveRobustLoss(nnx.Module):
  """Barron's adaptive robust loss with learnable ``alpha`` and ``scale``.

  Same parameters (``latent_alpha``, ``latent_scale``) and numbers as
  :class:`jaxloss.flax.linen.AdaptiveRobustLoss`.
  """

  def __init__(
    self,
    num_dims: int | None = None,
    *,
    alpha_init: float = 1.0,
    scale_init: float = 1.0,
    alpha_lo: float = 0.001,
    alpha_hi: float = 1.999,
    scale_lo: float = 1e-5,
    reduction: str | None = "sum_over_batch_size",
  ):
    reduction_lib.check_reduction("AdaptiveRobustLoss", reduction)
    shape = () if num_dims is None else (num_dims,)
    la, ls = adaptive.robust_latents(
      alpha_init,
      scale_init,
      alpha_lo=alpha_lo,
      alpha_hi=alpha_hi,
      scale_lo=scale_lo,
    )
    self.latent_alpha: nnx.Param[jax.Array] = nnx.Param(
      jnp.full(shape, la, jnp.float32)
    )
    self.latent_scale: nnx.Param[jax.Array] = nnx.Param(
      jnp.full(shape, ls, jnp.float32)
    )
    self.bounds: dict[str, float] = dict(
      alpha_lo=alpha_lo, alpha_hi=alpha_hi, scale_lo=scale_lo
    )
    self.reduction: str | None = reduction

  def parameters(self) -> tuple[jax.Array, jax.Array]:
    """``(alpha, scale)`` from the current latents."""
    return adaptive.robust_parameters(
      self.latent_alpha[...], self.latent_scale[...], **self.bounds
    )

  def __call__(
    self,
    y_true: InputLike,
    y_pred: InputLike,
    sample_weight: InputLike | None = None,
    *,
    where: InputLike | None = None,
  ) -> jax.Array:
    alpha, scale = self.parameters()
    values = adaptive.adaptive_robust_nll(
      y_true, y_pred, alpha=alpha, scale=scale
    )
    return reduction_lib.reduce(
      values, sample_weight=sample_weight, where=where, reduction=self.reduction
    )


class UncertaintyWeighting(nnx.Module):
  """Kendall et al.'s learnable weighting of ``num_tasks`` task losses."""

  def __init__(
    self, num_tasks: int = 2, *, regression: bool | Sequence[bool] = True
  ):
    self.log_variances: nnx.Param[jax.Array] = nnx.Param(
      jnp.zeros((num_tasks,), jnp.float32)
    )
    self.regression: bool | Sequence[bool] = regression

  def __call__(
    self, losses: InputLike | list[InputLike] | tuple[InputLike, ...]
  ) -> jax.Array:
    if isinstance(losses, (list, tuple)):
      losses = jnp.stack([jnp.asarray(x) for x in losses])
    return adaptive.uncertainty_weighting(
      losses, self.log_variances[...], regression=self.regression
    )


class _CentersHead(nnx.Module):
  """Base of the heads with learnable class centres ``centers [C, D]``."""

  _fn = None
  _hyper: dict = {}  # hyper-parameter names and defaults, passed to ``_fn``
  _rows_field = None  # the hyper-parameter holding the rows per class

  def __init__(
    self,
    num_classes: int,
    features: int,
    *,
    rngs: nnx.Rngs | None = None,
    reduction: str | None = "sum_over_batch_size",
    zeros: bool = False,
    **hyper: Any,
  ) -> None:
    name = type(self).__name__
    reduction_lib.check_reduction(name, reduction)
    unknown = sorted(set(hyper) - set(self._hyper))
    if unknown:
      raise TypeError(
        f"{name}: unexpected keyword arguments {unknown}; expected some of "
        f"{sorted(self._hyper)}"
      )
    for key, value in {**self._hyper, **hyper}.items():
      setattr(self, key, value)
    rows = self._rows()
    shape = (num_classes * rows, features)
    if zeros:
      value = jnp.zeros(shape, jnp.float32)
    else:
      if rngs is None:
        raise ValueError(
          f"{name}: rngs must be given to initialise the centres, got None"
        )
      value = jax.random.normal(rngs.params(), shape, jnp.float32)
    self.centers: nnx.Param[jax.Array] = nnx.Param(value)
    self.reduction: str | None = reduction

  def _rows(self):
    return getattr(self, self._rows_field) if self._rows_field else 1

  def hyper_parameters(self) -> dict[str, Any]:
    return {k: getattr(self, k) for k in self._hyper}

  def __call__(
    self,
    y_true: InputLike,
    y_pred: InputLike,
    sample_weight: InputLike | None = None,
    *,
    where: InputLike | None = None,
  ) -> jax.Array:
    values = type(self)._fn(  # pyright: ignore[reportOptionalCall]
      y_true, y_pred, self.centers[...], **self.hyper_parameters()
    )
    return reduction_lib.reduce(
      values, sample_weight=sample_weight, where=where, reduction=self.reduction
    )

  def cosines(self, y_pred: InputLike) -> jax.Array:
    """``[B, num_classes]`` cosines to the centres (the largest over a
    class's centres when it has several; argmax = prediction)."""
    return _common.class_cosines(y_pred, self.centers[...], self._rows())


class ArcFaceHead(_CentersHead):
  """ArcFace loss with learnable class centres (:func:`jaxloss.arcface`)."""

  _fn = staticmethod(margin_softmax.arcface)
  _hyper = {"scale": 64.0, "margin": 0.5}


class CosFaceHead(_CentersHead):
  """CosFace loss with learnable class centres (:func:`jaxloss.cosface`)."""

  _fn = staticmethod(margin_softmax.cosface)
  _hyper = {"scale": 64.0, "margin": 0.35}


class ProxyNCAHead(_CentersHead):
  """ProxyNCA with learnable proxies (:func:`jaxloss.proxy_nca`)."""

  _fn = staticmethod(margin_softmax.proxy_nca)
  _hyper = {"softmax_scale": 1.0}


class ProxyAnchorHead(_CentersHead):
  """Proxy-Anchor loss with learnable proxies
  (:func:`jaxloss.proxy_anchor`; one value per batch)."""

  _fn = staticmethod(margin_softmax.proxy_anchor)
  _hyper = {"margin": 0.1, "alpha": 32.0}


class SoftTripleHead(_CentersHead):
  """SoftTriple loss with learnable centres ``[C * K, D]``
  (:func:`jaxloss.soft_triple`)."""

  _fn = staticmethod(margin_softmax.soft_triple)
  _hyper = {"centers_per_class": 10, "la": 20.0, "gamma": 0.1, "margin": 0.01}
  _rows_field = "centers_per_class"


class SubCenterArcFaceHead(_CentersHead):
  """Sub-center ArcFace with learnable sub-centres ``[C * K, D]``
  (:func:`jaxloss.subcenter_arcface`)."""

  _fn = staticmethod(margin_softmax.subcenter_arcface)
  _hyper = {"sub_centers": 3, "scale": 64.0, "margin": 0.5}
  _rows_field = "sub_centers"


class LargeMarginSoftmaxHead(_CentersHead):
  """L-Softmax with learnable class weights
  (:func:`jaxloss.large_margin_softmax`)."""

  _fn = staticmethod(margin_softmax.large_margin_softmax)
  _hyper = {"margin": 4, "scale": 1.0}


class SphereFaceHead(_CentersHead):
  """SphereFace with learnable class weights (:func:`jaxloss.sphereface`)."""

  _fn = staticmethod(margin_softmax.sphereface)
  _hyper = {"margin": 4, "scale": 1.0}


class NormalizedSoftmaxHead(_CentersHead):
  """Normalised softmax with learnable class weights
  (:func:`jaxloss.normalized_softmax`)."""

  _fn = staticmethod(margin_softmax.normalized_softmax)
  _hyper = {"temperature": 0.05}


class CenterLossHead(_CentersHead):
  """Center loss with learnable centres, zeros at init
  (:func:`jaxloss.center_loss`)."""

  _fn = staticmethod(margin_softmax.center_loss)

  def __init__(
    self,
    num_classes: int,
    features: int,
    *,
    reduction: str | None = "sum_over_batch_size",
  ):
    super().__init__(num_classes, features, reduction=reduction, zeros=True)


modules: Callable[[], dict[str, type[nnx.Module]]]
__getattr__: Callable[[str], type[nnx.Module]]
__dir__: Callable[[], list[str]]
modules, __getattr__, __dir__ = _common.deprecated_module_forms(
  module_class, globals()
)

__all__ = [
  "AdaptiveRobustLoss",
  "ArcFaceHead",
  "AuxLoss",
  "CenterLossHead",
  "CosFaceHead",
  "LargeMarginSoftmaxHead",
  "LossModule",
  "NormalizedSoftmaxHead",
  "ProxyAnchorHead",
  "ProxyNCAHead",
  "SoftTripleHead",
  "SphereFaceHead",
  "SubCenterArcFaceHead",
  "UncertaintyWeighting",
  "add_loss",
  "call_with_losses",
  "collect_losses",
]
