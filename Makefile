# Developer entry points. `make simulacro` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VOTERS ?= 200

.PHONY: setup simulacro test lint bench clean

$(BIN)/sivei: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(BIN)/sivei

setup: $(BIN)/sivei

simulacro: setup
	$(BIN)/sivei simulacro --voters $(VOTERS) --output simulacro-record

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check $(wildcard src tests benchmarks server ceremonies)
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m pytest benchmarks

clean:
	rm -rf $(VENV) simulacro-record
