"""Per-class weight vectors: PyTorch's ``weight`` and ``pos_weight``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._src import numerics


def class_vector(caller: str, name: str, value, shape, dtype) -> jax.Array:
  """A scalar or one entry per class, broadcast to ``shape`` (``[..., K]``,
  class axis last), in ``dtype``."""
  num_classes = shape[-1]
  if isinstance(value, bool):
    raise TypeError(f"{caller}: {name} must be a number or an array, got bool")
  w = numerics.as_array(caller, name, value)
  if not (
    jnp.issubdtype(w.dtype, jnp.floating)
    or jnp.issubdtype(w.dtype, jnp.integer)
  ):
    raise TypeError(f"{caller}: {name} must be numeric, got dtype {w.dtype}")
  if w.ndim > 1 or (w.ndim == 1 and w.shape[0] != num_classes):
    raise ValueError(
      f"{caller}: {name} must be a scalar or have one entry per class "
      f"({num_classes}), got shape {tuple(w.shape)}"
    )
  return jnp.broadcast_to(w.astype(dtype), shape)
