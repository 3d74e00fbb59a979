"""Security domain: the posture review, weekly and after every migration.

The posture only reads, so it runs in every environment; in production its high findings are ERROR
checks (a red asset in the UI), elsewhere WARN.
"""

import dagster as dg

from hv_pipelines.assets.schema import database_schema
from hv_pipelines.assets.security import database_security_posture

security_posture_review = dg.define_asset_job(
    "security_posture_review",
    selection=dg.AssetSelection.assets(database_security_posture),
    description="The database's security posture: TLS, passwords, roles and grants, audit logging, backups.",
)

weekly_security_posture = dg.ScheduleDefinition(
    name="weekly_security_posture", job=security_posture_review, cron_schedule="30 6 * * 1",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 06:30 UTC: the security posture review.")


@dg.asset_sensor(asset_key=database_schema.key, job=security_posture_review,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="After each migration (a materialization of database_schema): review the posture, "
                 "since a revision may have created tables or changed grants.")
def posture_after_migration(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    return dg.RunRequest(run_key=f"posture-after-{asset_event.run_id}")


defs = dg.Definitions(
    assets=[database_security_posture],
    jobs=[security_posture_review],
    schedules=[weekly_security_posture],
    sensors=[posture_after_migration],
)
