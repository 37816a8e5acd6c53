#!/usr/bin/env bash
# Python client throughput, corral vs kazoo, on one release corral-server:
#   bash tests/bench/python_bench.sh     # writes docs/BENCHMARKS-python.md
# Builds the release corral-server and corral CLI (the ceiling), and a release wheel of the `corral`
# package (`maturin build --release` into a temp dir) installed into its own
# venv, .venv-bench, with kazoo from tests/requirements.txt. (Not `maturin
# develop`: its editable install would replace the debug extension module in
# python/python/corral that the tests' .venv uses.)
# BENCH_DURATION / BENCH_WARMUP / BENCH_ROUNDS: seconds per cell and rounds,
# default 3 / 1 / 3 (18 cells a round: about 4 minutes, plus the builds).
# tests/bench/loopback_pingpong.c is compiled with cc for the loopback floor.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv-bench"
log() { echo "python_bench.sh: $*" >&2; }

cargo build -q --release -p corral-server -p corral-cli

if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    PYTHON=python3
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 && [[ -x /usr/bin/python3 ]]; then
        PYTHON=/usr/bin/python3
    fi
    log "creating $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import kazoo, maturin' >/dev/null 2>&1; then
    log "pip install kazoo, maturin"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "$(grep -i '^kazoo' "$REPO/tests/requirements.txt")" "maturin>=1.9.4,<2" </dev/null
fi
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
log "maturin build --release (python/)"
(cd "$REPO/python" && "$VENV/bin/maturin" build --release -q -i "$VENV/bin/python" -o "$WHEELS" </dev/null)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
    "$WHEELS"/corral-*.whl </dev/null

FLOOR=()
if command -v cc >/dev/null 2>&1; then
    cc -O2 -Wall -o "$WHEELS/loopback_pingpong" "$REPO/tests/bench/loopback_pingpong.c"
    FLOOR=(--pingpong "$WHEELS/loopback_pingpong")
else
    log "no C compiler: the report goes without the loopback floor"
fi

CORRAL_SERVER="$REPO/target/release/corral-server" "$VENV/bin/python" \
    "$REPO/tests/bench/python_bench.py" "${FLOOR[@]}" \
    --duration "${BENCH_DURATION:-3}" --warmup "${BENCH_WARMUP:-1}" --rounds "${BENCH_ROUNDS:-3}"
