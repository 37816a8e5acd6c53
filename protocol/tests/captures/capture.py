#!/usr/bin/env python3
"""Capture real Apache ZooKeeper wire traffic as hex fixtures.

Starts a standalone ZooKeeper from the Debian package `zookeeper` (jars in
/usr/share/java) on a free loopback port in a temp dir, then talks to it in
three ways and writes one `<name>.hex` file per exchange into this folder:

* `raw_*`   : a tiny raw-socket jute client in this file, for exact control
              (the old 44-byte connect, failed multis, setWatches2, ...);
* `kazoo_*` : the kazoo Python client, through a recording TCP proxy
              (skipped with a warning if kazoo is not importable);
* `zkcli_*` : ZooKeeper's own Java client (`ZooKeeperMain`, i.e. zkCli.sh),
              one command per JVM, through the same recording proxy.

File format: `#` comment lines, then one frame per line, `> HEX` for a frame
the client sent and `< HEX` for a frame the server sent, in the order they
were seen on the wire. Each frame is complete, *including* its 4-byte length
prefix. The connect handshake is the first `>`/`<` pair of `*_connect*`
files; everywhere else frames pair up by xid.

Usage:  python3 protocol/tests/captures/capture.py [--out DIR] [--keep]
        (kazoo: python3 -m venv /tmp/venv && /tmp/venv/bin/pip install kazoo,
         then run the script with /tmp/venv/bin/python)

Zxids, session ids, passwords and times differ on every run; the Rust test
(protocol/tests/captures.rs) checks structure and stable values only.
"""

import argparse
import base64
import glob
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# ZooKeeper server
# --------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def zk_classpath():
    """zookeeper.jar's manifest Class-Path names its dependencies in
    /usr/share/java (netty, jetty, jackson, slf4j-api, jute, ...); add the
    log4j 1.2 slf4j binding so the server logs to a file."""
    jars = ["/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar"]
    for j in jars:
        if not os.path.isfile(j):
            sys.exit("%s not found: apt-get install zookeeper" % j)
    for extra in ("slf4j-log4j12.jar", "log4j-1.2.jar"):
        p = os.path.join("/usr/share/java", extra)
        if os.path.isfile(p):
            jars.append(p)
    return jars


LOG4J = """\
log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=%s
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%%d{ISO8601} %%-5p [%%t:%%C{1}@%%L] - %%m%%n
"""


class ZooKeeper(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="corral-capture-zk-")
        self.port = free_port()
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write(
                "\n".join(
                    [
                        "tickTime=2000",
                        "dataDir=%s" % data,
                        "clientPort=%d" % self.port,
                        "clientPortAddress=127.0.0.1",
                        "maxSessionTimeout=60000",
                        "4lw.commands.whitelist=ruok",
                        "admin.enableServer=false",
                        "extendedTypesEnabled=true",
                    ]
                )
                + "\n"
            )
        self.log4j = os.path.join(self.dir, "log4j.properties")
        with open(self.log4j, "w") as f:
            f.write(LOG4J % os.path.join(self.dir, "client.log"))
        server_log4j = os.path.join(self.dir, "server-log4j.properties")
        with open(server_log4j, "w") as f:
            f.write(LOG4J % os.path.join(self.dir, "server.log"))
        self.cmd = [
            "java",
            "-Xmx256m",
            "-Djava.net.preferIPv4Stack=true",
            "-Dlog4j.configuration=file:%s" % server_log4j,
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-cp",
            ":".join(zk_classpath()),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            self.cfg,
        ]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "stdout.log"), "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("ZooKeeper exited early; see %s" % self.dir)
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.sendall(b"ruok")
                ok = s.recv(4)
                s.close()
                if ok == b"imok" and self._session_ok():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("ZooKeeper did not answer ruok")

    def _session_ok(self):
        """ruok answers before the server takes sessions: try a handshake
        (it creates a session; closing the socket lets it expire)."""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.sendall(frame(connect_body(timeout=4000)))
            ok = len(s.recv(64)) > 4
            s.close()
            return ok
        except OSError:
            return False

    def version(self):
        """The version in Debian's versioned jar link, e.g. 3.8.0."""
        for p in sorted(glob.glob("/usr/share/java/zookeeper-3*.jar")):
            return os.path.basename(p)[len("zookeeper-") : -len(".jar")]
        return "unknown"

    def stop(self, keep=False):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if keep:
            print("kept ZooKeeper dir", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------
# Jute helpers and opcodes
# --------------------------------------------------------------------------

OP = dict(
    notification=0, create=1, delete=2, exists=3, getData=4, setData=5,
    getACL=6, setACL=7, getChildren=8, sync=9, ping=11, getChildren2=12,
    check=13, multi=14, create2=15, reconfig=16, checkWatches=17,
    removeWatches=18, createContainer=19, deleteContainer=20, createTTL=21,
    multiRead=22, auth=100, setWatches=101, sasl=102, getEphemerals=103,
    getAllChildrenNumber=104, setWatches2=105, addWatch=106, whoAmI=107,
    createSession=-10, closeSession=-11, error=-1,
)  # fmt: skip
OP_NAME = dict((v, k) for k, v in OP.items())


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def buf(b):
    return i32(-1) if b is None else i32(len(b)) + b


def ustr(s):
    return buf(None if s is None else s.encode("utf-8"))


def vec(items, enc):
    return i32(len(items)) + b"".join(enc(x) for x in items)


def acl(perms, scheme, ident):
    return i32(perms) + ustr(scheme) + ustr(ident)


OPEN_ACL = [acl(31, "world", "anyone")]


def digest_id(user, password):
    raw = hashlib.sha1(("%s:%s" % (user, password)).encode()).digest()
    return "%s:%s" % (user, base64.b64encode(raw).decode())


def create_body(path, data, acls, flags):
    return ustr(path) + buf(data) + vec(acls, lambda a: a) + i32(flags)


def multi_body(ops):
    """ops: list of (opname, body)."""
    out = b""
    for name, body in ops:
        out += i32(OP[name]) + boolean(False) + i32(-1) + body
    return out + i32(-1) + boolean(True) + i32(-1)


def connect_body(timeout=30000, session_id=0, passwd=b"\0" * 16, last_zxid=0, read_only=False):
    body = i32(0) + i64(last_zxid) + i32(timeout) + i64(session_id) + buf(passwd)
    if read_only is not None:
        body += boolean(read_only)
    return body


def frame(payload):
    return i32(len(payload)) + payload


def split_frames(data):
    """Complete frames at the start of `data`, and the rest."""
    out = []
    while len(data) >= 4:
        (n,) = struct.unpack(">i", data[:4])
        if len(data) < 4 + n:
            break
        out.append(data[: 4 + n])
        data = data[4 + n :]
    return out, data


def write_fixture(out_dir, name, comment, frames):
    path = os.path.join(out_dir, name + ".hex")
    with open(path, "w") as f:
        for line in comment.strip().splitlines():
            f.write("# %s\n" % line)
        for direction, fr in frames:
            f.write("%s %s\n" % (direction, fr.hex()))
    return path


# --------------------------------------------------------------------------
# Raw client
# --------------------------------------------------------------------------


class RawSession(object):
    """A raw-socket session that records every frame it sends and receives."""

    def __init__(self, port, out_dir):
        self.port = port
        self.out_dir = out_dir
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rx = b""
        self.frames = []
        self.xid = 0
        self.session_id = 0
        self.passwd = b""
        self.last_zxid = 0

    def send(self, payload):
        fr = frame(payload)
        self.frames.append((">", fr))
        self.sock.sendall(fr)

    def recv(self, timeout=10):
        """One frame from the server, or None on EOF."""
        self.sock.settimeout(timeout)
        while True:
            frames, rest = split_frames(self.rx)
            if frames:
                fr = frames[0]
                self.rx = self.rx[len(fr) :]
                self.frames.append(("<", fr))
                return fr
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                return None
            self.rx += chunk

    def save(self, name, comment):
        """Writes the frames recorded since the last save as `raw_<name>`."""
        path = write_fixture(self.out_dir, "raw_" + name, comment, self.frames)
        self.frames = []
        return path

    def connect(self, **kw):
        self.send(connect_body(**kw))
        fr = self.recv()
        proto, timeout, sid = struct.unpack(">iiq", fr[4:20])
        (plen,) = struct.unpack(">i", fr[20:24])
        self.session_id, self.passwd = sid, fr[24 : 24 + plen]
        return fr

    def call(self, op, body=b"", xid=None):
        """Sends a request and reads until the reply with the same xid
        (notifications on the way are recorded too). Returns (err, body)."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(i32(xid) + i32(OP[op]) + body)
        while True:
            fr = self.recv()
            if fr is None:
                raise RuntimeError("connection closed waiting for xid %d" % xid)
            rxid, zxid, err = struct.unpack(">iqi", fr[4:20])
            if rxid == xid:
                if zxid > 0:
                    self.last_zxid = max(self.last_zxid, zxid)
                return err, fr[20:]

    def expect_notification(self):
        fr = self.recv()
        if fr is None or struct.unpack(">i", fr[4:8])[0] != -1:
            raise RuntimeError("expected a notification, got %r" % (fr,))
        return fr

    def expect_close(self, timeout=5):
        while self.recv(timeout) is not None:
            pass
        self.sock.close()

    def close_socket(self):
        self.sock.close()


def raw_captures(port, out_dir):
    base = "/corral-capture"
    alice = digest_id("alice", "secret")

    # -- the old 44-byte connect (no readOnly byte) --------------------------
    old = RawSession(port, out_dir)
    req = connect_body(read_only=None)
    assert len(req) == 44, len(req)
    old.connect(read_only=None)
    old.save(
        "connect_old_44",
        "ConnectRequest without the readOnly byte (44-byte body, as pre-3.3\n"
        "clients send it, 16-byte zero password); the server answers without\n"
        "the readOnly byte too (36-byte body).",
    )

    s = RawSession(port, out_dir)
    assert len(connect_body(read_only=False)) == 45
    s.connect(read_only=False)
    s.save(
        "connect_45",
        "ConnectRequest with readOnly=false (45-byte body, 16-byte zero\n"
        "password); the answer carries the readOnly byte (37-byte body).",
    )

    s.call("auth", i32(0) + ustr("digest") + buf(b"alice:secret"), xid=-4)
    old.call("auth", i32(0) + ustr("digest") + buf(b"alice:secret"), xid=-4)
    old.frames = []
    s.save("auth_digest", "auth (xid -4, op 100): AuthPacket(0, digest, alice:secret); reply err 0.")

    err, _ = s.call("whoAmI")
    s.save("whoami", "whoAmI (op 107) after digest auth: WhoAmIResponse with ip and digest.")

    err, _ = s.call(
        "create2",
        create_body(base, b"hello", [acl(31, "digest", alice), acl(1, "world", "anyone")], 0),
    )
    assert err == 0, err
    s.save("create2_acl", "create2 (op 15) of %s with a digest ACL (ALL) + world:anyone READ." % base)

    s.call("create", create_body(base + "/child1", b"c1", OPEN_ACL, 0))
    s.save("create", "create (op 1): reply is CreateResponse (path only).")

    s.call("create", create_body(base + "/nulldata", None, OPEN_ACL, 0))
    s.save("create_null_data", "create (op 1) with a null data buffer (length -1).")

    s.call("getData", ustr(base + "/nulldata") + boolean(False))
    s.save("getdata_null_data", "getData of a node created with null data: reply data is null (-1).")

    s.call("create2", create_body(base + "/eph-", b"", OPEN_ACL, 3))
    s.save("create2_ephemeral_sequential", "create2 EPHEMERAL_SEQUENTIAL (flags 3), empty data.")

    s.call("create2", create_body(base, b"x", OPEN_ACL, 0))
    s.save("create2_nodeexists", "create2 of an existing node: err -110 NodeExists, no body.")

    s.call("createContainer", create_body("/corral-container", b"", OPEN_ACL, 4))
    s.save("create_container", "createContainer (op 19, flags 4): Create2Response.")

    s.call("createTTL", create_body("/corral-ttl", b"t", OPEN_ACL, 5) + i64(60000))
    s.save("create_ttl", "createTTL (op 21, flags 5 PERSISTENT_WITH_TTL, ttl 60000).")

    s.call("getData", ustr(base) + boolean(False))
    s.save("getdata", "getData of %s (data 'hello')." % base)

    s.call("getData", ustr("/corral-missing") + boolean(False))
    s.save("getdata_nonode", "getData of a missing node: err -101 NoNode, no body.")

    s.call("setData", ustr(base) + buf(b"world") + i32(0))
    s.save("setdata", "setData version 0 -> Stat with version 1.")

    s.call("setData", ustr(base) + buf(b"nope") + i32(7))
    s.save("setdata_badversion", "setData with a wrong version: err -103 BadVersion.")

    s.call("exists", ustr(base) + boolean(False))
    s.save("exists", "exists of a present node: ExistsResponse (Stat).")

    s.call("exists", ustr("/corral-missing") + boolean(False))
    s.save("exists_nonode", "exists of a missing node: err -101 NoNode and no body.")

    s.call("getChildren", ustr(base) + boolean(False))
    s.save("getchildren", "getChildren (op 8).")

    s.call("getChildren2", ustr(base) + boolean(False))
    s.save("getchildren2", "getChildren2 (op 12): children + Stat.")

    s.call("getACL", ustr(base))
    s.save("getacl", "getACL: the two ACL entries + Stat.")

    s.call("setACL", ustr(base + "/nulldata") + vec([acl(1, "world", "anyone")], lambda a: a) + i32(-1))
    s.save("setacl", "setACL world:anyone READ, version -1: SetACLResponse (Stat, aversion 1).")

    s.call("sync", ustr(base))
    s.save("sync", "sync: SyncResponse echoes the path.")

    s.call("getAllChildrenNumber", ustr(base))
    s.save("get_all_children_number", "getAllChildrenNumber (op 104): every descendant.")

    s.call("getEphemerals", ustr(base))
    s.save("get_ephemerals", "getEphemerals (op 103) with prefix %s." % base)

    s.call(
        "multi",
        multi_body(
            [
                ("create", create_body(base + "/m1", b"1", OPEN_ACL, 0)),
                ("create2", create_body(base + "/m2", b"2", OPEN_ACL, 0)),
                ("setData", ustr(base) + buf(b"multi") + i32(1)),
                ("check", ustr(base) + i32(2)),
                ("delete", ustr(base + "/m1") + i32(-1)),
            ]
        ),
    )
    s.save("multi_ok", "multi: create, create2, setData, check, delete -> all succeed.")

    s.call(
        "multi",
        multi_body(
            [
                ("create", create_body(base + "/m3", b"3", OPEN_ACL, 0)),
                ("check", ustr(base) + i32(99)),
                ("delete", ustr(base + "/child1") + i32(-1)),
            ]
        ),
    )
    s.save(
        "multi_fail",
        "multi whose 2nd op (check version 99) fails: see the reply header err\n"
        "and the per-op ErrorResults (0 before, -103 at, -2 after the failure).",
    )

    s.call(
        "multi",
        multi_body(
            [
                ("createContainer", create_body(base + "/mc", b"", OPEN_ACL, 4)),
                ("createTTL", create_body(base + "/mt", b"", OPEN_ACL, 5) + i64(60000)),
            ]
        ),
    )
    s.save(
        "multi_create_variants",
        "multi with createContainer and createTTL ops: which op type does\n"
        "each result header carry?",
    )

    s.call(
        "multiRead",
        multi_body(
            [
                ("getChildren", ustr(base) + boolean(False)),
                ("getData", ustr(base) + boolean(False)),
                ("getData", ustr("/corral-missing") + boolean(False)),
            ]
        ),
    )
    s.save("multi_read", "multiRead (op 22): getChildren, getData, getData of a missing node.")

    s.call("delete", ustr(base + "/m2") + i32(-1))
    s.save("delete", "delete, version -1: reply has no body.")

    s.call("delete", ustr(base) + i32(-1))
    s.save("delete_notempty", "delete of a node with children: err -111 NotEmpty.")

    s.call("delete", ustr("/corral-missing") + i32(-1))
    s.save("delete_nonode", "delete of a missing node: err -101.")

    s.call("ping", xid=-2)
    s.save("ping", "ping: xid -2, op 11, no body; reply xid -2.")

    # -- a watch fires ---------------------------------------------------------
    s.call("getData", ustr(base + "/child1") + boolean(True))
    old.call("setData", ustr(base + "/child1") + buf(b"changed") + i32(-1))
    old.save("setdata_old_client", "setData from the 44-byte-connect session.")
    s.expect_notification()
    s.save(
        "watch_notification",
        "getData with watch=true, then another session sets the data: the\n"
        "notification frame (xid -1, zxid -1, WatcherEvent NodeDataChanged).",
    )

    s.call("exists", ustr(base + "/new") + boolean(True))
    s.save("exists_nonode_watch", "exists watch=true on a missing node (sets an exist watch).")
    old.call("create", create_body(base + "/new", b"", OPEN_ACL, 0))
    old.save("create_old_client", "create from the 44-byte-connect session.")
    s.expect_notification()
    s.save("watch_node_created", "The NodeCreated notification for the exist watch.")

    s.call("getChildren", ustr(base) + boolean(True))
    old.call("delete", ustr(base + "/new") + i32(-1))
    old.save("delete_old_client", "delete from the 44-byte-connect session.")
    s.expect_notification()
    s.save("watch_children_changed", "The NodeChildrenChanged notification for a child watch.")

    s.call("checkWatches", ustr(base) + i32(1))
    s.save("check_watches_none", "checkWatches (op 17, Children) after the child watch fired: err -121 NoWatcher.")

    s.call("getChildren", ustr(base) + boolean(True))
    s.frames = []
    s.call("checkWatches", ustr(base) + i32(1))
    s.save("check_watches", "checkWatches (op 17, Children) with a child watch set: err 0.")

    s.call("getData", ustr(base) + boolean(True))
    s.call("removeWatches", ustr(base) + i32(2))
    s.save("remove_watches", "getData watch=true, then removeWatches (op 18, Data): err 0.")

    s.call("addWatch", ustr(base) + i32(1))
    s.save("addwatch", "addWatch (op 106) PERSISTENT_RECURSIVE: reply carries ErrorResponse(0).")
    old.call("setData", ustr(base + "/child1") + buf(b"again") + i32(-1))
    old.frames = []
    s.expect_notification()
    s.save("watch_persistent_recursive", "Notification from the persistent recursive watch.")

    s.call(
        "setWatches",
        i64(0) + vec([base], ustr) + vec(["/corral-missing"], ustr) + vec([base], ustr),
        xid=-8,
    )
    while s.recv(timeout=1) is not None:  # what was missed since zxid 0
        pass
    s.save(
        "setwatches",
        "setWatches (op 101, xid -8) with relativeZxid 0: reply, then the\n"
        "notifications for what changed since zxid 0.",
    )

    seen_zxid = s.last_zxid
    s.close_socket()

    # A fresh session re-registers watches as after a reconnect.
    s = RawSession(port, out_dir)
    s.connect()
    s.frames = []
    s.call(
        "setWatches2",
        i64(seen_zxid)
        + vec([base], ustr)
        + vec(["/corral-missing"], ustr)
        + vec([base], ustr)
        + vec(["/corral-container"], ustr)
        + vec(["/corral-ttl"], ustr),
        xid=-8,
    )
    while s.recv(timeout=1) is not None:
        pass
    s.save(
        "setwatches2",
        "setWatches2 (op 105, xid -8) with the last zxid the first session saw:\n"
        "data, exist, child, persistent and persistent-recursive watches.",
    )

    s.call("addWatch", ustr("/corral-missing/x") + i32(0))
    s.save("addwatch_persistent", "addWatch PERSISTENT (mode 0) on a missing node: allowed, err 0.")

    s.call("closeSession")
    s.expect_close()
    s.save("close_session", "closeSession (op -11): reply with no body, then the server closes.")

    # -- session resume and expiry -----------------------------------------------
    r = RawSession(port, out_dir)
    r.connect(timeout=10000)
    sid, pw = r.session_id, r.passwd
    r.call("getData", ustr(base) + boolean(False))
    zxid = r.last_zxid
    r.close_socket()
    r.frames = []
    r2 = RawSession(port, out_dir)
    r2.connect(timeout=10000, session_id=sid, passwd=pw, last_zxid=zxid)
    r2.save("connect_resume", "Reconnect with the session id, password and lastZxidSeen.")
    r2.call("closeSession")
    r2.expect_close()
    r2.frames = []

    x = RawSession(port, out_dir)
    x.send(connect_body(session_id=sid, passwd=pw))
    x.recv()
    x.expect_close()
    x.save(
        "connect_expired",
        "Reconnect to a closed session: timeout 0, session id 0, zero password,\n"
        "then the server closes the connection.",
    )

    bad = RawSession(port, out_dir)
    bad.connect()
    bad.frames = []
    bad.send(i32(-4) + i32(OP["auth"]) + i32(0) + ustr("nosuchscheme") + buf(b"x"))
    while bad.recv(timeout=3) is not None:
        pass
    bad.save(
        "auth_failed",
        "auth with an unknown scheme: reply err -115 AuthFailed (and whatever\n"
        "follows before the server closes).",
    )

    old.call("closeSession")
    old.expect_close()
    old.save("close_session_old_client", "closeSession from the 44-byte-connect session.")


# --------------------------------------------------------------------------
# Recording proxy for kazoo and the Java client
# --------------------------------------------------------------------------


class Proxy(object):
    """Accepts on a free port, forwards to ZooKeeper, records frames per
    connection in wire order."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # list of frame lists
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            frames = []
            with self.lock:
                self.conns.append(frames)
            for src, dst, d in ((c, u, ">"), (u, c, "<")):
                t = threading.Thread(target=self._pump, args=(src, dst, d, frames), daemon=True)
                t.start()
                self.threads.append(t)

    def _pump(self, src, dst, direction, frames):
        pending = b""
        while True:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                for s in (dst, src):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            pending += chunk
            done, pending = split_frames(pending)
            with self.lock:
                for fr in done:
                    frames.append((direction, fr))
            try:
                dst.sendall(chunk)
            except OSError:
                return

    def take(self):
        """Recorded connections so far (and forget them)."""
        time.sleep(0.3)
        with self.lock:
            out, self.conns = self.conns, []
        return out

    def close(self):
        self.lsock.close()


def split_session(frames):
    """Splits one recorded connection into exchanges:
    [("connect", [...]), (opname, [...]), ...]. Server frames pair with the
    client frame of the same xid; notifications (xid -1) form their own
    exchange."""
    out = []
    if not frames:
        return out
    client = [f for d, f in frames if d == ">"]
    server = [f for d, f in frames if d == "<"]
    if not client or not server:
        return out
    out.append(("connect", [(">", client[0]), ("<", server[0])]))
    replies = list(server[1:])
    for req in client[1:]:
        xid, op = struct.unpack(">ii", req[4:12])
        ex = [(">", req)]
        for i, rep in enumerate(replies):
            if struct.unpack(">i", rep[4:8])[0] == xid:
                ex.append(("<", replies.pop(i)))
                break
        out.append((OP_NAME.get(op, "op%d" % op), ex))
    for rep in replies:
        if struct.unpack(">i", rep[4:8])[0] == -1:
            out.append(("notification", [("<", rep)]))
    return out


def save_session(out_dir, prefix, frames, comment, seen):
    """One file per exchange: `<prefix>_<op>`, then `<prefix>_<op>_2`, ...;
    only the first connect of a client is kept."""
    names = []
    for name, ex in split_session(frames):
        n = seen.get(name, 0) + 1
        seen[name] = n
        if name == "connect" and n > 1:
            continue
        fname = "%s_%s" % (prefix, name) if n == 1 else "%s_%s_%d" % (prefix, name, n)
        write_fixture(out_dir, fname, "%s: %s" % (comment, name), ex)
        names.append(fname)
    return names


def kazoo_captures(zk_port, out_dir):
    try:
        from kazoo.client import KazooClient
        from kazoo.security import make_digest_acl
    except ImportError:
        print("warning: kazoo not importable; skipping kazoo captures", file=sys.stderr)
        return
    proxy = Proxy(zk_port)
    zk = KazooClient(hosts="127.0.0.1:%d" % proxy.port, timeout=10)
    zk.start()
    zk.add_auth("digest", "bob:pw")
    acls = [make_digest_acl("bob", "pw", all=True)]
    zk.create("/kazoo", b"k", acl=acls)
    zk.create("/kazoo/c", b"", include_data=True)
    zk.get("/kazoo")
    zk.set("/kazoo", b"k2")
    zk.exists("/kazoo")
    zk.exists("/kazoo-missing")
    zk.get_children("/kazoo", include_data=True)
    zk.get_acls("/kazoo")
    zk.sync("/kazoo")
    t = zk.transaction()
    t.create("/kazoo/t1", b"t")
    t.set_data("/kazoo", b"k3")
    t.check("/kazoo", 2)
    t.commit()
    t = zk.transaction()
    t.create("/kazoo/t2", b"t")
    t.check("/kazoo", 99)
    t.commit()
    zk.delete("/kazoo/c")
    zk.delete("/kazoo", recursive=True)
    zk.stop()
    zk.close()
    seen = {}
    for frames in proxy.take():
        save_session(out_dir, "kazoo", frames, "kazoo client through a recording proxy", seen)
    proxy.close()


def zkcli_captures(zk_port, out_dir, log4j):
    proxy = Proxy(zk_port)
    cp = ":".join(zk_classpath())
    server = "127.0.0.1:%d" % proxy.port
    cmds = [
        ["create", "/zkcli", "v"],
        ["create", "-e", "/zkcli/eph", "e"],
        ["get", "-s", "/zkcli"],
        ["set", "/zkcli", "v2"],
        ["stat", "/zkcli"],
        ["stat", "/zkcli-missing"],
        ["ls", "-s", "/zkcli"],
        ["getAcl", "/zkcli"],
        ["setAcl", "/zkcli", "world:anyone:cdrwa"],
        ["sync", "/zkcli"],
        ["getAllChildrenNumber", "/zkcli"],
        ["getEphemerals", "/"],
        ["whoami"],
        ["addauth", "digest", "carol:pw"],
        ["addWatch", "/zkcli"],
        ["deleteall", "/zkcli"],
    ]
    seen = {}
    for cmd in cmds:
        argv = [
            "java",
            "-Djava.net.preferIPv4Stack=true",
            "-Dlog4j.configuration=file:%s" % log4j,
            "-Dzookeeper.sasl.client=false",
            "-cp",
            cp,
            "org.apache.zookeeper.ZooKeeperMain",
            "-server",
            server,
        ] + cmd
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        print("zkCli %s -> %s" % (" ".join(cmd), res.stdout.decode(errors="replace").strip()[:200]))
        for frames in proxy.take():
            save_session(out_dir, "zkcli", frames, "ZooKeeper %s" % " ".join(cmd), seen)
    proxy.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--keep", action="store_true", help="keep the ZooKeeper temp dir")
    args = ap.parse_args()
    for old in glob.glob(os.path.join(args.out, "*.hex")):
        os.remove(old)
    zk = ZooKeeper()
    zk.start()
    try:
        print("ZooKeeper %s on 127.0.0.1:%d" % (zk.version(), zk.port))
        raw_captures(zk.port, args.out)
        kazoo_captures(zk.port, args.out)
        zkcli_captures(zk.port, args.out, zk.log4j)
    finally:
        zk.stop(keep=args.keep)
    n = len(glob.glob(os.path.join(args.out, "*.hex")))
    print("wrote %d fixtures to %s" % (n, args.out))


if __name__ == "__main__":
    main()
