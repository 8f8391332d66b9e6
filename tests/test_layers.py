"""The layer diagram of docs/architecture.md is the import graph: every
import inside the package points to the same layer or one below it."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "jaxloss"

# Lowest first, as docs/architecture.md draws them from the bottom up.
LAYERS = [
  (
    "numerics",
    [
      "_src/numerics",
      "_src/tiling",
      "_src/scoping",
      "_src/typing",
      "_src/empty",
      "_src/tree_paths",
      "_src/per_class",
    ],
  ),
  ("checks", ["_src/validation", "_src/shapes", "_src/domains"]),
  ("transforms", ["_src/reduction"]),
  ("loss objects", ["_src/objects"]),
  ("losses", ["_src/losses/", "_src/lm/", "_src/regularizers"]),
  ("combinators", ["_src/multi_output", "_src/debug", "_src/testing"]),
  (
    "adapters",
    ["optax", "flax/", "keras/", "regularizers", "testing", "__init__"],
  ),
]


def _layer(module_path: str) -> int:
  for rank, (_, prefixes) in enumerate(LAYERS):
    for prefix in prefixes:
      if module_path == prefix or (
        prefix.endswith("/") and module_path.startswith(prefix)
      ):
        return rank
  raise AssertionError(f"{module_path} is in no layer of the diagram")


def _imports(path: pathlib.Path):
  tree = ast.parse(path.read_text())
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module:
      names = [node.module + "." + a.name for a in node.names]
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    else:
      continue
    for name in names:
      if name.startswith("jaxloss."):
        yield name


def _resolve(dotted: str) -> str | None:
  """The package file a dotted import names (module or module.attr)."""
  parts = dotted.split(".")[1:]
  while parts:
    rel = "/".join(parts)
    if (ROOT / f"{rel}.py").exists():
      return rel
    if (ROOT / rel / "__init__.py").exists():
      return f"{rel}/__init__"
    parts = parts[:-1]
  return None


def test_imports_point_to_the_same_layer_or_below():
  wrong = []
  for path in sorted(ROOT.rglob("*.py")):
    here = path.relative_to(ROOT).with_suffix("").as_posix()
    if here.endswith("/__init__") and here != "__init__":
      here = here[: -len("__init__")]
      if here in ("_src/", "_src/losses/"):
        continue
    own = _layer(here)
    for dotted in _imports(path):
      target = _resolve(dotted)
      if target is None or target.endswith("__init__") and "/" in target:
        continue
      if _layer(target) > own:
        wrong.append(f"{here} ({LAYERS[own][0]}) imports {target}")
  assert not wrong, "\n".join(wrong)
