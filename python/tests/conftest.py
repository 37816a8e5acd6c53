"""Fixtures for the tests of the `corral` package: a corral-server and an
Apache ZooKeeper 3.8 on free loopback ports (tests/python/servers.py, the
repo's harness), corral clients, kazoo clients, unique test paths.

Kinds come from CORRAL_TEST_KINDS (default "corral,zookeeper"). The
corral-server binary is target/debug/corral-server (or $CORRAL_SERVER);
a missing binary is a setup error, never a skip.
"""

import os
import re
import sys
import threading
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "python"))

import servers  # noqa: E402  (the repo's server harness)
from servers import Server  # noqa: E402

import corral  # noqa: E402

# The servers run with tickTime=200: sessions are clamped to [0.4 s, 4 s].
SESSION_TIMEOUT = 4.0

KINDS = [k.strip() for k in os.environ.get("CORRAL_TEST_KINDS", "corral,zookeeper").split(",")
         if k.strip()]
for _k in KINDS:
    if _k not in servers.KINDS:
        raise pytest.UsageError("CORRAL_TEST_KINDS: unknown kind %r" % _k)


def pytest_collection_modifyitems(config, items):
    # A hung call must not hang `make test`.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


class Collector:
    """Thread-safe list of what callbacks deliver."""

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

    def wait_for(self, item, timeout=10.0):
        deadline = time.time() + timeout
        with self.cond:
            while item not in self.items:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise AssertionError("timed out waiting for %r, got %r" % (item, self.items))
                self.cond.wait(remaining)
            return list(self.items)

    def settle(self, duration=0.3):
        time.sleep(duration)
        with self.cond:
            return list(self.items)

    __hash__ = object.__hash__


@pytest.fixture(scope="session", params=KINDS, ids=KINDS)
def server(request):
    srv = Server(request.param)
    try:
        srv.start()
    except Exception:
        srv.cleanup()
        raise
    yield srv
    srv.cleanup()


@pytest.fixture
def server_factory():
    """Extra servers (for kills and restarts); cleaned up after the test."""
    made = []

    def make(kind, **kw):
        srv = Server(kind, **kw)
        made.append(srv)
        srv.start()
        return srv

    yield make
    for srv in made:
        srv.cleanup()


@pytest.fixture
def client_factory(server):
    """Started corral Clients (against `server` unless hosts= is given)."""
    made = []

    def make(hosts=None, start=True, timeout=SESSION_TIMEOUT, **kw):
        c = corral.Client(hosts or server.hosts, timeout=timeout, **kw)
        made.append(c)
        if start:
            c.start(timeout=15)
        return c

    yield make
    for c in made:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


@pytest.fixture
def zk(client_factory):
    return client_factory()


@pytest.fixture
def kazoo(server):
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry

    retry = KazooRetry(max_tries=-1, delay=0.05, backoff=2, max_delay=0.5)
    c = KazooClient(hosts=server.hosts, timeout=SESSION_TIMEOUT, connection_retry=retry)
    c.start(timeout=15)
    yield c
    c.stop()
    c.close()


@pytest.fixture
def root(request, zk):
    """A fresh node for the test; deleted afterwards."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")[:60]
    path = "/%s-%s" % (name, uuid.uuid4().hex[:8])
    zk.create(path)
    yield path
    try:
        zk.delete(path, recursive=True)
    except Exception:
        pass
