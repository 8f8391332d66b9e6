"""The PyTorch migration guide gives PyTorch's numbers, row by row.

Each row of ``tests/reference_data/torch_guide.py`` is a PyTorch call with
its default reduction and the jaxloss call the guide recommends; the
PyTorch values were stored by ``generate_torch.py`` with PyTorch 2.13.0
(CPU, float64) as ``guide-<id>`` entries of ``torch_reference.json``.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss
import jaxloss.optax as jlo
from tests.reference_data import torch_guide
from tests.reference_data import torch_reference

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "migrating" / "pytorch.md"


@pytest.mark.parametrize(
  "key, torch_call, jaxloss_call",
  torch_guide.ROWS,
  ids=[row[0] for row in torch_guide.ROWS],
)
def test_guide_row_gives_pytorch_value(key, torch_call, jaxloss_call, x64):
  ref = torch_reference(f"guide-{key}")
  assert ref["call"] == torch_call
  namespace = {"jaxloss": jaxloss, "jlo": jlo, "jax": jax, "jnp": jnp}
  namespace.update({k: jnp.asarray(v) for k, v in torch_guide.inputs().items()})
  got = eval(jaxloss_call, namespace)  # noqa: S307
  assert got.shape == ()
  np.testing.assert_allclose(got, ref["value"], rtol=1e-10, atol=1e-12)


def test_guide_shows_every_row():
  """The page shows each row's two calls as written here (tested)."""
  text = GUIDE.read_text()
  missing = [
    call
    for _, torch_call, jaxloss_call in torch_guide.ROWS
    for call in (torch_call, jaxloss_call)
    if f"`{call}`" not in text
  ]
  assert not missing, f"rows missing from the PyTorch guide: {missing}"
