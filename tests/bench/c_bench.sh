#!/usr/bin/env bash
# getData round trips from C: libcorral vs Apache ZooKeeper's libzookeeper-mt,
# one synchronous call at a time, against corral-server and Apache ZooKeeper.
#   bash tests/bench/c_bench.sh            # BENCH_N=20000 calls per run
# Builds in release (BENCH_PROFILE=debug for a quick smoke run). Needs the
# Debian package libzookeeper-mt-dev (installed here when run as root).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N=${BENCH_N:-20000}
PROFILE=${BENCH_PROFILE:-release}
FLAG=$([[ $PROFILE == release ]] && echo --release || true)
OUT="$REPO/target/c-bench"

if ! dpkg -s libzookeeper-mt-dev 2>/dev/null | grep -q '^Status: install ok installed$'; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libzookeeper-mt-dev </dev/null
fi
cargo build -q $FLAG -p corral-ffi -p corral-server
mkdir -p "$OUT"
SRC="$REPO/bindings/c/tests/bench_get.c"
gcc -std=c11 -O2 -Wall -Werror -D_DEFAULT_SOURCE -I"$REPO/include" "$SRC" -o "$OUT/bench_corral" \
    -L"$REPO/target/$PROFILE" -lcorral -Wl,-rpath,"$REPO/target/$PROFILE"
gcc -std=c11 -O2 -Wall -Werror -D_DEFAULT_SOURCE -DTHREADED -DUSE_LIBZOOKEEPER "$SRC" -o "$OUT/bench_zk" -lzookeeper_mt

CORRAL_SERVER="$REPO/target/$PROFILE/corral-server" python3 "$REPO/bindings/c/tests/with_servers.py" -- \
    bash -c "'$OUT/bench_corral' \"\$CORRAL_HOSTS\" $N && '$OUT/bench_zk' \"\$CORRAL_HOSTS\" $N"
