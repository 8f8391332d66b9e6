"""Flax linen forms of jaxloss: loss modules, auxiliary losses, learnable
losses.

Every registered loss object class ``jaxloss.<Name>`` has a linen module
``jaxloss.flax.linen.<Name>`` with the same fields (its hyper-parameters,
``reduction`` and ``dtype``; the loss's ``name`` is the module's name),
made from the registry on first access::

    loss = jaxloss.flax.linen.Huber(delta=2.0)
    value = loss.apply({}, y_true, y_pred)

Auxiliary losses ride on ``self.sow`` into the ``"losses"`` collection; see
:func:`add_loss` and :func:`apply_with_losses`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
import functools
from typing import Any
from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxloss._src import reduction as reduction_lib
from jaxloss._src.losses import adaptive
from jaxloss._src.losses import margin_softmax
from jaxloss._src.typing import InputLike
from jaxloss.flax import _common
from jaxloss.flax._common import COLLECTION
from jaxloss.flax._common import collect_losses

# ------------------------------------------------------------ loss modules


class LossModule(nn.Module):
  """A linen module around any loss object (``jaxloss.Huber(...)``, a
  ``jaxloss.wrap(...)`` result): ``module(*inputs, sample_weight=None,
  where=None, normalizer=None)`` calls it."""

  loss: Any = None

  def __call__(
    self,
    *inputs: InputLike,
    sample_weight: InputLike | None = None,
    where: InputLike | None = None,
    normalizer: float | jax.Array | None = None,
    **kwargs: InputLike,
  ) -> jax.Array:
    return self.loss(
      *inputs,
      sample_weight=sample_weight,
      where=where,
      normalizer=normalizer,
      **kwargs,
    )


def _loss_object(self):
  cls = type(self)._loss_class
  kwargs = {f: getattr(self, f) for f in type(self)._loss_fields}
  return cls(**kwargs)


def _call(
  self, *inputs, sample_weight=None, where=None, normalizer=None, **kwargs
):
  # ``kwargs``: the loss's keyword inputs of one call (CoxPH's ``strata``).
  return self.loss_object()(
    *inputs,
    sample_weight=sample_weight,
    where=where,
    normalizer=normalizer,
    **kwargs,
  )


@functools.cache
def module_class(loss_cls: type) -> type[nn.Module]:
  """The linen module class of a loss object class (cached)."""
  fields = [f for f in _common.config_fields(loss_cls) if f.name != "name"]
  namespace = {
    "__annotations__": {f.name: Any for f in fields},
    "__module__": __name__,
    "__qualname__": loss_cls.__name__,
    "__doc__": (
      f"Linen module of :class:`jaxloss.{loss_cls.__name__}`; fields: "
      f"{', '.join(f.name for f in fields)}."
    ),
    "_loss_class": loss_cls,
    "_loss_fields": tuple(f.name for f in fields),
    "loss_object": _loss_object,
    "__call__": _call,
  }
  for f in fields:
    namespace[f.name] = f.default
  return type(loss_cls.__name__, (nn.Module,), namespace)


# --------------------------------------------------------- auxiliary losses


def add_loss(
  module: nn.Module,
  value: InputLike,
  *,
  name: str = "aux_loss",
  collection: str = COLLECTION,
  during_init: bool = False,
) -> bool:
  """Records an auxiliary loss term (Keras's ``add_loss``) from a module.

  Sows ``value`` into ``collection`` under ``name``: several terms with
  the same name in one call are kept as a tuple (all are summed by
  :func:`collect_losses`). Nothing is recorded while the module is
  initialising unless ``during_init=True``, or when ``collection`` is not
  mutable in this ``apply``.

  Returns:
    Whether the term was recorded.

  Examples:
    >>> import flax.linen as nn
    >>> import jax.numpy as jnp
    >>> from jaxloss.flax import linen as jl
    >>> class Act(nn.Module):
    ...   @nn.compact
    ...   def __call__(self, x):
    ...     jl.add_loss(self, 0.1 * jnp.sum(x ** 2))
    ...     return x
    >>> out, total = jl.apply_with_losses(Act(), {}, jnp.ones(3))
    >>> print(round(float(total), 4))
    0.3
  """
  if module.is_initializing() and not during_init:
    return False
  return module.sow(collection, name, value)


def apply_with_losses(
  module: nn.Module,
  variables: Mapping[str, Any],
  *args: Any,
  collection: str = COLLECTION,
  mutable: Literal[False] | str | Sequence[str] = False,
  **kwargs: Any,
) -> tuple[Any, jax.Array]:
  """``module.apply`` that records auxiliary losses and sums them.

  Any stale ``collection`` in ``variables`` is dropped first, so the terms
  of one call never accumulate into the next.

  Returns:
    ``(out, total)``; with ``mutable`` (other collections, e.g.
    ``["batch_stats"]``) ``((out, updates), total)`` like ``apply``.
  """
  variables = {k: v for k, v in dict(variables).items() if k != collection}
  extra = (
    []
    if mutable is False
    else list([mutable] if isinstance(mutable, str) else mutable)
  )
  out, state = module.apply(
    variables, *args, mutable=[collection, *extra], **kwargs
  )
  total = collect_losses(state, collection)
  if mutable is False:
    return out, total
  updates = {k: v for k, v in state.items() if k != collection}
  return (out, updates), total


# ---------------------------------------------------------- learnable losses


def _constant(value):
  return lambda key, shape, dtype=jnp.float32: jnp.full(shape, value, dtype)


class AdaptiveRobustLoss(nn.Module):
  """Barron's adaptive robust loss with learnable ``alpha`` and ``scale``.

  Parameters ``latent_alpha``, ``latent_scale`` (scalars, or ``[num_dims]``)
  map to ``alpha = alpha_lo + (alpha_hi - alpha_lo) * sigmoid(latent_alpha)``
  in ``[alpha_lo, alpha_hi]`` and ``scale = scale_lo + softplus(latent_scale)``
  (:meth:`parameters` gives both); the loss is
  :func:`jaxloss.adaptive_robust_nll` reduced with ``reduction``.
  """

  num_dims: int | None = None
  alpha_init: float = 1.0
  scale_init: float = 1.0
  alpha_lo: float = 0.001
  alpha_hi: float = 1.999
  scale_lo: float = 1e-5
  reduction: str | None = "sum_over_batch_size"

  def setup(self) -> None:
    """Creates ``latent_alpha`` and ``latent_scale``."""
    shape = () if self.num_dims is None else (self.num_dims,)
    la, ls = adaptive.robust_latents(
      self.alpha_init,
      self.scale_init,
      alpha_lo=self.alpha_lo,
      alpha_hi=self.alpha_hi,
      scale_lo=self.scale_lo,
    )
    self.latent_alpha: jax.Array = self.param(
      "latent_alpha", _constant(la), shape
    )
    self.latent_scale: jax.Array = self.param(
      "latent_scale", _constant(ls), shape
    )

  def parameters(self) -> tuple[jax.Array, jax.Array]:
    """``(alpha, scale)`` from the current latents."""
    return adaptive.robust_parameters(
      self.latent_alpha,
      self.latent_scale,
      alpha_lo=self.alpha_lo,
      alpha_hi=self.alpha_hi,
      scale_lo=self.scale_lo,
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


class UncertaintyWeighting(nn.Module):
  """Kendall et al.'s learnable weighting of ``num_tasks`` task losses.

  Parameter ``log_variances`` ``[num_tasks]`` (zeros at init); calling the
  module on the stacked task losses ``[num_tasks]`` gives
  :func:`jaxloss.uncertainty_weighting`.
  """

  num_tasks: int = 2
  regression: Any = True

  @nn.compact
  def __call__(
    self, losses: InputLike | list[InputLike] | tuple[InputLike, ...]
  ) -> jax.Array:
    s = self.param("log_variances", nn.initializers.zeros, (self.num_tasks,))
    return adaptive.uncertainty_weighting(
      jnp.stack([jnp.asarray(x) for x in losses])
      if isinstance(losses, (list, tuple))
      else losses,
      s,
      regression=self.regression,
    )


class _CentersHead(nn.Module):
  """Base of the heads with learnable class centres ``centers [C, D]``."""

  num_classes: int = 2
  reduction: str | None = "sum_over_batch_size"

  _fn = None
  _init = nn.initializers.normal(1.0)

  def centers(self, features: int) -> jax.Array:
    """The ``[num_classes, features]`` centres parameter."""
    return self.param("centers", type(self)._init, (self.num_classes, features))

  def hyper_parameters(self) -> dict[str, Any]:
    """The kernel's keyword arguments besides the centres."""
    return {}

  @nn.compact
  def __call__(
    self,
    y_true: InputLike,
    y_pred: InputLike,
    sample_weight: InputLike | None = None,
    *,
    where: InputLike | None = None,
  ) -> jax.Array:
    centers = self.centers(jnp.shape(jnp.asarray(y_pred))[-1])
    values = type(self)._fn(  # pyright: ignore[reportOptionalCall]
      y_true, y_pred, centers, **self.hyper_parameters()
    )
    return reduction_lib.reduce(
      values, sample_weight=sample_weight, where=where, reduction=self.reduction
    )

  @nn.compact
  def cosines(self, y_pred: InputLike) -> jax.Array:
    """``[B, num_classes]`` cosines to the centres (argmax = prediction)."""
    return margin_softmax.class_cosines(
      y_pred, self.centers(jnp.shape(jnp.asarray(y_pred))[-1])
    )


class ArcFaceHead(_CentersHead):
  """ArcFace loss with learnable class centres ``centers [C, D]``
  (:func:`jaxloss.arcface`)."""

  scale: float = 64.0
  margin: float = 0.5
  _fn = staticmethod(margin_softmax.arcface)

  def hyper_parameters(self) -> dict[str, Any]:
    """The kernel's keyword arguments besides the centres."""
    return {"scale": self.scale, "margin": self.margin}


class CosFaceHead(_CentersHead):
  """CosFace loss with learnable class centres ``centers [C, D]``
  (:func:`jaxloss.cosface`)."""

  scale: float = 64.0
  margin: float = 0.35
  _fn = staticmethod(margin_softmax.cosface)

  def hyper_parameters(self) -> dict[str, Any]:
    """The kernel's keyword arguments besides the centres."""
    return {"scale": self.scale, "margin": self.margin}


class CenterLossHead(_CentersHead):
  """Center loss with learnable centres ``centers [C, D]`` (zeros at init;
  :func:`jaxloss.center_loss`)."""

  _fn = staticmethod(margin_softmax.center_loss)
  _init = staticmethod(nn.initializers.zeros)


modules: Callable[[], dict[str, type[nn.Module]]]
__getattr__: Callable[[str], type[nn.Module]]
__dir__: Callable[[], list[str]]
modules, __getattr__, __dir__ = _common.deprecated_module_forms(
  module_class, globals()
)

__all__ = [
  "AdaptiveRobustLoss",
  "ArcFaceHead",
  "CenterLossHead",
  "CosFaceHead",
  "LossModule",
  "UncertaintyWeighting",
  "add_loss",
  "apply_with_losses",
  "collect_losses",
]
