"""Prints pip requirements pinning the declared floors of pyproject.toml.

``jax>=0.8.2`` becomes ``jax==0.8.2``, for the runtime dependencies and the
``flax`` and ``keras`` extras, so that the minimum-versions job tests exactly what the
package promises to support. ``numpy>=2.0`` pins the oldest 2.0 release.
"""

import pathlib
import re
import tomllib

project = tomllib.loads(
  (pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
)["project"]
extras = project["optional-dependencies"]
for requirement in project["dependencies"] + extras["flax"] + extras["keras"]:
  name, floor = re.fullmatch(
    r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement
  ).groups()
  print(f"{name}=={floor}.*" if floor.count(".") == 1 else f"{name}=={floor}")
