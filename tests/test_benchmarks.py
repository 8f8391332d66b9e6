"""Smoke test of the benchmark runner, so that it cannot rot.

Runs ``benchmarks.run`` in ``--quick`` mode on one tiny size for two losses
and checks the report's structure, never its timings.
"""

from __future__ import annotations

import json

import pytest

from tests.optional import require

require("optax")
from benchmarks import cases as cases_lib  # noqa: E402
from benchmarks import run as run_lib  # noqa: E402

CASES = ("mean_squared_error", "sparse_categorical_crossentropy[logits]")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
  out = tmp_path_factory.mktemp("bench")
  argv = [
    "--quick",
    "--sizes",
    "256",
    "--repeats",
    "2",
    "--min-round-ms",
    "0",
    "--cases",
    ",".join(CASES),
    "--impls",
    "jaxloss,optax,floor",
    "--no-progress",
    "--markdown",
    str(out / "t.md"),
    "--png",
    str(out / "p.png"),
    "--json",
    str(out / "r.json"),
  ]
  rows = run_lib.main(argv)
  return rows, out


def test_every_implementation_timed(report):
  rows, _ = report
  timed = {(r["case"], r["impl"], r["mode"]) for r in rows if "median_s" in r}
  for case in CASES:
    for impl in ("jaxloss", "optax", "floor"):
      for mode in run_lib.MODES:
        assert (case, impl, mode) in timed
  assert not [r for r in rows if "error" in r]
  assert all(r["median_s"] > 0 and r["compile_s"] > 0 for r in rows)


def test_outputs_written(report):
  rows, out = report
  text = (out / "t.md").read_text()
  for case in CASES:
    assert f"| {case} |" in text
  assert "Machine:" in text and "jax " in text
  assert (out / "p.png").read_bytes()[:4] == b"\x89PNG"
  data = json.loads((out / "r.json").read_text())
  assert len(data["rows"]) == len(rows)
  assert data["machine"]["cores"] >= 1


def test_floor_kernel_moves_inputs():
  import jax.numpy as jnp

  kernel = run_lib.floor_kernel(1)
  labels = jnp.array([1, 2], jnp.int32)
  logits = jnp.ones((2, 3))
  assert kernel(labels, logits).tolist() == [[0.0] * 3, [-1.0] * 3]
  assert kernel(logits, 2 * logits).tolist() == [[1.0] * 3] * 2


def test_table_covers_keras_catalogue():
  keras_rows = [c for c in cases_lib.CASES if not c.name.startswith("optax.")]
  names = {c.loss.__name__ for c in keras_rows}
  assert len(names) == 22, sorted(names)
  # Drop-in rows time jaxloss.optax.<name> against optax.losses.<name>.
  from jaxloss import optax as jaxloss_optax  # noqa: PLC0415

  dropins = [
    c.name.removeprefix("optax.")
    for c in cases_lib.CASES
    if c.name.startswith("optax.")
  ]
  assert dropins and all(hasattr(jaxloss_optax, n) for n in dropins)
  assert all(
    c.optax is not None for c in cases_lib.CASES if c.name.startswith("optax.")
  )
  cases, _ = cases_lib.all_cases()
  assert len({c.name for c in cases}) == len(cases)


def test_program_fingerprint_tells_programs_apart():
  import jax
  import jax.numpy as jnp

  x = jnp.ones((4, 8))
  # The same computation written twice (different source lines) is the same
  # program; a different computation is not.
  first = jax.jit(lambda a: jnp.mean(jnp.square(a))).lower(x).compile()
  again = jax.jit(lambda b: jnp.mean(b * b)).lower(x).compile()
  other = jax.jit(lambda a: jnp.mean(jnp.abs(a))).lower(x).compile()
  # Only the opcode differs (add vs multiply): renaming must not hide it.
  added = jax.jit(lambda a: jnp.mean(a + a)).lower(x).compile()
  fp = run_lib.program_fingerprint
  assert fp(first) == fp(again)
  assert fp(first) != fp(other)
  assert fp(first) != fp(added)


def test_same_program_is_marked(report):
  rows, _ = report
  idx = run_lib._index(rows)
  n = rows[0]["n"]
  # jaxloss's MSE and the floor kernel are different programs.
  assert not run_lib.same_program(idx, CASES[0], n, "jaxloss", "floor", "vg")
  assert all(r.get("program") for r in rows)
