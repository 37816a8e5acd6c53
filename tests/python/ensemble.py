"""Test harness: an ensemble of corral-servers (or Apache ZooKeeper 3.8
QuorumPeers) on loopback, from zoo.cfg `server.N` lines and `myid` files.

`Ensemble(kind, voters=3, observers=0)` makes one `Member` (a `servers.Server`
with the ensemble's lines) per server; `start()` starts them all and waits
until each serves clients.  Members can be killed, stopped and started
alone; everything is killed and removed by `cleanup()` (also on failure, and
by servers.py's atexit/SIGTERM hooks).
"""

import os
import time

from servers import Server, ServerError, free_port, zookeeper_classpath


class Member(Server):
    """One server of an ensemble."""

    def __init__(self, kind, server_id, ensemble_lines, **kw):
        self.server_id = server_id
        self.ensemble_lines = ensemble_lines
        super().__init__(kind, **kw)
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % server_id)

    def cfg_lines(self):
        return super().cfg_lines() + self.ensemble_lines

    def command(self):
        cmd = super().command()
        if self.kind == "zookeeper":
            cmd[-2] = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
        return cmd

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


class Ensemble(object):
    def __init__(self, kind="corral", voters=3, observers=0, extra_cfg=None, **kw):
        self.kind = kind
        count = voters + observers
        ids = list(range(1, count + 1))
        lines = []
        for i in ids:
            role = ":observer" if i > voters else ""
            lines.append(
                "server.%d=127.0.0.1:%d:%d%s" % (i, free_port(), free_port(), role)
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
                Member(kind, i, lines, extra_cfg=member_extra, **kw)
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

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False
