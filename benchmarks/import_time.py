"""What ``import jaxloss`` costs on top of ``import jax``.

Usage::

  python -m benchmarks.import_time                # 9 runs of this checkout
  python -m benchmarks.import_time --runs 15
  python -m benchmarks.import_time --repo OTHER   # another checkout, e.g. an
                                                  # older commit, same sitting

Each run is a fresh interpreter that imports jax, then times ``import
jaxloss`` alone: the wall time and the process's CPU time (on a shared
machine the CPU time is the steadier of the two). The figure is the median
over the runs; one run before them, not counted, warms the file cache and
writes the bytecode caches, so the runs see what an installed package sees
(``PYTHONDONTWRITEBYTECODE`` is dropped for the same reason). The target is
at most 50 ms of wall time. For a per-module breakdown use ``python -X
importtime -c "import jax; import jaxloss"``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys

from benchmarks import run as run_lib

TARGET_MS = 50.0
ROOT = pathlib.Path(__file__).resolve().parent.parent
_CHILD = """
import time
import jax
wall, cpu = time.perf_counter(), time.process_time()
import jaxloss
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(1e3 * wall, 1e3 * cpu, jaxloss.__file__)
"""


def one_run(repo: pathlib.Path) -> tuple[float, float, str]:
  """Milliseconds of wall and CPU time of ``import jaxloss`` in ``repo``."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
  env.setdefault("JAX_PLATFORMS", "cpu")
  out = subprocess.run(
    [sys.executable, "-c", _CHILD],
    capture_output=True,
    text=True,
    check=True,
    cwd=repo,
    env=env,
  )
  wall, cpu, where = out.stdout.split()
  return float(wall), float(cpu), where


def measure(repo: pathlib.Path, runs: int) -> dict:
  """Median, min and max over ``runs`` runs after one warm-up run."""
  _, _, where = one_run(repo)
  walls, cpus = [], []
  for _ in range(runs):
    wall, cpu, _ = one_run(repo)
    walls.append(wall)
    cpus.append(cpu)
  return {"module": where, "wall": sorted(walls), "cpu": sorted(cpus)}


def _summary(ms: list[float]) -> str:
  return (
    f"median {statistics.median(ms):6.1f} ms  (min {ms[0]:.1f}, "
    f"max {ms[-1]:.1f})"
  )


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--runs", type=int, default=9)
  parser.add_argument(
    "--repo",
    type=pathlib.Path,
    default=ROOT,
    help="the checkout whose jaxloss is imported (default: this one)",
  )
  args = parser.parse_args(argv)
  info = run_lib.machine_info()
  print(
    f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, "
    f"jax {info['versions']['jax']}, load average {run_lib.load_average()}"
  )
  result = measure(args.repo.resolve(), args.runs)
  print(
    f"import jaxloss after import jax ({result['module']}), {args.runs} runs"
  )
  print(f"  wall {_summary(result['wall'])}")
  print(f"  cpu  {_summary(result['cpu'])}")
  wall = statistics.median(result["wall"])
  verdict = "meets" if wall <= TARGET_MS else "misses"
  print(f"  {verdict} the {TARGET_MS:.0f} ms target (median wall time)")


if __name__ == "__main__":
  main()
