# Corral: `make run` starts a standalone server on 127.0.0.1:2181 (data in ./data);
# `make test` installs what the tests need and runs every suite.
SHELL := /bin/bash
CARGO ?= cargo
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python

.PHONY: cluster cluster-stop run build test test-deps test-rust test-python test-python-pkg test-node-pkg test-c test-php lint bench

cluster:
	bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

run:
	$(CARGO) build --release -p corral-server
	mkdir -p data
	./target/release/corral-server --address 127.0.0.1 --port 2181 --data-dir ./data

build:
	$(CARGO) build --workspace --all-targets

test: test-deps lint test-rust test-python test-python-pkg test-node-pkg test-c test-php

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

# The Python package `corral` (python/; installed into the venv by
# tests/setup.sh): typed (mypy --strict, stubtest), tested against
# corral-server and Apache ZooKeeper.
test-python-pkg: test-deps
	$(CARGO) build -p corral-server
	cd python && $(VENV)/bin/mypy && $(PY) -m mypy.stubtest corral._corral
	CORRAL_SERVER=$(CURDIR)/target/debug/corral-server $(PY) -m pytest -q python/tests

# The Node.js package `corral-zk` (node/; npm dependencies and addon
# installed by tests/setup.sh): index.d.ts must be what napi generates (the
# check also rebuilds the addon), then node:test suites against
# corral-server and Apache ZooKeeper.
test-node-pkg: test-deps
	$(CARGO) build -p corral-server
	cd node && node scripts/dts.js --check
	cd node && CORRAL_SERVER=$(CURDIR)/target/debug/corral-server timeout 900 npm test

test-c:
	timeout 900 $(MAKE) -C bindings/c test PROFILE=debug

test-php:
	$(MAKE) -C bindings/c lib PROFILE=debug
	$(CARGO) build -p corral-server
	cd bindings/php && CORRAL_LIB=$(CURDIR)/target/debug/libcorral.so \
		CORRAL_SERVER=$(CURDIR)/target/debug/corral-server \
		timeout 600 python3 ../c/tests/with_servers.py -- \
		sh -c 'phpunit && php examples/quickstart.php "$$CORRAL_HOSTS" >/dev/null'

bench:
	bash tests/bench/run.sh
	bash tests/bench/client_bench.sh
	bash tests/bench/recovery.sh
	$(PY) tests/bench/ensemble_bench.py
	bash tests/bench/python_bench.sh
	bash tests/bench/node_bench.sh
	bash tests/bench/c_bench.sh
