# The two set-up commands of the README: `make demo` and `make test`.
# Each creates (or refreshes) .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: demo test test-slow lint bench clean typecheck stubs

$(VENV)/.stamp-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[demo]"
	touch $@

$(VENV)/.stamp-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,demo]"
	touch $@ $(VENV)/.stamp-demo

demo: $(VENV)/.stamp-demo
	$(PY) examples/demo.py

test: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "not slow"

test-slow: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m slow

lint: $(VENV)/.stamp-dev
	$(PY) -m ruff check jaxloss tests examples benchmarks tools

bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info

# pyright over the package and the documented usages (tests/typecheck/):
# zero errors. pyright goes into its own virtual environment; it reads the
# project's packages from $(VENV).
PYRIGHT_VENV ?= .venv-pyright
typecheck: $(VENV)/.stamp-dev
	test -x $(PYRIGHT_VENV)/bin/pyright || ($(PYTHON) -m venv $(PYRIGHT_VENV) && $(PYRIGHT_VENV)/bin/pip install -q pyright)
	$(PYRIGHT_VENV)/bin/pyright --pythonpath $(PY) jaxloss tests/typecheck/documented_usage.py

# Rewrites jaxloss/__init__.pyi after adding or changing a loss.
stubs: $(VENV)/.stamp-dev
	$(PY) -m tools.gen_stubs
