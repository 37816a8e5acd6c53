#!/usr/bin/env bash
# Runs the C programs against the server in CORRAL_HOSTS (see with_servers.py):
# the quickstart linked both ways, and the tests linked both ways under valgrind.
#   run.sh OUT_DIR "VALGRIND COMMAND"
set -euo pipefail
OUT=$1
VALGRIND=${2:-}
for link in shared static; do
    echo "-- quickstart ($link)"
    "$OUT/quickstart-$link" "$CORRAL_HOSTS" >/dev/null
    echo "-- test_corral ($link)${VALGRIND:+ under valgrind}"
    $VALGRIND "$OUT/test_corral-$link"
done
