"""Stored reference values from other libraries, with the scripts that made
them, so that no test needs those libraries at run time."""

from __future__ import annotations

import functools
import json
import os

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def _torch_data():
  with open(os.path.join(_HERE, "torch_reference.json")) as f:
    return json.load(f)


def torch_reference(key: str) -> dict:
  """One entry of ``torch_reference.json`` (PyTorch 2.13, float64): its
  arrays as NumPy float64 and its ``call``."""
  entry = _torch_data()["entries"][key]
  return {
    k: (v if k == "call" else np.asarray(v, np.float64))
    for k, v in entry.items()
  }


def torch_version() -> str:
  return _torch_data()["provenance"]["version"]
