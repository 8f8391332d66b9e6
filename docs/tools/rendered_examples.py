"""Fails when a built API page shows a docstring example as prose.

A docstring's ``Examples:`` section renders as a code block. An example
under any other heading (``Example:`` is read as an admonition) renders as
prose, and Markdown reads its ``>>>`` prompts as three nested quotes: the
page shows a grey box of run-together lines with the prompts gone. This
reads the built HTML of the API pages and reports every such example: an
``example`` admonition, a block quote (no API docstring quotes text), or a
``>>>`` outside a ``<pre>`` block. No browser is needed (``make docs`` runs
it after the build; ``browser_check`` checks the rendered pages the same
way).

Run: ``python -m docs.tools.rendered_examples [--site site]``.
"""

from __future__ import annotations

import argparse
import html.parser
import pathlib
import sys


class _Prose(html.parser.HTMLParser):
  """Collects the signs of an example rendered as prose."""

  def __init__(self):
    super().__init__()
    self.pre = 0
    self.found: list[str] = []

  def handle_starttag(self, tag, attrs):
    classes = (dict(attrs).get("class") or "").split()
    if tag == "pre":
      self.pre += 1
    elif tag == "blockquote" and not self.pre:
      self.found.append("a block quote (doctest prompts read as quotes)")
    elif tag in ("details", "div") and "example" in classes:
      self.found.append("an 'Example' admonition (use 'Examples:')")

  def handle_endtag(self, tag):
    if tag == "pre" and self.pre:
      self.pre -= 1

  def handle_data(self, data):
    if not self.pre and ">>>" in data:
      self.found.append(" ".join(data.split())[:80])


def prose_prompts(page_html: str) -> list[str]:
  """What in ``page_html`` shows a docstring example as prose."""
  parser = _Prose()
  parser.feed(page_html)
  return parser.found


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--site", default="site", type=pathlib.Path)
  args = parser.parse_args(argv)
  pages = sorted((args.site / "api").rglob("index.html"))
  if not pages:
    sys.exit(f"rendered_examples: no API pages under {args.site}/api")
  failures = 0
  for page in pages:
    for text in prose_prompts(page.read_text()):
      failures += 1
      print(
        f"{page.relative_to(args.site)}: example not rendered as code: {text!r}"
      )
  print(f"{len(pages)} API pages checked, {failures} unrendered examples")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
