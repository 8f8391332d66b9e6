"""The value domains of a loss's inputs, declared next to the loss.

``jaxloss.checked`` reports an input outside its domain (an id outside
``[0, V)``, a probability outside ``[0, 1]``, a negative variance) before
the NaN it causes. Each loss says what its inputs must hold where it is
written, with :func:`declare`; the debug layer reads it with :func:`of`.
Nothing here runs in the default path.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from typing import TypeVar

_F = TypeVar("_F", bound=Callable)

_ATTRIBUTE = "__jaxloss_domains__"


@dataclasses.dataclass(frozen=True)
class ClassIds:
  """Integer ids that must lie in ``[0, V)`` unless they are the ignore value.

  Attributes:
    ids: the input holding the ids.
    sized: the input whose ``axis`` has ``V`` entries.
    axis: that axis, or ``"axis"`` for the loss's own ``axis`` keyword.
    sharded: whether ``sized`` holds one shard of ``V`` over the loss's
      ``axis_name`` (``V`` is then the shard size times the axis size).
    lengths: an input of per-row lengths past which ids are padding.
    per: a hyper-parameter giving the entries of ``sized`` per class
      (several centres per class: ``V`` is the axis's size divided by it).
    ignore: the hyper-parameter holding the ignore value (``"pad_id"``),
      or the ignore value itself (an int), or None for none.
    where: a keyword input, a bool mask over the ids' leading axes: ids
      where it is False are not checked (tokens that do not count).

  ``ids`` and ``sized`` name positional inputs or keyword arguments (a
  keyword ``support``, a per-class hyper-parameter ``beta``); a scalar
  ``sized`` declares nothing.
  """

  ids: str
  sized: str
  axis: int | str = -1
  sharded: bool = False
  lengths: str | None = None
  per: str | None = None
  ignore: str | int | None = "ignore_index"
  where: str | None = None


@dataclasses.dataclass(frozen=True)
class Domains:
  """What a loss's inputs must hold.

  Attributes:
    class_ids: the ids' range (a tuple for a loss with several id
      inputs), or None.
    unit_targets: an input whose entries must lie in ``[0, 1]``.
    probabilities: an input of probabilities in ``[0, 1]`` (unless the loss
      is called with ``from_logits=True``).
    simplex: whether those probabilities' rows (along ``axis``) sum to 1.
    nonnegative: an input whose entries must be ``>= 0``.
  """

  class_ids: ClassIds | tuple[ClassIds, ...] | None = None
  unit_targets: str | None = None
  probabilities: str | None = None
  simplex: bool = False
  nonnegative: str | None = None


_NONE = Domains()


def declare(
  *,
  class_ids: ClassIds | tuple[ClassIds, ...] | None = None,
  unit_targets: str | None = None,
  probabilities: str | None = None,
  simplex: bool = False,
  nonnegative: str | None = None,
) -> Callable[[_F], _F]:
  """Declares a loss function's input domains (a decorator)."""
  domains = Domains(
    class_ids=class_ids,
    unit_targets=unit_targets,
    probabilities=probabilities,
    simplex=simplex,
    nonnegative=nonnegative,
  )

  def mark(fn: _F) -> _F:
    setattr(fn, _ATTRIBUTE, domains)
    return fn

  return mark


def of(fn: Callable) -> Domains:
  """The domains ``fn`` declared (none for a function that declared none)."""
  return getattr(fn, _ATTRIBUTE, _NONE)
