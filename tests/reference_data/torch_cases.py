"""Inputs of the PyTorch reference cases (NumPy only, seeded).

Shared by ``generate_torch.py`` (which evaluates PyTorch on them once) and
the tests (which evaluate jaxloss on the same inputs and compare with the
stored values in ``torch_reference.json``). NumPy's ``default_rng`` streams
are stable across NumPy versions, so the inputs are rebuilt, not stored.
"""

from __future__ import annotations

import numpy as np


def parity_cases():
  """``(name, kwargs, inputs, torch_name, torch_kwargs, order, elementwise)``.

  ``order`` maps the jaxloss inputs to PyTorch's positional order;
  ``elementwise``: PyTorch returns per-element values that jaxloss averages
  over the last axis.
  """
  rng = np.random.default_rng(7)
  b, d, c = 3, 5, 4
  t_pm = 2.0 * rng.integers(0, 2, (b, d)) - 1
  t01 = rng.integers(0, 2, (b, d)).astype(float)
  x = rng.normal(size=(b, d)) * 2
  y = rng.normal(size=(b, d))
  counts = rng.integers(0, 5, (b, d)).astype(float)
  rates = rng.uniform(0.1, 3, (b, d))
  var = rng.uniform(0.0, 2.0, (b, d))
  var[0, 0] = 1e-9  # below eps: clamped
  labels = rng.integers(0, c, b)
  scores = rng.normal(size=(b, c))
  y_pair = 2.0 * rng.integers(0, 2, b) - 1
  s1, s2 = rng.normal(size=b), rng.normal(size=b)
  e1, e2 = rng.normal(size=(b, 3)), rng.normal(size=(b, 3))
  e1[0] = 0.0  # a zero vector meets PyTorch's 1e-12
  dists = rng.uniform(0, 2, (b, d))
  return [
    (
      "smooth_l1",
      {"beta": 0.7},
      (y, x),
      "smooth_l1_loss",
      {"beta": 0.7},
      (1, 0),
      True,
    ),
    (
      "smooth_l1",
      {"beta": 0.0},
      (y, x),
      "smooth_l1_loss",
      {"beta": 0.0},
      (1, 0),
      True,
    ),
    (
      "poisson_nll",
      {"full": True},
      (counts, x),
      "poisson_nll_loss",
      {"log_input": True, "full": True},
      (1, 0),
      True,
    ),
    (
      "poisson_nll",
      {"log_input": False},
      (counts, rates),
      "poisson_nll_loss",
      {"log_input": False},
      (1, 0),
      True,
    ),
    (
      "gaussian_nll",
      {"full": True},
      (y, x, var),
      "gaussian_nll_loss",
      {"full": True},
      (1, 0, 2),
      True,
    ),
    (
      "gaussian_nll",
      {},
      (y, x, var[:, :1]),
      "gaussian_nll_loss",
      {},
      (1, 0, 2),
      True,
    ),
    ("soft_margin", {}, (t_pm, x), "soft_margin_loss", {}, (1, 0), True),
    (
      "multilabel_soft_margin",
      {},
      (t01, x),
      "multilabel_soft_margin_loss",
      {},
      (1, 0),
      False,
    ),
    (
      "multi_margin",
      {"p": 2, "margin": 0.5},
      (labels, scores),
      "multi_margin_loss",
      {"p": 2, "margin": 0.5},
      (1, 0),
      False,
    ),
    (
      "margin_ranking",
      {"margin": 0.1},
      (y_pair, s1, s2),
      "margin_ranking_loss",
      {"margin": 0.1},
      (1, 2, 0),
      True,
    ),
    (
      "hinge_embedding",
      {"margin": 1.2},
      (t_pm, dists),
      "hinge_embedding_loss",
      {"margin": 1.2},
      (1, 0),
      True,
    ),
    (
      "cosine_embedding",
      {"margin": 0.2},
      (y_pair, e1, e2),
      "cosine_embedding_loss",
      {"margin": 0.2},
      (1, 2, 0),
      False,
    ),
  ]


def case_id(case) -> str:
  return f"{case[0]}-{sorted(case[1].items())}"


def gaussian_var_gradient_inputs():
  t, p = np.array([[0.5, 1.0]]), np.array([[0.0, 1.5]])
  var = np.array([[1e-9, 0.3]])
  return t, p, var


TRIPLET_KWARGS = [
  {},
  {"p": 1.0, "swap": True},
  {"p": 3.0, "eps": 0.0, "margin": 0.3},
  {"swap": True, "margin": 2.0},
  {"p": float("inf")},
]


def triplet_id(kwargs) -> str:
  return "triplet-" + ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))


def triplet_inputs():
  rng = np.random.default_rng(0)
  return tuple(rng.normal(size=(5, 4)) for _ in range(3))


def triplet_unbatched_inputs():
  rng = np.random.default_rng(1)
  return tuple(rng.normal(size=4) for _ in range(3))


def info_nce_inputs():
  rng = np.random.default_rng(2)
  return rng.normal(size=(6, 5)), rng.normal(size=(6, 5))


# ------------------------------------------- options added for PyTorch


# (id, input shape, var shape): every var shape PyTorch 2.13 accepts.
GAUSSIAN_VAR_SHAPES = [
  ("rows", (4, 3), (1, 3)),
  ("middle", (4, 3, 5), (4, 1, 5)),
  ("first", (4, 3, 5), (1, 3, 5)),
  ("last", (4, 3, 5), (4, 3, 1)),
  ("dropped", (4, 3, 5), (4, 3)),
]


def gaussian_var_shape_inputs(in_shape, var_shape):
  rng = np.random.default_rng(11)
  return (
    rng.normal(size=in_shape),
    rng.normal(size=in_shape),
    rng.uniform(0.1, 2.0, size=var_shape),
  )


def pos_weight_inputs():
  rng = np.random.default_rng(12)
  t = rng.integers(0, 2, (4, 3)).astype(float)
  t[0, 0] = 0.3  # a soft target
  z = rng.normal(size=(4, 3)) * 3
  z[1, 1] = 40.0  # saturated logits
  z[2, 2] = -40.0
  return t, z


POS_WEIGHTS = {"scalar": 2.5, "per_class": [0.5, 2.0, 4.0]}


def soft_target_weight_inputs():
  rng = np.random.default_rng(13)
  t = rng.uniform(0.0, 1.0, (4, 5))
  t /= t.sum(-1, keepdims=True)
  z = rng.normal(size=(4, 5)) * 2
  w = rng.uniform(0.2, 3.0, 5)
  return t, z, w


def multilabel_weight_inputs():
  rng = np.random.default_rng(14)
  t = rng.integers(0, 2, (4, 5)).astype(float)
  z = rng.normal(size=(4, 5)) * 2
  w = rng.uniform(0.2, 3.0, 5)
  return t, z, w


def kl_div_inputs():
  """``{case: (target, log_input, log_target)}``: zero targets, a negative
  target, log-targets, and a scalar pair."""
  rng = np.random.default_rng(11)
  log_q = np.log(rng.dirichlet(np.ones(4), size=3))
  t = rng.dirichlet(np.ones(4), size=3)
  t[0, 1] = 0.0
  t[2, 0] = 0.0
  neg = t.copy()
  neg[1, 2] = -0.25
  return {
    "zero_targets": (t, log_q, False),
    "negative_target": (neg, log_q, False),
    "log_targets": (np.log(rng.dirichlet(np.ones(4), size=3)), log_q, True),
    "scalar": (np.array(0.3), np.array(-1.7), False),
  }


def multi_margin_weight_inputs():
  """Scores ``[3, 4]``, labels ``[3]``, class weights ``[4]``, and one
  unbatched sample (scores ``[4]``, a scalar label)."""
  rng = np.random.default_rng(12)
  z = rng.normal(size=(3, 4))
  y = np.array([0, 3, 2])
  w = np.array([0.5, 1.0, 2.0, 3.0])
  return z, y, w, z[1], np.array(3)
