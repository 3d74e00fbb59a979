"""Terminology domain: the reference_load job and the sensor watching the landing location."""


import json

import dagster as dg

from hv_pipelines.assets.terminology import ReleaseConfig, terminology_assets
from hv_pipelines.core import migrations
from hv_pipelines.core.errors import DatabaseUnreachable
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.terminology import code_system
from hv_pipelines.core.terminology.landing import Landing
from hv_pipelines.resources import Database

reference_load = dg.define_asset_job(
    "reference_load",
    selection=dg.AssetSelection.groups("terminology"),
    description="Load reference terminology releases (LOINC, SNOMED CT, RxNorm, ICD-10-CM, CPT) from "
    "HV_TERMINOLOGY_LANDING or the paths given in run config.",
)


@dg.sensor(job=reference_load, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes: is there a new release on HV_TERMINOLOGY_LANDING? It recognises the "
           "code system and version by the publisher's file name and requests that asset's run; with "
           "HV_ENV=production it only reports, and an operator launches the run.")
def terminology_release_sensor(context: dg.SensorEvaluationContext, db: Database) -> dg.SensorResult | dg.SkipReason:
    settings = load_settings()
    if not settings.terminology_landing:
        return dg.SkipReason("HV_TERMINOLOGY_LANDING is not set: nothing to watch")
    landing = Landing.open(settings.terminology_landing, endpoint_url=settings.s3_endpoint_url)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    new = []
    for release in landing.releases():
        if seen.get(release.entry) == release.fingerprint or not release.settled:
            continue
        if release.system is None or release.version is None:
            context.log.warning(f"{release.entry}: not recognised as a release with a version in its name; "
                                "load it with `hv terminology load SYSTEM PATH --version V`")
            continue
        new.append(release)
    cursor = json.dumps({**seen, **{r.entry: r.fingerprint for r in new}}, sort_keys=True)
    if not new:
        return dg.SensorResult(skip_reason="no new release on the landing location", cursor=cursor)
    summary = ", ".join(f"{code_system(r.system).title} {r.version} ({r.entry})" for r in new)
    # Before the first migration a load would fail, and the cursor would pass the release for good:
    # the new releases wait, unseen, until the database can take them.
    try:
        behind = migrations.behind(db.url)
    except DatabaseUnreachable as exc:
        behind = str(exc)
    if behind:
        return dg.SkipReason(f"{behind}; new release(s) waiting: {summary}")
    if settings.is_production:
        return dg.SensorResult(skip_reason=f"new release(s): {summary}. Production: launch reference_load "
                               "from the UI after review.", cursor=cursor)
    context.log.info(f"requesting loads of {summary}")
    requests = [
        dg.RunRequest(
            run_key=f"{r.system}:{r.version}:{r.fingerprint}",
            asset_selection=[dg.AssetKey(code_system(r.system).asset)],
            run_config=dg.RunConfig(ops={code_system(r.system).asset: ReleaseConfig(release=r.entry)}),
            tags={"hv/terminology": r.system, "hv/release": r.version},
        )
        for r in new
    ]
    return dg.SensorResult(run_requests=requests, cursor=cursor)


defs = dg.Definitions(
    assets=terminology_assets,
    jobs=[reference_load],
    sensors=[terminology_release_sensor],
)
