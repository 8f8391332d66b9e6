"""Input makers, edge cases and constants that several family spec modules
share (no specs of its own).
"""

from __future__ import annotations

import numpy as np

from tests.specs import Spec
from tests.specs import int_labels
from tests.specs import one_hot
from tests.specs import probs

EPS = 1e-7  # Keras's epsilon
SRC = "NumPy transcription of the Keras 3.15 formula (keras/src/losses)"
TORCH = "PyTorch 2.13 documented formula (torch.nn.{})"

D = 5  # event size
K = 4  # classes
C = 3  # classes of the margin-softmax specs
EMBED_D = 3  # embedding size of the metric-learning specs


def pos_inputs(rng, b):
  return rng.uniform(0.1, 3.0, (b, D)), rng.uniform(0.1, 3.0, (b, D))


def bin_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), probs(rng, (b, D))


def bin_logit_inputs(rng, b):
  return rng.integers(0, 2, (b, D)).astype(float), rng.normal(size=(b, D)) * 3


def cat_logit_inputs(rng, b):
  return one_hot(rng, b, K), rng.normal(size=(b, K)) * 3


def labels_mismatch(args):
  labels, *rest = args
  return (np.concatenate([labels, labels[:1]]), *rest)


def sparse_logit_inputs(rng, b):
  return int_labels(rng, (b,), K), rng.normal(size=(b, K)) * 3


def bin_logit_edges_with_zero():
  t = np.array([[0.0, 1.0, 0.0, 1.0]])
  return [(t, np.array([[1e4, -1e4, -1e4, 1e4]])), (t, np.zeros((1, 4)))]


# ----------------------------------------------- metric learning


def labelled_embeddings(rng, b):
  """2b embeddings over 2 or 3 classes: positives and negatives exist even
  for b = 2 (mined losses are not per-sample)."""
  n = 2 * b
  return rng.permutation(np.arange(n) % (2 if n <= 4 else 3)), rng.normal(
    size=(n, EMBED_D)
  )


def mined_edges():
  e = np.random.default_rng(7).normal(size=(4, EMBED_D))
  pairs = np.array([0, 0, 1, 1])
  return [
    (pairs, np.zeros((4, EMBED_D))),  # all identical at the origin
    (pairs, e[[0, 0, 1, 1]]),  # zero positive distances
    (np.zeros(4, int), e),  # no negatives
    (np.arange(4), e),  # no positives
  ]


PML = (
  "pytorch-metric-learning 2.9 stored values "
  "(tests/reference_data/metric_learning.json, tests/test_metric.py)"
)


def pml_pair(name, fn, cls, value_rank, grad_check=True, **kwargs):
  return Spec(
    name,
    fn,
    labelled_embeddings,
    kwargs=kwargs,
    cls=cls,
    reference_source=PML,
    edge_inputs=mined_edges,
    per_sample=False,
    value_rank=value_rank,
    mismatch=labels_mismatch,
    grad_check=grad_check,
  )
