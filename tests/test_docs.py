"""Every Python block in the README and docs/ runs, so the docs cannot rot.

The ```python blocks of one page run in order in one namespace (a page is
read top to bottom, so a later block may use an earlier one's names). A page
may start with a hidden setup block, ``<!-- setup ... -->``, that defines
the example data its blocks refer to (``labels``, ``logits``, ...); it runs
first and is not shown on the rendered page. Blocks in other languages
(``bash``, ``text``) are not run.
"""

from __future__ import annotations

import pathlib
import re
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Hand-written pages: the generated ones (docs/api, docs/gallery,
# docs/examples; `make docs` writes them) are not read here.
GENERATED = ("api", "gallery", "examples")
PAGES = sorted(
  [
    ROOT / "README.md",
    *(
      p
      for p in (ROOT / "docs").rglob("*.md")
      if p.relative_to(ROOT / "docs").parts[0] not in GENERATED
    ),
  ],
  key=lambda p: str(p),
)
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
_SETUP = re.compile(r"<!--\s*setup\s*\n(.*?)-->", re.S)


def python_blocks(text: str) -> list[str]:
  """The page's hidden setup blocks, then its python blocks, in order."""
  return _SETUP.findall(text) + _BLOCK.findall(text)


def test_extraction_finds_blocks():
  text = "x\n<!-- setup\na = 1\n-->\n```python\nb = a\n```\n```bash\nls\n```\n"
  assert python_blocks(text) == ["a = 1\n", "b = a\n"]


@pytest.mark.parametrize(
  "page",
  [p for p in PAGES if python_blocks(p.read_text())],
  ids=lambda p: str(p.relative_to(ROOT)),
)
def test_page_code_runs(page, monkeypatch, tmp_path):
  monkeypatch.chdir(tmp_path)  # blocks that write files write them here
  # A real module, so that dataclasses (Flax modules) defined in a block
  # find their module in sys.modules.
  module = types.ModuleType(f"docs_{page.stem}")
  monkeypatch.setitem(sys.modules, module.__name__, module)
  namespace = module.__dict__
  # A page's setup may relax the suite's rank-promotion check (Keras's
  # layers broadcast their biases, as users' default "allow" permits);
  # the tests after it get the suite's setting back.
  import jax

  promotion = jax.config.jax_numpy_rank_promotion
  try:
    for i, block in enumerate(python_blocks(page.read_text())):
      code = compile(block, f"{page.relative_to(ROOT)}[block {i}]", "exec")
      exec(code, namespace)  # noqa: S102
  finally:
    jax.config.update("jax_numpy_rank_promotion", promotion)


_NAME = re.compile(r"`(jaxloss(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


@pytest.mark.parametrize(
  "page",
  sorted((ROOT / "docs" / "migrating").glob("*.md")),
  ids=lambda p: p.name,
)
def test_migration_tables_name_real_objects(page):
  """Every ``jaxloss.x`` a migration guide points to exists."""
  import importlib

  names = set(_NAME.findall(page.read_text()))
  assert names, f"{page.name} names no jaxloss object"
  missing = []
  for dotted in sorted(names):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
      try:
        obj = getattr(obj, part)
      except AttributeError:
        try:
          obj = importlib.import_module(".".join(parts[: i + 1]))
        except ImportError:
          missing.append(dotted)
          break
  assert not missing, f"{page.name}: unknown names {missing}"


_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
  """Links between pages and to images point at files that exist (the
  generated API, gallery and example pages excepted: `make docs` writes
  them)."""
  broken = []
  for target in _LINK.findall(page.read_text()):
    if "://" in target or target.startswith("mailto:"):
      continue
    path = (page.parent / target).resolve()
    generated = any(
      part in ("api", "gallery", "examples") for part in path.parts[-2:-1]
    )
    if not path.exists() and not generated:
      broken.append(target)
  assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def _example_prompts(doc: str) -> tuple[int, int]:
  """``>>>`` prompts in a docstring, and how many of them the Google
  parser of the API reference (griffe) puts in an ``Examples`` section."""
  import griffe

  sections = griffe.Docstring(doc, parser="google").parse()
  in_examples = sum(
    text.count(">>>")
    for section in sections
    if section.kind.value == "examples"
    for _, text in section.value
  )
  return doc.count(">>>"), in_examples


def test_example_heading_is_read_as_prose():
  """The check below can fail: ``Example:`` is not an examples section."""
  doc = "Summary.\n\n{}\n  >>> 1 + 1\n  2\n"
  assert _example_prompts(doc.format("Examples:")) == (1, 1)
  assert _example_prompts(doc.format("Example:")) == (1, 0)


def test_api_docstring_examples_render_as_code():
  """Every docstring example of an API page is in an ``Examples:``
  section, so the built reference shows it as a code block."""
  import importlib
  import inspect

  from docs.tools import api_pages

  prose = []
  for module, name in api_pages.documented():
    obj = getattr(importlib.import_module(module), name)
    doc = inspect.getdoc(obj) or ""
    total, in_examples = _example_prompts(doc)
    if total != in_examples:
      prose.append(f"{module}.{name}")
  assert not prose, f"examples outside an Examples: section: {prose}"


def test_built_page_check_finds_prose_prompts():
  from docs.tools.rendered_examples import prose_prompts

  # What mkdocstrings 1.0 made of an ``Example:`` section (the prompts
  # became nested quotes), and of an ``Examples:`` one.
  admonition = (
    '<details class="example" open>\n  <summary>Example</summary>\n'
    "  <blockquote>\n<blockquote>\n<blockquote>\n<p>import jaxloss\n"
    "jaxloss.huber([[0.0, 0.0]], [[0.5, 3.0]], delta=1.0)</p>\n"
    "</blockquote>\n</blockquote>\n</blockquote>\n</details>"
  )
  code = (
    '<p><span class="doc-section-title">Examples:</span></p>'
    '<div class="highlight"><pre><span></span><code>'
    '<span class="gp">&gt;&gt;&gt; </span>import jaxloss</code></pre></div>'
  )
  assert prose_prompts(admonition)
  assert prose_prompts("<p>&gt;&gt;&gt; import jaxloss</p>")
  assert prose_prompts(code) == []


def test_api_pages_link_names_to_their_entries():
  """Links of the form ``api/<page>.md#<name>`` in the docs point at the
  page that documents the name (the API pages are generated)."""
  from docs.tools import api_pages

  link = re.compile(r"\]\((?:\.\./)*api/([a-z_]+\.md)#(jaxloss[\w.]*)\)")
  wrong = []
  for page in PAGES:
    for target, dotted in link.findall(page.read_text()):
      if api_pages.page_of(dotted) != target:
        wrong.append(f"{page.name}: {dotted} -> {target}")
  assert not wrong, wrong


def _documented_args(doc: str) -> list[str]:
  """The names of a Google-style docstring's ``Args:`` entries."""
  match = re.search(r"^Args:\n((?:(?:  .*)?\n)+)", doc + "\n", re.M)
  if match is None:
    return []
  return re.findall(r"^  (\S[^:\n]*):", match.group(1), re.M)


def test_documented_args_reads_each_entry():
  doc = "S.\n\nArgs:\n  x: one.\n    more.\n  y, z: two.\n\nReturns:\n  v.\n"
  assert _documented_args(doc) == ["x", "y, z"]


def test_api_function_args_name_their_parameters():
  """Each ``Args:`` entry of a documented function names one of its
  parameters (the strict docs build rejects anything else)."""
  import importlib
  import inspect

  from docs.tools import api_pages

  unknown = []
  for module, name in api_pages.documented():
    obj = getattr(importlib.import_module(module), name)
    if not inspect.isfunction(obj):
      continue
    params = set(inspect.signature(obj).parameters)
    for entry in _documented_args(inspect.getdoc(obj) or ""):
      if entry.lstrip("*") not in params:
        unknown.append(f"{module}.{name}: {entry!r}")
  assert not unknown, f"Args entries that are not parameters: {unknown}"
