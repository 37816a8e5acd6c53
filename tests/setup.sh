#!/usr/bin/env bash
# Installs what the cross-language tests need; safe to run again (fast when
# everything is there). Runs as root, without stdin, on Debian:
#   - Debian packages: Apache ZooKeeper (server jar + zkCli.sh), zookeeper-bin
#     (cli_mt, the C client shell), Java, Node.js/npm and python3-venv when missing;
#   - a Python venv at <repo>/.venv with tests/requirements.txt;
#   - npm packages of tests/node (npm ci from the committed package-lock.json);
#   - npm packages of node/ (same) and its native addon, built by cargo;
#   - the Python package `corral` (python/), built into the venv by maturin.
# Only Debian's, PyPI's and npm's registries are used.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup.sh: $*" >&2; }

sha() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# --- Debian packages ---------------------------------------------------------
APT_PACKAGES=(zookeeper zookeeper-bin)
APT_PACKAGES+=(iproute2)  # `ip netns` for the partition tests (test_ensemble_faults.py)
# C and PHP bindings (make test-c, test-php): compiler, valgrind, PHP with FFI, phpunit
APT_PACKAGES+=(gcc libc6-dev valgrind php-cli phpunit)
command -v java >/dev/null 2>&1 || APT_PACKAGES+=(default-jre-headless)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
venv_ok() { "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }
if ! venv_ok; then
    # only needed to create the venv: the interpreter and its venv module
    command -v python3 >/dev/null 2>&1 || APT_PACKAGES+=(python3)
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        APT_PACKAGES+=(python3-venv)
    fi
fi

APT_UPDATED=0
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        log "missing Debian packages: ${missing[*]} (run as root to install them)"
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    if ((!APT_UPDATED)); then
        apt-get update -q </dev/null
        APT_UPDATED=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
apt_install "${APT_PACKAGES[@]}"

# --- Python venv ---------------------------------------------------------------
if ! venv_ok; then
    PYTHON=python3
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 && [[ -x /usr/bin/python3 ]]; then
        PYTHON=/usr/bin/python3  # e.g. a pyenv python3 without ensurepip: use Debian's
    fi
    log "creating $VENV with $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
REQ="$REPO/tests/requirements.txt"
if [[ -f $REQ ]]; then
    want="$(sha "$REQ")-$("$VENV/bin/python" -c 'import sys; print(sys.version)' | sha256sum | cut -c1-16)"
    stamp="$VENV/.tests-requirements.sha256"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
        log "pip install -r tests/requirements.txt"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" </dev/null
        echo "$want" >"$stamp"
    fi
fi

# --- the Python package `corral` (python/) -------------------------------------
# `maturin develop`: a debug build from the cargo workspace, installed into the
# venv (editable); again only when its sources or the client core's change.
PKG="$REPO/python"
if [[ -f $PKG/pyproject.toml ]]; then
    want="$(find "$PKG/Cargo.toml" "$PKG/pyproject.toml" "$PKG/src" "$PKG/python" \
        "$REPO/client-core" "$REPO/protocol" "$REPO/Cargo.lock" -type f \
        \( -name '*.rs' -o -name '*.toml' -o -name '*.py' -o -name '*.pyi' -o -name 'Cargo.lock' \) \
        -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.corral-python.sha256"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]] \
        || ! "$VENV/bin/python" -c 'import corral._corral' >/dev/null 2>&1; then
        log "maturin develop (python/)"
        (cd "$PKG" && VIRTUAL_ENV="$VENV" "$VENV/bin/maturin" develop </dev/null)
        echo "$want" >"$stamp"
    fi
fi

# --- npm packages of tests/node --------------------------------------------------
NODE_DIR="$REPO/tests/node"
if [[ -f $NODE_DIR/package-lock.json ]]; then
    want="$(sha "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
    stamp="$NODE_DIR/node_modules/.corral-lock.sha256"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
        log "npm ci in tests/node"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
        echo "$want" >"$stamp"
    fi
fi

# --- the Node.js package `corral-zk` (node/) -------------------------------------
# npm ci from the committed package-lock.json (dev dependencies: @napi-rs/cli,
# typescript, node-zookeeper-client), then a debug build of the addon with
# cargo (node/corral-zk.node); each again only when its inputs change.
PKG_NODE="$REPO/node"
if [[ -f $PKG_NODE/package-lock.json ]]; then
    want="$(sha "$PKG_NODE/package.json" "$PKG_NODE/package-lock.json")"
    stamp="$PKG_NODE/node_modules/.corral-lock.sha256"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
        log "npm ci in node/"
        (cd "$PKG_NODE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null)
        echo "$want" >"$stamp"
    fi
    want="$(find "$PKG_NODE/Cargo.toml" "$PKG_NODE/build.rs" "$PKG_NODE/src" \
        "$REPO/client-core" "$REPO/protocol" "$REPO/Cargo.lock" -type f \
        \( -name '*.rs' -o -name '*.toml' -o -name 'Cargo.lock' \) \
        -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
    stamp="$PKG_NODE/node_modules/.corral-addon.sha256"
    if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" || ! -f $PKG_NODE/corral-zk.node ]]; then
        log "building the corral-zk addon (node/)"
        (cd "$PKG_NODE" && CORRAL_ZK_PROFILE=debug node scripts/build.js </dev/null)
        echo "$want" >"$stamp"
    fi
fi

log "ok"
