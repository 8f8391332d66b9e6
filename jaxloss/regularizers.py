"""Keras 3 weight regularizers for parameter pytrees.

``regularize(regularizer, params, filter=...)`` sums a penalty over the
selected leaves; see :mod:`jaxloss._src.regularizers` for the formulas.
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from jaxloss._src.regularizers import KERNELS
from jaxloss._src.regularizers import L1
from jaxloss._src.regularizers import L1L2
from jaxloss._src.regularizers import L2
from jaxloss._src.regularizers import OrthogonalRegularizer
from jaxloss._src.regularizers import Regularizer
from jaxloss._src.regularizers import get
from jaxloss._src.regularizers import l1
from jaxloss._src.regularizers import l1_l2
from jaxloss._src.regularizers import l2
from jaxloss._src.regularizers import orthogonal
from jaxloss._src.regularizers import orthogonal_regularizer
from jaxloss._src.regularizers import regularize

__all__ = [
  "KERNELS",
  "L1",
  "L1L2",
  "L2",
  "OrthogonalRegularizer",
  "Regularizer",
  "get",
  "l1",
  "l1_l2",
  "l2",
  "orthogonal",
  "orthogonal_regularizer",
  "regularize",
]


def __getattr__(name: str) -> Callable[[Iterable[Any]], str]:
  # ``path_name`` was public by accident (an internal helper): it keeps
  # working for a release, with a warning.
  if name == "path_name":
    import warnings  # noqa: PLC0415

    from jaxloss._src.tree_paths import path_name  # noqa: PLC0415

    warnings.warn(
      "jaxloss.regularizers.path_name is deprecated and will be removed; "
      "regularize(filter=...) matches the '/'-joined key path for you",
      DeprecationWarning,
      stacklevel=2,
    )
    return path_name
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
