#!/usr/bin/env python3
"""Python client throughput: corral (the `corral` package) vs kazoo, on the
same corral-server in the same run. Run by tests/bench/python_bench.sh,
which builds the release package into its own venv and the release server.

Loads: getData only, and setData only, on 100 znodes of 100 bytes (sets
are bounded by the server's fsync of its transaction log). Modes, each
for --duration seconds after --warmup seconds:
  sync-1       one client, one Python thread, one call at a time;
  sync-8       one client shared by 8 Python threads;
  async-256    corral: an AsyncClient with 256 coroutines each awaiting one
               call at a time (256 in flight); kazoo, which has no asyncio
               client, the same through get_async/set_async (256 in flight).
Each cell is also run by `corral bench` (--corral-cli: the native Rust
client) on one session with as many requests in flight as the cell has
(1, 8, 256): the ceiling of this server and machine at that concurrency,
which no client, in any language, can be expected to pass; it says which
of kazoo's multiples are reachable at all. Below that, --pingpong gives
the loopback floor: plain round trips between two processes, no server.
Every cell runs --rounds times (rounds interleave the clients); the report
gives medians and each round's ratio.
Writes the Markdown report to --out (keeping the hand-written section of
the existing one, from "## Notes (hand-written)" on) and prints it.
"""

import argparse
import asyncio
import datetime
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "python"))

import servers  # noqa: E402  (the repo's server harness)

import corral  # noqa: E402
import kazoo  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

ZNODES = 100
VALUE = b"v" * 100
ROOT = "/python-bench"
PATHS = ["%s/n%03d" % (ROOT, i) for i in range(ZNODES)]


class Window:
    """Counts the operations that complete inside [start+warmup, end]."""

    def __init__(self, warmup, duration):
        now = time.monotonic()
        self.measure_from = now + warmup
        self.end = self.measure_from + duration
        self.duration = duration
        self.count = 0
        self.lock = threading.Lock()

    def running(self):
        return time.monotonic() < self.end

    def done(self, n=1):
        t = time.monotonic()
        if self.measure_from <= t <= self.end:
            with self.lock:
                self.count += n

    def rate(self):
        return self.count / self.duration


def sync_threads(client, load, threads, warmup, duration):
    w = Window(warmup, duration)

    def worker(offset):
        i = offset
        while w.running():
            path = PATHS[i % ZNODES]
            if load == "set":
                client.set(path, VALUE)
            else:
                client.get(path)
            i += 1
            w.done()

    ts = [threading.Thread(target=worker, args=(k * 7,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return w.rate()


def corral_async(hosts, load, in_flight, warmup, duration):
    async def main():
        async with corral.AsyncClient(hosts, timeout=10.0) as zk:
            w = Window(warmup, duration)

            async def worker(offset):
                i = offset
                while w.running():
                    path = PATHS[i % ZNODES]
                    if load == "set":
                        await zk.set(path, VALUE)
                    else:
                        await zk.get(path)
                    i += 1
                    w.done()

            await asyncio.gather(*(worker(k) for k in range(in_flight)))
            return w.rate()

    return asyncio.run(main())


def kazoo_async(client, load, in_flight, warmup, duration):
    w = Window(warmup, duration)
    slots = threading.BoundedSemaphore(in_flight)

    def completed(_result):
        w.done()
        slots.release()

    i = 0
    while w.running():
        slots.acquire()
        path = PATHS[i % ZNODES]
        r = client.set_async(path, VALUE) if load == "set" else client.get_async(path)
        r.rawlink(completed)
        i += 1
    for _ in range(in_flight):  # drain
        slots.acquire()
    return w.rate()


def ceiling(corral_cli, hosts, load, in_flight, warmup, duration):
    """ops/s of `corral bench`, one session keeping `in_flight` requests of
    the load in flight (its own 100 znodes of 100 bytes)."""
    out = subprocess.run(
        [corral_cli, "bench", "--server", hosts, "--sessions", "1",
         "--in-flight", str(in_flight), "--read-pct", "0" if load == "set" else "100",
         "--znodes", str(ZNODES), "--value-size", str(len(VALUE)),
         "--duration", "%gs" % duration, "--warmup", "%gs" % warmup, "--json"],
        check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
    r = json.loads(out)
    if r["error_total"]:
        raise RuntimeError("corral bench: %d errors" % r["error_total"])
    return r["ops_per_sec"]


def setup(hosts):
    zk = corral.Client(hosts, timeout=10.0)
    zk.start()
    zk.ensure_path(ROOT)
    for p in PATHS:
        if zk.exists(p) is None:
            zk.create(p, VALUE)
    zk.stop()
    zk.close()


LOADS = ("get", "set")


def measure(hosts, warmup, duration, in_flight, corral_cli, rounds):
    """{(load, mode, client): [ops/s per round]} for corral, kazoo and the
    ceiling. Each round runs every cell once, so a burst of load on the
    machine hits one round of both clients, not all of one."""
    results = {}
    a = "async-%d" % in_flight

    def note(key, value):
        results.setdefault(key, []).append(value)

    def client_cells(name, client, run_async):
        for load in LOADS:
            note((load, "sync-1", name), sync_threads(client, load, 1, warmup, duration))
            note((load, "sync-8", name), sync_threads(client, load, 8, warmup, duration))
            note((load, a, name), run_async(load))

    for _ in range(rounds):
        zk = corral.Client(hosts, timeout=10.0)
        zk.start()
        client_cells("corral", zk,
                     lambda load: corral_async(hosts, load, in_flight, warmup, duration))
        zk.stop()
        zk.close()

        kz = KazooClient(hosts=hosts, timeout=10.0)
        kz.start(timeout=15)
        client_cells("kazoo", kz, lambda load: kazoo_async(kz, load, in_flight, warmup, duration))
        kz.stop()
        kz.close()

        for load in LOADS:
            for mode, n in (("sync-1", 1), ("sync-8", 8), (a, in_flight)):
                note((load, mode, "ceiling"), ceiling(corral_cli, hosts, load, n, warmup, duration))
    return results


def loopback_floor(pingpong, duration):
    """Round trips/s of tests/bench/loopback_pingpong.c (two processes,
    one 40-byte message at a time, no server), or None without it."""
    if not pingpong:
        return None
    out = subprocess.run([pingpong, "%g" % duration], check=True, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL).stdout
    return float(out)


def median(values):
    return statistics.median(values)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "unknown"


def report(results, floor, args, load_before, load_after):
    modes = [
        ("sync-1", "one thread, one call at a time (`zk.get` / `zk.set`)"),
        ("sync-8", "8 threads sharing one client"),
        ("async-%d" % args.in_flight,
         "%d in flight: corral `AsyncClient` (asyncio, %d coroutines); "
         "kazoo `get_async`/`set_async` (kazoo has no asyncio client)"
         % (args.in_flight, args.in_flight)),
    ]
    git = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no",
                            "--", ".", ":!docs"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Python client benchmark: corral vs kazoo",
        "",
        "Generated by `bash tests/bench/python_bench.sh` (tests/bench/python_bench.py).",
        "",
        "- Date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(),
        "- Machine: %s, %d CPUs (`%s`), %s" % (cpu_model(), os.cpu_count() or 0,
                                              platform.platform(), platform.python_implementation()
                                              + " " + platform.python_version()),
        "- Commit: %s%s; corral %s (`%s`), kazoo %s"
        % (git, " (plus uncommitted work)" if dirty else "", corral.__version__,
           os.path.relpath(corral.__file__, REPO), getattr(kazoo, "__version__", "(version unknown)")),
        "- Server: release corral-server, standalone, on 127.0.0.1 (same machine as "
        "the clients)",
        "- Loads: `get` = getData only, `set` = setData only (each set is "
        "fsynced by the server before its reply), on %d znodes of %d bytes; "
        "%.0f s warm-up then %.0f s measured per cell; ops/s = calls completed in "
        "the measured window / its length; %d rounds, each running every "
        "cell of both clients and the ceiling once; the table gives medians"
        % (ZNODES, len(VALUE), args.warmup, args.duration, args.rounds),
        "- Load average before / after the run: %s / %s. The machine is shared: "
        "other builds and tests may have been running, so treat absolute "
        "figures as indicative; both clients ran in the same conditions, "
        "one after the other." % (load_before, load_after),
        "",
        "| load | mode | corral ops/s | kazoo ops/s | corral ÷ kazoo | per round "
        "| ceiling ops/s | ceiling ÷ kazoo |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for load in LOADS:
        for mode, _ in modes:
            c, k, top = (results[(load, mode, who)] for who in ("corral", "kazoo", "ceiling"))
            per_round = " ".join("%.1fx" % (x / y) for x, y in zip(c, k))
            lines.append("| %s | %s | %.0f | %.0f | %.1fx | %s | %.0f | %.1fx |" % (
                load, mode, median(c), median(k), median(c) / median(k), per_round,
                median(top), median(top) / median(k)))
    lines += ["", "Modes:", ""]
    lines += ["- `%s`: %s" % (mode, text) for mode, text in modes]
    lines += [
        "",
        "Reading the figures: every `set` is fsynced by the server before it "
        "answers, so in the `set` rows both clients mostly wait for the same "
        "server (its group commit rewards many requests in flight); the `get` "
        "rows show the clients' own cost per call.",
        "",
        "The ceiling is `corral bench`, the native Rust client, on one session "
        "keeping as many requests in flight as the mode has (1, 8, %d): what "
        "this server and machine answer at that concurrency. Where `ceiling "
        "÷ kazoo` is under 10x, no client reaches 10x kazoo in that cell: one "
        "call at a time waits a loopback round trip through the server (and, "
        "for `set`, its fsync) whatever the client." % args.in_flight,
        "",
    ]
    if floor:
        k1 = median(results[("get", "sync-1", "kazoo")])
        lines += [
            "Loopback floor: %.0f round trips/s (%.1fx kazoo's get sync-1), by "
            "`tests/bench/loopback_pingpong.c`: two C processes exchanging one "
            "40-byte message at a time over TCP on 127.0.0.1, with no server and "
            "no protocol. A call made one at a time cannot complete more often "
            "than that on this machine." % (floor, floor / k1),
            "",
        ]
    lines += [
        "Target (issue 7): 10x kazoo's throughput.",
        "",
    ]
    return "\n".join(lines)


NOTES = "## Notes (hand-written)"


def kept_notes(path):
    """The hand-written section of the existing report (from NOTES on),
    which a new run keeps."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return ""
    at = old.find(NOTES)
    return "\n" + old[at:] if at >= 0 else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--in-flight", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pingpong", help="a built tests/bench/loopback_pingpong.c, for the floor")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "BENCHMARKS-python.md"))
    ap.add_argument("--corral-cli", default=os.path.join(REPO, "target", "release", "corral"),
                    help="the `corral` CLI, for the ceiling")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    srv = servers.Server("corral", tick_time=2000)
    try:
        srv.start()
        load_before = load_average()
        setup(srv.hosts)
        results = measure(srv.hosts, args.warmup, args.duration, args.in_flight, args.corral_cli,
                          args.rounds)
        load_after = load_average()
    finally:
        srv.cleanup()
    floor = loopback_floor(args.pingpong, args.duration)
    text = report(results, floor, args, load_before, load_after)
    print(text)
    with open(args.out, "w") as f:
        f.write(text + kept_notes(args.out))


if __name__ == "__main__":
    main()
