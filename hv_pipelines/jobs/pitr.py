"""Point-in-time recovery: the weekly base backup (Saturday 03:00 UTC), the weekly PITR drill
(Sunday 05:00 UTC) and the WAL archive's health every 15 minutes. The crons are `HV_BASE_BACKUP_CRON`,
`HV_PITR_DRILL_CRON` and `HV_WAL_HEALTH_CRON`."""

import dagster as dg

from hv_pipelines.assets.pitr import base_backup, pitr_drill, wal_archive_healthy

weekly_base_backup = dg.define_asset_job(
    "weekly_base_backup", selection=dg.AssetSelection.assets(base_backup),
    description="Physical base backup into the object store, then PITR retention.")
weekly_pitr_drill = dg.define_asset_job(
    "weekly_pitr_drill", selection=dg.AssetSelection.assets(pitr_drill),
    description="Restore to a second between two markers in a scratch cluster and prove it.")
wal_archive_health = dg.define_asset_job(
    "wal_archive_health", selection=dg.AssetSelection.checks(wal_archive_healthy),
    description="Is the WAL archive alive, whole and usable (the RPO now)?")


def _schedule(job, variable: str, cron: str, description: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name=f"{job.name}_schedule", job=job,
                                 cron_schedule=dg.EnvVar(variable).get_value(cron), execution_timezone="UTC",
                                 default_status=dg.DefaultScheduleStatus.RUNNING, description=description)


defs = dg.Definitions(
    assets=[base_backup, pitr_drill],
    asset_checks=[wal_archive_healthy],
    jobs=[weekly_base_backup, weekly_pitr_drill, wal_archive_health],
    schedules=[_schedule(weekly_base_backup, "HV_BASE_BACKUP_CRON", "0 3 * * 6", "Every week: a base backup."),
               _schedule(weekly_pitr_drill, "HV_PITR_DRILL_CRON", "0 5 * * 0", "Every week: prove PITR."),
               _schedule(wal_archive_health, "HV_WAL_HEALTH_CRON", "*/15 * * * *",
                         "Every 15 minutes: the WAL archive's health.")],
)
