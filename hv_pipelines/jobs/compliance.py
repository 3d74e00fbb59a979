"""Compliance domain: monthly audit-log archival (1st of the month, 03:00 UTC), archive purge, and the
months-ahead partitions of an (opt-in) partitioned audit_logs (20th, 02:00 UTC).

The archive schedule asks the database which months older than the AUDIT_LOGS policy's
`archiveAfterDays` still hold rows (a backlog, late rows of archived months) and requests one run
per month; the runs carry `hv/exclusive: database`, so the run coordinator serialises them with each
other and with migrations and backups (an advisory lock guards the chain as well). The purge
schedule ships stopped: turn it on once the `deleteAfterDays` in the policy is approved.
"""

from datetime import UTC, datetime

import dagster as dg

from hv_pipelines.assets.compliance import (
    archive_retention_purge,
    audit_log_archive,
    audit_log_months,
    audit_log_partitions,
)
from hv_pipelines.core import archival
from hv_pipelines.jobs.schema import skips_until_migrated, until_migrated
from hv_pipelines.resources import Database

monthly_audit_archive = dg.define_asset_job(
    "monthly_audit_archive",
    selection=[audit_log_archive],
    partitions_def=audit_log_months,
    description="Archive one month of audit_logs: encrypted Parquet, hash-chained manifest, verified, then "
    "deleted from the hot table.",
    tags={"hv/exclusive": "database"},
)

audit_log_partitions_ahead = dg.define_asset_job(
    "audit_log_partitions_ahead",
    selection=[audit_log_partitions],
    description="Partitioned audit_logs (opt-in) only: create the partitions of this month and the next three.",
    tags={"hv/exclusive": "database"},
)

audit_archive_purge = dg.define_asset_job(
    "audit_archive_purge",
    selection=[archive_retention_purge],
    description="Delete archives past the AUDIT_LOGS policy's deleteAfterDays where Object Lock allows.",
    tags={"hv/exclusive": "database"},
)


@dg.schedule(
    job=monthly_audit_archive,
    cron_schedule="0 3 1 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="1st of the month, 03:00 UTC: archive every month older than archiveAfterDays that still "
    "holds rows in audit_logs.",
)
def monthly_audit_archive_schedule(context: dg.ScheduleEvaluationContext, db: Database):
    return until_migrated(lambda: _months_to_archive(context, db), db)


def _months_to_archive(context: dg.ScheduleEvaluationContext, db: Database):
    now = context.scheduled_execution_time or datetime.now(UTC)
    with db.connect() as conn:
        due = archival.months_due(conn, now)
    first = archival.Month.parse(audit_log_months.start.strftime("%Y-%m"))
    too_old = [m.label for m in due if m < first]
    if too_old:
        context.log.warning(f"{len(too_old)} month(s) before {first} hold rows ({too_old[0]}..{too_old[-1]}): "
                            "archive them with `hv audit archive --month YYYY-MM`")
    requests = [dg.RunRequest(partition_key=m.partition_key, run_key=f"audit-archive-{m.label}-{now:%Y-%m}")
                for m in due if m >= first]
    return requests or dg.SkipReason(f"no month older than the policy's archiveAfterDays holds rows ({now:%Y-%m-%d})")


audit_archive_purge_schedule = skips_until_migrated(dg.ScheduleDefinition(
    name="audit_archive_purge_schedule",
    job=audit_archive_purge,
    cron_schedule="0 5 1 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="1st of the month, 05:00 UTC: purge archives past deleteAfterDays (ships stopped).",
))

audit_log_partitions_schedule = skips_until_migrated(dg.ScheduleDefinition(
    name="audit_log_partitions_schedule",
    job=audit_log_partitions_ahead,
    cron_schedule="0 2 20 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="20th of the month, 02:00 UTC: the next months' audit_logs partitions exist before their rows "
    "arrive (a no-op unless audit_logs is partitioned).",
))

defs = dg.Definitions(
    assets=[audit_log_archive, audit_log_partitions, archive_retention_purge],
    jobs=[monthly_audit_archive, audit_log_partitions_ahead, audit_archive_purge],
    schedules=[monthly_audit_archive_schedule, audit_log_partitions_schedule, audit_archive_purge_schedule],
)
