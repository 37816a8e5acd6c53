"""Read-only mode (`readonlymode.enabled=true`), against corral and a
3-node Apache ZooKeeper 3.8 ensemble: a member that lost its quorum serves
clients that asked for read-only sessions (reads from its copy of the tree,
NotReadOnly for writes), refuses the others, answers `isro` with "ro"; when
the quorum is back it leaves read-only mode and its clients get read-write
sessions again. The clients: kazoo and corral's Python package.
"""

import time

import corral
import corral.exceptions
import pytest
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState, KeeperState

from conftest import KINDS, kazoo_client
from ensemble import Ensemble

pytestmark = pytest.mark.timeout(240)


def with_jvm_flag(command, flag):
    """ZooKeeper reads readonlymode.enabled as a Java system property only."""

    def wrapped():
        cmd = command()
        i = cmd.index("-cp")
        return cmd[:i] + [flag] + cmd[i:]

    return wrapped


@pytest.fixture(params=KINDS)
def ensemble(request):
    kind = request.param
    if kind == "corral":
        ens = Ensemble(kind, voters=3, extra_cfg=["readonlymode.enabled=true"])
    else:
        # ZooKeeper 3.6+ grants read-only sessions only as local sessions
        # (documented since apache/zookeeper#1922); corral's read-only
        # sessions are local whatever this says.
        ens = Ensemble(kind, voters=3, extra_cfg=[
            "localSessionsEnabled=true", "localSessionsUpgradingEnabled=true",
        ])
        for m in ens.members:
            m.command = with_jvm_flag(m.command, "-Dreadonlymode.enabled=true")
    try:
        ens.start()
    except Exception:
        ens.cleanup()
        raise
    yield ens
    ens.cleanup()


def wait_for(what, predicate, timeout=30.0):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out waiting until %s" % what)
        time.sleep(0.1)


def isro(member):
    try:
        return member.four_letter("isro", timeout=1.0)
    except OSError:
        return None


def test_member_without_quorum_serves_read_only_clients(ensemble):
    survivor, others = ensemble.members[0], ensemble.members[1:]
    setup = kazoo_client(survivor.hosts)
    setup.start(timeout=15)
    try:
        setup.create("/ro/node", b"before", makepath=True)
        assert isro(survivor) == "rw"
    finally:
        setup.stop()
        setup.close()

    for m in others:
        m.stop()
    wait_for("the survivor is read-only", lambda: isro(survivor) == "ro")
    assert survivor.mode() == "read-only"

    ro = kazoo_client(survivor.hosts, read_only=True)
    ro.start(timeout=15)
    ours = corral.Client(survivor.hosts, timeout=4.0, read_only=True)
    ours.start(timeout=15)
    try:
        assert ro.client_state == KeeperState.CONNECTED_RO
        assert ro.state == KazooState.CONNECTED
        # Reads are served from the survivor's copy of the tree.
        assert ro.get("/ro/node")[0] == b"before"
        assert ro.get_children("/ro") == ["node"]
        assert ro.exists("/ro/missing") is None
        # Every write is refused.
        with pytest.raises(NotReadOnlyCallError):
            ro.create("/ro/new", b"x")
        with pytest.raises(NotReadOnlyCallError):
            ro.set("/ro/node", b"changed")
        with pytest.raises(NotReadOnlyCallError):
            ro.delete("/ro/node")
        assert ro.get("/ro/node")[0] == b"before"
        assert ours.get("/ro/node")[0] == b"before"
        with pytest.raises(corral.exceptions.NotReadOnlyCallError):
            ours.create("/ro/ours", b"x")

        # A client that did not ask for read-only gets no session here.
        rw = kazoo_client(survivor.hosts)
        try:
            with pytest.raises(KazooTimeoutError):
                rw.start(timeout=3)
        finally:
            rw.stop()
            rw.close()
        assert isro(survivor) == "ro"

        # The quorum comes back: the survivor leaves read-only mode and the
        # client gets a read-write session there.
        for m in others:
            ensemble.start_member(m)
        wait_for("the survivor is read-write", lambda: isro(survivor) == "rw")
        wait_for("the client is read-write", lambda: ro.client_state == KeeperState.CONNECTED)
        ro.retry(ro.create, "/ro/after", b"x")
        assert ro.get("/ro/after")[0] == b"x"
        assert ro.get("/ro/node")[0] == b"before"
        assert survivor.mode() in ("leader", "follower")
        wait_for("corral's client writes again", lambda: try_create(ours, "/ro/ours"))
        assert ours.get("/ro/ours")[0] == b"x"
    finally:
        ro.stop()
        ro.close()
        ours.stop()
        ours.close()


def try_create(client, path):
    try:
        client.create(path, b"x")
        return True
    except corral.exceptions.NodeExistsError:
        return True  # an earlier attempt went through
    except (corral.exceptions.NotReadOnlyCallError, corral.exceptions.ConnectionLoss,
            corral.exceptions.SessionExpiredError):
        return False
