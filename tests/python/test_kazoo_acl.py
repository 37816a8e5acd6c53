"""ACLs: world/digest/auth/ip schemes, per-permission checks, get/set_acls
with versions, super digest bypass, auth failures."""

import pytest
from kazoo.exceptions import (
    AuthFailedError,
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NoNodeError,
    RolledBackError,
)
from kazoo.security import (
    ACL,
    Id,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    CREATOR_ALL_ACL,
    Permissions,
    make_acl,
    make_digest_acl,
    make_digest_acl_credential,
)

import servers as S


def authed(zk_factory, user, password):
    c = zk_factory()
    c.add_auth("digest", "%s:%s" % (user, password))
    return c


def test_default_acl_is_open(zk, root):
    zk.create(root + "/open")
    acls, stat = zk.get_acls(root + "/open")
    assert acls == OPEN_ACL_UNSAFE
    assert acls[0].perms == Permissions.ALL
    assert acls[0].id == Id("world", "anyone")
    assert stat == zk.exists(root + "/open")


def test_digest_acl_roundtrip(zk, zk_factory, root):
    acl = make_digest_acl("alice", "secret", all=True)
    assert acl.id.id == make_digest_acl_credential("alice", "secret")
    assert acl.id.id == "alice:" + S.digest("alice", "secret")
    zk.create(root + "/a", b"data", acl=[acl])
    # exists ignores ACLs; get_acls needs READ or ADMIN
    assert zk.exists(root + "/a") is not None
    with pytest.raises(NoAuthError):
        zk.get_acls(root + "/a")
    with pytest.raises(NoAuthError):
        zk.get(root + "/a")
    with pytest.raises(NoAuthError):
        zk.set(root + "/a", b"x")
    with pytest.raises(NoAuthError):
        zk.get_children(root + "/a")
    with pytest.raises(NoAuthError):
        zk.create(root + "/a/child")
    with pytest.raises(NoAuthError):
        zk.set_acls(root + "/a", OPEN_ACL_UNSAFE)

    alice = authed(zk_factory, "alice", "secret")
    assert alice.get(root + "/a")[0] == b"data"
    alice.set(root + "/a", b"mine")
    alice.create(root + "/a/child")
    assert alice.get_children(root + "/a") == ["child"]
    assert alice.get_acls(root + "/a")[0] == [acl]

    mallory = authed(zk_factory, "alice", "wrong")
    with pytest.raises(NoAuthError):
        mallory.get(root + "/a")


def test_delete_needs_delete_on_parent_not_on_node(zk, zk_factory, root):
    locked = make_digest_acl("bob", "pw", all=True)
    zk.create(root + "/node", acl=[locked])
    # the node's own ACL does not protect it from deletion...
    zk.delete(root + "/node")
    # ...the parent's DELETE permission does
    zk.create(root + "/parent", acl=[
        make_acl("world", "anyone", read=True, write=True, create=True, admin=True)])
    zk.create(root + "/parent/kid")
    with pytest.raises(NoAuthError):
        zk.delete(root + "/parent/kid")
    # deleting the parent itself is governed by ITS parent (open)
    zk.set_acls(root + "/parent", OPEN_ACL_UNSAFE)
    zk.delete(root + "/parent/kid")
    zk.delete(root + "/parent")


@pytest.mark.parametrize("perm", ["read", "write", "create", "delete", "admin"])
def test_single_permissions(zk, root, perm):
    node = root + "/p"
    zk.create(node, b"v", acl=[make_acl("world", "anyone", **{perm: True})])
    zk.create(root + "/scratch")

    def can(fn):
        try:
            fn()
            return True
        except NoAuthError:
            return False

    assert can(lambda: zk.get(node)) == (perm == "read")
    assert can(lambda: zk.get_children(node)) == (perm == "read")
    assert can(lambda: zk.set(node, b"w")) == (perm == "write")
    assert can(lambda: zk.create(node + "/c")) == (perm == "create")
    if perm == "create":
        assert can(lambda: zk.delete(node + "/c")) is False
    if perm == "delete":
        # no CREATE, so nothing to delete: NoNode comes after the ACL check
        with pytest.raises(NoNodeError):
            zk.delete(node + "/c")
    assert can(lambda: zk.get_acls(node)) == (perm in ("read", "admin"))
    assert can(lambda: zk.set_acls(node, [make_acl("world", "anyone", **{perm: True})])) == (
        perm == "admin")


def test_read_only_world_acl(zk, root):
    zk.create(root + "/ro", b"r", acl=READ_ACL_UNSAFE)
    assert zk.get(root + "/ro")[0] == b"r"
    with pytest.raises(NoAuthError):
        zk.set(root + "/ro", b"w")


def test_auth_scheme_uses_session_identity(zk_factory, root):
    alice = authed(zk_factory, "alice", "pw")
    alice.create(root + "/auth", b"x", acl=CREATOR_ALL_ACL)
    acls, _ = alice.get_acls(root + "/auth")
    assert acls == [ACL(Permissions.ALL, Id("digest", "alice:" + S.digest("alice", "pw")))]
    anon = zk_factory()
    with pytest.raises(NoAuthError):
        anon.get(root + "/auth")
    assert authed(zk_factory, "alice", "pw").get(root + "/auth")[0] == b"x"


def test_auth_scheme_without_auth_is_invalid(zk, root):
    with pytest.raises(InvalidACLError):
        zk.create(root + "/x", acl=CREATOR_ALL_ACL)
    assert zk.exists(root + "/x") is None


@pytest.mark.parametrize("acl", [
    make_acl("nosuchscheme", "x", all=True),
    make_acl("digest", "no-colon", all=True),
    make_acl("ip", "not.an.ip", all=True),
    make_acl("world", "someone", all=True),
], ids=["scheme", "digest-format", "ip-format", "world-id"])
def test_invalid_acls(zk, root, acl):
    with pytest.raises(InvalidACLError):
        zk.create(root + "/bad", acl=[acl])
    zk.create(root + "/good")
    with pytest.raises(InvalidACLError):
        zk.set_acls(root + "/good", [acl])


def test_ip_acl(zk, root):
    zk.create(root + "/local", b"l", acl=[make_acl("ip", "127.0.0.1", all=True)])
    assert zk.get(root + "/local")[0] == b"l"
    zk.create(root + "/subnet", b"s", acl=[make_acl("ip", "127.0.0.0/8", read=True)])
    assert zk.get(root + "/subnet")[0] == b"s"
    zk.create(root + "/remote", b"r", acl=[make_acl("ip", "10.1.2.3", all=True)])
    with pytest.raises(NoAuthError):
        zk.get(root + "/remote")


def test_multiple_acl_entries(zk_factory, root):
    admin = authed(zk_factory, "admin", "a")
    acls = [
        make_digest_acl("admin", "a", all=True),
        make_acl("world", "anyone", read=True),
    ]
    admin.create(root + "/mixed", b"m", acl=acls)
    anon = zk_factory()
    assert anon.get(root + "/mixed")[0] == b"m"
    with pytest.raises(NoAuthError):
        anon.set(root + "/mixed", b"x")
    admin.set(root + "/mixed", b"y")
    assert sorted(admin.get_acls(root + "/mixed")[0], key=lambda a: a.id.scheme) == sorted(
        acls, key=lambda a: a.id.scheme)


def test_set_acls_versions(zk, root):
    node = zk.create(root + "/v")
    stat = zk.set_acls(node, READ_ACL_UNSAFE + [make_acl("world", "anyone", admin=True)])
    assert stat.aversion == 1
    assert stat.version == 0
    with pytest.raises(BadVersionError):
        zk.set_acls(node, OPEN_ACL_UNSAFE, version=0)
    stat = zk.set_acls(node, OPEN_ACL_UNSAFE, version=1)
    assert stat.aversion == 2
    acls, stat2 = zk.get_acls(node)
    assert acls == OPEN_ACL_UNSAFE and stat2.aversion == 2
    # an ACL change is not a data change
    assert stat2.mzxid == stat2.czxid
    with pytest.raises(NoNodeError):
        zk.set_acls(root + "/missing", OPEN_ACL_UNSAFE)
    with pytest.raises(NoNodeError):
        zk.get_acls(root + "/missing")


def test_super_digest_bypasses_acls(zk, zk_factory, root):
    zk.create(root + "/private", b"p", acl=[make_digest_acl("carol", "c", all=True)])
    zk.create(root + "/nobody", b"n", acl=[make_acl("ip", "10.9.9.9", all=True)])
    sup = authed(zk_factory, S.SUPER_USER, S.SUPER_PASSWORD)
    assert sup.get(root + "/private")[0] == b"p"
    sup.set(root + "/private", b"q")
    sup.create(root + "/nobody/child")
    assert sup.get_acls(root + "/nobody")[0] == [make_acl("ip", "10.9.9.9", all=True)]
    sup.set_acls(root + "/nobody", OPEN_ACL_UNSAFE)
    zk.sync(root + "/nobody")  # another session's write
    assert zk.get(root + "/nobody")[0] == b"n"
    # a wrong super password is just another digest identity
    fake = authed(zk_factory, S.SUPER_USER, "not-it")
    with pytest.raises(NoAuthError):
        fake.get(root + "/private")


def test_acl_in_transaction(zk, zk_factory, root):
    zk.create(root + "/locked", acl=[make_digest_acl("dave", "d", all=True)])
    tx = zk.transaction()
    tx.create(root + "/ok")
    tx.create(root + "/locked/kid")
    results = tx.commit()
    assert [type(r) for r in results] == [RolledBackError, NoAuthError]
    assert zk.exists(root + "/ok") is None
    dave = authed(zk_factory, "dave", "d")
    tx = dave.transaction()
    tx.create(root + "/ok")
    tx.create(root + "/locked/kid")
    assert tx.commit() == [root + "/ok", root + "/locked/kid"]


def test_acls_of_sequential_and_ephemeral(zk_factory, root):
    eve = authed(zk_factory, "eve", "e")
    p = eve.create(root + "/s-", sequence=True, ephemeral=True,
                   acl=[make_digest_acl("eve", "e", read=True, write=True)])
    # without ADMIN on the node, getACL redacts digests to "user:x"
    # (ZooKeeper 3.8, ZOOKEEPER-1392)
    assert eve.get_acls(p)[0] == [ACL(Permissions.READ | Permissions.WRITE, Id("digest", "eve:x"))]
    with pytest.raises(NoAuthError):
        zk_factory().get(p)


def test_get_acls_redacts_digests_without_admin(zk, zk_factory, root):
    acls = [make_digest_acl("hank", "h", read=True, write=True),
            make_acl("world", "anyone", read=True)]
    zk.create(root + "/r", acl=acls)
    got, _ = zk.get_acls(root + "/r")
    assert sorted((a.perms, a.id.scheme, a.id.id) for a in got) == sorted([
        (Permissions.READ | Permissions.WRITE, "digest", "hank:x"),
        (Permissions.READ, "world", "anyone")])
    sup = authed(zk_factory, S.SUPER_USER, S.SUPER_PASSWORD)
    assert make_digest_acl("hank", "h", read=True, write=True) in sup.get_acls(root + "/r")[0]


def test_unknown_auth_scheme_fails_session(zk_factory):
    c = zk_factory()
    with pytest.raises(AuthFailedError):
        c.add_auth("nosuchscheme", "whatever")


def test_raw_unknown_auth_scheme_closes_connection(raw):
    assert raw.add_auth("nosuchscheme", b"x") == S.ZAUTHFAILED
    with pytest.raises((ConnectionError, OSError)):
        raw.exists("/")
        raw.exists("/")


def test_auth_resent_after_reconnect(zk, zk_factory, root):
    """Auth belongs to the connection; kazoo re-sends it when it reconnects
    and the server must accept it as part of the new connection."""
    zk.create(root + "/ra", b"ra", acl=[make_digest_acl("ivy", "i", all=True)])
    c = authed(zk_factory, "ivy", "i")
    assert c.get(root + "/ra")[0] == b"ra"
    sid = c.client_id[0]
    c._connection._socket.shutdown(2)
    from conftest import wait_until
    import time
    time.sleep(0.2)
    wait_until(lambda: c.connected, 15, message="reconnected")
    assert c.client_id[0] == sid
    assert c.retry(c.get, root + "/ra")[0] == b"ra"


def test_multiple_digest_identities(zk, zk_factory, root):
    zk.create(root + "/f", b"f", acl=[make_digest_acl("frank", "f", all=True)])
    zk.create(root + "/g", b"g", acl=[make_digest_acl("gina", "g", all=True)])
    c = zk_factory()
    c.add_auth("digest", "frank:f")
    c.add_auth("digest", "gina:g")
    assert c.get(root + "/f")[0] == b"f"
    assert c.get(root + "/g")[0] == b"g"
