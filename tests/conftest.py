"""Test configuration shared by the whole suite."""

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
# Eight simulated CPU devices for the sharded losses. The suite's programs
# are tiny, so compiling them costs more than running them: LLVM's backend
# optimisations are turned off, and fusions are emitted by the older
# elemental emitter, which compiles about a third faster (the XLA-level
# passes, which decide fusion, memory and the optimised HLO that
# tests/test_programs.py compares, still run; benchmarks do not use these
# flags).
os.environ.setdefault(
  "XLA_FLAGS",
  "--xla_force_host_platform_device_count=8"
  " --xla_backend_optimization_level=0"
  " --xla_llvm_disable_expensive_passes=true"
  " --xla_cpu_use_fusion_emitters=false"
  " --xla_cpu_parallel_codegen_split_count=1",
)

import jax  # noqa: E402
import pytest  # noqa: E402

# Silent rank promotion (e.g. [B] * [B, 1]) is a bug in a loss: make it loud.
jax.config.update("jax_numpy_rank_promotion", "raise")

# Compiling dominates the suite's time (most programs run once, on a few
# elements). XLA's executables are kept in an on-disk cache keyed by the
# program, the compile options and the jax version: the xdist workers share
# what either compiled, and a later run reuses it. JAXLOSS_TEST_CACHE names
# another folder; an empty value turns the cache off.
_CACHE = os.environ.get(
  "JAXLOSS_TEST_CACHE",
  str(pathlib.Path(__file__).resolve().parents[1] / ".cache" / "xla"),
)
if _CACHE:
  jax.config.update("jax_compilation_cache_dir", _CACHE)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@pytest.fixture
def x64():
  """Runs a test with float64 enabled."""
  with jax.enable_x64(True):
    yield


# The reference generators need the reference libraries (PyTorch,
# scikit-image, ...), which the suite never imports: they are scripts run by
# hand, not test modules.
collect_ignore_glob = ["reference_data/generate_*.py"]


# ------------------------------------------------ the one-line summary
# `make test` ends with one line: what ran, and the ten slowest tests (call
# phase; with xdist these reports arrive at the controller).
_DURATIONS: list[tuple[float, str]] = []


def pytest_runtest_logreport(report):
  if report.when == "call":
    _DURATIONS.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
  stats = terminalreporter.stats
  counts = {
    k: len(stats.get(k, []))
    for k in ("passed", "failed", "error", "skipped", "xfailed")
  }
  if not any(counts.values()):
    return  # nothing ran (--collect-only, or an empty selection)
  slowest = sorted(_DURATIONS, reverse=True)[:10]
  ran = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
  slow = "; ".join(
    f"{nodeid.split('::')[-1][:48]} {d:.1f}s" for d, nodeid in slowest
  )
  terminalreporter.write_line(f"jaxloss suite: {ran}. Slowest ten: {slow}")
