"""Backups domain: the nightly backup (02:00 UTC) and the weekly restore drill (Sunday 04:00 UTC).

The backup time is `HV_BACKUP_TIME` (`HH:MM`, UTC, like the daily partitions) and the drill's a cron
expression in `HV_RESTORE_DRILL_CRON`, when set. Both runs carry `hv/exclusive: database`, so the
run coordinator never overlaps them with a migration (or each other): a drill restores into a scratch
database on the same server, and a migration running meanwhile would make it compare a moving target.
"""

import dagster as dg

from hv_pipelines.assets.backups import backup_restore_drill, daily_backups, database_backup
from hv_pipelines.jobs.schema import skips_until_migrated

nightly_backup = dg.define_asset_job(
    "nightly_backup",
    selection=[database_backup],
    partitions_def=daily_backups,
    description="Encrypted backup of the database into the object store, verified, then retention.",
    tags={"hv/exclusive": "database"},
)

restore_drill = dg.define_asset_job(
    "restore_drill",
    selection=[backup_restore_drill],
    description="Restore the newest backup into a scratch database and compare it with its manifest.",
    tags={"hv/exclusive": "database"},
)

_backup_hour, _backup_minute = (int(part) for part in dg.EnvVar("HV_BACKUP_TIME").get_value("02:00").split(":"))

nightly_backup_schedule = skips_until_migrated(dg.build_schedule_from_partitioned_job(
    nightly_backup,
    name="nightly_backup_schedule",
    hour_of_day=_backup_hour,
    minute_of_hour=_backup_minute,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night: back up the previous day's partition.",
))

restore_drill_schedule = skips_until_migrated(dg.ScheduleDefinition(
    name="restore_drill_schedule",
    job=restore_drill,
    cron_schedule=dg.EnvVar("HV_RESTORE_DRILL_CRON").get_value("0 4 * * 0"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every week: prove the newest backup restores.",
))

defs = dg.Definitions(
    assets=[database_backup, backup_restore_drill],
    jobs=[nightly_backup, restore_drill],
    schedules=[nightly_backup_schedule, restore_drill_schedule],
)
