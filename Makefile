# `make repro` runs the pipeline, `make test` the tests; both create .venv first if missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: repro test test-fast lint docs clean-venv

# uv installs the same packages several times faster when it is on PATH; pip otherwise
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	if command -v uv >/dev/null; then uv pip install --quiet --python $(BIN)/python -e '.[dev]'; \
	else $(BIN)/pip install --quiet -e '.[dev]'; fi
	touch $(STAMP)

repro: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	$(BIN)/python -m cardiofusion.reporting.next_steps

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest

test-fast: $(STAMP)  # everything but the end-to-end runs (tests/e2e, marked slow)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)  # the documentation site into site/; a broken link or results file fails it
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean-venv:
	rm -rf $(VENV)
