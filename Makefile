# The two commands (README): `make demo` and `make test`. Both work from a fresh clone.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint setup clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/madoguchi demo

test: $(STAMP)
	scripts/test

lint: $(STAMP)
	scripts/test --lint-only

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
