"""corral-client recipes next to kazoo, and under kill -9.

The corral side is the example binary `client-core/examples/recipe_worker.rs`
(built once with cargo, like test_client_vs_kazoo.py's transcript binary).

- Lock interop: corral worker processes (Lock handles, node names
  `_c_<uuid>-lock-<seq>`) and kazoo threads (`Lock(..., extra_lock_patterns=
  ["-lock-"])`, node names `<hex>__lock__<seq>`) increment one counter znode
  under the same lock path by unversioned read-modify-writes: the count is
  exact only if every holder excludes every other.
- Election under kill -9: three corral candidate processes; the leader
  appends `EPOCH:ID` records to a log, fenced by a check on its election
  node. The leader process is killed with SIGKILL (its session then expires
  on the server), twice; each time exactly one other candidate takes over,
  and the log shows terms that never interleave.
"""

import os
import signal
import subprocess
import tempfile
import threading

import pytest

import servers as S
from conftest import wait_until

pytestmark = pytest.mark.timeout(300)  # includes building the example once

EXAMPLE = os.path.join(S.REPO_ROOT, "target", "debug", "examples", "recipe_worker")


def _newest_mtime(paths):
    newest = 0.0
    for top in paths:
        if os.path.isfile(top):
            newest = max(newest, os.path.getmtime(top))
            continue
        for d, _, files in os.walk(top):
            for f in files:
                newest = max(newest, os.path.getmtime(os.path.join(d, f)))
    return newest


@pytest.fixture(scope="session")
def worker_bin():
    """CORRAL_RECIPE_WORKER, or target/debug/examples/recipe_worker, built
    with cargo if missing or older than its sources."""
    override = os.environ.get("CORRAL_RECIPE_WORKER")
    if override:
        return override
    sources = [os.path.join(S.REPO_ROOT, p) for p in (
        "client-core/src", "client-core/examples/recipe_worker.rs",
        "client-core/Cargo.toml", "protocol/src")]
    if not os.path.isfile(EXAMPLE) or os.path.getmtime(EXAMPLE) < _newest_mtime(sources):
        r = subprocess.run(
            [os.environ.get("CARGO", "cargo"), "build", "-p", "corral-client",
             "--example", "recipe_worker"],
            cwd=S.REPO_ROOT, capture_output=True, text=True, timeout=280)
        if r.returncode != 0:
            pytest.fail("cargo build --example recipe_worker failed:\n" + r.stderr[-4000:])
    return EXAMPLE


class Workers(object):
    """Started worker processes; every one is killed at the end."""

    def __init__(self, binary):
        self.binary = binary
        self.procs = []

    def start(self, *args):
        err = tempfile.TemporaryFile(mode="w+")
        p = subprocess.Popen(
            [self.binary] + [str(a) for a in args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            text=True, preexec_fn=S._child_setup)
        p.errfile = err
        self.procs.append(p)
        return p

    @staticmethod
    def stderr(p):
        p.errfile.seek(0)
        return p.errfile.read()[-4000:]

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for f in (p.stdin, p.stdout, p.errfile):
                if f:
                    f.close()


@pytest.fixture
def workers(worker_bin):
    w = Workers(worker_bin)
    yield w
    w.kill_all()


def test_lock_with_kazoo_holders(server, zk_factory, root, workers):
    lock_path = root + "/lock"
    counter = root + "/counter"
    zk = zk_factory()
    zk.create(counter, b"0")
    corral_procs, corral_tasks, iterations = 2, 2, 50
    kazoo_threads = 3

    procs = [workers.start("lock", server.hosts, lock_path, counter, corral_tasks, iterations)
             for _ in range(corral_procs)]
    errors = []
    seen_corral = []

    def kazoo_worker(i):
        try:
            client = zk_factory()
            lock = client.Lock(lock_path, "kazoo-%d" % i, extra_lock_patterns=["-lock-"])
            for _ in range(iterations):
                with lock:
                    if any("-lock-" in c for c in client.get_children(lock_path)):
                        seen_corral.append(i)
                    value, _ = client.get(counter)
                    client.set(counter, str(int(value) + 1).encode())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=kazoo_worker, args=(i,)) for i in range(kazoo_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, "worker failed:\n%s\n%s" % (out, workers.stderr(p))
        assert out.strip() == "done"
    assert not errors, errors
    assert seen_corral, "kazoo never saw a corral contender queued"
    total = corral_procs * corral_tasks * iterations + kazoo_threads * iterations
    value, _ = zk.get(counter)
    assert int(value) == total
    assert zk.get_children(lock_path) == []


def _read_log(zk, log):
    names = sorted(zk.get_children(log))
    out = []
    for n in names:
        data, _ = zk.get(log + "/" + n)
        epoch, ident = data.decode().split(":", 1)
        out.append((int(epoch), ident))
    return out


def _terms(log):
    """Each epoch one leader; epochs only grow; a term's records are
    contiguous (two leaders never interleave)."""
    terms = []
    for epoch, ident in log:
        if terms and terms[-1][0] == epoch:
            assert terms[-1][1] == ident, "epoch %d has two leaders: %r" % (epoch, log)
            continue
        if terms:
            assert epoch > terms[-1][0], "leaders overlapped: %r" % (log,)
        terms.append((epoch, ident))
    return terms


def test_election_leader_killed(server, zk, root, workers):
    election = root + "/election"
    log = root + "/log"
    zk.ensure_path(log)
    session_ms = 2000
    procs = {}
    for i in range(3):
        ident = "w%d" % i
        procs[ident] = workers.start("elect", server.hosts, election, log, ident, session_ms)

    killed = []
    for round_ in range(3):
        wait_until(lambda: len(_terms(_read_log(zk, log))) >= round_ + 1, timeout=30,
                   message="a leader in round %d" % round_)
        terms = _terms(_read_log(zk, log))
        assert len(terms) == round_ + 1, "exactly one new leader: %r" % (terms,)
        leader = terms[-1][1]
        assert leader not in killed
        # The leader's node is the first election node, holding its id.
        nodes = sorted(zk.get_children(election), key=lambda n: int(n[-10:]))
        data, _ = zk.get(election + "/" + nodes[0])
        assert data.decode() == leader
        if round_ == 2:
            break
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait()
        killed.append(leader)

    # Stop the last one cleanly: it leaves and deletes its node.
    for ident, p in procs.items():
        if p.poll() is None:
            p.stdin.close()
            p.wait(timeout=30)
            assert p.returncode == 0, workers.stderr(p)
    final = _terms(_read_log(zk, log))
    assert len(final) == 3
    assert len({ident for _, ident in final}) == 3
    wait_until(lambda: zk.get_children(election) == [], timeout=10,
               message="election nodes gone")
