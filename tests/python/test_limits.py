"""Connection limits and shutdown: maxClientCnxns per address (both servers),
and a SIGTERM that stops corral-server cleanly without losing data."""

import os
import signal
import socket
import time

import pytest

from servers import RawClient

pytestmark = pytest.mark.timeout(120)


def closed_by_peer(sock, timeout=5.0):
    """True if the server closes `sock` (EOF or reset) within `timeout`."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("kind", ["corral", "zookeeper"])
def test_max_client_cnxns_per_address(server_factory, kind):
    if kind not in os.environ.get("CORRAL_TEST_KINDS", "corral,zookeeper").split(","):
        pytest.skip("kind not selected")
    srv = server_factory(kind, extra_cfg=["maxClientCnxns=3"])
    clients = [RawClient.to(srv) for _ in range(3)]
    try:
        extra = socket.create_connection((srv.host, srv.port))
        assert closed_by_peer(extra), "a 4th connection from one address is refused"
        extra.close()
        for i, c in enumerate(clients):
            assert c.create("/limit-%d" % i)[0] == 0, "the first three keep working"
        clients.pop().close()
        deadline = time.time() + 10
        while True:
            try:
                again = RawClient.to(srv)
                break
            except (OSError, ConnectionError):
                assert time.time() < deadline, "a freed slot is reusable"
                time.sleep(0.1)
        assert again.exists("/limit-0")[0] == 0
        again.close()
    finally:
        for c in clients:
            c.close()


def test_sigterm_stops_cleanly_and_keeps_data(server_factory):
    srv = server_factory("corral")
    with RawClient.to(srv) as c:
        for i in range(20):
            assert c.create("/term-%02d" % i, b"v")[0] == 0
        live = RawClient.to(srv)
    started = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(10) == 0, "exit status 0 after SIGTERM"
    assert time.time() - started < 5
    assert "shutting down" in srv.log_text()
    live.abort()
    srv.start()
    with RawClient.to(srv) as c:
        err, children, _ = c.children("/")
        assert err == 0
        assert len([x for x in children if x.startswith("term-")]) == 20
