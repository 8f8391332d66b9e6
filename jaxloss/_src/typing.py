"""The one input-type alias of the public API.

Every loss takes its array inputs as :data:`InputLike`: anything
``jnp.asarray`` turns into an array. The outputs are always ``jax.Array``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias
from typing import Union

from jax.typing import ArrayLike

InputLike: TypeAlias = Union[ArrayLike, Sequence["InputLike"]]  # noqa: UP007
"""An array-like input: a ``jax.Array``, a NumPy array or scalar, a Python
``bool`` / ``int`` / ``float`` / ``complex``, or a (nested) Python list or
tuple of these, as ``jnp.asarray`` accepts them."""

__all__ = ["InputLike"]
