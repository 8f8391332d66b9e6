"""F-beta on a [B, 1] binary output: the per-sample mode degenerates, the
batch mode trains a real classifier (scikit-learn's bundled digits, "is it
a 0?", about 10% positives; a logistic model trained with Keras)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

keras = pytest.importorskip("keras")
datasets = pytest.importorskip("sklearn.datasets")
if keras.backend.backend() != "jax":
  pytest.skip("jaxloss.keras needs KERAS_BACKEND=jax", allow_module_level=True)

import jaxloss.keras as jk  # noqa: E402


def _train(mode):
  x, digit = datasets.load_digits(return_X_y=True)
  x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
  y = (digit == 0).astype(np.float32)[:, None]
  keras.utils.set_random_seed(0)
  model = keras.Sequential(
    [keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")]
  )
  model.compile(
    loss=jk.FBetaLoss(mode=mode), optimizer=keras.optimizers.Adam(0.05)
  )
  with jax.numpy_rank_promotion("allow"):  # Keras's Dense bias broadcast
    model.fit(x, y, batch_size=len(x), epochs=80, verbose=0)
    predicted = model.predict(x, batch_size=len(x), verbose=0) > 0.5
  tp = float(np.sum(predicted & (y > 0)))
  return tp / max(float(np.sum(predicted)), 1.0), tp / float(np.sum(y))


def test_fbeta_modes_on_binary_digits():
  precision, recall = _train("sample")
  # Per sample, a negative row's loss is 1 whatever the prediction: only
  # the positives push, towards predicting positive everywhere.
  assert precision < 0.3 and recall > 0.95
  precision, recall = _train("batch")
  assert precision > 0.9 and recall > 0.9
