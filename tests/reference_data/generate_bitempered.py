"""Generates bitempered_reference.json from the authors' JAX package.

Provenance: ``jax-bitempered-loss==0.0.2`` from PyPI (Ehsan Amid, the
google/bi-tempered-loss JAX code), ``bi_tempered_logistic_loss`` with its
custom VJP, run in float64. The package is not a test dependency: the values
are stored, and tests/test_noisy_labels.py reads the JSON.

Run (with the package importable, e.g. unpacked on PYTHONPATH):

  python tests/reference_data/generate_bitempered.py
"""

from __future__ import annotations

import json
import pathlib

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax_bitempered_loss import loss as bt  # noqa: E402
import numpy as np  # noqa: E402

CASES = [  # (t1, t2, label_smoothing, num_iters)
  (1.0, 1.0, 0.0, 5),
  (0.7, 1.0, 0.0, 5),
  (0.5, 2.0, 0.0, 5),
  (0.8, 1.5, 0.1, 5),
  (0.2, 4.0, 0.0, 5),
  (0.5, 2.0, 0.0, 30),
  (0.8, 1.5, 0.1, 30),
]


def main():
  rng = np.random.default_rng(16)
  activations = rng.normal(size=(4, 5)) * 2
  labels = np.eye(5)[[0, 3, 4, 1]]
  labels[1] = [0.1, 0.2, 0.0, 0.6, 0.1]  # one soft row
  out = {
    "source": "jax-bitempered-loss==0.0.2 (PyPI), "
    "loss.bi_tempered_logistic_loss, float64",
    "activations": activations.tolist(),
    "labels": labels.tolist(),
    "cases": [],
  }
  for t1, t2, smoothing, iters in CASES:

    def total(a, t1=t1, t2=t2, smoothing=smoothing, iters=iters):
      return jnp.sum(
        bt.bi_tempered_logistic_loss(
          a, jnp.asarray(labels), t1, t2, smoothing, iters
        )
      )

    values = bt.bi_tempered_logistic_loss(
      jnp.asarray(activations), jnp.asarray(labels), t1, t2, smoothing, iters
    )
    grad = jax.grad(total)(jnp.asarray(activations))
    out["cases"].append(
      {
        "t1": t1,
        "t2": t2,
        "label_smoothing": smoothing,
        "num_iters": iters,
        "values": np.asarray(values).tolist(),
        "grad": np.asarray(grad).tolist(),
      }
    )
  path = pathlib.Path(__file__).with_name("bitempered_reference.json")
  path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
  main()
