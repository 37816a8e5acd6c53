#!/usr/bin/env bash
# Node.js clients against one corral-server: corral-zk (node/, the addon in
# a release build) vs node-zookeeper-client (npm, from tests/node), each one
# session keeping IN_FLIGHT getData, then setData, promises in flight
# (tests/bench/node_bench.js). Prints a table of ops/s and the ratio
# corral-zk / node-zookeeper-client of each round; nothing is written.
#
# Environment (all optional), with defaults:
#   NODE_BENCH_IN_FLIGHT  256
#   NODE_BENCH_DURATION   5       seconds per phase
#   NODE_BENCH_ZNODES     100
#   NODE_BENCH_VALUE_SIZE 100
#   NODE_BENCH_REPEAT     3       rounds, each runs both drivers in turn
#   NODE_BENCH_BUILD      1       0: use node/corral-zk.node as it is
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
IN_FLIGHT=${NODE_BENCH_IN_FLIGHT:-256}
DURATION=${NODE_BENCH_DURATION:-5}
ZNODES=${NODE_BENCH_ZNODES:-100}
VALUE_SIZE=${NODE_BENCH_VALUE_SIZE:-100}
REPEAT=${NODE_BENCH_REPEAT:-3}

# node-zookeeper-client and node/'s dev dependencies: `bash tests/setup.sh`.
[[ -d tests/node/node_modules/node-zookeeper-client ]] || { echo "run tests/setup.sh first" >&2; exit 1; }
cargo build --release -p corral-server
if [[ ${NODE_BENCH_BUILD:-1} == 1 ]]; then
    (cd node && CORRAL_ZK_PROFILE=release node scripts/build.js)
fi

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/corral-server --address 127.0.0.1 --port "$PORT" --data-dir "$TMP/data" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    [[ $( (exec 3<>/dev/tcp/127.0.0.1/"$PORT" && printf ruok >&3 && cat <&3) 2>/dev/null) == imok ]] && break
    sleep 0.1
done

RESULTS="$TMP/results.jsonl"
for round in $(seq "$REPEAT"); do
    for driver in corral-zk node-zookeeper-client; do
        echo "node_bench: round $round, $driver" >&2
        node tests/bench/node_bench.js "$driver" "127.0.0.1:$PORT" "$IN_FLIGHT" "$DURATION" "$ZNODES" "$VALUE_SIZE" | tee -a "$RESULTS"
    done
done

node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const groups = {};
for (const r of lines) (groups[`${r.driver} ${r.op}`] ||= []).push(r);
console.log(`\n${"driver / op".padEnd(34)} median ops/s   (min - max), ${lines[0].in_flight} in flight; client CPU µs/op (median)`);
for (const [k, rs] of Object.entries(groups)) {
    const v = rs.map((r) => r.ops_per_s).sort((a, b) => a - b);
    const cpu = rs.map((r) => r.cpu_us_per_op).sort((a, b) => a - b);
    console.log(`${k.padEnd(34)} ${String(v[Math.floor(v.length / 2)]).padStart(12)}   (${v[0]} - ${v[v.length - 1]})   ${cpu[Math.floor(cpu.length / 2)]}`);
}
// corral-zk ÷ node-zookeeper-client in each round (the n-th run of each), then the median.
console.log("\ncorral-zk ÷ node-zookeeper-client (target: >= 3x), per round and median");
for (const op of ["getData", "setData"]) {
    const of = (d) => lines.filter((r) => r.driver === d && r.op === op).map((r) => r.ops_per_s);
    const [c, n] = [of("corral-zk"), of("node-zookeeper-client")];
    const x = c.slice(0, n.length).map((v, i) => v / n[i]);
    const median = [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
    console.log(`${op.padEnd(10)} ${x.map((v) => v.toFixed(2) + "x").join("  ")}   median ${median.toFixed(2)}x`);
}' "$RESULTS"
