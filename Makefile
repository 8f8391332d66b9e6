# The two set-up commands of the README: `make demo` and `make test`.
# Each creates (or refreshes) .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

.PHONY: demo test test-slow test-properties lint bench clean

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

# The property suite with many more random examples than CI's profile.
test-properties: $(VENV)/.stamp-dev
	JAXLOSS_HYPOTHESIS_PROFILE=local $(PY) -m pytest -q -n $(PYTEST_WORKERS) \
	  tests/test_properties.py

lint: $(VENV)/.stamp-dev
	$(PY) -m ruff check jaxloss tests examples benchmarks

bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info
