"""Writes the API reference pages (docs/api/*.md) from the package itself.

Every public name of ``jaxloss`` gets an entry, grouped by the family module
that defines it; the submodules (``jaxloss.optax``, ``jaxloss.regularizers``,
``jaxloss.flax.linen``, ``jaxloss.flax.nnx``, ``jaxloss.keras`` when Keras is
installed) get a page each. An alias (Keras's ``mse`` for
``mean_squared_error``, a renamed name kept for a release) is listed once,
under its target's entry, never documented twice. The index lists every
name with its one-line summary and its source file. The pages are
generated, never edited by hand, so a new loss appears in the reference as
soon as it is exported.

Run: ``python -m docs.tools.api_pages`` (``make docs`` does).
"""

from __future__ import annotations

import collections
import importlib
import inspect
import pathlib
import re

import jaxloss
from tools.pypi_readme import BASE_URL

API = pathlib.Path(__file__).resolve().parents[1] / "api"
ROOT = pathlib.Path(jaxloss.__file__).resolve().parents[1]

SUBMODULES = (
  "jaxloss.optax",
  "jaxloss.regularizers",
  "jaxloss.flax",
  "jaxloss.flax.linen",
  "jaxloss.flax.nnx",
  "jaxloss.keras",
  "jaxloss.testing",
)

# Type aliases: mkdocstrings has no object to read them from, so their
# entry is written here from the alias's documentation.
TYPE_ALIASES = {"InputLike": "jaxloss._src.typing"}

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def _family(obj) -> str:
  module = getattr(obj, "__module__", None) or ""
  if not module.startswith("jaxloss._src"):
    return "core"
  parts = module.split(".")[2:]  # drop "jaxloss", "_src"
  if parts and parts[0] == "losses":
    parts = parts[1:]
  return parts[0] if parts else "core"


def aliases() -> dict[str, str]:
  """Alias name -> target name in ``jaxloss``: the Keras short names
  (``mse``) and the renamed names kept for a release (``triplet_margin``)."""
  out = dict(getattr(jaxloss, "_RENAMED", {}))
  for name in jaxloss.__all__:
    if name in TYPE_ALIASES:
      continue
    obj = getattr(jaxloss, name)
    target = getattr(obj, "__name__", name)
    if target != name and getattr(jaxloss, target, None) is obj:
      out[name] = target
  return out


def page_of(dotted: str) -> str:
  """The API page (``"regression.md"``) that documents a public name
  (``"jaxloss.huber"``, ``"jaxloss.optax.ctc_loss"``); its anchor is
  ``dotted`` itself. An alias is listed on its target's page."""
  module, _, name = dotted.rpartition(".")
  if module != "jaxloss":
    return f"{module.removeprefix('jaxloss.').replace('.', '_')}.md"
  if name in TYPE_ALIASES:
    return "core.md"
  target = aliases().get(name, name)
  return f"{_family(getattr(jaxloss, target))}.md"


def _title(family: str) -> str:
  return family.replace("_", " ").capitalize()


def _summary(obj) -> str:
  if not callable(obj):  # a constant: its docstring is its type's
    return "A constant."
  doc = inspect.getdoc(obj) or ""
  first = doc.split("\n\n")[0].replace("\n", " ").strip()
  return _ROLE.sub(r"`\1`", first).replace("``", "`")


def _source(obj, alias: str | None = None) -> str:
  """``path:line`` of the definition (a link once the project has a public
  home), or "" for objects made at run time; for a type alias, ``obj`` is
  its module and ``alias`` its name."""
  if isinstance(obj, type) and callable(getattr(obj, "fn", None)):
    obj = obj.fn  # a loss class made from its function: the function
  try:
    path = pathlib.Path(inspect.getsourcefile(inspect.unwrap(obj)) or "")
    lines, line = inspect.getsourcelines(inspect.unwrap(obj))
    if alias is not None:
      line = next(
        i + 1 for i, s in enumerate(lines) if s.startswith(f"{alias}:")
      )
  except (TypeError, OSError):
    return ""
  try:
    rel = path.resolve().relative_to(ROOT).as_posix()
  except ValueError:
    return ""
  if BASE_URL is not None:
    return f"[source]({BASE_URL}{rel}#L{line})"
  return f"`{rel}:{line}`"


def _type_alias_entry(name: str) -> str:
  module = importlib.import_module(TYPE_ALIASES[name])
  doc = inspect.cleandoc(
    inspect.getsource(module).split(f"{name}: TypeAlias")[1].split('"""')[1]
  )
  return (
    f'<h2 id="jaxloss.{name}"><code>jaxloss.{name}</code></h2>\n\n'
    f"{doc}\n\nThe annotation of every array input in this reference.\n"
  )


def _entry(module: str, name: str, names_of: dict[str, list[str]]) -> str:
  if module == "jaxloss" and name in TYPE_ALIASES:
    return _type_alias_entry(name)
  owner = importlib.import_module(module)
  obj = getattr(owner, name)
  # Keras's functional forms (jaxloss.keras.huber, ...) are made from
  # Keras's own signatures at import: written out like a closure.
  made = name in getattr(owner, "FUNCTIONS", {})
  if made or "<locals>" in getattr(obj, "__qualname__", ""):
    # A closure bound to a module-level name (``modules`` of the Flax
    # adapters): mkdocstrings cannot follow it to a definition, so its
    # signature and docstring are written out here.
    doc = inspect.cleandoc(obj.__doc__ or "")
    text = f"## `{module}.{name}{inspect.signature(obj)}`\n\n{doc}\n"
  else:
    text = f"::: {module}.{name}\n"
  others = names_of.get(name, [])
  if others:
    spans = "".join(f'<span id="{module}.{a}"></span>' for a in others)
    listed = ", ".join(f"`{module}.{a}`" for a in others)
    text += f"\n{spans}Also available as {listed} (aliases).\n"
  return text


def _entries(module: str, names, names_of=None) -> str:
  names_of = names_of or {}
  return "\n".join(
    _entry(module, n, names_of) for n in sorted(names, key=str.lower)
  )


def _submodule_names(module_name: str) -> list[str]:
  module = importlib.import_module(module_name)
  names = list(getattr(module, "__all__", []))
  return [n for n in names if not isinstance(getattr(module, n), type(jaxloss))]


def documented() -> list[tuple[str, str]]:
  """``(module, name)`` of every entry the pages document with
  mkdocstrings (aliases and type aliases have no docstring of their own;
  optional extras that are not installed are skipped)."""
  alias_of = aliases()
  out = [
    ("jaxloss", n)
    for n in jaxloss.__all__
    if n not in alias_of
    and n not in TYPE_ALIASES
    and not isinstance(getattr(jaxloss, n), type(jaxloss))
  ]
  for module_name in SUBMODULES:
    try:
      out += [(module_name, n) for n in _submodule_names(module_name)]
    except ImportError:
      continue
  return out


def _index_rows(module: str, names, page: str) -> list[str]:
  rows = []
  mod = importlib.import_module(module)
  for name in sorted(names, key=str.lower):
    dotted = f"{module}.{name}"
    if module == "jaxloss" and name in TYPE_ALIASES:
      summary = "The input-type alias of every array argument."
      source = _source(importlib.import_module(TYPE_ALIASES[name]), name)
    else:
      obj = getattr(mod, name)
      summary, source = _summary(obj), _source(obj)
    summary = summary.replace("|", "\\|")
    rows.append(f"| [`{dotted}`]({page}#{dotted}) | {summary} | {source} |")
  return rows


def main() -> list[str]:
  API.mkdir(parents=True, exist_ok=True)
  for old in API.glob("*.md"):
    old.unlink()
  alias_of = aliases()
  names_of = collections.defaultdict(list)
  for alias, target in sorted(alias_of.items()):
    names_of[target].append(alias)
  families = collections.defaultdict(list)
  for name in jaxloss.__all__:
    obj = getattr(jaxloss, name)
    if isinstance(obj, type(jaxloss)) or name in alias_of:
      continue  # a submodule (its own page) or an alias (with its target)
    families["core" if name in TYPE_ALIASES else _family(obj)].append(name)
  index = [
    "# API reference",
    "",
    "Generated from the docstrings; one page per family. Array arguments",
    "are annotated [`jaxloss.InputLike`](core.md#jaxloss.InputLike). An",
    "alias is listed under its target's entry.",
    "",
  ]
  pages = []
  for family, names in sorted(families.items()):
    path = API / f"{family}.md"
    path.write_text(
      f"# {_title(family)}\n\n" + _entries("jaxloss", names, names_of)
    )
    pages.append(path.name)
    index += [f"## [{_title(family)}]({path.name})", ""]
    index += ["| name | summary | source |", "|---|---|---|"]
    index += _index_rows("jaxloss", names, path.name) + [""]
  for module_name in SUBMODULES:
    try:
      names = _submodule_names(module_name)
    except ImportError:  # an optional extra that is not installed
      continue
    path = API / f"{module_name.removeprefix('jaxloss.').replace('.', '_')}.md"
    path.write_text(f"# `{module_name}`\n\n" + _entries(module_name, names))
    pages.append(path.name)
    index += [f"## [`{module_name}`]({path.name})", ""]
    index += ["| name | summary | source |", "|---|---|---|"]
    index += _index_rows(module_name, names, path.name) + [""]
  index += ["## Aliases", "", "| alias | documented as | kind |"]
  index += ["|---|---|---|"]
  renamed = getattr(jaxloss, "_RENAMED", {})
  for alias, target in sorted(alias_of.items(), key=lambda kv: kv[0].lower()):
    page = page_of(f"jaxloss.{target}")
    kind = "deprecated (warns)" if alias in renamed else "Keras's short name"
    index.append(
      f"| `jaxloss.{alias}` | [`jaxloss.{target}`]({page}#jaxloss.{target})"
      f" | {kind} |"
    )
  (API / "index.md").write_text("\n".join(index) + "\n")
  return pages


if __name__ == "__main__":
  print(f"wrote {len(main())} API pages")
