"""``scoped``: public losses run under a named scope, so profiles read well.

Below every loss family (it imports only JAX): the family modules, the LM
package and the optax forms decorate their public functions with it.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
from typing import ParamSpec
from typing import TypeVar

import jax

_P = ParamSpec("_P")
_R = TypeVar("_R")


def scoped(fn: Callable[_P, _R]) -> Callable[_P, _R]:
  """Runs a public loss under ``jax.named_scope("jaxloss.<name>")``.

  Typed to keep ``fn``'s signature, so type checkers read the public
  functions' real arguments through the decorator.
  """

  @functools.wraps(fn)
  def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
    with jax.named_scope(f"jaxloss.{fn.__name__}"):
      return fn(*args, **kwargs)

  return wrapper
