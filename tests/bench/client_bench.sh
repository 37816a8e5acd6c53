#!/usr/bin/env bash
# `make bench`, client libraries: one client (one session, one connection)
# pipelining getData/setData, through corral-client, the zookeeper-client
# crate and kazoo, against corral-server and against Apache ZooKeeper 3.8
# (the Debian package, forceSync at its default), each server alone while it
# is measured. Writes the "Client libraries" section of
# docs/CLIENT_BENCHMARKS.md (and leaves the rest of that file alone).
#
# Drivers (same load: READ_PCT% getData, the rest setData, VALUE_SIZE-byte
# values on ZNODES random znodes under /client-bench):
#   corral-client     client-bench --driver corral: one corral_client::Client
#                     shared by IN_FLIGHT tasks (IN_FLIGHT requests in flight),
#                     on tokio's multi-thread runtime (what #[tokio::main]
#                     gives: one worker per CPU)
#   zookeeper-client  client-bench --driver zookeeper-client: the same through
#                     the zookeeper-client crate (crates.io)
#   corral-client-ct, zookeeper-client-ct
#                     the same two on tokio's current-thread runtime
#   kazoo             tests/bench/kazoo_bench.py --mode async: one
#                     KazooClient, get_async/set_async keeping IN_FLIGHT in
#                     flight
#   kazoo-sync        tests/bench/kazoo_bench.py --mode sync: one KazooClient,
#                     get/set in a plain loop
#
# Environment (all optional), with defaults:
#   CLIENT_BENCH_SERVERS    "corral zookeeper"
#   CLIENT_BENCH_DRIVERS    "corral-client zookeeper-client corral-client-ct
#                           zookeeper-client-ct kazoo kazoo-sync"
#   CLIENT_BENCH_IN_FLIGHT  64
#   CLIENT_BENCH_ZNODES     1000
#   CLIENT_BENCH_VALUE_SIZE 100
#   CLIENT_BENCH_READ_PCT   90
#   CLIENT_BENCH_DURATION   5s     measured time per run
#   CLIENT_BENCH_WARMUP     1s     unmeasured lead-in per run
#   CLIENT_BENCH_PRIME      15s    unmeasured warm-up run (corral-client
#                                  driver) per server before measuring; it
#                                  also creates the znodes. Lets ZooKeeper's
#                                  JIT compile.
#   CLIENT_BENCH_REPEAT     5      measured rounds; each round runs every
#                                  driver once, in turn (so that slow drifts
#                                  of the machine, e.g. its disk's fsync
#                                  latency, hit every driver alike); the
#                                  report shows the median run (by ops/s)
#                                  and the range
#   CLIENT_BENCH_ZK_HEAP    1000m  ZooKeeper's -Xmx
#   CLIENT_BENCH_OUT        docs/CLIENT_BENCHMARKS.md
#   CLIENT_BENCH_KEEP       0      1 keeps the temp dir (configs, logs, raw JSON)
#
# Before each run it waits while tests/bench/run.sh (the server benchmark)
# is running, so that the two never share the machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

SERVERS=${CLIENT_BENCH_SERVERS:-"corral zookeeper"}
DRIVERS=${CLIENT_BENCH_DRIVERS:-"corral-client zookeeper-client corral-client-ct zookeeper-client-ct kazoo kazoo-sync"}
IN_FLIGHT=${CLIENT_BENCH_IN_FLIGHT:-64}
ZNODES=${CLIENT_BENCH_ZNODES:-1000}
VALUE_SIZE=${CLIENT_BENCH_VALUE_SIZE:-100}
READ_PCT=${CLIENT_BENCH_READ_PCT:-90}
DURATION=${CLIENT_BENCH_DURATION:-5s}
WARMUP=${CLIENT_BENCH_WARMUP:-1s}
PRIME=${CLIENT_BENCH_PRIME:-15s}
REPEAT=${CLIENT_BENCH_REPEAT:-5}
ZK_HEAP=${CLIENT_BENCH_ZK_HEAP:-1000m}
OUT=${CLIENT_BENCH_OUT:-$ROOT/docs/CLIENT_BENCHMARKS.md}
PY="$ROOT/.venv/bin/python"

log() { echo "client-bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for s in $SERVERS; do
    case $s in
    corral | zookeeper) ;;
    *) die "unknown server '$s' in CLIENT_BENCH_SERVERS (corral, zookeeper)" ;;
    esac
done
for d in $DRIVERS; do
    case $d in
    corral-client | zookeeper-client | corral-client-ct | zookeeper-client-ct | kazoo | kazoo-sync) ;;
    *) die "unknown driver '$d' in CLIENT_BENCH_DRIVERS" ;;
    esac
done

# --- build and prerequisites -------------------------------------------------
log "building corral-cli (client-bench) and corral-server (release)"
cargo build --release -p corral-cli -p corral-server
CLIENT_BENCH="$ROOT/target/release/client-bench"
CORRAL_SERVER="$ROOT/target/release/corral-server"

if [[ " $DRIVERS " == *" kazoo"* ]]; then
    "$PY" -c 'import kazoo' 2>/dev/null ||
        die "kazoo not found in $ROOT/.venv: run 'make test-deps' (tests/setup.sh)"
fi

# Apache ZooKeeper from the Debian package, as tests/bench/run.sh runs it:
# zookeeper.jar's manifest Class-Path names its dependencies in
# /usr/share/java; slf4j-simple is the log binding, at WARN.
ZK_JAR=/usr/share/java/zookeeper.jar
if [[ " $SERVERS " == *" zookeeper "* ]]; then
    if ! dpkg -s zookeeper >/dev/null 2>&1 || [[ ! -f $ZK_JAR ]]; then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "installing the Debian zookeeper package"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null
        else
            die "Apache ZooKeeper is not installed: sudo apt-get install zookeeper"
        fi
    fi
    command -v java >/dev/null || die "java not found (the zookeeper package needs a JRE)"
fi
ZK_CP="$ZK_JAR:/usr/share/java/slf4j-simple.jar"

# --- scratch space and cleanup -----------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/corral-client-bench.XXXXXX")
RESULTS="$TMP/results"
mkdir -p "$RESULTS"
SERVER_PID=""

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local rc=$?
    stop_server
    if [[ ${CLIENT_BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
        log "logs and raw results kept in $TMP"
    else
        rm -rf "$TMP"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {
    local name=$1 port=$2 logf=$3
    for _ in $(seq 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || {
            tail -n 30 "$logf" >&2 || true
            die "$name exited before serving (log: $logf)"
        }
        if python3 "$ROOT/tests/bench/probe.py" "$port"; then
            return 0
        fi
        sleep 0.2
    done
    die "$name did not answer on 127.0.0.1:$port within 60 s (log: $logf)"
}

# ZooKeeper's defaults (forceSync=yes included) for both servers, admin
# server off, all 4lw allowed.
start_server() {
    local name=$1 port=$2 dir="$TMP/$1"
    mkdir -p "$dir/data"
    cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
EOF
    case $name in
    zookeeper)
        java "-Xmx$ZK_HEAP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
            -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
            >"$dir/server.log" 2>&1 &
        ;;
    corral)
        "$CORRAL_SERVER" --config "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
    wait_ready "$name" "$port" "$dir/server.log"
}

# Never measure while the server benchmark runs on this machine.
wait_for_quiet() {
    local said=0
    while pgrep -f tests/bench/run.sh >/dev/null; do
        [[ $said == 1 ]] || log "waiting for tests/bench/run.sh to finish"
        said=1
        sleep 20
    done
}

# CPU time (clock ticks) the server has used so far.
server_ticks() {
    awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

# CPU seconds (user + system) this script's finished children have used so
# far (`times` must run in this shell, so it goes via a file).
client_cpu() {
    times >"$TMP/times"
    tail -n 1 "$TMP/times" | tr 'ms' '  ' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}

# run_driver DRIVER PORT DURATION WARMUP [extra args...]: one JSON line.
run_driver() {
    local driver=$1 port=$2 duration=$3 warmup=$4
    shift 4
    local common=(--server "127.0.0.1:$port" --in-flight "$IN_FLIGHT" --znodes "$ZNODES"
        --value-size "$VALUE_SIZE" --read-pct "$READ_PCT" --duration "$duration"
        --warmup "$warmup" "$@")
    case $driver in
    corral-client) "$CLIENT_BENCH" --driver corral "${common[@]}" ;;
    zookeeper-client) "$CLIENT_BENCH" --driver zookeeper-client "${common[@]}" ;;
    corral-client-ct) "$CLIENT_BENCH" --driver corral --current-thread "${common[@]}" ;;
    zookeeper-client-ct) "$CLIENT_BENCH" --driver zookeeper-client --current-thread "${common[@]}" ;;
    kazoo) "$PY" "$ROOT/tests/bench/kazoo_bench.py" --mode async "${common[@]}" ;;
    kazoo-sync) "$PY" "$ROOT/tests/bench/kazoo_bench.py" --mode sync "${common[@]}" ;;
    esac
}

for name in $SERVERS; do
    wait_for_quiet
    port=$(free_port)
    log "starting $name on 127.0.0.1:$port"
    start_server "$name" "$port"
    log "$name: creating the znodes and priming for $PRIME"
    run_driver corral-client "$port" "$PRIME" 0s >"$RESULTS/$name.prime.json"
    for i in $(seq "$REPEAT"); do
        for d in $DRIVERS; do
            wait_for_quiet
            log "$name: $d, run $i/$REPEAT ($WARMUP warmup + $DURATION)"
            result="$RESULTS/$name.$d.$i"
            before=$(server_ticks)
            client_cpu >"$TMP/client_before"
            wall_before=$EPOCHREALTIME
            run_driver "$d" "$port" "$DURATION" "$WARMUP" --no-setup >"$result.json"
            wall_after=$EPOCHREALTIME
            client_cpu >"$TMP/client_after"
            after=$(server_ticks)
            client=$(awk -v a="$(cat "$TMP/client_before")" -v b="$(cat "$TMP/client_after")" \
                'BEGIN { printf "%.3f", b - a }')
            wall=$(awk -v a="$wall_before" -v b="$wall_after" 'BEGIN { printf "%.3f", b - a }')
            printf '{"server_cpu_ticks": %d, "clk_tck": %d, "client_cpu_s": %s, "wall_s": %s}\n' \
                $((after - before)) "$(getconf CLK_TCK)" "$client" "$wall" >"$result.cpu.json"
            python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("client-bench:   %.0f ops/s, p50 %d us, p99 %d us, errors %d" % (r["ops_per_sec"], r["p50_us"], r["p99_us"], r["errors"]))' \
                "$result.json" >&2
        done
    done
    stop_server
done

# --- report ------------------------------------------------------------------
zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown)
java_version=$(java -version 2>&1 | head -n 1 || echo unknown)
kazoo_version=$("$PY" -c 'import kazoo; print(kazoo.__version__)' 2>/dev/null || echo unknown)
zkc_version=$(cargo metadata --format-version 1 2>/dev/null |
    python3 -c 'import json,sys; print(next((p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "zookeeper-client"), "unknown"))' ||
    echo unknown)
corral_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    corral_rev="$corral_rev (with uncommitted changes)"
fi
python3 "$ROOT/tests/bench/client_report.py" \
    --results "$RESULTS" --out "$OUT" --servers "$SERVERS" --drivers "$DRIVERS" \
    --repeat "$REPEAT" --prime "$PRIME" --in-flight "$IN_FLIGHT" --znodes "$ZNODES" \
    --value-size "$VALUE_SIZE" --read-pct "$READ_PCT" --duration "$DURATION" --warmup "$WARMUP" \
    --zk-version "$zk_version" --zk-heap "$ZK_HEAP" --java-version "$java_version" \
    --kazoo-version "$kazoo_version" --zookeeper-client-version "$zkc_version" \
    --python-version "$("$PY" --version 2>&1)" --rustc-version "$(rustc --version)" \
    --corral-rev "$corral_rev"
log "wrote ${OUT#"$ROOT"/}"
