"""Group `terminology`: LOINC, SNOMED CT, RxNorm, ICD-10-CM and CPT, one asset per code system.

Each asset loads one release (the newest on the landing location, or the one its run config
names) through `core.terminology.load_release`: stage, blocking checks, one-transaction merge.
The checks run before the merge, inside the load, so a failing release never replaces the loaded
one; their results are reported as this asset's (blocking) checks either way.
"""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from hv_pipelines.assets import compute
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.terminology import SYSTEMS, ReleaseCheckError, code_system, load_release
from hv_pipelines.core.terminology.checks import CheckResult
from hv_pipelines.core.terminology.landing import Landing
from hv_pipelines.core.terminology.loader import DEFAULT_COUNT_BAND, DEFAULT_MAX_REJECT_SHARE, LoadResult
from hv_pipelines.resources import Database, ObjectStoreResource

OWNERS = ["team:data-platform"]


class ReleaseConfig(dg.Config):
    release: str = Field(default="", description="A landing-location entry (as the sensor requests it) or a "
                         "local path to the release zip/folder/file; empty: the newest release of this code "
                         "system on HV_TERMINOLOGY_LANDING.")
    version: str = Field(default="", description="The release version, when its name does not carry it.")
    force: bool = Field(default=False, description="Load even when the release is older than the loaded one.")
    count_band: float = Field(default=DEFAULT_COUNT_BAND, description="Allowed change in row count against the "
                              "previous release, as a fraction (0.1 = ±10%).")
    max_reject_share: float = Field(default=DEFAULT_MAX_REJECT_SHARE, description="Largest share of the "
                                    "release's lines that may be rejected (10 lines always may); more fails the "
                                    "load as a whole, nothing merged.")


@contextmanager
def _release_paths(system: str, release: str) -> Iterator[list[Path]]:
    if release and Path(release).exists():
        yield [Path(release)]
        return
    settings = load_settings()
    landing = Landing.open(settings.terminology_landing, endpoint_url=settings.s3_endpoint_url)
    entry = release or landing.newest(system).entry
    with landing.fetch(entry) as path:
        yield [path]


def _check_result(asset: str, check: CheckResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=asset, check_name=check.name, passed=check.passed,
                               severity=dg.AssetCheckSeverity.ERROR, description=check.description,
                               metadata={k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
                                         for k, v in check.metadata.items() if v is not None})


def _metadata(result: LoadResult) -> dict[str, object]:
    return {"dagster/row_count": result.rows_staged,
            **{k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in result.as_metadata().items()}}


def _terminology_asset(system: str) -> dg.AssetsDefinition:
    spec = code_system(system)

    @dg.asset(
        name=spec.asset,
        group_name="terminology",
        kinds={"postgres"},
        owners=OWNERS,
        deps=["database_schema"],
        op_tags=compute.TERMINOLOGY_LOAD,
        description=f'{spec.title} codes in "{spec.target.table}" from the publisher\'s release: staged with COPY, '
        "checked, then merged in one transaction (new codes inserted, changed ones updated, missing ones marked "
        f"{spec.target.retired_status}).",
        check_specs=[dg.AssetCheckSpec(name, asset=spec.asset, blocking=True) for name in spec.check_names],
    )
    def _asset(context: dg.AssetExecutionContext, config: ReleaseConfig, db: Database,
               object_store: ObjectStoreResource):
        with _release_paths(system, config.release) as paths:
            try:
                result = load_release(db.url_for("terminology"), system, paths, version=config.version or None,
                                      store=object_store.open(), force=config.force, count_band=config.count_band,
                                      max_reject_share=config.max_reject_share)
            except ReleaseCheckError as failure:
                for check in failure.checks:
                    yield _check_result(spec.asset, check)
                raise dg.Failure(description=str(failure), allow_retries=False) from None
        context.log.info(f"{spec.title} {result.version}: {result.counts.as_dict()}, "
                         f"{result.rejects['count']} rejected, {result.rows_per_second:,.0f} rows/s")
        for note in result.notes:
            context.log.warning(note)
        yield dg.MaterializeResult(metadata=_metadata(result),
                                   check_results=[_check_result(spec.asset, c) for c in result.checks])

    return _asset


terminology_assets = [_terminology_asset(system) for system in SYSTEMS]
