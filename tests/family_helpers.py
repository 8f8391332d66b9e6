"""Helpers that several family test modules share."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import optax

from tests.specs import imbalance as imb

X64 = dict(rtol=1e-10, atol=1e-12)


K = imb.K


def sparse(seed=0, b=3):
  rng = np.random.default_rng(seed)
  return imb.sparse_inputs(rng, b)


def softmax_ce(y, z):
  return optax.softmax_cross_entropy_with_integer_labels(z, y)


REF = json.loads(
  (
    pathlib.Path(__file__).parent
    / "reference_data"
    / "distributional_survival.json"
  ).read_text()
)


def close(got, want, rtol=1e-10, atol=1e-12, msg=""):
  np.testing.assert_allclose(
    np.asarray(got), np.asarray(want), rtol=rtol, atol=atol, err_msg=msg
  )
