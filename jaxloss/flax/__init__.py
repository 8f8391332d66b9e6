"""Flax integration: loss modules (linen and nnx), auxiliary losses,
learnable losses.

* ``jaxloss.flax.linen.<LossClass>`` / ``jaxloss.flax.nnx.<LossClass>``: a
  module form of every registered loss object class, derived from the
  registry (no math in the wrappers).
* ``add_loss`` / ``collect_losses``: Keras's ``add_loss()`` on top of
  ``sow`` (linen: the ``"losses"`` collection; nnx: the :class:`AuxLoss`
  variable type under ``nnx.capture``).
* Learnable losses with their own parameters: ``AdaptiveRobustLoss``,
  ``UncertaintyWeighting``, ``ArcFaceHead``, ``CosFaceHead``,
  ``CenterLossHead`` in both ``linen`` and ``nnx``.

Flax is an optional extra: ``pip install jaxloss[flax]``.
"""

try:
  import flax  # noqa: F401
except ImportError as _error:  # pragma: no cover - exercised in a subprocess
  raise ImportError(
    "jaxloss.flax needs Flax, an optional extra: pip install jaxloss[flax]"
  ) from _error

from flax import nnx as _nnx
import flax.linen as _nn

from jaxloss._src.typing import InputLike
from jaxloss.flax import linen
from jaxloss.flax import nnx
from jaxloss.flax._common import collect_losses


def add_loss(
  module: _nn.Module | _nnx.Module, value: InputLike, *, name: str = "aux_loss"
) -> bool:
  """Records an auxiliary loss term from inside a linen or nnx module.

  Dispatches to :func:`jaxloss.flax.linen.add_loss` or
  :func:`jaxloss.flax.nnx.add_loss` by the module's kind.
  """
  if isinstance(module, _nn.Module):
    return linen.add_loss(module, value, name=name)
  return nnx.add_loss(module, value, name=name)


__all__ = ["add_loss", "collect_losses", "linen", "nnx"]
