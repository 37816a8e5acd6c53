"""Sessions: handshake shapes, negotiated timeouts, ephemerals on close and
expiry, forced and real expiry, reattaching with id + password, bad
passwords, server restarts."""

import time

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import EventType, KazooState

import servers as S
from conftest import Collector, kazoo_client, wait_until


# ---------------------------------------------------------------------------
# handshake
# ---------------------------------------------------------------------------

def test_connect_response_shape(raw):
    resp = raw.connect_response
    assert resp["protocol_version"] == 0
    assert resp["session_id"] != 0
    assert len(resp["passwd"]) == 16
    assert resp["read_only"] is False
    # int proto + int timeout + long session + buffer(16) + bool
    assert resp["length"] == 37


def test_old_client_connect_request_gets_old_response(raw_factory):
    """A 44-byte ConnectRequest (no readOnly flag) gets a 36-byte answer."""
    c = raw_factory(read_only=None)
    assert c.connect_response["length"] == 36
    assert c.exists("/")[0] == 0


@pytest.mark.parametrize("asked,expected", [
    (100000, 4000), (4000, 4000), (1500, 1500), (400, 400), (10, 400), (-5, 400),
])
def test_negotiated_timeout_is_clamped(raw_factory, asked, expected):
    # tickTime=200: minSessionTimeout=400, maxSessionTimeout=4000
    assert raw_factory(timeout_ms=asked).negotiated_timeout == expected


def test_kazoo_client_id(zk):
    sid, passwd = zk.client_id
    assert sid != 0
    assert len(passwd) == 16
    assert zk._session_timeout == 4000


def test_session_ids_are_unique(raw_factory):
    ids = {raw_factory().session_id for _ in range(20)}
    assert len(ids) == 20


def test_ping(raw):
    raw.ping()
    raw.ping()
    assert raw.exists("/")[0] == 0


def test_future_last_zxid_is_refused(server):
    """A client that has seen a zxid the server has not is refused (the
    server closes the connection instead of answering)."""
    with pytest.raises((ConnectionError, OSError, S.RawError)):
        S.RawClient.to(server, last_zxid=1 << 40)


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------

def test_close_session_removes_ephemerals_and_fires_watches(zk, zk_factory, root):
    owner = zk_factory()
    e1 = owner.create(root + "/e1", ephemeral=True)
    e2 = owner.create(root + "/e2-", ephemeral=True, sequence=True)
    zk.sync(root)  # another session's writes, maybe through another server
    got, kids = Collector(), Collector()
    zk.exists(e1, watch=got)
    zk.get(e2, watch=got)
    zk.get_children(root, watch=kids)
    owner.stop()
    got.wait(2)
    kids.wait(1)
    assert sorted((e.type, e.path) for e in got.settle()) == sorted(
        [(EventType.DELETED, e1), (EventType.DELETED, e2)])
    assert [(e.type, e.path) for e in kids.items] == [(EventType.CHILD, root)]
    assert zk.get_children(root) == []


def test_closed_session_cannot_be_resumed(raw_factory):
    a = raw_factory()
    sid, pw = a.session_id, a.passwd
    rep = a.request(S.OP_CLOSE)
    assert rep.err == 0
    with pytest.raises((ConnectionError, OSError)):
        a.exists("/")
    a.abort()
    with pytest.raises(S.RawError):
        raw_factory(session_id=sid, passwd=pw)


# ---------------------------------------------------------------------------
# expiry
# ---------------------------------------------------------------------------

def test_forced_expiry_via_second_client(zk, zk_factory, root):
    """The kazoo-test way to expire a session: another client attaches to it
    with the same id + password and closes it."""
    victim = zk_factory()
    states = Collector()
    victim.add_listener(states)
    old_sid = victim.client_id[0]
    eph = victim.create(root + "/victim", ephemeral=True)
    got = Collector()
    zk.sync(root)  # another session's write
    assert zk.exists(eph, watch=got) is not None

    killer = zk_factory(client_id=victim.client_id)
    assert killer.client_id[0] == old_sid
    killer.stop()

    got.wait(1)
    assert [(e.type, e.path) for e in got.items] == [(EventType.DELETED, eph)]
    assert zk.exists(eph) is None
    wait_until(lambda: KazooState.LOST in states.items, 15, message="LOST")
    # kazoo then starts a brand-new session by itself
    wait_until(lambda: victim.connected, 15, message="new session")
    assert victim.client_id[0] != old_sid
    assert victim.exists(eph) is None


def test_session_times_out_without_heartbeats(zk, raw_factory, root):
    owner = raw_factory(timeout_ms=1000)
    assert owner.negotiated_timeout == 1000
    eph = root + "/timed"
    assert owner.create(eph, flags=S.EPHEMERAL)[0] == 0
    sid, pw = owner.session_id, owner.passwd
    zk.sync(root)  # another session's write
    got = Collector()
    zk.exists(eph, watch=got)
    t0 = time.time()
    owner.abort()            # TCP gone, session not closed
    # the session outlives its connection until the timeout
    assert zk.exists(eph).ephemeralOwner == sid
    got.wait(1, timeout=15)
    elapsed = time.time() - t0
    assert [(e.type, e.path) for e in got.items] == [(EventType.DELETED, eph)]
    assert 0.5 < elapsed < 10, elapsed
    with pytest.raises(S.RawError):
        raw_factory(session_id=sid, passwd=pw)


def test_heartbeats_keep_short_session_alive(zk_factory, root):
    c = zk_factory(timeout=1.5)
    assert c._session_timeout == 1500
    states = Collector()
    c.add_listener(states)
    sid = c.client_id[0]
    eph = c.create(root + "/alive", ephemeral=True)
    time.sleep(3.5)
    assert c.client_id[0] == sid
    assert c.exists(eph).ephemeralOwner == sid
    assert states.items == []


def test_real_expiry_of_a_frozen_kazoo_client(zk_factory, root, server):
    """A kazoo client whose traffic is black-holed (through a proxy) loses
    its session to the server's timeout: the ephemeral goes, a watcher sees
    NodeDeleted, and once traffic flows again the client's listener sees
    SUSPENDED then LOST, and kazoo starts a new session."""
    proxy = S.Proxy.to(server)
    try:
        c = zk_factory(hosts=proxy.hosts, timeout=0.8)
        states = Collector()
        c.add_listener(states)
        eph = c.create(root + "/gone", ephemeral=True)
        old_sid = c.client_id[0]
        watcher = zk_factory()
        got = Collector()
        watcher.exists(eph, watch=got)
        proxy.pause()
        got.wait(1, timeout=15)
        assert [(e.type, e.path) for e in got.items] == [(EventType.DELETED, eph)]
        assert watcher.exists(eph) is None
        proxy.resume()
        wait_until(lambda: KazooState.LOST in states.items, 15, message="LOST")
        assert states.items[0] == KazooState.SUSPENDED
        wait_until(lambda: c.connected, 15, message="new session")
        assert c.client_id[0] != old_sid
    finally:
        proxy.close()


def test_short_partition_keeps_session(zk_factory, root, server):
    """Traffic black-holed for less than the session timeout: SUSPENDED,
    then CONNECTED again with the same session and the ephemeral intact."""
    proxy = S.Proxy.to(server)
    try:
        c = zk_factory(hosts=proxy.hosts, timeout=4.0)
        states = Collector()
        c.add_listener(states)
        sid = c.client_id[0]
        eph = c.create(root + "/stays", ephemeral=True)
        proxy.pause()
        wait_until(lambda: KazooState.SUSPENDED in states.items, 10, message="SUSPENDED")
        proxy.resume()
        wait_until(lambda: KazooState.CONNECTED in states.items, 10, message="CONNECTED")
        assert c.client_id[0] == sid
        assert zk_factory().exists(eph).ephemeralOwner == sid
        assert KazooState.LOST not in states.items
    finally:
        proxy.close()


# ---------------------------------------------------------------------------
# reattach
# ---------------------------------------------------------------------------

def test_reattach_with_session_id_and_password(zk_factory, raw_factory, root):
    a = raw_factory()
    eph = root + "/mine"
    a.create(eph, b"a", flags=S.EPHEMERAL)
    sid, pw = a.session_id, a.passwd
    a.abort()
    b = zk_factory(client_id=(sid, pw))
    assert b.client_id[0] == sid
    assert b.exists(eph).ephemeralOwner == sid
    assert b.get(eph)[0] == b"a"
    b.stop()
    c = zk_factory()
    wait_until(lambda: c.exists(eph) is None, 10, message="ephemeral gone")


def test_reattach_moves_session_off_old_connection(raw_factory, root):
    a = raw_factory()
    a.create(root + "/m", flags=S.EPHEMERAL)
    b = raw_factory(session_id=a.session_id, passwd=a.passwd)
    assert b.session_id == a.session_id
    # the old connection is closed by the server (on an ensemble, by the
    # old server once it has applied the move)
    with pytest.raises((ConnectionError, OSError)):
        deadline = time.time() + 5
        while time.time() < deadline:
            a.exists("/")
            time.sleep(0.02)
    a.abort()
    assert b.exists(root + "/m")[1]["ephemeralOwner"] == b.session_id


def test_bad_password_is_expired(zk_factory, raw_factory, root):
    owner = raw_factory()
    owner.create(root + "/kept", flags=S.EPHEMERAL)
    sid = owner.session_id
    with pytest.raises(S.RawError) as exc:
        raw_factory(session_id=sid, passwd=b"\x01" * 16)
    assert "timeout 0" in str(exc.value)
    # kazoo treats the refusal as an expired session and starts a new one
    k = zk_factory(client_id=(sid, b"\x01" * 16))
    assert k.client_id[0] != sid
    # the session itself is untouched (ZooKeeper does drop the owner's
    # connection when another one claims the session, password or not)
    assert k.exists(root + "/kept").ephemeralOwner == sid
    again = raw_factory(session_id=sid, passwd=owner.passwd)
    assert again.session_id == sid


def test_unknown_session_is_expired(raw_factory):
    with pytest.raises(S.RawError):
        raw_factory(session_id=0x7777000000001234, passwd=b"\x00" * 16)


# ---------------------------------------------------------------------------
# server restarts
# ---------------------------------------------------------------------------

def test_restart_keeps_data_and_sessions(kind, server_factory):
    srv = server_factory(kind)
    c = kazoo_client(srv.hosts)
    c.start()
    try:
        states = Collector()
        c.add_listener(states)
        sid = c.client_id[0]
        c.create("/persist/a", b"data", makepath=True)
        c.create("/persist/seq-", sequence=True)
        c.create("/persist/eph", ephemeral=True)
        before = c.exists("/persist/a")
        srv.restart()
        wait_until(lambda: KazooState.CONNECTED in states.items, 20, message="reconnect")
        wait_until(lambda: c.connected, 10)
        assert c.client_id[0] == sid
        assert c.get("/persist/a") == (b"data", before)
        assert c.exists("/persist/eph").ephemeralOwner == sid
        # counters continue where they were
        assert c.create("/persist/seq-", sequence=True) == "/persist/seq-0000000003"
        _, st = c.create("/persist/after", include_data=True)
        assert st.czxid > before.czxid
        # a new session after the restart gets a fresh id
        d = kazoo_client(srv.hosts)
        d.start()
        assert d.client_id[0] != sid
        d.stop()
        d.close()
    finally:
        c.stop()
        c.close()


def test_kill9_keeps_acknowledged_writes(kind, server_factory):
    srv = server_factory(kind)
    c = kazoo_client(srv.hosts)
    c.start()
    for i in range(20):
        c.create("/k%02d" % i, b"v%d" % i)
    c.set("/k00", b"changed")
    c.stop()
    c.close()
    srv.kill()
    srv.start()
    c = kazoo_client(srv.hosts)
    c.start()
    try:
        assert sorted(x for x in c.get_children("/") if x.startswith("k")) == [
            "k%02d" % i for i in range(20)]
        data, stat = c.get("/k00")
        assert data == b"changed" and stat.version == 1
        # the closed session's ephemerals are gone, and so is the session
        assert c.get("/k19")[0] == b"v19"
    finally:
        c.stop()
        c.close()


def test_ephemeral_of_session_that_dies_with_server(kind, server_factory):
    """A session whose client never comes back after a restart expires and
    its ephemerals go."""
    srv = server_factory(kind)
    a = S.RawClient.to(srv, timeout_ms=1000)
    a.create("/orphan", flags=S.EPHEMERAL)
    a.abort()
    srv.restart()
    c = kazoo_client(srv.hosts)
    c.start()
    try:
        wait_until(lambda: c.exists("/orphan") is None, 15, message="orphan reaped")
    finally:
        c.stop()
        c.close()
