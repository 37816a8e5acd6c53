"""Faults on a 3-voter ensemble whose members each live in their own network
namespace (ensemble.NetLab: one netns + veth per server, a bridge in the root
namespace, clients in the root namespace):

1. test_partitioned_leader_*: the leader is cut off (its veth set down); the
   majority elects a new leader and goes on acknowledging writes; the old
   leader acknowledges none of the writes a client inside its namespace sends
   it during the cut; after healing, every member holds the same tree and it
   has every acknowledged write once and none of the cut-off ones.
2. test_history_is_linearizable_*: several kazoo clients, spread over all
   members, run a mixed create/setData/CAS/delete/getData workload on a few
   keys while the leader is killed -9 (and restarted) twice and cut off once;
   the recorded history is checked with linearizability.py: writes and
   sync()+getData reads are linearizable, plain getData reads follow the
   per-session rule (never older than what the session saw or wrote).
3. test_partitioned_follower_*: a follower is cut off for many election
   timeouts, then healed: the leader stays leader all along (no election:
   corral's pre-vote keeps the cut-off member from raising its term), a
   writer on the leader sees every write acknowledged, and the healed
   follower catches up.

All also run against a 3-node Apache ZooKeeper 3.8 ensemble (same harness),
which checks the tests themselves. They need root (CAP_NET_ADMIN) and
iproute2: without them they fail, unless CORRAL_NO_NETNS=1 says to skip.
"""

import json
import os
import random
import threading
import time

import pytest
from kazoo.exceptions import BadVersionError, ConnectionLoss, NodeExistsError, NoNodeError, \
    SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState

from conftest import KINDS, kazoo_client
from ensemble import Ensemble, NetLab, NetLabError
from linearizability import BAD_VERSION, INF, NO_NODE, NODE_EXISTS, History, Inconclusive, \
    check, check_session_reads

pytestmark = pytest.mark.timeout(180)

OP_TIMEOUT = 5.0  # seconds a client waits for one answer before calling it unknown


# ---------------------------------------------------------------------------
# harness
# ---------------------------------------------------------------------------

@pytest.fixture
def netns_ensemble():
    """make(kind) -> (ensemble, netlab): 3 voters, one namespace each, all
    serving. Servers are killed, then namespaces, veths and bridge removed,
    also when the test fails."""
    if os.environ.get("CORRAL_NO_NETNS") == "1":
        pytest.skip("CORRAL_NO_NETNS=1: network namespace tests disabled")
    made = []

    def make(kind):
        try:
            lab = NetLab(3)
        except NetLabError as e:
            pytest.fail(
                "cannot build the test's network namespaces (these tests need root "
                "or CAP_NET_ADMIN and iproute2's `ip`; set CORRAL_NO_NETNS=1 to skip "
                "them): %s" % e, pytrace=False)
        ens = Ensemble(kind, voters=3, netlab=lab)
        made.append((ens, lab))
        ens.start(timeout=90)
        return ens, lab

    yield make
    for ens, lab in made:
        try:
            ens.cleanup()
        finally:
            lab.cleanup()


def client_on(member, **kw):
    """A started kazoo client connected to `member` only."""
    c = kazoo_client(member.hosts, **kw)
    c.start(timeout=30)
    return c


def close(*clients):
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


def tree_dump(client, path="/"):
    """Every znode under `path` (but /zookeeper) with its data and full Stat."""
    out = {}
    stack = [path]
    while stack:
        p = stack.pop()
        data, s = client.get(p)
        out[p] = (data, s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version,
                  s.cversion, s.aversion, s.ephemeralOwner, s.dataLength, s.numChildren)
        for child in client.get_children(p):
            cp = p.rstrip("/") + "/" + child
            if cp != "/zookeeper":
                stack.append(cp)
    return out


def retrying(fn, timeout=30.0):
    """fn() until it raises no connection error (an election may still be
    under way just after a fault)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (ConnectionLoss, SessionExpiredError, KazooTimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def member_dump(member):
    c = client_on(member)
    try:
        c.sync("/")
        return tree_dump(c)
    finally:
        close(c)


def converged_tree(ens, timeout=30.0):
    """Poll every member (sync, then dump its whole tree) until all dumps are
    equal; return the common dump."""
    deadline = time.monotonic() + timeout
    while True:
        dumps = [retrying(lambda: member_dump(m)) for m in ens.members]
        if all(d == dumps[0] for d in dumps):
            return dumps[0]
        if time.monotonic() > deadline:
            diff = sorted(p for p in set().union(*dumps) if len({repr(d.get(p)) for d in dumps}) > 1)
            raise AssertionError("members still differ after %.0fs at %d paths, e.g. %s"
                                 % (timeout, len(diff), [(p, [d.get(p) for d in dumps]) for p in diff[:3]]))
        time.sleep(0.2)


def wait_for(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, message))
        time.sleep(0.05)


def create_acknowledged(client, path, data, timeout=30.0):
    """Create `path` until the ensemble answers; a NodeExists after an
    unanswered attempt means that attempt was applied (paths are unique)."""
    deadline = time.monotonic() + timeout
    tried = False
    while True:
        try:
            client.create_async(path, data).get(timeout=OP_TIMEOUT)
            return
        except NodeExistsError:
            assert tried and client.get(path)[0] == data, path
            return
        except Exception:
            tried = True
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---------------------------------------------------------------------------
# 1. partition of the leader
# ---------------------------------------------------------------------------

class MinorityWriter(threading.Thread):
    """Creates /part/minority-N through a client connected to the cut-off
    member only: first a pipelined burst (which the old leader may still
    append to its log before it notices it is alone: entries that must be
    discarded after the heal), then one at a time until stopped. Records
    what each attempt got."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.attempts = []  # (path, "ok" | exception name)

    def run(self):
        burst = [("/part/minority-burst-%d" % i,) for i in range(50)]
        burst = [(p, self.client.create_async(p, b"m")) for (p,) in burst]
        for path, pending in burst:
            try:
                pending.get(timeout=5.0)
                self.attempts.append((path, "ok"))
            except Exception as e:
                self.attempts.append((path, type(e).__name__))
        i = 0
        while not self.stop.is_set():
            path = "/part/minority-%d" % i
            i += 1
            try:
                self.client.create_async(path, b"m").get(timeout=2.0)
                self.attempts.append((path, "ok"))
            except Exception as e:
                self.attempts.append((path, type(e).__name__))
                time.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_partitioned_leader_majority_goes_on_minority_acknowledges_nothing(kind, netns_ensemble):
    started = time.monotonic()
    ens, lab = netns_ensemble(kind)
    old = ens.leader()
    majority = [m for m in ens.members if m is not old]

    setup = client_on(majority[0])
    setup.create("/part")
    before = ["/part/before-%d" % i for i in range(10)]
    for p in before:
        setup.create(p, b"before")
    close(setup)

    # A client of the old leader from inside its namespace: it still reaches
    # that server when the namespace is cut off from the others.
    minority_client = lab.run_in(old.server_id, client_on, old)
    minority_client.sync("/part")
    minority_states = []
    minority_client.add_listener(minority_states.append)
    # A client of the two others, from the root namespace.
    majority_client = kazoo_client(",".join(m.hosts for m in majority))
    majority_client.start(timeout=30)
    writer = MinorityWriter(minority_client)
    try:
        lab.cut(old.server_id)
        writer.start()  # every attempt it makes is sent during the cut

        # The majority elects one of its own and acknowledges writes.
        new = ens.leader(among=majority, timeout=30)
        assert new is not old
        acked = ["/part/majority-%d" % i for i in range(20)]
        for p in acked:
            create_acknowledged(majority_client, p, b"majority")

        # The old leader knows it has no quorum: it stops serving (as seen
        # from inside its namespace)...
        wait_for(lambda: lab.run_in(old.server_id, old.mode) is None, 20,
                 "the cut-off leader to stop serving")
        assert "not currently serving" in lab.run_in(old.server_id, old.four_letter, "srvr")
        # ...and has acknowledged nothing sent to it since the cut.
        wait_for(lambda: len(writer.attempts) >= 53, 30, "writes attempted on the minority")
        writer.stop.set()
        writer.join(10)
        assert not writer.is_alive()
        attempts = list(writer.attempts)
        assert [a for a in attempts if a[1] == "ok"] == [], \
            "the cut-off leader acknowledged writes: %r" % attempts
        # Its client was told: it lost its connection (the server closed it)
        # or its requests failed.
        assert KazooState.SUSPENDED in minority_states or \
            any(a[1] == "ConnectionLoss" for a in attempts), (minority_states, attempts)
        # Stop the client before healing: requests it still queues are
        # failed here, never sent after the heal.
        close(minority_client)
    finally:
        writer.stop.set()
        close(minority_client, majority_client)
        lab.heal(old.server_id)

    # After healing the old leader rejoins and every member converges.
    ens.wait_serving(old, timeout=60)
    tree = converged_tree(ens)
    for p in before + acked:
        assert p in tree, "acknowledged write %s lost" % p
    cut_writes = {p for p, _ in attempts}
    assert not cut_writes & set(tree), \
        "writes sent to the cut-off leader were applied: %r" % sorted(cut_writes & set(tree))
    assert sorted(p for p in tree if p.startswith("/part/")) == sorted(before + acked)
    print("%s: %d writes refused by the cut-off leader (%s), %d acknowledged by the majority; "
          "%d znodes identical on all members; %.1fs" % (
              kind, len(attempts), sorted({a[1] for a in attempts}), len(acked), len(tree),
              time.monotonic() - started))


# ---------------------------------------------------------------------------
# 2. linearizability under leader kills and a partition
# ---------------------------------------------------------------------------

# Keys are used for one generation (GENERATION seconds) each, then workers
# move on to fresh ones (Jepsen's "independent keys"): every key's history
# stays short, so operations with unknown outcomes (which may take effect at
# any later time) do not make the search blow up.
KEYS_PER_GENERATION = 3
GENERATION = 1.0
PHASE = 2.0  # seconds of load between two fault steps (7 phases)


class Worker(threading.Thread):
    """One kazoo client (own session) doing random operations on the current
    generation's keys, recording each with its invoke/complete times in
    `history`."""

    def __init__(self, index, client, history, stop, seed, epoch):
        super().__init__(daemon=True)
        self.index = index
        self.client = client
        self.history = history
        self.stop = stop
        self.rnd = random.Random(seed)
        self.epoch = epoch
        self.known_version = {}  # key -> version last seen, for CAS / delete
        self.counter = 0

    def session(self):
        return "c%d/%x" % (self.index, self.client._session_id or 0)

    def value(self):
        self.counter += 1
        return "c%d-%d" % (self.index, self.counter)

    def run(self):
        while not self.stop.is_set():
            self.one()

    def one(self):
        c, h, rnd = self.client, self.history, self.rnd
        generation = int((time.monotonic() - self.epoch) / GENERATION)
        key = "/lin/g%03d-k%d" % (generation, rnd.randrange(KEYS_PER_GENERATION))
        self.known_version.setdefault(key, 0)
        r = rnd.random()
        if r < 0.15:
            kind, value = "create", self.value()
            call = lambda: c.create_async(key, value.encode())  # noqa: E731
        elif r < 0.25:
            kind, value = "delete", None
            call = lambda: c.delete_async(key, version=self.known_version[key])  # noqa: E731
        elif r < 0.30:
            kind, value = "set", self.value()
            call = lambda: c.set_async(key, value.encode(), -1)  # noqa: E731
        elif r < 0.70:
            kind, value = "cas", self.value()
            call = lambda: c.set_async(key, value.encode(), self.known_version[key])  # noqa: E731
        else:
            kind, value = "read", None
        synced = kind == "read" and r < 0.85
        expected = self.known_version[key] if kind in ("cas", "delete") else None
        op = h.invoke(self.session(), key, kind, value=value, expected=expected,
                      linearizable=synced)
        try:
            if kind == "read":
                if synced:
                    c.sync_async("/lin").get(timeout=OP_TIMEOUT)
                data, stat = c.get_async(key).get(timeout=OP_TIMEOUT)
                h.ok(op, value=data.decode(), version=stat.version, mzxid=stat.mzxid)
                self.known_version[key] = stat.version
            else:
                res = call().get(timeout=OP_TIMEOUT)
                if kind in ("set", "cas"):
                    h.ok(op, version=res.version, mzxid=res.mzxid)
                    self.known_version[key] = res.version
                else:
                    h.ok(op)
                    self.known_version[key] = 0
        except NoNodeError:
            h.fail(op, NO_NODE)
        except NodeExistsError:
            h.fail(op, NODE_EXISTS)
        except BadVersionError:
            h.fail(op, BAD_VERSION)
            self.known_version[key] = rnd.randint(0, 3)
        except Exception:
            # ConnectionLoss, SessionExpired, our own timeout...: maybe applied.
            # Back off a little, as a client's retry policy would (a server
            # without a leader answers at once), and wait for a connection.
            h.unknown(op)
            time.sleep(0.1)
            deadline = time.monotonic() + 1.0
            while not c.connected and time.monotonic() < deadline and not self.stop.is_set():
                time.sleep(0.02)


@pytest.mark.parametrize("kind", KINDS)
def test_history_is_linearizable_under_leader_kills_and_partition(kind, netns_ensemble, tmp_path):
    started = time.monotonic()
    ens, lab = netns_ensemble(kind)
    setup = client_on(ens.members[0])
    setup.create("/lin")
    close(setup)

    history = History(time.monotonic)
    stop = threading.Event()
    clients, workers = [], []
    for i in range(6):
        # Spread over all members; each client fails over to the others.
        home = ens.members[i % 3]
        hosts = ",".join([home.hosts] + [m.hosts for m in ens.members if m is not home])
        c = kazoo_client(hosts, randomize_hosts=False)
        c.start(timeout=30)
        clients.append(c)
        workers.append(Worker(i, c, history, stop, seed=i, epoch=started))
    faults = []

    def ok_writes():
        return sum(1 for op in history.ops if op.kind != "read" and op.result == "ok")

    def progress(what, timeout=30):
        """One phase of the workload: wait until the ensemble has acknowledged
        40 more writes (a count to reach, not a sleep), then let the load run
        on for the rest of PHASE seconds."""
        begin = time.monotonic()
        target = ok_writes() + 40
        wait_for(lambda: ok_writes() >= target, timeout, "writes acknowledged " + what)
        time.sleep(max(0.0, PHASE - (time.monotonic() - begin)))

    try:
        for w in workers:
            w.start()
        progress("at start")
        for _ in range(2):
            leader = ens.leader()
            leader.kill()
            faults.append("kill -9 leader %d at %.1fs" % (leader.server_id, time.monotonic() - started))
            others = [m for m in ens.members if m is not leader]
            ens.leader(among=others, timeout=30)
            progress("after the kill")
            ens.start_member(leader, timeout=60)
            progress("after the restart")
        leader = ens.leader()
        lab.cut(leader.server_id)
        faults.append("cut leader %d at %.1fs" % (leader.server_id, time.monotonic() - started))
        try:
            ens.leader(among=[m for m in ens.members if m is not leader], timeout=30)
            progress("during the partition")
        finally:
            lab.heal(leader.server_id)
        faults.append("healed at %.1fs" % (time.monotonic() - started))
        ens.wait_serving(leader, timeout=60)
        progress("after healing")
    finally:
        stop.set()
        for w in workers:
            w.join(OP_TIMEOUT * 3)
        close(*clients)
    assert not any(w.is_alive() for w in workers)

    # Final linearizable reads of every key through every member: the end
    # state pins down what the ambiguous operations did.
    keys = sorted({op.key for op in history.ops})

    def final_read(c, m, key):
        op = history.invoke("final-%d" % m.server_id, key, "read")
        try:
            c.sync("/lin")
            data, stat = c.get(key)
            history.ok(op, value=data.decode(), version=stat.version, mzxid=stat.mzxid)
        except NoNodeError:
            history.fail(op, NO_NODE)
        except Exception:
            history.unknown(op)
            raise

    for m in ens.members:
        c = retrying(lambda: client_on(m))
        try:
            for key in keys:
                retrying(lambda: final_read(c, m, key))
        finally:
            close(c)
    converged_tree(ens)

    ops = history.ops
    # Kept for a post-mortem (pytest keeps the last runs' tmp dirs).
    saved = tmp_path / "history.json"
    saved.write_text(json.dumps([
        {s: (None if getattr(op, s) == INF else getattr(op, s)) for s in op.__slots__}
        for op in ops]))
    checked = time.monotonic()
    try:
        bad = check(ops, max_states=300000)
    except Inconclusive as e:
        pytest.fail("linearizability check inconclusive (%s); history in %s" % (e, saved))
    stale = check_session_reads(ops)
    print("%s: %s; history of %d ops on %d keys (%s); checked in %.1fs; total %.1fs; saved to %s" % (
        kind, "; ".join(faults), len(ops), len({op.key for op in ops}), history.summary(),
        time.monotonic() - checked, time.monotonic() - started, saved))
    assert not bad, "\n\n".join(repr(r) for r in bad)
    assert not stale, "\n".join(stale[:20])
    assert sum(1 for op in ops if op.kind == "cas" and op.result == "ok") > 10
    assert sum(1 for op in ops if op.kind == "read" and op.linearizable and op.result == "ok") > 10


# ---------------------------------------------------------------------------
# 3. partition of a follower
# ---------------------------------------------------------------------------

class SteadyWriter(threading.Thread):
    """Creates /heal/w-N one at a time through `client`, recording
    (invoke time, path, "ok" | exception name) for each attempt."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.attempts = []

    def run(self):
        i = 0
        while not self.stop.is_set():
            path = "/heal/w-%d" % i
            i += 1
            at = time.monotonic()
            try:
                self.client.create_async(path, b"w").get(timeout=OP_TIMEOUT)
                self.attempts.append((at, path, "ok"))
            except Exception as e:
                self.attempts.append((at, path, type(e).__name__))
                time.sleep(0.05)
            time.sleep(0.005)

    def acknowledged(self):
        return sum(1 for a in self.attempts if a[2] == "ok")


class ModeWatch(threading.Thread):
    """Asks `members` for their srvr Mode every 50 ms; `seen` keeps
    (time, member id, mode) for every answer."""

    def __init__(self, members):
        super().__init__(daemon=True)
        self.members = list(members)
        self.stop = threading.Event()
        self.seen = []

    def run(self):
        while not self.stop.is_set():
            for m in list(self.members):
                self.seen.append((time.monotonic(), m.server_id, m.mode()))
            time.sleep(0.05)


@pytest.mark.parametrize("kind", KINDS)
def test_partitioned_follower_rejoins_without_deposing_the_leader(kind, netns_ensemble):
    started = time.monotonic()
    ens, lab = netns_ensemble(kind)
    leader = ens.leader()
    cut, other = [m for m in ens.members if m is not leader]

    setup = client_on(leader)
    setup.create("/heal")
    close(setup)
    client = client_on(leader)
    writer = SteadyWriter(client)
    watch = ModeWatch([leader, other])
    try:
        writer.start()
        watch.start()
        wait_for(lambda: writer.acknowledged() >= 20, 30, "writes before the cut")
        lab.cut(cut.server_id)
        cut_at = time.monotonic()
        # Many election timeouts (corral: 100-200 ms; ZooKeeper: syncLimit
        # 5 x tickTime 200 ms) during which the cut-off member hears nobody.
        time.sleep(3.0)
        during = writer.acknowledged()
        lab.heal(cut.server_id)
        healed_at = time.monotonic()
        ens.wait_serving(cut, timeout=30)
        watch.members.append(cut)
        rejoined_at = time.monotonic()
        # Keep writing well after the member is back.
        target = writer.acknowledged() + 50
        wait_for(lambda: writer.acknowledged() >= target, 30, "writes after the heal")
        time.sleep(max(0.0, healed_at + 3.0 - time.monotonic()))
    finally:
        writer.stop.set()
        watch.stop.set()
        lab.heal(cut.server_id)
        writer.join(OP_TIMEOUT * 2)
        watch.join(10)
        close(client)

    failed = [(round(t - started, 2), p, e) for t, p, e in writer.attempts if e != "ok"]
    changes = [(round(t - started, 2), i, mode) for t, i, mode in watch.seen
               if (i == leader.server_id) != (mode == "leader")]
    assert (failed, changes) == ([], []), \
        "cut at %.2f, healed at %.2f; failed writes: %r; leader %d not leading or others " \
        "leading (time, member, mode): %r" % (
            cut_at - started, healed_at - started, failed, leader.server_id, changes)
    assert during >= 20 + 10, "the leader did not go on acknowledging writes during the cut"
    assert leader.mode() == "leader"
    assert cut.mode() == other.mode() == "follower"

    # The healed follower has every acknowledged write.
    c = client_on(cut)
    try:
        c.sync("/heal")
        acked = {p for _, p, e in writer.attempts if e == "ok"}
        missing = acked - {"/heal/" + n for n in c.get_children("/heal")}
        assert not missing, "the healed follower lacks %d writes" % len(missing)
    finally:
        close(c)
    print("%s: %d writes acknowledged, none failed; follower %d cut %.1fs, serving %.2fs "
          "after the heal; leader %d throughout" % (
              kind, writer.acknowledged(), cut.server_id, healed_at - cut_at,
              rejoined_at - healed_at, leader.server_id))
