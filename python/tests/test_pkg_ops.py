"""Every operation of corral.Client, with kazoo's arguments, results and
exceptions, against corral-server and Apache ZooKeeper."""

import pytest

import corral
from corral import exceptions as ex
from corral.security import (
    ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    Permissions,
    make_digest_acl,
)
from corral.states import ZnodeStat


def test_create_get_set_delete(zk, root):
    path = root + "/node"
    assert zk.create(path, b"v1") == path
    data, stat = zk.get(path)
    assert data == b"v1"
    assert isinstance(stat, ZnodeStat)
    assert (stat.version, stat.dataLength, stat.numChildren) == (0, 2, 0)
    assert stat.czxid == stat.mzxid > 0
    stat2 = zk.set(path, b"value-2")
    assert stat2.version == 1 and stat2.dataLength == 7
    assert stat2.mzxid > stat.mzxid
    assert zk.get(path) == (b"value-2", stat2)
    assert zk.delete(path) is True
    assert zk.exists(path) is None


def test_default_value_and_none(zk, root):
    assert zk.create(root + "/a") == root + "/a"
    assert zk.get(root + "/a")[0] == b""
    zk.create(root + "/b", None)
    assert zk.get(root + "/b")[0] == b""


def test_znodestat_properties(zk, root):
    path = zk.create(root + "/e", b"abc", ephemeral=True)
    stat = zk.exists(path)
    assert stat.owner_session_id == zk.client_id[0] == stat.ephemeralOwner
    assert stat.data_length == 3
    assert stat.children_count == 0
    assert stat.created == stat.ctime / 1000.0
    assert stat.last_modified == stat.mtime / 1000.0
    assert stat.creation_transaction_id == stat.czxid
    assert stat.last_modified_transaction_id == stat.mzxid
    assert stat.acl_version == stat.aversion == 0
    assert stat.children_version == stat.cversion
    assert zk.exists(root).owner_session_id is None
    assert ZnodeStat._fields == (
        "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
        "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def test_create_flags(zk, root, client_factory):
    s1 = zk.create(root + "/seq-", b"", sequence=True)
    s2 = zk.create(root + "/seq-", b"", sequence=True)
    assert s1.startswith(root + "/seq-") and len(s1) == len(root + "/seq-") + 10
    assert int(s2[-10:]) == int(s1[-10:]) + 1
    other = client_factory()
    e = other.create(root + "/eph", ephemeral=True)
    es = other.create(root + "/eseq-", ephemeral=True, sequence=True)
    assert zk.exists(e).ephemeralOwner == other.client_id[0]
    assert zk.exists(es).ephemeralOwner == other.client_id[0]
    with pytest.raises(ex.NoChildrenForEphemeralsError):
        zk.create(e + "/child")
    other.stop()
    assert zk.exists(e) is None and zk.exists(es) is None


def test_create_include_data_and_makepath(zk, root):
    path, stat = zk.create(root + "/x", b"12", include_data=True)
    assert path == root + "/x"
    assert isinstance(stat, ZnodeStat) and stat.dataLength == 2
    with pytest.raises(ex.NoNodeError):
        zk.create(root + "/p/q/r", b"d")
    assert zk.create(root + "/p/q/r", b"d", makepath=True) == root + "/p/q/r"
    assert zk.get(root + "/p/q/r")[0] == b"d"
    assert zk.get(root + "/p/q")[0] == b""
    seq = zk.create(root + "/s/t/", b"", sequence=True, makepath=True)
    assert seq.startswith(root + "/s/t/")


def test_errors(zk, root):
    path = zk.create(root + "/n")
    with pytest.raises(ex.NodeExistsError):
        zk.create(path)
    with pytest.raises(ex.NoNodeError):
        zk.get(root + "/missing")
    with pytest.raises(ex.NoNodeError):
        zk.set(root + "/missing", b"")
    with pytest.raises(ex.NoNodeError):
        zk.delete(root + "/missing")
    with pytest.raises(ex.BadVersionError):
        zk.set(path, b"x", version=7)
    with pytest.raises(ex.BadVersionError):
        zk.delete(path, version=3)
    zk.create(path + "/child")
    with pytest.raises(ex.NotEmptyError):
        zk.delete(path)
    with pytest.raises(ex.BadArgumentsError):
        zk.get("no-slash")
    with pytest.raises(TypeError):
        zk.create(root + "/s", "text is not bytes")
    with pytest.raises(TypeError):
        zk.set(path, "text")
    with pytest.raises(TypeError):
        zk.get(path, watch=42)
    # every one of them is a ZookeeperError, and kazoo's aliases hold
    for e in (ex.NodeExistsError, ex.NoNodeError, ex.BadVersionError, ex.NotEmptyError):
        assert issubclass(e, ex.ZookeeperError) and issubclass(e, ex.KazooException)
    assert ex.NoNodeException is ex.NoNodeError


def test_versions(zk, root):
    path = zk.create(root + "/v")
    st = zk.set(path, b"1", version=0)
    assert st.version == 1
    assert zk.delete(path, version=1) is True


def test_get_children(zk, root):
    for name in ("a", "b", "c"):
        zk.create(root + "/" + name)
    assert sorted(zk.get_children(root)) == ["a", "b", "c"]
    children, stat = zk.get_children(root, include_data=True)
    assert sorted(children) == ["a", "b", "c"]
    assert stat.numChildren == 3
    assert zk.get_children(root + "/a") == []
    with pytest.raises(ex.NoNodeError):
        zk.get_children(root + "/zz")


def test_ensure_path_and_recursive_delete(zk, root):
    assert zk.ensure_path(root + "/a/b/c") is True
    assert zk.exists(root + "/a/b/c") is not None
    assert zk.ensure_path(root + "/a/b/c") is True  # existing: fine
    zk.create(root + "/a/b/c/d", b"x")
    zk.create(root + "/a/x")
    assert zk.delete(root + "/a", recursive=True) is True
    assert zk.exists(root + "/a") is None
    assert zk.delete(root + "/a", recursive=True) is True  # missing: fine


def test_sync(zk, root):
    assert zk.sync(root) == root


def test_acls_and_auth(zk, root, client_factory, server):
    path = zk.create(root + "/acl", b"secret")
    acls, stat = zk.get_acls(path)
    assert acls == OPEN_ACL_UNSAFE
    assert isinstance(acls[0], ACL) and acls[0].id == Id("world", "anyone")
    owner = make_digest_acl("alice", "pw", all=True)
    st = zk.set_acls(path, [owner] + READ_ACL_UNSAFE)
    assert st.aversion == 1
    # without ADMIN rights, ZooKeeper masks digest ids as "alice:x"
    acls, _ = zk.get_acls(path)
    assert sorted(a.perms for a in acls) == [Permissions.READ, Permissions.ALL]
    with pytest.raises(ex.NoAuthError):
        zk.set_acls(path, OPEN_ACL_UNSAFE)
    # world may read, not write
    assert zk.get(path)[0] == b"secret"
    with pytest.raises(ex.NoAuthError):
        zk.set(path, b"x")
    assert zk.add_auth("digest", "alice:pw") is True
    zk.set(path, b"x")
    acls, _ = zk.get_acls(path)
    assert sorted(acls) == sorted([owner] + READ_ACL_UNSAFE)
    with pytest.raises(ex.BadVersionError):
        zk.set_acls(path, [owner] + READ_ACL_UNSAFE, version=0)
    # auth_data in the constructor
    other = client_factory(auth_data=[("digest", "alice:pw")])
    other.set(path, b"y")
    # a node only alice can read
    p2 = zk.create(root + "/private", b"p", acl=[make_digest_acl("alice", "pw", read=True, delete=True)])
    stranger = client_factory()
    with pytest.raises(ex.NoAuthError):
        stranger.get(p2)
    assert other.get(p2)[0] == b"p"
    with pytest.raises(TypeError):
        zk.add_auth("digest", b"bytes")
    # the permissions mask
    assert Permissions.ALL == 31


def test_default_acl(client_factory, server, root, zk):
    acl = [make_digest_acl("bob", "pw", all=True)]
    c = client_factory(default_acl=acl, auth_data=[("digest", "bob:pw")])
    path = c.create(root + "/d")
    assert c.get_acls(path)[0] == acl
    with pytest.raises(ex.NoAuthError):
        zk.get(path)


def test_transaction(zk, root):
    zk.create(root + "/existing", b"0")
    t = zk.transaction()
    t.create(root + "/t1", b"a")
    t.create(root + "/seq-", b"", sequence=True)
    t.set_data(root + "/existing", b"1")
    t.check(root + "/existing", 1)
    t.delete(root + "/t1")
    results = t.commit()
    assert results[0] == root + "/t1"
    assert results[1].startswith(root + "/seq-")
    assert isinstance(results[2], ZnodeStat) and results[2].version == 1
    assert results[3] is True and results[4] is True
    assert zk.exists(root + "/t1") is None
    with pytest.raises(ValueError):
        t.commit()


def test_failed_transaction(zk, root):
    zk.create(root + "/n", b"0")
    t = zk.transaction()
    t.create(root + "/new")
    t.set_data(root + "/n", b"x", version=42)
    t.delete(root + "/n")
    results = t.commit()
    assert isinstance(results[0], ex.RolledBackError)
    assert isinstance(results[1], ex.BadVersionError)
    assert isinstance(results[2], ex.RuntimeInconsistency)
    assert zk.exists(root + "/new") is None  # nothing applied
    assert zk.get(root + "/n")[0] == b"0"


def test_transaction_context_manager(zk, root):
    with zk.transaction() as t:
        t.create(root + "/a")
        t.create(root + "/a/b")
    assert t.committed
    assert zk.exists(root + "/a/b") is not None


def test_client_properties_and_lifecycle(client_factory, server, root):
    c = client_factory(start=False)
    assert c.state == "LOST" and not c.connected and c.client_id is None
    with pytest.raises(ex.ConnectionClosedError):
        c.get("/")
    c.start()
    assert c.state == "CONNECTED" and c.connected
    sid, passwd = c.client_id
    assert sid != 0 and isinstance(passwd, bytes) and len(passwd) == 16
    c.start()  # already started: no-op
    assert c.client_id[0] == sid
    eph = c.create(root + "/eph", ephemeral=True)
    c.stop()
    assert c.state == "LOST" and not c.connected and c.client_id is None
    with pytest.raises(ex.ConnectionClosedError):
        c.get(root)
    # ConnectionClosedError is a SessionExpiredError, as in kazoo
    assert issubclass(ex.ConnectionClosedError, ex.SessionExpiredError)
    c.start()  # a new session
    assert c.client_id[0] != sid
    assert c.exists(eph) is None
    c.restart()
    assert c.connected
    c.close()
    with pytest.raises(ex.ConnectionClosedError):
        c.get(root)


def test_resume_session_with_client_id(client_factory, root):
    a = client_factory()
    eph = a.create(root + "/eph", ephemeral=True)
    sid = a.client_id[0]
    b = client_factory(client_id=a.client_id)
    assert b.client_id[0] == sid
    assert b.exists(eph).ephemeralOwner == sid


def test_chroot(zk, root, client_factory, server):
    c = client_factory(hosts=server.hosts + root)
    assert c.chroot == root
    assert c.create("/inside", b"1") == "/inside"
    assert zk.get(root + "/inside")[0] == b"1"
    assert c.get_children("/") == ["inside"]
    assert c.sync("/inside") == "/inside"
    t = c.transaction()
    t.create("/t")
    assert t.commit() == ["/t"]


def test_start_timeout(server):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    c = corral.Client("127.0.0.1:%d" % port)
    with pytest.raises(ex.KazooTimeoutError):
        c.start(timeout=1.0)
    assert issubclass(ex.KazooTimeoutError, ex.ZookeeperError)
    c.close()


def test_bad_hosts():
    with pytest.raises(ex.ConfigurationError):
        corral.Client("")
