"""Differential test: one scripted scenario (including failing operations,
a failing transaction, ACLs, one-shot and persistent watches, ephemerals,
session close) runs against corral-server and against Apache ZooKeeper;
the normalized transcripts must be equal.

Normalization: czxid/mzxid/pzxid become ranks (z1, z2, ...) among the zxids
of successful writes; reply-header zxids of reads and failed writes become
"zN" (equal to the latest such write) or "zN+" (above it, e.g. a failed
write that consumed a zxid); ctime/mtime are dropped; session ids become
S1, S2...; errors are ZooKeeper's code names; watch events are
(type, state, path), sorted within one step.

Every selected corral kind is compared with ZooKeeper; on an ensemble
("corral-ensemble") the two actors are connected to different members, and
an actor that takes over from the other first syncs (not recorded): what
the other session wrote is then visible, as ZooKeeper promises.
With only one kind selected (CORRAL_TEST_KINDS), the scenario runs on two
fresh servers of that kind, which checks the scenario is deterministic.
"""

import bisect
import difflib
import json

import pytest

import servers as S
from conftest import SERVER_KINDS
from ensemble import ENSEMBLE_KINDS

DIGEST_ACL = [(S.PERM_ALL, "digest", "u1:" + S.digest("u1", "pw1"))]


class Transcript(object):
    def __init__(self):
        self.lines = []          # (step, kind, payload) with raw values
        self.write_zxids = set()
        self.sessions = {}
        self.last_actor = None

    def session(self, sid):
        if sid == 0:
            return 0
        if sid not in self.sessions:
            self.sessions[sid] = "S%d" % (len(self.sessions) + 1)
        return self.sessions[sid]

    def add(self, who, what, *payload):
        self.lines.append([who, what] + list(payload))


def stat_payload(t, st):
    if st is None:
        return None
    t.write_zxids.update([st["czxid"], st["mzxid"], st["pzxid"]])
    return {
        "czxid": ("Z", st["czxid"]), "mzxid": ("Z", st["mzxid"]), "pzxid": ("Z", st["pzxid"]),
        "version": st["version"], "cversion": st["cversion"], "aversion": st["aversion"],
        "ephemeralOwner": t.session(st["ephemeralOwner"]),
        "dataLength": st["dataLength"], "numChildren": st["numChildren"],
    }


def normalize(t, loose=False):
    """`loose` (for an ensemble): a reply-header zxid is just "zN", never
    "zN+": a member's last zxid also counts txns the scenario did not make
    (session and membership txns), which land at any time."""
    zx = sorted(z for z in t.write_zxids if z > 0)

    def fix(v):
        if isinstance(v, tuple) and len(v) == 2 and v[0] in ("Z", "H"):
            z = v[1]
            if z <= 0:
                return "z%d" % z
            i = bisect.bisect_right(zx, z)
            if i == 0:
                return "z0" if loose and v[0] == "H" else "z0+"
            base = "z%d" % i
            return base if zx[i - 1] == z or (loose and v[0] == "H") else base + "+"
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        if isinstance(v, bytes):
            return v.decode("latin-1")
        return v

    return [json.dumps(fix(line), sort_keys=True) for line in t.lines]


class Actor(object):
    """A RawClient that writes everything it sees to the transcript."""

    def __init__(self, name, t, server, **kw):
        self.name, self.t = name, t
        self.c = S.RawClient.to(server.next_member(), **kw)
        t.add(name, "connect", t.session(self.c.session_id),
              self.c.negotiated_timeout, self.c.connect_response["length"])

    def take_turn(self):
        """Sync (unrecorded) when the other actor acted last."""
        if self.t.last_actor not in (None, self.name):
            self.c.request(S.OP_SYNC, S.enc_str("/"))
        self.t.last_actor = self.name

    def rec(self, what, rep, payload):
        t = self.t
        if rep.err == 0 and what in ("create", "create2", "set", "delete", "setacl", "multi",
                                     "ttl", "container"):
            t.write_zxids.add(rep.zxid)
        t.add(self.name, what, S.ERR.get(rep.err, rep.err), ("H", rep.zxid), payload)

    def req(self, what, opcode, body, decode):
        self.take_turn()
        rep = self.c.request(opcode, body)
        payload = decode(rep.reader) if rep.err == 0 and decode else None
        self.rec(what, rep, payload)
        return rep

    def create(self, path, data=b"", flags=S.PERSISTENT, acls=S.OPEN_ACL_UNSAFE):
        return self.req("create2", S.OP_CREATE2, S.req_create(path, data, acls, flags),
                        lambda r: [r.str(), stat_payload(self.t, r.stat())])

    def create_plain(self, path, data=b"", flags=S.PERSISTENT):
        return self.req("create", S.OP_CREATE, S.req_create(path, data, S.OPEN_ACL_UNSAFE, flags),
                        lambda r: r.str())

    def ttl(self, path, ttl):
        return self.req("ttl", S.OP_CREATE_TTL, S.req_create_ttl(path, b"", S.OPEN_ACL_UNSAFE,
                                                                 S.PERSISTENT_WITH_TTL, ttl),
                        lambda r: [r.str(), stat_payload(self.t, r.stat())])

    def container(self, path):
        return self.req("container", S.OP_CREATE_CONTAINER,
                        S.req_create(path, b"", S.OPEN_ACL_UNSAFE, S.CONTAINER),
                        lambda r: [r.str(), stat_payload(self.t, r.stat())])

    def get(self, path, watch=False):
        return self.req("get", S.OP_GET_DATA, S.req_path_watch(path, watch),
                        lambda r: [r.buf(), stat_payload(self.t, r.stat())])

    def exists(self, path, watch=False):
        return self.req("exists", S.OP_EXISTS, S.req_path_watch(path, watch),
                        lambda r: stat_payload(self.t, r.stat()))

    def children(self, path, watch=False):
        return self.req("children2", S.OP_GET_CHILDREN2, S.req_path_watch(path, watch),
                        lambda r: [sorted(r.strings()), stat_payload(self.t, r.stat())])

    def children1(self, path, watch=False):
        return self.req("children", S.OP_GET_CHILDREN, S.req_path_watch(path, watch),
                        lambda r: sorted(r.strings()))

    def set(self, path, data, version=-1):
        return self.req("set", S.OP_SET_DATA, S.req_set_data(path, data, version),
                        lambda r: stat_payload(self.t, r.stat()))

    def delete(self, path, version=-1):
        return self.req("delete", S.OP_DELETE, S.req_delete(path, version), None)

    def get_acl(self, path):
        return self.req("getacl", S.OP_GET_ACL, S.enc_str(path),
                        lambda r: [r.acls(), stat_payload(self.t, r.stat())])

    def set_acl(self, path, acls, version=-1):
        return self.req("setacl", S.OP_SET_ACL,
                        S.enc_str(path) + S.enc_acls(acls) + S.enc_int(version),
                        lambda r: stat_payload(self.t, r.stat()))

    def sync(self, path):
        return self.req("sync", S.OP_SYNC, S.enc_str(path), lambda r: r.str())

    def multi(self, ops):
        self.take_turn()
        rep = self.c.request(S.OP_MULTI, S.req_multi(ops))
        payload = []
        if rep.body:
            for op, err, res in S.parse_multi_response(rep.body):
                if isinstance(res, dict):
                    res = stat_payload(self.t, res)
                elif isinstance(res, tuple):
                    res = [res[0], stat_payload(self.t, res[1])]
                payload.append([op, S.ERR.get(err, err), res])
        if any(p[0] == S.OP_ERROR for p in payload):
            # a failed multi: its header zxid is not a write's zxid
            self.t.add(self.name, "multi", S.ERR.get(rep.err, rep.err), ("H", rep.zxid), payload)
            return rep
        self.rec("multi", rep, payload)
        return rep

    def add_watch(self, path, mode):
        return self.req("addwatch", S.OP_ADD_WATCH, S.req_add_watch(path, mode), None)

    def remove_watches(self, path, wtype):
        return self.req("removewatches", S.OP_REMOVE_WATCHES, S.req_remove_watches(path, wtype),
                        None)

    def auth(self, scheme, cred):
        self.take_turn()
        err = self.c.add_auth(scheme, cred)
        self.t.add(self.name, "auth", scheme, S.ERR.get(err, err))

    def all_children(self, path):
        return self.req("allchildren", S.OP_GET_ALL_CHILDREN_NUMBER, S.enc_str(path),
                        lambda r: r.int())

    def ephemerals(self, path):
        return self.req("ephemerals", S.OP_GET_EPHEMERALS, S.enc_str(path),
                        lambda r: sorted(r.strings()))

    def events(self):
        """Flush: a sync's reply comes after every notification for writes
        that were applied before it."""
        self.take_turn()
        self.c.request(S.OP_SYNC, S.enc_str("/"))
        evs = sorted(self.c.take_events())
        self.t.add(self.name, "events", [list(e) for e in evs])

    def close(self):
        self.take_turn()
        rep = self.c.request(S.OP_CLOSE, b"")
        self.t.add(self.name, "close", S.ERR.get(rep.err, rep.err))
        self.c.abort()


def run_scenario(server):
    t = Transcript()
    a = Actor("A", t, server)
    b = Actor("B", t, server, timeout_ms=3000)

    # -- basics, one-shot watches
    a.create("/d", b"root")
    b.get("/d", watch=True)
    b.children("/d", watch=True)
    b.exists("/d/x", watch=True)
    a.create("/d/x", b"1")
    b.events()
    a.create("/d/x", b"again")
    a.create("/nope/x")
    a.create_plain("/d/s-", flags=S.PERSISTENT_SEQUENTIAL)
    a.create_plain("/d/s-", flags=S.PERSISTENT_SEQUENTIAL)
    a.create("/d/e-", flags=S.EPHEMERAL_SEQUENTIAL)
    a.create("/d/e-0000000003/child")
    a.create("/d/null", None)
    a.get("/d/null")
    a.set("/d/x", b"2", version=5)
    a.set("/d/x", b"2", version=0)
    a.set("/d/x", b"3")
    a.set("/nope", b"3")
    a.get("/d/x")
    a.exists("/d/x")
    a.exists("/nope")
    a.children("/d")
    a.children1("/d")
    a.children("/nope")
    a.delete("/d")
    a.delete("/d/nope")
    a.delete("/d/x", version=1)
    a.delete("/d/s-0000000001")
    a.children("/d")
    a.create("/d/s-", flags=S.PERSISTENT_SEQUENTIAL)
    b.events()

    # -- transactions
    a.multi([
        (S.OP_CREATE, S.req_create("/d/m1", b"m")),
        (S.OP_CHECK, S.enc_str("/d/x") + S.enc_int(7)),
        (S.OP_DELETE, S.req_delete("/d/x")),
    ])
    a.multi([
        (S.OP_CREATE, S.req_create("/d/m1", b"m")),
        (S.OP_SET_DATA, S.req_set_data("/d/x", b"4", 2)),
        (S.OP_CHECK, S.enc_str("/d/x") + S.enc_int(3)),
        (S.OP_DELETE, S.req_delete("/d/s-0000000002")),
        (S.OP_CREATE, S.req_create("/d/ms-", b"", S.OPEN_ACL_UNSAFE, S.PERSISTENT_SEQUENTIAL)),
    ])
    a.multi([
        (S.OP_DELETE, S.req_delete("/d/m1")),
        (S.OP_DELETE, S.req_delete("/d/m1")),
    ])
    a.children("/d")
    b.get("/d/x", watch=True)
    b.children("/d", watch=True)
    a.multi([
        (S.OP_SET_DATA, S.req_set_data("/d/x", b"5")),
        (S.OP_CREATE, S.req_create("/d/m2")),
    ])
    b.events()

    # -- ACLs
    a.create("/d/acl", b"secret", acls=DIGEST_ACL)
    b.get("/d/acl")
    b.set("/d/acl", b"x")
    b.exists("/d/acl")
    b.get_acl("/d/acl")
    b.auth("digest", b"u1:pw1")
    b.get("/d/acl")
    b.get_acl("/d/acl")
    b.set_acl("/d/acl", S.OPEN_ACL_UNSAFE, version=3)
    b.set_acl("/d/acl", [(S.PERM_READ | S.PERM_ADMIN, "world", "anyone")], version=0)
    a.get_acl("/d/acl")
    a.set("/d/acl", b"y")
    a.create("/d/bad", acls=[])
    a.create("/d/bad", acls=[(S.PERM_ALL, "auth", "")])
    a.create("/d/bad", acls=[(S.PERM_ALL, "nosuch", "x")])

    # -- persistent watches
    b.add_watch("/p", S.ADD_WATCH_PERSISTENT_RECURSIVE)
    b.add_watch("/d/x", S.ADD_WATCH_PERSISTENT)
    a.create("/p")
    a.create("/p/a", b"1")
    a.set("/p/a", b"2")
    a.set("/d/x", b"6")
    a.set("/d/x", b"7")
    a.delete("/p/a")
    b.events()
    b.remove_watches("/p", S.WATCHER_ANY)
    b.remove_watches("/p", S.WATCHER_ANY)
    b.remove_watches("/d/x", S.WATCHER_DATA)
    a.create("/p/b")
    b.events()

    # -- special nodes, bad input
    a.container("/c")
    a.ttl("/t", 60000)
    a.ttl("/t0", 0)
    a.create("bad")
    a.create("/d/")
    a.all_children("/d")
    a.ephemerals("/d")
    a.sync("/d")

    # -- ephemerals go with the session
    a.create("/d/eph", flags=S.EPHEMERAL)
    b.exists("/d/eph", watch=True)
    b.children("/d", watch=True)
    a.close()
    b.events()
    b.children("/d")
    b.exists("/d")
    b.get("/d/x")
    b.all_children("/")
    b.ephemerals("/")
    b.close()
    return t


if len(SERVER_KINDS) >= 2:
    REFERENCE = "zookeeper" if "zookeeper" in SERVER_KINDS else SERVER_KINDS[0]
    COMPARED = [k for k in SERVER_KINDS if k != REFERENCE]
else:
    REFERENCE = SERVER_KINDS[0]
    COMPARED = [REFERENCE]

_reference_transcript = []


def reference_transcript(server_factory):
    """The reference kind's (raw) transcript, made once for all compared kinds."""
    if not _reference_transcript:
        _reference_transcript.append(run_scenario(server_factory(REFERENCE)))
    return _reference_transcript[0]


@pytest.mark.parametrize("right_kind", COMPARED)
def test_differential_transcripts_match(right_kind, server_factory):
    left_kind = REFERENCE
    loose = REFERENCE in ENSEMBLE_KINDS or right_kind in ENSEMBLE_KINDS
    left = normalize(reference_transcript(server_factory), loose)
    right = normalize(run_scenario(server_factory(right_kind)), loose)
    if left != right:
        diff = "\n".join(difflib.unified_diff(
            left, right, fromfile=left_kind, tofile=right_kind, lineterm="", n=2))
        pytest.fail("transcripts differ (%s vs %s):\n%s" % (left_kind, right_kind, diff))
    assert len(left) > 80
