# Developer entry points. `make simulacro` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
VOTERS ?= 200

.PHONY: setup setup-system simulacro test lint bench clean postgres

$(BIN)/sivei: requirements.lock requirements-dask.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	# the `dask` extra (sivei verificar --scheduler); not part of the key-holders' offline bundle
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dask.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(BIN)/sivei

setup: $(BIN)/sivei

# System packages (Debian/Ubuntu, as root or through sudo): SoftHSM2, the default PKCS#11 token for key
# custody, OpenSC's pkcs11-tool, and the DejaVu fonts that printed actas and ceremony material embed.
# Installs only what is missing.
SYSTEM_PACKAGES := softhsm2 opensc fonts-dejavu-core
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
setup-system:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; }

simulacro: setup-system setup
	$(BIN)/sivei simulacro --voters $(VOTERS) --output simulacro-record

test: setup-system setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check $(wildcard src tests benchmarks server ceremonies)
	$(BIN)/mypy

# A private PostgreSQL on 127.0.0.1:54329 for the server's concurrency tests (idempotent).
postgres:
	@bash .ci/postgres.sh

bench: setup
	$(BIN)/python -m pytest benchmarks --benchmark-timer=time.process_time

clean:
	rm -rf $(VENV) simulacro-record
