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


def test_package_page_opens_with_install_and_extras():
  text = pypi_readme.OUT.read_text()
  install = text.index("## Install")
  assert install < text.index("make demo")
  assert text.index("Differentiable loss functions") < install
  project = tomllib.loads((pypi_readme.ROOT / "pyproject.toml").read_text())
  extras = set(project["project"]["optional-dependencies"]) - {"dev"}
  for extra in extras:
    assert f"| `jaxloss[{extra}]` |" in text, extra
  # The three-line example runs and gives the mean of the per-sample values.
  block = text[install:].split("```python\n")[1].split("```")[0]
  namespace = {}
  exec(block, namespace)  # noqa: S102
  assert namespace["values"].shape == (2,)
  assert (
    abs(float(namespace["loss"]) - float(namespace["values"].mean())) < 1e-6
  )


def test_published_dev_extra_pins_no_exact_versions():
  """Exact versions live in .ci/constraints.txt (CI), not in the extra."""
  project = tomllib.loads((pypi_readme.ROOT / "pyproject.toml").read_text())
  for extra, requirements in project["project"][
    "optional-dependencies"
  ].items():
    pinned = [r for r in requirements if "==" in r]
    assert not pinned, f"[{extra}] pins {pinned}"
  constraints = (pypi_readme.ROOT / ".ci" / "constraints.txt").read_text()
  assert "optax==" in constraints and "keras==" in constraints
