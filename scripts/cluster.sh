#!/usr/bin/env bash
# A local ensemble on 127.0.0.1: 3 voters and 1 observer, client ports
# 2181-2184, quorum ports 2881-2884, data and logs in ./data/cluster/nN.
#
#   scripts/cluster.sh start          build (release) and start every node
#   scripts/cluster.sh stop           stop every node (SIGTERM)
#   scripts/cluster.sh status         each node's mode (srvr)
#   scripts/cluster.sh start-node N   start node N alone (1-4)
#   scripts/cluster.sh stop-node N    stop node N alone
#   scripts/cluster.sh kill-node N    kill -9 node N
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${CLUSTER_DIR:-$ROOT/data/cluster}
BIN=$ROOT/target/release/corral-server
NODES=(1 2 3 4)

config() {
    local n=$1
    cat <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$DIR/n$n
clientPort=218$n
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.serverPort=808$n
server.1=127.0.0.1:2881:3881
server.2=127.0.0.1:2882:3882
server.3=127.0.0.1:2883:3883
server.4=127.0.0.1:2884:3884:observer
CFG
}

pid_of() {
    local f=$DIR/n$1/server.pid
    [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

start_node() {
    local n=$1
    [[ " ${NODES[*]} " == *" $n "* ]] || { echo "no node $n (1-4)" >&2; exit 2; }
    if pid=$(pid_of "$n"); then
        echo "node $n already runs (pid $pid)"
        return
    fi
    mkdir -p "$DIR/n$n"
    echo "$n" >"$DIR/n$n/myid"
    config "$n" >"$DIR/n$n/zoo.cfg"
    nohup "$BIN" --config "$DIR/n$n/zoo.cfg" >>"$DIR/n$n/server.log" 2>&1 </dev/null &
    echo $! >"$DIR/n$n/server.pid"
    echo "node $n started: client port 218$n, log $DIR/n$n/server.log"
}

stop_node() {
    local n=$1 signal=${2:-TERM}
    if pid=$(pid_of "$n"); then
        kill -s "$signal" "$pid"
        echo "node $n stopped ($signal)"
    else
        echo "node $n is not running"
    fi
    rm -f "$DIR/n$n/server.pid"
}

mode() {
    python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    s.sendall(b"srvr")
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    text = out.decode()
    modes = [l[6:] for l in text.splitlines() if l.startswith("Mode: ")]
    print(modes[0] if modes else text.strip())
except OSError as e:
    print("down (%s)" % e.strerror)
PY
}

status() {
    for n in "${NODES[@]}"; do
        echo "node $n (127.0.0.1:218$n): $(mode "218$n")"
    done
}

case ${1:-start} in
start)
    cargo build --release -p corral-server
    for n in "${NODES[@]}"; do start_node "$n"; done
    sleep 2
    status
    echo "connect string: 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183,127.0.0.1:2184"
    ;;
stop) for n in "${NODES[@]}"; do stop_node "$n"; done ;;
status) status ;;
start-node) start_node "${2:?node number}" ;;
stop-node) stop_node "${2:?node number}" ;;
kill-node) stop_node "${2:?node number}" KILL ;;
*) sed -n '2,12p' "$0"; exit 2 ;;
esac
