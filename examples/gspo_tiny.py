"""GSPO with truncated importance sampling (TIS) on the synthetic reward of
examples/grpo_tiny.py.

The sampler computes its head in bfloat16 (a stand-in for an inference
engine whose numerics differ from the trainer's) and reports its own
log-probabilities; the trainer takes two optimiser steps per batch of
samples. :func:`jaxloss.policy_gradient` then uses GSPO's sequence-level
importance ratio (``importance_level="sequence"``, the geometric mean of
the token ratios against the policy that sampled) and multiplies each
token's term by the sampler weight ``min(exp(old_logps - sampler_logps),
2)`` (``sampler_correction="tis"``). The mean reward rises from about
``1 / vocab``.

Run: ``python examples/gspo_tiny.py``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import grpo_tiny  # noqa: E402

sys.path.remove(_HERE)


def main(steps=40, verbose=True, **kwargs):
  """Trains; returns the per-step mean reward."""
  options = dict(
    importance_level="sequence",
    sampler_correction="tis",
    sampler_threshold=2.0,
    updates_per_batch=2,
    lr=1e-2,
  )
  options.update(kwargs)
  return grpo_tiny.main(steps=steps, verbose=verbose, **options)


if __name__ == "__main__":
  main()
