"""ZooKeeper's own Java shell, zkCli.sh (Debian package `zookeeper`), against the server.

zkCli.sh reads commands from stdin when JLine is off, so each test starts one
JVM and feeds it a whole script. After every command the script has the
purely local command `printwatches`, which prints "printwatches is on": those
lines cut the output into one segment per command. Watch notifications are
printed by another thread at any point, so they are taken out of the
segments and checked as a list of (type, path).

Command results go to stdout or stderr depending on the command (e.g.
"Created /x" is on stderr), so both are read merged, in order.
"""

import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field

import pytest

MARK_CMD = "printwatches"
MARK_LINE = "printwatches is on"
EVENT_RE = re.compile(r"WatchedEvent state:(\w+) type:(\w+) path:(\S+)")
STAT_KEYS = [
    "cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion",
    "dataVersion", "aclVersion", "ephemeralOwner", "dataLength", "numChildren",
]


def _find_zkcli():
    env = os.environ.get("ZKCLI")
    if env:
        return env
    try:
        listing = subprocess.run(["dpkg", "-L", "zookeeper"], capture_output=True, text=True, check=True).stdout
        for line in listing.splitlines():
            if line.endswith("/zkCli.sh") and os.access(line, os.X_OK):
                return line
    except (OSError, subprocess.CalledProcessError):
        pass
    return shutil.which("zkCli.sh") or "/usr/share/zookeeper/bin/zkCli.sh"


ZKCLI = _find_zkcli()


@dataclass
class CliRun:
    commands: list
    segments: list  # output lines of each command, in order
    events: list = field(default_factory=list)  # (type, path) of watch events, not session ones
    raw: str = ""

    def out(self, i):
        return "\n".join(self.segments[i])

    def find(self, command):
        """Output of the first command equal to `command`."""
        return self.out(self.commands.index(command))

    def explain(self):
        parts = []
        for cmd, seg in zip(self.commands, self.segments):
            parts.append(f"> {cmd}\n" + "\n".join(f"  {line}" for line in seg))
        parts.append(f"events: {self.events}")
        return "\n".join(parts)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def zkcli(server, commands, timeout=30):
    """Run `commands` in one zkCli.sh session against `server`; returns a CliRun."""
    if not os.path.exists(ZKCLI):
        pytest.fail(f"zkCli.sh not found at {ZKCLI}: run `bash tests/setup.sh`")
    script = [MARK_CMD]
    for cmd in commands:
        script += [cmd, MARK_CMD]
    script.append("quit")
    env = dict(os.environ, CLIENT_JVMFLAGS="-Xshare:auto -XX:TieredStopAtLevel=1 -Xss1m")
    # zkCli.sh runs java as a child of bash: own process group, killed whole on timeout
    proc = subprocess.Popen(
        [ZKCLI, "-server", server.hosts],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        raw, _ = proc.communicate("\n".join(script) + "\n", timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raw, _ = proc.communicate()
        pytest.fail(f"zkCli.sh against {server.kind} did not finish in {timeout} s; output:\n{raw}")
    finally:
        _kill_group(proc)
    events = []
    segments = [[]]
    for line in raw.splitlines():
        line = line.rstrip()
        m = EVENT_RE.search(line)
        if m:
            if m.group(2) != "None":
                events.append((m.group(2), m.group(3)))
            continue
        if line == MARK_LINE:
            segments.append([])
            continue
        if not line or line == "WATCHER::" or line.startswith("SLF4J:"):
            continue
        segments[-1].append(line)
    # segments[0] is the banner before the first marker; the last one is after "quit".
    cmd_segments = segments[1:len(commands) + 1]
    assert len(cmd_segments) == len(commands), (
        f"zkCli.sh against {server.kind} stopped early (exit {proc.returncode}): "
        f"{len(cmd_segments)} of {len(commands)} commands ran; output:\n{raw}"
    )
    return CliRun(commands=commands, segments=cmd_segments, events=events, raw=raw)


def parse_stat(lines):
    stat = {}
    for line in lines:
        m = re.match(r"^(\w+) = (.*)$", line)
        if m and m.group(1) in STAT_KEYS:
            stat[m.group(1)] = m.group(2)
    return stat


def as_int(value):
    return int(value, 16) if value.startswith("0x") else int(value)


def digest(user, password):
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(raw).decode()}"


@pytest.fixture
def root():
    """A unique path, not created (overrides conftest's `root`: zkCli creates it)."""
    return f"/zkcli-{uuid.uuid4().hex[:10]}"


def expect(run, i, pattern, what):
    out = run.out(i)
    assert re.search(pattern, out, re.M), (
        f"{what}: `{run.commands[i]}` printed {out!r}, expected /{pattern}/\n--- whole session ---\n{run.explain()}"
    )


def test_create_ls_get_set_delete(server, root):
    cmds = [
        f"create {root} rootdata",                # 0
        f"create {root}/p v0",                    # 1
        f"create -e -s {root}/eph- edata",        # 2
        f"create -s {root}/seq- s",               # 3
        f"create -s {root}/seq- s",               # 4
        f"create {root}/p again",                 # 5
        f"create {root}/missing/child x",         # 6
        f"ls {root}",                             # 7
        f"get -s {root}/p",                       # 8
        f"set {root}/p v1",                       # 9
        f"get -s {root}/p",                       # 10
        f"set -v 7 {root}/p stale",               # 11
        f"set -v 1 {root}/p v2",                  # 12
        f"get {root}/p",                          # 13
        f"get -s {root}/eph-0000000001",          # 14
        f"ls -s {root}",                          # 15
        f"stat {root}",                           # 16
        f"delete -v 9 {root}/p",                  # 17
        f"delete {root}",                         # 18
        f"delete -v 2 {root}/p",                  # 19
        f"get {root}/p",                          # 20
        f"delete {root}/p",                       # 21
        f"ls {root}/nope",                        # 22
        "ls /zookeeper",                          # 23
    ]
    run = zkcli(server, cmds)

    expect(run, 0, rf"^Created {root}$", "create persistent")
    expect(run, 1, rf"^Created {root}/p$", "create child")
    expect(run, 2, rf"^Created {root}/eph-0000000001$", "create -e -s")
    expect(run, 3, rf"^Created {root}/seq-0000000002$", "create -s (the number is the parent's cversion)")
    expect(run, 4, rf"^Created {root}/seq-0000000003$", "second create -s")
    expect(run, 5, rf"^Node already exists: {root}/p$", "create existing")
    expect(run, 6, rf"^Node does not exist: {root}/missing/child$", "create without parent")

    ls = run.out(7).strip()
    assert ls.startswith("[") and ls.endswith("]"), f"ls printed {ls!r}\n{run.explain()}"
    children = sorted(c.strip() for c in ls[1:-1].split(","))
    assert children == ["eph-0000000001", "p", "seq-0000000002", "seq-0000000003"], run.explain()

    # get -s: data line, then the stat block
    seg = run.segments[8]
    assert seg and seg[0] == "v0", f"get -s data line: expected 'v0', got {seg[:1]}\n{run.explain()}"
    stat = parse_stat(seg)
    assert list(stat) == STAT_KEYS, f"get -s stat fields: expected {STAT_KEYS}, got {list(stat)}\n{run.explain()}"
    assert as_int(stat["dataVersion"]) == 0
    assert as_int(stat["dataLength"]) == 2
    assert as_int(stat["numChildren"]) == 0
    assert as_int(stat["cversion"]) == 0
    assert as_int(stat["aclVersion"]) == 0
    assert stat["ephemeralOwner"] == "0x0"
    assert stat["cZxid"] == stat["mZxid"], stat
    assert as_int(stat["cZxid"]) > 0
    assert stat["ctime"] == stat["mtime"], stat

    assert run.out(9) == "", f"set prints nothing on success, got {run.out(9)!r}"
    stat2 = parse_stat(run.segments[10])
    assert run.segments[10][0] == "v1"
    assert as_int(stat2["dataVersion"]) == 1, stat2
    assert stat2["cZxid"] == stat["cZxid"], (stat, stat2)
    assert as_int(stat2["mZxid"]) > as_int(stat["mZxid"]), (stat, stat2)

    expect(run, 11, rf"^version No is not valid : {root}/p$", "set with a wrong version")
    assert run.out(12) == "", f"set -v 1 must succeed, got {run.out(12)!r}"
    assert run.segments[13] == ["v2"], f"get after set -v: {run.segments[13]}\n{run.explain()}"

    eph = parse_stat(run.segments[14])
    assert run.segments[14][0] == "edata"
    assert as_int(eph["ephemeralOwner"]) != 0, f"ephemeral node has ephemeralOwner {eph['ephemeralOwner']}"

    ls_s = run.segments[15]
    assert ls_s[0].startswith("["), ls_s
    root_stat = parse_stat(ls_s)
    assert as_int(root_stat["numChildren"]) == 4, root_stat
    assert as_int(root_stat["cversion"]) == 4, root_stat
    assert as_int(root_stat["dataLength"]) == len("rootdata"), root_stat
    assert parse_stat(run.segments[16]) == root_stat, f"stat vs ls -s: {run.segments[16]} vs {ls_s}"

    expect(run, 17, rf"^version No is not valid : {root}/p$", "delete with a wrong version")
    expect(run, 18, rf"^Node not empty: {root}$", "delete non-empty node")
    assert run.out(19) == "", f"delete -v 2 must succeed, got {run.out(19)!r}"
    expect(run, 20, rf"^Node does not exist: {root}/p$", "get deleted node")
    expect(run, 21, rf"^Node does not exist: {root}/p$", "delete deleted node")
    expect(run, 22, rf"^Node does not exist: {root}/nope$", "ls missing node")
    # ZooKeeper's system nodes (3.5+: /zookeeper/config for reconfig, /zookeeper/quota)
    assert sorted(run.out(23).strip("[]").split(", ")) == ["config", "quota"], \
        f"ls /zookeeper: expected '[config, quota]', got {run.out(23)!r}"
    assert run.events == [], f"no watches were set, got events {run.events}"

    # the ephemeral node disappears with the zkCli session
    run2 = zkcli(server, [f"ls {root}", f"deleteall {root}", f"ls {root}"])
    assert run2.out(0) == "[seq-0000000002, seq-0000000003]" or sorted(
        run2.out(0).strip("[]").split(", ")) == ["seq-0000000002", "seq-0000000003"], run2.explain()
    assert run2.out(1) == "", run2.explain()
    expect(run2, 2, rf"^Node does not exist: {root}$", "ls after deleteall")


def test_deleteall(server, root):
    cmds = [f"create {root} x"]
    tree = [f"{root}/a", f"{root}/a/b", f"{root}/a/b/c", f"{root}/a/b/c/d", f"{root}/e"]
    tree += [f"{root}/wide-{i:03d}" for i in range(60)]
    cmds += [f"create {p} d" for p in tree]
    cmds += [
        f"ls -R {root}",                 # n
        f"deleteall {root}/a",           # n+1
        f"ls {root}/a",                  # n+2
        f"deleteall {root}",             # n+3
        f"ls {root}",                    # n+4
        f"deleteall {root}",             # n+5
    ]
    n = len(tree) + 1
    run = zkcli(server, cmds)
    for i in range(n):
        assert run.out(i) == f"Created {cmds[i].split()[1]}", run.explain()
    listed = set(run.segments[n])
    assert listed == {root, *tree}, f"ls -R: missing {sorted({root, *tree} - listed)}, extra {sorted(listed - {root, *tree})}"
    assert run.out(n + 1) == "", f"deleteall subtree printed {run.out(n + 1)!r}"
    expect(run, n + 2, rf"^Node does not exist: {root}/a$", "ls after deleteall of a subtree")
    assert run.out(n + 3) == "", f"deleteall of a wide tree printed {run.out(n + 3)!r}"
    expect(run, n + 4, rf"^Node does not exist: {root}$", "ls after deleteall")
    expect(run, n + 5, rf"^Node does not exist: {root}$", "deleteall of a missing node")


def test_acl_and_auth(server, root):
    alice = digest("alice", "pw1")
    bob = digest("bob", "pw2")
    cmds = [
        f"create {root} r",                                   # 0
        f"getAcl {root}",                                     # 1
        "addauth digest alice:pw1",                           # 2
        f"create {root}/mine secret",                         # 3
        f"setAcl {root}/mine auth:alice:pw1:cdrwa",           # 4
        f"getAcl {root}/mine",                                # 5
        f"get {root}/mine",                                   # 6
        f"create {root}/ro ro",                               # 7
        f"setAcl {root}/ro world:anyone:r",                   # 8
        f"getAcl -s {root}/ro",                               # 9
        f"set {root}/ro w",                                   # 10
        f"get {root}/ro",                                     # 11
        f"create {root}/bobs b",                              # 12
        f"setAcl {root}/bobs digest:{bob}:cdrwa",             # 13
        f"get {root}/bobs",                                   # 14
        f"getAcl {root}/bobs",                                # 15
        f"setAcl -v 5 {root}/mine auth:alice:pw1:cdrwa",      # 16
        f"setAcl {root}/ro world:anyone:cdrwa",                # 17
        f"create {root}/multi m",                             # 18
        f"setAcl -v 0 {root}/multi ip:127.0.0.1:cdrwa,world:anyone:r",  # 19
        f"getAcl {root}/multi",                               # 20
        f"create {root}/withacl x digest:{alice}:rw",         # 21
        f"getAcl {root}/withacl",                             # 22
    ]
    run = zkcli(server, cmds)
    assert run.segments[1] == ["'world,'anyone", ": cdrwa"], run.explain()
    assert run.out(2) == "", f"addauth printed {run.out(2)!r}"
    assert run.out(4) == "", f"setAcl printed {run.out(4)!r}"
    assert run.segments[5] == [f"'digest,'{alice}", ": cdrwa"], run.explain()
    assert run.segments[6] == ["secret"], run.explain()
    assert run.segments[9][:2] == ["'world,'anyone", ": r"], run.explain()
    ro_stat = parse_stat(run.segments[9])
    assert as_int(ro_stat["aclVersion"]) == 1, f"aclVersion after one setAcl: {ro_stat}"
    expect(run, 10, rf"^Insufficient permission : {root}/ro$", "set on a read-only node")
    assert run.segments[11] == ["ro"], run.explain()
    expect(run, 14, rf"^Insufficient permission : {root}/bobs$", "get on another user's node")
    expect(run, 15, rf"^Insufficient permission : {root}/bobs$", "getAcl on another user's node")
    expect(run, 16, rf"^version No is not valid : {root}/mine$", "setAcl with a wrong aclVersion")
    expect(run, 17, rf"^Insufficient permission : {root}/ro$", "setAcl without ADMIN permission")
    assert run.out(19) == "", f"setAcl -v 0 with two entries printed {run.out(19)!r}"
    assert run.segments[20] == ["'ip,'127.0.0.1", ": cdrwa", "'world,'anyone", ": r"], run.explain()
    expect(run, 21, rf"^Created {root}/withacl$", "create with an ACL")
    # ZooKeeper >= 3.6 masks digest hashes for callers without ADMIN permission.
    assert run.segments[22] == ["'digest,'alice:x", ": rw"], run.explain()

    # A second session without credentials; then with wrong and right ones.
    run2 = zkcli(server, [
        f"get {root}/mine",
        f"getAcl {root}/mine",
        "addauth digest alice:wrong",
        f"get {root}/mine",
        "addauth digest alice:pw1",
        f"get {root}/mine",
        f"setAcl {root}/mine world:anyone:cdrwa",
        "addauth digest bob:pw2",
        f"get {root}/bobs",
        f"deleteall {root}",
        f"ls {root}",
    ])
    expect(run2, 0, rf"^Insufficient permission : {root}/mine$", "get without auth")
    expect(run2, 1, rf"^Insufficient permission : {root}/mine$", "getAcl without auth")
    expect(run2, 3, rf"^Insufficient permission : {root}/mine$", "get with a wrong password")
    assert run2.segments[5] == ["secret"], run2.explain()
    assert run2.out(6) == "", run2.explain()
    assert run2.segments[8] == ["b"], run2.explain()
    assert run2.out(9) == "", run2.explain()
    expect(run2, 10, rf"^Node does not exist: {root}$", "ls after deleteall")


def test_watches(server, root):
    cmds = [
        f"create {root} ''",
        f"create {root}/w x",
        f"addWatch -m PERSISTENT {root}/w",
        f"set {root}/w a",                         # NodeDataChanged w
        f"create {root}/w/c x",                    # NodeChildrenChanged w
        f"set {root}/w/c y",                       # nothing: PERSISTENT is not recursive
        f"addWatch -m PERSISTENT_RECURSIVE {root}/r",
        f"create {root}/r x",                      # NodeCreated r
        f"create {root}/r/a x",                    # NodeCreated r/a
        f"set {root}/r/a y",                       # NodeDataChanged r/a
        f"delete {root}/r/a",                      # NodeDeleted r/a
        f"get -w {root}/w/c",
        f"set {root}/w/c z",                       # NodeDataChanged w/c (one-shot)
        f"set {root}/w/c zz",                      # nothing
        f"ls -w {root}/r",
        f"create {root}/r/b x",                    # NodeChildrenChanged r (one-shot), NodeCreated r/b (recursive)
        f"removewatches {root}/w",                 # PersistentWatchRemoved w (client-side event)
        f"set {root}/w b",                         # nothing
        f"addWatch -m BOGUS {root}/w",
        f"sync {root}",
        f"get {root}/w",
    ]
    run = zkcli(server, cmds)
    for i, cmd in enumerate(cmds):
        if cmd.startswith(("addWatch -m P", "set", "removewatches")):
            assert run.out(i) == "", f"`{cmd}` printed {run.out(i)!r}\n{run.explain()}"
    expect(run, cmds.index(f"addWatch -m BOGUS {root}/w"), r"^addWatch \[-m mode\] path", "addWatch with a bad mode")
    expect(run, cmds.index(f"sync {root}"), r"^Sync is OK$", "sync")
    assert run.segments[-1] == ["b"], run.explain()
    w, r = f"{root}/w", f"{root}/r"
    expected = [
        ("NodeDataChanged", w),
        ("NodeChildrenChanged", w),
        ("NodeCreated", r),
        ("NodeCreated", f"{r}/a"),
        ("NodeDataChanged", f"{r}/a"),
        ("NodeDeleted", f"{r}/a"),
        ("NodeDataChanged", f"{w}/c"),
    ]
    got = run.events
    assert got[:len(expected)] == expected, f"watch events:\nexpected {expected}\ngot      {got}\n{run.explain()}"
    rest = got[len(expected):]
    # the one-shot child watch and the recursive watch fire for the same create: any order
    assert sorted(rest[:2]) == sorted([("NodeChildrenChanged", r), ("NodeCreated", f"{r}/b")]), got
    assert rest[2:] == [("PersistentWatchRemoved", w)], f"events after the last create: {rest[2:]}"
    zkcli(server, [f"deleteall {root}"])
