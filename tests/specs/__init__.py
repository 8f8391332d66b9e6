"""Loss specs for the generic tests, one module per family.

Every module in this package defines ``SPECS: list[Spec]``; ``all_specs()``
collects them, and ``tests/test_generic.py`` runs the shape, jit, vmap,
reduction, weighting, dtype, gradient, edge-case and error tests on each.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import importlib
import pkgutil
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Spec:
  """How to exercise one loss in the generic tests.

  Attributes:
    name: test id (usually the function name, plus a variant suffix).
    fn: the per-sample function.
    make_inputs: ``(rng, batch) -> tuple of NumPy float64/int arrays``, the
      positional inputs for a batch of ``batch`` samples (leading axis).
    kwargs: hyper-parameters passed to ``fn`` (and to ``cls``).
    cls: the loss object class, or None.
    reference: ``(*inputs, **kwargs) -> per-sample NumPy float64 values``,
      an independent formula, or None when a parity test covers it.
    reference_source: where the reference comes from (paper, library@ver).
    edge_inputs: ``() -> list of input tuples`` at the edges (saturated
      logits, probabilities 0/1, zero vectors, ...): value and gradient
      must be finite.
    diff_argnums: which inputs are differentiated in gradient tests.
    per_sample: True when values have one entry per leading-axis sample (so
      that vmap over the batch equals the batched call); False for losses
      that reduce over the batch (Keras's ``axis=None`` overlap losses) or
      mine pairs across it.
    value_rank: rank of the values for a batch: usually 1 (``[B]``).
    half_rtol: tolerance of float16/bfloat16 results against float32.
    half_out: the output dtype for float16/bfloat16 inputs, when it is not
      the input's (the fused LM functions return float32).
    grad_check: run ``check_grads`` (False for piecewise-constant parts such
      as a clip at the sampled points).
    grad_eps: finite-difference step for ``check_grads``.
    kinds: ``{argnum: kind}`` of differentiated inputs whose domain is not
      the real line, for the edges ``jaxloss.testing.check_loss`` implies
      (``"positive"`` scales, ``"none"``: no implied edge).
    mismatch: ``inputs -> inputs`` with incompatible shapes, for the error
      test (default: two extra entries on the last axis of the first
      differentiated input).
  """

  name: str
  fn: Callable[..., Any]
  make_inputs: Callable[[np.random.Generator, int], tuple]
  kwargs: dict = dataclasses.field(default_factory=dict)
  cls: type | None = None
  reference: Callable[..., np.ndarray] | None = None
  reference_source: str = ""
  edge_inputs: Callable[[], list] | None = None
  diff_argnums: tuple = (1,)
  per_sample: bool = True
  value_rank: int = 1
  half_rtol: float = 5e-2
  half_out: Any = None
  grad_check: bool = True
  grad_eps: float = 1e-4
  mismatch: Callable[[tuple], tuple] | None = None
  kinds: dict | None = None

  def __repr__(self):
    return self.name


def all_specs() -> list[Spec]:
  specs = []
  for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    module = importlib.import_module(f"{__name__}.{info.name}")
    specs.extend(getattr(module, "SPECS", []))
  names = [s.name for s in specs]
  dupes = {n for n in names if names.count(n) > 1}
  assert not dupes, f"duplicate spec names: {dupes}"
  return specs


# ----------------------------------------------------------- input makers


def probs(rng, shape, low=0.02):
  """Probabilities in (low, 1 - low)."""
  return rng.uniform(low, 1 - low, size=shape)


def simplex(rng, shape):
  x = rng.uniform(0.1, 1.0, size=shape)
  return x / x.sum(-1, keepdims=True)


def one_hot(rng, batch, classes):
  return np.eye(classes)[rng.integers(0, classes, size=batch)]


def int_labels(rng, shape, classes):
  return rng.integers(0, classes, size=shape)
