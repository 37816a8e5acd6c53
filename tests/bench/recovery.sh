#!/usr/bin/env bash
# `make bench`, second part: durability with 1 million znodes. For each
# server, on a fresh dataDir: load exactly RECOVERY_ZNODES znodes of
# RECOVERY_VALUE_SIZE bytes (`corral bench --workload create --count`), then
# measure the server's memory (and, for ZooKeeper, its live heap after a full
# GC), what it left on disk, and the time it takes to come back from kill -9
# until a getData of the newest znode is answered, with its peak memory
# meanwhile. Writes docs/BENCHMARKS-durability.md and the same section into
# docs/BENCHMARKS.md (between <!-- durability --> markers, appended when
# missing), so it runs after tests/bench/run.sh.
#
# Environment (all optional), with defaults:
#   RECOVERY_SERVERS     "zookeeper corral corral-snap1000"  in this order:
#                        zookeeper is Apache ZooKeeper 3.8 (forceSync=yes,
#                        its default); corral is corral-server with the same
#                        zoo.cfg; corral-snap1000 adds snapCount=1000
#   RECOVERY_ZNODES      1000000  znodes loaded
#   RECOVERY_PARENTS     100      parents they are spread over
#                                 (/bench-create/p000..., about
#                                 ZNODES/PARENTS children each)
#   RECOVERY_VALUE_SIZE  100      bytes per znode
#   RECOVERY_SESSIONS    8        loader sessions
#   RECOVERY_IN_FLIGHT   32       loader requests in flight per session
#   RECOVERY_ZK_HEAP     2g       ZooKeeper's -Xmx (zkEnv.sh's 1000m is
#                                 too tight for 1M znodes plus load)
#   RECOVERY_OUT         docs/BENCHMARKS-durability.md
#   RECOVERY_SPLICE      docs/BENCHMARKS.md  ("" to leave it alone)
#   RECOVERY_KEEP        0        1 keeps the temp dir (dataDirs, logs, JSON)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

SERVERS=${RECOVERY_SERVERS:-"zookeeper corral corral-snap1000"}
ZNODES=${RECOVERY_ZNODES:-1000000}
PARENTS=${RECOVERY_PARENTS:-100}
VALUE_SIZE=${RECOVERY_VALUE_SIZE:-100}
SESSIONS=${RECOVERY_SESSIONS:-8}
IN_FLIGHT=${RECOVERY_IN_FLIGHT:-32}
ZK_HEAP=${RECOVERY_ZK_HEAP:-2g}
OUT=${RECOVERY_OUT:-$ROOT/docs/BENCHMARKS-durability.md}
SPLICE=${RECOVERY_SPLICE-$ROOT/docs/BENCHMARKS.md}
# corral-snap1000's snapCount.
SNAP_COUNT_VARIANT=1000

log() { echo "recovery: $*" >&2; }
die() { log "error: $*"; exit 1; }

for s in $SERVERS; do
    case $s in
    zookeeper | corral | corral-snap1000) ;;
    *) die "unknown server '$s' in RECOVERY_SERVERS (zookeeper, corral, corral-snap1000)" ;;
    esac
done

# --- build -------------------------------------------------------------------
packages=(-p corral-cli)
[[ " $SERVERS " == *" corral"* ]] && packages+=(-p corral-server)
log "building ${packages[*]} (release)"
cargo build --release "${packages[@]}"
CORRAL="$ROOT/target/release/corral"
CORRAL_SERVER="$ROOT/target/release/corral-server"

ZK_JAR=/usr/share/java/zookeeper.jar
if [[ " $SERVERS " == *" zookeeper "* ]]; then
    [[ -f $ZK_JAR ]] || die "Apache ZooKeeper is not installed: sudo apt-get install zookeeper"
    command -v java >/dev/null || die "java not found (the zookeeper package needs a JRE)"
    command -v jcmd >/dev/null || die "jcmd not found (a JDK, e.g. openjdk-17-jdk-headless)"
fi
ZK_CP="$ZK_JAR:/usr/share/java/slf4j-simple.jar"

# --- scratch space and cleanup -----------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/corral-recovery.XXXXXX")
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
    if [[ ${RECOVERY_KEEP:-0} == 1 || $rc != 0 ]]; then
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

# getdata.py PORT PATH SIZE TIMEOUT [PARENT...]: polls until a getData of
# PATH returns SIZE bytes (connection refused, closed, or an error reply:
# try again 10 ms later), prints the wall-clock time of that answer, then the
# sum of the parents' numChildren.
cat >"$TMP/getdata.py" <<'EOF'
import socket, struct, sys, time

port, path, size, timeout = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
parents = sys.argv[5:]

def recv_frame(s, buf):
    while True:
        if len(buf) >= 4:
            (n,) = struct.unpack(">i", buf[:4])
            if len(buf) >= 4 + n:
                return buf[4:4 + n], buf[4 + n:]
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk

def get_data(s, buf, xid, p):
    b = p.encode()
    body = struct.pack(">ii", xid, 4) + struct.pack(">i", len(b)) + b + b"\0"
    s.sendall(struct.pack(">i", len(body)) + body)
    while True:
        frame, buf = recv_frame(s, buf)
        rxid, _, err = struct.unpack(">iqi", frame[:16])
        if rxid == xid:
            break
    if err != 0:
        return err, None, None, buf
    (dlen,) = struct.unpack(">i", frame[16:20])
    dlen = max(dlen, 0)
    stat = frame[20 + dlen:]
    (num_children,) = struct.unpack(">i", stat[56:60])
    return 0, dlen, num_children, buf

def attempt():
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        body = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + bytes(16) + b"\0"
        s.sendall(struct.pack(">i", len(body)) + body)
        frame, buf = recv_frame(s, b"")
        if struct.unpack(">iiiq", b"\0\0\0\0" + frame[:16])[3] == 0:
            raise ConnectionError("no session")
        err, dlen, _, buf = get_data(s, buf, 1, path)
        if err != 0 or dlen != size:
            raise ConnectionError("getData: err %d, %s bytes" % (err, dlen))
        answered = time.time()
        total = 0
        for i, parent in enumerate(parents):
            err, _, n, buf = get_data(s, buf, 2 + i, parent)
            if err != 0:
                raise RuntimeError("getData %s: err %d" % (parent, err))
            total += n
        s.sendall(struct.pack(">iii", 8, 10**6, -11))
        return answered, total

deadline = time.monotonic() + timeout
while True:
    try:
        answered, total = attempt()
        print("%.6f %d" % (answered, total))
        sys.exit(0)
    except (OSError, ConnectionError, struct.error):
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.01)
EOF

# The same zoo.cfg shape as run.sh: ZooKeeper's defaults (forceSync=yes,
# snapCount=100000, autopurge off) with the admin server off.
write_cfg() {
    local dir=$1 port=$2 extra=$3
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
forceSync=yes
$extra
EOF
}

# Starts server $1 of dir $2 in the background; its log goes to $3.
launch() {
    local name=$1 dir=$2 logf=$3
    case $name in
    zookeeper)
        java "-Xmx$ZK_HEAP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
            -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
            >>"$logf" 2>&1 &
        ;;
    corral | corral-snap1000)
        "$CORRAL_SERVER" --config "$dir/zoo.cfg" >>"$logf" 2>&1 &
        ;;
    esac
    SERVER_PID=$!
}

wait_ready() {
    local port=$1 logf=$2
    for _ in $(seq 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || {
            tail -n 30 "$logf" >&2 || true
            die "the server exited (log: $logf)"
        }
        python3 "$ROOT/tests/bench/probe.py" "$port" && return 0
        sleep 0.1
    done
    die "no session on 127.0.0.1:$port within 60 s (log: $logf)"
}

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# Waits (up to 60 s) until the server uses under 5% of a core for 2 s in a
# row: background snapshots, JIT and GC have settled.
wait_idle() {
    local hz calm=0 a b
    hz=$(getconf CLK_TCK)
    for _ in $(seq 60); do
        a=$(server_ticks)
        sleep 1
        b=$(server_ticks)
        if ((b - a <= hz / 20)); then
            calm=$((calm + 1))
            ((calm >= 2)) && return 0
        else
            calm=0
        fi
    done
    log "the server is still busy after 60 s; measuring anyway"
}

# ZooKeeper's heap after a full GC (jcmd GC.run), in KiB.
zk_live_heap_kb() {
    jcmd "$SERVER_PID" GC.run >/dev/null
    sleep 1
    jcmd "$SERVER_PID" GC.heap_info | awk '/garbage-first heap|def new generation|PSYoungGen|heap/ {
        for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); print v; exit } }'
}

# The newest snapshot file: name, bytes.
newest_snapshot() {
    local name=$1 data=$2 f
    case $name in
    zookeeper) f=$(ls -t "$data"/version-2/snapshot.* 2>/dev/null | head -n 1 || true) ;;
    *) f=$(ls -t "$data"/corral/snapshots/* 2>/dev/null | grep -v '\.tmp$' | head -n 1 || true) ;;
    esac
    if [[ -n $f ]]; then echo "$(basename "$f") $(stat -c %s "$f")"; else echo "- 0"; fi
}

disk_usage() {
    local data=$1
    echo "$(find "$data" -type f | wc -l) $(du -sb "$data" | cut -f1)"
}

json_kv() { printf '"%s": %s' "$1" "$2"; }

fsync_per_s=$(python3 - "$TMP/fsync-probe" <<'EOF'
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
)

# The parents, named as corral bench names them: p + the index, as many
# digits as PARENTS - 1 has, at least 3.
parents_list=()
last=$((PARENTS - 1))
width=${#last}
((width < 3)) && width=3
for ((i = 0; i < PARENTS; i++)); do
    parents_list+=("$(printf '/bench-create/p%0*d' "$width" "$i")")
done
((PARENTS > 0)) || parents_list=(/bench-create)

HZ=$(getconf CLK_TCK)
for name in $SERVERS; do
    dir="$TMP/$name"
    logf="$dir/server.log"
    port=$(free_port)
    extra=""
    [[ $name == corral-snap1000 ]] && extra="snapCount=$SNAP_COUNT_VARIANT"
    write_cfg "$dir" "$port" "$extra"
    : >"$logf"
    out="$RESULTS/$name.json"

    log "$name: starting on an empty dataDir (127.0.0.1:$port)"
    launch "$name" "$dir" "$logf"
    wait_ready "$port" "$logf"
    wait_idle
    empty_rss=$(status_kb VmRSS)
    empty_heap=null
    [[ $name == zookeeper ]] && empty_heap=$(zk_live_heap_kb)

    log "$name: loading $ZNODES znodes of $VALUE_SIZE bytes under $PARENTS parents"
    m0=$(machine_ticks)
    s0=$(server_ticks)
    t0=$EPOCHREALTIME
    "$CORRAL" bench --server "127.0.0.1:$port" --workload create --count "$ZNODES" \
        --parents "$PARENTS" --value-size "$VALUE_SIZE" --sessions "$SESSIONS" \
        --in-flight "$IN_FLIGHT" --warmup 0s --json >"$RESULTS/$name.load.json"
    t1=$EPOCHREALTIME
    s1=$(server_ticks)
    m1=$(machine_ticks)
    load_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    last_path=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_path"])' \
        "$RESULTS/$name.load.json")
    log "$name: loaded in ${load_wall}s; newest znode $last_path"
    load_hwm=$(status_kb VmHWM)
    wait_idle
    loaded_rss=$(status_kb VmRSS)
    loaded_heap=null
    [[ $name == zookeeper ]] && loaded_heap=$(zk_live_heap_kb)
    loaded_rss_after_gc=$(status_kb VmRSS)
    read -r snap_name snap_bytes < <(newest_snapshot "$name" "$dir/data")
    read -r files bytes < <(disk_usage "$dir/data")
    snap_nodes=$({ grep 'snapshot written' "$logf" || true; } | tail -n 1 |
        sed -n 's/.*nodes=\([0-9]*\).*/\1/p')

    log "$name: kill -9, then restart until getData $last_path is answered"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    echo "--- restart after kill -9 ---" >>"$logf"
    m2=$(machine_ticks)
    r0=$EPOCHREALTIME
    launch "$name" "$dir" "$logf"
    if ! read -r answered children < <(python3 "$TMP/getdata.py" "$port" "$last_path" \
        "$VALUE_SIZE" 300 "${parents_list[@]}"); then
        die "$name did not answer getData $last_path within 300 s after the restart (log: $logf)"
    fi
    m3=$(machine_ticks)
    recovery_s=$(awk -v a="$r0" -v b="$answered" 'BEGIN { printf "%.3f", b - a }')
    rec_hwm=$(status_kb VmHWM)
    rec_rss=$(status_kb VmRSS)
    rec_ticks=$(server_ticks)
    log "$name: answered after ${recovery_s}s with $children znodes under the parents; VmHWM $rec_hwm kB"
    [[ $children == "$ZNODES" ]] || die "$name: $children znodes after recovery, not $ZNODES"
    recovered_line=$({ grep -E ' recovered .*ms=' "$logf" || true; } | tail -n 1 |
        sed 's/^.*INFO //')
    log_entries=$({ grep 'log recovered' "$logf" || true; } | tail -n 1 |
        sed -n 's/.*entries=\([0-9]*\).*/\1/p')
    wait_idle
    settled_rss=$(status_kb VmRSS)
    settled_hwm=$(status_kb VmHWM)
    settled_heap=null
    [[ $name == zookeeper ]] && settled_heap=$(zk_live_heap_kb)
    read -r snap2_name snap2_bytes < <(newest_snapshot "$name" "$dir/data")
    read -r files2 bytes2 < <(disk_usage "$dir/data")
    stop_server

    {
        echo "{"
        json_kv name "\"$name\""; echo ","
        json_kv empty_rss_kb "$empty_rss"; echo ","
        json_kv empty_heap_kb "${empty_heap:-null}"; echo ","
        json_kv load_wall_s "$load_wall"; echo ","
        json_kv load_server_cpu_s "$(awk -v t=$((s1 - s0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"; echo ","
        json_kv load_machine_cpu_s "$(awk -v t=$((m1 - m0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"; echo ","
        json_kv load_hwm_kb "$load_hwm"; echo ","
        json_kv loaded_rss_kb "$loaded_rss"; echo ","
        json_kv loaded_heap_kb "${loaded_heap:-null}"; echo ","
        json_kv loaded_rss_after_gc_kb "$loaded_rss_after_gc"; echo ","
        json_kv snapshot "\"$snap_name\""; echo ","
        json_kv snapshot_bytes "$snap_bytes"; echo ","
        json_kv snapshot_nodes "${snap_nodes:-null}"; echo ","
        json_kv files "$files"; echo ","
        json_kv disk_bytes "$bytes"; echo ","
        json_kv recovery_s "$recovery_s"; echo ","
        json_kv recovery_machine_cpu_s "$(awk -v t=$((m3 - m2)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"; echo ","
        json_kv recovery_server_cpu_s "$(awk -v t="$rec_ticks" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')"; echo ","
        json_kv recovered_children "$children"; echo ","
        json_kv recovered_line "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$recovered_line")"; echo ","
        json_kv log_entries "${log_entries:-null}"; echo ","
        json_kv recovery_hwm_kb "$rec_hwm"; echo ","
        json_kv recovery_rss_kb "$rec_rss"; echo ","
        json_kv settled_rss_kb "$settled_rss"; echo ","
        json_kv settled_hwm_kb "$settled_hwm"; echo ","
        json_kv settled_heap_kb "${settled_heap:-null}"; echo ","
        json_kv snapshot_after "\"$snap2_name\""; echo ","
        json_kv snapshot_after_bytes "$snap2_bytes"; echo ","
        json_kv files_after "$files2"; echo ","
        json_kv disk_after_bytes "$bytes2"
        echo "}"
    } >"$out"
done

# --- report ------------------------------------------------------------------
zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown)
java_version=$(java -version 2>&1 | head -n 1 || echo unknown)
corral_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    corral_rev="$corral_rev (with uncommitted changes)"
fi
python3 - "$RESULTS" "$OUT" "$SPLICE" "$SERVERS" "$ZNODES" "$PARENTS" "$VALUE_SIZE" \
    "$SESSIONS" "$IN_FLIGHT" "$ZK_HEAP" "$zk_version" "$java_version" "$corral_rev" \
    "$fsync_per_s" "$SNAP_COUNT_VARIANT" <<'EOF'
import datetime, json, os, re, sys
from pathlib import Path

(results, out, splice, servers, znodes, parents, value_size, sessions, in_flight,
 zk_heap, zk_version, java_version, corral_rev, fsyncs, snap_variant) = sys.argv[1:]
results, znodes, parents = Path(results), int(znodes), int(parents)
servers = servers.split()
runs = {s: json.loads((results / (s + ".json")).read_text()) for s in servers}
loads = {s: json.loads((results / (s + ".load.json")).read_text()) for s in servers}
LABELS = {"zookeeper": "ZooKeeper", "corral": "corral-server",
          "corral-snap1000": "corral-server snapCount=%s" % snap_variant}
label = lambda s: LABELS.get(s, s)
NCPU = os.cpu_count() or 1

def mib(kb):
    return "—" if kb is None else "{:,.0f}".format(kb / 1024)

def per_znode(after_kb, before_kb):
    if after_kb is None or before_kb is None:
        return None
    return (after_kb - before_kb) * 1024 / znodes

def b(v):
    return "—" if v is None else "{:,.0f}".format(v)

lines = []
w = lines.append
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
w("## Durability: 1M znodes")
w("")
w("Generated by `make bench` (`tests/bench/recovery.sh`) on %s: each server alone on a" % now)
w("fresh dataDir, loaded with exactly %s znodes of %s bytes (persistent sequential" % ("{:,}".format(znodes), value_size))
w("creates spread over %d parents `/bench-create/pNNN`, about %s children each, by" % (parents, "{:,}".format(znodes // max(parents, 1))))
w("`corral bench --workload create --count %d --parents %d --sessions %s --in-flight %s`)," % (znodes, parents, sessions, in_flight))
w("then killed with `kill -9` and restarted. Same disk, same run, same `zoo.cfg`")
w("(ZooKeeper's defaults: forceSync=yes, snapCount=100000, no autopurge).")
w("")
w("### Memory")
w("")
w("Resident memory (VmRSS) of the server process once idle: empty (fresh start), after")
w("the load, and after the restart; per znode = (after − empty) / %s. For ZooKeeper" % "{:,}".format(znodes))
w("also the live Java heap (heap used after `jcmd PID GC.run`); its -Xmx is %s." % zk_heap)
w("")
w("| server | RSS empty MiB | RSS after load MiB | RSS per znode | peak RSS during load MiB | live heap empty MiB | live heap after load MiB | heap per znode | RSS after restart MiB | RSS per znode after restart |")
w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for s in servers:
    r = runs[s]
    w("| %s | %s | %s | %s B | %s | %s | %s | %s | %s | %s B |" % (
        label(s), mib(r["empty_rss_kb"]), mib(r["loaded_rss_kb"]),
        b(per_znode(r["loaded_rss_kb"], r["empty_rss_kb"])), mib(r["load_hwm_kb"]),
        mib(r["empty_heap_kb"]), mib(r["loaded_heap_kb"]),
        (b(per_znode(r["loaded_heap_kb"], r["empty_heap_kb"])) + " B") if r["loaded_heap_kb"] else "—",
        mib(r["settled_rss_kb"]), b(per_znode(r["settled_rss_kb"], r["empty_rss_kb"]))))
w("")
w("### Recovery")
w("")
w("Time from starting the process (after `kill -9` once the load was done and the server")
w("idle) until it answers a getData of the newest znode with its %s bytes, polled every" % value_size)
w("10 ms over fresh connections; then the parents' numChildren must add up to %s." % "{:,}".format(znodes))
w("Peak memory is the process's VmHWM at that moment; machine CPU is everything the")
w("%d cores ran meanwhile (poller included)." % NCPU)
w("")
w("| server | recovery s | peak RSS during recovery MiB | server CPU s | machine CPU s | znodes back | what was replayed | server's own line |")
w("|---|--:|--:|--:|--:|--:|---|---|")
for s in servers:
    r = runs[s]
    if s == "zookeeper":
        what = "newest snapshot + transaction log after it"
    elif r["snapshot_bytes"]:
        what = "newest snapshot + %s log entries" % b(r["log_entries"])
    else:
        what = "no snapshot: the whole log, %s entries" % b(r["log_entries"])
    line = r["recovered_line"]
    w("| %s | %.2f | %s | %.1f | %.1f | %s | %s | %s |" % (
        label(s), r["recovery_s"], mib(r["recovery_hwm_kb"]), r["recovery_server_cpu_s"],
        r["recovery_machine_cpu_s"],
        "{:,}".format(r["recovered_children"]), what, ("`%s`" % line) if line else "—"))
w("")
w("### Disk")
w("")
w("The newest snapshot and the whole dataDir (files, MiB) right after the load and after")
w("the restart. ZooKeeper snapshots every 50,000–100,000 txns (snapCount=100000,")
w("randomized) and once more while it starts; corral-server after snapCount txns, once the")
w("log written since its last snapshot is half that snapshot's size. Bytes per znode: the newest snapshot's")
w("size over the znodes it holds. ZooKeeper's last create had zxid %s." % (
    "{:,}".format(loads["zookeeper"]["last_zxid"]) if "zookeeper" in loads else "—"))
w("")
w("| server | newest snapshot after load | MiB | dataDir after load | newest snapshot after restart | MiB | bytes per znode | dataDir after restart |")
w("|---|---|--:|--:|---|--:|--:|--:|")

def snap_desc(s, name, nbytes, nodes):
    if not nbytes:
        return "none"
    if s == "zookeeper" and name.startswith("snapshot."):
        return "`%s` (zxid %s)" % (name, "{:,}".format(int(name.split(".")[1], 16)))
    return "`%s`%s" % (name, " (%s znodes)" % "{:,}".format(nodes) if nodes else "")

for s in servers:
    r = runs[s]
    after_same = r["snapshot_after"] == r["snapshot"]
    if s == "zookeeper" and r["snapshot_after_bytes"] and not after_same:
        # Written at start-up, after replaying everything: the whole tree.
        per = r["snapshot_after_bytes"] / (znodes + parents + 5)
    elif r["snapshot_bytes"] and r.get("snapshot_nodes"):
        per = r["snapshot_bytes"] / r["snapshot_nodes"]
    else:
        per = None
    w("| %s | %s | %s | %d, %s | %s | %s | %s | %d, %s |" % (
        label(s), snap_desc(s, r["snapshot"], r["snapshot_bytes"], r.get("snapshot_nodes")),
        mib(r["snapshot_bytes"] / 1024) if r["snapshot_bytes"] else "—",
        r["files"], mib(r["disk_bytes"] / 1024),
        ("the same" if after_same else snap_desc(s, r["snapshot_after"], r["snapshot_after_bytes"], None))
        if r["snapshot_after_bytes"] else "none",
        mib(r["snapshot_after_bytes"] / 1024) if r["snapshot_after_bytes"] else "—",
        b(per), r["files_after"], mib(r["disk_after_bytes"] / 1024)))
w("")
w("### Loading")
w("")
w("The load itself: %s sessions x %s creates in flight, durable (fsync before the reply)," % (sessions, in_flight))
w("from an empty tree to %s znodes." % "{:,}".format(znodes))
w("")
w("| server | creates/s | corral ÷ ZooKeeper | p50 µs | p99 µs | p99.9 µs | wall s | server CPU s | machine CPU s |")
w("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for s in servers:
    l, r = loads[s], runs[s]
    vs = ""
    if s != "zookeeper" and "zookeeper" in loads:
        vs = "%.2f×" % (l["ops_per_sec"] / loads["zookeeper"]["ops_per_sec"])
    w("| %s | %s | %s | %s | %s | %s | %.1f | %.1f | %.1f |" % (
        label(s), b(l["ops_per_sec"]), vs, b(l["p50_us"]), b(l["p99_us"]), b(l["p999_us"]),
        r["load_wall_s"], r["load_server_cpu_s"], r["load_machine_cpu_s"]))
w("")
w("Machine CPU is everything the %d cores ran during the load (server, loader and" % NCPU)
w("anything else); far above server + loader means other work competed.")
w("")
w("### Against the targets")
w("")
zk = runs.get("zookeeper")
for s in servers:
    if s == "zookeeper":
        continue
    r = runs[s]
    rec = r["recovery_s"]
    w("- %s: recovery of %s znodes in %.2f s (target under 5 s: %s)." % (
        label(s), "{:,}".format(znodes), rec, "met" if rec < 5 else "**missed**"))
    if zk:
        c = per_znode(r["loaded_rss_kb"], r["empty_rss_kb"])
        z_rss = per_znode(zk["loaded_rss_kb"], zk["empty_rss_kb"])
        z_heap = per_znode(zk["loaded_heap_kb"], zk["empty_heap_kb"])
        for what, z in (("RSS", z_rss), ("live heap", z_heap)):
            if z:
                w("  Memory per znode %s B vs ZooKeeper's %s %s B: %.2f× (target at most 0.5×: %s)." % (
                    b(c), what, b(z), c / z, "met" if c <= z / 2 else "**missed**"))
w("")
w("Write throughput at 8 sessions x 32 in flight (setData in the mixed workload, create)")
w("is in the results table at the top of docs/BENCHMARKS.md; the loading table above adds")
w("creates into a growing tree.")
w("")
w("Notes:")
w("")
for s in servers:
    r = runs[s]
    if s != "zookeeper" and not r["snapshot_bytes"]:
        w("- %s took no snapshot: the %s creates made %s log entries (group commits), fewer than" % (
            label(s), "{:,}".format(znodes), b(r["log_entries"])))
        w("  its snapCount=100000, so the log was never purged: it stays in memory (corral keeps")
        w("  the entries since the last purge for reads) and the restart replays all of it.")
w("- `%s` differs from `%s` only by snapCount=%s in its zoo.cfg, to show" % (
    label("corral-snap1000"), label("corral"), snap_variant))
w("  corral-server with snapshots and a purged log.")
w("- Disk under the dataDirs: %s fdatasync/s for 100-byte appends. Apache ZooKeeper %s" % (fsyncs, zk_version))
w("  (Debian package), %s, -Xmx%s: upstream's 1000m is raised so 1M znodes fit;" % (java_version, zk_heap))
w("  corral-server at %s, release build." % corral_rev)
w("- Rerun alone with `bash tests/bench/recovery.sh` (`RECOVERY_*` knobs at its top).")
section = "\n".join(lines) + "\n"

Path(out).parent.mkdir(parents=True, exist_ok=True)
# The standalone file: the same text one heading level up.
Path(out).write_text("# Benchmarks: durability with 1M znodes\n\n"
                     + section.split("\n", 2)[2].replace("\n### ", "\n## "))
if splice:
    p = Path(splice)
    begin, end = "<!-- durability: generated by tests/bench/recovery.sh -->", "<!-- /durability -->"
    text = p.read_text() if p.exists() else "# Benchmarks\n"
    block = begin + "\n" + section + end + "\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    p.write_text(text)
EOF
log "wrote ${OUT#"$ROOT"/}${SPLICE:+ and the section of ${SPLICE#"$ROOT"/}}"
