"""Writes the API reference pages (docs/api/*.md) from the package itself.

Every public name of ``jaxloss`` gets an entry, grouped by the family module
that defines it; the submodules (``jaxloss.optax``, ``jaxloss.regularizers``,
``jaxloss.flax.linen``, ``jaxloss.flax.nnx``, ``jaxloss.keras`` when Keras is
installed) get a page each. The pages are generated, never edited by hand,
so a new loss appears in the reference as soon as it is exported.

Run: ``python -m docs.tools.api_pages`` (``make docs`` does).
"""

from __future__ import annotations

import collections
import importlib
import inspect
import pathlib

import jaxloss

API = pathlib.Path(__file__).resolve().parents[1] / "api"


def _family(obj) -> str:
  module = getattr(obj, "__module__", None) or ""
  if not module.startswith("jaxloss._src"):
    return "core"
  parts = module.split(".")[2:]  # drop "jaxloss", "_src"
  if parts and parts[0] == "losses":
    parts = parts[1:]
  return parts[0] if parts else "core"


def _title(family: str) -> str:
  return family.replace("_", " ").capitalize()


def _entry(module: str, name: str) -> str:
  obj = getattr(importlib.import_module(module), name)
  if "<locals>" in getattr(obj, "__qualname__", ""):
    # A closure bound to a module-level name (``modules`` of the Flax
    # adapters): mkdocstrings cannot follow it to a definition, so its
    # signature and docstring are written out here.
    doc = inspect.cleandoc(obj.__doc__ or "")
    return f"## `{module}.{name}{inspect.signature(obj)}`\n\n{doc}\n"
  return f"::: {module}.{name}\n"


def _entries(module: str, names) -> str:
  return "\n".join(_entry(module, n) for n in sorted(names, key=str.lower))


def _submodule_names(module_name: str) -> list[str]:
  module = importlib.import_module(module_name)
  names = list(getattr(module, "__all__", []))
  modules = getattr(module, "modules", None)  # linen / nnx loss modules
  if callable(modules):
    names += [n for n in modules() if n not in names]
  return [n for n in names if not isinstance(getattr(module, n), type(jaxloss))]


def main() -> list[str]:
  API.mkdir(parents=True, exist_ok=True)
  for old in API.glob("*.md"):
    old.unlink()
  families = collections.defaultdict(list)
  for name in jaxloss.__all__:
    obj = getattr(jaxloss, name)
    if isinstance(obj, type(jaxloss)):  # a submodule: its own page
      continue
    families[_family(obj)].append(name)
  pages = []
  for family, names in sorted(families.items()):
    path = API / f"{family}.md"
    path.write_text(f"# {_title(family)}\n\n" + _entries("jaxloss", names))
    pages.append(path.name)
  submodules = [
    "jaxloss.optax",
    "jaxloss.regularizers",
    "jaxloss.flax",
    "jaxloss.flax.linen",
    "jaxloss.flax.nnx",
    "jaxloss.keras",
    "jaxloss.testing",
  ]
  for module_name in submodules:
    try:
      names = _submodule_names(module_name)
    except ImportError:  # an optional extra that is not installed
      continue
    path = API / f"{module_name.removeprefix('jaxloss.').replace('.', '_')}.md"
    path.write_text(f"# `{module_name}`\n\n" + _entries(module_name, names))
    pages.append(path.name)
  index = [
    "# API reference",
    "",
    "Generated from the docstrings; one page per family.",
    "",
  ]
  index += [f"- [{p[:-3].replace('_', '.')}]({p})" for p in sorted(pages)]
  (API / "index.md").write_text("\n".join(index) + "\n")
  return pages


if __name__ == "__main__":
  print(f"wrote {len(main())} API pages")
