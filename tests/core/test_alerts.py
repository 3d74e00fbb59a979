"""Run-failure alerts: one notification row per failed run, a webhook over real HTTP, nothing secret."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from hv_pipelines.core import alerts, db
from tests.fakes.webhook_receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


ALERT = alerts.RunFailureAlert(
    job="nightly_backup", run_id="3c1e9b2a-run", partition="2024-05-01", failed_steps=("database_backup",),
    error_classes=("StorageError",), run_url="http://127.0.0.1:3000/runs/3c1e9b2a-run", environment="production")


def _notifications(url: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute("SELECT type, title, message, severity, metadata FROM system_notifications").fetchall()


def test_failure_is_written_once_and_posted(migrated_db: str, hook: WebhookReceiver) -> None:
    first = alerts.deliver(migrated_db, hook.url, ALERT)
    again = alerts.deliver(migrated_db, hook.url, ALERT)

    assert (first.notification, first.webhook) == ("written", "HTTP 200")
    assert again.notification == "already written"
    rows = _notifications(migrated_db)
    assert len(rows) == 1
    kind, title, message, severity, metadata = rows[0]
    assert (kind, severity) == ("PIPELINE_RUN_FAILED", "high")
    assert title == "Pipeline run failed: nightly_backup [2024-05-01]"
    assert "database_backup" in message and "StorageError" in message and "/runs/3c1e9b2a-run" in message
    assert json.loads(metadata)["partition"] == "2024-05-01"
    body = hook.received[0]
    assert body["job"] == "nightly_backup" and body["error_classes"] == ["StorageError"]
    assert body["text"].startswith("Pipeline run failed: nightly_backup")


def test_server_errors_are_retried_and_the_url_never_echoed(hook: WebhookReceiver) -> None:
    hook.statuses[:] = [503, 500]
    status = alerts.post_webhook(hook.url, ALERT, backoff_seconds=0)
    assert status == "HTTP 200" and len(hook.received) == 3

    hook.statuses[:] = [500, 500, 500]
    status = alerts.post_webhook(hook.url, ALERT, backoff_seconds=0)
    assert status == "HTTP 500"
    assert "s3cret" not in status


def test_client_errors_are_not_retried(hook: WebhookReceiver) -> None:
    hook.statuses[:] = [404]
    assert alerts.post_webhook(hook.url, ALERT, backoff_seconds=0) == "HTTP 404"
    assert len(hook.received) == 1


def test_database_down_still_posts_the_webhook(pg_server_url: str, hook: WebhookReceiver) -> None:
    missing = db.with_database(pg_server_url, "hv_no_such_database")
    delivery = alerts.deliver(missing, hook.url, ALERT, backoff_seconds=0)
    assert delivery.notification == "failed (OperationalError)"
    assert delivery.webhook == "HTTP 200" and delivery.delivered_anywhere


def test_unreachable_webhook_is_reported_by_class_only(migrated_db: str) -> None:
    delivery = alerts.deliver(migrated_db, "http://127.0.0.1:9/hooks/T0KEN-s3cret", ALERT,
                              backoff_seconds=0)
    assert delivery.notification == "written" and delivery.delivered_anywhere
    assert delivery.webhook == "ConnectError"


def test_nothing_delivered_when_both_channels_fail(pg_server_url: str) -> None:
    missing = db.with_database(pg_server_url, "hv_no_such_database")
    delivery = alerts.deliver(missing, "http://127.0.0.1:9/x", ALERT, backoff_seconds=0)
    assert not delivery.delivered_anywhere


def test_alert_carries_no_error_message_field() -> None:
    assert set(ALERT.payload()) == {"job", "run_id", "partition", "failed_steps", "error_classes", "run_url",
                                    "environment", "failure_reason", "text"}
