"""The tiny LM of examples/tiny_lm.py, trained by several JAX processes.

Every process runs this same script. It first joins the others through
``jax.distributed.initialize`` (JAX's multi-controller runtime: one Python
process per host, or here several on one machine), then runs
``tiny_lm.main`` unchanged: the ``data x model`` mesh spans every process's
devices (``jax.devices()``), the ``data`` axis across processes and the
vocabulary (``model``) axis inside each, and each process builds its
batch shard from its own rows. The loss curve is that of
``python examples/tiny_lm.py`` on one process with the same mesh shape.

Environment of each process:

* ``JAX_COORDINATOR_ADDRESS``: ``host:port`` where process 0 serves the
  coordination service (read by ``jax.distributed.initialize``);
* ``JAXLOSS_NUM_PROCESSES``, ``JAXLOSS_PROCESS_ID``: the number of
  processes and this one's id (``0 .. N - 1``);
* ``JAXLOSS_CPU_DEVICES`` (CPU only): simulated devices per process; the
  CPU collectives across processes then use gloo over TCP.

Run on one machine, from the repository root (docs/lm.md, "Multi-host"):
``python -m tests.multiprocess --processes 2 --cpu-devices 4
examples/multiprocess_lm.py``, or one command per process.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

import jax


def initialize():
  """Joins the other processes; before anything touches JAX's devices."""
  devices = os.environ.get("JAXLOSS_CPU_DEVICES")
  if devices:
    jax.config.update("jax_num_cpu_devices", int(devices))
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    coordinator_address=os.environ["JAX_COORDINATOR_ADDRESS"],
    num_processes=int(os.environ["JAXLOSS_NUM_PROCESSES"]),
    process_id=int(os.environ["JAXLOSS_PROCESS_ID"]),
  )


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  for name, default in [
    ("steps", 10),
    ("batch", 8),
    ("seq", 16),
    ("vocab", 64),
    ("dim", 32),
  ]:
    parser.add_argument(f"--{name}", type=int, default=default)
  parser.add_argument("--out", help="process 0 writes the losses (JSON) here")
  args = parser.parse_args(argv)

  initialize()
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
  import tiny_lm  # after initialize: it must not start JAX's backend first

  if jax.device_count() != 8 or jax.process_count() > 2:
    raise SystemExit(
      "multiprocess_lm: trains on the 2 x 4 mesh of tiny_lm (2 processes of"
      f" 4 devices), got {jax.process_count()} processes of"
      f" {jax.local_device_count()} devices"
    )
  leader = jax.process_index() == 0
  if leader:
    print(
      f"{jax.process_count()} processes, {jax.device_count()} devices"
      f" ({jax.local_device_count()} per process)"
    )
  losses = tiny_lm.main(
    steps=args.steps,
    batch=args.batch,
    seq=args.seq,
    vocab=args.vocab,
    dim=args.dim,
    verbose=leader,
  )
  if leader and args.out:
    pathlib.Path(args.out).write_text(json.dumps(losses))


if __name__ == "__main__":
  main()
