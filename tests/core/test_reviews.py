"""The weekly security review and the yearly retention review, on real rows in a real database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from hv_pipelines.core import db, reviews

NOW = datetime(2024, 6, 10, 12, 0, 0)
PHI_TEXT = "Jane Q. Patient, DOB 1970-01-01"
WORKDAY = NOW - timedelta(days=2, hours=-2)  # 14:00, inside the window
NIGHT = NOW - timedelta(days=3, hours=10)  # 02:00


def _users(conn, count: int) -> list[str]:
    ids = [f"user-{i}" for i in range(count)]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO users (id, email, password_hash, updated_at) VALUES (%s, %s, 'x', now())",
                        [(i, f"{i}@example.org") for i in ids])
    return ids


def _audit(conn, user: str, action: str, at: datetime, times: int = 1, *, requires_review: bool = False) -> None:
    conn.execute(
        """
        INSERT INTO audit_logs (id, user_id, action, resource, resource_id, details, ip_address, severity,
                                requires_review, "timestamp")
        SELECT gen_random_uuid()::text, %s, %s, 'patient', 'p-1', %s, '203.0.113.9', 'INFO', %s, %s
        FROM generate_series(1, %s)
        """,
        (user, action, PHI_TEXT, requires_review, at, times),
    )


def _alert(conn, severity: str, at: datetime, *, acknowledged: bool = False, action: str = "BRUTE_FORCE_ATTACK"):
    conn.execute("INSERT INTO security_alerts (id, user_id, action, details, severity, acknowledged, created_at) "
                 "VALUES (%s, 'user-0', %s, %s, %s, %s, %s)",
                 (str(uuid.uuid4()), action, PHI_TEXT, severity, acknowledged, at))


@pytest.fixture
def busy_week(migrated_db: str) -> str:
    with db.connect(migrated_db) as conn:
        users = _users(conn, 10)
        conn.execute("UPDATE users SET failed_login_attempts = 6 WHERE id = 'user-9'")
        for user in users[:9]:
            _audit(conn, user, "PHI_VIEWED", WORKDAY, 10)
        _audit(conn, users[9], "PHI_VIEWED", WORKDAY, 400)
        _audit(conn, users[1], "PHI_EXPORTED", WORKDAY, 2)
        _audit(conn, users[2], "EMERGENCY_ACCESS", WORKDAY)
        _audit(conn, users[3], "PHI_VIEWED", NIGHT, 3)
        _audit(conn, users[4], "LOGIN_FAILURE", WORKDAY, 4)
        _audit(conn, users[5], "login_failure", WORKDAY)
        _audit(conn, users[5], "ACCESS_DENIED", WORKDAY, 2, requires_review=True)
        _audit(conn, users[6], "LOGIN_FAILURE", NOW - timedelta(days=30), 50)
        _alert(conn, "high", WORKDAY)
        _alert(conn, "critical", WORKDAY, acknowledged=True, action="DATA_EXFILTRATION")
        _alert(conn, "low", WORKDAY)
        _alert(conn, "HIGH", NOW - timedelta(days=40))
    return migrated_db


def test_security_review_counts_the_week(busy_week: str) -> None:
    with db.connect(busy_week) as conn:
        review = reviews.security_review(conn, window_end=NOW)

    assert review.window_start == NOW - timedelta(days=7)
    assert (review.alerts, review.alerts_by_severity) == (3, {"critical": 1, "high": 1, "low": 1})
    assert review.alerts_by_type == {"BRUTE_FORCE_ATTACK": 2, "DATA_EXFILTRATION": 1}
    assert review.unacknowledged_urgent_alerts == 2, "the backlog counts older unacknowledged alerts too"
    assert (review.failed_logins, review.failed_login_accounts, review.accounts_at_lockout) == (5, 2, 1)
    assert review.denied_access_events == 2 and review.audit_entries_awaiting_review == 2
    assert (review.phi_access_events, review.phi_access_accounts) == (90 + 400 + 2 + 1 + 3, 10)
    assert (review.phi_exports, review.emergency_access_events, review.night_phi_access_events) == (2, 1, 3)
    assert (review.high_volume_phi_accounts, review.highest_account_phi_events) == (1, 400)
    assert review.median_account_phi_events == 10
    assert review.phi_anomalies == 1 + 3 + 1


def test_security_review_holds_no_identifying_data(busy_week: str) -> None:
    with db.connect(busy_week) as conn:
        shown = repr(reviews.security_review(conn, window_end=NOW))
    for secret in ("Jane", "user-", "example.org", "203.0.113.9", "p-1"):
        assert secret not in shown


def test_quiet_week_is_all_zeros(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        review = reviews.security_review(conn, window_end=NOW)
    assert review.alerts == review.phi_access_events == review.phi_anomalies == 0
    assert review.median_account_phi_events == 0


def _policy(conn, name: str, data_type: str, retention: int, archive: int | None, delete: int | None, *,
            effective_to: datetime | None = None, updated: datetime = NOW, active: bool = True) -> None:
    conn.execute(
        """
        INSERT INTO data_retention_policies (id, name, description, "dataType", "retentionPeriodDays",
            "archiveAfterDays", "deleteAfterDays", active, "effectiveTo", "updatedAt", "createdBy")
        VALUES (%s, %s, 'd', %s, %s, %s, %s, %s, %s, %s, 'test')
        """,
        (str(uuid.uuid4()), name, data_type, retention, archive, delete, active, effective_to, updated),
    )


def test_retention_review_flags_contradictions_and_overdue_rows(migrated_db: str) -> None:
    with db.connect(migrated_db) as conn:
        _users(conn, 1)
        _audit(conn, "user-0", "PHI_VIEWED", NOW - timedelta(days=400), 5)
        _audit(conn, "user-0", "PHI_VIEWED", NOW - timedelta(days=10), 7)
        _policy(conn, "AUDIT_LOGS", "audit_logs", 2555, 365, 2555)
        _policy(conn, "SHORT_AUDIT", "audit_logs", 1000, 950, 900, updated=NOW - timedelta(days=400))
        _policy(conn, "RECORDS", "medical_records", 3650, None, None, effective_to=NOW - timedelta(days=1))
        _policy(conn, "OLD", "audit_logs", 1, 1, 1, active=False)
        policies = {p.name: p for p in reviews.retention_review(conn, now=NOW)}

    assert sorted(policies) == ["AUDIT_LOGS", "RECORDS", "SHORT_AUDIT"]
    good = policies["AUDIT_LOGS"]
    assert (good.table, good.rows_past_archive, good.rows_past_delete) == ("audit_logs", 5, 0)
    assert good.findings == ("5 row(s) of audit_logs are older than 365 days and not archived",)
    short = policies["SHORT_AUDIT"]
    assert short.findings[:4] == (
        "keeps audit logs 1000 days, less than HIPAA's 2190",
        "deletes after 900 days, before its own retention period of 1000",
        "archives after 950 days, not before deleting at 900",
        "not reviewed for 400 days",
    )
    records = policies["RECORDS"]
    assert records.table is None and records.rows_past_archive is None
    assert records.findings == ("active although it expired on 2024-06-09",)
