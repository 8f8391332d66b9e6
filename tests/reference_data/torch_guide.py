"""The rows of the PyTorch migration guide (docs/migrating/pytorch.md).

Each row is a PyTorch loss call with its default reduction and the jaxloss
call that gives the same number, both written as the guide shows them. The
inputs are NumPy arrays from one seeded generator, under the names the
calls use. ``generate_torch.py`` evaluates the PyTorch calls (PyTorch
2.13, float64) and stores the values as ``guide-<id>`` entries of
``torch_reference.json``; ``tests/test_torch_guide.py`` evaluates the
jaxloss calls and checks that the guide shows each row's two calls.

Names in the calls: ``torch`` and ``F`` (``torch.nn.functional``) on the
PyTorch side; ``jaxloss``, ``jlo`` (``jaxloss.optax``), ``jax`` and ``jnp``
on the jaxloss side.
"""

from __future__ import annotations

import numpy as np

# (id, PyTorch call, jaxloss call). The first two rows of each kind are
# the default calls; the others are the options that change the divisor
# or the inputs.
ROWS = [
  (
    "mse",
    "torch.nn.MSELoss()(x, y)",
    "jaxloss.reduce(jaxloss.mean_squared_error(y, x))",
  ),
  (
    "l1",
    "torch.nn.L1Loss()(x, y)",
    "jaxloss.reduce(jaxloss.mean_absolute_error(y, x))",
  ),
  (
    "smooth_l1",
    "torch.nn.SmoothL1Loss(beta=0.5)(x, y)",
    "jaxloss.reduce(jaxloss.smooth_l1(y, x, beta=0.5))",
  ),
  (
    "huber",
    "torch.nn.HuberLoss(delta=0.5)(x, y)",
    "jaxloss.reduce(jaxloss.huber(y, x, delta=0.5))",
  ),
  (
    "cross_entropy",
    "torch.nn.CrossEntropyLoss()(logits, labels)",
    "jaxloss.reduce(jaxloss.sparse_categorical_crossentropy("
    "labels, logits, from_logits=True))",
  ),
  (
    "cross_entropy-weight",
    "torch.nn.CrossEntropyLoss(weight=w)(logits, labels)",
    "jaxloss.reduce(jaxloss.sparse_categorical_crossentropy("
    "labels, logits, from_logits=True), sample_weight=w[labels], "
    'reduction="mean_with_sample_weight")',
  ),
  (
    "cross_entropy-ignore_index",
    "torch.nn.CrossEntropyLoss(ignore_index=-100)(logits, labels_pad)",
    "jaxloss.reduce(jaxloss.sparse_categorical_crossentropy("
    "labels_pad, logits, from_logits=True, ignore_index=-100), "
    "where=labels_pad != -100)",
  ),
  (
    "cross_entropy-label_smoothing",
    "torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, labels)",
    "jaxloss.reduce(jaxloss.sparse_categorical_crossentropy("
    "labels, logits, from_logits=True, label_smoothing=0.1))",
  ),
  (
    "cross_entropy-probabilities",
    "torch.nn.CrossEntropyLoss()(logits, probs)",
    "jaxloss.reduce(jaxloss.categorical_crossentropy("
    "probs, logits, from_logits=True))",
  ),
  (
    "nll",
    "torch.nn.NLLLoss()(log_q, labels)",
    "jaxloss.reduce(jaxloss.sparse_categorical_crossentropy("
    "labels, log_q, from_logits=True))",
  ),
  (
    "bce",
    "torch.nn.BCELoss()(p_pred, t)",
    "jaxloss.reduce(jaxloss.binary_crossentropy(t, p_pred))",
  ),
  (
    "bce_logits",
    "torch.nn.BCEWithLogitsLoss()(z, t)",
    "jaxloss.reduce(jaxloss.binary_crossentropy(t, z, from_logits=True))",
  ),
  (
    "bce_logits-pos_weight",
    "torch.nn.BCEWithLogitsLoss(pos_weight=pw)(z, t)",
    "jaxloss.reduce(jaxloss.binary_crossentropy("
    "t, z, from_logits=True, pos_weight=pw))",
  ),
  (
    "kl_div-batchmean",
    'torch.nn.KLDivLoss(reduction="batchmean")(log_q, p)',
    "jaxloss.reduce(jlo.kl_divergence(log_q, p))",
  ),
  (
    "kl_div-log_target",
    'torch.nn.KLDivLoss(reduction="batchmean", log_target=True)(log_q, log_p)',
    "jaxloss.reduce(jlo.kl_divergence_with_log_targets(log_q, log_p))",
  ),
  (
    "kl_div-mean",
    "torch.nn.KLDivLoss()(log_q, p)",
    "jaxloss.reduce(jlo.kl_divergence(log_q, p)) / p.shape[-1]",
  ),
  (
    "poisson_nll",
    "torch.nn.PoissonNLLLoss()(x, counts)",
    "jaxloss.reduce(jaxloss.poisson_nll(counts, x))",
  ),
  (
    "gaussian_nll",
    "torch.nn.GaussianNLLLoss()(x, y, var)",
    "jaxloss.reduce(jaxloss.gaussian_nll(y, x, var))",
  ),
  (
    "soft_margin",
    "torch.nn.SoftMarginLoss()(z, sign)",
    "jaxloss.reduce(jaxloss.soft_margin(sign, z))",
  ),
  (
    "multilabel_soft_margin",
    "torch.nn.MultiLabelSoftMarginLoss()(z, t)",
    "jaxloss.reduce(jaxloss.multilabel_soft_margin(t, z))",
  ),
  (
    "multi_margin",
    "torch.nn.MultiMarginLoss()(logits, labels)",
    "jaxloss.reduce(jaxloss.multi_margin(labels, logits))",
  ),
  (
    "margin_ranking",
    "torch.nn.MarginRankingLoss(margin=0.1)(x1, x2, sign1)",
    "jaxloss.reduce(jaxloss.margin_ranking(sign1, x1, x2, margin=0.1))",
  ),
  (
    "hinge_embedding",
    "torch.nn.HingeEmbeddingLoss()(x, sign)",
    "jaxloss.reduce(jaxloss.hinge_embedding(sign, x))",
  ),
  (
    "cosine_embedding",
    "torch.nn.CosineEmbeddingLoss()(u, v, sign1)",
    "jaxloss.reduce(jaxloss.cosine_embedding(sign1, u, v))",
  ),
  (
    "triplet_margin",
    "torch.nn.TripletMarginLoss()(u, v, u2)",
    "jaxloss.reduce(jaxloss.triplet_margin_loss(u, v, u2))",
  ),
  (
    "ctc",
    "torch.nn.CTCLoss()(ctc_logits.log_softmax(-1).transpose(0, 1), "
    "ctc_labels, frames, label_lengths)",
    "jaxloss.reduce(jaxloss.ctc(ctc_labels, ctc_logits) / label_lengths)",
  ),
  (
    "ctc-variable_length",
    "torch.nn.CTCLoss()(ctc_logits.log_softmax(-1).transpose(0, 1), "
    "ctc_labels, frames_var, label_lengths)",
    "jaxloss.reduce(jlo.ctc_loss(ctc_logits, frame_paddings, ctc_labels, "
    "label_paddings) / label_lengths)",
  ),
]


def inputs() -> dict[str, np.ndarray]:
  """The arrays the calls name (float64 and int64), from one seeded
  generator; the same on every machine."""
  rng = np.random.default_rng(2913)
  n, c, d = 4, 5, 3

  def softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)

  logits = rng.normal(size=(n, c)) * 2.0
  labels = np.array([0, 3, 4, 1])
  labels_pad = np.array([0, -100, 4, -100])
  x = rng.normal(size=(n, d))
  z = rng.normal(size=(n, d)) * 2.0
  p = softmax(rng.normal(size=(n, c)))
  # CTC: 2 sequences, 6 frames, 4 classes (0 = blank); labels padded with
  # 0, the second sequence's audio 5 frames long in the variable case.
  frames_var = np.array([6, 5])
  label_lengths = np.array([3, 2])
  return {
    "x": x,
    "y": x + rng.normal(size=(n, d)),
    "logits": logits,
    "labels": labels,
    "labels_pad": labels_pad,
    "w": np.array([1.0, 2.0, 0.5, 1.5, 3.0]),
    "probs": softmax(rng.normal(size=(n, c))),
    "log_q": np.log(softmax(logits)),
    "p": p,
    "log_p": np.log(p),
    "p_pred": 1.0 / (1.0 + np.exp(-z)),
    "z": z,
    "t": (rng.uniform(size=(n, d)) < 0.5).astype(np.float64),
    "pw": np.array([2.0, 0.5, 4.0]),
    "counts": rng.poisson(2.0, size=(n, d)).astype(np.float64),
    "var": rng.uniform(0.5, 2.0, size=(n, d)),
    "sign": np.where(rng.uniform(size=(n, d)) < 0.5, -1.0, 1.0),
    "sign1": np.array([1.0, -1.0, -1.0, 1.0]),
    "x1": rng.normal(size=(n,)),
    "x2": rng.normal(size=(n,)),
    "u": rng.normal(size=(n, d)),
    "v": rng.normal(size=(n, d)),
    "u2": rng.normal(size=(n, d)),
    "ctc_logits": rng.normal(size=(2, 6, 4)),
    "ctc_labels": np.array([[1, 2, 2], [3, 1, 0]]),
    "frames": np.array([6, 6]),
    "frames_var": frames_var,
    "label_lengths": label_lengths,
    "frame_paddings": (np.arange(6) >= frames_var[:, None]).astype(float),
    "label_paddings": (np.arange(3) >= label_lengths[:, None]).astype(float),
  }
