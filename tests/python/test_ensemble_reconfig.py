"""Membership changes at run time (`reconfig`, reconfigEnabled=true): a
new server joins as a participant, the leader is removed, an observer joins
and is promoted, a whole new member list replaces the old one; the
configuration in /zookeeper/config, its version checks and its ACL; the
membership after a restart. Each test also runs against an Apache ZooKeeper
3.8 ensemble, so what it asserts is ZooKeeper's behaviour.

Every server is started as ZooKeeper's admin guide says: the members of the
running ensemble have its lines, a new server has those plus its own.
"""

import threading
import time

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    ConnectionLoss,
    KazooException,
    NoAuthError,
    NodeExistsError,
)

from conftest import KINDS, kazoo_client
from ensemble import Member
from servers import SUPER_PASSWORD, SUPER_USER, RawClient, enc_long, enc_str, free_port
from test_zkcli import zkcli

pytestmark = pytest.mark.timeout(300)

OP_RECONFIG = 16
RECONFIG_DISABLED = -123


class Cluster(object):
    """Servers 1..count on loopback; `start(ids, members)` starts those
    servers with zoo.cfg lines for `members` (+ themselves)."""

    def __init__(self, kind, count, reconfig=True):
        self.kind = kind
        extra = ["reconfigEnabled=%s" % ("true" if reconfig else "false")]
        if kind == "zookeeper":
            extra.append("standaloneEnabled=false")
        self.quorum = {i: (free_port(), free_port()) for i in range(1, count + 1)}
        self.members = {i: Member(kind, i, [], extra_cfg=extra) for i in self.quorum}

    def line(self, i, role="participant"):
        peer, election = self.quorum[i]
        return "server.%d=127.0.0.1:%d:%d:%s;127.0.0.1:%d" % (
            i, peer, election, role, self.members[i].port)

    def start(self, ids, members, roles=None, wait=True):
        roles = roles or {}
        for i in ids:
            m = self.members[i]
            lines = [self.line(j, roles.get(j, "participant")) for j in sorted(set(members) | {i})]
            m.ensemble_lines = lines
            m._write_cfg()
            ready, m._wait_ready = m._wait_ready, lambda: None
            try:
                m.start()
            finally:
                m._wait_ready = ready
        if wait:
            for i in ids:
                self.wait_mode(i, ("leader", "follower", "observer"))

    def wait_mode(self, i, modes, timeout=60.0):
        m = self.members[i]
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert m.running(), "%r exited; log:\n%s" % (m, m.log_tail())
            if m.mode() in modes:
                return m.mode()
            time.sleep(0.1)
        raise AssertionError("server %d not in %s after %.0fs (mode %s); log:\n%s"
                             % (i, modes, timeout, m.mode(), m.log_tail()))

    def leader(self, ids, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i in ids:
                if self.members[i].running() and self.members[i].mode() == "leader":
                    return i
            time.sleep(0.1)
        raise AssertionError("no leader among %s" % (ids,))

    def client(self, i, admin=True):
        c = kazoo_client(self.members[i].hosts)
        c.start(timeout=20)
        if admin:
            c.add_auth("digest", "%s:%s" % (SUPER_USER, SUPER_PASSWORD))
        return c

    def cleanup(self):
        for m in self.members.values():
            m.cleanup()


@pytest.fixture
def clusters():
    made = []

    def make(kind, count, **kw):
        c = Cluster(kind, count, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.cleanup()


def config_of(client):
    """(member lines by id, version) of /zookeeper/config, waiting while a
    new ensemble has not written it yet."""
    deadline = time.time() + 10
    while True:
        data, stat = client.get("/zookeeper/config")
        if data or time.time() > deadline:
            break
        time.sleep(0.1)
    return parse_config(data)


def parse_config(data):
    members, version = {}, None
    for line in data.decode().splitlines():
        key, value = line.split("=", 1)
        if key == "version":
            version = int(value, 16)
        else:
            members[int(key[len("server."):])] = "%s=%s" % (key, value)
    return members, version


def retried(call, timeout=30.0):
    """`call()`, retried while the ensemble elects a leader."""
    deadline = time.time() + timeout
    while True:
        try:
            return call()
        except KazooException:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def write_until_ok(client, path):
    def create():
        try:
            client.create(path, b"x")
        except NodeExistsError:  # made before the connection was lost
            pass
    retried(create)


@pytest.mark.parametrize("kind", KINDS)
def test_a_participant_joins_and_the_leader_leaves(kind, clusters):
    cl = clusters(kind, 4)
    cl.start([1, 2, 3], [1, 2, 3])
    cl.start([4], [1, 2, 3, 4], wait=False)
    leader = cl.leader([1, 2, 3])
    follower = next(i for i in (1, 2, 3) if i != leader)
    admin = cl.client(follower)
    members, version = config_of(admin)
    assert members == {i: cl.line(i) for i in (1, 2, 3)}
    _, stat = admin.get("/zookeeper/config")
    assert (stat.mzxid, stat.version, stat.aversion) == (version, -1, -1)

    # Only the super user (or skipACL) may write the configuration, and
    # only to the version it names.
    anyone = cl.client(follower, admin=False)
    with pytest.raises(NoAuthError):
        anyone.reconfig(joining=cl.line(4), leaving=None, new_members=None)
    anyone.stop()
    with pytest.raises(BadVersionError):
        admin.reconfig(joining=cl.line(4), leaving=None, new_members=None, from_config=version + 1)
    with pytest.raises(BadArgumentsError):
        admin.reconfig(joining="server.4=127.0.0.1:1:2", leaving=None, new_members=None)

    changed = threading.Event()
    admin.get("/zookeeper/config", watch=lambda event: changed.set())
    data, stat = admin.reconfig(joining=cl.line(4), leaving=None, new_members=None,
                                from_config=version)
    members, new_version = parse_config(data)
    assert members == {i: cl.line(i) for i in (1, 2, 3, 4)}
    assert new_version > version
    assert (stat.mzxid, stat.version) == (new_version, -1)
    assert admin.get("/zookeeper/config") == (data, stat)
    assert changed.wait(10), "the config watch did not fire"

    # The new member serves, takes writes, and has everything.
    assert cl.wait_mode(4, ("follower",)) == "follower"
    on4 = cl.client(4)
    assert on4.get("/zookeeper/config")[0] == data
    on4.create("/joined", b"4")
    for i in (1, 2, 3):
        c = cl.client(i)
        c.sync("/joined")
        assert c.get("/joined")[0] == b"4"
        c.stop()

    # The leader leaves; the three others go on. (ZooKeeper's followers
    # restart as the leader goes, and may drop the connection that asked.)
    try:
        data, _ = on4.reconfig(joining=None, leaving=str(leader), new_members=None)
    except ConnectionLoss:
        data = retried(lambda: on4.get("/zookeeper/config")[0])
    members, _ = parse_config(data)
    assert sorted(members) == sorted({1, 2, 3, 4} - {leader})
    remaining = [i for i in (1, 2, 3, 4) if i != leader]
    for i in remaining:
        c = cl.client(i)
        write_until_ok(c, "/after-%d" % i)
        assert parse_config(c.get("/zookeeper/config")[0])[0] == members
        c.stop()

    # It no longer votes: with it and one more member gone, the last two
    # are a majority of three (two of four would not be).
    cl.members[leader].kill()
    cl.members[remaining[0]].kill()
    on4.stop()
    last = cl.client(remaining[-1])
    write_until_ok(last, "/two-of-three")
    last.stop()
    admin.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_an_observer_joins_is_promoted_and_members_are_replaced(kind, clusters):
    cl = clusters(kind, 4)
    cl.start([1, 2, 3], [1, 2, 3])
    cl.start([4], [1, 2, 3, 4], roles={4: "observer"}, wait=False)
    admin = cl.client(cl.leader([1, 2, 3]))
    config_of(admin)

    data, _ = admin.reconfig(joining=cl.line(4, "observer"), leaving=None, new_members=None)
    assert parse_config(data)[0][4] == cl.line(4, "observer")
    assert cl.wait_mode(4, ("observer",)) == "observer"
    on4 = cl.client(4)
    on4.create("/from-observer", b"o")
    assert admin.get("/from-observer")[0] == b"o"

    data, _ = admin.reconfig(joining=cl.line(4), leaving=None, new_members=None)
    assert parse_config(data)[0][4] == cl.line(4)
    assert cl.wait_mode(4, ("follower", "leader")) in ("follower", "leader")

    # Non-incremental: the whole list, server 1 not in it.
    new_members = ",".join(cl.line(i) for i in (2, 3, 4))
    data, _ = on4.reconfig(joining=None, leaving=None, new_members=new_members)
    assert parse_config(data)[0] == {i: cl.line(i) for i in (2, 3, 4)}
    for i in (2, 3, 4):
        c = cl.client(i)
        write_until_ok(c, "/replaced-%d" % i)
        c.stop()
    on4.stop()
    admin.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_the_new_membership_survives_a_restart(kind, clusters):
    cl = clusters(kind, 4)
    cl.start([1, 2, 3], [1, 2, 3])
    cl.start([4], [1, 2, 3, 4], wait=False)
    admin = cl.client(cl.leader([1, 2, 3]))
    config_of(admin)
    admin.reconfig(joining=cl.line(4), leaving=None, new_members=None)
    data, _ = admin.reconfig(joining=None, leaving="1", new_members=None)
    admin.create("/before-restart", b"r")
    admin.stop()
    cl.wait_mode(4, ("follower", "leader"))

    # Servers 2 and 3 come back with zoo.cfg files that still name 1, 2, 3
    # (and not 4): the committed membership wins.
    for i in (1, 2, 3, 4):
        cl.members[i].stop()
    for i in (2, 3, 4):
        m = cl.members[i]
        ready, m._wait_ready = m._wait_ready, lambda: None
        try:
            m.start()
        finally:
            m._wait_ready = ready
    for i in (2, 3, 4):
        cl.wait_mode(i, ("leader", "follower"))
    c = cl.client(2)
    assert c.get("/zookeeper/config")[0] == data
    assert c.get("/before-restart")[0] == b"r"
    c.stop()

    # 2 and 4 are a majority of {2, 3, 4}: 2 knows where 4 is.
    cl.members[3].kill()
    c = cl.client(4)
    write_until_ok(c, "/after-restart")
    c.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_reconfig_disabled(kind, clusters):
    # Raw: kazoo 2.10 has no exception for RECONFIGDISABLED (-123); its
    # reader thread dies on the unknown code and the session is lost.
    cl = clusters(kind, 3, reconfig=False)
    cl.start([1, 2, 3], [1, 2, 3])
    raw = RawClient.to(cl.members[cl.leader([1, 2, 3])])
    body = enc_str("") + enc_str("3") + enc_str("") + enc_long(-1)
    reply = raw.request(OP_RECONFIG, body)
    assert reply.err == RECONFIG_DISABLED
    raw.close()
    # The configuration is readable all the same.
    c = cl.client(1)
    assert sorted(config_of(c)[0]) == [1, 2, 3]
    c.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_zkcli_reconfig_add_and_config(kind, clusters):
    cl = clusters(kind, 4)
    cl.start([1, 2, 3], [1, 2, 3])
    cl.start([4], [1, 2, 3, 4], wait=False)
    c = cl.client(cl.leader([1, 2, 3]))
    config_of(c)
    c.stop()
    run = zkcli(cl.members[1], [
        "addauth digest %s:%s" % (SUPER_USER, SUPER_PASSWORD),
        "reconfig -add %s" % cl.line(4),
        "config",
    ], timeout=90)
    assert cl.line(4) in run.find("reconfig -add %s" % cl.line(4)), run.explain()
    out = run.find("config")
    for i in (1, 2, 3, 4):
        assert cl.line(i) in out, run.explain()
    assert "version=" in out, run.explain()
