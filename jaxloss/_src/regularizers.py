"""Weight regularizers (Keras 3 semantics) applied to parameter pytrees.

A regularizer is a small frozen dataclass: called on one array it returns the
penalty of that array, exactly as ``keras.regularizers`` do; :func:`regularize`
sums one regularizer over the leaves of a parameter pytree selected by a
filter (a path regex or a predicate), giving a scalar to add to the loss.

The formulas follow keras/src/regularizers/regularizers.py (Keras 3.15):

* ``L1(l1=0.01)``: ``l1 * sum(|x|)``
* ``L2(l2=0.01)``: ``l2 * sum(x ** 2)``
* ``L1L2(l1=0.0, l2=0.0)``: the sum of both (Keras 3 defaults both factors
  to 0; ``l1_l2`` is the same class, as in Keras 3)
* ``OrthogonalRegularizer(factor=0.01, mode="rows")``: for a rank-2 ``x``
  with rows (or columns) ``x_i`` normalised as ``x_i / max(||x_i||, 1e-7)``,
  ``factor * 0.5 * sum_{i != j} |<x_i, x_j>| / (n (n - 1) / 2)``.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import math
import re
from typing import Any
from typing import Self

import jax
import jax.numpy as jnp

from jaxloss._src import numerics
from jaxloss._src import validation
from jaxloss._src.tree_paths import path_name
from jaxloss._src.typing import InputLike

# A regularisation factor is a finite Python number >= 0 (the object is
# hashable and its factor a constant).
_FACTOR = (0.0, math.inf)


def _float_input(caller: str, x: InputLike) -> tuple[jax.Array, jnp.dtype]:
  """(x in its compute dtype, the dtype the penalty is returned in)."""
  x = numerics.as_float(caller, "x", x)
  return x.astype(numerics.compute_dtype(x.dtype)), x.dtype


@dataclasses.dataclass(frozen=True)
class Regularizer:
  """Base class: ``regularizer(x) -> scalar penalty`` (0 for the base)."""

  def __call__(self, x: InputLike) -> jax.Array:
    x, dt = _float_input(type(self).__name__, x)
    return jnp.zeros((), dt)

  def get_config(self) -> dict[str, Any]:
    """The constructor keywords (Keras's ``get_config``)."""
    return dataclasses.asdict(self)

  @classmethod
  def from_config(cls, config: dict[str, Any]) -> Self:
    """The regularizer made from :meth:`get_config`'s dict."""
    return cls(**config)


@dataclasses.dataclass(frozen=True)
class L1(Regularizer):
  """L1 penalty ``l1 * sum(|x|)`` (Keras's ``L1``, default ``l1=0.01``).

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import regularizers
    >>> regularizers.L1(0.5)(jnp.array([1.0, -2.0]))
    Array(1.5, dtype=float32)
  """

  l1: float = 0.01

  def __post_init__(self) -> None:
    validation.static_number("L1", "l1", self.l1, *_FACTOR, high_open=True)

  def __call__(self, x: InputLike) -> jax.Array:
    x, dt = _float_input("L1", x)
    return (self.l1 * jnp.sum(jnp.abs(x))).astype(dt)


@dataclasses.dataclass(frozen=True)
class L2(Regularizer):
  """L2 penalty ``l2 * sum(x ** 2)`` (Keras's ``L2``, default ``l2=0.01``).

  Note: no factor 1/2 (unlike optax's ``add_decayed_weights`` convention).

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import regularizers
    >>> regularizers.L2(0.5)(jnp.array([1.0, -2.0]))
    Array(2.5, dtype=float32)
  """

  l2: float = 0.01

  def __post_init__(self) -> None:
    validation.static_number("L2", "l2", self.l2, *_FACTOR, high_open=True)

  def __call__(self, x: InputLike) -> jax.Array:
    x, dt = _float_input("L2", x)
    return (self.l2 * jnp.sum(jnp.square(x))).astype(dt)


@dataclasses.dataclass(frozen=True)
class L1L2(Regularizer):
  """``l1 * sum(|x|) + l2 * sum(x ** 2)``; both default to 0 as in Keras 3.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import regularizers
    >>> regularizers.L1L2(l1=0.5, l2=0.5)(jnp.array([1.0, -2.0]))
    Array(4., dtype=float32)
  """

  l1: float = 0.0
  l2: float = 0.0

  def __post_init__(self) -> None:
    validation.static_number("L1L2", "l1", self.l1, *_FACTOR, high_open=True)
    validation.static_number("L1L2", "l2", self.l2, *_FACTOR, high_open=True)

  def __call__(self, x: InputLike) -> jax.Array:
    x, dt = _float_input("L1L2", x)
    total = jnp.zeros((), x.dtype)
    if self.l1:
      total = total + self.l1 * jnp.sum(jnp.abs(x))
    if self.l2:
      total = total + self.l2 * jnp.sum(jnp.square(x))
    return total.astype(dt)


@dataclasses.dataclass(frozen=True)
class OrthogonalRegularizer(Regularizer):
  """Mean absolute cosine between distinct rows (or columns) of a matrix.

  ``factor * 0.5 * sum_{i != j} |<u_i, u_j>| / (n (n - 1) / 2)`` with
  ``u_i = x_i / max(||x_i||, 1e-7)`` the rows (``mode="rows"``) or columns
  (``mode="columns"``) of ``x`` and ``n`` their number, as in Keras 3. A
  zero row contributes 0 with a finite gradient. ``n = 1`` gives NaN in
  Keras (0 / 0); here it gives 0.

  Raises:
    ValueError: for a negative factor, an unknown mode, or an input that is
      not rank 2.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import regularizers
    >>> w = jnp.array([[1.0, 0.0], [1.0, 1.0]])
    >>> regularizers.OrthogonalRegularizer(factor=1.0)(w)
    Array(0.70710677, dtype=float32)
  """

  factor: float = 0.01
  mode: str = "rows"

  def __post_init__(self) -> None:
    validation.static_number(
      "OrthogonalRegularizer", "factor", self.factor, *_FACTOR, high_open=True
    )
    validation.choice(
      "OrthogonalRegularizer", "mode", self.mode, ("rows", "columns")
    )

  def __call__(self, x: InputLike) -> jax.Array:
    caller = "OrthogonalRegularizer"
    x, dt = _float_input(caller, x)
    if x.ndim != 2:
      raise ValueError(
        f"{caller}: x must have rank 2, got shape {tuple(x.shape)}"
      )
    if self.mode == "columns":
      x = x.T
    u = numerics.l2_normalize(x, axis=1)
    n = u.shape[0]
    product = jnp.abs(u @ u.T) * (1.0 - jnp.eye(n, dtype=u.dtype))
    pairs = n * (n - 1) / 2.0
    value = numerics.safe_divide(self.factor * 0.5 * jnp.sum(product), pairs)
    return value.astype(dt)


# Keras 3's lowercase names are the classes themselves.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = orthogonal = OrthogonalRegularizer

_BY_NAME = {
  "l1": L1,
  "L1": L1,
  "l2": L2,
  "L2": L2,
  "l1_l2": L1L2,
  "L1L2": L1L2,
  "orthogonal_regularizer": OrthogonalRegularizer,
  "orthogonal": OrthogonalRegularizer,
  "OrthogonalRegularizer": OrthogonalRegularizer,
}

# A filter for the kernels (weight matrices) of Flax Dense/Conv layers and
# Keras layers: the last path key is "kernel".
KERNELS = r"(^|/)kernel$"


def get(identifier: Any) -> Any:
  """A regularizer from a name (Keras's names), a config dict or a callable.

  A name gives the class's defaults (``"l2"`` -> ``L2(0.01)``); a dict is
  ``{"class_name": ..., "config": {...}}``; a callable passes through.

  Raises:
    ValueError: for an unknown name or class name.
  """
  if identifier is None or (
    callable(identifier) and not isinstance(identifier, type)
  ):
    return identifier
  if isinstance(identifier, type) and issubclass(identifier, Regularizer):
    return identifier()
  if isinstance(identifier, dict):
    cls = _BY_NAME.get(identifier.get("class_name"))  # pyright: ignore
    if cls is None:
      raise ValueError(
        "get: class_name must be a known regularizer, got "
        f"{identifier.get('class_name')!r}"
      )
    return cls.from_config(identifier.get("config", {}))
  if isinstance(identifier, str) and identifier in _BY_NAME:
    return _BY_NAME[identifier]()
  raise ValueError(
    f"get: identifier must be a regularizer name {sorted(_BY_NAME)}, a "
    f"config dict or a callable, got {identifier!r}"
  )


def _selector(filter) -> Callable[[str, Any], bool]:
  if filter is None:
    return lambda name, leaf: True
  if isinstance(filter, str):
    pattern = re.compile(filter)
    return lambda name, leaf: pattern.search(name) is not None
  if callable(filter):
    return filter  # pyright: ignore[reportReturnType]
  raise TypeError(
    "regularize: filter must be None, a regex string or a predicate "
    f"(path, leaf) -> bool, got {type(filter).__name__}"
  )


def regularize(
  regularizer: Regularizer | str | Callable[[jax.Array], jax.Array],
  params: Any,
  *,
  filter: str | Callable[[str, Any], bool] | None = KERNELS,
  allow_empty: bool = False,
) -> jax.Array:
  """Sums a regularizer over the selected floating leaves of a pytree.

  ``total = sum(regularizer(leaf) for path, leaf in params if filter(path))``

  Leaves are selected by their ``/``-joined key path (e.g.
  ``"params/Dense_0/kernel"``, or ``"layers/0/kernel/value"`` for an nnx
  state): ``filter`` is a regex searched in it (default :data:`KERNELS`:
  the last key is ``kernel``), a predicate ``(path, leaf) -> bool``, or
  ``None`` for every floating leaf. Integer and boolean leaves are skipped.
  The sum is accumulated in float32 (float64 when a leaf is float64).

  Args:
    regularizer: a :class:`Regularizer`, a name understood by :func:`get`
      (``"l2"``), or any ``array -> scalar`` callable.
    params: a pytree of arrays (Flax linen variables, an ``nnx.State``, ...).
    filter: which leaves to penalise (see above).
    allow_empty: whether a selection of no leaf gives 0. By default it
      raises, so that a typo in ``filter`` cannot switch the penalty off.

  Returns:
    A scalar penalty (0 when nothing is selected and ``allow_empty``).

  Raises:
    TypeError: for a filter of the wrong type.
    ValueError: when no floating leaf is selected and not ``allow_empty``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss import regularizers
    >>> params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    >>> regularizers.regularize("l2", params)
    Array(0.04, dtype=float32)
  """
  reg = get(regularizer)
  select = _selector(filter)
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  terms = []
  for path, leaf in leaves:
    if not numerics.is_floating(leaf):
      continue
    if select(path_name(path), leaf):
      terms.append(reg(leaf))  # pyright: ignore[reportOptionalCall]
  if not terms:
    if not allow_empty:
      raise ValueError(
        f"regularize: filter must select at least one floating leaf "
        f"(or pass allow_empty=True), got filter={filter!r} matching none "
        f"of {len(leaves)} leaves"
      )
    return jnp.zeros((), jnp.float32)
  dtype = jnp.promote_types(
    jnp.float32, jnp.result_type(*[t.dtype for t in terms])
  )
  return sum((t.astype(dtype) for t in terms), start=jnp.zeros((), dtype))
