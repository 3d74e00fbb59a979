"""COPY into temporary staging tables: the only way rows enter the database during a load.

Staging tables are `TEMP ... ON COMMIT DROP`: never WAL-logged (as an UNLOGGED table), invisible to
other sessions, and gone with the transaction whether it commits or fails. A load that splits its
build over two connections stages `shared` instead: UNLOGGED tables in the schema `shared_stage`
manages, committed by the connections that staged them. Parsers of big files hand over
already-split byte fields (no per-value Python conversion); small ones hand over tuples.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TypeVar

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

FLUSH_BYTES = 1024 * 1024
# COPY output handed between connections stays in memory up to this size, then goes to a temp file.
SPOOL_IN_MEMORY = 8 * 1024 * 1024
SpooledBytes = IO[bytes]
T = TypeVar("T")


def create_stage(conn: psycopg.Connection, name: str, columns: str, *, shared: bool = False) -> None:
    """Create staging table `name` with the column definitions `columns` (SQL, trusted constants):
    a temp table, or with `shared` an UNLOGGED one in the first schema of the search path."""
    statement = "CREATE UNLOGGED TABLE {} ({})" if shared else "CREATE TEMP TABLE {} ({}) ON COMMIT DROP"
    conn.execute(sql.SQL(statement).format(sql.Identifier(name), sql.SQL(columns)))


def create_stage_as(conn: psycopg.Connection, name: str, query: str, params: dict[str, object] | None = None,
                    *, shared: bool = False) -> int:
    """Create staging table `name` from `query` (SQL, trusted constants; `params` bound), temp or
    with `shared` UNLOGGED as `create_stage` does; returns how many rows it holds."""
    statement = "CREATE UNLOGGED TABLE {} AS {}" if shared else "CREATE TEMP TABLE {} ON COMMIT DROP AS {}"
    return conn.execute(sql.SQL(statement).format(sql.Identifier(name), sql.SQL(query)), params).rowcount


def tune(conn: psycopg.Connection, *, local: bool = True) -> None:
    """Settings for a load's session (for its transaction with `local`): memory enough for the
    build's sorts and hashes, and quick statistics for staging tables that are read once or twice."""
    scope = "LOCAL " if local else ""
    conn.execute(f"SET {scope}work_mem = '256MB'; SET {scope}default_statistics_target = 10")


def connect_like(conn: psycopg.Connection, *, autocommit: bool = False) -> psycopg.Connection:
    """Another connection to `conn`'s database, as the same role."""
    return psycopg.connect(conn.info.dsn, password=conn.info.password or None, autocommit=autocommit)


def analyze(conn: psycopg.Connection, *names: str) -> None:
    """Temp tables are never auto-analysed: without statistics the merge would plan nested loops."""
    for name in names:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))


# The name of `alongside`'s worker thread (a load that failed must leave none running).
ALONGSIDE_THREAD = "hv-staging-alongside"
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class CopySink:
    """Rows for one COPY: `row()` takes Python values, `fields()` takes raw UTF-8 byte fields that
    cannot contain tab or newline (they were split on them) and only need backslashes escaped."""

    def __init__(self, copy: psycopg.Copy) -> None:
        self._copy = copy
        self._buffer: list[bytes] = []
        self._size = 0
        self.rows = 0

    def row(self, values: Sequence[object]) -> None:
        self._flush()
        self._copy.write_row(values)
        self.rows += 1

    def texts(self, values: Sequence[str | None]) -> None:
        """A row of values already in PostgreSQL's text form (None for NULL): only COPY's escaping
        is applied, which is cheaper than adapting each value by its Python type (`row`)."""
        self._append("\t".join(_NULL if v is None else v.translate(_ESCAPES) for v in values).encode())

    def fields(self, values: Sequence[bytes]) -> None:
        line = b"\t".join(values)
        self._append(line.replace(b"\\", b"\\\\") if b"\\" in line else line)

    def _append(self, line: bytes) -> None:
        self._buffer.append(line + b"\n")
        self._size += len(line) + 1
        self.rows += 1
        if self._size >= FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._copy.write(b"".join(self._buffer))
            self._buffer.clear()
            self._size = 0


@contextmanager
def copy_into(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> Iterator[CopySink]:
    """COPY into `table`: a worker thread sends what the sink has formatted while the parser reads
    on, so that PostgreSQL's parsing of one buffer overlaps Python's parsing of the next."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        sink = CopySink(copy)
        yield sink
        sink._flush()


def copy_out(conn: psycopg.Connection, query: str) -> SpooledBytes:
    """The rows of `query` (SQL, trusted constants) in COPY's binary format, spooled (bounded memory).
    Binary, because they only go back into the same server (`copy_back`): nothing is formatted as
    text to be parsed again."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 — the caller closes it
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(sql.SQL(query))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for data in copy:
            spool.write(data)
    return spool


def copy_back(conn: psycopg.Connection, table: str, spool: SpooledBytes) -> int:
    """Rows `copy_out` spooled (read from the spool's current position) into `table`, whose columns
    have the types of the query's; returns how many."""
    statement = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            while chunk := spool.read(FLUSH_BYTES):
                copy.write(chunk)
        return cur.rowcount


@contextmanager
def alongside(conn: psycopg.Connection, work: Callable[[psycopg.Connection], T],
              discard: Callable[[T], None] = lambda value: None) -> Iterator[Callable[[], T]]:
    """Run `work` in a thread on a second connection to `conn`'s database while the block runs on
    `conn`; the block gets `result()`, which waits and returns what `work` returned (or raises what
    it raised). The second connection stages into its own temporary tables, or commits staging
    tables for the load to read (`shared_stage`); the load's one transaction stays the only thing
    that changes the application's data. When the block fails, what `work` returned goes to
    `discard` (to close it)."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            with connect_like(conn) as other:
                outcome["connection"] = other
                outcome["value"] = work(other)
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=ALONGSIDE_THREAD, daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["value"]  # type: ignore[return-value]

    try:
        yield result
    except BaseException:
        # A failing block (Ctrl-C included) stops the second connection's query and waits for the
        # thread: the second connection never outlives the load.
        if (other := outcome.get("connection")) is not None:
            other.cancel_safe()  # type: ignore[attr-defined]
        thread.join()
        if "value" in outcome:
            discard(outcome["value"])  # type: ignore[arg-type]
        raise
    thread.join()


def close_all(*closeables: IO[bytes] | object) -> None:
    """Close what a failed step leaves open (spools, rejects logs)."""
    for closeable in closeables:
        closeable.close()  # type: ignore[union-attr]


def serialised(progress: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """`progress`, safe to call from the load's threads at once (a progress bar is not)."""
    if progress is None:
        return None
    lock = threading.Lock()

    def report(count: int) -> None:
        with lock:
            progress(count)
    return report
