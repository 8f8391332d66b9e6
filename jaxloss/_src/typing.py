"""The one input-type alias of the public API.

Every loss takes its array inputs as :data:`InputLike`: anything
``jnp.asarray`` turns into an array. The outputs are always ``jax.Array``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias
from typing import Union

import jax
import numpy as np

# The members of ``jax.typing.ArrayLike``, written out: type checkers that
# grade a library's public types (``pyright --verifytypes``) cannot see
# through jax's re-export of that alias and would call every input Unknown.
InputLike: TypeAlias = Union[  # noqa: UP007
  jax.Array,
  np.ndarray,
  np.bool_,
  np.number,
  bool,
  int,
  float,
  complex,
  Sequence["InputLike"],
]
"""An array-like input: a ``jax.Array``, a NumPy array or scalar, a Python
``bool`` / ``int`` / ``float`` / ``complex``, or a (nested) Python list or
tuple of these, as ``jnp.asarray`` accepts them."""

__all__ = ["InputLike"]
