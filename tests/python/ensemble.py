"""Test harness: an ensemble of corral-servers (or Apache ZooKeeper 3.8
QuorumPeers) on loopback, from zoo.cfg `server.N` lines and `myid` files.

`Ensemble(kind, voters=3, observers=0)` makes one `Member` (a `servers.Server`
with the ensemble's lines) per server; `start()` starts them all and waits
until each serves clients.  Members can be killed, stopped and started
alone; everything is killed and removed by `cleanup()` (also on failure, and
by servers.py's atexit/SIGTERM hooks).

`NetLab(count)` puts each member in its own network namespace instead (for
partitions): `Ensemble(kind, voters, netlab=lab)` runs member i inside
`lab.netns(i)` on address `lab.address(i)`; `lab.cut(i)` / `lab.heal(i)`
take its link down and up again.
"""

import atexit
import ctypes
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from servers import Server, ServerError, StartedInWith, _kill_all_live, free_port, zookeeper_classpath


# ---------------------------------------------------------------------------
# Network namespaces
# ---------------------------------------------------------------------------

class NetLabError(RuntimeError):
    pass


def _ip(*args, check=True):
    """Run `ip ARGS`; raise NetLabError with its stderr on failure."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    try:
        res = subprocess.run([ip] + list(args), capture_output=True, text=True)
    except OSError as e:
        raise NetLabError("cannot run `ip` (install iproute2): %s" % e)
    if check and res.returncode != 0:
        raise NetLabError("`ip %s` failed (%d): %s" % (
            " ".join(args), res.returncode, res.stderr.strip()))
    return res


_LIVE_LABS = set()


def _cleanup_labs():
    for lab in list(_LIVE_LABS):
        lab.cleanup()


atexit.register(_cleanup_labs)

_SIGTERM_HOOKED = False


def _hook_sigterm():
    """On SIGTERM (which skips atexit): kill the servers, remove the labs,
    then do what was done before (servers.py re-raises the signal)."""
    global _SIGTERM_HOOKED
    if _SIGTERM_HOOKED or threading.current_thread() is not threading.main_thread():
        return
    _SIGTERM_HOOKED = True
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum, frame):
        _kill_all_live()
        _cleanup_labs()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)


_LEFTOVER = re.compile(r"^(?:corral-|crl)(\d+)[a-z](?:-\d+|[bhn]\d*)?$")


def _remove_leftovers():
    """Remove namespaces and links that an earlier run, killed too hard to
    clean up (SIGKILL), left behind: ours by name, and their pid is gone."""
    def dead(name):
        m = _LEFTOVER.match(name)
        return m and int(m.group(1)) != os.getpid() and not os.path.exists("/proc/%s" % m.group(1))

    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if dead(name):
            _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        name = parts[1].strip().split("@")[0] if len(parts) > 1 else ""
        if dead(name):
            _ip("link", "del", name, check=False)


class NetLab(object):
    """One network namespace per server, joined by a bridge in the root
    namespace:

        root ns:  bridge <br> 10.X.Y.254/24  (the test's clients use it)
                    |-- veth <h1> ==== <n1> (in ns 1) 10.X.Y.1/24
                    |-- veth <h2> ==== <n2> (in ns 2) 10.X.Y.2/24
                    ...

    Servers run as `ip netns exec <ns> <command>` and listen on their own
    address; clients in the root namespace reach them through the bridge.
    `cut(i)` sets the root-side end of member i's veth down: its namespace
    loses carrier and no packet goes in or out (the server process keeps
    running, its TCP connections just go silent); `heal(i)` sets it up.
    Names carry the pid and a counter, so parallel or aborted runs never
    collide; `cleanup()` deletes the namespaces (which deletes their veths)
    and the bridge, and runs at exit too.
    """

    _counter = 0

    def __init__(self, count):
        NetLab._counter += 1
        tag = "%d%s" % (os.getpid(), chr(ord("a") + NetLab._counter % 26))
        self.count = count
        self.prefix = "crl" + tag  # interface names are at most 15 bytes
        self.bridge = self.prefix + "b"
        self.subnet = self._pick_subnet()
        self.created_ns = []
        self.created_links = []
        _hook_sigterm()
        _remove_leftovers()
        _LIVE_LABS.add(self)
        try:
            self._build()
        except Exception:
            self.cleanup()
            raise

    # -- names ----------------------------------------------------------------
    def netns(self, i):
        return "corral-%s-%d" % (self.prefix[3:], i)

    def host_veth(self, i):
        return "%sh%d" % (self.prefix, i)

    def ns_veth(self, i):
        return "%sn%d" % (self.prefix, i)

    def address(self, i):
        return str(self.subnet.network_address + i)

    @property
    def gateway(self):
        return str(self.subnet.network_address + 254)

    def wrapper(self, i):
        """Command prefix that runs a program inside namespace i."""
        return [shutil.which("ip") or "/usr/sbin/ip", "netns", "exec", self.netns(i)]

    # -- building -------------------------------------------------------------
    def _pick_subnet(self):
        """A 10.X.Y.0/24 that overlaps no route or address of this host."""
        used = []
        for args in (["-4", "route", "show", "table", "all"], ["-4", "addr", "show"]):
            for word in _ip(*args, check=False).stdout.split():
                try:
                    used.append(ipaddress.ip_network(word, strict=False))
                except ValueError:
                    pass
        used = [n for n in used if n.prefixlen > 0]
        pid = os.getpid() + NetLab._counter
        for k in range(200):
            n = pid + 7919 * k
            net = ipaddress.ip_network("10.%d.%d.0/24" % (200 + n % 50, (n // 50) % 256))
            if not any(net.overlaps(u) for u in used):
                return net
        raise NetLabError("no free 10.x.y.0/24 subnet for the test namespaces")

    def _build(self):
        _ip("link", "add", self.bridge, "type", "bridge")
        self.created_links.append(self.bridge)
        _ip("addr", "add", "%s/24" % self.gateway, "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i in range(1, self.count + 1):
            ns, h, n = self.netns(i), self.host_veth(i), self.ns_veth(i)
            _ip("netns", "add", ns)
            self.created_ns.append(ns)
            _ip("link", "add", h, "type", "veth", "peer", "name", n)
            self.created_links.append(h)
            _ip("link", "set", n, "netns", ns)
            _ip("link", "set", h, "master", self.bridge)
            _ip("link", "set", h, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", "%s/24" % self.address(i), "dev", n)
            _ip("-n", ns, "link", "set", n, "up")

    # -- faults ---------------------------------------------------------------
    def cut(self, i):
        _ip("link", "set", self.host_veth(i), "down")

    def heal(self, i):
        _ip("link", "set", self.host_veth(i), "up")

    # -- running code inside a namespace ---------------------------------------
    def run_in(self, i, fn, *args, **kw):
        """Call fn(*args, **kw) in a new thread that has joined namespace i
        (setns(2) is per thread; threads it starts, like a kazoo client's
        connection thread, inherit the namespace). Returns fn's result."""
        result = {}

        def body():
            try:
                with open("/run/netns/%s" % self.netns(i)) as f:
                    libc = ctypes.CDLL(None, use_errno=True)
                    if libc.setns(f.fileno(), 0x40000000) != 0:  # CLONE_NEWNET
                        raise OSError(ctypes.get_errno(), "setns failed")
                result["value"] = fn(*args, **kw)
            except BaseException as e:  # re-raised in the caller
                result["error"] = e

        t = threading.Thread(target=body, name="netns-%d" % i, daemon=True)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    # -- teardown ---------------------------------------------------------------
    def cleanup(self):
        for ns in reversed(self.created_ns):
            _ip("netns", "del", ns, check=False)  # also deletes its veth pair
        for link in reversed(self.created_links):
            if _ip("link", "show", link, check=False).returncode == 0:
                _ip("link", "del", link, check=False)
        self.created_ns = []
        self.created_links = []
        _LIVE_LABS.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


# ---------------------------------------------------------------------------
# Ensemble
# ---------------------------------------------------------------------------


class Member(Server):
    """One server of an ensemble."""

    serving_modes = ("leader", "follower", "observer")

    def __init__(self, kind, server_id, ensemble_lines, host="127.0.0.1", wrapper=None, **kw):
        self.server_id = server_id
        self.ensemble_lines = ensemble_lines
        # `wrapper`: a command prefix (e.g. `ip netns exec NS`) to run it with.
        self.wrapper = list(wrapper or [])
        super().__init__(kind, **kw)
        if host != self.host:
            self.host = host
            self._write_cfg()  # clientPortAddress
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % server_id)

    def cfg_lines(self):
        return super().cfg_lines() + self.ensemble_lines

    def command(self):
        cmd = super().command()
        if self.kind == "zookeeper":
            cmd[-2] = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
        # (the wrapper starts with an absolute path, which Server.start's
        # "is the corral binary there" check accepts)
        return self.wrapper + cmd

    def mode(self):
        """leader, follower, observer, or None when not serving."""
        try:
            srvr = self.four_letter("srvr", timeout=1.0)
        except OSError:
            return None
        for line in srvr.splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):].strip()
        return None


class Ensemble(StartedInWith):
    def __init__(self, kind="corral", voters=3, observers=0, extra_cfg=None, netlab=None, **kw):
        """`netlab`: a NetLab with at least voters + observers namespaces;
        member i then runs in namespace i on its address."""
        self.kind = kind
        self.netlab = netlab
        count = voters + observers
        ids = list(range(1, count + 1))

        def host(i):
            return netlab.address(i) if netlab else "127.0.0.1"

        lines = []
        for i in ids:
            role = ":observer" if i > voters else ""
            lines.append(
                "server.%d=%s:%d:%d%s" % (i, host(i), free_port(), free_port(), role)
            )
        extra = list(extra_cfg or [])
        if kind == "zookeeper":
            zookeeper_classpath()
            extra += ["standaloneEnabled=false", "reconfigEnabled=false"]
            if observers:
                extra.append("peerType=participant")
        self.members = []
        for i in ids:
            member_extra = list(extra)
            if kind == "zookeeper" and i > voters:
                member_extra = [l for l in member_extra if not l.startswith("peerType")]
                member_extra.append("peerType=observer")
            self.members.append(
                Member(kind, i, lines, extra_cfg=member_extra, host=host(i),
                       wrapper=netlab.wrapper(i) if netlab else None, **kw)
            )

    @property
    def hosts(self):
        return ",".join(m.hosts for m in self.members)

    def start(self, timeout=60.0):
        for m in self.members:
            m.ready_timeout = timeout
            self._launch(m)
        for m in self.members:
            self.wait_serving(m, timeout)
        return self

    def _launch(self, member):
        # Members wait for each other: start the process, check readiness later.
        ready = member._wait_ready
        member._wait_ready = lambda: None
        try:
            member.start()
        finally:
            member._wait_ready = ready

    def start_member(self, member, timeout=60.0):
        self._launch(member)
        self.wait_serving(member, timeout)

    def wait_serving(self, member, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not member.running():
                raise ServerError(
                    "%r exited; log:\n%s" % (member, member.log_tail())
                )
            if member.mode() in ("leader", "follower", "observer"):
                return
            time.sleep(0.05)
        raise ServerError("%r not serving after %.0fs; log:\n%s" % (member, timeout, member.log_tail()))

    def leader(self, timeout=30.0, among=None):
        """The member that says it leads (waiting for an election)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in among or self.members:
                if m.running() and m.mode() == "leader":
                    return m
            time.sleep(0.05)
        raise ServerError("no leader after %.0fs" % timeout)

    def followers(self):
        return [m for m in self.members if m.running() and m.mode() != "leader"]

    def cleanup(self):
        for m in self.members:
            m.cleanup()


# ---------------------------------------------------------------------------
# An ensemble as one "server" of the suites parametrised over server kinds
# ---------------------------------------------------------------------------

# Server kinds of conftest's `server` fixture that are ensembles of 3 voters
# of a base kind. Only "corral-ensemble" is in the default kinds;
# "zookeeper-ensemble" tells whether a failure there is ours or the test's.
ENSEMBLE_KINDS = {"corral-ensemble": "corral", "zookeeper-ensemble": "zookeeper"}


class EnsembleServer(StartedInWith):
    """What a test written for one `servers.Server` needs, from an
    ensemble: `hosts` names every member (kazoo fails over among them);
    `next_member()` and `client_hosts()` start each new client at the next
    member in turn, so the clients of one test sit on different servers;
    `member_of(client)` is the member a kazoo client is connected to.
    `host`, `port`, `data_dir` and `four_letter` are those of `primary`, a
    follower when the ensemble started (the leader is much like a
    standalone server; a follower forwards writes and session touches).
    `stop`, `kill`, `start` and `restart` act on every member: the service
    goes down and comes back as a whole, as one server does."""

    serving_modes = Member.serving_modes

    def __init__(self, kind="corral-ensemble", voters=3, ready_timeout=60.0, **kw):
        if kind not in ENSEMBLE_KINDS:
            raise ValueError("unknown ensemble kind %r" % (kind,))
        self.kind = kind
        self.ready_timeout = ready_timeout
        self.ensemble = Ensemble(ENSEMBLE_KINDS[kind], voters=voters, **kw)
        self.members = self.ensemble.members
        self.primary = self.members[0]
        self._turn = 0
        self._lock = threading.Lock()

    # -- where clients go -----------------------------------------------------
    @property
    def hosts(self):
        return self.ensemble.hosts

    @property
    def host(self):
        return self.primary.host

    @property
    def port(self):
        return self.primary.port

    @property
    def data_dir(self):
        return self.primary.data_dir

    def next_member(self):
        with self._lock:
            member = self.members[self._turn % len(self.members)]
            self._turn += 1
        return member

    def client_hosts(self):
        """Every member, the next one in turn first (for randomize_hosts=False)."""
        first = self.next_member()
        return ",".join([first.hosts] + [m.hosts for m in self.members if m is not first])

    def member_of(self, client):
        port = client._connection._socket.getpeername()[1]
        for m in self.members:
            if m.port == port:
                return m
        raise AssertionError("%r is connected to no member (port %d)" % (client, port))

    def all_servers(self):
        return list(self.members)

    def four_letter(self, cmd, timeout=5.0):
        return self.primary.four_letter(cmd, timeout=timeout)

    # -- lifecycle ----------------------------------------------------------------
    def start(self):
        if not self.running():
            self.ensemble.start(timeout=self.ready_timeout)
            followers = [m for m in self.members if m.mode() == "follower"]
            self.primary = followers[0] if followers else self.members[0]
        return self

    def running(self):
        return all(m.running() for m in self.members)

    def stop(self, grace=5.0):
        for m in self.members:
            if m.running():
                m._signal(signal.SIGTERM)
        for m in self.members:
            m.stop(grace)

    def kill(self):
        for m in self.members:
            m.kill()

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.ensemble.cleanup()

    def log_text(self):
        return "\n".join("==== member %d\n%s" % (m.server_id, m.log_text()) for m in self.members)

    def log_tail(self, n=60):
        return "\n".join("==== member %d\n%s" % (m.server_id, m.log_tail(n)) for m in self.members)

    def __repr__(self):
        return "EnsembleServer(%s, %s)" % (self.kind, self.hosts)
