"""Test harness: start corral-server or Apache ZooKeeper from one zoo.cfg.

`Server(kind)` writes a zoo.cfg into a fresh temp dir, starts the server
process on a free loopback port and waits until it answers `ruok`.  Both
kinds read the very same zoo.cfg, so whatever a test sees from one it should
see from the other.

The module also carries a tiny synchronous ZooKeeper wire-protocol client
(`RawClient`) for what kazoo does not expose (TTL and container nodes,
addWatch, removeWatches, whoAmI, getEphemerals, getAllChildrenNumber,
malformed paths, oversized frames) and for exact error codes.
"""

import atexit
import base64
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

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_CORRAL = os.path.join(REPO_ROOT, "target", "debug", "corral-server")

KINDS = ("corral", "zookeeper")

SUPER_USER = "super"
SUPER_PASSWORD = "corral-super-secret"


def corral_binary():
    return os.environ.get("CORRAL_SERVER") or DEFAULT_CORRAL


_HANDED_OUT = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port():
    """A free TCP port on 127.0.0.1 (bind to port 0, read it, close), never
    one this process was given before: the kernel may hand a closed port
    out again at once, and two members of one ensemble on one port fail."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        with _HANDED_OUT_LOCK:
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port


def digest(user, password):
    """ZooKeeper's digest for `user:password`: base64(sha1("user:password"))."""
    raw = hashlib.sha1(("%s:%s" % (user, password)).encode("utf-8")).digest()
    return base64.b64encode(raw).decode("ascii")


def super_digest_id(user=SUPER_USER, password=SUPER_PASSWORD):
    return "%s:%s" % (user, digest(user, password))


# --------------------------------------------------------------------------
# ZooKeeper classpath (Debian packages)
# --------------------------------------------------------------------------

_ZK_CLASSPATH = None


def _dpkg_files(package):
    try:
        out = subprocess.run(
            ["dpkg", "-L", package], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def zookeeper_classpath():
    """The classpath Debian's zkEnv.sh builds: zookeeper.jar (whose manifest
    Class-Path names netty, jetty, jackson, metrics, slf4j-api, snappy, jute
    ... under /usr/share/java), plus the log4j 1.2 binding for slf4j so the
    server log lands in our log file."""
    global _ZK_CLASSPATH
    if _ZK_CLASSPATH is not None:
        return _ZK_CLASSPATH
    jars = []
    for f in _dpkg_files("libzookeeper-java") + _dpkg_files("zookeeper"):
        base = os.path.basename(f)
        if base in ("zookeeper.jar", "zookeeper-jute.jar") and os.path.isfile(f):
            if f not in jars:
                jars.append(f)
    if not jars:
        for f in ("/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar"):
            if os.path.isfile(f):
                jars.append(f)
    if not jars:
        raise RuntimeError(
            "ZooKeeper jars not found: install the Debian package `zookeeper`"
        )
    for extra in ("slf4j-log4j12.jar", "log4j-1.2.jar"):
        p = os.path.join("/usr/share/java", extra)
        if os.path.isfile(p):
            jars.append(p)
    _ZK_CLASSPATH = jars
    return jars


LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
log4j.logger.org.apache.zookeeper.server.ZookeeperBanner=WARN
log4j.logger.org.apache.zookeeper.Environment=WARN
"""


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------

_LIVE = set()
_LIVE_LOCK = threading.Lock()


def _kill_all_live():
    with _LIVE_LOCK:
        live = list(_LIVE)
    for srv in live:
        try:
            srv.kill()
        except Exception:
            pass


atexit.register(_kill_all_live)


def _on_sigterm(signum, frame):
    _kill_all_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


if threading.current_thread() is threading.main_thread():
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)

# Backstop for a harness killed hard: the kernel SIGKILLs our servers when
# the process that started them dies (Linux prctl PR_SET_PDEATHSIG).
try:
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    _PR_SET_PDEATHSIG = 1

    def _child_setup():
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
except (OSError, AttributeError):
    _child_setup = None


class ServerError(RuntimeError):
    pass


class StartedInWith(object):
    """`with x:` starts x and cleans it up after (also when it fails to
    start): for anything with `start()` (returning itself) and `cleanup()`."""

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False


class Server(StartedInWith):
    """One standalone server of `kind` ("corral" or "zookeeper")."""

    # What `srvr` says in its Mode line while the server serves clients.
    serving_modes = ("standalone",)

    def __init__(
        self,
        kind,
        tick_time=200,
        min_session_timeout=None,
        max_session_timeout=None,
        container_check_ms=500,
        extra_cfg=None,
        ready_timeout=30.0,
        base_dir=None,
    ):
        if kind not in KINDS:
            raise ValueError("unknown server kind %r" % (kind,))
        self.kind = kind
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tick_time = tick_time
        self.min_session_timeout = min_session_timeout or 2 * tick_time
        self.max_session_timeout = max_session_timeout or 20 * tick_time
        self.container_check_ms = container_check_ms
        self.extra_cfg = list(extra_cfg or [])
        self.ready_timeout = ready_timeout
        self.dir = tempfile.mkdtemp(prefix="corral-%s-" % kind, dir=base_dir)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.cfg_path = os.path.join(self.dir, "zoo.cfg")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.ruok_ok = None
        self._write_cfg()

    # -- configuration ----------------------------------------------------
    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    # The same questions as ensemble.EnsembleServer answers, for tests that
    # run against both: where the next client goes, which server a client
    # is connected to, every server that holds clients.
    def next_member(self):
        return self

    def client_hosts(self):
        return self.hosts

    def member_of(self, client):
        return self

    def all_servers(self):
        return [self]

    def cfg_lines(self):
        lines = [
            "tickTime=%d" % self.tick_time,
            "initLimit=10",
            "syncLimit=5",
            "dataDir=%s" % self.data_dir,
            "clientPort=%d" % self.port,
            "clientPortAddress=%s" % self.host,
            "minSessionTimeout=%d" % self.min_session_timeout,
            "maxSessionTimeout=%d" % self.max_session_timeout,
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
            "extendedTypesEnabled=true",
            "zookeeper.extendedTypesEnabled=true",
            "znode.container.checkIntervalMs=%d" % self.container_check_ms,
            "DigestAuthenticationProvider.superDigest=%s" % super_digest_id(),
        ]
        return lines + self.extra_cfg

    def _write_cfg(self):
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(self.cfg_lines()) + "\n")
        if self.kind == "zookeeper":
            with open(os.path.join(self.dir, "log4j.properties"), "w") as f:
                f.write(LOG4J_PROPERTIES)

    def command(self):
        if self.kind == "corral":
            return [corral_binary(), "--config", self.cfg_path]
        cp = [self.dir] + zookeeper_classpath()
        return [
            os.environ.get("JAVA", "java"),
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-Djava.net.preferIPv4Stack=true",
            "-Dlog4j.configuration=file:%s" % os.path.join(self.dir, "log4j.properties"),
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dznode.container.checkIntervalMs=%d" % self.container_check_ms,
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=%s" % super_digest_id(),
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.4lw.commands.whitelist=*",
            "-cp",
            ":".join(cp),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            self.cfg_path,
        ]

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return self
        cmd = self.command()
        if self.kind == "corral" and not os.path.isfile(cmd[0]):
            raise ServerError(
                "corral-server binary not found at %s (build it with "
                "`cargo build -p corral-server` or set CORRAL_SERVER)" % cmd[0]
            )
        log = open(self.log_path, "ab")
        log.write(("\n==== start %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(cmd))).encode())
        log.flush()
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                env=env,
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        finally:
            log.close()
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._wait_ready()
        except Exception:
            self.kill()
            raise
        return self

    def _wait_ready(self):
        deadline = time.time() + self.ready_timeout
        first_connect = None
        last_answer = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    "%s server exited with code %s before it was ready; log:\n%s"
                    % (self.kind, self.proc.returncode, self.log_tail())
                )
            try:
                answer = self.four_letter("ruok", timeout=1.0)
            except OSError:
                time.sleep(0.05)
                continue
            if answer == "imok":
                self.ruok_ok = True
                # ZooKeeper answers ruok before its request pipeline runs;
                # srvr says "not currently serving requests" until it does.
                try:
                    srvr = self.four_letter("srvr", timeout=1.0)
                except OSError:
                    srvr = ""
                if "not currently serving" not in srvr:
                    return
                time.sleep(0.05)
                continue
            last_answer = answer
            # The port accepts connections but ruok is not answered (4lw not
            # implemented?): accept it as ready after a grace period.
            if first_connect is None:
                first_connect = time.time()
            elif time.time() - first_connect > 3.0:
                self.ruok_ok = False
                sys.stderr.write(
                    "warning: %s answers TCP but not ruok (%r); treating as ready\n"
                    % (self.kind, last_answer)
                )
                return
            time.sleep(0.05)
        raise ServerError(
            "%s server not ready after %.0fs (last ruok answer %r); log:\n%s"
            % (self.kind, self.ready_timeout, last_answer, self.log_tail())
        )

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def stop(self, grace=5.0):
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def kill(self):
        """SIGKILL (no shutdown hooks, no flush)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        if os.environ.get("CORRAL_KEEP_TMP"):
            sys.stderr.write("kept %s server dir %s\n" % (self.kind, self.dir))
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self):
        return "Server(%s, %s)" % (self.kind, self.hosts)

    # -- introspection ------------------------------------------------------
    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def four_letter(self, cmd, timeout=5.0):
        """Send a four-letter word, read until the server closes."""
        if isinstance(cmd, str):
            cmd = cmd.encode("ascii")
        assert len(cmd) == 4, cmd
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            s.sendall(cmd)
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks).decode("utf-8", "replace")
        finally:
            s.close()


# --------------------------------------------------------------------------
# Raw wire protocol (jute)
# --------------------------------------------------------------------------

# opcodes
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_ACL = 6
OP_SET_ACL = 7
OP_GET_CHILDREN = 8
OP_SYNC = 9
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CHECK = 13
OP_MULTI = 14
OP_CREATE2 = 15
OP_RECONFIG = 16
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_CREATE_CONTAINER = 19
OP_DELETE_CONTAINER = 20
OP_CREATE_TTL = 21
OP_MULTI_READ = 22
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_SASL = 102
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_SET_WATCHES2 = 105
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107
OP_CREATE_SESSION = -10
OP_CLOSE = -11
OP_ERROR = -1

# create modes
PERSISTENT = 0
EPHEMERAL = 1
PERSISTENT_SEQUENTIAL = 2
EPHEMERAL_SEQUENTIAL = 3
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

# addWatch modes
ADD_WATCH_PERSISTENT = 0
ADD_WATCH_PERSISTENT_RECURSIVE = 1

# watcher types for checkWatches/removeWatches
WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3

# error codes (KeeperException.Code)
ERR = {
    0: "OK",
    -1: "SYSTEMERROR",
    -2: "RUNTIMEINCONSISTENCY",
    -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS",
    -5: "MARSHALLINGERROR",
    -6: "UNIMPLEMENTED",
    -7: "OPERATIONTIMEOUT",
    -8: "BADARGUMENTS",
    -13: "NEWCONFIGNOQUORUM",
    -14: "RECONFIGINPROGRESS",
    -15: "UNKNOWNSESSION",
    -100: "APIERROR",
    -101: "NONODE",
    -102: "NOAUTH",
    -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS",
    -110: "NODEEXISTS",
    -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED",
    -113: "INVALIDCALLBACK",
    -114: "INVALIDACL",
    -115: "AUTHFAILED",
    -118: "SESSIONMOVED",
    -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION",
    -121: "NOWATCHER",
    -122: "REQUESTTIMEOUT",
    -123: "RECONFIGDISABLED",
    -124: "SESSIONCLOSEDREQUIRESASLAUTH",
    -125: "QUOTAEXCEEDED",
    -127: "THROTTLEDOP",
}
OK = 0
ZNONODE = -101
ZNOAUTH = -102
ZBADVERSION = -103
ZNOCHILDRENFOREPHEMERALS = -108
ZNODEEXISTS = -110
ZNOTEMPTY = -111
ZBADARGUMENTS = -8
ZUNIMPLEMENTED = -6
ZMARSHALLINGERROR = -5
ZRUNTIMEINCONSISTENCY = -2
ZNOWATCHER = -121
ZINVALIDACL = -114
ZAUTHFAILED = -115
ZSESSIONEXPIRED = -112

# watcher event types / states
EV_NONE = -1
EV_CREATED = 1
EV_DELETED = 2
EV_CHANGED = 3
EV_CHILD = 4
EV_DATA_WATCH_REMOVED = 5
EV_CHILD_WATCH_REMOVED = 6
EV_PERSISTENT_WATCH_REMOVED = 7
STATE_SYNC_CONNECTED = 3
STATE_EXPIRED = -112

# permissions
PERM_READ = 1
PERM_WRITE = 2
PERM_CREATE = 4
PERM_DELETE = 8
PERM_ADMIN = 16
PERM_ALL = 31

OPEN_ACL_UNSAFE = [(PERM_ALL, "world", "anyone")]

STAT_FIELDS = (
    "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
    "ephemeralOwner", "dataLength", "numChildren", "pzxid",
)
_STAT = struct.Struct("!qqqqiiiqiiq")


def enc_int(v):
    return struct.pack("!i", v)


def enc_long(v):
    return struct.pack("!q", v)


def enc_bool(v):
    return b"\x01" if v else b"\x00"


def enc_buf(b):
    if b is None:
        return enc_int(-1)
    return enc_int(len(b)) + bytes(b)


def enc_str(s):
    if s is None:
        return enc_int(-1)
    return enc_buf(s.encode("utf-8") if isinstance(s, str) else s)


def enc_acls(acls):
    out = enc_int(len(acls))
    for perms, scheme, ident in acls:
        out += enc_int(perms) + enc_str(scheme) + enc_str(ident)
    return out


def enc_strings(items):
    out = enc_int(len(items))
    for s in items:
        out += enc_str(s)
    return out


class Reader(object):
    def __init__(self, data, offset=0):
        self.data = data
        self.off = offset

    def remaining(self):
        return len(self.data) - self.off

    def int(self):
        v = struct.unpack_from("!i", self.data, self.off)[0]
        self.off += 4
        return v

    def long(self):
        v = struct.unpack_from("!q", self.data, self.off)[0]
        self.off += 8
        return v

    def bool(self):
        v = self.data[self.off] != 0
        self.off += 1
        return v

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = bytes(self.data[self.off:self.off + n])
        self.off += n
        return v

    def str(self):
        b = self.buf()
        return None if b is None else b.decode("utf-8")

    def strings(self):
        n = self.int()
        if n < 0:
            return None
        return [self.str() for _ in range(n)]

    def stat(self):
        vals = _STAT.unpack_from(self.data, self.off)
        self.off += _STAT.size
        return dict(zip(STAT_FIELDS, vals))

    def acls(self):
        n = self.int()
        return [(self.int(), self.str(), self.str()) for _ in range(n)]


# request bodies ---------------------------------------------------------------

def req_create(path, data=b"", acls=OPEN_ACL_UNSAFE, flags=PERSISTENT):
    return enc_str(path) + enc_buf(data) + enc_acls(acls) + enc_int(flags)


def req_create_ttl(path, data=b"", acls=OPEN_ACL_UNSAFE, flags=PERSISTENT_WITH_TTL, ttl=1000):
    return req_create(path, data, acls, flags) + enc_long(ttl)


def req_path_watch(path, watch=False):
    return enc_str(path) + enc_bool(watch)


def req_delete(path, version=-1):
    return enc_str(path) + enc_int(version)


def req_set_data(path, data, version=-1):
    return enc_str(path) + enc_buf(data) + enc_int(version)


def req_add_watch(path, mode):
    return enc_str(path) + enc_int(mode)


def req_remove_watches(path, wtype):
    return enc_str(path) + enc_int(wtype)


def req_auth(scheme, auth, auth_type=0):
    return enc_int(auth_type) + enc_str(scheme) + enc_buf(auth)


def req_multi(ops):
    """ops: list of (opcode, body). Returns the MultiRequest body."""
    out = b""
    for opcode, body in ops:
        out += enc_int(opcode) + enc_bool(False) + enc_int(-1) + body
    return out + enc_int(-1) + enc_bool(True) + enc_int(-1)


def parse_multi_response(body):
    """Returns a list of (opcode, err, payload) with payload decoded for the
    common result types."""
    r = Reader(body)
    results = []
    while True:
        op = r.int()
        done = r.bool()
        err = r.int()
        if done:
            break
        if op == OP_ERROR:
            results.append((op, r.int(), None))
        elif op == OP_CREATE:
            results.append((op, err, r.str()))
        elif op in (OP_CREATE2, OP_CREATE_TTL, OP_CREATE_CONTAINER):
            results.append((op, err, (r.str(), r.stat())))
        elif op == OP_SET_DATA:
            results.append((op, err, r.stat()))
        elif op in (OP_DELETE, OP_CHECK):
            results.append((op, err, None))
        elif op == OP_GET_DATA:
            results.append((op, err, (r.buf(), r.stat())))
        elif op == OP_GET_CHILDREN:
            results.append((op, err, r.strings()))
        else:
            raise ValueError("unknown multi result op %d" % op)
    return results


class Reply(object):
    __slots__ = ("xid", "zxid", "err", "body")

    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, body

    @property
    def reader(self):
        return Reader(self.body)

    @property
    def err_name(self):
        return ERR.get(self.err, str(self.err))

    def __repr__(self):
        return "Reply(xid=%d, zxid=%d, err=%s, %d bytes)" % (
            self.xid, self.zxid, self.err_name, len(self.body))


class RawError(Exception):
    pass


class RawClient(object):
    """Minimal synchronous ZooKeeper client over one TCP connection.

    Requests are sent one at a time; notifications (xid -1) arriving while
    waiting are stored in `.events` as (type, state, path) tuples.  Idle
    waits send pings at timeout/3, so a session stays alive while the test
    waits on events.
    """

    def __init__(self, host, port, timeout_ms=4000, session_id=0, passwd=None,
                 last_zxid=0, read_only=False, connect=True, io_timeout=10.0):
        self.host, self.port = host, port
        self.timeout_ms = timeout_ms
        self.session_id = session_id
        self.passwd = passwd if passwd is not None else b"\x00" * 16
        self.last_zxid = last_zxid
        self.read_only = read_only
        self.io_timeout = io_timeout
        self.sock = None
        self.xid = 0
        self.events = []
        self.negotiated_timeout = None
        self.connect_response = None
        self._rbuf = b""
        self._last_send = time.time()
        if connect:
            self.connect()

    @classmethod
    def to(cls, server, **kw):
        return cls(server.host, server.port, **kw)

    # -- framing --------------------------------------------------------------
    def _send_frame(self, payload):
        self.sock.sendall(enc_int(len(payload)) + payload)
        self._last_send = time.time()

    def _recv_exact(self, n, deadline):
        while len(self._rbuf) < n:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise socket.timeout("timed out reading from server")
            self.sock.settimeout(min(remaining, self._ping_interval()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                self._maybe_ping()
                continue
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._rbuf += chunk
        data, self._rbuf = self._rbuf[:n], self._rbuf[n:]
        return data

    def _recv_frame(self, deadline):
        n = struct.unpack("!i", self._recv_exact(4, deadline))[0]
        return self._recv_exact(n, deadline)

    def _ping_interval(self):
        t = (self.negotiated_timeout or self.timeout_ms) / 1000.0
        return max(0.05, t / 3.0)

    def _maybe_ping(self):
        if self.negotiated_timeout and self.sock is not None:
            if time.time() - self._last_send >= self._ping_interval():
                self._send_frame(enc_int(-2) + enc_int(OP_PING))

    # -- session ----------------------------------------------------------------
    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.io_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = (enc_int(0) + enc_long(self.last_zxid) + enc_int(self.timeout_ms)
               + enc_long(self.session_id) + enc_buf(self.passwd))
        if self.read_only is not None:
            # 45-byte form; None sends the old 44-byte ConnectRequest
            req += enc_bool(self.read_only)
        self._send_frame(req)
        frame = self._recv_frame(time.time() + self.io_timeout)
        r = Reader(frame)
        proto = r.int()
        timeout = r.int()
        sid = r.long()
        passwd = r.buf()
        ro = r.bool() if r.remaining() else None
        self.connect_response = dict(protocol_version=proto, timeout=timeout,
                                     session_id=sid, passwd=passwd, read_only=ro,
                                     length=len(frame))
        if timeout <= 0:
            self.sock.close()
            self.sock = None
            raise RawError("session expired (server answered timeout %d, session 0x%x)"
                           % (timeout, sid))
        self.negotiated_timeout = timeout
        self.session_id = sid
        self.passwd = passwd
        return self

    def request(self, opcode, body=b"", timeout=None):
        """Send one request; return its Reply (err may be non-zero)."""
        self.xid += 1
        xid = self.xid
        self._send_frame(enc_int(xid) + enc_int(opcode) + body)
        return self._wait_reply(xid, timeout)

    def pipeline(self, opcode, bodies):
        """Send every request at once, then read the replies: their Reply
        objects, in order (for bulk reads; keep batches to a few hundred,
        so that neither side's socket buffer fills up)."""
        first = self.xid + 1
        frames = []
        for body in bodies:
            self.xid += 1
            payload = enc_int(self.xid) + enc_int(opcode) + body
            frames.append(enc_int(len(payload)) + payload)
        self.sock.sendall(b"".join(frames))
        self._last_send = time.time()
        return [self._wait_reply(xid) for xid in range(first, self.xid + 1)]

    def send_only(self, opcode, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self._send_frame(enc_int(xid) + enc_int(opcode) + body)
        return xid

    def _wait_reply(self, xid, timeout=None):
        deadline = time.time() + (timeout or self.io_timeout)
        while True:
            frame = self._recv_frame(deadline)
            r = Reader(frame)
            rxid, zxid, err = r.int(), r.long(), r.int()
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            if rxid == xid:
                return Reply(rxid, zxid, err, frame[r.off:])
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.str()))
                continue
            if rxid == -2:
                continue
            raise RawError("unexpected xid %d (waiting for %d)" % (rxid, xid))

    def poll_events(self, duration):
        """Read for `duration` seconds, collecting notifications."""
        deadline = time.time() + duration
        try:
            while True:
                frame = self._recv_frame(deadline)
                r = Reader(frame)
                rxid, _zxid, _err = r.int(), r.long(), r.int()
                if rxid == -1:
                    self.events.append((r.int(), r.int(), r.str()))
        except socket.timeout:
            pass
        return list(self.events)

    def wait_events(self, count, timeout=10.0):
        """Wait until at least `count` events were received in total."""
        deadline = time.time() + timeout
        while len(self.events) < count:
            try:
                frame = self._recv_frame(deadline)
            except socket.timeout:
                break
            r = Reader(frame)
            rxid, _zxid, _err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.str()))
        return list(self.events)

    def take_events(self):
        ev, self.events = self.events, []
        return ev

    def close(self):
        """closeSession, then close the socket."""
        if self.sock is None:
            return
        try:
            self.request(OP_CLOSE, b"", timeout=5.0)
        except (OSError, ConnectionError, RawError):
            pass
        self.abort()

    def abort(self):
        """Drop the TCP connection without closing the session."""
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- convenience --------------------------------------------------------------
    def create(self, path, data=b"", acls=OPEN_ACL_UNSAFE, flags=PERSISTENT):
        rep = self.request(OP_CREATE, req_create(path, data, acls, flags))
        return rep.err, (rep.reader.str() if rep.err == 0 else None)

    def create2(self, path, data=b"", acls=OPEN_ACL_UNSAFE, flags=PERSISTENT, opcode=OP_CREATE2):
        rep = self.request(opcode, req_create(path, data, acls, flags))
        if rep.err:
            return rep.err, None, None
        r = rep.reader
        return rep.err, r.str(), r.stat()

    def create_ttl(self, path, ttl, data=b"", flags=PERSISTENT_WITH_TTL, acls=OPEN_ACL_UNSAFE):
        rep = self.request(OP_CREATE_TTL, req_create_ttl(path, data, acls, flags, ttl))
        if rep.err:
            return rep.err, None, None
        r = rep.reader
        return rep.err, r.str(), r.stat()

    def create_container(self, path, data=b"", acls=OPEN_ACL_UNSAFE):
        return self.create2(path, data, acls, CONTAINER, opcode=OP_CREATE_CONTAINER)

    def exists(self, path, watch=False):
        rep = self.request(OP_EXISTS, req_path_watch(path, watch))
        return rep.err, (rep.reader.stat() if rep.err == 0 else None)

    def get(self, path, watch=False):
        rep = self.request(OP_GET_DATA, req_path_watch(path, watch))
        if rep.err:
            return rep.err, None, None
        r = rep.reader
        return rep.err, r.buf(), r.stat()

    def set(self, path, data, version=-1):
        rep = self.request(OP_SET_DATA, req_set_data(path, data, version))
        return rep.err, (rep.reader.stat() if rep.err == 0 else None)

    def delete(self, path, version=-1):
        return self.request(OP_DELETE, req_delete(path, version)).err

    def children(self, path, watch=False):
        rep = self.request(OP_GET_CHILDREN2, req_path_watch(path, watch))
        if rep.err:
            return rep.err, None, None
        r = rep.reader
        return rep.err, r.strings(), r.stat()

    def add_watch(self, path, mode):
        return self.request(OP_ADD_WATCH, req_add_watch(path, mode)).err

    def remove_watches(self, path, wtype):
        return self.request(OP_REMOVE_WATCHES, req_remove_watches(path, wtype)).err

    def check_watches(self, path, wtype):
        return self.request(OP_CHECK_WATCHES, req_remove_watches(path, wtype)).err

    def add_auth(self, scheme, auth):
        """Auth packets use xid -4."""
        self._send_frame(enc_int(-4) + enc_int(OP_AUTH) + req_auth(scheme, auth))
        return self._wait_reply(-4).err

    def sync(self, path):
        rep = self.request(OP_SYNC, enc_str(path))
        return rep.err, (rep.reader.str() if rep.err == 0 else None)

    def whoami(self):
        rep = self.request(OP_WHO_AM_I, b"")
        if rep.err:
            return rep.err, None
        r = rep.reader
        n = r.int()
        return rep.err, [(r.str(), r.str()) for _ in range(n)]

    def get_ephemerals(self, prefix):
        rep = self.request(OP_GET_EPHEMERALS, enc_str(prefix))
        return rep.err, (rep.reader.strings() if rep.err == 0 else None)

    def get_all_children_number(self, path):
        rep = self.request(OP_GET_ALL_CHILDREN_NUMBER, enc_str(path))
        return rep.err, (rep.reader.int() if rep.err == 0 else None)

    def multi(self, ops):
        rep = self.request(OP_MULTI, req_multi(ops))
        return rep.err, (parse_multi_response(rep.body) if rep.body else [])

    def ping(self):
        self._send_frame(enc_int(-2) + enc_int(OP_PING))
        self._wait_reply(-2)


# --------------------------------------------------------------------------
# A TCP proxy that can black-hole traffic (network partition, frozen client)
# --------------------------------------------------------------------------

class Proxy(object):
    """Forwards 127.0.0.1:<port> to a server.  `pause()` black-holes: bytes
    in both directions are dropped and new connections are accepted but
    never answered, so neither side sees a close.  `resume()` closes what
    was black-holed and forwards again."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.host = "127.0.0.1"
        self.port = self.listener.getsockname()[1]
        self.paused = False
        self.closed = False
        self.dropped = 0  # bytes black-holed so far
        self.lock = threading.Lock()
        self.conns = []  # lists of sockets belonging to one connection
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @classmethod
    def to(cls, server):
        return cls(server.host, server.port)

    @property
    def hosts(self):
        return "%s:%d" % (self.host, self.port)

    def _accept_loop(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.paused:
                    self.conns.append([client])
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = [client, upstream]
            with self.lock:
                self.conns.append(pair)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.paused:
                    with self.lock:
                        self.dropped += len(data)
                    continue
                dst.sendall(data)
        except OSError:
            pass
        if not self.paused:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def pause(self):
        with self.lock:
            self.paused = True

    def resume(self):
        with self.lock:
            conns, self.conns = self.conns, []
            for group in conns:
                for s in group:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
            self.paused = False

    def close(self):
        self.closed = True
        try:
            self.listener.close()
        except OSError:
            pass
        self.resume()
