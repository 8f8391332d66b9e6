"""Writes one site page per script of ``examples/`` (docs/examples/*.md).

Each script runs as a user would run it (``python examples/<name>.py``,
in a scratch folder); its page shows the script's docstring, what it
printed, the figures it wrote, and its source. A script that fails fails
the build. The pages are generated, never edited by hand; the scripts are
also run by the test suite (``tests/test_*examples*.py``) on small
settings.

Run: ``python -m docs.tools.examples_pages`` (``make docs`` does).
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OUT = ROOT / "docs" / "examples"
TIMEOUT_S = 900


def scripts() -> list[pathlib.Path]:
  """The runnable examples (helpers such as ``_tiny_causal_lm.py`` are
  shown through the scripts that import them)."""
  return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _docstring(path: pathlib.Path) -> tuple[str, str]:
  doc = ast.get_docstring(ast.parse(path.read_text())) or path.stem
  title, _, body = doc.partition("\n")
  return title.strip().rstrip("."), body.strip()


# Examples that run as several processes go through the test suite's
# launcher (one command starts them all on the loopback address).
LAUNCHED = {
  "multiprocess_lm.py": [
    "-m",
    "tests.multiprocess",
    "--processes",
    "2",
    "--cpu-devices",
    "4",
  ],
}


def _run(path: pathlib.Path, folder: pathlib.Path) -> tuple[str, float]:
  env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
  start = time.perf_counter()
  done = subprocess.run(
    [sys.executable, *LAUNCHED.get(path.name, []), str(path)],
    cwd=folder,
    env=env,
    capture_output=True,
    text=True,
    timeout=TIMEOUT_S,
    check=False,
  )
  if done.returncode:
    raise RuntimeError(f"{path.name} failed:\n{done.stderr[-3000:]}")
  # gloo's connection log (multi-process runs) is not the example's output.
  output = "".join(
    line for line in done.stdout.splitlines(True) if "[Gloo]" not in line
  )
  return output, time.perf_counter() - start


def page(path: pathlib.Path, output: str, figures: list[str]) -> str:
  title, body = _docstring(path)
  lines = [f"# {title}", "", body, ""] if body else [f"# {title}", ""]
  lines += [
    f"Run it: `python examples/{path.name}` (from a clone of the",
    'repository; `pip install -e ".[demo]"` installs what every example',
    "needs).",
    "",
    "## What it prints",
    "",
    "```text",
    output.rstrip() or "(nothing)",
    "```",
    "",
  ]
  for fig in figures:
    lines += [f"![{title}]({fig})", ""]
  lines += ["## The script", "", "```py", path.read_text().rstrip(), "```", ""]
  return "\n".join(lines)


def main(names=None) -> list[str]:
  OUT.mkdir(parents=True, exist_ok=True)
  for old in OUT.glob("*"):
    if not names or old.name.split("-")[0].removesuffix(".md") in names:
      old.unlink()
  written = []
  index = [
    "# Examples",
    "",
    "Complete training scripts from the repository's `examples/` folder,",
    "each run when the site is built: its output and figures below are",
    "what it printed and drew then.",
    "",
  ]
  for path in scripts():
    if names and path.stem not in names:
      continue
    with tempfile.TemporaryDirectory() as tmp:
      output, seconds = _run(path, pathlib.Path(tmp))
      figures = []
      for png in sorted(pathlib.Path(tmp).rglob("*.png")):
        name = f"{path.stem}-{png.name}"
        shutil.copy(png, OUT / name)
        figures.append(name)
    (OUT / f"{path.stem}.md").write_text(page(path, output, figures))
    written.append(path.stem)
    print(f"{path.name}: {seconds:.0f} s", flush=True)
  for path in scripts():
    if (OUT / f"{path.stem}.md").exists():
      index.append(f"- [{_docstring(path)[0]}]({path.stem}.md)")
  (OUT / "index.md").write_text("\n".join(index) + "\n")
  return written


if __name__ == "__main__":
  main(sys.argv[1:] or None)
