"""A kazoo client and a corral client on the same server see each other's
writes, watches and ephemerals — against both servers."""

from conftest import Collector

from kazoo.protocol.states import ZnodeStat as KazooZnodeStat
from kazoo.security import make_digest_acl as kazoo_digest_acl


def test_each_sees_the_others_writes(zk, kazoo, root):
    kazoo.create(root + "/from-kazoo", b"k")
    assert zk.get(root + "/from-kazoo")[0] == b"k"
    zk.create(root + "/from-corral", b"c")
    data, kstat = kazoo.get(root + "/from-corral")
    assert data == b"c"
    cstat = zk.exists(root + "/from-corral")
    # same Stat, same field names
    assert tuple(cstat) == tuple(kstat)
    assert cstat._fields == KazooZnodeStat._fields
    zk.set(root + "/from-kazoo", b"k2")
    assert kazoo.get(root + "/from-kazoo")[0] == b"k2"
    kazoo.delete(root + "/from-corral")
    assert zk.exists(root + "/from-corral") is None
    assert sorted(kazoo.get_children(root)) == sorted(zk.get_children(root))


def test_watches_across_clients(zk, kazoo, root):
    path = root + "/n"
    corral_events, kazoo_events = Collector(), Collector()
    zk.exists(path, watch=corral_events)
    kazoo.exists(path, watch=kazoo_events)
    kazoo.create(path, b"1")
    assert corral_events.wait(1)[0].type == "CREATED"
    zk.get(path, watch=corral_events)
    kazoo.get(path, watch=kazoo_events)
    zk.set(path, b"2")
    assert corral_events.wait(2)[1].type == "CHANGED"
    kevs = kazoo_events.wait(2)
    # the same event shapes as kazoo's
    assert [tuple(e) for e in kevs] == [tuple(e) for e in corral_events.items]


def test_ephemeral_and_transactions_across(zk, kazoo, root, client_factory):
    c = client_factory()
    eph = c.create(root + "/eph", ephemeral=True)
    assert kazoo.exists(eph).ephemeralOwner == c.client_id[0]
    c.stop()
    assert kazoo.exists(eph) is None
    t = zk.transaction()
    t.create(root + "/t1", b"1")
    t.create(root + "/t2", b"2")
    t.commit()
    assert kazoo.get(root + "/t2")[0] == b"2"


def test_kazoo_acl_objects_accepted(zk, kazoo, root):
    acl = kazoo_digest_acl("carol", "pw", all=True)
    kazoo.add_auth("digest", "carol:pw")
    zk.add_auth("digest", "carol:pw")
    path = zk.create(root + "/acl", b"x", acl=[acl])
    acls, _ = kazoo.get_acls(path)
    assert [tuple(a.id) for a in acls] == [("digest", acl.id.id)]
    assert [tuple(a.id) for a in zk.get_acls(path)[0]] == [("digest", acl.id.id)]
