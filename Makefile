# The two set-up commands of the README: `make demo` and `make test`.
# Each creates (or refreshes) .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: demo test test-slow test-properties test-min lint format-check typecheck package bench docs docs-browser ci clean

$(VENV)/.stamp-demo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[demo]"
	touch $@

$(VENV)/.stamp-dev: pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c .ci/constraints.txt -e ".[dev,demo]"
	touch $@ $(VENV)/.stamp-demo

demo: $(VENV)/.stamp-demo
	$(PY) examples/demo.py

test: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "not slow"

test-slow: $(VENV)/.stamp-dev
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) -m slow

# The property suite with many more random examples than CI's profile.
test-properties: $(VENV)/.stamp-dev
	JAXLOSS_HYPOTHESIS_PROFILE=local $(PY) -m pytest -q -n $(PYTEST_WORKERS) \
	  tests/test_properties.py

lint: $(VENV)/.stamp-dev
	$(PY) -m ruff check jaxloss tests examples benchmarks docs/tools tools

format-check: $(VENV)/.stamp-dev
	$(PY) -m ruff format --check jaxloss tests examples benchmarks docs/tools tools

# The declared minimum versions (pyproject floors) in their own environment:
# the doctests and a fast subset of the suite.
MIN_VENV ?= .venv-min
test-min:
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q $$($(PYTHON) .ci/min_versions.py) \
	  pytest pytest-xdist hypothesis chex
	$(MIN_VENV)/bin/python -m pip install -q --no-deps -e .
	$(MIN_VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) jaxloss \
	  tests/test_reduction.py tests/test_errors.py

# Wheel and sdist: clean install without extras, sdist contents.
package: $(VENV)/.stamp-dev
	.ci/check_package

bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks.run

# The docs site: API pages, gallery and example pages (each example run)
# generated from the package, then a
# strict build (any warning fails) and a check that every docstring example
# of the API pages is rendered as code.
docs: $(VENV)/.stamp-dev
	$(PY) -m docs.tools.api_pages
	$(PY) -m docs.tools.gallery
	$(PY) -m docs.tools.examples_pages
	$(PY) -m mkdocs build --strict
	$(PY) -m docs.tools.rendered_examples

# The built site in headless Chromium (pages render, images load, search
# finds what it should). Needs a Chromium on the PATH, so it is not in CI.
docs-browser: docs
	$(PY) -m pip install -q websocket-client
	$(PY) -m docs.tools.browser_check

# Everything CI checks besides the tests.
ci: lint format-check typecheck docs package test-min

clean:
	rm -rf $(VENV) $(MIN_VENV) build *.egg-info site docs/api docs/gallery docs/examples .cache
	rm -rf $(VENV) build *.egg-info

# pyright over the package and the documented usages (tests/typecheck/):
# zero errors. pyright goes into its own virtual environment; it reads the
# project's packages from $(VENV).
PYRIGHT_VENV ?= .venv-pyright
typecheck: $(VENV)/.stamp-dev
	test -x $(PYRIGHT_VENV)/bin/pyright || ($(PYTHON) -m venv $(PYRIGHT_VENV) && $(PYRIGHT_VENV)/bin/pip install -q pyright)
	$(PYRIGHT_VENV)/bin/pyright --pythonpath $(PY) jaxloss tests/typecheck/documented_usage.py
