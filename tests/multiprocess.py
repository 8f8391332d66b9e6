"""Runs a program on several local JAX processes (the multi-controller runtime).

The launcher starts ``N`` Python processes on the loopback address, each
with the environment that :func:`initialize` reads, and watches them: it
returns when every process has exited with status 0, and otherwise raises
:class:`ProcessesFailed`, naming the process that failed first, with each
process's exit status and the end of its output. It never waits longer
than ``timeout`` seconds in all, nor longer than ``grace`` seconds after
the first failure: processes still running then are stopped, and the
report says so.

Environment of each process:

* ``JAX_COORDINATOR_ADDRESS``: ``host:port`` of the coordination service
  that process 0 starts, and ``JAX_COORDINATOR_BIND_ADDRESS``, where it
  listens (the same; both read by ``jax.distributed.initialize`` itself);
* ``JAXLOSS_NUM_PROCESSES``: the number of processes;
* ``JAXLOSS_PROCESS_ID``: this process's id, ``0 .. N - 1``;
* ``JAXLOSS_CPU_DEVICES``: simulated CPU devices per process (unset on
  accelerators); the CPU collectives across processes use gloo.

From the repository root, as a command::

    python -m tests.multiprocess --processes 2 --cpu-devices 4 \\
        examples/multiprocess_lm.py

In a process, first thing: ``tests.multiprocess.initialize()``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

ADDRESS = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES = "JAXLOSS_NUM_PROCESSES"
PROCESS_ID = "JAXLOSS_PROCESS_ID"
CPU_DEVICES = "JAXLOSS_CPU_DEVICES"

# Seconds. The coordination service declares a process dead after
# HEARTBEAT seconds without a heartbeat and then stops every other process
# (so a crashed process does not leave the others blocked in a collective);
# a process exiting normally waits at most SHUTDOWN seconds for the others.
HEARTBEAT = 30
SHUTDOWN = 30
STARTUP = 60  # how long process 0 waits for every process to register


# ------------------------------------------------------------------ launcher


@dataclasses.dataclass(frozen=True)
class Result:
  """How one process ended."""

  process_id: int
  returncode: int | None  # None: still running when the launcher stopped it
  seconds: float  # from the start to its exit (or to its stop)
  stdout: str
  stderr: str
  stopped: bool  # stopped by the launcher (timeout or grace period over)

  def status(self) -> str:
    if self.stopped:
      return f"still running after {self.seconds:.1f} s, stopped"
    code = self.returncode
    if code is not None and code < 0:
      try:
        name = signal.Signals(-code).name
      except ValueError:
        name = f"signal {-code}"
      return f"killed by {name} after {self.seconds:.1f} s"
    return f"exit status {code} after {self.seconds:.1f} s"


class ProcessesFailed(RuntimeError):
  """A process exited with a non-zero status, or the run timed out."""

  def __init__(self, message: str, results: list[Result], first: int | None):
    super().__init__(message)
    self.results = results
    self.first = first  # the process that failed first (None: timed out)


def local_sockets_error() -> str | None:
  """``None`` if a TCP socket on 127.0.0.1 can listen and be connected to;
  otherwise why not."""
  try:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
      server.bind(("127.0.0.1", 0))
      server.listen(1)
      with socket.create_connection(server.getsockname(), timeout=5):
        pass
  except OSError as e:
    return f"cannot open a TCP socket on 127.0.0.1: {e}"
  return None


def free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _child_env(base, address, processes, process_id, cpu_devices):
  env = dict(os.environ if base is None else base)
  env.update(
    {
      ADDRESS: address,
      # The service listens on the loopback address only (by default it
      # listens on every interface).
      "JAX_COORDINATOR_BIND_ADDRESS": address,
      NUM_PROCESSES: str(processes),
      PROCESS_ID: str(process_id),
      "PYTHONUNBUFFERED": "1",
      "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH")) if p
      ),
    }
  )
  # The coordinator's RPCs go to 127.0.0.1 directly, never through a proxy.
  for key in ("no_proxy", "NO_PROXY"):
    env[key] = ",".join(p for p in ("127.0.0.1", env.get(key)) if p)
  if cpu_devices is not None:
    env[CPU_DEVICES] = str(cpu_devices)
    env["JAX_PLATFORMS"] = "cpu"
    # The device count comes from JAXLOSS_CPU_DEVICES, not from a flag
    # inherited from the parent (the test suite simulates 8 devices).
    flags = re.sub(
      r"--xla_force_host_platform_device_count=\S+",
      "",
      env.get("XLA_FLAGS", ""),
    )
    env["XLA_FLAGS"] = " ".join(flags.split())
  return env


def _tail(text: str, lines: int) -> str:
  kept = text.rstrip().splitlines()[-lines:]
  return "\n".join("    | " + line for line in kept)


def launch(
  args: list[str],
  *,
  processes: int,
  cpu_devices: int | None = None,
  timeout: float = 300.0,
  grace: float = 30.0,
  env: dict[str, str] | None = None,
  tail_lines: int = 15,
) -> list[Result]:
  """Runs ``python *args`` as ``processes`` processes of one JAX program.

  Args:
    args: the arguments after ``python`` (a script and its arguments, or
      ``-m``, a module and its arguments), run from the repository root.
    processes: the number of processes.
    cpu_devices: simulated CPU devices per process (``None``: the
      platform's own devices).
    timeout: the longest the whole run may take, in seconds.
    grace: after the first process fails, how long the others get to end
      by themselves (the runtime stops them after its heartbeat timeout)
      before the launcher stops them.
    env: the environment to start from (default: this process's).
    tail_lines: lines of each process's output quoted in an error.

  Returns:
    One :class:`Result` per process, in process order, when all exited
    with status 0.

  Raises:
    ProcessesFailed: a process exited with a non-zero status (the message
      names the first one), or the run took longer than ``timeout``.
  """
  address = f"127.0.0.1:{free_port()}"
  command = [sys.executable, *args]
  with tempfile.TemporaryDirectory(prefix="jaxloss-mp-") as tmp:
    logs, procs = [], []
    start = time.monotonic()
    try:
      for i in range(processes):
        out = open(os.path.join(tmp, f"{i}.out"), "w+")  # noqa: SIM115
        err = open(os.path.join(tmp, f"{i}.err"), "w+")  # noqa: SIM115
        logs.append((out, err))
        procs.append(
          subprocess.Popen(
            command,
            cwd=ROOT,
            env=_child_env(env, address, processes, i, cpu_devices),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
          )
        )
      ended, first, timed_out = _watch(procs, start, timeout, grace)
    finally:
      for p in procs:  # only on an error above: _watch leaves none running
        if p.poll() is None:
          p.kill()
          p.wait()
    results = []
    for i, (out, err) in enumerate(logs):
      out.seek(0)
      err.seek(0)
      stopped = i not in ended
      results.append(
        Result(
          process_id=i,
          returncode=None if stopped else procs[i].returncode,
          seconds=ended.get(i, time.monotonic() - start),
          stdout=out.read(),
          stderr=err.read(),
          stopped=stopped,
        )
      )
      out.close()
      err.close()
  if first is None and not timed_out:
    return results
  name = " ".join(args)
  if first is not None:
    head = (
      f"{processes} processes of `python {name}`: process {first} failed"
      f" first ({results[first].status()})"
    )
  else:
    head = (
      f"{processes} processes of `python {name}`: timed out after"
      f" {timeout:.0f} s"
    )
  parts = [head]
  order = sorted(results, key=lambda r: (r.process_id != first, r.seconds))
  for r in order:
    parts.append(f"  process {r.process_id}: {r.status()}")
    if r.stderr.strip() or r.stdout.strip():
      parts.append(_tail(r.stdout + r.stderr, tail_lines))
  raise ProcessesFailed("\n".join(parts), results, first)


def _watch(procs, start, timeout, grace):
  """Polls until every process has exited or a deadline passes; stops the
  rest then. Returns ``({id: seconds at exit}, first failed id or None,
  timed out)``."""
  ended: dict[int, float] = {}
  first = None
  deadline = start + timeout
  timed_out = False
  while len(ended) < len(procs):
    now = time.monotonic()
    for i, p in enumerate(procs):
      if i not in ended and p.poll() is not None:
        ended[i] = now - start
        if p.returncode != 0 and first is None:
          first = i
          deadline = min(deadline, now + grace)
    if len(ended) == len(procs):
      break
    if now >= deadline:
      timed_out = first is None
      for i, p in enumerate(procs):
        if i not in ended:
          p.kill()
          p.wait()
      break
    time.sleep(0.05)
  return ended, first, timed_out


# -------------------------------------------------------- inside a process


def initialize(
  *,
  heartbeat_timeout_seconds: int = HEARTBEAT,
  shutdown_timeout_seconds: int = SHUTDOWN,
  initialization_timeout: int = STARTUP,
) -> None:
  """``jax.distributed.initialize`` from the launcher's environment.

  Call it before anything else touches JAX's devices. An uncaught
  exception then ends the process at once with status 1 (after printing
  its traceback), instead of first waiting up to
  ``shutdown_timeout_seconds`` at the runtime's shutdown barrier for the
  others: the launcher sees which process failed first, and the others
  are stopped by the runtime after ``heartbeat_timeout_seconds``.
  """
  import jax

  def exit_now(kind, value, traceback):
    sys.__excepthook__(kind, value, traceback)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)

  sys.excepthook = exit_now

  devices = os.environ.get(CPU_DEVICES)
  if devices:
    jax.config.update("jax_num_cpu_devices", int(devices))
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    coordinator_address=os.environ[ADDRESS],
    num_processes=int(os.environ[NUM_PROCESSES]),
    process_id=int(os.environ[PROCESS_ID]),
    initialization_timeout=initialization_timeout,
    heartbeat_timeout_seconds=heartbeat_timeout_seconds,
    shutdown_timeout_seconds=shutdown_timeout_seconds,
  )


def local_part(global_value, sharding):
  """The part of a global array that this process holds under ``sharding``
  (the box spanned by its devices' shards), as NumPy."""
  import numpy as np

  global_value = np.asarray(global_value)
  index = sharding.addressable_devices_indices_map(global_value.shape)
  box = []
  for axis, size in enumerate(global_value.shape):
    ranges = [s[axis].indices(size)[:2] for s in index.values()]
    box.append(slice(min(r[0] for r in ranges), max(r[1] for r in ranges)))
  return global_value[tuple(box)]


def global_array(global_value, sharding):
  """A global ``jax.Array`` built from this process's part only
  (``jax.make_array_from_process_local_data``)."""
  import jax
  import numpy as np

  global_value = np.asarray(global_value)
  return jax.make_array_from_process_local_data(
    sharding, local_part(global_value, sharding), global_value.shape
  )


# ------------------------------------------------------------------ command


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
    prog="python -m tests.multiprocess",
    description="Runs a Python program as N local JAX processes.",
  )
  parser.add_argument("--processes", "-n", type=int, default=2)
  parser.add_argument(
    "--cpu-devices",
    type=int,
    default=None,
    help="simulated CPU devices per process (default: the platform's own)",
  )
  parser.add_argument("--timeout", type=float, default=600.0)
  parser.add_argument("args", nargs=argparse.REMAINDER)
  ns = parser.parse_args(argv)
  if ns.args[:1] == ["--"]:
    ns.args = ns.args[1:]
  if not ns.args:
    parser.error("give the program to run (a script and its arguments)")
  try:
    results = launch(
      ns.args,
      processes=ns.processes,
      cpu_devices=ns.cpu_devices,
      timeout=ns.timeout,
    )
  except ProcessesFailed as e:
    print(e, file=sys.stderr)
    return 1
  for r in results:
    for line in r.stdout.splitlines():
      print(f"[{r.process_id}] {line}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
