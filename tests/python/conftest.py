"""Fixtures: servers of each kind, kazoo clients, unique test roots.

Kinds come from CORRAL_TEST_KINDS (comma separated, default
"corral,zookeeper,corral-ensemble").  A missing corral-server binary makes
the corral tests fail (setup error), never skip.

"corral-ensemble" is three corral voters (ensemble.EnsembleServer); the
kazoo scenario suite (test_kazoo_*.py, test_differential.py) runs against
it too, the other modules do not (their tests are deselected). Its
clients are spread over the members: `zk_factory` and `raw_factory` start
each new client at the next member. "zookeeper-ensemble" (not a default)
is the same with Apache ZooKeeper.
"""

import os
import re
import sys
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

sys.path.insert(0, os.path.dirname(__file__))

import servers  # noqa: E402
from ensemble import ENSEMBLE_KINDS, EnsembleServer  # noqa: E402
from servers import Server, RawClient  # noqa: E402

# Default kazoo session timeout (seconds). The servers run with tickTime=200,
# so the negotiated timeout is clamped to [0.4 s, 4 s].
SESSION_TIMEOUT = 4.0


def fast_retry():
    """Reconnect quickly (kazoo's default backs off up to a minute)."""
    return KazooRetry(max_tries=-1, delay=0.05, backoff=2, max_delay=0.5)


def kazoo_client(hosts, timeout=SESSION_TIMEOUT, **kw):
    kw.setdefault("connection_retry", fast_retry())
    return KazooClient(hosts=hosts, timeout=timeout, **kw)


def selected_kinds():
    raw = os.environ.get("CORRAL_TEST_KINDS", "corral,zookeeper,corral-ensemble")
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    for k in kinds:
        if k not in servers.KINDS and k not in ENSEMBLE_KINDS:
            raise pytest.UsageError("CORRAL_TEST_KINDS: unknown kind %r" % k)
    return kinds


# Every selected kind: the `server` fixture's parameters.
SERVER_KINDS = selected_kinds()
# The server programs selected ("corral", "zookeeper"), an ensemble kind
# counting as its base kind: what the ensemble tests build ensembles of.
KINDS = []
for _k in SERVER_KINDS:
    _k = ENSEMBLE_KINDS.get(_k, _k)
    if _k not in KINDS:
        KINDS.append(_k)

# Modules whose tests run against the ensemble kinds too.
ENSEMBLE_SUITE = ("test_kazoo_", "test_differential")


def make_server(kind, **kw):
    """A (not yet started) server of any selected kind."""
    if kind in ENSEMBLE_KINDS:
        return EnsembleServer(kind, **kw)
    return Server(kind, **kw)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kinds(*names): run this test only against these server kinds"
    )


# A hung kazoo call must not hang `make test`: every test of this suite
# gets a timeout (pytest-timeout) unless it sets its own or --timeout is given.
SUITE_TIMEOUT = 120


def pytest_collection_modifyitems(config, items):
    explicit = getattr(config.option, "timeout", None)
    keep, dropped = [], []
    for item in items:
        name = os.path.basename(str(item.fspath))
        callspec = getattr(item, "callspec", None)
        if (callspec and callspec.params.get("server") in ENSEMBLE_KINDS
                and not name.startswith(ENSEMBLE_SUITE)):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    for item in items:
        name = os.path.basename(str(item.fspath))
        if (not explicit and item.get_closest_marker("timeout") is None
                and (name.startswith("test_kazoo_") or name.startswith("test_differential"))):
            item.add_marker(pytest.mark.timeout(SUITE_TIMEOUT))
        marker = item.get_closest_marker("kinds")
        if marker is None:
            continue
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("server") if callspec else None
        if kind is not None and kind not in marker.args:
            item.add_marker(pytest.mark.skip(reason="not for %s" % kind))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


class Collector(object):
    """Thread-safe list of things delivered by callbacks."""

    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def __call__(self, *args):
        item = args[0] if len(args) == 1 else args
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait(self, count=1, timeout=10.0):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.items) < count:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError(
                        "timed out waiting for %d items, got %r" % (count, self.items))
                self.cond.wait(remaining)
            return list(self.items)

    def settle(self, duration=0.3):
        """Give stray deliveries a chance to arrive, then return all."""
        time.sleep(duration)
        with self.cond:
            return list(self.items)

    def __len__(self):
        with self.cond:
            return len(self.items)

    def __bool__(self):
        # kazoo tests watchers/listeners for truth: never be falsy when empty
        return True

    __hash__ = object.__hash__


def _unique_root(request):
    name = request.node.name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    return "/%s-%d" % (name[:80], int(time.time() * 1000) % 1000000)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module", params=SERVER_KINDS, ids=SERVER_KINDS)
def server(request):
    srv = make_server(request.param)
    try:
        srv.start()
    except Exception:
        srv.cleanup()
        raise
    yield srv
    srv.cleanup()


@pytest.fixture
def kind(server):
    return server.kind


@pytest.fixture
def server_factory():
    """Make extra servers (own config, restarts); all cleaned up after."""
    made = []

    def make(kind, start=True, **kw):
        srv = make_server(kind, **kw)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        srv.cleanup()


@pytest.fixture
def zk_factory(server):
    """Make more started KazooClients (against `server` unless hosts= given;
    each at the next member of an ensemble)."""
    clients = []

    def make(hosts=None, start=True, timeout=SESSION_TIMEOUT, **kw):
        if hosts is None:
            hosts = server.client_hosts()
            kw.setdefault("randomize_hosts", False)
        c = kazoo_client(hosts, timeout=timeout, **kw)
        clients.append(c)
        if start:
            c.start(timeout=15)
        return c

    yield make
    for c in clients:
        try:
            c.stop()
        except Exception:
            pass
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def zk(zk_factory):
    return zk_factory()


@pytest.fixture
def raw_factory(server):
    made = []

    def make(**kw):
        c = RawClient.to(server.next_member(), **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def raw(raw_factory):
    return raw_factory()


@pytest.fixture
def root(request, zk, server):
    """A unique, existing root path for this test, visible at every member.

    In an ensemble another member applies the create a moment after the one
    that answered; a test whose other client sits there must still find it."""
    path = _unique_root(request)
    zk.ensure_path(path)
    members = server.all_servers()
    if len(members) > 1:
        for member in members:
            probe = RawClient.to(member)
            try:
                wait_until(lambda: probe.exists(path)[0] == 0, 15, message="%s at %s" % (path, member.hosts))
            finally:
                probe.close()
    return path
