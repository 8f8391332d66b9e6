"""Generates trl_preference.json from TRL's own preference trainers.

Provenance: ``trl==1.16.0`` from PyPI (with its dependencies
transformers 5.25.0, accelerate 1.16.0, datasets 5.2.0) on
``torch==2.13.0`` (CPU build). TRL is not a test dependency: the values are
stored, and tests/test_lm_preference.py reads the JSON.

* DPO: ``DPOTrainer._compute_loss`` itself, called on a stand-in trainer
  and stand-in models whose fused LM head returns given per-token
  log-probabilities (0 at non-completion tokens, as the fused head gives
  for ``labels == -100``), so TRL's own code does the masking, LD-DPO
  weighting, f-divergence scores, loss types, mixtures, WPO weighting and
  the batch mean. Stored: the loss and its gradient with respect to the
  policy's per-token log-probabilities (torch autograd), float64 (the
  alpha-divergence case in float32: TRL's exponent clamp has no float64
  entry).
* CPO: ``CPOTrainer.cpo_loss`` on per-pair log-probabilities (AlphaPO's
  reward, SimPO's margin, label smoothing): per-pair losses and the
  gradient of their sum.

Run in a separate environment (never the project's):

  python -m venv trl-ref
  trl-ref/bin/pip install torch==2.13.0 trl==1.16.0
  trl-ref/bin/python tests/reference_data/generate_trl_preference.py
"""

from __future__ import annotations

import collections
import json
import pathlib
import types

import numpy as np
import torch
import trl
from trl.experimental.cpo import CPOTrainer
from trl.trainer.dpo_trainer import DPOTrainer

B, T = 4, 7  # pairs, tokens per sequence (prompt first)

DPO_CASES = [  # (name, options)
  ("sigmoid", dict(loss_type=["sigmoid"])),
  ("hinge", dict(loss_type=["hinge"])),
  ("ipo", dict(loss_type=["ipo"])),
  ("robust", dict(loss_type=["robust"], label_smoothing=0.1)),
  ("exo_pair", dict(loss_type=["exo_pair"], label_smoothing=1e-3)),
  ("nca_pair", dict(loss_type=["nca_pair"])),
  ("bco_pair", dict(loss_type=["bco_pair"])),
  ("sppo_hard", dict(loss_type=["sppo_hard"])),
  ("aot", dict(loss_type=["aot"], label_smoothing=0.1)),
  ("aot_unpaired", dict(loss_type=["aot_unpaired"])),
  ("apo_zero", dict(loss_type=["apo_zero"])),
  ("apo_down", dict(loss_type=["apo_down"])),
  ("discopop", dict(loss_type=["discopop"], discopop_tau=0.3)),
  ("sft", dict(loss_type=["sft"])),
  ("sigmoid_norm", dict(loss_type=["sigmoid_norm"])),
  (
    "mpo",
    dict(
      loss_type=["sigmoid", "bco_pair", "sft"], loss_weights=[0.8, 0.2, 1.0]
    ),
  ),
  ("forward_kl", dict(loss_type=["sigmoid"], f_divergence_type="forward_kl")),
  ("forward_kl_ipo", dict(loss_type=["ipo"], f_divergence_type="forward_kl")),
  (
    "js_sigmoid_norm",
    dict(loss_type=["sigmoid_norm"], f_divergence_type="js_divergence"),
  ),
  (
    "alpha_divergence",
    dict(
      loss_type=["sigmoid"],
      f_divergence_type="alpha_divergence",
      f_alpha_divergence_coef=0.3,
    ),
  ),
  ("wpo", dict(loss_type=["sigmoid", "ipo"], use_weighting=True)),
  ("ld_dpo", dict(loss_type=["sigmoid"], ld_alpha=0.5)),
  ("ld_dpo_ipo", dict(loss_type=["ipo"], ld_alpha=0.3)),
]

CPO_CASES = [
  ("alphapo", dict(loss_type="simpo", alpha=0.5, simpo_gamma=0.4, beta=2.0)),
  ("alphapo_negative", dict(loss_type="sigmoid", alpha=-0.7, beta=0.5)),
  (
    "cpo_smoothed",
    dict(loss_type="sigmoid", alpha=0.0, beta=0.5, label_smoothing=0.1),
  ),
]


def dpo_data(rng):
  """Per-token log-probabilities of [chosen; rejected] rows and masks."""
  mask = np.zeros((2 * B, T), bool)
  lengths = rng.integers(1, T, size=2 * B)  # completion tokens per row
  for i, n in enumerate(lengths):
    mask[i, T - n :] = True  # the prompt first, then the completion
  shift = mask[:, 1:]
  policy = rng.uniform(-3.0, -0.05, (2 * B, T - 1)) * shift
  reference = rng.uniform(-3.0, -0.05, (2 * B, T - 1)) * shift
  # log sum_v p_v ** 2 of each position (<= 0), for WPO.
  log_sum_sq = rng.uniform(-2.5, -0.1, (2 * B, T - 1))
  return mask, policy, reference, log_sum_sq


class StandInModel:
  """A causal LM whose fused head returns fixed per-token values."""

  training = True
  is_gradient_checkpointing = False

  def __init__(self, log_probs, log_sum_sq):
    self.log_probs, self.log_sum_sq = log_probs, log_sum_sq

  def __call__(self, **kwargs):
    n = self.log_probs.shape
    return types.SimpleNamespace(
      log_probs=self.log_probs,
      log_sum_sq_probs=self.log_sum_sq,
      entropy=torch.zeros(n, dtype=self.log_probs.dtype),
      mean_logits=torch.zeros(n, dtype=self.log_probs.dtype),
      is_top1=torch.zeros(n, dtype=torch.bool),
      aux_loss=None,
    )


def run_dpo(options, data, dtype):
  mask, policy, reference, log_sum_sq = data
  policy_t = torch.tensor(policy, dtype=dtype, requires_grad=True)
  # The fused head's value at a label of -100 is 0 and does not depend on
  # the model: no gradient reaches those positions.
  shift = torch.tensor(mask[:, 1:], dtype=dtype)
  model = StandInModel(policy_t * shift, torch.tensor(log_sum_sq, dtype=dtype))
  ref_model = StandInModel(
    torch.tensor(reference, dtype=dtype), torch.tensor(log_sum_sq, dtype=dtype)
  )
  loss_types = options["loss_type"]
  trainer = types.SimpleNamespace(
    model=model,
    ref_model=ref_model,
    accelerator=types.SimpleNamespace(
      device=torch.device("cpu"),
      gather_for_metrics=lambda x: x,
      gather=lambda x: x,
      unwrap_model=lambda m: m,
    ),
    aux_loss_enabled=False,
    precompute_ref_logps=False,
    beta=0.3,
    loss_types=loss_types,
    loss_weights=options.get("loss_weights") or [1.0] * len(loss_types),
    ld_alpha=options.get("ld_alpha"),
    f_divergence_type=options.get("f_divergence_type", "reverse_kl"),
    f_alpha_divergence_coef=options.get("f_alpha_divergence_coef", 0.5),
    label_smoothing=options.get("label_smoothing", 0.0),
    use_weighting=options.get("use_weighting", False),
    args=types.SimpleNamespace(
      discopop_tau=options.get("discopop_tau", 0.05),
      gradient_checkpointing_kwargs=None,
    ),
    _metrics=collections.defaultdict(lambda: collections.defaultdict(list)),
    _total_train_tokens=0,
    _tp_size=1,
  )
  inputs = {
    "input_ids": torch.zeros((2 * B, T), dtype=torch.long),
    "attention_mask": torch.ones((2 * B, T), dtype=torch.long),
    "completion_mask": torch.tensor(mask, dtype=torch.long),
  }
  loss = DPOTrainer._compute_loss(trainer, model, inputs, False)
  loss.backward()
  return float(loss.detach()), policy_t.grad.double().numpy()


def run_cpo(options, c, r):
  trainer = types.SimpleNamespace(
    alpha=options["alpha"],
    beta=options["beta"],
    loss_type=options["loss_type"],
    simpo_gamma=options.get("simpo_gamma", 0.5),
    label_smoothing=options.get("label_smoothing", 0.0),
    accelerator=types.SimpleNamespace(device=torch.device("cpu")),
  )
  ct = torch.tensor(c, dtype=torch.float64, requires_grad=True)
  rt = torch.tensor(r, dtype=torch.float64, requires_grad=True)
  losses, _, _ = CPOTrainer.cpo_loss(trainer, ct, rt)
  losses.sum().backward()
  return losses.detach().numpy(), ct.grad.numpy(), rt.grad.numpy()


def main():
  rng = np.random.default_rng(24)
  data = dpo_data(rng)
  mask, policy, reference, log_sum_sq = data
  dpo = {}
  for name, options in DPO_CASES:
    dtype = (
      torch.float32
      if options.get("f_divergence_type") == "alpha_divergence"
      else torch.float64
    )
    loss, grad = run_dpo(options, data, dtype)
    dpo[name] = dict(
      options=options, dtype=str(dtype), loss=loss, grad=grad.tolist()
    )
  c = rng.uniform(-3.0, -0.05, 6)
  r = rng.uniform(-3.0, -0.05, 6)
  cpo = {}
  for name, options in CPO_CASES:
    losses, gc, gr = run_cpo(options, c, r)
    cpo[name] = dict(
      options=options,
      losses=losses.tolist(),
      grad_chosen=gc.tolist(),
      grad_rejected=gr.tolist(),
    )
  out = {
    "provenance": (
      f"trl=={trl.__version__}, torch=={torch.__version__}; "
      "tests/reference_data/generate_trl_preference.py"
    ),
    "beta": 0.3,
    "completion_mask": mask.astype(int).tolist(),
    "policy_token_logps": policy.tolist(),
    "reference_token_logps": reference.tolist(),
    "log_sum_sq_probs": log_sum_sq.tolist(),
    "dpo": dpo,
    "cpo_chosen_logps": c.tolist(),
    "cpo_rejected_logps": r.tolist(),
    "cpo": cpo,
  }
  path = pathlib.Path(__file__).with_name("trl_preference.json")
  path.write_text(json.dumps(out, indent=1) + "\n")
  print(f"wrote {path}")


if __name__ == "__main__":
  main()
