"""The one type alias of array-like inputs, for functions and classes alike.

JAX's ``ArrayLike`` covers arrays, NumPy arrays and scalars; jaxloss also
accepts (nested) Python lists and tuples wherever an input is expected, as
they work at run time, so ``InputLike`` adds them.
"""

from collections.abc import Sequence
from typing import Any
from typing import TypeAlias

from jax.typing import ArrayLike

# Arrays, NumPy arrays, scalars and (nested) Python sequences of numbers.
InputLike: TypeAlias = ArrayLike | Sequence[Any]

__all__ = ["InputLike"]
