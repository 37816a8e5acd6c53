#!/usr/bin/env bash
# `make bench`: corral-server against Apache ZooKeeper 3.8 (the Debian
# package), same machine, same load generator (`corral bench`), each server
# alone while it is measured. Writes docs/BENCHMARKS.md.
#
# Environment (all optional), with defaults:
#   BENCH_SERVERS     "zookeeper zookeeper-nosync corral"  servers to measure,
#                            in this order: zookeeper has ZooKeeper's default
#                            forceSync=yes, zookeeper-nosync forceSync=no
#   BENCH_SESSIONS    8      sessions (one TCP connection each)
#   BENCH_IN_FLIGHT   32     pipelined requests per session
#   BENCH_ZNODES      1000   znodes of the mixed workload
#   BENCH_VALUE_SIZE  100    bytes per value
#   BENCH_READ_PCT    90     getData share of the mixed workload
#   BENCH_DURATION    10s    measured time per run
#   BENCH_WARMUP      2s     unmeasured lead-in per run
#   BENCH_PRIME       10s    one priming run per workload and server before
#                            measuring (lets ZooKeeper's JIT compile)
#   BENCH_REPEAT      3      measured runs per workload and server; the report
#                            shows the median run (by ops/s) and the range
#   BENCH_ZK_HEAP     1000m  ZooKeeper's -Xmx (upstream zkEnv.sh's default)
#   BENCH_OUT         docs/BENCHMARKS.md
#   BENCH_KEEP        0      1 keeps the temp dir (configs, logs, raw JSON)
#
# BENCH_SERVERS=zookeeper (or zookeeper-nosync) validates the harness without
# corral-server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

SERVERS=${BENCH_SERVERS:-"zookeeper zookeeper-nosync corral"}
SESSIONS=${BENCH_SESSIONS:-8}
IN_FLIGHT=${BENCH_IN_FLIGHT:-32}
ZNODES=${BENCH_ZNODES:-1000}
VALUE_SIZE=${BENCH_VALUE_SIZE:-100}
READ_PCT=${BENCH_READ_PCT:-90}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
PRIME=${BENCH_PRIME:-10s}
REPEAT=${BENCH_REPEAT:-3}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
WORKLOADS="mixed create"

log() { echo "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

for s in $SERVERS; do
    case $s in
    zookeeper | zookeeper-nosync | corral) ;;
    *) die "unknown server '$s' in BENCH_SERVERS (zookeeper, zookeeper-nosync, corral)" ;;
    esac
done

# --- build -------------------------------------------------------------------
packages=(-p corral-cli)
[[ " $SERVERS " == *" corral "* ]] && packages+=(-p corral-server)
log "building ${packages[*]} (release)"
cargo build --release "${packages[@]}"
CORRAL="$ROOT/target/release/corral"
CORRAL_SERVER="$ROOT/target/release/corral-server"

# --- Apache ZooKeeper from the Debian package --------------------------------
ZK_JAR=/usr/share/java/zookeeper.jar
if [[ " $SERVERS " == *" zookeeper"* ]]; then
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
# zookeeper.jar's manifest Class-Path names its dependencies in /usr/share/java
# (netty, jute, jetty, slf4j-api...); slf4j-simple is the log binding, at WARN.
ZK_CP="$ZK_JAR:/usr/share/java/slf4j-simple.jar"
ZK_HEAP=${BENCH_ZK_HEAP:-1000m} # zkEnv.sh's upstream default ZK_SERVER_HEAP

# --- scratch space and cleanup -----------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/corral-bench.XXXXXX")
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
    if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
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

# Ready when a ZooKeeper session can be opened (probe.py).
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

# The same zoo.cfg shape for both servers. ZooKeeper defaults except:
# forceSync for zookeeper-nosync, admin server off, all 4lw allowed.
write_cfg() {
    local dir=$1 port=$2 force_sync=$3
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
forceSync=$force_sync
EOF
}

start_server() {
    local name=$1 port=$2 dir="$TMP/$1"
    local force_sync=yes
    [[ $name == zookeeper-nosync ]] && force_sync=no
    write_cfg "$dir" "$port" "$force_sync"
    case $name in
    zookeeper | zookeeper-nosync)
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

# CPU time (clock ticks) the server has used so far.
server_ticks() {
    awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"
}

# CPU time (clock ticks) the whole machine has been busy so far: user, nice,
# system, irq, softirq, steal.
machine_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# CPU seconds (user + system) this script's finished children have used so
# far: `times` must run in this shell (not in $(...)), so it goes via a file.
client_cpu() {
    times >"$TMP/times"
    tail -n 1 "$TMP/times" | tr 'ms' '  ' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}

bench() {
    local port=$1 workload=$2 duration=$3 warmup=$4
    "$CORRAL" bench --server "127.0.0.1:$port" --workload "$workload" \
        --sessions "$SESSIONS" --in-flight "$IN_FLIGHT" --znodes "$ZNODES" \
        --value-size "$VALUE_SIZE" --read-pct "$READ_PCT" \
        --duration "$duration" --warmup "$warmup" --json
}

# How fast the disk under the dataDirs makes 100-byte appends durable: the
# floor under any server that fsyncs each group commit.
python3 - "$TMP/fsync-probe" >"$RESULTS/fsync_per_s" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
n, start = 0, time.monotonic()
while time.monotonic() - start < 2:
    os.write(fd, b"x" * 100)
    os.fdatasync(fd)
    n += 1
print("%.0f" % (n / (time.monotonic() - start)))
os.unlink(sys.argv[1])
EOF

for name in $SERVERS; do
    port=$(free_port)
    log "starting $name on 127.0.0.1:$port"
    start_server "$name" "$port"
    for w in $WORKLOADS; do
        log "$name: priming with $w for $PRIME"
        bench "$port" "$w" "$PRIME" 0s >/dev/null
    done
    for i in $(seq "$REPEAT"); do
        for w in $WORKLOADS; do
            log "$name: measuring $w, run $i/$REPEAT ($WARMUP warmup + $DURATION)"
            result="$RESULTS/$name-$w.$i"
            before=$(server_ticks)
            machine_before=$(machine_ticks)
            client_cpu >"$TMP/client_before"
            wall_before=$EPOCHREALTIME
            bench "$port" "$w" "$DURATION" "$WARMUP" >"$result.json"
            wall_after=$EPOCHREALTIME
            client_cpu >"$TMP/client_after"
            after=$(server_ticks)
            machine_after=$(machine_ticks)
            client=$(awk -v a="$(cat "$TMP/client_before")" -v b="$(cat "$TMP/client_after")" \
                'BEGIN { printf "%.3f", b - a }')
            wall=$(awk -v a="$wall_before" -v b="$wall_after" 'BEGIN { printf "%.3f", b - a }')
            printf '{"cpu_ticks": %d, "machine_ticks": %d, "clk_tck": %d, "client_cpu_s": %s, "wall_s": %s}\n' \
                $((after - before)) $((machine_after - machine_before)) "$(getconf CLK_TCK)" \
                "$client" "$wall" >"$result.cpu.json"
            python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("bench:   %.0f ops/s, p50 %d us, p99 %d us, errors %d" % (r["ops_per_sec"], r["p50_us"], r["p99_us"], r["error_total"]))' \
                "$result.json" >&2
        done
    done
    grep VmHWM "/proc/$SERVER_PID/status" | awk '{ print $2 }' >"$RESULTS/$name.rss_kb"
    stop_server
    # Write back what this server left dirty in the page cache (GBs with
    # forceSync=no), so that the next server's fsyncs do not wait for it.
    sync
    # What the server left on disk: files and bytes under its dataDir.
    echo "$(find "$TMP/$name/data" -type f | wc -l) $(du -sb "$TMP/$name/data" | cut -f1)" \
        >"$RESULTS/$name.disk"
done

# --- report ------------------------------------------------------------------
zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown)
java_version=$(java -version 2>&1 | head -n 1 || echo unknown)
corral_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    corral_rev="$corral_rev (with uncommitted changes)"
fi
python3 "$ROOT/tests/bench/report.py" \
    --results "$RESULTS" --out "$OUT" --servers "$SERVERS" --workloads "$WORKLOADS" \
    --prime "$PRIME" --repeat "$REPEAT" --zk-version "$zk_version" --zk-heap "$ZK_HEAP" \
    --java-version "$java_version" --rustc-version "$(rustc --version)" \
    --corral-rev "$corral_rev" --command \
    "corral bench --sessions $SESSIONS --in-flight $IN_FLIGHT --znodes $ZNODES --value-size $VALUE_SIZE --read-pct $READ_PCT --duration $DURATION --warmup $WARMUP --workload <mixed|create> --json"
log "wrote ${OUT#"$ROOT"/}"
