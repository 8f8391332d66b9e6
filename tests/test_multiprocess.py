"""The sharded losses across real processes (JAX's multi-controller runtime).

tests/multiprocess.py starts the processes on 127.0.0.1 (gloo collectives
between simulated CPU devices); each runs tests/multiprocess_losses.py,
which builds a ``data x model`` mesh over every process's devices, feeds
its own part of each input through ``jax.make_array_from_process_local_data``
and writes the values and gradients it computes. They are compared here
with the same losses computed on one device in this process (the
single-device losses are themselves tested against naive formulas in
tests/test_vocab_parallel.py, tests/test_lm_post.py and
tests/test_contrastive.py).

Float32 tolerance: values ``rtol=2e-6``; gradients ``rtol=1e-5,
atol=5e-6`` (the sharded sums add in another order; the largest gradient
entries are O(1)). One launch per process count checks every loss.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pathlib
import sys

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
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run_losses(out, processes, cpu_devices, names=()):
  multiprocess.launch(
    ["-m", "tests.multiprocess_losses", str(out), *names],
    processes=processes,
    cpu_devices=cpu_devices,
    timeout=TIMEOUT,
  )
  return [dict(np.load(out / f"{i}.npz")) for i in range(processes)]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
  """2 processes x 4 devices, every case (one launch)."""
  return _run_losses(tmp_path_factory.mktemp("two"), 2, 4)


@pytest.fixture(scope="module")
def four_processes(tmp_path_factory):
  """4 processes x 2 devices: the collectives over 4 processes."""
  return _run_losses(tmp_path_factory.mktemp("four"), 4, 2, FOUR_PROCESS_CASES)


@functools.cache
def _single(name):
  return losses.single_results(losses.CASES[name])


def _check(case, per_process):
  value, grads = _single(case.name)
  for got in per_process:
    # Every process holds the same (replicated) result.
    for k in got:
      np.testing.assert_array_equal(got[k], per_process[0][k], err_msg=k)
  got = per_process[0]
  np.testing.assert_allclose(got[losses.key(case, "value")], value, rtol=2e-6)
  assert len(grads) == len(case.wrt)
  for i, g in zip(case.wrt, grads, strict=True):
    np.testing.assert_allclose(
      got[losses.key(case, f"grad{i}")],
      g,
      rtol=1e-5,
      atol=5e-6,
      err_msg=f"{case.name}: gradient of input {i}",
    )


@pytest.mark.parametrize("name", list(losses.CASES))
def test_two_processes_equal_one_device(two_processes, name):
  _check(losses.CASES[name], two_processes)


@pytest.mark.parametrize("name", FOUR_PROCESS_CASES)
def test_four_processes_equal_one_device(four_processes, name):
  _check(losses.CASES[name], four_processes)


def test_the_mean_is_over_the_global_batch(two_processes):
  # Not the mean of the two processes' means (so the check above can fail
  # when the token count is not global).
  case = losses.CASES["vocab_parallel_linear_cross_entropy"]
  x, w, b, y = case.inputs()
  halves = [
    float(case.single(x[s], w, b, y[s])) for s in (slice(0, 2), slice(2, 4))
  ]
  got = two_processes[0][losses.key(case, "value")]
  assert abs(np.mean(halves) - got) > 1e-3
  count = two_processes[0][losses.key(losses.CASES["count_tokens"], "value")]
  assert count == np.sum(y != losses.IGNORE) == 7


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


def test_multiprocess_lm_example_equals_one_process(tmp_path):
  """examples/multiprocess_lm.py on 2 processes x 4 devices: the same loss
  curve as examples/tiny_lm.py in one process on a 2 x 4 mesh."""
  pytest.importorskip("flax")
  pytest.importorskip("optax")
  size = dict(steps=4, batch=4, seq=8, vocab=32, dim=16)
  out = tmp_path / "losses.json"
  multiprocess.launch(
    ["examples/multiprocess_lm.py", f"--out={out}"]
    + [f"--{k}={v}" for k, v in size.items()],
    processes=2,
    cpu_devices=4,
    timeout=TIMEOUT,
  )
  got = json.loads(out.read_text())
  want = _tiny_lm().main(**size, verbose=False)
  np.testing.assert_allclose(got, want, rtol=2e-6)
  assert want[-1] < want[0]


def _tiny_lm():
  path = ROOT / "examples" / "tiny_lm.py"
  spec = importlib.util.spec_from_file_location("tiny_lm", path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # Flax modules are dataclasses
  try:
    spec.loader.exec_module(module)
  except BaseException:
    sys.modules.pop(spec.name, None)
    raise
  return module
