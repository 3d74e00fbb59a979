"""EHR domain: the `ehr_sync` job over the connection partitions, and the sensor that starts due syncs.

Runs carry the tag `hv/ehr-provider`, so the run queue can cap concurrent syncs per EHR vendor
(dagster.yaml `tag_concurrency_limits` with `applyLimitPerUniqueValue`); the assets' pool
`ehr_bulk_data` caps concurrent bulk-data steps overall.
"""

import json
from datetime import UTC, datetime

import dagster as dg

from hv_pipelines.assets.ehr import ehr_assets, ehr_connection_partitions
from hv_pipelines.core.fhir_ingest.connections import due_connections, list_connections
from hv_pipelines.core.settings import load_settings
from hv_pipelines.jobs.schema import until_migrated
from hv_pipelines.resources import Database
from hv_pipelines.resources.ehr import EHRIngestResource

PROVIDER_TAG = "hv/ehr-provider"

ehr_sync = dg.define_asset_job(
    "ehr_sync",
    selection=dg.AssetSelection.groups("ehr") | dg.AssetSelection.assets("lab_result_standardizations"),
    partitions_def=ehr_connection_partitions,
    description="Sync one EHR connection: bulk export, ingest into fhir_resources, normalise into the "
    "customer repository, then standardize its lab results. Resumes an interrupted export instead of starting a new one.",
)


@dg.sensor(job=ehr_sync, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes: adds a partition per new EHR connection and requests ehr_sync for "
           "each auto-sync connection whose next_sync_at is due (a failed sync is requested again the next "
           "day). With HV_ENV=production it only reports, and an operator launches the runs.")
def ehr_connections_due(context: dg.SensorEvaluationContext, db: Database) -> dg.SensorResult | dg.SkipReason:
    return until_migrated(lambda: _due_syncs(context, db), db)


def _due_syncs(context: dg.SensorEvaluationContext, db: Database) -> dg.SensorResult:
    now = datetime.now(UTC).replace(tzinfo=None)
    with db.connect() as conn:
        known = {c.id for c in list_connections(conn)}
        due = due_connections(conn, now)
    partitions = set(context.instance.get_dynamic_partitions(ehr_connection_partitions.name))
    added = sorted(known - partitions)
    partition_requests = [ehr_connection_partitions.build_add_request(added)] if added else []
    requested: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    runs = []
    for connection_id, provider, next_sync_at in due:
        run_key = f"{connection_id}:{next_sync_at.isoformat() if next_sync_at else 'first'}:{now.date()}"
        if requested.get(connection_id) == run_key:
            continue
        requested[connection_id] = run_key
        runs.append(dg.RunRequest(run_key=run_key, partition_key=connection_id,
                                  tags={PROVIDER_TAG: provider, "hv/ehr-connection": connection_id}))
    cursor = json.dumps({k: v for k, v in requested.items() if k in known}, sort_keys=True)
    if not runs:
        return dg.SensorResult(skip_reason="no EHR connection is due", cursor=cursor,
                               dynamic_partitions_requests=partition_requests)
    if load_settings().is_production:
        due_ids = ", ".join(r.partition_key for r in runs)
        return dg.SensorResult(skip_reason=f"{len(runs)} EHR connection(s) due: {due_ids}. Production: "
                               "launch ehr_sync for them from the UI.", cursor=cursor,
                               dynamic_partitions_requests=partition_requests)
    context.log.info(f"requesting ehr_sync for {len(runs)} due connection(s)")
    return dg.SensorResult(run_requests=runs, cursor=cursor, dynamic_partitions_requests=partition_requests)


defs = dg.Definitions(
    assets=ehr_assets,
    jobs=[ehr_sync],
    sensors=[ehr_connections_due],
    resources={"ehr": EHRIngestResource()},
)
