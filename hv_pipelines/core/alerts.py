"""Telling people that a pipeline run failed: a `system_notifications` row and an optional webhook.

An alert carries what an operator needs to find the run — job, run id, partition, the failed steps
and the *class* of each error — and nothing else. Error messages are left out on purpose: a message
can quote a row, a path or a connection string. The webhook URL is itself a secret (chat webhooks
embed their token), so it is never logged or echoed; a delivery failure is reported by HTTP status
or exception class only.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import ClassVar

import httpx
import psycopg

from hv_pipelines.core import db

NOTIFICATION_TYPE = "PIPELINE_RUN_FAILED"
WAL_ARCHIVE_TYPE = "WAL_ARCHIVE_UNHEALTHY"
NOTIFICATION_SEVERITY = "high"
_RUN_NAMESPACE = uuid.UUID("6f1d3a52-4c7e-4b8e-9a51-2f0c9d7e8b10")


@dataclass(frozen=True)
class RunFailureAlert:
    job: str
    run_id: str
    partition: str | None = None
    failed_steps: tuple[str, ...] = ()
    error_classes: tuple[str, ...] = ()
    failure_reason: str | None = None
    run_url: str | None = None
    environment: str = "development"
    notification_type: ClassVar[str] = NOTIFICATION_TYPE

    @property
    def notification_id(self) -> str:
        """Derived from the run id, so reporting the same failure twice writes one row."""
        return str(uuid.uuid5(_RUN_NAMESPACE, self.run_id))

    @property
    def title(self) -> str:
        part = f" [{self.partition}]" if self.partition else ""
        return f"Pipeline run failed: {self.job}{part}"

    @property
    def message(self) -> str:
        steps = ", ".join(self.failed_steps) or "(no step failed: the run failed to start or was stopped)"
        errors = ", ".join(self.error_classes) or "unknown"
        reason = f" ({self.failure_reason})" if self.failure_reason else ""
        where = f" Open {self.run_url} for the logs." if self.run_url else ""
        return (f"Run {self.run_id} of {self.job} failed{reason} in {self.environment}. Failed steps: {steps}. "
                f"Error class: {errors}.{where} See the README runbook, 'A run failed'.")

    def payload(self) -> dict[str, object]:
        """The webhook body: a `text` line chat tools show as-is, plus the fields for machines."""
        body = asdict(self)
        body.update(text=f"{self.title}. {self.message}", failed_steps=list(self.failed_steps),
                    error_classes=list(self.error_classes))
        return body


@dataclass(frozen=True)
class WalArchiveAlert:
    """The WAL archive's health check failed (its run succeeded: the check ran). Point-in-time recovery
    is at risk, not a pipeline run: the alert says so and what to look at. The reasons name segments,
    ages and counts, never data."""

    run_id: str
    reasons: tuple[str, ...]
    run_url: str | None = None
    environment: str = "development"
    notification_type: ClassVar[str] = WAL_ARCHIVE_TYPE

    @property
    def notification_id(self) -> str:
        return str(uuid.uuid5(_RUN_NAMESPACE, f"wal_archive_healthy/{self.run_id}"))

    @property
    def title(self) -> str:
        return f"WAL archive unhealthy in {self.environment}: point-in-time recovery is at risk"

    @property
    def message(self) -> str:
        reasons = "; ".join(self.reasons) or "no reason given"
        where = f" The check's run: {self.run_url}." if self.run_url else ""
        return (f"The check wal_archive_healthy failed: {reasons}. What to do: `hv pitr status` shows the "
                "recoverable window, the newest archived segment and its age, and any gap. If archiving has "
                "stopped, look for `error:` lines from archive_command in the PostgreSQL server log "
                "(pg_stat_archiver.failed_count) and check the object store and the env file's key; PostgreSQL "
                "keeps the WAL and archives it once the command succeeds again. For a gap or no base backup, "
                "take one now (`hv pitr base-backup`): points before the gap stay recoverable only up to it. "
                f"See docs/pitr.md.{where}")

    def payload(self) -> dict[str, object]:
        body = asdict(self)
        body.update(text=f"{self.title}. {self.message}", reasons=list(self.reasons), check="wal_archive_healthy")
        return body


Alert = RunFailureAlert | WalArchiveAlert


@dataclass(frozen=True)
class Delivery:
    """What became of each channel: `notification` is written / already written / not configured /
    failed (<exception class>); `webhook` is HTTP <status> / <exception class> / not configured."""

    notification: str
    webhook: str

    @property
    def delivered_anywhere(self) -> bool:
        return self.notification in ("written", "already written") or self.webhook.startswith("HTTP 2")


def write_notification(conn: psycopg.Connection, alert: Alert) -> bool:
    """Insert the alert as a `system_notifications` row; False when that run was already reported."""
    metadata = {k: v for k, v in alert.payload().items() if k != "text"}
    row = conn.execute(
        """
        INSERT INTO system_notifications (id, type, title, message, severity, metadata)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """,
        (alert.notification_id, alert.notification_type, alert.title, alert.message, NOTIFICATION_SEVERITY,
         json.dumps(metadata, sort_keys=True)),
    ).fetchone()
    return row is not None


def post_webhook(url: str, alert: Alert, *, timeout: float = 10.0, attempts: int = 3,
                 backoff_seconds: float = 1.0) -> str:
    """POST the alert as JSON, retrying server errors; return `HTTP <status>` or the exception class.
    Never raises, never includes the URL (it holds the webhook's token)."""
    outcome = "not sent"
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff_seconds * attempt)
        try:
            response = httpx.post(url, json=alert.payload(), timeout=timeout)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
            continue
        outcome = f"HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break
    return outcome


def deliver(database_url: str | None, webhook_url: str | None, alert: Alert, *,
            backoff_seconds: float = 1.0) -> Delivery:
    """Write the notification row and post the webhook. Each channel is tried even when the other fails
    (the failed run may well be the database being down)."""
    notification = "not configured"
    if database_url:
        try:
            with psycopg.connect(db.libpq_url(database_url), connect_timeout=10) as conn:
                notification = "written" if write_notification(conn, alert) else "already written"
        except psycopg.Error as exc:
            notification = f"failed ({type(exc).__name__})"
    webhook = post_webhook(webhook_url, alert, backoff_seconds=backoff_seconds) if webhook_url else "not configured"
    return Delivery(notification=notification, webhook=webhook)
