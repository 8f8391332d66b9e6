"""Empty batches: batch-level losses reject them with a clear error.

A per-sample loss maps an empty batch ``[0, ...]`` to an empty result, and
``reduce`` maps that to 0. A loss that mines pairs across the batch or
normalises by batch statistics has no value on an empty batch; it raises
this error instead of JAX's anonymous "zero-size array to reduction".
"""

from __future__ import annotations


def require_samples(caller: str, name: str, x, axis: int = 0) -> None:
  """``x.shape[axis]`` must be at least 1 (trace-time check)."""
  if x.ndim > axis and x.shape[axis] == 0:
    raise ValueError(
      f"{caller}: {name} must hold at least one sample along axis {axis} "
      f"(a batch-level loss has no value on an empty batch), got "
      f"{name}.shape={tuple(x.shape)}"
    )
