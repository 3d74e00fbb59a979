"""Operations domain: the maintenance calendar as schedules, and the alert every failed run raises.

Calendar (UTC): weekly health + security review (Monday 06:00), quarterly slow-query review (first
day of Jan/Apr/Jul/Oct, 07:00), yearly retention-policy review (15 January, 08:00). Monthly audit
archival belongs to the compliance domain. All of these only read, so they run in every environment.

`run_failure_alerts` watches every job of this code location. For each failed run it writes one
`system_notifications` row and posts to `HV_ALERT_WEBHOOK_URL` when set — job, partition, failed
steps and error classes only, never an error message.

With `HV_EXECUTOR=k8s` (set by deploy/helm/values.yaml) each step runs in its own Kubernetes pod, so
the `dagster-k8s/config` op tags of the heavy assets (assets/compute.py) size their pods.
"""

import os

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from hv_pipelines.assets.health import (
    database_health,
    retention_policy_review,
    security_review_report,
    slow_query_review,
)
from hv_pipelines.core import alerts, migrations
from hv_pipelines.core.errors import ConfigurationError, HVError
from hv_pipelines.core.settings import load_settings
from hv_pipelines.jobs.schema import skips_until_migrated
from hv_pipelines.resources import Database

UTC = "UTC"

weekly_health_review = dg.define_asset_job(
    "weekly_health_review",
    selection=dg.AssetSelection.assets(database_health, security_review_report),
    description="Database health (sizes, bloat, long and blocked sessions, top statements) and the weekly "
    "security review (alerts, failed logins, PHI-access anomalies). Read-only.",
)
quarterly_slow_query_review = dg.define_asset_job(
    "quarterly_slow_query_review",
    selection=dg.AssetSelection.assets(slow_query_review),
    description="Slowest statements, sequentially scanned tables and unused indexes. Read-only.",
)
yearly_retention_review = dg.define_asset_job(
    "yearly_retention_review",
    selection=dg.AssetSelection.assets(retention_policy_review),
    description="Every active retention policy against HIPAA's minimum, itself, and the data it governs.",
)

schedules = [skips_until_migrated(schedule) for schedule in (
    dg.ScheduleDefinition(
        name="weekly_health_and_security_review", job=weekly_health_review, cron_schedule="0 6 * * 1",
        execution_timezone=UTC, default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Mondays 06:00 UTC: database health report and security review of the past week."),
    dg.ScheduleDefinition(
        name="quarterly_slow_query_review_schedule", job=quarterly_slow_query_review,
        cron_schedule="0 7 1 1,4,7,10 *", execution_timezone=UTC, default_status=dg.DefaultScheduleStatus.RUNNING,
        description="First day of each quarter, 07:00 UTC: slow-query and index review."),
    dg.ScheduleDefinition(
        name="yearly_retention_review_schedule", job=yearly_retention_review, cron_schedule="0 8 15 1 *",
        execution_timezone=UTC, default_status=dg.DefaultScheduleStatus.RUNNING,
        description="15 January, 08:00 UTC: retention-policy review."),
)]

# Dagster's own wrappers around the exception user code raised; the class worth reporting is inside.
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError", "DagsterExecutionInterruptedError"}


def error_class(error: SerializableErrorInfo | None) -> str | None:
    """The class of the exception that caused a failure (the message is never read)."""
    while error is not None and error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    return error.cls_name if error is not None else None


def _partition(tags: dict[str, str]) -> str | None:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def failure_alert(context: dg.RunFailureSensorContext) -> alerts.RunFailureAlert:
    """What the alert says about the failed run: identifiers and class names, nothing from messages."""
    run = context.dagster_run
    steps = context.get_step_failure_events()
    classes = [error_class(e.event_specific_data.error) for e in steps]
    failure = context.failure_event.event_specific_data
    if not steps:
        classes.append(error_class(getattr(failure, "error", None)))
    reason = getattr(failure, "failure_reason", None)
    settings = load_settings()
    return alerts.RunFailureAlert(
        job=run.job_name, run_id=run.run_id, partition=_partition(dict(run.tags)),
        failed_steps=tuple(dict.fromkeys(e.step_key for e in steps if e.step_key)),
        error_classes=tuple(dict.fromkeys(c for c in classes if c)),
        failure_reason=reason.value if reason is not None else None,
        run_url=f"{settings.dagster_url.rstrip('/')}/runs/{run.run_id}", environment=settings.env,
    )


class AlertNotDelivered(HVError):
    """Neither the notification row nor the webhook took the alert; the sensor retries on its next tick."""


@dg.run_failure_sensor(
    name="run_failure_alerts",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every failed run of this code location: one system_notifications row (severity high) and a "
    "POST to HV_ALERT_WEBHOOK_URL when set, with job, partition, failed steps and error classes — never "
    "error messages, PHI or secrets.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext, db: Database) -> dg.SkipReason | None:
    alert = failure_alert(context)
    webhook = load_settings().alert_webhook_url
    delivery = alerts.deliver(db.url, webhook.get_secret_value() if webhook else None, alert)
    context.log.info(f"run {alert.run_id} of {alert.job}: notification {delivery.notification}, "
                     f"webhook {delivery.webhook}")
    if not delivery.delivered_anywhere:
        reason = migrations.behind(db.url) if delivery.notification.startswith("failed (Undefined") else None
        if reason:  # nowhere to keep it, and retrying cannot help until the first migrate_and_seed
            return dg.SkipReason(f"{reason}: the failure of run {alert.run_id} of {alert.job} was not recorded "
                                 "(no system_notifications table, and no HV_ALERT_WEBHOOK_URL took it)")
        raise AlertNotDelivered(f"alert for run {alert.run_id} not delivered (notification "
                                f"{delivery.notification}, webhook {delivery.webhook}): check DATABASE_URL and "
                                "HV_ALERT_WEBHOOK_URL; the sensor retries on its next tick")


def _executor() -> dg.ExecutorDefinition | None:
    """The Kubernetes step executor when deployed with HV_EXECUTOR=k8s; Dagster's default otherwise."""
    if os.environ.get("HV_EXECUTOR", "").lower() != "k8s":
        return None
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError:
        raise ConfigurationError("HV_EXECUTOR=k8s needs dagster-k8s in the image: install hv-pipelines[k8s]") from None
    return k8s_job_executor


defs = dg.Definitions(
    assets=[database_health, security_review_report, slow_query_review, retention_policy_review],
    jobs=[weekly_health_review, quarterly_slow_query_review, yearly_retention_review],
    schedules=schedules,
    sensors=[run_failure_alerts],
    executor=_executor(),
)
