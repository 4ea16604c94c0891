# zkmargin: every target sets itself up (venv with pinned Python deps, npm ci).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.zkmargin-installed
NODE_STAMP := node_modules/.zkmargin-installed

.PHONY: setup demo test test-fast test-all lint bench clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.lock pyproject.toml
	@echo "==> Python venv with pinned dependencies ($(VENV))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q "pip==24.3.1"
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> node toolchain (npm ci: circom2, snarkjs, circomlib, solc, anvil)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	$(BIN)/zkmargin demo

lint: setup
	$(BIN)/ruff check engine prover verifier_contracts zkmargin tests bench
	$(BIN)/ruff format --check engine prover verifier_contracts zkmargin tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Engine, formats and CLI only: no circuits, chains or solc (a few minutes).
test-fast: setup
	$(BIN)/pytest -m "not circuit and not chain and not anvil and not slow and not anvil_slow"

test-all: lint
	$(BIN)/pytest -m ""

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf .cache build
