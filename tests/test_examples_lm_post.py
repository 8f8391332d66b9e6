"""Runs examples/dpo_tiny.py and examples/grpo_tiny.py at toy size: the DPO
reward margin and the GRPO reward rise."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def _load(name):
  spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_dpo_tiny_reward_margin_rises():
  history = _load("dpo_tiny").main(steps=12, verbose=False)
  loss, margin, accuracy = history.T
  assert np.all(np.isfinite(history))
  np.testing.assert_allclose(loss[0], np.log(2), rtol=1e-5)  # policy = ref
  assert margin[0] == 0.0
  assert margin[-1] > 1.0, margin
  assert np.mean(accuracy[-3:]) > 0.9, accuracy
  assert loss[-1] < 0.5 * loss[0], loss


def test_grpo_tiny_reward_rises():
  rewards = _load("grpo_tiny").main(steps=12, verbose=False)
  assert np.all(np.isfinite(rewards))
  # Starts near 1 / vocab = 0.125 (a near-uniform initial policy).
  assert rewards[0] < 0.3, rewards
  assert np.mean(rewards[-3:]) > np.mean(rewards[:3]) + 0.3, rewards


def test_gspo_tis_tiny_reward_rises():
  # examples/gspo_tiny.py: GSPO (sequence-level ratios, two updates per
  # batch) with truncated importance weights for a bfloat16 sampler.
  rewards = _load("gspo_tiny").main(steps=12, verbose=False)
  assert np.all(np.isfinite(rewards))
  assert rewards[0] < 0.3, rewards
  assert np.mean(rewards[-3:]) > np.mean(rewards[:3]) + 0.3, rewards
