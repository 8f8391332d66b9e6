"""Writes ``torch_reference.json``: PyTorch 2.13 values for the tests.

Run once, with PyTorch installed (CPU is enough)::

    pip install torch==2.13.0 numpy
    python tests/reference_data/generate_torch.py

Every value is computed in float64 with ``reduction="none"`` from the
inputs of ``torch_cases.py`` (the ``guide-*`` entries: the migration
guide's calls with PyTorch's default reductions, ``torch_guide.py``);
the JSON records the library, version and call of each entry. The tests
read it and never import torch.
"""

from __future__ import annotations

import json
import os
import platform
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_cases as cases  # noqa: E402
import torch_guide as guide  # noqa: E402

OUT = os.path.join(
  os.path.dirname(os.path.abspath(__file__)), "torch_reference.json"
)


def _t(x, grad=False):
  return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _list(x):
  return np.asarray(x.detach().numpy(), np.float64).tolist()


def main():
  torch.set_default_dtype(torch.float64)
  entries = {}

  def put(key, call, **arrays):
    entries[key] = {"call": call, **{k: _list(v) for k, v in arrays.items()}}

  for case in cases.parity_cases():
    name, _, inputs, torch_name, torch_kwargs, order, _ = case
    targs = [_t(inputs[i]) for i in order]
    if name == "multi_margin":
      targs[1] = targs[1].long()
    put(
      cases.case_id(case),
      f"torch.nn.functional.{torch_name}(..., reduction='none', "
      f"**{torch_kwargs})",
      value=getattr(F, torch_name)(*targs, reduction="none", **torch_kwargs),
    )

  t, p, var = cases.gaussian_var_gradient_inputs()
  tv = _t(var, grad=True)
  F.gaussian_nll_loss(_t(p), _t(t), tv, reduction="sum").backward()
  put(
    "gaussian_nll-var_gradient",
    "d/dvar of gaussian_nll_loss(input, target, var, reduction='sum')",
    grad_var=tv.grad,
  )

  a, pos, neg = cases.triplet_inputs()
  for kwargs in cases.TRIPLET_KWARGS:
    ts = [_t(x, grad=True) for x in (a, pos, neg)]
    value = torch.nn.TripletMarginLoss(reduction="none", **kwargs)(*ts)
    value.sum().backward()
    put(
      cases.triplet_id(kwargs),
      f"torch.nn.TripletMarginLoss(reduction='none', **{kwargs}), "
      "gradients of the sum",
      value=value,
      grad_anchor=ts[0].grad,
      grad_positive=ts[1].grad,
      grad_negative=ts[2].grad,
    )
  ua, up, un = cases.triplet_unbatched_inputs()
  put(
    "triplet-unbatched",
    "F.triplet_margin_loss(a, p, n, reduction='none') on [4] vectors",
    value=F.triplet_margin_loss(_t(ua), _t(up), _t(un), reduction="none"),
  )
  q, k = cases.info_nce_inputs()
  tq, tk = F.normalize(_t(q), dim=-1), F.normalize(_t(k), dim=-1)
  put(
    "info_nce-in_batch",
    "F.cross_entropy(normalize(q) @ normalize(k).T / 0.1, arange(6), "
    "reduction='none')",
    value=F.cross_entropy(tq @ tk.T / 0.1, torch.arange(6), reduction="none"),
  )

  for key, in_shape, var_shape in cases.GAUSSIAN_VAR_SHAPES:
    y, mu, v = cases.gaussian_var_shape_inputs(in_shape, var_shape)
    put(
      f"gaussian_nll-var_shape-{key}",
      f"F.gaussian_nll_loss(input{list(in_shape)}, target, "
      f"var{list(var_shape)}, reduction='none')",
      value=F.gaussian_nll_loss(_t(mu), _t(y), _t(v), reduction="none"),
    )

  t, z = cases.pos_weight_inputs()
  for key, pw in cases.POS_WEIGHTS.items():
    ts, zs = _t(t), _t(z, grad=True)
    value = F.binary_cross_entropy_with_logits(
      zs, ts, pos_weight=_t(pw), reduction="none"
    )
    value.sum().backward()
    put(
      f"bce_pos_weight-{key}",
      f"F.binary_cross_entropy_with_logits(z, t, pos_weight={pw}, "
      "reduction='none'), gradient of the sum",
      value=value,
      grad_logits=zs.grad,
    )

  t, z, w = cases.soft_target_weight_inputs()
  for ls in (0.0, 0.2):
    zs = _t(z, grad=True)
    value = F.cross_entropy(
      zs, _t(t), weight=_t(w), label_smoothing=ls, reduction="none"
    )
    value.sum().backward()
    put(
      f"cross_entropy_soft_weight-ls{ls}",
      f"F.cross_entropy(z, soft_t, weight=w, label_smoothing={ls}, "
      "reduction='none'), gradient of the sum",
      value=value,
      grad_logits=zs.grad,
    )
  put(
    "cross_entropy_soft_weight-mean",
    "F.cross_entropy(z, soft_t, weight=w, reduction='mean')",
    value=F.cross_entropy(_t(z), _t(t), weight=_t(w), reduction="mean"),
  )

  t, z, w = cases.multilabel_weight_inputs()
  zs = _t(z, grad=True)
  value = F.multilabel_soft_margin_loss(
    zs, _t(t), weight=_t(w), reduction="none"
  )
  value.sum().backward()
  put(
    "multilabel_soft_margin-weight",
    "F.multilabel_soft_margin_loss(z, t, weight=w, reduction='none'), "
    "gradient of the sum",
    value=value,
    grad_logits=zs.grad,
  )

  # The migration guide's rows: PyTorch's default reductions, evaluated
  # as the guide writes them.
  namespace = {"torch": torch, "F": F}
  for key, value in guide.inputs().items():
    integer = np.issubdtype(value.dtype, np.integer)
    namespace[key] = torch.tensor(value) if integer else _t(value)
  for key, torch_call, _ in guide.ROWS:
    put(f"guide-{key}", torch_call, value=eval(torch_call, dict(namespace)))  # noqa: S307

  data = {
    "provenance": {
      "library": "torch",
      "version": torch.__version__,
      "numpy": np.__version__,
      "python": platform.python_version(),
      "dtype": "float64",
      "script": "tests/reference_data/generate_torch.py",
    },
    "entries": entries,
  }
  with open(OUT, "w") as f:
    json.dump(data, f, indent=1, sort_keys=True)
    f.write("\n")
  print(f"wrote {len(entries)} entries to {OUT}")


if __name__ == "__main__":
  main()
