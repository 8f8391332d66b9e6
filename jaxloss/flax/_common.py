"""Pieces shared by the linen and nnx adapters (no Flax import here)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
from typing import Any
from typing import TypeVar
import warnings

import jax
import jax.numpy as jnp

from jaxloss._src import objects

# The linen collection / the name the auxiliary losses live under.
COLLECTION = "losses"

# A module form (a linen or nnx module class).
M = TypeVar("M")


def collect_losses(tree: Any, collection: str = COLLECTION) -> jax.Array:
  """Sums every recorded auxiliary loss term into one scalar.

  ``tree`` is what recording returned: the mutated linen variables (a dict
  holding ``collection``), the collection itself, or the ``nnx.State`` of
  :class:`jaxloss.flax.nnx.AuxLoss` variables from ``nnx.capture``. Each
  term is summed over its elements; the total is accumulated in float32
  (float64 for float64 terms). Nothing recorded gives 0.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.flax import collect_losses
    >>> collect_losses({"losses": {"dense": {"aux_loss": (jnp.array(1.0),
    ...                                                   jnp.array(2.0))}}})
    Array(3., dtype=float32)
  """
  if isinstance(tree, Mapping) and collection in tree:
    tree = tree[collection]
  leaves = [jnp.asarray(x) for x in jax.tree.leaves(tree)]
  if not leaves:
    return jnp.zeros((), jnp.float32)
  dtype = jnp.promote_types(
    jnp.float32, jnp.result_type(*[x.dtype for x in leaves])
  )
  return sum(
    (jnp.sum(x.astype(dtype)) for x in leaves), start=jnp.zeros((), dtype)
  )


def loss_classes() -> dict[str, type]:
  """The registered loss object classes a module form is derived for."""
  return {
    name: cls
    for name, cls in objects.classes().items()
    if cls is not objects.LossFunctionWrapper
  }


def config_fields(loss_cls) -> list[dataclasses.Field]:
  """The loss class's dataclass fields (hyper-parameters, reduction, dtype,
  name), in order."""
  return list(dataclasses.fields(loss_cls))


def deprecated_module_forms(
  module_class: Callable[[type], M], module_globals: dict[str, Any]
) -> tuple[
  Callable[[], dict[str, M]], Callable[[str], M], Callable[[], list[str]]
]:
  """``modules``, ``__getattr__`` and ``__dir__`` for an adapter module.

  The per-loss module forms (``jaxloss.flax.linen.Huber``) are deprecated
  in favour of the one generic ``LossModule(jaxloss.Huber(...))``: they are
  still built on first access, for one release, with a
  ``DeprecationWarning``. A name the adapter defines itself (a learnable
  head, ``LossModule``) is an ordinary attribute and never warns.
  """
  kind = module_globals["__name__"]

  def _warn(what: str) -> None:
    warnings.warn(
      f"{kind}.{what} is deprecated and will be removed in the next "
      f"release; wrap the loss object instead: "
      f"{kind}.LossModule(jaxloss.{what.split('(')[0]}(...))",
      DeprecationWarning,
      stacklevel=3,
    )

  def modules() -> dict[str, M]:
    """Deprecated: module forms of every registered loss class, by name."""
    warnings.warn(
      f"{kind}.modules() is deprecated and will be removed in the next "
      f"release; wrap loss objects in {kind}.LossModule instead",
      DeprecationWarning,
      stacklevel=2,
    )
    return {
      n: module_class(c)
      for n, c in loss_classes().items()
      if n not in module_globals
    }

  def __getattr__(name: str) -> M:  # noqa: N807 - a module's __getattr__
    classes = loss_classes()
    if name in classes:
      _warn(name)
      return module_class(classes[name])
    raise AttributeError(f"module {kind!r} has no attribute {name!r}")

  def __dir__() -> list[str]:  # noqa: N807 - a module's __dir__
    return sorted(module_globals)

  return modules, __getattr__, __dir__
