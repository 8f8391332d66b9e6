"""Writes ``tools/pypi_readme.md``, the README a package index shows.

A package index renders the long description on its own page, where the
README's relative links (``docs/lm.md``, ``CONTRIBUTING.md``) lead nowhere.
This script rewrites each relative link: to ``BASE_URL`` + path when the
project has a public home, otherwise to the link text followed by the path,
which the source distribution carries. ``pyproject.toml`` points its
``readme`` at the result.

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


def render() -> str:
  body = _RELATIVE_LINK.sub(_rewrite, README.read_text())
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
