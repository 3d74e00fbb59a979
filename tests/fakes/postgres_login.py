"""A loopback server that speaks just enough of PostgreSQL's protocol to refuse a login.

It declines SSL/GSS encryption, asks for a cleartext password and answers with the error a real
server sends for a wrong one (SQLSTATE 28P01), so a test sees libpq's own "password authentication
failed" without a server whose pg_hba.conf demands passwords.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_ENCRYPTION_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _refuse(conn: socket.socket) -> None:
    with conn:
        while True:  # encryption requests, then the startup message
            length, code = struct.unpack("!II", _read(conn, 8))
            _read(conn, length - 8)
            if code not in _ENCRYPTION_REQUESTS:
                break
            conn.sendall(b"N")
        conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        kind, length = struct.unpack("!cI", _read(conn, 5))
        _read(conn, length - 4)
        fields = b"".join(tag + text + b"\0" for tag, text in (
            (b"S", b"FATAL"), (b"V", b"FATAL"), (b"C", b"28P01"),
            (b"M", b'password authentication failed for user "hv"')))
        body = fields + b"\0"
        conn.sendall(b"E" + struct.pack("!I", len(body) + 4) + body)


@contextmanager
def refusing_postgres() -> Iterator[int]:
    """The port of a server on 127.0.0.1 that refuses every login; closed on exit."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with suppress(ConnectionError, struct.error, OSError):  # a client that gave up early
                _refuse(conn)

    thread = threading.Thread(target=serve, name="refusing-postgres", daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()
