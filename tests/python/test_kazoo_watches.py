"""Watches: one-shot data/exists/child watches through kazoo, DataWatch and
ChildrenWatch, persistent and persistent-recursive watches (addWatch, raw),
removeWatches/checkWatches, and SetWatches re-registration after reconnect."""

import time

import pytest
from kazoo.protocol.states import EventType, KazooState

import servers as S
from conftest import Collector, wait_until


def ev(event):
    return (event.type, event.path)


# ---------------------------------------------------------------------------
# one-shot watches
# ---------------------------------------------------------------------------

def test_data_watch_fires_once_on_change(zk, zk_factory, root):
    path = zk.create(root + "/d", b"0")
    got = Collector()
    zk.get(path, watch=got)
    writer = zk_factory()
    writer.set(path, b"1")
    writer.set(path, b"2")
    events = got.wait(1)
    assert [ev(e) for e in got.settle()] == [(EventType.CHANGED, path)]
    assert events[0].state == KazooState.CONNECTED


def test_data_watch_fires_on_delete(zk, root):
    path = zk.create(root + "/d", b"0")
    got = Collector()
    zk.get(path, watch=got)
    zk.delete(path)
    got.wait(1)
    assert [ev(e) for e in got.settle()] == [(EventType.DELETED, path)]


def test_exists_watch_on_missing_node_fires_created(zk, zk_factory, root):
    path = root + "/later"
    got = Collector()
    assert zk.exists(path, watch=got) is None
    zk_factory().create(path, b"x")
    got.wait(1)
    zk.set(path, b"y")
    assert [ev(e) for e in got.settle()] == [(EventType.CREATED, path)]


def test_exists_watch_on_existing_node(zk, root):
    path = zk.create(root + "/e")
    got = Collector()
    zk.exists(path, watch=got)
    zk.set(path, b"changed")
    got.wait(1)
    got2 = Collector()
    zk.exists(path, watch=got2)
    zk.delete(path)
    got2.wait(1)
    assert [ev(e) for e in got.settle()] == [(EventType.CHANGED, path)]
    assert [ev(e) for e in got2.items] == [(EventType.DELETED, path)]


def test_child_watch(zk, zk_factory, root):
    parent = zk.create(root + "/p")
    zk.create(parent + "/existing")
    got = Collector()
    assert zk.get_children(parent, watch=got) == ["existing"]
    other = zk_factory()
    # a child's data change is not a child event
    other.set(parent + "/existing", b"data")
    # nor is the parent's own data change
    other.set(parent, b"parent data")
    time.sleep(0.2)
    assert len(got) == 0
    other.create(parent + "/new")
    other.create(parent + "/new2")
    got.wait(1)
    assert [ev(e) for e in got.settle()] == [(EventType.CHILD, parent)]


def test_child_watch_fires_on_child_delete_and_parent_delete(zk, root):
    parent = zk.create(root + "/p")
    zk.create(parent + "/c")
    got = Collector()
    zk.get_children(parent, watch=got)
    zk.delete(parent + "/c")
    got.wait(1)
    got2 = Collector()
    zk.get_children(parent, watch=got2)
    zk.delete(parent)
    got2.wait(1)
    assert [ev(e) for e in got.settle()] == [(EventType.CHILD, parent)]
    assert [ev(e) for e in got2.items] == [(EventType.DELETED, parent)]


def test_child_watch_not_fired_by_grandchild(zk, root):
    parent = zk.create(root + "/p")
    zk.create(parent + "/c")
    got = Collector()
    zk.get_children(parent, watch=got)
    zk.create(parent + "/c/grandchild")
    zk.set(parent + "/c", b"x")
    assert got.settle(0.4) == []


def test_watch_on_create_of_child_fires_parent_and_node(zk, zk_factory, root):
    """One create fires the node's exists watch and the parent's child
    watch; every registered watcher of another client sees its event."""
    parent = zk.create(root + "/p")
    node = parent + "/n"
    a, b = Collector(), Collector()
    zk.exists(node, watch=a)
    zk.get_children(parent, watch=b)
    other = zk_factory()
    c = Collector()
    other.exists(node, watch=c)
    zk.create(node)
    a.wait(1), b.wait(1), c.wait(1)
    assert [ev(e) for e in a.settle()] == [(EventType.CREATED, node)]
    assert [ev(e) for e in b.items] == [(EventType.CHILD, parent)]
    assert [ev(e) for e in c.items] == [(EventType.CREATED, node)]


def test_transaction_fires_watches(zk, zk_factory, root):
    zk.create(root + "/t", b"0")
    got_data, got_child = Collector(), Collector()
    zk.get(root + "/t", watch=got_data)
    zk.get_children(root + "/t", watch=got_child)
    tx = zk_factory().transaction()
    tx.set_data(root + "/t", b"1")
    tx.create(root + "/t/kid")
    tx.commit()
    got_data.wait(1), got_child.wait(1)
    assert [ev(e) for e in got_data.settle()] == [(EventType.CHANGED, root + "/t")]
    assert [ev(e) for e in got_child.items] == [(EventType.CHILD, root + "/t")]


def test_failed_transaction_fires_nothing(zk, root):
    zk.create(root + "/t", b"0")
    got = Collector()
    zk.get(root + "/t", watch=got)
    zk.get_children(root + "/t", watch=got)
    tx = zk.transaction()
    tx.create(root + "/t/kid")
    tx.set_data(root + "/t", b"1", version=42)
    tx.commit()
    assert got.settle(0.4) == []


def test_same_watcher_registered_twice_fires_once(zk, root):
    path = zk.create(root + "/w")
    got = Collector()
    zk.get(path, watch=got)
    zk.exists(path, watch=got)
    zk.set(path, b"x")
    got.wait(1)
    assert len(got.settle()) == 1


def test_events_are_ordered(zk, zk_factory, root):
    """Watch events reach a client in zxid order, before the results of
    later reads."""
    paths = [zk.create(root + "/o%d" % i) for i in range(5)]
    got = Collector()
    for p in paths:
        zk.get(p, watch=got)
    writer = zk_factory()
    for p in reversed(paths):
        writer.set(p, b"x")
    got.wait(5)
    assert [e.path for e in got.items] == list(reversed(paths))


# ---------------------------------------------------------------------------
# kazoo recipes for watches
# ---------------------------------------------------------------------------

def test_data_watch_recipe(zk, zk_factory, root):
    path = root + "/dw"
    seen = Collector()

    @zk.DataWatch(path)
    def watcher(data, stat, event=None):
        seen((data, stat.version if stat else None, event.type if event else None))

    seen.wait(1)
    other = zk_factory()
    other.create(path, b"a")
    seen.wait(2)
    other.set(path, b"b")
    seen.wait(3)
    other.delete(path)
    seen.wait(4)
    assert seen.settle() == [
        (None, None, None),
        (b"a", 0, EventType.CREATED),
        (b"b", 1, EventType.CHANGED),
        (None, None, EventType.DELETED),
    ]


def test_children_watch_recipe(zk, zk_factory, root):
    parent = zk.create(root + "/cw")
    seen = Collector()

    @zk.ChildrenWatch(parent)
    def watcher(children):
        seen(sorted(children))

    seen.wait(1)
    other = zk_factory()
    other.create(parent + "/a")
    seen.wait(2)
    other.create(parent + "/b")
    seen.wait(3)
    other.delete(parent + "/a")
    seen.wait(4)
    assert seen.settle() == [[], ["a"], ["a", "b"], ["b"]]


# ---------------------------------------------------------------------------
# persistent watches (addWatch, opcode 106) -- raw, kazoo 2.10 lacks them
# ---------------------------------------------------------------------------

def test_persistent_watch(raw, raw_factory, root):
    node = root + "/pw"
    watcher = raw
    assert watcher.add_watch(node, S.ADD_WATCH_PERSISTENT) == 0
    w = raw_factory()
    assert w.create(node, b"0")[0] == 0
    w.set(node, b"1")
    w.set(node, b"2")
    w.create(node + "/kid")
    w.create(node + "/kid/grandkid")      # not reported: not a child of node
    w.set(node + "/kid", b"x")           # not reported: child's data
    w.delete(node + "/kid/grandkid")
    w.delete(node + "/kid")
    w.delete(node)
    w.create(node)
    events = watcher.wait_events(7)
    C = S.STATE_SYNC_CONNECTED
    assert events == [
        (S.EV_CREATED, C, node),
        (S.EV_CHANGED, C, node),
        (S.EV_CHANGED, C, node),
        (S.EV_CHILD, C, node),
        (S.EV_CHILD, C, node),
        (S.EV_DELETED, C, node),
        (S.EV_CREATED, C, node),
    ]
    assert watcher.poll_events(0.3) == events


def test_persistent_recursive_watch(raw, raw_factory, root):
    base = root + "/rw"
    assert raw.add_watch(base, S.ADD_WATCH_PERSISTENT_RECURSIVE) == 0
    w = raw_factory()
    w.create(base)
    w.create(base + "/a")
    w.create(base + "/a/b", b"0")
    w.set(base + "/a/b", b"1")
    w.create(root + "/rwx")               # a sibling sharing the prefix: not reported
    w.delete(base + "/a/b")
    w.set(base, b"top")
    events = raw.wait_events(6)
    C = S.STATE_SYNC_CONNECTED
    # no NodeChildrenChanged for recursive watches
    assert events == [
        (S.EV_CREATED, C, base),
        (S.EV_CREATED, C, base + "/a"),
        (S.EV_CREATED, C, base + "/a/b"),
        (S.EV_CHANGED, C, base + "/a/b"),
        (S.EV_DELETED, C, base + "/a/b"),
        (S.EV_CHANGED, C, base),
    ]
    assert raw.poll_events(0.3) == events


def test_add_watch_on_missing_and_root_paths(raw, raw_factory, root):
    assert raw.add_watch(root + "/not/there", S.ADD_WATCH_PERSISTENT) == 0
    assert raw.add_watch(root + "/not/there", S.ADD_WATCH_PERSISTENT_RECURSIVE) == 0
    raw_factory().create(root + "/not")
    raw_factory().create(root + "/not/there")
    events = raw.wait_events(1)
    assert events[0] == (S.EV_CREATED, S.STATE_SYNC_CONNECTED, root + "/not/there")


# ---------------------------------------------------------------------------
# removeWatches (18) / checkWatches (17)
# ---------------------------------------------------------------------------

def test_remove_data_watch(raw, raw_factory, root):
    node = root + "/rm"
    raw.create(node)
    raw.get(node, watch=True)
    assert raw.check_watches(node, S.WATCHER_DATA) == 0
    assert raw.remove_watches(node, S.WATCHER_DATA) == 0
    assert raw.check_watches(node, S.WATCHER_DATA) == S.ZNOWATCHER
    assert raw.remove_watches(node, S.WATCHER_DATA) == S.ZNOWATCHER
    raw_factory().set(node, b"x")
    # the server sends no event for a removed watch (the Java client makes
    # DataWatchRemoved events locally)
    assert raw.poll_events(0.4) == []


def test_remove_child_watch_keeps_data_watch(raw, raw_factory, root):
    node = root + "/rm2"
    raw.create(node)
    raw.get(node, watch=True)
    raw.children(node, watch=True)
    assert raw.check_watches(node, S.WATCHER_ANY) == 0
    assert raw.check_watches(node, S.WATCHER_CHILDREN) == 0
    assert raw.remove_watches(node, S.WATCHER_CHILDREN) == 0
    assert raw.check_watches(node, S.WATCHER_CHILDREN) == S.ZNOWATCHER
    assert raw.check_watches(node, S.WATCHER_DATA) == 0
    w = raw_factory()
    w.create(node + "/kid")
    w.set(node, b"x")
    assert raw.wait_events(1) == [(S.EV_CHANGED, S.STATE_SYNC_CONNECTED, node)]
    assert raw.poll_events(0.3) == [(S.EV_CHANGED, S.STATE_SYNC_CONNECTED, node)]


def test_remove_any_watch(raw, raw_factory, root):
    node = root + "/rm3"
    raw.create(node)
    raw.exists(node, watch=True)
    raw.children(node, watch=True)
    assert raw.remove_watches(node, S.WATCHER_ANY) == 0
    assert raw.check_watches(node, S.WATCHER_ANY) == S.ZNOWATCHER
    raw_factory().delete(node)
    assert raw.poll_events(0.4) == []


def test_remove_watches_without_watch(raw, root):
    assert raw.remove_watches(root, S.WATCHER_ANY) == S.ZNOWATCHER
    assert raw.remove_watches(root + "/missing", S.WATCHER_DATA) == S.ZNOWATCHER
    assert raw.check_watches(root, S.WATCHER_DATA) == S.ZNOWATCHER


def test_remove_persistent_watch(raw, raw_factory, root):
    node = root + "/rmp"
    raw.create(node)
    assert raw.add_watch(node, S.ADD_WATCH_PERSISTENT) == 0
    assert raw.check_watches(node, S.WATCHER_ANY) == 0
    assert raw.remove_watches(node, S.WATCHER_ANY) == 0
    assert raw.remove_watches(node, S.WATCHER_ANY) == S.ZNOWATCHER
    w = raw_factory()
    w.set(node, b"x")
    w.create(node + "/kid")
    assert raw.poll_events(0.4) == []


def test_remove_persistent_watch_by_type(raw, root):
    """A persistent watch counts as a data and as a child watch: removing
    one type leaves the other (ZooKeeper 3.8)."""
    node = root + "/rmt"
    raw.create(node)
    raw.add_watch(node, S.ADD_WATCH_PERSISTENT)
    assert raw.remove_watches(node, S.WATCHER_DATA) == 0
    assert raw.remove_watches(node, S.WATCHER_CHILDREN) == 0
    assert raw.remove_watches(node, S.WATCHER_ANY) == S.ZNOWATCHER


def test_remove_persistent_recursive_watch(raw, raw_factory, root):
    base = raw.create(root + "/rmr")[1]
    raw.add_watch(base, S.ADD_WATCH_PERSISTENT_RECURSIVE)
    assert raw.remove_watches(base, S.WATCHER_ANY) == 0
    raw_factory().create(base + "/kid")
    assert raw.poll_events(0.4) == []


# ---------------------------------------------------------------------------
# SetWatches after reconnect (raw)
# ---------------------------------------------------------------------------

def _set_watches(client, rel_zxid, data=(), exist=(), child=()):
    body = (S.enc_long(rel_zxid) + S.enc_strings(list(data))
            + S.enc_strings(list(exist)) + S.enc_strings(list(child)))
    client._send_frame(S.enc_int(-8) + S.enc_int(S.OP_SET_WATCHES) + body)
    return client._wait_reply(-8)


def _set_watches2(client, rel_zxid, data=(), exist=(), child=(), persistent=(), recursive=()):
    body = (S.enc_long(rel_zxid) + S.enc_strings(list(data))
            + S.enc_strings(list(exist)) + S.enc_strings(list(child))
            + S.enc_strings(list(persistent)) + S.enc_strings(list(recursive)))
    client._send_frame(S.enc_int(-8) + S.enc_int(S.OP_SET_WATCHES2) + body)
    return client._wait_reply(-8)


def test_set_watches_delivers_missed_events(raw_factory, root):
    w = raw_factory()
    w.create(root + "/changed", b"0")
    w.create(root + "/deleted")
    w.create(root + "/parent")
    w.create(root + "/same")
    watcher = raw_factory()
    watcher.sync("/")
    rel = watcher.last_zxid
    sid, pw = watcher.session_id, watcher.passwd
    watcher.abort()
    # changes while the watcher is away
    w.set(root + "/changed", b"1")
    w.delete(root + "/deleted")
    w.create(root + "/created")
    w.create(root + "/parent/kid")
    back = raw_factory(session_id=sid, passwd=pw, last_zxid=rel)
    assert back.session_id == sid
    rep = _set_watches(
        back, rel,
        data=[root + "/changed", root + "/deleted", root + "/same"],
        exist=[root + "/created", root + "/never"],
        child=[root + "/parent"])
    assert rep.err == 0
    events = back.wait_events(4)
    C = S.STATE_SYNC_CONNECTED
    assert sorted(events) == sorted([
        (S.EV_CHANGED, C, root + "/changed"),
        (S.EV_DELETED, C, root + "/deleted"),
        (S.EV_CREATED, C, root + "/created"),
        (S.EV_CHILD, C, root + "/parent"),
    ])
    # the unchanged ones are re-armed
    w.set(root + "/same", b"x")
    w.create(root + "/never")
    events = back.wait_events(6)
    assert sorted(events[4:]) == sorted([
        (S.EV_CHANGED, C, root + "/same"),
        (S.EV_CREATED, C, root + "/never"),
    ])


def test_set_watches2_persistent(raw_factory, root):
    w = raw_factory()
    w.create(root + "/p")
    watcher = raw_factory()
    watcher.sync("/")
    rel = watcher.last_zxid
    rep = _set_watches2(watcher, rel, persistent=[root + "/p"], recursive=[root + "/r"])
    assert rep.err == 0
    w.set(root + "/p", b"1")
    w.set(root + "/p", b"2")
    w.create(root + "/r")
    w.create(root + "/r/x")
    events = watcher.wait_events(4)
    C = S.STATE_SYNC_CONNECTED
    assert events == [
        (S.EV_CHANGED, C, root + "/p"),
        (S.EV_CHANGED, C, root + "/p"),
        (S.EV_CREATED, C, root + "/r"),
        (S.EV_CREATED, C, root + "/r/x"),
    ]


def test_kazoo_data_watch_survives_connection_loss(zk, zk_factory, root):
    """kazoo (2.10) drops its one-shot watchers on connection loss and
    tells them with a NONE event; the DataWatch recipe re-reads after the
    reconnect and sees what changed meanwhile. The session is kept."""
    path = zk.create(root + "/k", b"0")
    plain = Collector()
    zk.get(path, watch=plain)
    seen = Collector()

    @zk.DataWatch(path)
    def watcher(data, stat, event=None):
        seen(data)

    seen.wait(1)
    states = Collector()
    zk.add_listener(states)
    sid = zk.client_id[0]
    # cut the TCP connection under kazoo's feet
    zk._connection._socket.shutdown(2)
    wait_until(lambda: KazooState.SUSPENDED in states.items, 10, message="SUSPENDED")
    zk_factory().set(path, b"1")
    wait_until(lambda: b"1" in seen.items, 15, message="DataWatch saw the change")
    wait_until(lambda: zk.connected, 10, message="reconnected")
    assert zk.client_id[0] == sid
    assert states.items[-1] == KazooState.CONNECTED
    assert [e.type for e in plain.items] == [EventType.NONE]


# ---------------------------------------------------------------------------
# watches are per session
# ---------------------------------------------------------------------------

def test_watches_of_closed_session_are_dropped(raw_factory, root, server):
    a = raw_factory()
    a.create(root + "/x")
    a.get(root + "/x", watch=True)
    a.children(root, watch=True)
    a.close()
    b = raw_factory()
    b.set(root + "/x", b"1")
    b.create(root + "/y")
    # nothing left watching those paths, on any server
    for srv in server.all_servers():
        wchp = srv.four_letter("wchp")
        assert root + "/x" not in wchp
