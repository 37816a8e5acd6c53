#!/usr/bin/env python3
"""Runs a command once against each server kind (corral-server, Apache
ZooKeeper 3.8), each started on a free loopback port and stopped afterwards,
also on failure. The command gets the connect string in CORRAL_HOSTS and the
kind in CORRAL_SERVER_KIND.

    with_servers.py [--kinds corral,zookeeper] -- CMD [ARGS...]

Uses tests/python/servers.py (CORRAL_SERVER: the corral-server binary).
Exits non-zero if the command failed against any server.
"""

import argparse
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "python"))

import servers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kinds", default="corral,zookeeper")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")
    failed = []
    for kind in args.kinds.split(","):
        srv = servers.Server(kind)
        try:
            srv.start()
            env = dict(os.environ, CORRAL_HOSTS=srv.hosts, CORRAL_SERVER_KIND=kind)
            print("== %s on %s: %s" % (kind, srv.hosts, " ".join(cmd)), flush=True)
            rc = subprocess.call(cmd, env=env)
            if rc != 0:
                failed.append(kind)
                print("== %s: FAILED (exit %d); server log tail:\n%s"
                      % (kind, rc, srv.log_tail(20)), flush=True)
            else:
                print("== %s: ok" % kind, flush=True)
        finally:
            srv.cleanup()
    if failed:
        print("failed against: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
