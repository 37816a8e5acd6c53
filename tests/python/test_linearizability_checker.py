"""The linearizability checker (linearizability.py) on small hand-made
histories: some linearizable, some not, so we know it can fail. No server."""

import random

import pytest

from linearizability import (
    BAD_VERSION, INF, NO_NODE, NODE_EXISTS, OK, UNKNOWN, Inconclusive, Op, check,
    check_key, check_session_reads,
)

pytestmark = pytest.mark.timeout(60)


def op(kind, invoke, complete, result=OK, value=None, expected=None, version=None,
       session="s", key="/k", mzxid=None, linearizable=True):
    op.n = getattr(op, "n", 0) + 1
    if result == UNKNOWN:
        complete = INF
    return Op(op.n, session, key, kind, value=value, expected=expected, invoke=invoke,
              complete=complete, result=result, version=version, mzxid=mzxid,
              linearizable=linearizable)


def lin(*ops):
    return bool(check_key(list(ops)))


# --- sequential histories ---------------------------------------------------

def test_sequential_history_follows_the_model():
    assert lin(
        op("read", 0, 1, NO_NODE),
        op("create", 2, 3, value="a"),
        op("create", 4, 5, NODE_EXISTS, value="b"),
        op("read", 6, 7, value="a", version=0),
        op("set", 8, 9, value="c", version=1),
        op("cas", 10, 11, BAD_VERSION, value="d", expected=0),
        op("cas", 12, 13, value="d", expected=1, version=2),
        op("delete", 14, 15, BAD_VERSION, expected=1),
        op("delete", 16, 17, expected=2),
        op("read", 18, 19, NO_NODE),
        op("cas", 20, 21, NO_NODE, value="e", expected=0),
    )


@pytest.mark.parametrize("bad", [
    op("read", 4, 5, value="a", version=1),             # wrong version
    op("read", 4, 5, value="z", version=0),             # value never written
    op("read", 4, 5, NO_NODE),                          # the node exists
    op("create", 4, 5, value="b"),                      # created twice
    op("cas", 4, 5, BAD_VERSION, value="b", expected=0),  # the version matches
    op("cas", 4, 5, value="b", expected=3, version=4),   # the version does not
    op("set", 4, 5, value="b", version=3),               # versions go one by one
    op("delete", 4, 5, NO_NODE, expected=0),
])
def test_sequential_violations_are_found(bad):
    assert not lin(op("create", 0, 1, value="a"), bad)


# --- real time --------------------------------------------------------------

def test_stale_read_after_a_completed_write_is_a_violation():
    # The write completes at 3; a read that starts later must see it.
    assert not lin(
        op("create", 0, 1, value="a"),
        op("set", 2, 3, value="b", version=1),
        op("read", 4, 5, value="a", version=0),
    )


def test_concurrent_read_may_see_old_or_new_value():
    for seen, version in (("a", 0), ("b", 1)):
        assert lin(
            op("create", 0, 1, value="a"),
            op("set", 2, 6, value="b", version=1),
            op("read", 3, 5, value=seen, version=version),
        )


def test_reads_must_agree_on_one_order():
    # Two clients see two concurrent writes in opposite orders, each read
    # strictly after the other's: no single order explains both.
    assert not lin(
        op("create", 0, 1, value="a"),
        op("set", 2, 10, value="b", version=1, session="w1"),
        op("set", 2, 10, value="c", version=1, session="w2"),
        op("read", 3, 4, value="b", version=1, session="r1"),
        op("read", 5, 6, value="c", version=1, session="r2"),
        op("read", 7, 8, value="b", version=1, session="r1"),
    )


def test_two_successful_cas_on_the_same_version_is_a_violation():
    assert not lin(
        op("create", 0, 1, value="a"),
        op("cas", 2, 5, value="b", expected=0, version=1, session="c1"),
        op("cas", 2, 5, value="c", expected=0, version=1, session="c2"),
    )
    # ...but one wins and one gets BadVersion, in either order.
    assert lin(
        op("create", 0, 1, value="a"),
        op("cas", 2, 5, value="b", expected=0, version=1, session="c1"),
        op("cas", 2, 5, BAD_VERSION, value="c", expected=0, session="c2"),
    )


def test_two_successful_creates_is_a_violation():
    assert not lin(
        op("create", 0, 5, value="a", session="c1"),
        op("create", 1, 4, value="b", session="c2"),
    )


# --- ambiguous operations ---------------------------------------------------

def test_ambiguous_write_may_have_happened():
    assert lin(
        op("create", 0, 1, value="a"),
        op("set", 2, None, UNKNOWN, value="b"),
        op("read", 10, 11, value="b", version=1),
    )


def test_ambiguous_write_may_not_have_happened():
    assert lin(
        op("create", 0, 1, value="a"),
        op("set", 2, None, UNKNOWN, value="b"),
        op("read", 10, 11, value="a", version=0),
    )


def test_ambiguous_write_takes_effect_once_and_not_before_its_invocation():
    # Seen, then gone again: it cannot have taken effect twice.
    assert not lin(
        op("create", 0, 1, value="a"),
        op("set", 2, None, UNKNOWN, value="b"),
        op("read", 3, 4, value="b", version=1),
        op("read", 5, 6, value="a", version=0),
    )
    # Seen before it was sent: impossible.
    assert not lin(
        op("create", 0, 1, value="a"),
        op("read", 2, 3, value="b", version=1),
        op("set", 4, None, UNKNOWN, value="b"),
    )


def test_ambiguous_create_and_delete():
    assert lin(
        op("create", 0, None, UNKNOWN, value="a"),
        op("create", 5, 6, NODE_EXISTS, value="b"),
        op("delete", 7, None, UNKNOWN, expected=0),
        op("read", 8, 9, NO_NODE),
    )
    # NodeExists proves the ambiguous create happened (it is the only one);
    # a later NoNode needs a delete.
    assert not lin(
        op("create", 0, None, UNKNOWN, value="a"),
        op("create", 5, 6, NODE_EXISTS, value="b"),
        op("read", 8, 9, NO_NODE),
    )


def test_lost_acknowledged_write_is_a_violation():
    # Acknowledged, then never seen again although nothing overwrote it.
    assert not lin(
        op("create", 0, 1, value="a"),
        op("cas", 2, 3, value="b", expected=0, version=1),
        op("set", 4, None, UNKNOWN, value="c"),
        op("read", 10, 11, value="a", version=0),
    )


# --- keys are independent ---------------------------------------------------

def test_check_reports_the_bad_key_only():
    history = [
        op("create", 0, 1, value="a", key="/x"),
        op("create", 0, 1, value="a", key="/y"),
        op("read", 2, 3, NO_NODE, key="/y"),
    ]
    bad = check(history)
    assert [r.key for r in bad] == ["/y"]
    assert "cannot place" in bad[0].detail


# --- reads that skip the check, and the per-session rule ---------------------

def test_plain_reads_are_not_in_the_linearizability_check():
    stale = op("read", 4, 5, value="a", version=0, linearizable=False)
    assert lin(op("create", 0, 1, value="a"), op("set", 2, 3, value="b", version=1), stale)


def test_session_reads_never_go_back():
    ops = [
        op("create", 0, 1, value="a", session="w"),
        op("set", 2, 3, value="b", version=1, mzxid=20, session="w"),
        op("read", 4, 5, value="b", version=1, mzxid=20, session="r"),
        op("read", 6, 7, value="a", version=0, mzxid=10, session="r"),
    ]
    assert len(check_session_reads(ops)) == 1
    # Another session may still read the old value (a lagging follower).
    ops[3].session = "other"
    assert check_session_reads(ops) == []
    # A session's own write is always seen by its later reads.
    assert len(check_session_reads([
        op("create", 0, 1, value="a", session="w"),
        op("set", 2, 3, value="b", version=1, mzxid=20, session="w"),
        op("read", 4, 5, value="a", version=0, mzxid=10, session="w"),
    ])) == 1
    # Values nobody wrote are never read.
    assert len(check_session_reads([op("read", 4, 5, value="zz", version=0, mzxid=1)])) == 1


# --- a bigger generated history ---------------------------------------------

def _simulate(seed, n_clients=5, n_ops=60, corrupt=False):
    """A history from a real (sequential) register, with random overlapping
    intervals around each op's true linearization point; optionally one
    read made to return a stale value."""
    rnd = random.Random(seed)
    state, t, ops = None, 0.0, []
    for i in range(n_ops):
        t += rnd.uniform(0.5, 1.5)
        kind = rnd.choice(["create", "set", "cas", "delete", "read", "read"])
        value = "v%d" % i
        expected = state[1] if state and rnd.random() < 0.7 else rnd.randint(0, 3)
        o = op(kind, t - rnd.uniform(0, 3), t + rnd.uniform(0, 3), value=value,
               expected=expected if kind in ("cas", "delete") else None,
               session="c%d" % rnd.randrange(n_clients))
        exists = state is not None
        if kind == "create":
            o.result = NODE_EXISTS if exists else OK
            state = state if exists else (value, 0)
        elif kind == "read":
            o.result = OK if exists else NO_NODE
            if exists:
                o.value, o.version = state
        elif not exists:
            o.result = NO_NODE
        elif kind == "set":
            state = (value, state[1] + 1)
            o.version = state[1]
        elif state[1] != expected:
            o.result = BAD_VERSION
        elif kind == "cas":
            state = (value, expected + 1)
            o.version = state[1]
        else:
            state = None
        if o.result == OK and kind != "read" and rnd.random() < 0.15:
            o.result, o.complete = UNKNOWN, INF  # the answer got lost
        ops.append(o)
    if corrupt:
        # A read long after two acknowledged writes returns the older value.
        t += 10
        ops += [
            op("create", t, t + 0.1, NODE_EXISTS if state else OK, value="w1"),
        ]
        state = state or ("w1", 0)
        ops += [
            op("set", t + 1, t + 1.1, value="w2", version=state[1] + 1),
            op("set", t + 2, t + 2.1, value="w3", version=state[1] + 2),
            op("read", t + 3, t + 3.1, value="w2", version=state[1] + 1),
        ]
    return ops


@pytest.mark.parametrize("seed", range(20))
def test_generated_histories(seed):
    assert check(_simulate(seed)) == []
    assert check(_simulate(seed, corrupt=True)) != []


def test_state_budget_is_reported():
    ops = _simulate(1, n_ops=80)
    with pytest.raises(Inconclusive):
        check_key(ops, max_states=5)


def test_many_ambiguous_writes_stay_tractable():
    # 70 unanswered writes (a leader died under load), then reads: the
    # symmetry rule keeps this to a quick search, and it still decides.
    history = [op("create", 0, 1, value="a"), op("read", 1.5, 1.8, value="a", version=0)]
    for i in range(40):
        history.append(op("cas", 2 + i * 0.01, None, UNKNOWN, value="x%d" % i, expected=0))
    for i in range(20):
        history.append(op("set", 2.5 + i * 0.01, None, UNKNOWN, value="y%d" % i))
    for i in range(10):
        history.append(op("delete", 3 + i * 0.01, None, UNKNOWN, expected=i % 2))

    def decide(*reads):
        return bool(check_key(history + list(reads), max_states=100000))

    assert decide(op("read", 10, 11, value="x7", version=1))
    assert not decide(op("read", 10, 11, value="x7", version=2))  # a cas on v0 makes v1
    assert decide(op("read", 10, 11, value="y3", version=5))      # cas, 3 sets, y3
    assert decide(op("read", 10, 11, NO_NODE))                    # a delete took effect
    assert not decide(op("read", 10, 11, value="y3", version=5),
                      op("read", 12, 13, value="a", version=0))   # "a" never comes back
    assert not decide(op("read", 10, 11, value="y3", version=30))  # 21 writes at most
