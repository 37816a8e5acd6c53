"""Wire-level behaviour that any client may run into: malformed requests,
oversized or negative frames, ordering of notifications and replies, the
/zookeeper system tree. Expected answers are Apache ZooKeeper 3.8's."""

import socket
import time

import pytest

import servers as S


def answer(raw, opcode, body):
    rep = raw.request(opcode, body, timeout=5)
    return rep.err_name


# ---------------------------------------------------------------------------
# malformed request bodies: MarshallingError, connection and server survive
# ---------------------------------------------------------------------------

MALFORMED = [
    ("create-truncated", S.OP_CREATE, b"\x00\x00"),
    ("create-no-flags", S.OP_CREATE, S.enc_str("/x") + S.enc_buf(b"") + S.enc_int(0)),
    ("create-negative-strlen", S.OP_CREATE,
     S.enc_int(-5) + S.enc_buf(b"") + S.enc_int(0) + S.enc_int(0)),
    ("create-huge-acl-count", S.OP_CREATE,
     S.enc_str("/y") + S.enc_buf(b"") + S.enc_int(0x7fffffff) + S.enc_int(0)),
    ("getdata-empty", S.OP_GET_DATA, b""),
    ("setdata-truncated", S.OP_SET_DATA, S.enc_str("/")),
    ("multi-garbage", S.OP_MULTI, b"\x00\x00\x00\x01\x00"),
]


@pytest.mark.parametrize("opcode,body", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_body_is_marshalling_error(raw, opcode, body):
    assert answer(raw, opcode, body) == "MARSHALLINGERROR"
    assert raw.exists("/")[0] == 0          # connection still usable


NULL_PATH = [
    ("create", S.OP_CREATE, S.req_create(None)),
    ("exists", S.OP_EXISTS, S.enc_int(-1) + S.enc_bool(False)),
    ("getacl", S.OP_GET_ACL, S.enc_int(-1)),
]


@pytest.mark.parametrize("opcode,body", [m[1:] for m in NULL_PATH], ids=[m[0] for m in NULL_PATH])
def test_null_path_is_marshalling_error(raw, opcode, body):
    assert answer(raw, opcode, body) == "MARSHALLINGERROR"
    assert raw.exists("/")[0] == 0


def test_read_op_inside_multi_is_marshalling_error(raw):
    body = S.req_multi([(S.OP_GET_DATA, S.req_path_watch("/"))])
    assert answer(raw, S.OP_MULTI, body) == "MARSHALLINGERROR"


def test_write_op_inside_multi_read_is_marshalling_error(raw, root):
    body = S.req_multi([(S.OP_CREATE, S.req_create(root + "/zz"))])
    assert answer(raw, S.OP_MULTI_READ, body) == "MARSHALLINGERROR"
    assert raw.exists(root + "/zz")[0] == S.ZNONODE


def test_empty_multi_and_multi_read(raw):
    for op in (S.OP_MULTI, S.OP_MULTI_READ):
        rep = raw.request(op, S.req_multi([]))
        assert rep.err == 0
        assert S.parse_multi_response(rep.body) == []


def test_bad_add_watch_mode_is_marshalling_error(raw):
    assert answer(raw, S.OP_ADD_WATCH, S.req_add_watch("/", 7)) == "MARSHALLINGERROR"


def test_bad_remove_watches_type_is_marshalling_error(raw):
    assert answer(raw, S.OP_REMOVE_WATCHES, S.req_remove_watches("/", 9)) == "MARSHALLINGERROR"


def test_delete_container_from_client_is_bad_arguments(raw, root):
    assert answer(raw, S.OP_DELETE_CONTAINER, S.enc_str(root + "/missing")) == "BADARGUMENTS"


def test_sasl_without_sasl_configured(raw):
    """ZooKeeper answers a SASL packet with OK and a null token when no
    SASL provider is configured."""
    rep = raw.request(S.OP_SASL, S.enc_buf(b"x"))
    assert rep.err == 0
    assert rep.reader.buf() is None


def test_trailing_bytes_are_ignored(raw):
    assert answer(raw, S.OP_EXISTS, S.req_path_watch("/") + b"garbage") == "OK"


# ---------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("frame", [S.enc_int(-1), S.enc_int(0x7fffffff) + b"x" * 10],
                         ids=["negative-length", "huge-length"])
def test_bad_frame_length_closes_connection(raw_factory, frame, server):
    c = raw_factory()
    c.sock.sendall(frame)
    c.sock.settimeout(5)
    try:
        data = c.sock.recv(16)
    except (ConnectionResetError, OSError):
        data = b""
    assert data == b""
    assert S.RawClient.to(server).exists("/")[0] == 0


def test_garbage_handshake_closes_connection(server):
    s = socket.create_connection((server.host, server.port), timeout=5)
    try:
        s.sendall(S.enc_int(10) + b"0123456789")
        try:
            data = s.recv(100)
        except (ConnectionResetError, OSError):
            data = b""
        assert data == b""
    finally:
        s.close()


def test_request_before_handshake_closes_connection(server):
    s = socket.create_connection((server.host, server.port), timeout=5)
    try:
        body = S.enc_int(1) + S.enc_int(S.OP_EXISTS) + S.req_path_watch("/")
        s.sendall(S.enc_int(len(body)) + body)
        try:
            data = s.recv(100)
        except (ConnectionResetError, OSError):
            data = b""
        assert data == b""
    finally:
        s.close()


def test_pipelined_requests_answered_in_order(raw, root):
    xids = [raw.send_only(S.OP_CREATE, S.req_create(root + "/p%02d" % i)) for i in range(30)]
    xids.append(raw.send_only(S.OP_GET_CHILDREN, S.req_path_watch(root)))
    replies = [raw._wait_reply(x) for x in xids]
    assert [r.xid for r in replies] == xids
    assert all(r.err == 0 for r in replies)
    assert len(replies[-1].reader.strings()) == 30
    zx = [r.zxid for r in replies[:-1]]
    assert zx == sorted(zx) and len(set(zx)) == 30


# ---------------------------------------------------------------------------
# notifications vs replies
# ---------------------------------------------------------------------------

def test_own_watch_event_arrives_before_write_reply(raw, root):
    node = root + "/own"
    raw.create(node)
    raw.get(node, watch=True)
    raw.take_events()
    xid = raw.send_only(S.OP_SET_DATA, S.req_set_data(node, b"x"))
    # read frames in arrival order
    frames = []
    while True:
        frame = raw._recv_frame(time.time() + 5)
        r = S.Reader(frame)
        fx = r.int()
        frames.append(fx)
        if fx == xid:
            break
    assert frames == [-1, xid]


def test_other_clients_event_arrives_before_newer_data(raw, raw_factory, root):
    node = root + "/seen"
    raw.create(node, b"old")
    watcher = raw_factory()
    watcher.sync(node)
    watcher.get(node, watch=True)
    raw.set(node, b"new")
    # (another server may apply the write a little later: read until it has)
    deadline = time.time() + 5
    while watcher.get(node)[1] != b"new":
        assert time.time() < deadline, "the new data never arrived"
    # the notification was read before the reply carrying the new data
    assert watcher.events == [(S.EV_CHANGED, S.STATE_SYNC_CONNECTED, node)]


def test_reply_zxid_is_last_applied(raw, raw_factory, root):
    rep = raw.request(S.OP_CREATE2, S.req_create(root + "/z"))
    st = raw.exists(root + "/z")[1]
    other = raw_factory()
    rep2 = other.request(S.OP_EXISTS, S.req_path_watch(root + "/z"))
    assert rep.zxid == st["czxid"]
    assert rep2.zxid >= st["czxid"]


# ---------------------------------------------------------------------------
# the /zookeeper system tree
# ---------------------------------------------------------------------------

def test_system_tree(raw):
    err, kids, stat = raw.children("/zookeeper")
    assert err == 0
    assert sorted(kids) == ["config", "quota"]
    assert raw.exists("/zookeeper/quota")[0] == 0


def test_system_config_node(raw, server):
    raw.sync("/zookeeper/config")
    err, data, stat = raw.get("/zookeeper/config")
    assert err == 0
    assert stat["czxid"] == 0 and stat["cversion"] == 0
    # ZooKeeper's /zookeeper/config carries aversion -1
    assert stat["aversion"] == -1
    members = server.all_servers()
    if len(members) == 1:
        assert data == b""
        assert stat["version"] == 0
    else:
        # an ensemble's: a server.N line per member, then version=
        keys = [line.split("=", 1)[0] for line in data.decode().splitlines()]
        assert keys == ["server.%d" % m.server_id for m in members] + ["version"], data


def test_system_node_stat(raw):
    """/zookeeper's two children were never created through a txn, so its
    reported cversion (2 * creates - numChildren) is -2."""
    err, data, stat = raw.get("/zookeeper")
    assert err == 0 and data == b""
    assert stat["numChildren"] == 2
    assert stat["cversion"] == -2
    assert stat["czxid"] == stat["mzxid"] == stat["pzxid"] == 0


def test_system_nodes_protected(raw):
    assert raw.delete("/zookeeper") == S.ZBADARGUMENTS
    assert raw.delete("/") == S.ZBADARGUMENTS
    assert raw.set("/zookeeper/config", b"x")[0] == S.ZNOAUTH


def test_root_node_stat(raw):
    err, data, stat = raw.get("/")
    assert err == 0
    assert stat["czxid"] == 0
    assert stat["ephemeralOwner"] == 0
    assert stat["numChildren"] >= 1
