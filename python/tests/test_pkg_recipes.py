"""The recipes (corral.recipe, `client.Lock(...)` etc.) with kazoo's call
shapes, and their interplay with kazoo's recipes on the same paths —
against both servers."""

import re
import threading
import time

import pytest

from conftest import SESSION_TIMEOUT, Collector, wait_until

import corral
from corral import exceptions as ex
from corral.recipe.cache import TreeEvent
from corral.recipe.lock import Lock

# Curator's protected lock node name.
LOCK_NODE = re.compile(r"^_c_[0-9a-f-]{36}-lock-\d{10}$")


def contender_nodes(client, path):
    """The children of a lock's path: [] once the server has removed the
    empty container node."""
    try:
        return client.get_children(path)
    except ex.NoNodeError:
        return []


def run_thread(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def test_lock_basics(zk, root):
    lock = zk.Lock(root + "/lock", "me")
    assert isinstance(lock, Lock)
    assert not lock.is_acquired and lock.state == "RELEASED"
    assert lock.acquire() is True
    assert lock.is_acquired and lock.state == "ACQUIRED"
    assert LOCK_NODE.match(lock.node)
    assert zk.get_children(root + "/lock") == [lock.node]
    assert zk.get(root + "/lock/" + lock.node)[0] == b"me"
    assert lock.contenders() == ["me"]
    assert lock.release() is True
    assert lock.release() is False
    assert contender_nodes(zk, root + "/lock") == []
    with lock:
        assert lock.is_acquired
    assert not lock.is_acquired


def test_lock_excludes_other_clients(client_factory, root):
    path = root + "/lock"
    first, second = client_factory().Lock(path, "a"), client_factory().Lock(path, "b")
    assert first.acquire()
    assert second.acquire(blocking=False) is False
    with pytest.raises(ex.LockTimeout):
        second.acquire(timeout=0.3)
    got = threading.Event()
    t = run_thread(lambda: second.acquire() and got.set())
    # (the timed-out attempt's node is deleted in the background)
    wait_until(lambda: first.contenders() == ["a", "b"], message="b queued")
    assert not got.wait(0.3)
    first.release()
    assert got.wait(10)
    t.join(5)
    assert second.is_acquired
    second.release()


def test_lock_cancel(client_factory, root):
    path = root + "/lock"
    holder, waiter = client_factory().Lock(path), client_factory().Lock(path)
    holder.acquire()
    errors = Collector()

    def wait():
        try:
            waiter.acquire()
        except ex.CancelledError as e:
            errors(e)

    t = run_thread(wait)
    wait_until(lambda: len(holder.contenders()) == 2, message="waiter queued")
    waiter.cancel()
    errors.wait(1)
    t.join(5)
    # its node goes away in the background; the next acquire works
    wait_until(lambda: len(holder.contenders()) == 1, message="waiter's node deleted")
    holder.release()
    assert waiter.acquire(timeout=5)
    waiter.release()


def test_mutual_exclusion_under_contention(client_factory, root):
    path = root + "/lock"
    inside, overlaps, rounds = [0], [], 5
    guard = threading.Lock()

    def worker(client):
        lock = client.Lock(path, threading.current_thread().name)
        for _ in range(rounds):
            with lock:
                with guard:
                    inside[0] += 1
                    if inside[0] > 1:
                        overlaps.append(inside[0])
                time.sleep(0.005)
                with guard:
                    inside[0] -= 1

    threads = [run_thread(worker, client_factory()) for _ in range(4)]
    for t in threads:
        t.join(60)
    assert not overlaps


def test_lock_contends_with_kazoo(zk, kazoo, root):
    """corral's `_c_<uuid>-lock-<seq>` and kazoo's `<uuid>__lock__<seq>`
    nodes on one path: each side waits for the other."""
    path = root + "/shared"
    ours = zk.Lock(path, "corral")
    theirs = kazoo.Lock(path, "kazoo", extra_lock_patterns=["-lock-"])
    assert ours.acquire()
    assert theirs.acquire(blocking=False) is False
    assert theirs.contenders() == ["corral"]
    ours.release()
    assert theirs.acquire(timeout=5)
    assert ours.acquire(blocking=False) is False
    assert ours.contenders() == ["kazoo"]
    got = threading.Event()
    t = run_thread(lambda: ours.acquire() and got.set())
    wait_until(lambda: len(theirs.contenders()) == 2, message="corral queued")
    assert theirs.contenders() == ["kazoo", "corral"]
    assert not got.wait(0.3)
    theirs.release()
    assert got.wait(10)
    t.join(5)
    ours.release()

    # both hammering the lock: never inside together
    inside, overlaps = [0], []
    guard = threading.Lock()

    def worker(lock):
        for _ in range(10):
            with lock:
                with guard:
                    inside[0] += 1
                    if inside[0] > 1:
                        overlaps.append(1)
                time.sleep(0.002)
                with guard:
                    inside[0] -= 1

    threads = [run_thread(worker, zk.Lock(path)),
               run_thread(worker, kazoo.Lock(path, extra_lock_patterns=["-lock-"]))]
    for t in threads:
        t.join(60)
    assert not overlaps


def test_read_write_locks(client_factory, root):
    path = root + "/rw"
    a, b, c = client_factory(), client_factory(), client_factory()
    r1, r2, w = a.ReadLock(path, "r1"), b.ReadLock(path, "r2"), c.WriteLock(path, "w")
    assert r1.acquire() and r2.acquire(timeout=5)  # readers share
    assert w.acquire(blocking=False) is False
    names = a.get_children(path)
    assert sum("__READ__" in n for n in names) == 2
    r1.release()
    r2.release()
    assert w.acquire(timeout=5)
    assert r1.acquire(blocking=False) is False
    assert w.contenders() == ["w"]
    w.release()


def test_read_lock_waits_for_kazoo_writer(zk, kazoo, root):
    path = root + "/rw"
    writer = kazoo.WriteLock(path, "kw")
    assert writer.acquire()
    reader = zk.ReadLock(path, "cr")
    assert reader.acquire(blocking=False) is False
    writer.release()
    assert reader.acquire(timeout=5)
    reader.release()


def test_kazoo_read_lock_waits_for_corral_writer(zk, kazoo, root):
    path = root + "/rw"
    writer = zk.WriteLock(path, "cw")
    assert writer.acquire()
    reader = kazoo.ReadLock(path, "kr", extra_lock_patterns=["__WRIT__"])
    assert reader.acquire(blocking=False) is False
    writer.release()
    assert reader.acquire(timeout=5)
    assert writer.acquire(blocking=False) is False  # kazoo's __rlock__ blocks our writer
    reader.release()


def test_lock_lost_with_the_session_then_usable_again(server, client_factory, root):
    c = client_factory()
    states = Collector()
    c.add_listener(states)
    lock = c.Lock(root + "/lock", "me")
    assert lock.acquire()
    # another connection resumes the session and closes it: it expires for c
    thief = corral.Client(server.hosts, timeout=SESSION_TIMEOUT, client_id=c.client_id)
    thief.start()
    thief.stop()
    thief.close()
    states.wait_for("LOST", timeout=30)
    wait_until(lambda: lock.state == "LOST", message="lock lost")
    assert not lock.is_acquired
    wait_until(lambda: c.connected, timeout=30, message="a new session")
    assert contender_nodes(c, root + "/lock") == []
    assert lock.acquire(timeout=10)  # with the new session
    assert lock.state == "ACQUIRED"
    assert lock.release() is True


def test_semaphore(client_factory, root):
    path = root + "/sem"
    s1, s2, s3 = (client_factory().Semaphore(path, "s%d" % i, max_leases=2) for i in (1, 2, 3))
    assert s1.acquire() and s2.acquire(timeout=5)
    assert sorted(s1.lease_holders()) == ["s1", "s2"]
    assert s3.acquire(blocking=False) is False
    with pytest.raises(ex.LockTimeout):
        s3.acquire(timeout=0.3)
    assert s1.release() is True and s1.release() is False
    assert s3.acquire(timeout=5)
    assert sorted(s3.lease_holders()) == ["s2", "s3"]
    s2.release()
    s3.release()
    with s1:
        assert s1.is_acquired and s1.lease_holders() == ["s1"]
    assert s1.lease_holders() == []


def test_election(client_factory, root):
    path = root + "/election"
    e1 = client_factory().Election(path, "one")
    e2 = client_factory().Election(path, "two")
    leading, release = Collector(), threading.Event()

    def lead(name):
        leading(name)
        release.wait(10)

    t1 = run_thread(e1.run, lead, "one")
    assert leading.wait(1) == ["one"]
    t2 = run_thread(e2.run, lead, "two")
    wait_until(lambda: e1.contenders() == ["one", "two"], message="two queued")
    assert leading.settle(0.2) == ["one"]
    e2.cancel()  # leaves the queue: run() returns without leading
    t2.join(5)
    assert not t2.is_alive()
    release.set()
    t1.join(5)
    assert leading.items == ["one"]
    assert e1.contenders() == []
    with pytest.raises(ValueError):
        e1.run("not callable")


def test_barrier(zk, client_factory, root):
    barrier = zk.Barrier(root + "/barrier")
    assert barrier.wait(timeout=0.1) is True  # not set
    barrier.create()
    assert zk.exists(root + "/barrier")
    assert barrier.wait(timeout=0.2) is False
    other = client_factory().Barrier(root + "/barrier")
    passed = Collector()
    t = run_thread(lambda: passed(other.wait()))
    assert passed.settle(0.2) == []
    assert barrier.remove() is True
    assert passed.wait(1) == [True]
    t.join(5)
    assert barrier.remove() is False


def test_double_barrier(client_factory, root):
    path = root + "/double"
    n = 3
    barriers = [client_factory().DoubleBarrier(path, n, "p%d" % i) for i in range(n)]
    entered, left = Collector(), Collector()

    def participant(b):
        entered(b.enter(timeout=20))
        left(b.leave(timeout=20))

    threads = [run_thread(participant, b) for b in barriers[:-1]]
    assert entered.settle(0.3) == []  # waiting for the third
    threads.append(run_thread(participant, barriers[-1]))
    assert entered.wait(n) == [True] * n
    assert left.wait(n) == [True] * n
    for t in threads:
        t.join(5)
    assert barriers[0].participating is False
    lonely = client_factory().DoubleBarrier(path, 2)
    assert lonely.enter(timeout=0.3) is False


def test_counter(zk, kazoo, client_factory, root):
    counter = zk.Counter(root + "/count")
    assert counter.value == 0
    counter += 5
    assert (counter.pre_value, counter.post_value) == (0, 5)
    counter -= 2
    assert counter.value == 3
    assert zk.get(root + "/count")[0] == b"3"
    # kazoo's Counter reads and writes the same format
    theirs = kazoo.Counter(root + "/count")
    assert theirs.value == 3
    theirs += 4
    assert counter.value == 7

    curator = zk.Counter(root + "/curator", default=10, support_curator=True)
    curator += 1
    assert zk.get(root + "/curator")[0] == (11).to_bytes(4, "big")
    assert kazoo.Counter(root + "/curator", support_curator=True).value == 11
    with pytest.raises(TypeError):
        zk.Counter(root + "/f", default=1.5)
    with pytest.raises(TypeError):
        counter += 1.5

    # concurrent increments are never lost
    path = root + "/concurrent"

    def bump(client):
        c = client.Counter(path)
        for _ in range(20):
            c += 1

    threads = [run_thread(bump, client_factory()) for _ in range(3)]
    for t in threads:
        t.join(60)
    assert zk.Counter(path).value == 60


def test_party(zk, kazoo, client_factory, root):
    path = root + "/party"
    ours = zk.Party(path, "corral")
    assert len(ours) == 0
    ours.join()
    assert ours.participating and list(ours) == ["corral"]
    theirs = kazoo.Party(path, "kazoo")
    theirs.join()
    assert sorted(ours) == ["corral", "kazoo"]
    assert sorted(theirs) == ["corral", "kazoo"]
    c = client_factory()
    c.Party(path, "other").join()
    assert len(ours) == 3
    c.stop()  # an ephemeral member: gone with its session
    assert len(ours) == 2
    assert ours.leave() is True and ours.leave() is False
    assert list(theirs) == ["kazoo"]


def test_queue(zk, root):
    queue = zk.Queue(root + "/q")
    assert queue.get() is None and len(queue) == 0
    queue.put(b"one")
    queue.put(b"two")
    queue.put(b"urgent", priority=1)
    assert len(queue) == 3
    assert [queue.get(), queue.get(), queue.get(), queue.get()] == [b"urgent", b"one", b"two", None]
    with pytest.raises(TypeError):
        queue.put("text")
    with pytest.raises(ValueError):
        queue.put(b"x", priority=1000)


def test_locking_queue(zk, kazoo, client_factory, root):
    path = root + "/lq"
    queue = zk.LockingQueue(path)
    queue.put_all([b"a", b"b"])
    kazoo.LockingQueue(path).put(b"c")
    assert len(queue) == 3
    assert queue.get(timeout=5) == b"a"
    assert queue.get(timeout=5) == b"a"  # the item held, until consumed
    assert queue.holds_lock() is True
    other = client_factory().LockingQueue(path)
    assert other.get(timeout=5) == b"b"  # "a" is locked by us
    assert queue.consume() is True and queue.consume() is False
    assert other.release() is True
    assert queue.get(timeout=5) == b"b"
    queue.consume()
    theirs = kazoo.LockingQueue(path)
    assert theirs.get(timeout=5) == b"c"  # kazoo takes what is left
    assert queue.get(timeout=0.3) is None  # "c" is locked by kazoo
    theirs.consume()
    assert len(queue) == 0
    # an item whose consumer's session ends goes back
    queue.put(b"d")
    dying = client_factory()
    assert dying.LockingQueue(path).get(timeout=5) == b"d"
    dying.stop()
    assert queue.get(timeout=10) == b"d"
    queue.consume()


def test_tree_cache(zk, root):
    zk.create(root + "/tree/a", b"1", makepath=True)
    cache = zk.TreeCache(root + "/tree")
    events = Collector()
    cache.listen(events)
    cache.start()
    initial = events.wait(3)  # tree, a, INITIALIZED
    assert initial[-1].event_type == TreeEvent.INITIALIZED
    assert {e.event_data.path for e in initial[:-1]} == {root + "/tree", root + "/tree/a"}
    assert cache.get_data(root + "/tree/a").data == b"1"
    assert cache.get_children(root + "/tree") == frozenset(["a"])
    assert cache.get_data(root + "/tree/none") is None
    with pytest.raises(ValueError):
        cache.get_data("/elsewhere")

    zk.create(root + "/tree/b", b"2")
    zk.set(root + "/tree/a", b"1b")
    zk.delete(root + "/tree/b")
    kinds = [(e.event_type, e.event_data.path) for e in events.wait(6)[3:]]
    assert kinds == [(TreeEvent.NODE_ADDED, root + "/tree/b"),
                     (TreeEvent.NODE_UPDATED, root + "/tree/a"),
                     (TreeEvent.NODE_REMOVED, root + "/tree/b")]
    wait_until(lambda: cache.get_data(root + "/tree/a").data == b"1b")
    assert cache.get_data(root + "/tree/a").stat.version == 1
    cache.close()
    with pytest.raises(ex.KazooException):
        cache.start()
