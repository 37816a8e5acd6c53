#!/usr/bin/env python3
"""The client-library comparison's load through kazoo (one KazooClient).

Same load as `client-bench` (cli/src/bin/client_bench.rs): `--read-pct`%
getData, the rest unconditional setData of `--value-size`-byte values, on
`--znodes` random znodes under `--root`, created (or reset) by the setup.

Modes:
  async  one KazooClient, requests pipelined with get_async/set_async: a new
         request is sent as soon as one of the `--in-flight` outstanding
         requests is answered (its completion callback frees a slot).
  sync   one KazooClient, one thread, get/set in a plain loop (one request
         in flight).

Only requests sent after `--warmup` and answered before its end plus
`--duration` count. Prints one JSON object, the same shape as client-bench.
Used by tests/bench/client_bench.sh.
"""

import argparse
import json
import logging
import random
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError


def percentile(sorted_us, q):
    """The value at quantile q (0..1) of an ascending list (nearest rank)."""
    if not sorted_us:
        return 0
    i = min(len(sorted_us) - 1, max(0, int(round(q * len(sorted_us) + 0.5)) - 1))
    return sorted_us[i]


def setup(zk, paths, root, value, in_flight):
    """Creates the znodes, pipelined, resetting the data of existing ones."""
    try:
        zk.create(root, b"")
    except NodeExistsError:
        pass
    pending = []
    for path in paths:
        pending.append((path, zk.create_async(path, value)))
        if len(pending) >= in_flight:
            finish_setup(zk, pending, value)
            pending = []
    finish_setup(zk, pending, value)


def finish_setup(zk, pending, value):
    for path, result in pending:
        try:
            result.get(timeout=30)
        except NodeExistsError:
            zk.set(path, value)


class Recorder:
    """Latencies (µs) of the requests sent and answered in the window."""

    def __init__(self, measure_from, end):
        self.measure_from = measure_from
        self.end = end
        self.latencies = []
        self.gets = 0
        self.sets = 0
        self.errors = 0
        self.first_error = None

    def record(self, sent, done, is_get, error):
        if sent < self.measure_from or done > self.end:
            return
        self.latencies.append(int((done - sent) * 1e6))
        if is_get:
            self.gets += 1
        else:
            self.sets += 1
        if error is not None:
            self.errors += 1
            if self.first_error is None:
                self.first_error = repr(error)


def run_async(zk, args, paths, value, rec):
    slots = threading.Semaphore(args.in_flight)
    lock = threading.Lock()
    read_frac = args.read_pct / 100.0
    rng = random.Random(1)
    now = time.monotonic

    def issue():
        path = paths[rng.randrange(len(paths))]
        is_get = rng.random() < read_frac
        sent = now()
        result = zk.get_async(path) if is_get else zk.set_async(path, value)

        def done(r):
            t = now()
            error = r.exception
            with lock:
                rec.record(sent, t, is_get, error)
            slots.release()

        result.rawlink(done)

    while now() < rec.end:
        slots.acquire()
        issue()
    # Wait for the stragglers (their replies are past the window anyway).
    for _ in range(args.in_flight):
        slots.acquire(timeout=30)


def run_sync(zk, args, paths, value, rec):
    read_frac = args.read_pct / 100.0
    rng = random.Random(1)
    now = time.monotonic
    while True:
        path = paths[rng.randrange(len(paths))]
        is_get = rng.random() < read_frac
        sent = now()
        if sent >= rec.end:
            break
        error = None
        try:
            if is_get:
                zk.get(path)
            else:
                zk.set(path, value)
        except Exception as e:  # counted, like the Rust drivers' errors
            error = e
        rec.record(sent, now(), is_get, error)


def parse_duration(s):
    for unit, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * scale
    return float(s)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="127.0.0.1:2181")
    p.add_argument("--mode", choices=["async", "sync"], default="async")
    p.add_argument("--in-flight", type=int, default=64)
    p.add_argument("--znodes", type=int, default=1000)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--read-pct", type=int, default=90)
    p.add_argument("--duration", default="10s")
    p.add_argument("--warmup", default="2s")
    p.add_argument("--root", default="/client-bench")
    p.add_argument("--no-setup", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)

    duration = parse_duration(args.duration)
    warmup = parse_duration(args.warmup)
    zk = KazooClient(hosts=args.server, timeout=30.0)
    zk.start(timeout=30)
    paths = ["%s/n%07d" % (args.root, i) for i in range(args.znodes)]
    value = b"x" * args.value_size
    if not args.no_setup:
        setup(zk, paths, args.root, value, args.in_flight)

    start = time.monotonic()
    rec = Recorder(start + warmup, start + warmup + duration)
    in_flight = args.in_flight if args.mode == "async" else 1
    if args.mode == "async":
        run_async(zk, args, paths, value, rec)
    else:
        run_sync(zk, args, paths, value, rec)
    zk.stop()
    zk.close()

    lat = sorted(rec.latencies)
    print(
        json.dumps(
            {
                "driver": "kazoo" if args.mode == "async" else "kazoo-sync",
                "server": args.server,
                "in_flight": in_flight,
                "znodes": args.znodes,
                "value_size": args.value_size,
                "read_pct": args.read_pct,
                "duration_s": round(duration, 3),
                "ops": len(lat),
                "gets": rec.gets,
                "sets": rec.sets,
                "ops_per_sec": round(len(lat) / duration, 1),
                "p50_us": percentile(lat, 0.50),
                "p90_us": percentile(lat, 0.90),
                "p99_us": percentile(lat, 0.99),
                "p999_us": percentile(lat, 0.999),
                "max_us": lat[-1] if lat else 0,
                "errors": rec.errors,
                "first_error": rec.first_error,
            }
        )
    )
    if not lat:
        raise SystemExit("kazoo_bench: no request was answered in the measured window")


if __name__ == "__main__":
    main()
