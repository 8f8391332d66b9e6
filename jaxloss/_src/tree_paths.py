"""Names of pytree key paths, as regularizer filters and ``combine`` see them.

One home for the rule: a key path's keys (dict keys, attribute names,
sequence indices) joined by ``/``, e.g. ``"params/Dense_0/kernel"``.
Internal: ``jaxloss.regularizers.regularize`` matches its ``filter`` against
these names and ``jaxloss.combine`` names its per-output terms with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def path_name(path: Iterable[Any]) -> str:
  """A pytree key path -> its keys joined by ``/``.

  For example ``"params/Dense_0/kernel"``; the empty path gives ``""``.
  """
  parts = []
  for k in path:
    for attr in ("key", "name", "idx"):
      if hasattr(k, attr):
        parts.append(str(getattr(k, attr)))
        break
    else:
      parts.append(str(k))
  return "/".join(parts)
