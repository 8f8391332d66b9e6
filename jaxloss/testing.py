"""Check your own losses against the contracts jaxloss holds its losses to.

``check_loss(fn, *example_args)`` runs every contract (gradients against
central differences, eager == ``jit``, ``vmap`` == batch, no retracing,
finite at the edges, NaN propagation, half precision, reductions) and
returns a report; ``loss_contracts(...)`` turns losses into pytest tests.
Import it explicitly (``import jaxloss.testing``): ``import jaxloss`` does
not load it, and pytest is imported only by ``loss_contracts``.
"""

from jaxloss._src.testing import CONTRACTS
from jaxloss._src.testing import Case
from jaxloss._src.testing import ContractResult
from jaxloss._src.testing import LossContractError
from jaxloss._src.testing import Report
from jaxloss._src.testing import case
from jaxloss._src.testing import check_loss
from jaxloss._src.testing import loss_contracts

__all__ = [
  "CONTRACTS",
  "Case",
  "ContractResult",
  "LossContractError",
  "Report",
  "case",
  "check_loss",
  "loss_contracts",
]
