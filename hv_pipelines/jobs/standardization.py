"""Standardization domain: the `standardize` job, its rerun sensor, and the coverage report's schedule.

Reruns are requested by a sensor, not an AutomationCondition: the inputs that change a result are
rows — a LOINC release, units, molar masses, a lab's reference ranges, local code mappings — and two
of them (`hv seed`, `hv standardize ranges load`) are written outside Dagster, so no materialization
event would ever tell an automation condition about them. The sensor compares a fingerprint of those
rows instead, which sees every way they change.
"""

import dagster as dg
import psycopg

from hv_pipelines.assets.ehr import ehr_connection_partitions
from hv_pipelines.assets.standardization import (
    lab_result_standardizations,
    standardization_assets,
    terminology_coverage,
)
from hv_pipelines.core.fhir_ingest.connections import list_connections
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.standardize import inputs_fingerprint
from hv_pipelines.jobs.schema import skips_until_migrated
from hv_pipelines.resources import Database

standardize = dg.define_asset_job(
    "standardize", selection=dg.AssetSelection.assets(lab_result_standardizations),
    partitions_def=ehr_connection_partitions,
    description="Standardize one EHR connection's lab results again (LOINC, UCUM, ranges, interpretation) "
    "and check its code coverage.",
)
terminology_coverage_report = dg.define_asset_job(
    "terminology_coverage_report", selection=dg.AssetSelection.assets(terminology_coverage),
    description="The coverage report across every EHR connection.",
)
daily_coverage_report = skips_until_migrated(dg.ScheduleDefinition(
    job=terminology_coverage_report, cron_schedule="30 5 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 05:30 UTC: terminology coverage across every connection (mapping rates over time)."))


@dg.sensor(job=standardize, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 10 minutes: when the LOINC terms, units, molar masses, reference ranges or code "
           "mappings changed (in Dagster or through hv), requests `standardize` for every EHR connection. With "
           "HV_ENV=production it only reports.")
def standardization_inputs_changed(context: dg.SensorEvaluationContext, db: Database) -> dg.SensorResult:
    try:
        fingerprint = inputs_fingerprint(db.url)
        with db.connect() as conn:
            connection_ids = [c.id for c in list_connections(conn)]
    except psycopg.errors.UndefinedTable:
        return dg.SensorResult(skip_reason="the database is not migrated yet: run migrate_and_seed")
    if context.cursor is None or context.cursor == fingerprint:
        return dg.SensorResult(skip_reason="the terminology and reference ranges have not changed",
                               cursor=fingerprint)
    known = set(context.instance.get_dynamic_partitions(ehr_connection_partitions.name))
    partitions = [c for c in connection_ids if c in known]
    if not partitions:
        return dg.SensorResult(skip_reason="inputs changed, but no EHR connection to standardize",
                               cursor=fingerprint)
    if load_settings().is_production:
        return dg.SensorResult(skip_reason=f"terminology or reference ranges changed: launch standardize for "
                               f"{len(partitions)} connection(s) from the UI", cursor=fingerprint)
    context.log.info(f"inputs changed: requesting standardize for {len(partitions)} connection(s)")
    return dg.SensorResult(cursor=fingerprint, run_requests=[
        dg.RunRequest(run_key=f"{fingerprint}:{p}", partition_key=p) for p in partitions])


defs = dg.Definitions(
    assets=standardization_assets,
    jobs=[standardize, terminology_coverage_report],
    schedules=[daily_coverage_report],
    sensors=[standardization_inputs_changed],
)
