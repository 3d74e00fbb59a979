"""Synthetic `audit_logs` rows for archival tests: awkward values on purpose, loaded with COPY.

Shared by the core, Dagster and CLI archival tests (`from tests.core.archival.audit_rows import ...`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from hv_pipelines.core import db
from hv_pipelines.core.archival.months import Month

COLUMNS = ["id", "user_id", "action", "resource", "resource_id", "details", "ip_address", "user_agent",
           "session_id", "severity", "requires_review", "reviewed", "reviewed_by", "reviewed_at", "review_notes",
           "consent_id", "timestamp", "created_at"]
# Values that break naive CSV or text handling: empty vs NULL, quotes, commas, newlines, backslashes.
AWKWARD = ["", "plain", 'comma, "quoted"', "multi\nline\r\nvalue", "unicode é ✓ 患者", "\\N", "NULL",
           " padded ", "t", '{"json": [1, 2], "k": "v"}']


def make_user(url: str) -> str:
    user_id = str(uuid.uuid4())
    with db.connect(url) as conn:
        conn.execute("INSERT INTO users (id, email, password_hash, updated_at) VALUES (%s, %s, 'x', now())",
                     (user_id, f"{user_id}@example.test"))
    return user_id


def audit_row(month: Month, index: int, user_id: str) -> tuple:
    awkward = AWKWARD[index % len(AWKWARD)]
    moment = month.start + timedelta(seconds=(index * 7919) % (27 * 86400), milliseconds=index % 1000)
    reviewed = index % 3 == 0
    return (str(uuid.uuid4()), user_id, ["READ", "UPDATE", "LOGIN", "EXPORT"][index % 4], "patient_record",
            f"rec-{index}", awkward if index % 5 else None, f"10.0.{index % 256}.{index % 7}", awkward,
            None if index % 2 else f"sess-{index}", ["INFO", "WARNING", "CRITICAL"][index % 3], index % 4 == 0,
            reviewed, user_id if reviewed else None, moment + timedelta(days=1) if reviewed else None,
            awkward if reviewed else None, None, moment, moment)


def insert_audit_rows(url: str, month: Month, count: int, user_id: str, *, start: int = 0) -> None:
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with db.connect(url) as conn, conn.cursor() as cur, cur.copy(f"COPY audit_logs ({columns}) FROM STDIN") as copy:
        for index in range(start, start + count):
            copy.write_row(audit_row(month, index, user_id))


def month_rows(url: str, month: Month, table: str = "audit_logs") -> list[tuple]:
    """Every column of the month's rows, ordered by id, for column-by-column comparisons."""
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    with db.connect(url) as conn:
        return conn.execute(f'SELECT {cols} FROM {table} WHERE "timestamp" >= %s AND "timestamp" < %s '
                            'ORDER BY id COLLATE "C"', (month.start, month.end)).fetchall()


def count_rows(url: str, month: Month) -> int:
    with db.connect(url) as conn:
        return conn.execute('SELECT count(*) FROM audit_logs WHERE "timestamp" >= %s AND "timestamp" < %s',
                            (month.start, month.end)).fetchone()[0]
