"""``jaxloss.testing.check_loss`` over the whole loss registry: every
correct loss passes every contract, with no false alarm (slow: the generic
tests run the same checks in the default suite, sharing programs)."""

from __future__ import annotations

import numpy as np
import pytest

from jaxloss._src import testing
from tests.specs import Spec
from tests.specs import all_specs

SPECS = all_specs()


def check_spec(spec: Spec) -> testing.Report:
  """``check_loss`` on a spec's object (or function), as a user calls it."""
  rng = np.random.default_rng(0)
  args = spec.make_inputs(rng, 4)
  if spec.cls is not None:
    loss = spec.cls(**spec.kwargs)
  else:
    loss = lambda *a: spec.fn(*a, **spec.kwargs)  # noqa: E731
    loss.__name__ = spec.name
  return testing.check_loss(
    loss,
    *args,
    diff_argnums=spec.diff_argnums,
    edges=spec.edge_inputs() if spec.edge_inputs is not None else (),
    per_sample=spec.per_sample,
    kinds=spec.kinds,
    order=2 if spec.grad_check else 0,
    grad_eps=spec.grad_eps,
    half_rtol=spec.half_rtol,
    half_out=spec.half_out,
  )


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_registry_passes_check_loss(spec):
  report = check_spec(spec)
  assert report.passed, str(report)
