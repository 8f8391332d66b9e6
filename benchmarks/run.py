"""Times jaxloss against optax, Keras (JAX backend), naive jnp and a floor.

Usage::

  python -m benchmarks.run            # default sizes 1e4 .. 1e7 elements
  python -m benchmarks.run --quick    # small sizes, few repeats
  python -m benchmarks.run --cases mean_squared_error,huber --sizes 1e4,1e5

For every case of :mod:`benchmarks.cases` and every size, each
implementation is wrapped as ``mean(values)`` and compiled twice with
``jax.jit``: the forward scalar and ``jax.value_and_grad`` with respect to
``y_pred``. Compile time (trace + lower + XLA compile) is reported apart from
the steady state, which is the median over interleaved rounds (every
implementation runs once per round, so load changes hit all alike) of calls
ending in ``block_until_ready``.

The memory floor moves the bytes a loss cannot avoid: forward reads every
input and writes a scalar; ``value_and_grad`` reads every input and writes an
array of ``y_pred``'s size (two reads, one write for element-wise losses).
Its achieved GB/s is the machine's streaming bandwidth for that size.

Nothing here is specific to the CPU: the runner uses the default JAX device.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import pathlib
import platform
import re
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import cases as cases_lib  # noqa: E402

IMPLS = ("jaxloss", "optax", "keras", "naive", "floor")
MODES = ("fwd", "vg")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES = (10_000, 100_000)
ROOT = pathlib.Path(__file__).resolve().parent.parent
# Marks a ratio between two implementations that compiled to the same XLA
# program (same optimised HLO): the ratio is then run-to-run noise.
SAME_MARK = " ≡"


# ------------------------------------------------------------ machine


def machine_info() -> dict:
  """CPU model, cores, device, library versions: printed with every table."""
  cpu = platform.processor() or platform.machine()
  try:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
      if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
  except OSError:
    pass
  try:
    usable = len(os.sched_getaffinity(0))
  except AttributeError:
    usable = os.cpu_count()
  dev = jax.devices()[0]
  versions = {"jax": jax.__version__, "jaxlib": jax.lib.__version__}
  for mod in ("optax", "keras"):
    try:
      versions[mod] = __import__(mod).__version__
    except ImportError:
      versions[mod] = None
  return {
    "cpu": cpu,
    "cores": usable,
    "platform": dev.platform,
    "device": getattr(dev, "device_kind", str(dev)),
    "versions": versions,
    "python": platform.python_version(),
    "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
  }


def load_average() -> str:
  try:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
  except OSError:
    return "n/a"


# ------------------------------------------------------- implementations


def _fold(x, like):
  """``x`` as an array that broadcasts against ``like``, read once."""
  x = x.astype(like.dtype)
  if x.shape == like.shape:
    return x
  b = like.shape[0]
  return jnp.sum(x.reshape(b, -1), axis=-1).reshape(
    (b,) + (1,) * (like.ndim - 1)
  )


def floor_kernel(argnum):
  """Reads every input once, writes one array of ``y_pred``'s size."""

  def kernel(*args):
    out = args[argnum]
    for i, x in enumerate(args):
      if i != argnum:
        out = out - _fold(x, out)
    return out

  return kernel


def per_sample_fn(case, impl, keras_losses):
  """The per-sample function of ``impl`` for ``case``, or None."""
  if impl == "jaxloss":
    return case.jaxloss_fn()
  if impl == "optax":
    return case.optax
  if impl == "naive":
    return case.naive
  if impl == "keras":
    if case.keras is None or keras_losses is None:
      return None
    name, kwargs = case.keras
    keras_fn = getattr(keras_losses, name)
    return lambda *a: keras_fn(*a, **kwargs)
  raise ValueError(f"per_sample_fn: impl must be one of {IMPLS}, got {impl}")


def programs(case, impl, keras_losses):
  """``{mode: function}`` to compile for one implementation."""
  if impl == "floor":
    kernel = floor_kernel(case.argnum)
    return {"fwd": lambda *a: jnp.sum(kernel(*a)), "vg": kernel}
  fn = per_sample_fn(case, impl, keras_losses)
  if fn is None:
    return {}

  def scalar(*a):
    return jnp.mean(jnp.asarray(fn(*a)).astype(jnp.float32))

  return {"fwd": scalar, "vg": jax.value_and_grad(scalar, argnums=case.argnum)}


# ------------------------------------------------------------- timing


def _call(exe, args, inner):
  start = time.perf_counter()
  for _ in range(inner):
    out = exe(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - start) / inner


def time_case(case, n, impls, keras_losses, repeats, min_round_s, seed=0):
  """Compiles and times every (impl, mode) of one case at one size."""
  rng = np.random.default_rng(seed)
  host = case.make(rng, n)
  args = tuple(jax.device_put(x) for x in host)
  pred = args[case.argnum]
  nbytes_in = sum(x.nbytes for x in args)
  rows, exes = [], {}
  for impl in impls:
    for mode, fn in programs(case, impl, keras_losses).items():
      row = {
        "case": case.name,
        "family": case.family,
        "n": int(pred.size),
        "impl": impl,
        "mode": mode,
        "bytes_in": int(nbytes_in),
        "bytes_out": int(pred.nbytes) if mode == "vg" else 4,
      }
      try:
        start = time.perf_counter()
        exe = jax.jit(fn).lower(*args).compile()
        row["compile_s"] = time.perf_counter() - start
        row["program"] = program_fingerprint(exe)
        first = _call(exe, args, 1)  # warm-up (allocations, caches)
        exes[(impl, mode)] = (exe, max(1, math.ceil(min_round_s / first)))
      except Exception as e:  # noqa: BLE001 - a failing counterpart is data
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
      rows.append(row)
  samples = {key: [] for key in exes}
  for _ in range(repeats):
    for key, (exe, inner) in exes.items():
      samples[key].append(_call(exe, args, inner))
  for row in rows:
    key = (row["impl"], row["mode"])
    if key in samples:
      times = samples[key]
      row["median_s"] = statistics.median(times)
      row["min_s"] = min(times)
      row["calls"] = len(times) * exes[key][1]
      row["gbps"] = (row["bytes_in"] + row["bytes_out"]) / row["median_s"] / 1e9
  return rows


def program_fingerprint(exe) -> str:
  """A hash of the optimised program, without source locations.

  Two implementations with the same fingerprint run the same XLA program,
  so any difference in their timings is measurement noise.
  """
  text = exe.as_text()
  start = text.find("\n%")  # skip the module header and stack-frame tables
  text = re.sub(r", metadata=\{[^}]*\}", "", text[max(start, 0) :])
  # Names come from the source (``square`` vs ``mul`` for the same multiply,
  # argument names): drop parameter names from signatures and number the
  # ``%`` names in order of appearance. Opcodes and shapes are kept.
  text = re.sub(r"([(,]\s*)[\w.\-]+(?=: )", r"\1", text)
  # Scalar constants are inlined, so their declaration order does not count.
  constant = re.compile(r"^\s*(%[\w.\-]+) = (\S+) constant\(([^)]*)\)$", re.M)
  literals = {
    m.group(1): f"{m.group(2)}({m.group(3)})" for m in constant.finditer(text)
  }
  text = constant.sub("", text)
  text = re.sub(
    r"%[\w.\-]+", lambda m: literals.get(m.group(), m.group()), text
  )
  names = {}
  text = re.sub(
    r"%[\w.\-]+", lambda m: names.setdefault(m.group(), f"%{len(names)}"), text
  )
  return hashlib.sha1(text.encode()).hexdigest()[:12]


# ------------------------------------------------------------ reports


def _fmt_time(s):
  if s is None:
    return "–"
  if s < 1e-3:
    return f"{s * 1e6:.0f} µs"
  if s < 1:
    return f"{s * 1e3:.2f} ms"
  return f"{s:.2f} s"


def _fmt_ratio(a, b):
  if a is None or b is None:
    return "–"
  return f"{a / b:.2f}"


def same_program(idx, case, n, impl, other, mode):
  """Whether ``impl`` and ``other`` compiled to the same XLA program."""
  a, b = idx.get((case, n, impl, mode)), idx.get((case, n, other, mode))
  return bool(
    a and b and a.get("program") and a.get("program") == b.get("program")
  )


def _index(rows):
  return {(r["case"], r["n"], r["impl"], r["mode"]): r for r in rows}


def _largest(rows, case):
  return max(r["n"] for r in rows if r["case"] == case)


def _median(idx, *key):
  row = idx.get(key)
  return None if row is None else row.get("median_s")


def _case_order(rows):
  seen = []
  for r in rows:
    if r["case"] not in seen:
      seen.append(r["case"])
  return seen


def mode_table(rows, mode):
  """One row per case at its largest size: times and ratios for ``mode``."""
  idx = _index(rows)
  head = (
    "| loss | family | n | jaxloss | optax | keras | naive | floor | "
    "÷optax | ÷keras | ÷floor |"
  )
  lines = [head, "|" + "---|" * 11]
  for case in _case_order(rows):
    n = _largest(rows, case)
    t = {i: _median(idx, case, n, i, mode) for i in IMPLS}
    fam = next(r["family"] for r in rows if r["case"] == case)
    lines.append(
      f"| {case} | {fam} | {n:.0e} | "
      + " | ".join(_fmt_time(t[i]) for i in IMPLS)
      + "".join(
        f" | {_fmt_ratio(t['jaxloss'], t[other])}"
        + (
          SAME_MARK
          if same_program(idx, case, n, "jaxloss", other, mode)
          else ""
        )
        for other in ("optax", "keras")
      )
      + f" | {_fmt_ratio(t['jaxloss'], t['floor'])} |"
    )
  return "\n".join(lines)


def growth_table(rows):
  """jaxloss value_and_grad per size, and its ratio to the floor."""
  idx = _index(rows)
  sizes = sorted({r["n"] for r in rows if r["case"] == _case_order(rows)[0]})
  lines = [
    "| loss | " + " | ".join(f"{s:.0e}" for s in sizes) + " |",
    "|" + "---|" * (len(sizes) + 1),
  ]
  for case in _case_order(rows):
    ns = sorted({r["n"] for r in rows if r["case"] == case})
    cells = []
    for n in ns:
      a = _median(idx, case, n, "jaxloss", "vg")
      b = _median(idx, case, n, "floor", "vg")
      cells.append(f"{_fmt_time(a)} ({_fmt_ratio(a, b)}×)")
    cells += ["–"] * (len(sizes) - len(cells))
    lines.append(f"| {case} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def compile_table(rows):
  idx = _index(rows)
  lines = [
    "| loss | jaxloss fwd | jaxloss vg | optax vg | keras vg | naive vg |",
    "|---|---|---|---|---|---|",
  ]
  for case in _case_order(rows):
    n = _largest(rows, case)
    cells = []
    for impl, mode in (
      ("jaxloss", "fwd"),
      ("jaxloss", "vg"),
      ("optax", "vg"),
      ("keras", "vg"),
      ("naive", "vg"),
    ):
      row = idx.get((case, n, impl, mode))
      cells.append(_fmt_time(row.get("compile_s") if row else None))
    lines.append(f"| {case} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def bandwidth_table(rows):
  """Achieved GB/s of the floor kernels, per size (element-wise inputs)."""
  floor = [
    r
    for r in rows
    if r["impl"] == "floor" and "median_s" in r and r["family"] == "memory"
  ]
  lines = [
    "| n | bytes moved (vg) | floor fwd | floor vg GB/s |",
    "|---|---|---|---|",
  ]
  for n in sorted({r["n"] for r in floor}):
    best = {}
    for mode in MODES:
      rs = [r for r in floor if r["n"] == n and r["mode"] == mode]
      best[mode] = statistics.median(r["gbps"] for r in rs)
      if mode == "vg":
        moved = rs[0]["bytes_in"] + rs[0]["bytes_out"]
    lines.append(
      f"| {n:.0e} | {moved / 1e6:.1f} MB | "
      f"{best['fwd']:.1f} GB/s | {best['vg']:.1f} GB/s |"
    )
  return "\n".join(lines)


def targets(rows, slack=1.0):
  """Cases breaking a target at their largest size (value_and_grad)."""
  idx = _index(rows)
  out = []
  for case in _case_order(rows):
    n = _largest(rows, case)
    j = _median(idx, case, n, "jaxloss", "vg")
    for other in ("optax", "keras"):
      o = _median(idx, case, n, other, "vg")
      if j is not None and o is not None and j > slack * o:
        note = (
          " — same compiled program, so noise"
          if same_program(idx, case, n, "jaxloss", other, "vg")
          else ""
        )
        out.append(f"{case}: jaxloss {j / o:.2f}× {other} (n={n:.0e}){note}")
    fam = next(r["family"] for r in rows if r["case"] == case)
    f = _median(idx, case, n, "floor", "vg")
    if fam == "memory" and j is not None and f is not None and j > 1.3 * f:
      out.append(f"{case}: jaxloss {j / f:.2f}× the memory floor (n={n:.0e})")
  return out


def markdown(rows, info, meta):
  v = info["versions"]
  miss = targets(rows)
  parts = [
    "# Performance tables",
    "",
    "Generated by `"
    + " ".join(["python -m benchmarks.run", *meta["argv"]])
    + "`; method and discussion in [performance.md](performance.md).",
    "",
    f"- Machine: {info['cpu']}, {info['cores']} usable cores, "
    f"device `{info['platform']}` ({info['device']})",
    f"- jax {v['jax']} (jaxlib {v['jaxlib']}), optax {v['optax']}, "
    f"keras {v['keras']} (JAX backend), Python {info['python']}",
    f"- Date {info['date']}; load average before {meta['load_before']}, "
    f"after {meta['load_after']}; total wall time {meta['wall_s']:.0f} s",
    f"- Steady state: median of {meta['repeats']} interleaved rounds; "
    "`fwd` = jitted `mean(loss)`, `vg` = jitted `value_and_grad` w.r.t. "
    "`y_pred`; ratios are jaxloss time ÷ the other (below 1: jaxloss "
    f"faster);{SAME_MARK} marks a ratio between two implementations that "
    "compiled to the same XLA program (same optimised HLO), whose spread "
    "is therefore the run-to-run noise.",
  ]
  if meta.get("skipped"):
    parts.append(
      "- Registered losses without a benchmark case: "
      + ", ".join(meta["skipped"])
    )
  parts += [
    "",
    "## value_and_grad, largest size of each case",
    "",
    mode_table(rows, "vg"),
    "",
    "## Forward, largest size of each case",
    "",
    mode_table(rows, "fwd"),
    "",
    "## Growth with size: jaxloss value_and_grad (ratio to the floor)",
    "",
    growth_table(rows),
    "",
    "## Memory floor bandwidth (element-wise inputs)",
    "",
    bandwidth_table(rows),
    "",
    "## Compile time (trace + lower + compile), largest size",
    "",
    compile_table(rows),
    "",
    "## Targets not met in this run",
    "",
    "\n".join(f"- {m}" for m in miss) if miss else "- none",
    "",
  ]
  return "\n".join(parts)


def plot(rows, info, path):
  import matplotlib  # noqa: PLC0415 - optional, only for the figure

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  idx = _index(rows)
  order = _case_order(rows)
  fig, (left, right) = plt.subplots(
    1,
    2,
    figsize=(13, max(4.5, 0.28 * len(order))),
    gridspec_kw={"width_ratios": [1, 1.3]},
  )
  shown = [
    c
    for c in (
      "mean_squared_error",
      "huber",
      "binary_crossentropy[logits]",
      "categorical_crossentropy[logits]",
      "sparse_categorical_crossentropy[logits]",
    )
    if c in order
  ] or order[:5]
  for case in shown:
    ns = sorted({r["n"] for r in rows if r["case"] == case})
    ts = [_median(idx, case, n, "jaxloss", "vg") for n in ns]
    left.loglog(ns, ts, marker="o", label=case)
  ns = sorted({r["n"] for r in rows if r["case"] == shown[0]})
  left.loglog(
    ns,
    [_median(idx, shown[0], n, "floor", "vg") for n in ns],
    "k--",
    label="memory floor (2 reads + 1 write)",
  )
  left.set_xlabel("elements of y_pred")
  left.set_ylabel("value_and_grad median time (s)")
  left.set_title("Cost growth (jaxloss)")
  left.legend(fontsize=7)
  left.grid(True, which="both", alpha=0.3)

  y = np.arange(len(order))
  marks = {
    "optax": ("s", "tab:orange"),
    "keras": ("D", "tab:red"),
    "naive": ("^", "tab:gray"),
    "jaxloss": ("o", "tab:blue"),
  }
  for impl, (marker, color) in marks.items():
    xs = []
    for case in order:
      n = _largest(rows, case)
      a = _median(idx, case, n, impl, "vg")
      f = _median(idx, case, n, "floor", "vg")
      xs.append(np.nan if a is None or f is None else a / f)
    right.scatter(xs, y, marker=marker, color=color, label=impl, zorder=3)
  right.axvline(1.0, color="k", lw=0.8)
  right.axvline(1.3, color="k", lw=0.8, ls=":")
  right.set_xscale("log")
  right.set_yticks(
    y, [f"{c} ({_largest(rows, c):.0e})" for c in order], fontsize=7
  )
  right.invert_yaxis()
  right.set_xlabel("value_and_grad time ÷ memory floor (log)")
  right.set_title("Largest size per loss")
  right.legend(fontsize=7, loc="lower right")
  right.grid(True, axis="x", which="both", alpha=0.3)
  fig.suptitle(
    f"jaxloss on {info['cpu']} ({info['cores']} cores, "
    f"{info['platform']}), jax {info['versions']['jax']}",
    fontsize=9,
  )
  fig.tight_layout()
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  plt.close(fig)


# --------------------------------------------------------------- main


def _sizes(text):
  return tuple(int(float(s)) for s in text.split(",") if s)


def parse_args(argv):
  ap = argparse.ArgumentParser(
    prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
  )
  ap.add_argument(
    "--quick",
    action="store_true",
    help="small sizes and few repeats (a smoke run)",
  )
  ap.add_argument(
    "--sizes",
    type=_sizes,
    default=None,
    help="comma-separated element counts, e.g. 1e4,1e6",
  )
  ap.add_argument(
    "--cases", default="", help="comma-separated case names (default: all)"
  )
  ap.add_argument(
    "--impls", default=",".join(IMPLS), help=f"subset of {','.join(IMPLS)}"
  )
  ap.add_argument("--repeats", type=int, default=None)
  ap.add_argument(
    "--min-round-ms",
    type=float,
    default=None,
    help="calls per round are batched to last at least this",
  )
  ap.add_argument(
    "--markdown",
    type=pathlib.Path,
    default=ROOT / "docs" / "performance_tables.md",
  )
  ap.add_argument(
    "--png", type=pathlib.Path, default=ROOT / "docs" / "img" / "perf.png"
  )
  ap.add_argument(
    "--json",
    type=pathlib.Path,
    default=ROOT / "docs" / "performance_results.json",
  )
  ap.add_argument("--no-plot", action="store_true")
  ap.add_argument("--no-progress", action="store_true")
  args = ap.parse_args(argv)
  if args.sizes is None:
    args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
  if args.repeats is None:
    args.repeats = 3 if args.quick else 9
  if args.min_round_ms is None:
    args.min_round_ms = 1.0 if args.quick else 5.0
  return args


def main(argv=None):
  argv = sys.argv[1:] if argv is None else list(argv)
  args = parse_args(argv)
  from tqdm.auto import tqdm  # noqa: PLC0415

  impls = tuple(i for i in args.impls.split(",") if i)
  bad = set(impls) - set(IMPLS)
  if bad:
    raise SystemExit(
      f"benchmarks.run: --impls must be among {IMPLS}, got {sorted(bad)}"
    )
  keras_losses = None
  if "keras" in impls:
    try:
      import keras  # noqa: PLC0415

      if keras.backend.backend() == "jax":
        keras_losses = keras.losses
    except ImportError:
      pass
  all_cases, skipped = cases_lib.all_cases()
  wanted = [c for c in args.cases.split(",") if c]
  if wanted:
    unknown = set(wanted) - {c.name for c in all_cases}
    if unknown:
      raise SystemExit(f"benchmarks.run: unknown cases {sorted(unknown)}")
    all_cases = [c for c in all_cases if c.name in wanted]
  work = [
    (c, n)
    for c in all_cases
    for n in args.sizes
    if c.max_n is None or n <= c.max_n
  ]
  info = machine_info()
  meta = {
    "argv": argv,
    "load_before": load_average(),
    "repeats": args.repeats,
    "skipped": skipped,
  }
  start = time.perf_counter()
  rows = []
  bar = tqdm(work, disable=args.no_progress, unit="case", file=sys.stderr)
  with jax.numpy_rank_promotion("allow"):
    for case, n in bar:
      bar.set_description(f"{case.name[:28]:28s} n={n:.0e}")
      rows += time_case(
        case, n, impls, keras_losses, args.repeats, args.min_round_ms / 1e3
      )
  meta["wall_s"] = time.perf_counter() - start
  meta["load_after"] = load_average()
  text = markdown(rows, info, meta)
  args.markdown.parent.mkdir(parents=True, exist_ok=True)
  args.markdown.write_text(text)
  if args.json:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
      json.dumps({"machine": info, "meta": meta, "rows": rows}, indent=1)
    )
  if not args.no_plot:
    plot(rows, info, args.png)
  print(text)
  return rows


if __name__ == "__main__":
  main()
