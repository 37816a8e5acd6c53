# Corral: `make run` starts a standalone server on 127.0.0.1:2181 (data in ./data);
# `make test` installs what the tests need and runs every suite.
SHELL := /bin/bash
CARGO ?= cargo
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python

.PHONY: run build test test-deps test-rust test-python lint bench

run:
	$(CARGO) build --release -p corral-server
	mkdir -p data
	./target/release/corral-server --address 127.0.0.1 --port 2181 --data-dir ./data

build:
	$(CARGO) build --workspace --all-targets

test: test-deps lint test-rust test-python

test-deps:
	bash tests/setup.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) build -p corral-server
	$(CARGO) test --workspace

test-python: build
	CORRAL_SERVER=$(CURDIR)/target/debug/corral-server $(PY) -m pytest -q tests/python

bench:
	bash tests/bench/run.sh
	bash tests/bench/client_bench.sh
	bash tests/bench/recovery.sh
