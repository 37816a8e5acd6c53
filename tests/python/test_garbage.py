"""Malformed input on raw sockets: only the offending connection is affected.

Every case opens its own socket, sends something bad and checks that the
server closes that socket (EOF or reset) within a few seconds, while a kazoo
client connected before keeps its session and can still write and read, and
a fresh raw handshake still works.

One case differs on purpose from "close": Apache ZooKeeper ignores the
protocolVersion field of a ConnectRequest and answers it like any other, so a
wrong protocol version is expected to get a normal ConnectResponse
(protocolVersion 0, the same 44/45-byte shape as the request).
"""

import socket
import struct
import threading
import time
import uuid

import pytest
from kazoo.protocol.states import KazooState

CLOSE_WITHIN = 5.0  # seconds
MAX_BUFFER = 0xFFFFF  # ZooKeeper's default jute.maxbuffer (1 MiB - 1)

OP_GET_DATA, OP_SET_DATA, OP_CLOSE_SESSION = 4, 5, -11


def i32(v):
    return struct.pack(">i", v)


def frame(body):
    return i32(len(body)) + body


def zk_string(s):
    b = s.encode()
    return i32(len(b)) + b


def connect_request(protocol_version=0, last_zxid=0, timeout_ms=10000, session_id=0, passwd=b"\0" * 16,
                    read_only=True):
    body = struct.pack(">iqiq", protocol_version, last_zxid, timeout_ms, session_id) + i32(len(passwd)) + passwd
    if read_only:
        body += b"\0"  # 45-byte form with the readOnly flag
    return frame(body)


def get_data_request(xid, path, watch=False):
    return frame(struct.pack(">ii", xid, OP_GET_DATA) + zk_string(path) + (b"\1" if watch else b"\0"))


def recv_exact(sock, n, timeout=CLOSE_WITHIN):
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def read_frame(sock, timeout=CLOSE_WITHIN):
    (length,) = struct.unpack(">i", recv_exact(sock, 4, timeout))
    assert 0 <= length < 1 << 20, f"reply frame length {length}"
    return recv_exact(sock, length, timeout)


def parse_connect_response(body):
    assert len(body) in (36, 37), f"ConnectResponse must be 36 or 37 bytes, got {len(body)}: {body.hex()}"
    proto, timeout, session_id, plen = struct.unpack(">iiqi", body[:20])
    assert plen == 16, f"ConnectResponse password length {plen}"
    return proto, timeout, session_id, body[20:36], body[36:]


def wait_closed(sock, timeout=CLOSE_WITHIN):
    """Read until EOF/reset; returns (closed, bytes received, seconds)."""
    sock.settimeout(0.2)
    data = b""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return True, data, time.monotonic() - start
        if not chunk:
            return True, data, time.monotonic() - start
        data += chunk
    return False, data, time.monotonic() - start


def send_quietly(sock, payload):
    """Send what the server will take; a server that closes early may reset us."""
    sock.settimeout(CLOSE_WITHIN)
    try:
        sock.sendall(payload)
    except (OSError, socket.timeout):
        pass


def raw_session(server):
    """A well-behaved raw handshake; returns (socket, session id)."""
    sock = socket.create_connection((server.host, server.port), timeout=CLOSE_WITHIN)
    sock.sendall(connect_request())
    proto, timeout, session_id, _pw, _ro = parse_connect_response(read_frame(sock))
    assert proto == 0 and timeout > 0 and session_id != 0, (proto, timeout, session_id)
    return sock, session_id


def close_raw_session(sock, xid=1000):
    try:
        sock.sendall(frame(struct.pack(">ii", xid, OP_CLOSE_SESSION)))
        read_frame(sock)
    except (OSError, EOFError, AssertionError):
        pass
    sock.close()


@pytest.fixture
def bystander(server, zk_factory):
    """A kazoo client connected before the bad input, checked after it."""
    zk = zk_factory(start=False)
    states = []
    zk.add_listener(states.append)
    zk.start(timeout=15)
    root = f"/garbage-{uuid.uuid4().hex[:10]}"
    zk.create(root, b"0")
    session = zk.client_id[0]

    def check(label):
        value = f"after {label}".encode()
        zk.set(root, value)
        data, _ = zk.get(root)
        assert data == value, f"bystander read {data!r} after {label}"
        node = zk.create(f"{root}/n-", b"x", sequence=True)
        assert zk.exists(node) is not None
        assert zk.state == KazooState.CONNECTED, f"bystander state {zk.state} after {label}"
        assert zk.client_id[0] == session, f"bystander got a new session after {label}"
        assert KazooState.SUSPENDED not in states and KazooState.LOST not in states, \
            f"bystander saw {states} after {label}"
        # the server still takes new, well-behaved connections
        sock, _ = raw_session(server)
        close_raw_session(sock)

    yield check
    zk.delete(root, recursive=True)


def _huge_set_data(size):
    return struct.pack(">ii", 7, OP_SET_DATA) + zk_string("/") + i32(size) + b"x" * size + i32(-1)


BAD_INPUTS = {
    # 0xff... : the length prefix reads as -1
    "garbage_ff": lambda: b"\xff" * 64,
    # ASCII: the length prefix reads as ~1.2e9 ("GARB")
    "garbage_ascii": lambda: b"GARBAGE IN, GARBAGE OUT\r\n" * 8,
    # a plausible length, then junk that is no ConnectRequest (passwd length 0xabababab)
    "garbage_framed": lambda: frame(b"\xab" * 48),
    "negative_length": lambda: i32(-5) + b"\0" * 16,
    "length_2gib": lambda: i32(0x7FFFFFFF) + b"\0" * 64,
    # a getData request where the ConnectRequest must come first
    "request_before_handshake": lambda: get_data_request(1, "/zookeeper"),
    # too large before the handshake
    "oversize_before_handshake": lambda: frame(_huge_set_data(2 * (MAX_BUFFER + 1))),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_closes_only_that_connection(server, bystander, case):
    sock = socket.create_connection((server.host, server.port), timeout=CLOSE_WITHIN)
    try:
        payload = BAD_INPUTS[case]()
        sender = threading.Thread(target=send_quietly, args=(sock, payload), daemon=True)
        sender.start()
        closed, got, secs = wait_closed(sock)
        sender.join(CLOSE_WITHIN)
        assert closed, f"{server.kind}: connection still open {secs:.1f} s after {case} (received {got[:64].hex()})"
        assert got == b"", f"{server.kind}: expected no reply to {case}, got {got[:64].hex()}"
    finally:
        sock.close()
    bystander(case)


def test_truncated_frame_then_close(server, bystander):
    sock = socket.create_connection((server.host, server.port), timeout=CLOSE_WITHIN)
    try:
        sock.sendall(i32(100) + b"\0" * 10)  # claims 100 bytes, sends 10
        sock.shutdown(socket.SHUT_WR)
        closed, got, secs = wait_closed(sock)
        assert closed, f"{server.kind}: connection still open {secs:.1f} s after a truncated frame and EOF"
        assert got == b"", got.hex()
    finally:
        sock.close()
    bystander("truncated frame")

    # the same after a handshake: a request cut short, then EOF
    sock, _ = raw_session(server)
    try:
        req = get_data_request(1, "/zookeeper")
        sock.sendall(req[:9])
        sock.shutdown(socket.SHUT_WR)
        closed, got, secs = wait_closed(sock)
        assert closed, f"{server.kind}: session connection still open {secs:.1f} s after a truncated request"
        assert got == b"", got.hex()
    finally:
        sock.close()
    bystander("truncated request after handshake")


@pytest.mark.parametrize("length", ["header_only", "whole_frame"])
def test_frame_larger_than_maxbuffer_after_handshake(server, bystander, length):
    sock, _ = raw_session(server)
    try:
        # a real setData of 2 MiB: over ZooKeeper's default jute.maxbuffer
        body = _huge_set_data(2 * (MAX_BUFFER + 1))
        payload = frame(body) if length == "whole_frame" else i32(len(body)) + body[:1024]
        sender = threading.Thread(target=send_quietly, args=(sock, payload), daemon=True)
        sender.start()
        closed, got, secs = wait_closed(sock)
        sender.join(CLOSE_WITHIN)
        assert closed, f"{server.kind}: connection still open {secs:.1f} s after a {len(body)}-byte frame"
        assert got == b"", f"{server.kind}: expected no reply to an oversized frame, got {got[:64].hex()}"
    finally:
        sock.close()
    bystander(f"oversized frame ({length})")


@pytest.mark.parametrize("read_only_flag", [True, False], ids=["45-byte", "44-byte"])
@pytest.mark.parametrize("version", [1, 99, -1])
def test_wrong_protocol_version_is_answered_like_zookeeper(server, bystander, version, read_only_flag):
    """ZooKeeper (3.8) does not check protocolVersion: it answers with a normal
    ConnectResponse of protocolVersion 0, in the request's shape."""
    sock = socket.create_connection((server.host, server.port), timeout=CLOSE_WITHIN)
    try:
        sock.sendall(connect_request(protocol_version=version, read_only=read_only_flag))
        try:
            body = read_frame(sock)
        except (EOFError, ConnectionResetError) as e:
            pytest.fail(f"{server.kind} closed the connection on protocolVersion={version} ({e}); "
                        f"ZooKeeper answers it with a ConnectResponse")
        proto, timeout, session_id, _pw, ro = parse_connect_response(body)
        assert proto == 0, f"ConnectResponse protocolVersion {proto}"
        assert timeout > 0 and session_id != 0, (timeout, session_id)
        assert len(ro) == (1 if read_only_flag else 0), \
            f"{len(body)}-byte ConnectResponse to a {'45' if read_only_flag else '44'}-byte ConnectRequest"
        # the session works: getData on /zookeeper
        sock.sendall(get_data_request(1, "/zookeeper"))
        reply = read_frame(sock)
        xid, zxid, err = struct.unpack(">iqi", reply[:16])
        assert (xid, err) == (1, 0), f"getData on the new session: xid {xid}, err {err}"
    finally:
        close_raw_session(sock)
    bystander(f"protocolVersion={version}")


def test_raw_handshake_positive_control(server):
    """The raw encoder above is right: a proper session can read and close."""
    sock, session_id = raw_session(server)
    try:
        sock.sendall(get_data_request(5, "/zookeeper"))
        xid, _zxid, err = struct.unpack(">iqi", read_frame(sock)[:16])
        assert (xid, err) == (5, 0)
        sock.sendall(get_data_request(6, "/no-such-node-here"))
        xid, _zxid, err = struct.unpack(">iqi", read_frame(sock)[:16])
        assert (xid, err) == (6, -101)
        sock.sendall(frame(struct.pack(">ii", 7, OP_CLOSE_SESSION)))
        xid, _zxid, err = struct.unpack(">iqi", read_frame(sock)[:16])
        assert (xid, err) == (7, 0)
        closed, _got, secs = wait_closed(sock)
        assert closed, f"connection still open {secs:.1f} s after closeSession"
    finally:
        sock.close()
