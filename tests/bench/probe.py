#!/usr/bin/env python3
"""Exit 0 when the server on 127.0.0.1:PORT opens a ZooKeeper session (which
is closed again at once), 1 otherwise. Works for any server speaking the
protocol, with or without four-letter words. Standard library only."""

import socket
import struct
import sys


def main(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId,
        # passwd (16 zero bytes), readOnly.
        body = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + bytes(16) + b"\0"
        s.sendall(struct.pack(">i", len(body)) + body)
        buf = b""
        while len(buf) < 20:
            chunk = s.recv(64)
            if not chunk:
                return 1
            buf += chunk
        _, _, _, session = struct.unpack(">iiiq", buf[:20])
        if session == 0:
            return 1
        s.sendall(struct.pack(">iii", 8, 1, -11))  # closeSession, xid 1
        s.recv(64)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(int(sys.argv[1])))
    except OSError:
        sys.exit(1)
