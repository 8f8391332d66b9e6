"""Writes ``tools/pypi_readme.md``, the README a package index shows.

A package index renders the long description on its own page, where the
README's relative links (``docs/lm.md``, ``CONTRIBUTING.md``) lead nowhere.
This script rewrites each relative link: to ``BASE_URL`` + path when the
project has a public home, otherwise to the link text followed by the path,
which the source distribution carries. The page opens with what jaxloss is,
how to install it (with a three-line example and the optional extras), and
keeps the README's clone-only ``make`` commands for the end.
``pyproject.toml`` points its ``readme`` at the result.

Run after editing README.md (``tests/test_packaging.py`` fails while it is
out of date)::

    python -m tools.pypi_readme          # rewrite
    python -m tools.pypi_readme --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
OUT = ROOT / "tools" / "pypi_readme.md"

# The project's public source home, once it has one (for example
# "https://github.com/<owner>/jaxloss/blob/main/"); then links stay links.
BASE_URL: str | None = None

# [text](target) where target has no scheme and is not an in-page anchor.
_RELATIVE_LINK = re.compile(
  r"(?<!!)\[([^\]]+)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)"
)


def _rewrite(match: re.Match[str]) -> str:
  text, target = match.groups()
  if BASE_URL is not None:
    return f"[{text}]({BASE_URL}{target})"
  if text.strip("`") == target:
    return f"`{target}`"
  return f"{text} (`{target}`)"


# What each published extra enables (every extra but `dev` is listed on
# the package page; tests/test_packaging.py checks that none is missing).
EXTRAS = {
  "flax": "`jaxloss.flax`: linen and nnx modules for every loss, "
  "`add_loss` auxiliary losses, learnable heads; optax for training steps",
  "keras": "`jaxloss.keras`: a genuine `keras.losses.Loss` for every loss "
  "(Keras 3 on the JAX backend), registered for saving",
  "demo": "what `examples/demo.py` needs (Flax, optax, scikit-learn's "
  "bundled data, matplotlib)",
}

# The package page's opening after the README's introduction: install, a
# three-line example, the extras. The README's clone-only set-up section
# ("The two commands") moves to the end.
_INSTALL = """## Install

```bash
pip install jaxloss
```

```python
import jaxloss
values = jaxloss.huber([[0.0, 1.0], [2.0, 2.0]], [[0.5, 3.0], [2.0, 1.0]])
loss = jaxloss.reduce(values)      # one value per sample, then the mean
```

Optional extras (`pip install "jaxloss[flax]"`):

| extra | installs | enables |
|---|---|---|
{rows}

"""
_CLONE = "## The two commands"


def _extras_rows() -> str:
  import tomllib

  project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
  rows = []
  for name, requirements in project["optional-dependencies"].items():
    if name == "dev":
      continue
    names = ", ".join(r.split(">")[0].split("=")[0] for r in requirements)
    rows.append(f"| `jaxloss[{name}]` | {names} | {EXTRAS[name]} |")
  return "\n".join(rows)


def _package_page(text: str) -> str:
  """The README reordered for the package index (see ``_INSTALL``)."""
  start = text.index(_CLONE)
  end = text.index("\n## ", start + len(_CLONE)) + 1
  clone = text[start:end].replace(
    _CLONE, "## From a clone of the repository: the two commands", 1
  )
  install = _INSTALL.format(rows=_extras_rows())
  return text[:start] + install + text[end:].rstrip("\n") + "\n\n" + clone


def render() -> str:
  body = _RELATIVE_LINK.sub(_rewrite, _package_page(README.read_text()))
  header = (
    "<!-- Generated from README.md by `python -m tools.pypi_readme`: "
    "do not edit. -->\n"
  )
  return header + body


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true")
  args = parser.parse_args(argv)
  text = render()
  if args.check:
    if OUT.read_text() != text:
      print(
        f"{OUT.relative_to(ROOT)} is out of date: python -m tools.pypi_readme"
      )
      return 1
    return 0
  OUT.write_text(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
