"""Staging: `CopySink` rows arrive as written; `alongside` works on a second connection while the
load's connection goes on."""

import threading
import time

import psycopg
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology.staging import alongside, copy_back, copy_into, copy_out, create_stage


def test_text_rows_arrive_as_written(empty_db):
    rows = [("a\\b", "tab\there", "line\nbreak\r", None, "2025-01-01 00:00:00"),
            ("\\N", "", "µg β-lactamase \"quoted\"", "1.25", "2025-04-01 00:00:00")]
    with db.connect(empty_db) as conn:
        create_stage(conn, "texts", "a text, b text, c text, d double precision, e timestamp")
        with copy_into(conn, "texts", ("a", "b", "c", "d", "e")) as sink:
            for row in rows:
                sink.texts(row)
        back = conn.execute("SELECT a, b, c, d::text, e::text FROM texts ORDER BY d NULLS FIRST").fetchall()
    assert back == rows and sink.rows == 2


def test_work_on_the_second_connection_comes_back_in_copy_binary(empty_db, alongside_threads):
    def squares(other: psycopg.Connection):
        return other.info.backend_pid, copy_out(
            other, "SELECT n, n * n, ARRAY[n::text, 'tab\t\\'], date '2025-01-31' + n FROM generate_series(1, 3) n")

    with db.connect(empty_db) as conn:
        pid = conn.info.backend_pid
        with alongside(conn, squares) as result:
            conn.execute("CREATE TEMP TABLE squares (n int, square int, names text[], day date)")
            other_pid, spool = result()
        with spool:
            spool.seek(0)
            copy_back(conn, "squares", spool)
        assert conn.execute("SELECT array_agg(square ORDER BY n), max(names[1]), min(names[2]), max(day)::text "
                            "FROM squares").fetchone() == ([1, 4, 9], "3", "tab\t\\", "2025-02-03")
    assert other_pid != pid and not alongside_threads()


def test_a_failure_on_either_side_is_raised_and_nothing_is_left_open(empty_db, alongside_threads):
    closed = []

    class Spool:
        def close(self) -> None:
            closed.append(True)

    with db.connect(empty_db) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero), \
                alongside(conn, lambda other: other.execute("SELECT 1 / 0")) as result:
            result()
        with pytest.raises(RuntimeError, match="the block failed"), \
                alongside(conn, lambda other: Spool(), discard=lambda spool: spool.close()):
            raise RuntimeError("the block failed")
    assert closed == [True] and not alongside_threads()


def test_a_failing_block_cancels_the_work_on_the_second_connection(empty_db, alongside_threads):
    started = threading.Event()

    def sleep(other: psycopg.Connection):
        started.set()
        other.execute("SELECT pg_sleep(60)")

    began = time.monotonic()
    with db.connect(empty_db) as conn, pytest.raises(KeyboardInterrupt), alongside(conn, sleep):
        started.wait(10)
        time.sleep(0.2)  # the sleep is running on the second connection
        raise KeyboardInterrupt
    assert time.monotonic() - began < 10 and not alongside_threads()
