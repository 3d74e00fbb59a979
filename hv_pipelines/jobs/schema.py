"""Schema domain: the migrate-and-seed job, the sensor that notices pending migrations or drift, and
the guards other domains' sensors and schedules use to skip, saying to run migrate_and_seed, while the
database is behind its migrations (a fresh `make dev` before its first migration)."""


import hashlib
from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from hv_pipelines.assets.schema import database_schema, no_pending_migrations, schema_matches_models
from hv_pipelines.core import migrations
from hv_pipelines.core.errors import DatabaseUnreachable
from hv_pipelines.core.settings import load_settings
from hv_pipelines.resources import Database

Evaluation = TypeVar("Evaluation")


def until_migrated(evaluate: Callable[[], Evaluation], db: Database) -> Evaluation | dg.SkipReason:
    """`evaluate()` for a sensor or schedule that reads the application's tables; when a table or column
    it reads is missing because the database is behind its migrations (a fresh database before the
    first migrate_and_seed), a skip that says to run it instead of an error tick with a traceback."""
    try:
        return evaluate()
    except migrations.MISSING_SCHEMA:
        reason = migrations.behind(db.url)
        if reason is None:
            raise
        return dg.SkipReason(reason)


def skips_until_migrated(schedule: dg.ScheduleDefinition) -> dg.ScheduleDefinition:
    """`schedule` (same name, job, cron and status), skipping its ticks while the database is behind its
    migrations instead of launching runs that would fail on the missing tables. An unreachable
    database launches the run as before: it fails, and run_failure_alerts reports it."""

    @dg.schedule(name=schedule.name, job=schedule.job, cron_schedule=schedule.cron_schedule,
                 execution_timezone=schedule.execution_timezone, default_status=schedule.default_status,
                 description=schedule.description)
    def guarded(context: dg.ScheduleEvaluationContext, db: Database):
        try:
            reason = migrations.behind(db.url)
        except DatabaseUnreachable:
            reason = None
        if reason:
            return dg.SkipReason(reason)
        tick = schedule.evaluate_tick(context)
        return tick.run_requests or dg.SkipReason(tick.skip_message)

    return guarded


migrate_and_seed = dg.define_asset_job(
    "migrate_and_seed",
    selection=dg.AssetSelection.groups("schema", "seed"),
    description="Upgrade the database to the head revision, then apply the declarative seed data "
    "(roles, permissions, retention policies, security configuration).",
    tags={"hv/exclusive": "database"},
    # The steps run one after another anyway; one process saves a Python start-up per step.
    executor_def=dg.in_process_executor,
)


@dg.sensor(job=migrate_and_seed, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes: are there pending migrations or schema drift? In development it "
           "launches migrate_and_seed; with HV_ENV=production it only reports, and an operator launches the "
           "run from the UI.")
def schema_sensor(context: dg.SensorEvaluationContext, db: Database):
    st = migrations.status(db.url_for("migrations"))
    if st.up_to_date and st.current is not None:
        return dg.SkipReason(f"at {st.current}: no pending migrations, no drift")
    summary = (f"{len(st.pending)} pending migration(s) ({', '.join(st.pending) or '-'}); "
               f"drift: {'yes, ' + str(len(st.drift)) + ' difference(s)' if st.drift else 'no'}")
    if load_settings().is_production:
        return dg.SkipReason(f"{summary}. Production: launch migrate_and_seed from the UI after review.")
    state = hashlib.sha256("|".join([st.current or "", *st.pending, *st.drift]).encode()).hexdigest()[:16]
    context.log.info(summary)
    return dg.RunRequest(run_key=f"schema-{state}", tags={"hv/reason": "pending-migrations-or-drift"})


defs = dg.Definitions(
    assets=[database_schema],
    asset_checks=[schema_matches_models, no_pending_migrations],
    jobs=[migrate_and_seed],
    sensors=[schema_sensor],
)
