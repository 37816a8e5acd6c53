"""A small linearizability checker for histories of ZooKeeper operations.

The model: every znode (key) is an independent register holding either
nothing (no node) or `(value, version)`. Keys never interact, so a history
is linearizable iff each key's sub-history is (P-compositionality), and
each key is checked on its own.

Operations on one key (`Op.kind`):

    create(value)              -> ok | NodeExists
    set(value)                 -> ok(new version) | NoNode       (setData, version -1)
    cas(value, expected)       -> ok(new version) | BadVersion | NoNode
                                                                 (setData with a version)
    delete(expected)           -> ok | BadVersion | NoNode
    read                       -> ok(value, version) | NoNode

Each operation has a real-time interval [invoke, complete] (time.monotonic()
taken around the call). An operation whose outcome is unknown (connection
loss, session expiry, timeout) is *ambiguous*: it may take effect at any time
after its invocation, or never (complete = +inf; it never has to be placed).
Definite failures (NodeExists, NoNode, BadVersion) are observations of the
state and must be linearizable like successes.

The search is Wing & Gong's algorithm with Lowe's memoization (the one
Knossos' "wgl" and Porcupine use): walk the history's call/return events in
time order, try to linearize any pending call whose result the model accepts
in the current state, backtrack when a return is reached whose call was not
linearized, and never revisit a (set of linearized ops, state) pair.

Reads from ZooKeeper followers are only sequentially consistent, so the
checker offers two rules for reads:
  - reads marked `linearizable=True` (the workload does sync() before them)
    go through the linearizability check with the writes;
  - `check_session_reads` checks every read with the per-session rule that
    ZooKeeper and corral promise: a session never observes a state of a key
    older than one it observed or wrote before (ordered by mzxid), and never
    observes a value nobody wrote.
"""

import threading

INF = float("inf")

# Results (Op.result)
OK = "ok"
NODE_EXISTS = "NodeExists"
NO_NODE = "NoNode"
BAD_VERSION = "BadVersion"
UNKNOWN = "unknown"  # ambiguous: maybe applied, maybe not



class Op(object):
    """One operation of the history."""

    __slots__ = (
        "id", "session", "key", "kind", "value", "expected", "invoke", "complete",
        "result", "version", "mzxid", "linearizable",
    )

    def __init__(self, id, session, key, kind, value=None, expected=None, invoke=0.0,
                 complete=INF, result=UNKNOWN, version=None, mzxid=None,
                 linearizable=True):
        self.id = id
        self.session = session      # who issued it (for the per-session read rule)
        self.key = key
        self.kind = kind            # create / set / cas / delete / read
        self.value = value          # written value; for reads: the value read
        self.expected = expected    # cas / delete: the expected version
        self.invoke = invoke
        self.complete = complete    # INF while / if the outcome is unknown
        self.result = result        # OK, NODE_EXISTS, NO_NODE, BAD_VERSION, UNKNOWN
        self.version = version      # set/cas: new version; read: version read
        self.mzxid = mzxid          # read / set / cas: the stat's mzxid
        self.linearizable = linearizable  # reads: part of the linearizability check?

    @property
    def ambiguous(self):
        return self.result == UNKNOWN

    def __repr__(self):
        args = []
        if self.kind != "read" and self.value is not None:
            args.append(repr(self.value))
        if self.expected is not None:
            args.append("v=%d" % self.expected)
        res = self.result
        if self.result == OK and self.kind == "read":
            res = "ok(%r, v%d)" % (self.value, self.version)
        elif self.result == OK and self.version is not None:
            res = "ok(v%d)" % self.version
        return "#%d %s %s %s(%s) -> %s [%.4f, %s]" % (
            self.id, self.session, self.key, self.kind, ", ".join(args), res,
            self.invoke, "inf" if self.complete == INF else "%.4f" % self.complete)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

def step(state, op):
    """Apply `op` with its observed result to `state` (None or (value, version)).
    Returns (accepted, new_state). An ambiguous op is accepted only where it
    takes effect: failing without effect is the same as not happening."""
    exists = state is not None
    k, r = op.kind, op.result
    if r == UNKNOWN:
        if k == "create":
            return (not exists, (op.value, 0))
        if k == "set":
            return (exists, (op.value, state[1] + 1) if exists else None)
        if k == "cas":
            ok = exists and state[1] == op.expected
            return (ok, (op.value, op.expected + 1))
        if k == "delete":
            return (exists and state[1] == op.expected, None)
        return (False, state)  # ambiguous reads are dropped before checking
    if r == NO_NODE:
        return (not exists, state)
    if k == "create":
        if r == OK:
            return (not exists, (op.value, 0))
        return (r == NODE_EXISTS and exists, state)
    if k == "read":
        return (r == OK and state == (op.value, op.version), state)
    if k == "set":
        ok = r == OK and exists and (op.version is None or op.version == state[1] + 1)
        return (ok, (op.value, state[1] + 1) if ok else state)
    if k in ("cas", "delete"):
        if r == BAD_VERSION:
            return (exists and state[1] != op.expected, state)
        ok = r == OK and exists and state[1] == op.expected
        if k == "cas":
            ok = ok and (op.version is None or op.version == op.expected + 1)
            return (ok, (op.value, op.expected + 1))
        return (ok, None)
    raise ValueError("unknown op %r" % (op,))


# ---------------------------------------------------------------------------
# WGL search for one key
# ---------------------------------------------------------------------------

class _Entry(object):
    __slots__ = ("op", "bit", "is_call", "ret", "prev", "next")

    def __init__(self, op, bit, is_call):
        self.op, self.bit, self.is_call = op, bit, is_call
        self.ret = self.prev = self.next = None


class Inconclusive(Exception):
    """The search ran out of its state budget."""


class Result(object):
    def __init__(self, ok, key, ops, detail=""):
        self.ok = ok
        self.key = key
        self.ops = ops
        self.detail = detail

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return "Result(%s, key=%r, %d ops%s)" % (
            "linearizable" if self.ok else "NOT linearizable", self.key, len(self.ops),
            ("\n" + self.detail) if self.detail else "")


UNSEEN = "<a value no checked read returns>"


def _canonical(ops):
    """Copies of `ops` where every written value that no checked read
    returns is replaced by one placeholder. The model only compares values
    in reads, so this changes no outcome; it makes states that differ only
    by unobservable values equal (for the memo) and lets the symmetry rule
    below treat such writes as interchangeable."""
    seen = {op.value for op in ops if op.kind == "read" and op.result == OK}
    out = []
    for op in ops:
        value = op.value
        if op.kind != "read" and value not in seen:
            value = UNSEEN
        out.append(Op(op.id, op.session, op.key, op.kind, value=value, expected=op.expected,
                      invoke=op.invoke, complete=op.complete, result=op.result,
                      version=op.version, mzxid=op.mzxid, linearizable=op.linearizable))
    return out


def check_key(ops, initial=None, max_states=2000000, key=None):
    """Is this history of one key linearizable from `initial`?

    Symmetry rule for ambiguous ops: two ambiguous ops of the same class
    (kind, value after _canonical, expected version) do exactly the same
    thing and can take effect any time after their invocations, so any
    linearization using the later-invoked one can use the earlier-invoked
    one instead. The search therefore only ever tries the earliest pending
    op of each class, which keeps histories with many connection losses
    tractable."""
    ops = [op for op in ops if not (op.kind == "read" and (op.ambiguous or not op.linearizable))]
    ops = _canonical(ops)
    events = []
    for bit, op in enumerate(ops):
        call = _Entry(op, 1 << bit, True)
        events.append((op.invoke, 0, call))
        if not op.ambiguous:
            call.ret = _Entry(op, 1 << bit, False)
            events.append((op.complete, 1, call.ret))
    # Calls before returns at equal times: touching intervals are concurrent.
    events.sort(key=lambda e: (e[0], e[1]))
    head = _Entry(None, 0, False)
    prev = head
    for _, _, e in events:
        prev.next, e.prev = e, prev
        prev = e

    def lift(e):
        for x in (e, e.ret):
            if x is not None:
                x.prev.next = x.next
                if x.next is not None:
                    x.next.prev = x.prev

    def unlift(e):
        for x in (e.ret, e):  # reverse order of lift
            if x is not None:
                x.prev.next = x
                if x.next is not None:
                    x.next.prev = x

    remaining = sum(1 for op in ops if not op.ambiguous)
    state = initial
    linearized = 0
    cache = {(0, initial)}
    stack = []
    best = (0, None, [])  # deepest point reached: (depth, blocking op, linearized ops)
    entry = head.next
    classes = set()  # ambiguous classes met since the scan restarted at head
    while remaining:
        if entry is not None and entry.is_call:
            op = entry.op
            if op.ambiguous:
                cls = (op.kind, op.value, op.expected)
                if cls in classes:  # an earlier op of its class is pending: try that one only
                    entry = entry.next
                    continue
                classes.add(cls)
            accepted, new_state = step(state, entry.op)
            if accepted:
                key_ = (linearized | entry.bit, new_state)
                if key_ not in cache:
                    if len(cache) >= max_states:
                        raise Inconclusive("key %r: more than %d states" % (key, max_states))
                    cache.add(key_)
                    stack.append((entry, state))
                    state = new_state
                    linearized |= entry.bit
                    if not entry.op.ambiguous:
                        remaining -= 1
                    lift(entry)
                    entry = head.next
                    classes = set()
                    continue
            entry = entry.next
            continue
        # A return whose call is not linearized yet (or the end): backtrack.
        if entry is not None and len(stack) >= best[0]:
            best = (len(stack), entry.op, [e.op for e, _ in stack], state)
        if not stack:
            return Result(False, key, ops, _explain(best, ops))
        entry, state = stack.pop()
        linearized &= ~entry.bit
        if not entry.op.ambiguous:
            remaining += 1
        unlift(entry)
        # Resume the scan after it: the classes met before it are those of
        # the pending ambiguous calls that precede it in the list.
        classes = set()
        e = head.next
        while e is not entry:
            if e.is_call and e.op.ambiguous:
                classes.add((e.op.kind, e.op.value, e.op.expected))
            e = e.next
        if entry.op.ambiguous:
            classes.add((entry.op.kind, entry.op.value, entry.op.expected))
        entry = entry.next
    return Result(True, key, ops)


def _explain(best, ops):
    depth, blocked, prefix = best[0], best[1], best[2]
    state = best[3] if len(best) > 3 else None
    lines = ["longest linearizable prefix (%d ops):" % depth]
    lines += ["    " + repr(op) for op in prefix[-15:]]
    lines.append("state then: %r" % (state,))
    lines.append("cannot place: %r" % (blocked,))
    if blocked is not None:
        near = [op for op in ops if op.invoke <= blocked.complete and op.complete >= blocked.invoke
                and op is not blocked]
        lines.append("concurrent with it (%d):" % len(near))
        lines += ["    " + repr(op) for op in near[:30]]
    return "\n".join(lines)


def check(ops, initial=None, max_states=2000000):
    """Check a whole history, key by key. Returns the list of per-key
    Results that are not linearizable (empty: the history is linearizable)."""
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    bad = []
    for key in sorted(by_key):
        res = check_key(by_key[key], initial=initial, max_states=max_states, key=key)
        if not res:
            bad.append(res)
    return bad


# ---------------------------------------------------------------------------
# The per-session rule for reads (sequential consistency)
# ---------------------------------------------------------------------------

def check_session_reads(ops):
    """Violations (strings) of: within one session, the mzxid a read sees for
    a key never goes below the highest mzxid that session has already seen
    for it (from its reads and from its own setData/cas results); a read
    after the session's own acknowledged delete never sees that node's old
    mzxid again; a read only returns values that some write of the history
    wrote (an empty initial value aside)."""
    written = {}
    for op in ops:
        if op.kind in ("create", "set", "cas") and op.result in (OK, UNKNOWN):
            written.setdefault(op.key, set()).add(op.value)
    violations = []
    floor = {}     # (session, key) -> (mzxid, strict)
    for op in sorted(ops, key=lambda o: o.invoke):
        if op.ambiguous or op.session is None:
            continue
        sk = (op.session, op.key)
        if op.kind == "read" and op.result == OK:
            if op.value not in written.get(op.key, ()):
                violations.append("read of a value nobody wrote: %r" % (op,))
            if op.mzxid is not None and sk in floor:
                low, strict = floor[sk]
                if op.mzxid < low or (strict and op.mzxid == low):
                    violations.append("stale read: %r after the session saw mzxid %#x"
                                      % (op, low))
            if op.mzxid is not None:
                floor[sk] = (max(op.mzxid, floor.get(sk, (0, False))[0]), False)
        elif op.kind in ("set", "cas") and op.result == OK and op.mzxid is not None:
            floor[sk] = (max(op.mzxid, floor.get(sk, (0, False))[0]), False)
        elif op.kind == "delete" and op.result == OK and sk in floor:
            floor[sk] = (floor[sk][0], True)
    return violations


# ---------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------

class History(object):
    """Thread-safe recorder: `op = h.invoke(...)` before the call (stamps the
    invocation time), then `h.ok(op, ...)`, `h.fail(op, result)` or
    `h.unknown(op)` after it (stamping the completion time)."""

    def __init__(self, clock):
        self.clock = clock
        self.ops = []
        self.lock = threading.Lock()

    def invoke(self, session, key, kind, value=None, expected=None, linearizable=True):
        with self.lock:
            op = Op(len(self.ops), session, key, kind, value=value, expected=expected,
                    linearizable=linearizable)
            self.ops.append(op)
        op.invoke = self.clock()
        return op

    def ok(self, op, value=None, version=None, mzxid=None):
        op.complete = self.clock()
        op.result = OK
        if op.kind == "read":
            op.value = value
        op.version = version
        op.mzxid = mzxid

    def fail(self, op, result):
        op.complete = self.clock()
        op.result = result

    def unknown(self, op):
        op.complete = INF
        op.result = UNKNOWN

    def summary(self):
        counts = {}
        for op in self.ops:
            k = (op.kind, op.result)
            counts[k] = counts.get(k, 0) + 1
        return ", ".join("%s %s: %d" % (k[0], k[1], n) for k, n in sorted(counts.items()))
