"""The compliance reviews of the maintenance calendar: weekly security review, yearly retention review.

Both read the application's own tables (`security_alerts`, `audit_logs`, `users`,
`data_retention_policies`) and report counts and aggregates only. No user id, e-mail, IP address,
resource id or free-text detail leaves the database: a reviewer who needs names follows up in the
database with the queries in the README runbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

# audit_logs.action values (the application's AuditEventType names; matched case-insensitively).
FAILED_LOGIN_ACTIONS = ("LOGIN_FAILURE", "LOGIN_FAILED", "FAILED_LOGIN", "MFA_FAILURE")
DENIED_ACCESS_ACTIONS = ("ACCESS_DENIED", "FAILED_ACCESS_ATTEMPT", "SECURITY_VIOLATION", "BREACH_ATTEMPT")
PHI_ACCESS_ACTIONS = ("PHI_VIEWED", "PHI_CREATED", "PHI_UPDATED", "PHI_DELETED", "PHI_EXPORTED", "PHI_PRINTED",
                      "PHI_SEARCHED", "RECORD_ACCESSED", "EMERGENCY_ACCESS")
PHI_EXPORT_ACTIONS = ("PHI_EXPORTED", "PHI_PRINTED")
URGENT_ALERT_SEVERITIES = ("critical", "high")
HIPAA_MINIMUM_DAYS = 6 * 365  # 45 CFR 164.316(b)(2): six years


@dataclass(frozen=True)
class AnomalyRules:
    """When PHI access counts as unusual: volume against peers, and access at night (UTC)."""

    volume_multiple_of_median: float = 3.0
    volume_floor: int = 200
    lockout_attempts: int = 5
    night_start_hour: int = 0
    night_end_hour: int = 5


@dataclass
class SecurityReview:
    window_start: datetime
    window_end: datetime
    alerts: int
    alerts_by_severity: dict[str, int]
    alerts_by_type: dict[str, int]
    unacknowledged_urgent_alerts: int  # all time, not just this window: the backlog
    failed_logins: int
    failed_login_accounts: int
    accounts_at_lockout: int
    denied_access_events: int
    phi_access_events: int
    phi_access_accounts: int
    phi_exports: int
    emergency_access_events: int
    night_phi_access_events: int
    high_volume_phi_accounts: int
    highest_account_phi_events: int
    median_account_phi_events: float
    audit_entries_awaiting_review: int
    rules: AnomalyRules = field(default_factory=AnomalyRules)

    @property
    def phi_anomalies(self) -> int:
        return self.high_volume_phi_accounts + self.night_phi_access_events + self.emergency_access_events


def _counts(conn: psycopg.Connection, query: str, params: tuple) -> dict[str, int]:
    return {str(key): count for key, count in conn.execute(query, params).fetchall()}


def security_review(conn: psycopg.Connection, *, window_end: datetime, days: int = 7,
                    rules: AnomalyRules | None = None) -> SecurityReview:
    """Summarise `days` of security alerts, failed logins and PHI access ending at `window_end` (UTC)."""
    rules = rules or AnomalyRules()
    start = window_end - timedelta(days=days)
    window = (start, window_end)
    by_severity = _counts(conn, "SELECT lower(severity), count(*) FROM security_alerts "
                          "WHERE created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 1", window)
    by_type = _counts(conn, "SELECT action, count(*) FROM security_alerts "
                      "WHERE created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 2 DESC, 1", window)
    urgent_backlog = conn.execute(
        "SELECT count(*) FROM security_alerts WHERE NOT acknowledged AND lower(severity) = ANY(%s)",
        (list(URGENT_ALERT_SEVERITIES),)).fetchone()[0]
    failed, failed_accounts, denied, awaiting = conn.execute(
        """
        SELECT count(*) FILTER (WHERE upper(action) = ANY(%(failed)s)),
               count(DISTINCT user_id) FILTER (WHERE upper(action) = ANY(%(failed)s)),
               count(*) FILTER (WHERE upper(action) = ANY(%(denied)s)),
               count(*) FILTER (WHERE requires_review AND NOT reviewed)
        FROM audit_logs WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s
        """,
        {"failed": list(FAILED_LOGIN_ACTIONS), "denied": list(DENIED_ACCESS_ACTIONS), "start": start,
         "end": window_end},
    ).fetchone()
    at_lockout = conn.execute("SELECT count(*) FROM users WHERE failed_login_attempts >= %s",
                              (rules.lockout_attempts,)).fetchone()[0]
    phi = conn.execute(
        """
        WITH phi AS (
            SELECT user_id, upper(action) AS action, "timestamp" FROM audit_logs
            WHERE upper(action) = ANY(%(phi)s) AND "timestamp" >= %(start)s AND "timestamp" < %(end)s
        ), per_account AS (SELECT user_id, count(*) AS events FROM phi GROUP BY user_id),
        typical AS (SELECT COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY events), 0) AS median
                    FROM per_account)
        SELECT (SELECT count(*) FROM phi),
               (SELECT count(*) FROM per_account),
               (SELECT count(*) FROM phi WHERE action = ANY(%(export)s)),
               (SELECT count(*) FROM phi WHERE action = 'EMERGENCY_ACCESS'),
               (SELECT count(*) FROM phi WHERE EXTRACT(HOUR FROM "timestamp") >= %(night_start)s
                                           AND EXTRACT(HOUR FROM "timestamp") < %(night_end)s),
               (SELECT count(*) FROM per_account, typical
                WHERE events > GREATEST(%(floor)s, %(multiple)s * typical.median)),
               (SELECT COALESCE(max(events), 0) FROM per_account),
               (SELECT median FROM typical)
        """,
        {"phi": list(PHI_ACCESS_ACTIONS), "export": list(PHI_EXPORT_ACTIONS), "start": start, "end": window_end,
         "night_start": rules.night_start_hour, "night_end": rules.night_end_hour,
         "floor": rules.volume_floor, "multiple": rules.volume_multiple_of_median},
    ).fetchone()
    return SecurityReview(
        window_start=start, window_end=window_end, alerts=sum(by_severity.values()),
        alerts_by_severity=by_severity, alerts_by_type=by_type, unacknowledged_urgent_alerts=urgent_backlog,
        failed_logins=failed, failed_login_accounts=failed_accounts, accounts_at_lockout=at_lockout,
        denied_access_events=denied, phi_access_events=phi[0], phi_access_accounts=phi[1], phi_exports=phi[2],
        emergency_access_events=phi[3], night_phi_access_events=phi[4], high_volume_phi_accounts=phi[5],
        highest_account_phi_events=phi[6], median_account_phi_events=float(phi[7]),
        audit_entries_awaiting_review=awaiting, rules=rules,
    )


@dataclass(frozen=True)
class PolicyReview:
    """One active retention policy, what the data it governs looks like now, and what is wrong with it."""

    name: str
    data_type: str
    retention_days: int
    archive_after_days: int | None
    delete_after_days: int | None
    days_since_update: int
    table: str | None
    rows_past_archive: int | None
    rows_past_delete: int | None
    findings: tuple[str, ...]


_AGE_COLUMNS = ("timestamp", "created_at", "createdAt")


def _age_column(conn: psycopg.Connection, table: str) -> str | None:
    """The column that dates a row of `table` (a policy's dataType naming a table), if it has one."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND column_name = ANY(%s)", (table, list(_AGE_COLUMNS))).fetchall()
    present = {r[0] for r in rows}
    return next((c for c in _AGE_COLUMNS if c in present), None)


def _rows_older_than(conn: psycopg.Connection, table: str, column: str, days: int | None, now: datetime) -> int | None:
    if days is None:
        return None
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} < %s").format(sql.Identifier(table), sql.Identifier(column))
    return conn.execute(query, (now - timedelta(days=days),)).fetchone()[0]


def _findings(name: str, data_type: str, retention: int, archive: int | None, delete: int | None,
              effective_to: datetime | None, days_since_update: int, now: datetime) -> list[str]:
    found = []
    if data_type == "audit_logs" and retention < HIPAA_MINIMUM_DAYS:
        found.append(f"keeps audit logs {retention} days, less than HIPAA's {HIPAA_MINIMUM_DAYS}")
    if delete is not None and delete < retention:
        found.append(f"deletes after {delete} days, before its own retention period of {retention}")
    if archive is not None and delete is not None and archive >= delete:
        found.append(f"archives after {archive} days, not before deleting at {delete}")
    if effective_to is not None and effective_to < now:
        found.append(f"active although it expired on {effective_to:%Y-%m-%d}")
    if days_since_update > 365:
        found.append(f"not reviewed for {days_since_update} days")
    return found


def retention_review(conn: psycopg.Connection, *, now: datetime) -> list[PolicyReview]:
    """Each active retention policy checked for internal contradictions, HIPAA's minimum, staleness,
    and — where its dataType names a table — how many rows are overdue for archival or deletion."""
    policies = conn.execute(
        """
        SELECT name, "dataType", "retentionPeriodDays", "archiveAfterDays", "deleteAfterDays", "effectiveTo",
               "updatedAt"
        FROM data_retention_policies WHERE active ORDER BY name
        """
    ).fetchall()
    reviews = []
    for name, data_type, retention, archive, delete, effective_to, updated in policies:
        days_since_update = (now - updated).days
        column = _age_column(conn, data_type)
        table = data_type if column else None
        past_archive = _rows_older_than(conn, data_type, column, archive, now) if column else None
        past_delete = _rows_older_than(conn, data_type, column, delete, now) if column else None
        found = _findings(name, data_type, retention, archive, delete, effective_to, days_since_update, now)
        if past_archive:
            found.append(f"{past_archive} row(s) of {data_type} are older than {archive} days and not archived")
        if past_delete:
            found.append(f"{past_delete} row(s) of {data_type} are past deletion at {delete} days")
        reviews.append(PolicyReview(name, data_type, retention, archive, delete, days_since_update, table,
                                    past_archive, past_delete, tuple(found)))
    return reviews
