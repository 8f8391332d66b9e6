"""The sharded losses across real processes (JAX's multi-controller runtime).

tests/multiprocess.py starts the processes on 127.0.0.1 (gloo collectives
between simulated CPU devices); each runs tests/multiprocess_losses.py,
which builds a ``data x model`` mesh over every process's devices, feeds
its own part of each input through ``jax.make_array_from_process_local_data``
and writes the values and gradients it computes. They are compared here
with the same losses computed on one device in this process (the
single-device losses are themselves tested against naive formulas in
tests/test_lm_vocab_parallel.py, tests/test_lm_log_probs.py,
tests/test_lm_distillation.py and tests/test_contrastive.py).

Float32 tolerance: values ``rtol=2e-6``; gradients ``rtol=1e-5,
atol=5e-6`` (the sharded sums add in another order; the largest gradient
entries are O(1)). One launch per process count checks every loss.
examples/multiprocess_lm.py is run in tests/test_example_tiny_lm.py.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests import multiprocess
from tests import multiprocess_losses as losses

_SOCKETS = multiprocess.local_sockets_error()
pytestmark = pytest.mark.skipif(
  _SOCKETS is not None,
  reason=f"the processes talk over local sockets; {_SOCKETS}",
)

TIMEOUT = 300  # seconds for one launch (start, compile, run) on a busy CPU
# Where 4 processes add to 2: the vocabulary over 4 processes, the ring
# through 4 processes, the token count summed over 4.
FOUR_PROCESS_CASES = [
  "vocab_parallel_linear_cross_entropy[model across processes]",
  "sharded_clip_loss[ring]",
  "count_tokens",
]


def _run_losses(out, processes, cpu_devices, names=()):
  multiprocess.launch(
    ["-m", "tests.multiprocess_losses", str(out), *names],
    processes=processes,
    cpu_devices=cpu_devices,
    timeout=TIMEOUT,
  )
  return [dict(np.load(out / f"{i}.npz")) for i in range(processes)]


@functools.cache
def _single(name):
  return losses.single_results(losses.CASES[name])


def _mismatches(names, per_process):
  """Each case's differences from one device, as messages (one launch
  checks every case, so that a test runs it once even when the suite is
  split over workers; every failing case is named)."""
  errors = []
  for name in names:
    case = losses.CASES[name]
    value, grads = _single(name)
    assert len(grads) == len(case.wrt)
    checks = [(losses.key(case, "value"), value, dict(rtol=2e-6))]
    checks += [
      (losses.key(case, f"grad{i}"), g, dict(rtol=1e-5, atol=5e-6))
      for i, g in zip(case.wrt, grads, strict=True)
    ]
    for k, want, tolerance in checks:
      try:
        # Every process holds the same (replicated) result.
        for got in per_process[1:]:
          np.testing.assert_array_equal(got[k], per_process[0][k])
        np.testing.assert_allclose(per_process[0][k], want, **tolerance)
      except AssertionError as e:
        errors.append(f"{k}: {e}")
  return errors


def test_two_processes_equal_one_device(tmp_path):
  """2 processes x 4 devices, every case."""
  per_process = _run_losses(tmp_path, 2, 4)
  errors = _mismatches(losses.CASES, per_process)
  assert not errors, "\n".join(errors)
  # The mean is over the global batch's tokens, not the mean of the two
  # processes' means (so the check above can fail when the count is not
  # global).
  case = losses.CASES["vocab_parallel_linear_cross_entropy"]
  x, w, b, y = case.inputs()
  halves = [case.single(x[s], w, b, y[s]) for s in (slice(0, 2), slice(2, 4))]
  got = per_process[0][losses.key(case, "value")]
  assert abs(np.mean(halves) - got) > 1e-3
  count = per_process[0][losses.key(losses.CASES["count_tokens"], "value")]
  assert count == np.sum(y != losses.IGNORE) == 7


def test_four_processes_equal_one_device(tmp_path):
  """4 processes x 2 devices: the cases whose collectives then cross more
  processes."""
  per_process = _run_losses(tmp_path, 4, 2, FOUR_PROCESS_CASES)
  errors = _mismatches(FOUR_PROCESS_CASES, per_process)
  assert not errors, "\n".join(errors)


def test_a_failing_process_stops_the_others(tmp_path):
  """Process 1 raises before the first collective: it exits at once, the
  runtime stops process 0 (blocked in the collective) after its heartbeat
  timeout, and the launcher names process 1."""
  with pytest.raises(multiprocess.ProcessesFailed) as info:
    multiprocess.launch(
      ["-m", "tests.multiprocess_losses", str(tmp_path), "--fail-in=1"]
      + ["count_tokens"],
      processes=2,
      cpu_devices=2,
      timeout=TIMEOUT,
      grace=60,  # well above the 3 s heartbeat timeout the workers use
    )
  error = info.value
  assert error.first == 1
  message = str(error)
  assert "process 1 failed first (exit status 1 after" in message
  assert losses.FAILURE.format(1) in message  # its traceback is quoted
  survivor = error.results[0]
  # Ended by the runtime, not left hanging until the launcher stopped it.
  assert not survivor.stopped
  assert survivor.returncode != 0
  assert not list(tmp_path.glob("*.npz"))


def test_the_launcher_stops_a_run_that_hangs():
  # Plain Python, no JAX: process 1 never ends.
  program = (
    "import os, time\n"
    "if os.environ['JAXLOSS_PROCESS_ID'] == '1':\n"
    "  print('waiting', flush=True)\n"
    "  time.sleep(120)\n"
  )
  with pytest.raises(multiprocess.ProcessesFailed) as info:
    multiprocess.launch(["-c", program], processes=2, timeout=3)
  error = info.value
  assert error.first is None
  assert "timed out after 3 s" in str(error)
  assert "process 1: still running after" in str(error)
  assert "| waiting" in str(error)
  assert error.results[0].returncode == 0
  assert error.results[1].stopped
