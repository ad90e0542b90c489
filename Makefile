# The two set-up commands of the README:
#   make run    install edihub into .venv and run its main job
#   make test   install edihub with its test dependencies (Python and Debian packages) and run every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench clean

$(VENV)/.installed: pyproject.toml setup.py translator/rules/_prcscreen.c translator/_depth.c translator/include/lxml_element.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(PY) server.py

test: $(VENV)/.installed-test
	bash tools/system-test-deps.sh
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-test
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
