"""Durability of corral-server: every acknowledged write survives kill -9,
damaged log tails are cut off, damage elsewhere refuses to start, a full
disk fails writes cleanly and recovers.

Writers use the raw client (one request at a time, so each reply is an
acknowledgement) and keep a model of what the server acknowledged.
"""

import os
import random
import signal
import subprocess
import threading
import time

import pytest
from kazoo.client import KazooClient

from servers import RawClient, ServerError

NO_NODE = -101
SYSTEM_ERROR = -1

pytestmark = pytest.mark.timeout(240)


class Model(object):
    """What the server acknowledged, per path, and what is uncertain."""

    def __init__(self):
        self.lock = threading.Lock()
        self.present = {}  # path -> (data, version)
        self.absent = set()
        self.uncertain = {}  # path -> set of possible data (None = absent)
        self.attempted = set()

    def acked(self, path, data, version):
        with self.lock:
            self.present[path] = (data, version)
            self.absent.discard(path)
            self.uncertain.pop(path, None)

    def deleted(self, path):
        with self.lock:
            self.present.pop(path, None)
            self.absent.add(path)

    def unsure(self, path, *possible):
        """The request on `path` was in flight when the server died: any of
        `possible` (None = absent) may be what the server kept."""
        with self.lock:
            self.present.pop(path, None)
            self.absent.discard(path)
            self.uncertain.setdefault(path, set()).update(possible)


def writer(server, model, prefix, stop):
    """Creates, updates and deletes its own nodes until the server dies;
    the one request in flight at that moment is recorded as uncertain."""
    try:
        client = RawClient.to(server)
    except OSError:
        return
    mine = []
    i = 0
    in_flight = None  # (path, possible outcomes)
    try:
        while not stop.is_set():
            i += 1
            path = "%s-%d" % (prefix, i)
            data = ("%s:%d" % (prefix, i)).encode()
            if i % 7 == 0 and mine:
                victim, kept = mine.pop(random.randrange(len(mine)))
                in_flight = (victim, (kept, None))
                if client.delete(victim) == 0:
                    model.deleted(victim)
                in_flight = None
                continue
            model.attempted.add(path)
            in_flight = (path, (data, None))
            err, _ = client.create(path, data)
            assert err == 0, "create %s failed: %d" % (path, err)
            model.acked(path, data, 0)
            in_flight = None
            if i % 3 == 0:
                new = data + b"+"
                in_flight = (path, (data, new))
                err, _ = client.set(path, new)
                assert err == 0, "set %s failed: %d" % (path, err)
                model.acked(path, new, 1)
                in_flight = None
                mine.append((path, new))
            else:
                mine.append((path, data))
    except (OSError, EOFError, ConnectionError, TimeoutError):
        if in_flight:
            model.unsure(in_flight[0], *in_flight[1])


def verify(server, model, root):
    zk = KazooClient(hosts=server.hosts, timeout=5.0)
    zk.start(timeout=15)
    try:
        children = {root + "/" + c for c in zk.get_children(root)}
        with model.lock:
            for path, (data, version) in model.present.items():
                assert zk.exists(path) is not None, "acknowledged %s is gone" % path
                got, stat = zk.get(path)
                assert (got, stat.version) == (data, version), path
            for path in model.absent:
                assert zk.exists(path) is None, "deleted %s came back" % path
            for path, options in model.uncertain.items():
                if path in children:
                    got, _ = zk.get(path)
                    assert got in options, (path, got, options)
                else:
                    assert None in options, "%s vanished although acknowledged" % path
            # An uncertain outcome is settled by what the server kept.
            for path in list(model.uncertain):
                if path in children:
                    got, stat = zk.get(path)
                    model.present[path] = (got, stat.version)
                else:
                    model.absent.add(path)
            model.uncertain.clear()
            stray = children - model.attempted
            assert not stray, "never written: %s" % sorted(stray)
        return len(children)
    finally:
        zk.stop()
        zk.close()


def test_acknowledged_writes_survive_kill9_at_random_moments(server_factory):
    srv = server_factory("corral")
    root = "/dur"
    with RawClient.to(srv) as c:
        assert c.create(root)[0] == 0
    model = Model()
    rng = random.Random(20261122)
    kill_points = 20
    for round_no in range(kill_points):
        stop = threading.Event()
        threads = [
            threading.Thread(target=writer, args=(srv, model, "%s/r%d-w%d" % (root, round_no, t), stop))
            for t in range(3)
        ]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.4))
        srv.kill()
        stop.set()
        for t in threads:
            t.join(10)
        srv.start()
        count = verify(srv, model, root)
    assert len(model.present) > 100, "the writers got too little acknowledged"
    assert count >= len(model.present)


def newest_segment(srv):
    log_dir = os.path.join(srv.data_dir, "corral", "log")
    segments = sorted(f for f in os.listdir(log_dir) if f.endswith(".seg"))
    return os.path.join(log_dir, segments[-1])


def write_nodes(srv, n, prefix="/t"):
    with RawClient.to(srv) as c:
        for i in range(n):
            assert c.create("%s%03d" % (prefix, i), b"x" * 50)[0] == 0


def count_nodes(srv, prefix="t"):
    with RawClient.to(srv) as c:
        err, children, _ = c.children("/")
        assert err == 0
        return len([x for x in children if x.startswith(prefix)])


@pytest.mark.parametrize("damage", ["truncate", "zero_fill", "bit_flip_last"])
def test_torn_tail_of_the_newest_segment_is_cut_off(server_factory, damage):
    srv = server_factory("corral")
    write_nodes(srv, 30)
    srv.kill()
    seg = newest_segment(srv)
    size = os.path.getsize(seg)
    with open(seg, "r+b") as f:
        if damage == "truncate":
            f.truncate(size - 5)
        elif damage == "zero_fill":
            f.seek(0, 2)
            f.write(b"\0" * 4096)
        else:
            f.seek(size - 3)
            byte = f.read(1)
            f.seek(size - 3)
            f.write(bytes([byte[0] ^ 0x10]))
    srv.start()
    n = count_nodes(srv)
    # Only the last record can go; with the session's own txns after the
    # creates (none here), the last create is the one at risk.
    assert n in (29, 30), n
    assert "truncating the log" in srv.log_text()
    write_nodes(srv, 5, prefix="/after")
    srv.restart()
    assert count_nodes(srv, "after") == 5


def test_damage_in_the_middle_of_the_log_refuses_to_start(server_factory):
    srv = server_factory("corral")
    write_nodes(srv, 30)
    srv.kill()
    seg = newest_segment(srv)
    with open(seg, "r+b") as f:
        f.seek(20)
        byte = f.read(1)
        f.seek(20)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ServerError):
        srv.start()
    log = srv.log_text()
    assert os.path.basename(seg) in log and "offset" in log, log[-2000:]
    # The operator may choose to drop everything from the damage on.
    proc = subprocess.Popen(
        srv.command() + ["--truncate-corrupt-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if srv.four_letter("ruok", timeout=1.0) == "imok":
                    break
            except OSError:
                time.sleep(0.1)
        assert srv.four_letter("ruok") == "imok"
    finally:
        proc.kill()
        proc.wait()


def snapshots(srv):
    d = os.path.join(srv.data_dir, "corral", "snapshots")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".snap"))


@pytest.mark.parametrize("damage", ["truncate", "bit_flip", "zero_fill"])
def test_damaged_newest_snapshot_falls_back_or_refuses(server_factory, damage):
    srv = server_factory("corral", extra_cfg=["snapCount=40"])
    # A snapshot follows every 40 txns: write in steps and wait for each.
    for step, (start, count) in enumerate([(0, 60), (60, 60), (120, 30)]):
        with RawClient.to(srv) as c:
            for i in range(start, start + count):
                assert c.create("/t%03d" % i, b"x" * 50)[0] == 0
        deadline = time.time() + 10
        while len(snapshots(srv)) < min(step + 1, 2) and time.time() < deadline:
            time.sleep(0.05)
    assert len(snapshots(srv)) >= 2, "snapshots are taken every snapCount txns"
    srv.kill()
    newest = snapshots(srv)[-1]
    size = os.path.getsize(newest)
    with open(newest, "r+b") as f:
        if damage == "truncate":
            f.truncate(size - 7)
        elif damage == "zero_fill":
            f.seek(size - 64)
            f.write(b"\0" * 64)
        else:
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x08]))
    # An older snapshot plus the log still covers everything: start from it.
    srv.start()
    assert count_nodes(srv) == 150
    log = srv.log_text()
    assert os.path.basename(newest) in log and "offset" in log
    # With every snapshot damaged and the log purged past them, refuse.
    srv.kill()
    for snap in snapshots(srv):
        with open(snap, "r+b") as f:
            f.seek(10)
            f.write(b"\xff\xff")
    log_dir = os.path.join(srv.data_dir, "corral", "log")
    if os.path.exists(os.path.join(log_dir, "purged")):
        with pytest.raises(ServerError):
            srv.start()


def test_full_disk_fails_writes_keeps_reads_and_recovers(server_factory):
    base = os.path.join("/tmp", "corral-fulldisk-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", base], check=True)
    srv = None
    try:
        srv = server_factory("corral", base_dir=base)
        filler = os.path.join(base, "filler")
        with RawClient.to(srv) as c:
            assert c.create("/keep", b"v")[0] == 0
            # Take most of the space, then write until the disk refuses.
            with open(filler, "wb") as f:
                f.write(b"\0" * (3 << 20))
            acked = []
            errors = set()
            for i in range(3000):
                err, _ = c.create("/full-%04d" % i, b"y" * 900)
                if err == 0:
                    acked.append(i)
                else:
                    errors.add(err)
                    if len(acked) > 0 and i - len(acked) >= 5:
                        break
            assert errors == {SYSTEM_ERROR}, "writes fail with an error once the disk is full"
            err, data, _ = c.get("/keep")
            assert (err, data) == (0, b"v"), "reads go on while the disk is full"
            with pytest.raises(ConnectionError):
                RawClient.to(srv)  # a new session is a write too
            os.remove(filler)
            deadline = time.time() + 30
            while True:
                err, _ = c.create("/after-space-returns", b"z")
                if err == 0 or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert err == 0, "writes resume when space returns"
        srv.restart()
        with RawClient.to(srv) as c:
            for i in acked:
                assert c.exists("/full-%04d" % i)[0] == 0, "acknowledged /full-%04d lost" % i
            assert c.exists("/after-space-returns")[0] == 0
    finally:
        if srv is not None:
            srv.cleanup()
        subprocess.run(["umount", "-l", base], check=False)
        os.rmdir(base)


def test_sigterm_stops_a_server_whose_log_write_keeps_failing(server_factory):
    """A write the disk refuses is retried until space returns; SIGTERM
    still stops the server (within seconds), and a restart once there is
    space again finds everything acknowledged before."""
    base = os.path.join("/tmp", "corral-stuckdisk-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", base], check=True)
    srv = None
    zk = None
    try:
        srv = server_factory("corral", base_dir=base, extra_cfg=["jute.maxbuffer=4194304"])
        zk = KazooClient(hosts=srv.hosts, timeout=10.0)
        zk.start(timeout=15)
        zk.create("/keep", b"v")
        # Leave a little more than the reserve under which writes are
        # refused up front, then send one write larger than that: the log
        # writer holds a batch it cannot write.
        st = os.statvfs(base)
        with open(os.path.join(base, "filler"), "wb") as f:
            f.write(b"\0" * (st.f_bavail * st.f_frsize - (1536 << 10)))
        pending = zk.create_async("/big", b"b" * (2500 << 10))
        time.sleep(1.0)
        assert not pending.ready(), "a write larger than the free space was answered"
        t0 = time.time()
        srv._signal(signal.SIGTERM)
        srv.proc.wait(timeout=30)
        assert time.time() - t0 < 15, "SIGTERM took %.1f s" % (time.time() - t0)
        os.remove(os.path.join(base, "filler"))
        srv.restart()
        with RawClient.to(srv) as c:
            assert c.get("/keep")[:2] == (0, b"v")
    finally:
        if zk is not None:
            zk.stop()
            zk.close()
        if srv is not None:
            srv.cleanup()
        subprocess.run(["umount", "-l", base], check=False)
        os.rmdir(base)
