"""The README a package index shows is current and has no dead links."""

from __future__ import annotations

import re
import tomllib

from tools import pypi_readme


def test_pypi_readme_is_up_to_date():
  # After editing README.md: `python -m tools.pypi_readme`.
  assert pypi_readme.OUT.read_text() == pypi_readme.render()


def test_pypi_readme_has_no_relative_links():
  text = pypi_readme.OUT.read_text()
  links = re.findall(r"\]\(([^)\s]+)\)", text)
  relative = [t for t in links if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]
  assert not relative, relative
  # And the source README does have some: the rewrite is not vacuous.
  assert pypi_readme._RELATIVE_LINK.search(pypi_readme.README.read_text())


def test_pyproject_long_description_is_the_rewritten_readme():
  project = tomllib.loads((pypi_readme.ROOT / "pyproject.toml").read_text())
  readme = project["project"]["readme"]
  assert (
    readme["file"] == pypi_readme.OUT.relative_to(pypi_readme.ROOT).as_posix()
  )
  assert readme["content-type"] == "text/markdown"
