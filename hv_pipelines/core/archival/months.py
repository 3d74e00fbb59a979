"""Calendar months of `audit_logs.timestamp` and the AUDIT_LOGS retention policy that governs them.

`audit_logs.timestamp` is `TIMESTAMP(3)` without a zone and the platform writes it in UTC, so a
month is a half-open range of naive UTC datetimes `[start, end)`. Ages are measured from a month's
end, the newest instant it can hold: a month becomes archivable `archiveAfterDays` after it ends,
its archive is retained (Object Lock) `retentionPeriodDays` after it ends, and purged
`deleteAfterDays` after it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from hv_pipelines.core.errors import ConfigurationError

POLICY_NAME = "AUDIT_LOGS"
# Used when the database has no active AUDIT_LOGS policy row (not seeded yet); the seed data's values.
DEFAULT_RETENTION_DAYS = 2555  # 7 years: HIPAA asks for 6 from creation or last effective date
DEFAULT_ARCHIVE_AFTER_DAYS = 365

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM`, or a Dagster monthly partition key `YYYY-MM-01`."""
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise ConfigurationError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2024-01")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls(moment.year, moment.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def partition_key(self) -> str:
        return f"{self.label}-01"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return self.label


def utc_naive(moment: datetime | None = None) -> datetime:
    """`moment` (default: now) as a naive UTC datetime, the form `audit_logs.timestamp` is stored in."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class RetentionPolicy:
    retention_days: int = DEFAULT_RETENTION_DAYS
    archive_after_days: int = DEFAULT_ARCHIVE_AFTER_DAYS
    delete_after_days: int = DEFAULT_RETENTION_DAYS
    source: str = "default"

    def archivable_before(self, now: datetime) -> Month:
        """The first month that is still too young to archive at `now`."""
        return Month.of(utc_naive(now) - timedelta(days=self.archive_after_days))

    def is_archivable(self, month: Month, now: datetime) -> bool:
        return month < self.archivable_before(now)

    def retain_until(self, month: Month) -> datetime:
        """Object Lock retention (UTC, aware) for an archive of `month`."""
        return (month.end + timedelta(days=self.retention_days)).replace(tzinfo=UTC)

    def purge_due(self, month: Month, now: datetime) -> bool:
        return month.end + timedelta(days=self.delete_after_days) <= utc_naive(now)


def load_policy(conn: psycopg.Connection) -> RetentionPolicy:
    """The active AUDIT_LOGS policy, or the defaults above when the row is absent."""
    row = conn.execute(
        """
        SELECT "retentionPeriodDays", "archiveAfterDays", "deleteAfterDays"
        FROM data_retention_policies
        WHERE name = %s AND active AND ("effectiveTo" IS NULL OR "effectiveTo" > now() AT TIME ZONE 'UTC')
        """,
        (POLICY_NAME,),
    ).fetchone()
    if row is None:
        return RetentionPolicy()
    retention, archive_after, delete_after = row
    return RetentionPolicy(retention, archive_after if archive_after is not None else DEFAULT_ARCHIVE_AFTER_DAYS,
                           delete_after if delete_after is not None else retention, source="data_retention_policies")


def months_with_rows(conn: psycopg.Connection, before: Month) -> list[Month]:
    """Months earlier than `before` that still hold rows in `audit_logs`.

    A loose index scan over `audit_logs_timestamp_idx`: one index probe per month, however many
    rows the backlog holds, so the schedule can call it cheaply.
    """
    rows = conn.execute(
        """
        WITH RECURSIVE m(month_start) AS (
            SELECT date_trunc('month', min("timestamp")) FROM audit_logs WHERE "timestamp" < %(bound)s
            UNION ALL
            SELECT (SELECT date_trunc('month', min("timestamp")) FROM audit_logs
                    WHERE "timestamp" >= m.month_start + interval '1 month' AND "timestamp" < %(bound)s)
            FROM m WHERE m.month_start IS NOT NULL
        )
        SELECT month_start FROM m WHERE month_start IS NOT NULL ORDER BY month_start
        """,
        {"bound": before.start},
    ).fetchall()
    return [Month.of(r[0]) for r in rows]


def months_due(conn: psycopg.Connection, now: datetime | None = None) -> list[Month]:
    """Months old enough under the policy that still hold rows (first archives and late rows alike)."""
    return months_with_rows(conn, load_policy(conn).archivable_before(now or datetime.now(UTC)))
