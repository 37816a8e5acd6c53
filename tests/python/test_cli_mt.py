"""cli_mt, the C client shell of `zookeeper-bin` (libzookeeper_mt), against the server.

cli_mt reads one command a line from stdin and runs it asynchronously: the
completion prints "<path>: rc = N" and the result on stderr. The driver below
writes one command, waits for its completion text, then sends the next, so
stdin stays open (EOF would close the session with requests in flight).
Results are cross-checked with kazoo (conftest's `zk`). `cmd:<command>` as
second argument is the one-shot batch mode.
"""

import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest

CLI_MT = os.environ.get("CLI_MT") or shutil.which("cli_mt") or "/usr/lib/zookeeper/bin/cli_mt"
EVENT_RE = re.compile(r"^Watcher (\w+) state = (\w+)(?: for path (\S+))?$", re.M)
DUMPSTAT = r"\tctime = [^\n]*\n\tczxid=(?P<czxid>[0-9a-f]+)\n\tmtime=[^\n]*\n\tmzxid=(?P<mzxid>[0-9a-f]+)\n" \
           r"\tversion=(?P<version>[0-9a-f]+)\taversion=(?P<aversion>[0-9a-f]+)\n\tephemeralOwner = (?P<owner>[0-9a-f]+)\n"


class CliMt:
    def __init__(self, hosts, kind):
        if not os.path.exists(CLI_MT):
            pytest.fail(f"cli_mt not found at {CLI_MT}: run `bash tests/setup.sh`")
        self.kind = kind
        self.buf = ""
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [CLI_MT, hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.log = []  # (command, output) pairs, for failure messages

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            with self.cond:
                self.buf += chunk.decode("utf-8", "replace")
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, start=0, timeout=15, what=None):
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    pytest.fail(
                        f"cli_mt against {self.kind}: {what or 'output'} did not match /{pattern}/ within {timeout} s "
                        f"(exit code {self.proc.poll()}); output after the command:\n{self.buf[start:]}\n"
                        f"--- session so far ---\n{self.transcript()}"
                    )
                self.cond.wait(min(left, 0.2))

    def run(self, command, pattern, timeout=15):
        """Send `command`, wait until its output matches `pattern`; returns the match."""
        with self.cond:
            start = len(self.buf)
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        m = self.wait_for(pattern, start, timeout, what=f"`{command}`")
        self.log.append((command, self.buf[start:m.end()]))
        return m

    def transcript(self):
        return "\n".join(f"> {c}\n{o}" for c, o in self.log)

    def events(self):
        with self.cond:
            return [(t, s, p) for t, s, p in EVENT_RE.findall(self.buf)]

    # --- commands -----------------------------------------------------------
    def create(self, path, flags=""):
        cmd = f"create {flags + ' ' if flags else ''}{path}"
        p = re.escape(path)
        m = self.run(cmd, rf"^\[{p}\]: rc = (?:0\n\tname = (?P<name>\S+)\n|(?P<rc>-\d+)\n)")
        return int(m.group("rc") or 0), m.group("name")

    def get(self, path):
        p = re.escape(path)
        m = self.run(
            f"get {path}",
            rf"^{p}: rc = (?P<rc>-?\d+)\n(?: value_len = (?P<len>\d+)\n(?P<value>.*?)\nStat:\n{DUMPSTAT}|\nStat:\nnull\n)",
        )
        return m

    def set(self, path, data):
        p = re.escape(path)
        return self.run(f"set {path} {data}", rf"^{p}: rc = (?P<rc>-?\d+) Stat:\n(?:{DUMPSTAT}|null\n)")

    def ls(self, path):
        p = re.escape(path)
        m = self.run(f"ls {path}", rf"^{p}: rc = (?P<rc>-?\d+)\n(?P<children>(?:\t[^\n]*\n)*)time = \d+ msec\n")
        return int(m.group("rc")), sorted(c.strip() for c in m.group("children").splitlines())

    def ls2(self, path):
        p = re.escape(path)
        m = self.run(
            f"ls2 {path}",
            rf"^{p}: rc = (?P<rc>-?\d+)\n(?P<children>(?:\t[^\n]*\n)*)time = \d+ msec\n(?:{DUMPSTAT}|null\n)",
        )
        return m, sorted(c.strip() for c in m.group("children").splitlines())

    def delete(self, path):
        p = re.escape(path)
        return int(self.run(f"delete {path}", rf"^{p}: rc = (?P<rc>-?\d+)\n").group("rc"))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)


@pytest.fixture
def cli(server):
    c = CliMt(server.hosts, server.kind)
    yield c
    c.close()


ZNONODE, ZNODEEXISTS, ZNOTEMPTY = -101, -110, -111


def test_create_get_set_ls_delete(server, cli, zk):
    kazoo = zk
    root = f"/climt-{uuid.uuid4().hex[:10]}"
    session = int(cli.wait_for(r"^Got a new session id: 0x([0-9a-f]+)$", what="connect").group(1), 16)
    assert session != 0

    assert cli.create(root) == (0, root)
    assert cli.create(f"{root}/plain") == (0, f"{root}/plain")

    m = cli.get(f"{root}/plain")
    assert (m.group("rc"), m.group("len"), m.group("value")) == ("0", "3", "new"), cli.transcript()
    assert int(m.group("version"), 16) == 0 and int(m.group("owner"), 16) == 0, cli.transcript()
    czxid = int(m.group("czxid"), 16)
    assert czxid > 0 and int(m.group("mzxid"), 16) == czxid, cli.transcript()

    # `get` leaves a data watch: the set below fires it.
    m = cli.set(f"{root}/plain", "hello world")
    assert m.group("rc") == "0", cli.transcript()
    assert int(m.group("version"), 16) == 1, cli.transcript()
    assert int(m.group("mzxid"), 16) > czxid, cli.transcript()
    cli.wait_for(rf"^Watcher CHANGED_EVENT state = CONNECTED_STATE for path {re.escape(root)}/plain$",
                 what="data watch after set")

    m = cli.get(f"{root}/plain")
    assert (m.group("rc"), m.group("value")) == ("0", "hello world"), cli.transcript()
    assert int(m.group("version"), 16) == 1, cli.transcript()
    data, stat = kazoo.get(f"{root}/plain")
    assert data == b"hello world" and stat.version == 1

    # modes: sequential numbers come from the parent's cversion (1 child so far)
    assert cli.create(f"{root}/seq-", "+s") == (0, f"{root}/seq-0000000001")
    assert cli.create(f"{root}/eph", "+e") == (0, f"{root}/eph")
    assert cli.create(f"{root}/es-", "+es") == (0, f"{root}/es-0000000003")
    m = cli.get(f"{root}/eph")
    assert m.group("rc") == "0" and int(m.group("owner"), 16) == session, cli.transcript()
    assert kazoo.exists(f"{root}/eph").ephemeralOwner == session
    assert kazoo.exists(f"{root}/seq-0000000001").ephemeralOwner == 0

    expected_children = sorted(["plain", "seq-0000000001", "eph", "es-0000000003"])
    assert cli.ls(root) == (0, expected_children), cli.transcript()
    m, children = cli.ls2(root)
    assert m.group("rc") == "0" and children == expected_children, cli.transcript()
    assert sorted(kazoo.get_children(root)) == expected_children

    # errors
    assert cli.create(f"{root}/plain") == (ZNODEEXISTS, None)
    assert cli.create(f"{root}/missing/child") == (ZNONODE, None)
    assert cli.create(f"{root}/eph/child") == (-108, None)  # ZNOCHILDRENFOREPHEMERALS
    assert cli.get(f"{root}/nope").group("rc") == str(ZNONODE)
    assert cli.set(f"{root}/nope", "x").group("rc") == str(ZNONODE)
    assert cli.ls(f"{root}/nope") == (ZNONODE, [])
    assert cli.delete(f"{root}/nope") == ZNONODE
    assert cli.delete(root) == ZNOTEMPTY

    # a write from another client fires cli_mt's child watch (ls leaves one)
    kazoo.create(f"{root}/from-kazoo", b"k")
    cli.wait_for(rf"^Watcher CHILD_EVENT state = CONNECTED_STATE for path {re.escape(root)}$",
                 what="child watch after a kazoo create")

    assert cli.delete(f"{root}/plain") == 0
    assert cli.get(f"{root}/plain").group("rc") == str(ZNONODE)
    assert kazoo.exists(f"{root}/plain") is None

    # closing the session removes its ephemerals
    cli.close()
    assert re.search(r"^Quitting\.\.\.$", cli.buf, re.M), cli.buf
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (kazoo.exists(f"{root}/eph") or kazoo.exists(f"{root}/es-0000000003")):
        time.sleep(0.1)
    assert kazoo.exists(f"{root}/eph") is None and kazoo.exists(f"{root}/es-0000000003") is None
    assert sorted(kazoo.get_children(root)) == ["from-kazoo", "seq-0000000001"]
    kazoo.delete(root, recursive=True)


def test_batch_mode(server, zk):
    kazoo = zk
    root = f"/climt-batch-{uuid.uuid4().hex[:10]}"
    kazoo.create(f"{root}/a", b"x", makepath=True)
    kazoo.create(f"{root}/b", b"y")
    try:
        proc = subprocess.run([CLI_MT, server.hosts, f"cmd:ls {root}"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)
    finally:
        kazoo.delete(root, recursive=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    m = re.search(rf"^{re.escape(root)}: rc = 0\n((?:\t[^\n]*\n)*)", out, re.M)
    assert m, f"cli_mt cmd:ls printed:\n{out}"
    assert sorted(c.strip() for c in m.group(1).splitlines()) == ["a", "b"], out
