"""Keras 3 weight regularizers for parameter pytrees.

``regularize(regularizer, params, filter=...)`` sums a penalty over the
selected leaves; see :mod:`jaxloss._src.regularizers` for the formulas.
"""

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
from jaxloss._src.regularizers import path_name
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
  "path_name",
  "regularize",
]
