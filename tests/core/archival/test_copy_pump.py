"""CopyPump reads COPY straight from libpq: the same bytes as psycopg's Copy, whole rows per block,
and a failure or an abandoned read leaves the connection usable once its transaction is rolled back."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg import sql

from hv_pipelines.core import db
from hv_pipelines.core.archival.copy_pump import CopyPump

ROWS = sql.SQL("COPY (SELECT n, repeat('é,\"x\n', n % 7), n % 3 = 0 FROM generate_series(1, 20000) n ORDER BY n) "
               "TO STDOUT (FORMAT csv)")


def _pump(conn: psycopg.Connection, query: sql.Composable, block_bytes: int = 4096) -> CopyPump:
    return CopyPump(conn, query, block_bytes=block_bytes, queue_blocks=2)


def test_blocks_hold_whole_rows_and_the_bytes_psycopg_reads(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        with conn.cursor() as cur, cur.copy(ROWS) as copy:
            expected = b"".join(bytes(row) for row in copy)
        pump = _pump(conn, ROWS)
        try:
            blocks = list(pump)
        finally:
            pump.close()
        assert b"".join(blocks) == expected and pump.bytes_read == len(expected)
        assert len(blocks) > 10 and all(block.endswith(b"\n") for block in blocks)
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)  # the connection is ready for more


def test_a_server_error_mid_copy_reaches_the_consumer(empty_db: str) -> None:
    failing = sql.SQL("COPY (SELECT 1 / (n - 15000) FROM generate_series(1, 20000) n) TO STDOUT")
    with db.connect(empty_db) as conn:
        pump = _pump(conn, failing, block_bytes=1024)
        received = 0
        with pytest.raises(psycopg.errors.DivisionByZero):
            for block in pump:
                received += block.count(b"\n")
        pump.close()
        assert 0 < received < 15000
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_abandoning_the_read_cancels_the_copy(empty_db: str) -> None:
    endless = sql.SQL("COPY (SELECT n, pg_sleep(0.0005) FROM generate_series(1, 1000000) n) TO STDOUT")
    with db.connect(empty_db) as conn:
        pump = _pump(conn, endless, block_bytes=256)
        next(iter(pump))
        started = time.monotonic()
        pump.close()  # the COPY (minutes long) is cancelled, not read to its end
        assert time.monotonic() - started < 10
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_abandoning_before_the_first_row_cancels_the_query(empty_db: str) -> None:
    slow_start = sql.SQL("COPY (SELECT n FROM (SELECT pg_sleep(60)) s, generate_series(1, 3) n) TO STDOUT")
    with db.connect(empty_db) as conn:
        pump = _pump(conn, slow_start)
        time.sleep(0.5)  # the server is still working on its first row
        started = time.monotonic()
        pump.close()
        assert time.monotonic() - started < 10
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)
