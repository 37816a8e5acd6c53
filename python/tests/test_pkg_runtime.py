"""Session states through a server kill and restart, expiry and a new
session, threads sharing a client, the GIL released while blocking,
Ctrl-C during a blocking call, and fork — against both servers."""

import os
import signal
import sys
import threading
import time

import pytest
import servers
from conftest import Collector, wait_until

import corral
from corral import exceptions as ex


def test_listener_states_through_kill_and_restart(server_factory, server):
    srv = server_factory(server.kind)
    c = corral.Client(srv.hosts, timeout=4.0)
    states = Collector()
    c.add_listener(states)
    c.start()
    assert states.wait(1) == ["CONNECTED"]
    sid = c.client_id[0]
    c.create("/persist", b"1")
    srv.kill()
    states.wait_for("SUSPENDED")
    assert c.state == "SUSPENDED" and not c.connected
    srv.start()
    assert states.wait(3, timeout=30) == ["CONNECTED", "SUSPENDED", "CONNECTED"]
    assert c.client_id[0] == sid  # same session, resumed
    assert c.get("/persist")[0] == b"1"
    c.stop()
    assert states.items == ["CONNECTED", "SUSPENDED", "CONNECTED", "LOST"]
    c.close()


def test_expiry_lost_then_new_session(server_factory, server):
    """As kazoo: after an expiry the listeners see LOST, pending watches a
    NONE/EXPIRED_SESSION event, and the client gets a new session."""
    srv = server_factory(server.kind)
    c = corral.Client(srv.hosts, timeout=1.0)
    states = Collector()
    events = Collector()
    c.add_listener(states)
    c.start()
    sid = c.client_id[0]
    c.exists("/nothing", watch=events)
    srv.kill()
    states.wait_for("LOST", timeout=30)
    ev = events.wait(1)[0]
    assert (ev.type, ev.state, ev.path) == ("NONE", "EXPIRED_SESSION", None)
    with pytest.raises(ex.SessionExpiredError):
        c.get("/")
    srv.start()
    wait_until(lambda: states.items[-1] == "CONNECTED" and c.connected, timeout=30,
               message="a new session")
    assert c.client_id[0] != sid
    assert c.exists("/") is not None
    c.stop()
    c.close()


def test_listener_removed_when_returning_true(client_factory):
    c = client_factory(start=False)
    calls = Collector()

    def once(state):
        calls(state)
        return True

    c.add_listener(once)
    c.add_listener(once)  # a set, as kazoo's
    c.start()
    c.stop()
    assert calls.settle(0.3) == ["CONNECTED"]
    other = Collector()
    c.add_listener(other)
    c.remove_listener(other)
    c.start()
    assert other.settle(0.3) == []


def test_fifty_threads_share_one_client(zk, root):
    errors = []

    def worker(n):
        try:
            base = "%s/w%d" % (root, n)
            zk.create(base, b"0")
            for i in range(20):
                st = zk.set(base, str(i).encode(), version=i)
                assert st.version == i + 1
                assert zk.get(base)[0] == str(i).encode()
            zk.delete(base)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert zk.get_children(root) == []


def test_gil_released_while_blocking(server):
    """While one thread blocks in start() on an unresponsive server, other
    Python threads keep running."""
    proxy = servers.Proxy(server.host, server.port)
    proxy.pause()
    c = corral.Client(proxy.hosts)
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        wait_until(lambda: counter[0] > 0, message="the spinner")
        before, count_before = time.time(), counter[0]
        with pytest.raises(ex.KazooTimeoutError):
            c.start(timeout=1.0)
        spun = counter[0] - count_before
        assert time.time() - before >= 0.9
        # a thread holding the GIL in native code would starve the spinner
        assert spun > 10000, "the spinner ran %d times in 1 s: GIL held?" % spun
    finally:
        stop.set()
        t.join()
        c.close()
        proxy.close()


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("other_thread_waiting", [False, True])
def test_signal_interrupts_blocking_call(server, other_thread_waiting):
    """A signal handler's exception (Ctrl-C's KeyboardInterrupt) interrupts
    a call of the main thread blocked on an unresponsive server, whether it
    waits alone (running the runtime itself) or alongside another thread's
    call (parked while the driver thread runs it); the client works
    afterwards."""
    assert threading.current_thread() is threading.main_thread()
    other_results = []

    def other_call():
        try:
            other_results.append(c.get("/"))
        except ex.ZookeeperError as e:
            other_results.append(e)

    def on_sigint(signum, frame):
        raise Interrupted()

    proxy = servers.Proxy(server.host, server.port)
    c = corral.Client(proxy.hosts, timeout=10.0)
    previous = signal.signal(signal.SIGINT, on_sigint)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        c.start()
        proxy.pause()
        other = threading.Thread(target=other_call)
        if other_thread_waiting:
            dropped = proxy.dropped
            other.start()
            # Its request went out: the other thread waits for the reply.
            wait_until(lambda: proxy.dropped > dropped, message="the other call's request")
        before = time.time()
        timer.start()
        with pytest.raises(Interrupted):
            c.get("/")
        assert time.time() - before < 3.0
        proxy.resume()
        if other_thread_waiting:
            other.join(timeout=30)
            assert not other.is_alive()
            assert len(other_results) == 1

        def exists():
            try:
                return c.exists("/") is not None
            except ex.ConnectionLoss:
                return False

        wait_until(exists, message="a call after the interrupted one")
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
        c.close()
        proxy.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork(zk, root, server):
    """In the child of os.fork(): a new client works (fresh runtime); the
    inherited one fails cleanly instead of hanging. The parent's is fine."""
    zk.create(root + "/before-fork")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_fd)
            try:
                zk.get(root)
                result = "inherited client worked?!"
            except ex.ConnectionClosedError:
                child = corral.Client(server.hosts, timeout=4.0)
                child.start()
                child.create(root + "/from-child", b"%d" % os.getpid())
                data = child.get(root + "/before-fork")[0]
                child.stop()
                child.close()
                result = "ok" if data == b"" else "bad data"
            os.write(write_fd, result.encode())
            code = 0
        except BaseException as e:
            os.write(write_fd, ("child error: %r" % (e,)).encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        result = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert result == "ok"
    assert os.WEXITSTATUS(status) == 0
    assert zk.get(root + "/from-child")[0] == str(pid).encode()
    zk.create(root + "/after-fork")
