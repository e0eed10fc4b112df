# `make repro` runs the pipeline, `make test` the tests; both create .venv first if missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: repro test test-fast lint clean-venv

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

repro: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

test-fast: $(STAMP)  # everything but the end-to-end runs (tests/e2e, marked slow)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)
