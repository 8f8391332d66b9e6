"""Specs of the MoE router losses (jaxloss/_src/lm/router.py), against
NumPy float64 transcriptions of the papers' equations.
"""

from __future__ import annotations

import numpy as np

import jaxloss
from tests.specs import Spec
from tests.specs.lm_common import T

# ------------------------------------------------------------ MoE routers

E, KE = 5, 2


def _router(rng, b):
  logits = rng.normal(size=(b, T, E)) * 1.5
  p = np.exp(logits - logits.max(-1, keepdims=True))
  p = p / p.sum(-1, keepdims=True)
  return p, np.argsort(-p, axis=-1)[..., :KE]


def sequence_balance_reference(p, idx):
  # DeepSeek-V3 eq. 17-20 per sequence (loops over tokens and choices).
  out = []
  for b in range(p.shape[0]):
    f = np.zeros(E)
    for t in range(T):
      for j in range(KE):
        f[idx[b, t, j]] += E / (KE * T)
    out.append(np.sum(f * p[b].sum(0) / T))
  return np.array(out)


def load_balancing_reference(p, idx):
  # Fedus et al. 2022 eq. 4-6 over every token of the batch, top-k form.
  p2, i2 = p.reshape(-1, E), idx.reshape(-1, KE)
  f = np.bincount(i2.ravel(), minlength=E) / (len(p2) * KE)
  return E * np.sum(f * p2.mean(0))


def _router_edges():
  p = np.zeros((2, T, E))
  p[..., 0] = 1.0  # saturated router
  return [(p, np.zeros((2, T, KE), np.int64) + np.arange(KE))]


def _z_logits(rng, b):
  return (rng.normal(size=(b, E)) * 3,)


def z_reference(z):
  # Zoph et al. 2022 eq. 5, per token: logsumexp(z) ** 2.
  m = z.max(-1)
  return (m + np.log(np.exp(z - m[:, None]).sum(-1))) ** 2


SPECS = [
  Spec(
    name="load_balancing_loss",
    fn=jaxloss.load_balancing_loss,
    make_inputs=_router,
    reference=load_balancing_reference,
    reference_source="NumPy float64 transcription of Switch Transformer eq. "
    "4-6 (Fedus et al. 2022) with Megatron-core's 1/K",
    edge_inputs=_router_edges,
    diff_argnums=(0,),
    per_sample=False,
    value_rank=0,
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
  Spec(
    name="sequence_load_balancing_loss",
    fn=jaxloss.sequence_load_balancing_loss,
    make_inputs=_router,
    reference=sequence_balance_reference,
    reference_source="NumPy float64 transcription of DeepSeek-V3 eq. 17-20",
    edge_inputs=_router_edges,
    diff_argnums=(0,),
    mismatch=lambda a: (a[0], a[1][:, :-1]),
  ),
  Spec(
    name="router_z_loss",
    fn=jaxloss.router_z_loss,
    make_inputs=_z_logits,
    reference=z_reference,
    reference_source="NumPy float64 transcription of ST-MoE eq. 5",
    edge_inputs=lambda: [(np.array([[1e4, -1e4, 0.0, 0.0, 0.0]] * 2),)],
    diff_argnums=(0,),
    mismatch=lambda a: (a[0][0, 0],),  # a scalar: no expert axis
  ),
]
