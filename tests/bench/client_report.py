#!/usr/bin/env python3
"""Writes the "Client libraries" section of docs/CLIENT_BENCHMARKS.md from
the runs tests/bench/client_bench.sh collected (client-bench and
kazoo_bench.py JSON). Only that section is replaced; the rest of the file is
kept. Standard library only."""

import argparse
import datetime
import json
import os
import platform
import re
from pathlib import Path

SECTION = "## Client libraries"
SERVER_LABELS = {"corral": "corral-server", "zookeeper": "Apache ZooKeeper"}
DRIVER_NOTES = {
    "corral-client": "one `corral_client::Client`, N tasks, tokio multi-thread",
    "zookeeper-client": "one `zookeeper_client::Client`, N tasks, tokio multi-thread",
    "corral-client-ct": "one `corral_client::Client`, N tasks, tokio current-thread",
    "zookeeper-client-ct": "one `zookeeper_client::Client`, N tasks, tokio current-thread",
    "kazoo": "one `KazooClient`, `get_async`/`set_async`",
    "kazoo-sync": "one `KazooClient`, `get`/`set` loop (1 in flight)",
}
# (corral-client driver, zookeeper-client driver, runtime label) pairs.
RUST_PAIRS = [
    ("corral-client", "zookeeper-client", "tokio multi-thread"),
    ("corral-client-ct", "zookeeper-client-ct", "tokio current-thread"),
]
# The targets: corral-client >= zookeeper-client, >= 10x kazoo.
TARGET_VS_ZKC = 1.0
TARGET_VS_KAZOO = 10.0


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_int(v):
    return "{:,}".format(int(round(v)))


def fmt_ms(us):
    return "%.2f" % (us / 1000.0)


def collect(results, server, driver, repeat):
    """The median run by ops/s (with its CPU figures) and every run's ops/s."""
    runs = []
    for i in range(1, repeat + 1):
        p = results / ("%s.%s.%d.json" % (server, driver, i))
        if not p.exists():
            continue
        r = json.loads(p.read_text())
        cpu = results / ("%s.%s.%d.cpu.json" % (server, driver, i))
        r["cpu"] = json.loads(cpu.read_text()) if cpu.exists() else None
        runs.append(r)
    if not runs:
        return None, []
    by_ops = sorted(runs, key=lambda r: r["ops_per_sec"])
    return by_ops[(len(by_ops) - 1) // 2], [r["ops_per_sec"] for r in runs]


def client_cpu_pct(r):
    c = r.get("cpu")
    if not c or not c.get("wall_s"):
        return None
    return 100.0 * c["client_cpu_s"] / c["wall_s"]


def client_us_per_op(r, measured_s):
    """Client CPU per request, µs: the run's CPU time over the requests of
    its warm-up and measured window (at the measured rate)."""
    c = r.get("cpu")
    if not c or not r["ops_per_sec"]:
        return None
    return 1e6 * c["client_cpu_s"] / (r["ops_per_sec"] * measured_s)


def seconds(d):
    for unit, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if d.endswith(unit):
            return float(d[: -len(unit)]) * scale
    return float(d)


def server_cpu_pct(r):
    c = r.get("cpu")
    if not c or not c.get("wall_s"):
        return None
    return 100.0 * c["server_cpu_ticks"] / c["clk_tck"] / c["wall_s"]


def section(a, results):
    servers = a.servers.split()
    drivers = a.drivers.split()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [SECTION, ""]
    out.append(
        "One client — one session, one TCP connection — pipelining a mixed load: "
        "%d%% getData, %d%% setData (unconditional) of %d-byte values on %s random "
        "znodes, %d requests in flight (a new request as soon as one is answered), "
        "against each server alone. Same load, same server, same run for every "
        "client library. Written by `tests/bench/client_bench.sh` (`make bench`) "
        "on %s." % (a.read_pct, 100 - a.read_pct, a.value_size, fmt_int(a.znodes),
                    a.in_flight, now)
    )
    out.append("")
    out.append(
        "Each cell is the median of %d runs of %s (after %s unmeasured) by ops/s; "
        "only requests sent and answered inside the measured window count. "
        "p50/p99 are per-request latencies in ms. Client CPU is the client "
        "process's user+system time over the run, in %% of one core, and per "
        "request (what the library costs its user when the server, not the "
        "client, is the bottleneck); server CPU "
        "likewise for the server: client and server share this machine's %d "
        "CPUs, so where client + server CPU approaches %d%%, the machine, not "
        "the client library, is the limit." % (a.repeat, a.duration, a.warmup,
                                                os.cpu_count() or 1,
                                                100 * (os.cpu_count() or 1))
    )
    out.append("")
    ratios = {}
    for s in servers:
        label = SERVER_LABELS.get(s, s)
        out.append("### %s" % label)
        out.append("")
        out.append("| client | how | ops/s | range (ops/s) | p50 ms | p99 ms | errors "
                   "| client CPU | client CPU µs/op | server CPU |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        med = {}
        for d in drivers:
            r, all_ops = collect(a.results, s, d, a.repeat)
            if r is None:
                out.append("| %s | %s | — | — | — | — | — | — | — | — |" % (d, DRIVER_NOTES[d]))
                continue
            med[d] = r
            cc = client_cpu_pct(r)
            cu = client_us_per_op(r, seconds(a.duration) + seconds(a.warmup))
            sc = server_cpu_pct(r)
            out.append(
                "| %s | %s | %s | %s–%s | %s | %s | %d | %s | %s | %s |"
                % (
                    d,
                    DRIVER_NOTES[d],
                    fmt_int(r["ops_per_sec"]),
                    fmt_int(min(all_ops)),
                    fmt_int(max(all_ops)),
                    fmt_ms(r["p50_us"]),
                    fmt_ms(r["p99_us"]),
                    r["errors"],
                    "—" if cc is None else "%.0f%%" % cc,
                    "—" if cu is None else "%.1f" % cu,
                    "—" if sc is None else "%.0f%%" % sc,
                )
            )
        out.append("")
        ratios[s] = med
    # Ratios and targets.
    out.append("### corral-client against the others")
    out.append("")
    out.append("| server | runtime | ops/s ÷ zookeeper-client's (target ≥ 1) "
               "| ops/s ÷ kazoo's (target ≥ 10) | ops/s ÷ kazoo-sync's "
               "| p99 ÷ zookeeper-client's | p99 ÷ kazoo's |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")

    def ops_ratio(c, o, target=None):
        if not c or not o or not o["ops_per_sec"]:
            return "—"
        v = c["ops_per_sec"] / o["ops_per_sec"]
        mark = ""
        if target is not None:
            mark = " (met)" if v >= target else " (**not met**)"
        return "%.2f×%s" % (v, mark)

    def p99_ratio(c, o):
        if not c or not o or not o["p99_us"]:
            return "—"
        return "%.2f×" % (c["p99_us"] / o["p99_us"])

    for s in servers:
        med = ratios[s]
        for mine, theirs, runtime in RUST_PAIRS:
            c = med.get(mine)
            if c is None:
                continue
            out.append(
                "| %s | %s | %s | %s | %s | %s | %s |"
                % (
                    SERVER_LABELS.get(s, s),
                    runtime,
                    ops_ratio(c, med.get(theirs), TARGET_VS_ZKC),
                    ops_ratio(c, med.get("kazoo"), TARGET_VS_KAZOO),
                    ops_ratio(c, med.get("kazoo-sync")),
                    p99_ratio(c, med.get(theirs)),
                    p99_ratio(c, med.get("kazoo")),
                )
            )
    out.append("")
    out.append("Setup: %s, %d CPUs; %s; zookeeper-client %s; kazoo %s on %s; Apache "
               "ZooKeeper %s (Debian package, forceSync=yes, -Xmx%s, %s); corral %s. "
               "Each server was primed for %s (ZooKeeper's JIT) before its first "
               "measured run."
               % (cpu_model(), os.cpu_count() or 1, a.rustc_version,
                  a.zookeeper_client_version, a.kazoo_version, a.python_version,
                  a.zk_version, a.zk_heap, a.java_version, a.corral_rev, a.prime))
    out.append("")
    out.append(
        "Reproduce: `bash tests/bench/client_bench.sh` (knobs: CLIENT_BENCH_* "
        "variables, see the script's header). One run by hand: `target/release/"
        "client-bench --driver corral|zookeeper-client --server HOST:PORT "
        "--in-flight %d --duration %s`; `.venv/bin/python tests/bench/kazoo_bench.py "
        "--mode async|sync --server HOST:PORT`." % (a.in_flight, a.duration)
    )
    out.append("")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--servers", required=True)
    p.add_argument("--drivers", required=True)
    p.add_argument("--repeat", type=int, required=True)
    p.add_argument("--prime", required=True)
    p.add_argument("--in-flight", type=int, required=True)
    p.add_argument("--znodes", type=int, required=True)
    p.add_argument("--value-size", type=int, required=True)
    p.add_argument("--read-pct", type=int, required=True)
    p.add_argument("--duration", required=True)
    p.add_argument("--warmup", required=True)
    p.add_argument("--zk-version", default="unknown")
    p.add_argument("--zk-heap", default="unknown")
    p.add_argument("--java-version", default="unknown")
    p.add_argument("--kazoo-version", default="unknown")
    p.add_argument("--zookeeper-client-version", default="unknown")
    p.add_argument("--python-version", default="unknown")
    p.add_argument("--rustc-version", default="unknown")
    p.add_argument("--corral-rev", default="unknown")
    a = p.parse_args()

    new = section(a, a.results)
    if a.out.exists():
        text = a.out.read_text()
    else:
        text = (
            "# Client benchmarks\n\n"
            "Client-side numbers of `make bench`; the server benchmarks are in "
            "[BENCHMARKS.md](BENCHMARKS.md).\n\n"
        )
    # Replace our section (up to the next "## " heading), or append it.
    pattern = re.compile(r"^## Client libraries\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: new + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
