"""`COPY ... TO STDOUT` read on a thread, straight from libpq, as blocks of whole rows.

PostgreSQL sends one CopyData message per row. psycopg's `Copy` reads each through a Python
generator and its wait loop (~1.2 µs of GIL-held CPU per row, a third of a second for a month);
here the thread takes every message libpq has already buffered with one non-blocking
`PQgetCopyData` call each and waits for the socket only when the buffer is empty — a wait that
releases the GIL, so parsing, hashing, compression and upload on the consuming thread go on.

Rows are joined into ~`block_bytes` blocks, each a complete CSV document (parsed on its own, so no
reader runs ahead of the consumer), and at most `queue_blocks` blocks wait in memory. The
connection belongs to the thread until `close()`, which cancels an unfinished COPY and joins the
thread; the caller's transaction is then in error and must be rolled back (it always is: the
consumer only stops early on an exception).
"""

from __future__ import annotations

import queue
import select
import threading
from collections.abc import Iterator
from contextlib import suppress

import psycopg
from psycopg import pq, sql

_POLL_SECONDS = 0.1


class _Stopped(Exception):
    """Raised inside the COPY thread when the consumer went away."""


def _error(result: pq.PGresult) -> psycopg.Error:
    """The psycopg exception class PostgreSQL's SQLSTATE names, carrying its message."""
    sqlstate = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (result.error_message or b"COPY failed").decode(errors="replace").strip()
    try:
        return psycopg.errors.lookup(sqlstate)(message)
    except KeyError:
        return psycopg.OperationalError(message)


class CopyPump:
    """Iterate the blocks of `query` (a `COPY ... TO STDOUT`, `params` bound client-side as psycopg's
    ClientCursor binds them); `close()` when done or abandoning."""

    def __init__(self, conn: psycopg.Connection, query: sql.Composable, params: dict | None = None, *,
                 block_bytes: int, queue_blocks: int) -> None:
        self._conn = conn
        with psycopg.ClientCursor(conn) as cursor:
            self._query = cursor.mogrify(query, params).encode(conn.info.encoding)
        self._block_bytes = block_bytes
        self._queue: queue.Queue = queue.Queue(maxsize=queue_blocks)
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.bytes_read = 0
        self._thread = threading.Thread(target=self._pump, name="hv-archive-copy", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[bytes]:
        while (block := self._queue.get()) is not None:
            self.bytes_read += len(block)
            yield block
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()

    def _put(self, item: bytes | None) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _pump(self) -> None:
        pgconn = self._conn.pgconn
        copying = False
        try:
            pgconn.send_query(self._query)
            if (started := self._result(pgconn)).status != pq.ExecStatus.COPY_OUT:
                raise _error(started)
            copying = True
            block = bytearray()
            while True:
                size, data = pgconn.get_copy_data(1)
                if size > 0:
                    block += data
                    if len(block) >= self._block_bytes:
                        self._put(bytes(block))
                        block.clear()
                elif size == 0:  # nothing complete in libpq's buffer: wait for the socket
                    self._wait(pgconn, stoppable=True)
                else:  # -1: the COPY is over; its result says how it ended
                    copying = False
                    break
            if (ended := self._result(pgconn)).status != pq.ExecStatus.COMMAND_OK:
                raise _error(ended)
            self._drain(pgconn)
            if block:
                self._put(bytes(block))
            self._put(None)
        except BaseException as exc:
            self._abandon(pgconn, copying)
            if not isinstance(exc, _Stopped):  # handed to the consuming thread, which raises it
                self.error = exc
                with suppress(_Stopped):
                    self._put(None)

    def _wait(self, pgconn: pq.PGconn, *, stoppable: bool = False) -> None:
        """Until the socket has data; a `stoppable` wait gives up when the consumer has gone (the
        server may sort for minutes before its first row)."""
        while not select.select([pgconn.socket], [], [], _POLL_SECONDS)[0]:
            if stoppable and self._stop.is_set():
                raise _Stopped()
        pgconn.consume_input()

    def _result(self, pgconn: pq.PGconn) -> pq.PGresult:
        while pgconn.is_busy():
            self._wait(pgconn, stoppable=True)
        result = pgconn.get_result()
        if result is None:
            raise psycopg.OperationalError("the server ended the COPY without a result")
        return result

    def _drain(self, pgconn: pq.PGconn) -> None:
        """Read the remaining results until libpq is ready for the next command (rows discarded)."""
        while True:
            while pgconn.is_busy():
                self._wait(pgconn)
            result = pgconn.get_result()
            if result is None:
                return
            if result.status == pq.ExecStatus.COPY_OUT:
                self._discard_copy(pgconn)

    def _discard_copy(self, pgconn: pq.PGconn) -> None:
        while (size := pgconn.get_copy_data(1)[0]) != -1:
            if size == 0:
                self._wait(pgconn)

    def _abandon(self, pgconn: pq.PGconn, copying: bool) -> None:
        """Cancel the query if it still runs and read what the server still sends: the connection
        stays usable (its transaction in error, for the caller to roll back)."""
        with suppress(Exception):
            if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                self._conn.cancel_safe()
                if copying:
                    self._discard_copy(pgconn)
                self._drain(pgconn)
