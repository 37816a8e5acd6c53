"""Node operations through kazoo (and the raw protocol where kazoo stops):
create/delete/exists/get/set/children, Stat fields, transactions, sync,
size limits, bad paths, TTL and container nodes, newer opcodes."""

import re
import time

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    ConnectionLoss,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.states import KazooState
from kazoo.security import OPEN_ACL_UNSAFE

import servers as S
from conftest import wait_until


# ---------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------

def test_create_persistent_and_stat(zk, root):
    path = zk.create(root + "/node", b"hello")
    assert path == root + "/node"
    data, stat = zk.get(path)
    assert data == b"hello"
    assert stat.version == 0
    assert stat.cversion == 0
    assert stat.aversion == 0
    assert stat.ephemeralOwner == 0
    assert stat.dataLength == 5
    assert stat.numChildren == 0
    assert stat.czxid > 0
    assert stat.mzxid == stat.czxid
    assert stat.pzxid == stat.czxid
    assert stat.ctime == stat.mtime
    assert abs(stat.ctime / 1000.0 - time.time()) < 60
    assert zk.exists(path) == stat


def test_create_include_data_returns_stat(zk, root):
    path, stat = zk.create(root + "/n", b"abc", include_data=True)
    assert path == root + "/n"
    assert stat == zk.exists(path)
    assert stat.dataLength == 3 and stat.version == 0


def test_create_empty_and_null_data(zk, root):
    zk.create(root + "/empty", b"")
    data, stat = zk.get(root + "/empty")
    assert data == b"" and stat.dataLength == 0
    # a null buffer (length -1) is stored as null and read back as null
    zk.create(root + "/null", None)
    data, stat = zk.get(root + "/null")
    assert data is None and stat.dataLength == 0


def test_create_errors(zk, root):
    zk.create(root + "/x")
    with pytest.raises(NodeExistsError):
        zk.create(root + "/x")
    with pytest.raises(NoNodeError):
        zk.create(root + "/missing/child")
    with pytest.raises(NodeExistsError):
        zk.create("/")


def test_create_makepath(zk, root):
    path = zk.create(root + "/a/b/c/d", b"leaf", makepath=True)
    assert path == root + "/a/b/c/d"
    assert zk.get(path)[0] == b"leaf"
    assert zk.get(root + "/a/b")[0] == b""
    assert zk.get_children(root + "/a") == ["b"]


def test_ensure_path_idempotent(zk, root):
    assert zk.ensure_path(root + "/e/f/g")
    assert zk.ensure_path(root + "/e/f/g")
    assert zk.exists(root + "/e/f/g") is not None


def test_sequential_suffix_follows_parent_cversion(zk, root):
    """ZooKeeper's sequence number is the parent's internal cversion, which
    counts child *creates* only.  The cversion a Stat reports counts creates
    and deletes (DataNode.copyStat: 2 * internal - numChildren), so the next
    suffix is always (stat.cversion + stat.numChildren) / 2."""
    parent = root + "/seq"
    zk.create(parent)

    def next_suffix():
        st = zk.exists(parent)
        assert (st.cversion + st.numChildren) % 2 == 0, st
        return (st.cversion + st.numChildren) // 2

    names = []
    for i in range(3):
        assert next_suffix() == i
        p = zk.create(parent + "/s-", b"", sequence=True)
        assert re.match(r"^.*/s-\d{10}$", p), p
        names.append(p)
    assert names == [parent + "/s-%010d" % i for i in range(3)]
    assert zk.exists(parent).cversion == 3

    # a plain child create counts, its delete bumps the Stat's cversion only
    zk.create(parent + "/plain")
    zk.delete(parent + "/plain")
    st = zk.exists(parent)
    assert (st.cversion, st.numChildren) == (5, 3)
    assert next_suffix() == 4
    assert zk.create(parent + "/s-", sequence=True) == parent + "/s-0000000004"

    # deleting a sequential node does not free or reuse its number
    zk.delete(parent + "/s-0000000000")
    assert zk.exists(parent).cversion == 7
    assert zk.create(parent + "/s-", sequence=True) == parent + "/s-0000000005"

    # setting the parent's data does not touch cversion
    zk.set(parent, b"data")
    assert zk.exists(parent).cversion == 8
    # empty prefix: the name is just the counter
    assert zk.create(parent + "/", sequence=True) == parent + "/0000000006"
    # transactions count like plain creates
    tx = zk.transaction()
    tx.create(parent + "/t-", sequence=True)
    tx.create(parent + "/t-", sequence=True)
    assert tx.commit() == [parent + "/t-0000000007", parent + "/t-0000000008"]
    # sequence numbers are per parent
    other = zk.create(root + "/other")
    assert zk.create(other + "/s-", sequence=True) == other + "/s-0000000000"


def test_ephemeral(zk, zk_factory, root):
    path = zk.create(root + "/eph", b"e", ephemeral=True)
    stat = zk.exists(path)
    assert stat.ephemeralOwner == zk.client_id[0]
    assert stat.ephemeralOwner != 0
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(path + "/child")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(path + "/child", ephemeral=True)
    other = zk_factory()
    assert other.exists(path).ephemeralOwner == zk.client_id[0]
    zk.stop()
    # kazoo's stop() does not wait for the closeSession reply
    wait_until(lambda: other.exists(path) is None, 10, message="ephemeral gone")


def test_ephemeral_sequential(zk, root):
    p1 = zk.create(root + "/lock-", ephemeral=True, sequence=True)
    p2 = zk.create(root + "/lock-", ephemeral=True, sequence=True)
    assert p1 == root + "/lock-0000000000"
    assert p2 == root + "/lock-0000000001"
    assert zk.exists(p2).ephemeralOwner == zk.client_id[0]
    assert sorted(zk.get_children(root)) == ["lock-0000000000", "lock-0000000001"]


# ---------------------------------------------------------------------------
# delete / exists
# ---------------------------------------------------------------------------

def test_delete(zk, root):
    path = zk.create(root + "/d", b"v")
    zk.set(path, b"v2")
    with pytest.raises(BadVersionError):
        zk.delete(path, version=0)
    assert zk.exists(path) is not None
    zk.delete(path, version=1)
    assert zk.exists(path) is None
    with pytest.raises(NoNodeError):
        zk.delete(path)
    with pytest.raises(NoNodeError):
        zk.delete(path, version=0)


def test_delete_not_empty_and_recursive(zk, root):
    zk.create(root + "/p/c1/g", makepath=True)
    zk.create(root + "/p/c2")
    with pytest.raises(NotEmptyError):
        zk.delete(root + "/p")
    zk.delete(root + "/p", recursive=True)
    assert zk.exists(root + "/p") is None


def test_exists(zk, root):
    assert zk.exists(root + "/nope") is None
    zk.create(root + "/yes", b"12345")
    stat = zk.exists(root + "/yes")
    assert stat.dataLength == 5
    assert zk.exists("/") is not None
    assert zk.exists("/zookeeper") is not None


# ---------------------------------------------------------------------------
# get / set
# ---------------------------------------------------------------------------

def test_set_versions(zk, root):
    path = zk.create(root + "/v", b"0")
    s0 = zk.exists(path)
    s1 = zk.set(path, b"one")
    assert s1.version == 1
    assert s1.dataLength == 3
    assert s1.czxid == s0.czxid
    assert s1.mzxid > s0.mzxid
    assert s1.pzxid == s0.pzxid
    assert s1.mtime >= s0.mtime
    assert s1.ctime == s0.ctime
    assert s1 == zk.exists(path)
    s2 = zk.set(path, b"two", version=1)
    assert s2.version == 2
    with pytest.raises(BadVersionError):
        zk.set(path, b"bad", version=1)
    with pytest.raises(BadVersionError):
        zk.set(path, b"bad", version=7)
    assert zk.get(path)[0] == b"two"
    s3 = zk.set(path, b"any", version=-1)
    assert s3.version == 3
    with pytest.raises(NoNodeError):
        zk.set(root + "/missing", b"x")
    with pytest.raises(NoNodeError):
        zk.get(root + "/missing")


def test_set_same_data_still_bumps_version(zk, root):
    path = zk.create(root + "/same", b"x")
    s1 = zk.set(path, b"x")
    s2 = zk.set(path, b"x")
    assert (s1.version, s2.version) == (1, 2)
    assert s2.mzxid > s1.mzxid


def test_binary_data_roundtrip(zk, root):
    blob = bytes(range(256)) * 64
    path = zk.create(root + "/bin", blob)
    assert zk.get(path)[0] == blob
    assert zk.exists(path).dataLength == len(blob)


# ---------------------------------------------------------------------------
# children and parent Stat bookkeeping
# ---------------------------------------------------------------------------

def test_get_children(zk, root):
    parent = root + "/kids"
    zk.create(parent)
    assert zk.get_children(parent) == []
    for n in ("b", "a", "c"):
        zk.create(parent + "/" + n, n.encode())
    assert sorted(zk.get_children(parent)) == ["a", "b", "c"]
    children, stat = zk.get_children(parent, include_data=True)
    assert sorted(children) == ["a", "b", "c"]
    assert stat == zk.exists(parent)
    assert stat.numChildren == 3
    assert stat.cversion == 3
    with pytest.raises(NoNodeError):
        zk.get_children(root + "/missing")
    assert "zookeeper" in zk.get_children("/")


def test_parent_stat_pzxid_cversion_numchildren(zk, root):
    parent = zk.create(root + "/par")
    p0 = zk.exists(parent)
    _, c1 = zk.create(parent + "/c1", include_data=True)
    p1 = zk.exists(parent)
    assert p1.pzxid == c1.czxid
    assert p1.cversion == p0.cversion + 1
    assert p1.numChildren == 1
    # the parent's own data and version are untouched
    assert (p1.version, p1.mzxid, p1.dataLength) == (p0.version, p0.mzxid, p0.dataLength)

    # changing a child's data does not touch the parent
    zk.set(parent + "/c1", b"new")
    assert zk.exists(parent) == p1

    # deleting a child bumps cversion and pzxid to the delete's zxid
    zk.create(parent + "/c2")
    zk.delete(parent + "/c1")
    p2 = zk.exists(parent)
    assert p2.cversion == p1.cversion + 2
    assert p2.numChildren == 1
    assert p2.pzxid > p1.pzxid
    # the delete was the last write: a fresh node's czxid is above it
    probe = zk.create(root + "/probe", include_data=True)[1]
    assert probe.czxid == p2.pzxid + 1

    # the parent's own set does not touch pzxid
    s = zk.set(parent, b"x")
    assert s.pzxid == p2.pzxid and s.mzxid > p2.pzxid


def test_zxids_strictly_increase(zk, root):
    zxids = []
    for i in range(5):
        _, st = zk.create(root + "/z%d" % i, include_data=True)
        zxids.append(st.czxid)
    assert zxids == sorted(zxids)
    assert len(set(zxids)) == 5
    # consecutive writes from one client, nothing else in between
    assert zxids[-1] - zxids[0] == 4


# ---------------------------------------------------------------------------
# transactions (multi)
# ---------------------------------------------------------------------------

def test_transaction_commit(zk, root):
    zk.create(root + "/t", b"0")
    zk.create(root + "/t/del")
    tx = zk.transaction()
    tx.create(root + "/t/new", b"n")
    tx.set_data(root + "/t", b"1", version=0)
    tx.check(root + "/t", 1)
    tx.delete(root + "/t/del")
    tx.create(root + "/t/seq-", sequence=True)
    results = tx.commit()
    assert results[0] == root + "/t/new"
    assert results[1].version == 1 and results[1].dataLength == 1
    assert results[2] is True
    assert results[3] is True
    assert results[4] == root + "/t/seq-0000000002"
    assert sorted(zk.get_children(root + "/t")) == ["new", "seq-0000000002"]
    # every op of one multi shares one zxid
    new_stat = zk.exists(root + "/t/new")
    assert new_stat.czxid == results[1].mzxid
    assert zk.exists(root + "/t").pzxid == new_stat.czxid


def test_transaction_failure_applies_nothing(zk, root):
    zk.create(root + "/f", b"0")
    before = zk.exists(root + "/f")
    tx = zk.transaction()
    tx.create(root + "/f/a", b"1")
    tx.set_data(root + "/f", b"x", version=5)
    tx.create(root + "/f/b")
    results = tx.commit()
    assert [type(r) for r in results] == [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.get_children(root + "/f") == []
    assert zk.exists(root + "/f") == before


@pytest.mark.parametrize("case", ["nonode", "exists", "check", "notempty"])
def test_transaction_failure_results(zk, root, case):
    zk.create(root + "/g", b"0")
    zk.create(root + "/g/child")
    tx = zk.transaction()
    tx.create(root + "/g/ok1")
    if case == "nonode":
        tx.delete(root + "/g/missing")
        expected = NoNodeError
    elif case == "exists":
        tx.create(root + "/g/child")
        expected = NodeExistsError
    elif case == "check":
        tx.check(root + "/g", 3)
        expected = BadVersionError
    else:
        tx.delete(root + "/g")
        expected = NotEmptyError
    tx.set_data(root + "/g", b"never")
    tx.delete(root + "/g/child")
    results = tx.commit()
    assert [type(r) for r in results] == [
        RolledBackError, expected, RuntimeInconsistency, RuntimeInconsistency]
    assert zk.get_children(root + "/g") == ["child"]
    assert zk.get(root + "/g")[0] == b"0"


def test_transaction_sees_own_earlier_ops(zk, root):
    tx = zk.transaction()
    tx.create(root + "/chain", b"a")
    tx.create(root + "/chain/sub", b"b")
    tx.set_data(root + "/chain", b"c", version=0)
    tx.check(root + "/chain", 1)
    tx.delete(root + "/chain/sub")
    tx.delete(root + "/chain", version=1)
    results = tx.commit()
    assert len(results) == 6
    assert zk.exists(root + "/chain") is None


def test_empty_transaction(zk):
    assert zk.transaction().commit() == []


# ---------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------

def test_sync(zk, zk_factory, root):
    assert zk.sync(root) == root
    other = zk_factory()
    other.set(root, b"fresh")
    zk.sync(root)
    assert zk.get(root)[0] == b"fresh"


# ---------------------------------------------------------------------------
# size limits (jute.maxbuffer, default 0xfffff)
# ---------------------------------------------------------------------------

def test_data_just_under_max_buffer(zk, root):
    value = b"x" * (1024 * 1024 - 1024)
    path = zk.create(root + "/big", value)
    data, stat = zk.get(path)
    assert data == value
    assert stat.dataLength == len(value)


def test_data_over_max_buffer_rejected(zk, zk_factory, root):
    sid = zk.client_id[0]
    with pytest.raises(ConnectionLoss):
        zk.create(root + "/toobig", b"x" * (1024 * 1024 + 1))
    # the server dropped the connection, not the session
    wait_until(lambda: zk.state == KazooState.CONNECTED, 15, message="reconnect")
    assert zk.client_id[0] == sid
    assert zk.exists(root + "/toobig") is None
    assert zk_factory().exists(root + "/toobig") is None


def test_set_over_max_buffer_rejected(zk, root):
    path = zk.create(root + "/s", b"small")
    with pytest.raises(ConnectionLoss):
        zk.set(path, b"y" * (2 * 1024 * 1024))
    wait_until(lambda: zk.state == KazooState.CONNECTED, 15, message="reconnect")
    assert zk.get(path)[0] == b"small"


# ---------------------------------------------------------------------------
# bad paths (kazoo validates some client side, so use raw requests)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["relative", ""])
def test_create_relative_or_empty_path_is_bad_arguments(raw, bad):
    assert raw.create(bad)[0] == S.ZBADARGUMENTS


# ZooKeeper looks the parent up before validating the new node's name, so
# these all have an existing parent (otherwise the answer is NoNode).
@pytest.mark.parametrize("suffix", [
    "/", "/.", "/..", "/nul\x00", "/ctl\x01x", "/del\x7f", "/\ufffe", "/\uf8ff",
], ids=["trailing-slash", "dot", "dotdot", "nul", "ctl", "del", "nonchar", "private-use"])
def test_create_bad_name_is_bad_arguments(raw, root, suffix):
    assert raw.create(root + suffix)[0] == S.ZBADARGUMENTS
    assert raw.exists(root)[1]["numChildren"] == 0


@pytest.mark.parametrize("name", ["zk\u00e9", "has space", "line\u2028sep", "-_.:@"])
def test_create_unusual_but_valid_names(raw, root, name):
    assert raw.create(root + "/" + name) == (0, root + "/" + name)
    assert raw.children(root)[1] == [name]


def test_delete_relative_path_is_bad_arguments(raw):
    assert raw.delete("relative") == S.ZBADARGUMENTS


def test_create_with_bad_flags(raw, root):
    # TTL modes only through createTTL; unknown flags are rejected
    assert raw.create(root + "/f5", flags=S.PERSISTENT_WITH_TTL)[0] == S.ZBADARGUMENTS
    assert raw.create(root + "/f99", flags=99)[0] == S.ZBADARGUMENTS
    assert raw.exists(root + "/f5")[0] == S.ZNONODE


def test_create_with_empty_acl_is_invalid(raw, root):
    assert raw.create(root + "/noacl", acls=[])[0] == S.ZINVALIDACL


def test_unknown_opcode_unimplemented_then_connection_closed(raw, raw_factory, root):
    """ZooKeeper answers Unimplemented, then closes the connection
    (UnimplementedRequestProcessor: sendResponse + sendCloseSession); the
    session itself lives on."""
    rep = raw.request(999, S.enc_str(root))
    assert rep.err == S.ZUNIMPLEMENTED
    with pytest.raises((ConnectionError, OSError)):
        raw.exists(root)
        raw.exists(root)
    again = raw_factory(session_id=raw.session_id, passwd=raw.passwd)
    assert again.session_id == raw.session_id
    assert again.exists(root)[0] == 0


# ---------------------------------------------------------------------------
# create2 / container / TTL / newer opcodes (raw)
# ---------------------------------------------------------------------------

def test_create2_returns_stat(raw, root):
    err, path, stat = raw.create2(root + "/c2", b"abc")
    assert err == 0 and path == root + "/c2"
    assert stat == raw.exists(path)[1]
    err, path, stat = raw.create2(root + "/c2-", flags=S.PERSISTENT_SEQUENTIAL)
    assert path == root + "/c2-0000000001"


def test_container_node_reaped_after_last_child(raw, zk, root):
    err, path, stat = raw.create_container(root + "/box")
    assert err == 0 and path == root + "/box"
    assert stat["ephemeralOwner"] == 0
    # a container with no child ever is kept
    assert raw.create(path + "/item")[0] == 0
    assert raw.delete(path + "/item") == 0
    wait_until(lambda: zk.exists(path) is None, 15, message="container reaped")


def test_container_never_used_is_kept(raw, root):
    raw.create_container(root + "/unused")
    time.sleep(1.5)
    assert raw.exists(root + "/unused")[0] == 0


def test_ttl_node_expires(raw, zk, root):
    err, path, stat = raw.create_ttl(root + "/ttl", 1000, b"t")
    assert err == 0 and path == root + "/ttl"
    assert stat["ephemeralOwner"] == 0
    # the creating session reads its own write (zk may sit at a member that
    # has not applied it yet)
    assert raw.get(path)[:2] == (0, b"t")
    wait_until(lambda: zk.exists(path) is None, 15, message="TTL node reaped")


def test_ttl_node_with_children_kept(raw, root):
    raw.create_ttl(root + "/ttlp", 1000)
    assert raw.create(root + "/ttlp/child")[0] == 0
    time.sleep(2.0)
    assert raw.exists(root + "/ttlp")[0] == 0


def test_ttl_sequential_and_errors(raw, root):
    err, path, _ = raw.create_ttl(root + "/tseq-", 60000, flags=S.PERSISTENT_SEQUENTIAL_WITH_TTL)
    assert err == 0 and path == root + "/tseq-0000000000"
    assert raw.create_ttl(root + "/t0", 0)[0] == S.ZBADARGUMENTS
    assert raw.create_ttl(root + "/tneg", -5)[0] == S.ZBADARGUMENTS
    assert raw.create_ttl(root + "/tp", 1000, flags=S.PERSISTENT)[0] == S.ZBADARGUMENTS
    assert raw.create_ttl(root + "/te", 1000, flags=S.EPHEMERAL)[0] == S.ZBADARGUMENTS


def test_whoami(raw):
    err, ids = raw.whoami()
    assert err == 0
    assert ids == [("ip", "127.0.0.1")]
    assert raw.add_auth("digest", b"alice:secret") == 0
    # ZooKeeper's order of the identities is not stable
    assert sorted(raw.whoami()[1]) == [("digest", "alice"), ("ip", "127.0.0.1")]


def test_get_ephemerals(raw, raw_factory, root):
    raw.create(root + "/e1", flags=S.EPHEMERAL)
    raw.create(root + "/sub")
    raw.create(root + "/sub/e2", flags=S.EPHEMERAL)
    other = raw_factory()
    other.create(root + "/theirs", flags=S.EPHEMERAL)
    err, paths = raw.get_ephemerals(root)
    assert err == 0
    assert sorted(paths) == [root + "/e1", root + "/sub/e2"]
    assert raw.get_ephemerals(root + "/sub")[1] == [root + "/sub/e2"]
    assert raw.get_ephemerals(root + "/nothing-here")[1] == []
    assert other.get_ephemerals("/")[1] == [root + "/theirs"]


def test_get_all_children_number(raw, root):
    for p in ("/a", "/a/b", "/a/b/c", "/d"):
        raw.create(root + p)
    assert raw.get_all_children_number(root) == (0, 4)
    assert raw.get_all_children_number(root + "/a") == (0, 2)
    assert raw.get_all_children_number(root + "/d") == (0, 0)
    assert raw.get_all_children_number(root + "/missing")[0] == S.ZNONODE


def test_raw_create_opcodes_agree(raw, root):
    err, path = raw.create(root + "/plain", b"p")
    assert (err, path) == (0, root + "/plain")
    err, data, stat = raw.get(path)
    assert data == b"p" and stat["version"] == 0


def test_multi_read_opcode(raw, root):
    raw.create(root + "/mr", b"v")
    raw.create(root + "/mr/kid")
    body = S.req_multi([
        (S.OP_GET_DATA, S.req_path_watch(root + "/mr")),
        (S.OP_GET_CHILDREN, S.req_path_watch(root + "/mr")),
        (S.OP_GET_DATA, S.req_path_watch(root + "/nope")),
    ])
    rep = raw.request(S.OP_MULTI_READ, body)
    assert rep.err == 0
    results = S.parse_multi_response(rep.body)
    assert results[0][0] == S.OP_GET_DATA and results[0][2][0] == b"v"
    assert results[1] == (S.OP_GET_CHILDREN, 0, ["kid"])
    assert results[2][0] == S.OP_ERROR and results[2][1] == S.ZNONODE


def test_ttl_refreshed_by_writes(raw, zk, root):
    """A TTL node lives while it keeps being modified within its TTL."""
    err, path, _ = raw.create_ttl(root + "/busy", 1500)
    assert err == 0
    zk.sync(root)  # another session's write
    deadline = time.time() + 2.5
    while time.time() < deadline:
        assert zk.set(path, b"tick") is not None
        time.sleep(0.2)
    assert zk.exists(path) is not None
    wait_until(lambda: zk.exists(path) is None, 15, message="TTL node reaped")


# ---------------------------------------------------------------------------
# chroot, concurrency, volume
# ---------------------------------------------------------------------------

def test_chroot_client(zk, zk_factory, server, root):
    chrooted = zk_factory(hosts=server.hosts + root)
    assert chrooted.create("/inside", b"c") == "/inside"
    zk.sync(root)  # another session's write
    assert zk.get(root + "/inside")[0] == b"c"
    got = []
    chrooted.get_children("/", watch=got.append)
    zk.create(root + "/second")
    wait_until(lambda: got, 10, message="child event")
    assert got[0].path == "/"
    tx = chrooted.transaction()
    tx.create("/tx-", sequence=True)
    assert tx.commit() == ["/tx-0000000002"]


def test_concurrent_compare_and_set(zk_factory, root):
    """Optimistic increments with version checks from several clients never
    lose an update."""
    import threading

    path = zk_factory().create(root + "/cas", b"0")
    clients = [zk_factory() for _ in range(4)]
    conflicts = []

    def bump(c, n):
        for _ in range(n):
            while True:
                data, stat = c.get(path)
                try:
                    c.set(path, str(int(data) + 1).encode(), version=stat.version)
                    break
                except BadVersionError:
                    conflicts.append(1)

    threads = [threading.Thread(target=bump, args=(c, 25)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # The last write may have gone through another server: sync first.
    clients[0].sync(path)
    data, stat = clients[0].get(path)
    assert data == b"100"
    assert stat.version == 100


def test_many_children(zk, root):
    parent = zk.create(root + "/many")
    names = ["child-%04d" % i for i in range(1000)]
    for batch in range(0, 1000, 100):
        tx = zk.transaction()
        for n in names[batch:batch + 100]:
            tx.create(parent + "/" + n, n.encode())
        assert len(tx.commit()) == 100
    children, stat = zk.get_children(parent, include_data=True)
    assert sorted(children) == names
    assert stat.numChildren == 1000 and stat.cversion == 1000
    assert zk.get(parent + "/child-0999")[0] == b"child-0999"


def test_long_path_and_deep_tree(zk, root):
    deep = root + "".join("/level%02d" % i for i in range(40))
    zk.create(deep, b"deep", makepath=True)
    assert zk.get(deep)[0] == b"deep"
    long_name = root + "/" + "n" * 1000
    zk.create(long_name, b"long")
    assert zk.get(long_name)[0] == b"long"
