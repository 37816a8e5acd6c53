"""corral-client vs kazoo: every operation, error and watch event of one
scripted scenario, compared with what kazoo sees from the same server.

The Rust side is the example binary `client-core/examples/transcript.rs`
(run against ROOT "/rust"); the kazoo side below mirrors it step by step
(against ROOT "/py") on the same server. Both write one record per step,
`{"step": name, "ok": value}` or `{"step": name, "error": "NONODE"}`;
kazoo's exceptions become ZooKeeper's code names through their `code`, a
failed transaction its first failing op (`error`, `index`) and the
per-op codes kazoo reports (`results`: OK for the rolled-back ops).

Normalization (the same for both): ROOT becomes "ROOT" in every string;
czxid / mzxid / pzxid become ranks (z1, z2, ...) among the zxids of the
transcript; ctime / mtime are not recorded; ephemeralOwner is the session
("A", "B") or "none"; children are sorted; watch events are
(type, state, path) with ZooKeeper's names.

kazoo 2.10 has no API for container nodes and addWatch: those two requests
go through kazoo's own connection (`KazooClient._call`) with small request
classes, and the persistent watches' events are the notifications kazoo's
connection reads for session A (split by path: the persistent watch's node
and below, the recursive watch's node and below).
"""

import difflib
import json
import os
import subprocess
import threading
from collections import namedtuple

import pytest
from kazoo.exceptions import KazooException, ZookeeperError
from kazoo.protocol.serialization import Create2, Watch, int_struct, write_string
from kazoo.protocol.states import Callback, ZnodeStat
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE

import servers as S
from conftest import Collector, kazoo_client

pytestmark = pytest.mark.timeout(300)  # includes building the example once

EXAMPLE = os.path.join(S.REPO_ROOT, "target", "debug", "examples", "transcript")
EVENT_WAIT = 5.0
QUIET_WAIT = 0.2
ZXID_KEYS = ("czxid", "mzxid", "pzxid")
PERM_ALL, PERM_READ = 31, 1

KAZOO_EVENT = {"CREATED": "NodeCreated", "DELETED": "NodeDeleted",
               "CHANGED": "NodeDataChanged", "CHILD": "NodeChildrenChanged"}
KAZOO_STATE = {"CONNECTED": "SyncConnected"}
WIRE_EVENT = {1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
              4: "NodeChildrenChanged"}
WIRE_STATE = {3: "SyncConnected"}


# ---------------------------------------------------------------------------
# the Rust side
# ---------------------------------------------------------------------------

def _newest_mtime(paths):
    newest = 0.0
    for top in paths:
        if os.path.isfile(top):
            newest = max(newest, os.path.getmtime(top))
            continue
        for d, _, files in os.walk(top):
            for f in files:
                newest = max(newest, os.path.getmtime(os.path.join(d, f)))
    return newest


@pytest.fixture(scope="session")
def transcript_bin():
    """The example binary: CORRAL_TRANSCRIPT, or target/debug/examples/
    transcript, built with cargo if missing or older than its sources."""
    override = os.environ.get("CORRAL_TRANSCRIPT")
    if override:
        return override
    sources = [os.path.join(S.REPO_ROOT, p) for p in (
        "client-core/src", "client-core/examples/transcript.rs",
        "client-core/Cargo.toml", "protocol/src")]
    if not os.path.isfile(EXAMPLE) or os.path.getmtime(EXAMPLE) < _newest_mtime(sources):
        r = subprocess.run(
            [os.environ.get("CARGO", "cargo"), "build", "-p", "corral-client",
             "--example", "transcript"],
            cwd=S.REPO_ROOT, capture_output=True, text=True, timeout=280)
        if r.returncode != 0:
            pytest.fail("cargo build --example transcript failed:\n" + r.stderr[-4000:])
    return EXAMPLE


def rust_transcript(binary, hosts, root):
    r = subprocess.run([binary, hosts, root], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        pytest.fail("transcript exited with %s\nstdout:\n%s\nstderr:\n%s"
                    % (r.returncode, r.stdout[-4000:], r.stderr[-4000:]))
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# the kazoo side
# ---------------------------------------------------------------------------

class CreateContainer(Create2):
    """createContainer (19): a create2 request and reply."""
    type = 19


class AddWatch(namedtuple("AddWatch", "path mode")):
    """addWatch (106); mode 0 persistent, 1 persistent recursive."""
    type = 106

    def serialize(self):
        return bytearray(write_string(self.path) + int_struct.pack(self.mode))

    @classmethod
    def deserialize(cls, buf, offset):
        return None


def raw_call(zk, request):
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get(timeout=10)


def record_notifications(zk):
    """Every notification kazoo's connection reads, as (type, state, path)."""
    seen = []
    conn = zk._connection
    original = conn._read_watch_event

    def hooked(buf, offset):
        w, _ = Watch.deserialize(buf, offset)
        seen.append({"type": WIRE_EVENT.get(w.type, w.type),
                     "state": WIRE_STATE.get(w.state, w.state), "path": w.path})
        return original(buf, offset)

    conn._read_watch_event = hooked
    return seen


def flush_callbacks(zk):
    """Wait until kazoo's callback thread has run what is queued now."""
    done = threading.Event()
    zk.handler.dispatch_callback(Callback("watch", done.set, ()))
    assert done.wait(EVENT_WAIT), "kazoo callback thread stuck"


def error_name(exc):
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return S.ERR.get(code, "CODE%d" % code)
    if "Timeout" in type(exc).__name__:
        return "TIMEOUT"
    return type(exc).__name__


def kazoo_event(ev):
    return {"type": KAZOO_EVENT.get(ev.type, ev.type),
            "state": KAZOO_STATE.get(ev.state, ev.state), "path": ev.path}


class Recorder(object):
    def __init__(self):
        self.lines = []
        self.sessions = {}

    def stat(self, st):
        owner = st.ephemeralOwner
        return {"czxid": st.czxid, "mzxid": st.mzxid, "pzxid": st.pzxid,
                "version": st.version, "cversion": st.cversion, "aversion": st.aversion,
                "dataLength": st.dataLength, "numChildren": st.numChildren,
                "ephemeralOwner": "none" if owner == 0 else self.sessions.get(owner, "unknown")}

    def line(self, step, **fields):
        d = {"step": step}
        d.update(fields)
        self.lines.append(d)

    def step(self, step, fn, show=lambda rec, v: v):
        try:
            v = fn()
        except (KazooException, ZookeeperError) as e:
            self.line(step, error=error_name(e))
            return None
        except Exception as e:  # kazoo handler timeouts and the like
            self.line(step, error=error_name(e))
            return None
        self.line(step, ok=show(self, v))
        return v

    # shapes, as the Rust side prints them
    def unit(self, step, fn):
        return self.step(step, fn, lambda r, v: None)

    def path(self, step, fn):
        return self.step(step, fn, lambda r, v: v)

    def path_stat(self, step, fn):
        return self.step(step, fn, lambda r, v: [v[0], r.stat(v[1])])

    def stat_step(self, step, fn):
        return self.step(step, fn, lambda r, v: r.stat(v))

    def data_stat(self, step, fn):
        return self.step(step, fn, lambda r, v: [v[0].decode("utf-8", "replace"), r.stat(v[1])])

    def exists(self, step, fn):
        return self.step(step, fn, lambda r, v: None if v is None else r.stat(v))

    def children(self, step, fn):
        return self.step(step, fn, lambda r, v: sorted(v))

    def children_stat(self, step, fn):
        return self.step(step, fn, lambda r, v: [sorted(v[0]), r.stat(v[1])])

    def acl_stat(self, step, fn):
        return self.step(step, fn, lambda r, v: [
            [[a.perms, a.id.scheme, a.id.id] for a in v[0]], r.stat(v[1])])

    def multi(self, step, build):
        try:
            results = build().commit()
        except (KazooException, ZookeeperError) as e:
            self.line(step, error=error_name(e))
            return
        if any(isinstance(r, Exception) for r in results):
            names = [error_name(r) if isinstance(r, Exception) else "OK" for r in results]
            index = next(i for i, n in enumerate(names) if n != "OK")
            self.line(step, error=names[index], index=index, results=names)
            return
        out = []
        for r in results:
            if isinstance(r, ZnodeStat):
                out.append(self.stat(r))
            else:
                out.append(r)  # a created path, or True (delete, check)
        self.line(step, ok=out)

    def event(self, step, collector):
        try:
            self.line(step, ok=kazoo_event(collector.wait(1, timeout=EVENT_WAIT)[0]))
        except AssertionError:
            self.line(step, error="TIMEOUT")


def kazoo_transcript(hosts, root):
    def p(rel):
        return root + rel

    t = Recorder()
    a = kazoo_client(hosts)
    b = kazoo_client(hosts)
    try:
        a.start(timeout=15)
        t.sessions[a.client_id[0]] = "A"
        notifications = record_notifications(a)
        t.line("connect_a", ok=True)

        # -- creates
        t.path_stat("create_root", lambda: a.create(root, b"root", include_data=True))
        t.path("create_persistent", lambda: a.create(p("/p"), b"p0"))
        t.path_stat("create_ephemeral",
                    lambda: a.create(p("/e"), b"eph", ephemeral=True, include_data=True))
        seq1 = t.path("create_sequential", lambda: a.create(p("/s-"), b"s", sequence=True))
        seq2 = t.path("create_sequential_2", lambda: a.create(p("/s-"), b"s", sequence=True))
        t.path_stat("create_ephemeral_sequential",
                    lambda: a.create(p("/es-"), b"", ephemeral=True, sequence=True,
                                     include_data=True))
        t.path_stat("create_container",
                    lambda: raw_call(a, CreateContainer(p("/c"), b"cont", OPEN_ACL_UNSAFE, 4)))
        t.path("create_existing", lambda: a.create(p("/p"), b""))
        t.path("create_no_parent", lambda: a.create(p("/none/x"), b""))
        t.path("create_under_ephemeral", lambda: a.create(p("/e/x"), b""))

        # -- data, versions
        t.data_stat("get_data", lambda: a.get(p("/p")))
        t.stat_step("set_data_bad_version", lambda: a.set(p("/p"), b"p1", version=5))
        t.stat_step("set_data", lambda: a.set(p("/p"), b"p1", version=0))
        t.stat_step("set_data_any", lambda: a.set(p("/p"), b"p-two"))
        t.data_stat("get_data_after_set", lambda: a.get(p("/p")))
        t.stat_step("set_data_no_node", lambda: a.set(p("/none"), b"x"))
        t.data_stat("get_data_no_node", lambda: a.get(p("/none")))

        # -- exists, children
        t.exists("exists_present", lambda: a.exists(p("/p")))
        t.exists("exists_absent", lambda: a.exists(p("/none")))
        t.children("get_children", lambda: a.get_children(root))
        t.children_stat("get_children2", lambda: a.get_children(root, include_data=True))
        t.children("get_children_no_node", lambda: a.get_children(p("/none")))

        # -- deletes
        t.unit("delete_not_empty", lambda: a.delete(root))
        t.unit("delete_no_node", lambda: a.delete(p("/none")))
        t.unit("delete_bad_version", lambda: a.delete(p("/p"), version=0))
        t.unit("delete_sequential", lambda: a.delete(seq1 or "", version=0))
        t.children("get_children_after_delete", lambda: a.get_children(root))

        # -- ACLs and a second session
        secret_acl = [ACL(PERM_ALL, Id("digest", "u1:" + S.digest("u1", "pw1")))]
        t.unit("add_auth", lambda: a.add_auth("digest", "u1:pw1"))
        t.path_stat("create_acl",
                    lambda: a.create(p("/acl"), b"secret", acl=secret_acl, include_data=True))
        t.acl_stat("get_acl", lambda: a.get_acls(p("/acl")))
        t.data_stat("get_data_with_auth", lambda: a.get(p("/acl")))
        b.start(timeout=15)
        t.sessions[b.client_id[0]] = "B"
        t.line("connect_b", ok=True)
        t.data_stat("get_data_noauth", lambda: b.get(p("/acl")))
        t.stat_step("set_data_noauth", lambda: b.set(p("/acl"), b"x"))
        t.stat_step("set_acl_noauth", lambda: b.set_acls(p("/acl"), OPEN_ACL_UNSAFE))
        t.exists("exists_noauth", lambda: b.exists(p("/acl")))
        readable = secret_acl + [ACL(PERM_READ, Id("world", "anyone"))]
        t.stat_step("set_acl_bad_version", lambda: a.set_acls(p("/acl"), readable, version=3))
        t.stat_step("set_acl", lambda: a.set_acls(p("/acl"), readable, version=0))
        t.acl_stat("get_acl_after_set", lambda: a.get_acls(p("/acl")))
        t.data_stat("get_data_world_read", lambda: b.get(p("/acl")))
        t.stat_step("set_data_still_noauth", lambda: b.set(p("/acl"), b"x"))
        t.path("create_child_noauth", lambda: b.create(p("/acl/x"), b""))
        t.stat_step("set_acl_empty", lambda: a.set_acls(p("/acl"), []))
        # Not here: CREATOR_ALL_ACL. kazoo writes its empty "auth" id as a
        # null string, which corral-server rejects with MARSHALLINGERROR
        # (ZooKeeper accepts it); test_kazoo_acl.py covers that.

        # -- transactions
        def multi_ok():
            tx = a.transaction()
            tx.create(p("/m1"), b"m")
            tx.set_data(p("/p"), b"p3", version=2)
            tx.check(p("/p"), 3)
            tx.delete(seq2 or "")
            tx.create(p("/ms-"), b"", sequence=True)
            return tx

        def multi_fail_check():
            tx = a.transaction()
            tx.create(p("/m2"), b"")
            tx.check(p("/p"), 99)
            tx.delete(p("/m1"))
            tx.set_data(p("/none"), b"")
            return tx

        def multi_fail_last():
            tx = a.transaction()
            tx.delete(p("/m1"))
            tx.delete(p("/m1"))
            return tx

        def multi_fail_exists():
            tx = a.transaction()
            tx.set_data(p("/p"), b"x")
            tx.create(p("/p"), b"")
            return tx

        t.multi("multi_ok", multi_ok)
        t.multi("multi_fail_check", multi_fail_check)
        t.multi("multi_fail_last", multi_fail_last)
        t.multi("multi_fail_exists", multi_fail_exists)
        t.exists("exists_after_failed_multi", lambda: a.exists(p("/m2")))
        t.data_stat("get_data_after_multis", lambda: a.get(p("/p")))
        t.path("sync", lambda: a.sync(root))
        t.path("sync_no_node", lambda: a.sync(p("/none")))

        # -- one-shot watches (B watches, A changes)
        data_c, exists_c, child_c = Collector(), Collector(), Collector()
        t.data_stat("watch_data_register", lambda: b.get(p("/p"), watch=data_c))
        t.exists("watch_exists_register", lambda: b.exists(p("/w"), watch=exists_c))
        t.children_stat("watch_child_register",
                        lambda: b.get_children(root, watch=child_c, include_data=True))
        t.stat_step("trigger_data", lambda: a.set(p("/p"), b"p4"))
        t.event("watch_data_event", data_c)
        t.stat_step("trigger_data_again", lambda: a.set(p("/p"), b"p5"))
        t.path("sync_b", lambda: b.sync(root))
        flush_callbacks(b)
        t.line("watch_data_no_second_event",
               ok=[kazoo_event(e) for e in data_c.settle(QUIET_WAIT)[1:]])
        t.path("trigger_exists_child", lambda: a.create(p("/w"), b"w"))
        t.event("watch_exists_event", exists_c)
        t.event("watch_child_event", child_c)
        # Two watches of one session on one node; a delete fires data and
        # child watches.
        m1_data, m1_exists, m1_child = Collector(), Collector(), Collector()
        t.data_stat("watch_m1_data", lambda: b.get(p("/m1"), watch=m1_data))
        t.exists("watch_m1_exists", lambda: b.exists(p("/m1"), watch=m1_exists))
        t.children_stat("watch_m1_children",
                        lambda: b.get_children(p("/m1"), watch=m1_child, include_data=True))
        t.unit("trigger_delete", lambda: a.delete(p("/m1")))
        t.event("watch_m1_data_event", m1_data)
        t.event("watch_m1_exists_event", m1_exists)
        t.event("watch_m1_children_event", m1_child)

        # -- persistent watches (A watches, B changes)
        first = len(notifications)
        t.unit("add_watch_persistent", lambda: raw_call(a, AddWatch(p("/pw"), 0)))
        t.unit("add_watch_recursive", lambda: raw_call(a, AddWatch(p("/rw"), 1)))
        t.path("pw_create", lambda: b.create(p("/pw"), b"1"))
        t.stat_step("pw_set", lambda: b.set(p("/pw"), b"2"))
        t.path("pw_create_child", lambda: b.create(p("/pw/k"), b""))
        t.stat_step("pw_set_child", lambda: b.set(p("/pw/k"), b"3"))
        t.unit("pw_delete_child", lambda: b.delete(p("/pw/k")))
        t.unit("pw_delete", lambda: b.delete(p("/pw")))
        t.path("rw_create", lambda: b.create(p("/rw"), b""))
        t.path("rw_create_child", lambda: b.create(p("/rw/a"), b""))
        t.stat_step("rw_set_child", lambda: b.set(p("/rw/a"), b"4"))
        t.path("rw_create_grandchild", lambda: b.create(p("/rw/a/b"), b"", ephemeral=True))
        t.unit("rw_delete_grandchild", lambda: b.delete(p("/rw/a/b")))
        t.unit("rw_delete_child", lambda: b.delete(p("/rw/a")))
        t.stat_step("rw_set", lambda: b.set(p("/rw"), b"5"))
        t.path("sync_a", lambda: a.sync(root))
        flush_callbacks(a)
        got = notifications[first:]

        def under(prefix):
            return [e for e in got if e["path"] == prefix or e["path"].startswith(prefix + "/")]

        t.line("persistent_events", ok=under(p("/pw")))
        t.line("recursive_events", ok=under(p("/rw")))
        stray = [e for e in got if e not in under(p("/pw")) + under(p("/rw"))]
        if stray:
            t.line("stray_notifications", ok=stray)

        # -- close: A's ephemerals go, B is told
        eph_c, close_child_c = Collector(), Collector()
        t.exists("watch_ephemeral_register", lambda: b.exists(p("/e"), watch=eph_c))
        t.children_stat("watch_children_before_close",
                        lambda: b.get_children(root, watch=close_child_c, include_data=True))
        a.stop()
        a.close()
        t.line("close_a", ok=None)
        t.data_stat("get_data_after_close", lambda: a.get(p("/p")))
        t.event("watch_ephemeral_event", eph_c)
        t.event("watch_children_close_event", close_child_c)
        t.exists("exists_ephemeral_after_close", lambda: b.exists(p("/e")))
        t.children_stat("get_children_after_close",
                        lambda: b.get_children(root, include_data=True))
        b.stop()
        b.close()
        t.line("close_b", ok=None)
        return t.lines
    finally:
        for c in (a, b):
            try:
                c.stop()
                c.close()
            except Exception:
                pass


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------

def normalize(lines, root):
    zxids = set()

    def collect(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ZXID_KEYS and isinstance(x, int):
                    zxids.add(x)
                else:
                    collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)

    collect(lines)
    rank = {z: "z%d" % (i + 1) for i, z in enumerate(sorted(zxids))}

    def fix(v):
        if isinstance(v, dict):
            return {k: rank[x] if k in ZXID_KEYS and isinstance(x, int) else fix(x)
                    for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, str) and (v == root or v.startswith(root + "/")):
            return "ROOT" + v[len(root):]
        return v

    return [json.dumps(fix(line), sort_keys=True) for line in lines]


def test_client_transcript_matches_kazoo(server, transcript_bin):
    rust = normalize(rust_transcript(transcript_bin, server.hosts, "/rust"), "/rust")
    py = normalize(kazoo_transcript(server.hosts, "/py"), "/py")
    if rust != py:
        diff = "\n".join(difflib.unified_diff(
            py, rust, fromfile="kazoo", tofile="corral-client", lineterm="", n=1))
        pytest.fail("corral-client and kazoo transcripts differ (%s server):\n%s"
                    % (server.kind, diff))
    # the scenario ran to the end, errors and events included
    steps = [json.loads(line)["step"] for line in rust]
    assert steps[-1] == "close_b" and len(steps) > 80
    assert sum('"error"' in line for line in rust) >= 20
    assert sum('"SyncConnected"' in line for line in rust) >= 7
