"""Watches (data, exists, children), session events, DataWatch and
ChildrenWatch, and callbacks that call the client, against both servers."""

import sys
import threading
import time

from conftest import Collector, wait_until

from corral.states import EventType, KeeperState, WatchedEvent


def test_data_watch_changed_and_deleted(zk, root):
    path = zk.create(root + "/n", b"1")
    events = Collector()
    zk.get(path, watch=events)
    zk.set(path, b"2")
    ev = events.wait(1)[0]
    assert isinstance(ev, WatchedEvent)
    assert ev == WatchedEvent(EventType.CHANGED, KeeperState.CONNECTED, path)
    zk.get(path, watch=events)
    zk.delete(path)
    assert events.wait(2)[1] == WatchedEvent("DELETED", "CONNECTED", path)
    assert len(events.settle()) == 2  # one-shot


def test_exists_watch_created(zk, root):
    path = root + "/later"
    events = Collector()
    assert zk.exists(path, watch=events) is None
    zk.create(path)
    assert events.wait(1) == [WatchedEvent("CREATED", "CONNECTED", path)]
    zk.exists(path, watch=events)
    zk.set(path, b"x")
    assert events.wait(2)[1].type == "CHANGED"


def test_children_watch(zk, root):
    events = Collector()
    assert zk.get_children(root, watch=events) == []
    zk.create(root + "/c1")
    assert events.wait(1) == [WatchedEvent("CHILD", "CONNECTED", root)]
    children, stat = zk.get_children(root, watch=events, include_data=True)
    assert children == ["c1"] and stat.numChildren == 1
    zk.delete(root, recursive=True)
    evs = events.wait(2)
    assert evs[1].type in ("CHILD", "DELETED")


def test_watch_fired_by_other_client(zk, root, client_factory):
    other = client_factory()
    path = zk.create(root + "/n")
    events = Collector()
    zk.get(path, watch=events)
    other.set(path, b"from other")
    assert events.wait(1)[0].type == "CHANGED"


def test_session_event_on_stop(client_factory, root):
    c = client_factory()
    events = Collector()
    c.exists(root + "/never", watch=events)
    c.stop()
    ev = events.wait(1)[0]
    assert ev.type == EventType.NONE
    assert ev.state == KeeperState.CLOSED
    assert ev.path is None


def test_callback_may_call_client(zk, root):
    """A watch callback doing blocking calls on the same client (it runs on
    the callback thread, holding no client lock): no deadlock."""
    path = zk.create(root + "/n", b"0")
    seen = Collector()

    def watcher(event):
        if event.type != "CHANGED":
            return
        data, _ = zk.get(event.path, watch=watcher)  # re-arm, as kazoo code does
        zk.create(root + "/log-", data, sequence=True)
        seen(data)

    zk.get(path, watch=watcher)
    for i in range(1, 4):
        zk.set(path, str(i).encode())
        wait_until(lambda: len(seen.items) >= i, message="callback %d" % i)
    assert len(zk.get_children(root)) == 1 + len(seen.items)


def test_listener_may_call_client(client_factory, root):
    c = client_factory(start=False)
    got = Collector()

    def listener(state):
        if state == "CONNECTED":
            got(c.exists(root) is not None)

    c.add_listener(listener)
    c.start()
    assert got.wait(1) == [True]


def test_callbacks_run_on_one_thread(zk, root):
    threads = set()
    done = Collector()

    def watcher(event):
        threads.add(threading.current_thread().name)
        done(event)

    for i in range(5):
        p = zk.create(root + "/n%d" % i)
        zk.get(p, watch=watcher)
    for i in range(5):
        zk.set(root + "/n%d" % i, b"x")
    done.wait(5)
    assert len(threads) == 1
    assert threads.pop() != threading.current_thread().name


def test_callback_exception_does_not_break_dispatch(zk, root, monkeypatch):
    """An exception in a callback goes to sys.unraisablehook (there is no
    caller to raise it to); later callbacks still run."""
    reported = Collector()
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported(u.exc_value))
    path = zk.create(root + "/n")
    events = Collector()

    def bad(event):
        raise RuntimeError("boom in callback")

    zk.get(path, watch=bad)
    zk.exists(path, watch=events)
    zk.set(path, b"x")
    assert events.wait(1)[0].type == "CHANGED"
    exc = reported.wait(1)[0]
    assert isinstance(exc, RuntimeError) and str(exc) == "boom in callback"


def test_datawatch(zk, root):
    path = root + "/dw"
    calls = Collector()

    @zk.DataWatch(path)
    def watcher(data, stat):
        calls((data, stat.version if stat else None))

    assert calls.wait(1) == [(None, None)]  # does not exist yet
    zk.create(path, b"a")
    calls.wait_for((b"a", 0))
    zk.set(path, b"b")
    calls.wait_for((b"b", 1))
    zk.delete(path)
    assert calls.wait(4)[3] == (None, None)


def test_datawatch_with_event_and_stop(zk, root):
    path = zk.create(root + "/dw", b"0")
    calls = Collector()

    def watcher(data, stat, event):
        calls((data, event.type if event else None))
        return data != b"stop"

    zk.DataWatch(path, watcher)
    assert calls.wait(1) == [(b"0", None)]
    zk.set(path, b"stop")
    calls.wait_for((b"stop", "CHANGED"))
    zk.set(path, b"after")
    assert (b"after", "CHANGED") not in calls.settle(0.5)


def test_childrenwatch(zk, root):
    calls = Collector()

    @zk.ChildrenWatch(root)
    def watcher(children):
        calls(sorted(children))

    assert calls.wait(1) == [[]]
    zk.create(root + "/a")
    calls.wait_for(["a"])
    zk.create(root + "/b")
    calls.wait_for(["a", "b"])
    zk.delete(root + "/a")
    calls.wait_for(["b"])


def test_childrenwatch_send_event_and_stop(zk, root):
    calls = Collector()

    def watcher(children, event):
        calls((sorted(children), event.type if event else None))
        return len(children) < 1

    zk.ChildrenWatch(root, watcher, send_event=True)
    assert calls.wait(1) == [([], None)]
    zk.create(root + "/a")
    calls.wait_for((["a"], "CHILD"))
    zk.create(root + "/b")
    time.sleep(0.3)
    assert len(calls.items) == 2
