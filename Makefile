# zkmargin: every target sets itself up (venv with pinned Python deps, npm ci).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.zkmargin-installed
NODE_STAMP := node_modules/.zkmargin-installed
NATIVE_STAMP := $(VENV)/.zkmargin-native-installed
RAPIDSNARK_BIN := build/bin/zkmargin-rapidsnark
NATIVE_SRC := $(shell find native -path native/target -prune -o -type f \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock \) -print)

.PHONY: setup demo test test-fast test-all lint native-test browser bench clean

setup: $(PY_STAMP) $(NODE_STAMP) $(NATIVE_STAMP) $(RAPIDSNARK_BIN)

$(PY_STAMP): requirements.lock pyproject.toml
	@echo "==> Python venv with pinned dependencies ($(VENV))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q "pip==24.3.1"
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> node toolchain (npm ci: circom2, snarkjs, circomlib, solc, anvil; the audit page: esbuild, poseidon-lite, ethers, playwright-core)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The native prover and Poseidon (Rust, arkworks): built from native/Cargo.lock by maturin
# into the venv. Without cargo the set-up stops here and says what to install.
$(NATIVE_STAMP): $(PY_STAMP) $(NATIVE_SRC)
	@command -v cargo >/dev/null || { echo "error: the native prover needs Rust's cargo >= 1.80 (Debian: apt install cargo rustc; else https://rustup.rs)"; exit 1; }
	@echo "==> native prover (Rust: arkworks Groth16 + Poseidon; first build ~4 min on 2 cores)"
	rm -rf build/native-wheels
	cd native && ../$(BIN)/maturin build --release --locked -q -m python/Cargo.toml -o ../build/native-wheels
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --force-reinstall build/native-wheels/zkmargin_native-*.whl
	@touch $@

# The rapidsnark helper (Go; links the prebuilt GPL rapidsnark library of iden3's
# go-rapidsnark prover module, pinned by native/rapidsnark/go.sum): an optional backend in
# its own process. Without Go it is skipped with a note; auto then picks another backend.
$(RAPIDSNARK_BIN): native/rapidsnark/main.go native/rapidsnark/go.mod native/rapidsnark/go.sum
	@if command -v go >/dev/null; then \
		echo "==> rapidsnark helper (Go + iden3's prebuilt rapidsnark)"; \
		mkdir -p build/bin && cd native/rapidsnark && CGO_ENABLED=1 go build -mod=readonly -trimpath -o ../../$(RAPIDSNARK_BIN) . 2>&1 | grep -v "GNU-stack\|NOTE: This behaviour" || true; \
		test -x ../../$(RAPIDSNARK_BIN); \
	else echo "note: Go is not installed: the optional rapidsnark backend is not built (apt install golang)"; fi

# The browser tests (tests/web) drive Debian's chromium headless with playwright-core; as
# root the set-up installs it where it is missing, else it says what to install.
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "==> Debian's chromium for the browser tests (apt-get install chromium)"; \
			apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
		else echo "error: the browser tests need chromium (Debian: sudo apt-get install chromium)"; exit 1; fi; }

native-test: setup
	cd native && cargo test --release --locked -q -p zkmargin-core

demo: setup
	$(BIN)/zkmargin demo

lint: setup
	$(BIN)/ruff check engine backtest cascade prover verifier_contracts zkmargin tests bench
	$(BIN)/ruff format --check engine backtest cascade prover verifier_contracts zkmargin tests bench
	$(BIN)/mypy

test: lint native-test browser
	$(BIN)/pytest

# Engine, formats and CLI only: no circuits, chains or solc (a few minutes).
test-fast: setup
	$(BIN)/pytest -m "not circuit and not chain and not anvil and not slow and not anvil_slow"

test-all: lint browser
	$(BIN)/pytest -m ""

bench: setup
	$(BIN)/python -m bench.run_all

clean:
	rm -rf .cache build
