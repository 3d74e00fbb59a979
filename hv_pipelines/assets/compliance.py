"""Group `compliance`: HIPAA audit-log archival and the purge of archives past retention.

`audit_log_archive` is partitioned by calendar month (UTC) of `audit_logs.timestamp`; materialising
a partition archives the rows that month still holds — the first time the whole month, later only
rows written late (a supplementary archive), and nothing once it is empty. All decisions live in
`core.archival`; these wrappers turn its results into metadata.
"""

import dagster as dg
from pydantic import Field

from hv_pipelines.core import archival
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

OWNERS = ["team:data-platform"]
ARCHIVE_START = "2015-01-01"  # earlier months are archived with `hv audit archive --month`

audit_log_months = dg.MonthlyPartitionsDefinition(start_date=ARCHIVE_START, timezone="UTC")


class ArchiveConfig(dg.Config):
    index_cleanup: bool = Field(
        default=False,
        description="Also remove the deleted rows' index entries in the run's VACUUM: a full pass over every "
        "index of audit_logs (at 10M rows it takes longer than the rest of the run). Off, the heap space and "
        "statistics are reclaimed now and autovacuum removes the index entries later, throttled.")


def _keys(keys: list[str]) -> dg.MarkdownMetadataValue:
    return dg.MetadataValue.md("\n".join(f"- `{key}`" for key in keys) or "_none_")


@dg.asset(
    group_name="compliance",
    kinds={"postgres", "parquet"},
    owners=OWNERS,
    deps=["database_schema"],
    partitions_def=audit_log_months,
    description="One month of audit_logs moved to the object store: Parquet (zstd), envelope-encrypted, "
    "Object Lock retention until month end + retentionPeriodDays, a manifest in the tamper-evident hash "
    "chain, read back and re-hashed, and only then recorded in audit_log_archives and deleted from "
    "audit_logs in one transaction. Re-running a finished month is a no-op; late rows become a "
    "supplementary archive.",
)
def audit_log_archive(context: dg.AssetExecutionContext, config: ArchiveConfig, db: Database,
                      object_store: ObjectStoreResource, keys: KeyringResource) -> dg.MaterializeResult:
    month = archival.Month.parse(context.partition_key)
    result = archival.archive_month(db.url_for("archival"), object_store.open(), keys.keyring(), month,
                                    options=archival.ArchiveOptions(index_cleanup=config.index_cleanup))
    context.log.info(result.summary())
    for note in result.notes:
        context.log.warning(note)
    return dg.MaterializeResult(metadata={**result.as_metadata(), "object_keys": _keys(result.part_keys)})


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=OWNERS,
    deps=["database_schema"],
    description="When audit_logs is partitioned by month (opt-in: `hv db audit-partitions enable`), the "
    "partitions of this month and the next three exist, so a month's rows never land in the default partition "
    "and its archive can drop the month whole. A no-op on the default, unpartitioned table.",
)
def audit_log_partitions(context: dg.AssetExecutionContext, db: Database) -> dg.MaterializeResult:
    created = archival.ensure_partitions_ahead(db.url_for("archival"))
    if created is None:
        context.log.info("audit_logs is not partitioned (the default): nothing to do")
    else:
        context.log.info(f"created {created} audit_logs partition(s)")
    return dg.MaterializeResult(metadata={"partitioned": created is not None, "partitions_created": created or 0})


@dg.asset(
    group_name="compliance",
    kinds={"postgres"},
    owners=OWNERS,
    deps=["database_schema", audit_log_archive],
    description="Deletes audit-log archives whose month ended more than the AUDIT_LOGS policy's "
    "deleteAfterDays ago, unless Object Lock (or the retention their manifest recorded) still holds "
    "them; each purge leaves a sealed tombstone, removes its audit_log_archives rows and writes an "
    "audit_logs entry. Manifests are kept, so the hash chain stays verifiable.",
)
def archive_retention_purge(context: dg.AssetExecutionContext, db: Database, object_store: ObjectStoreResource,
                            keys: KeyringResource) -> dg.MaterializeResult:
    result = archival.purge_expired(db.url_for("archival"), object_store.open(), keys.keyring())
    context.log.info(result.summary())
    for problem in result.skipped:
        context.log.warning(f"not purged: {problem}")
    return dg.MaterializeResult(metadata={
        "archives_purged": len(result.purged),
        "rows_purged": result.rows,
        "bytes_purged": result.bytes,
        "still_locked": len(result.locked),
        "skipped_unverifiable": len(result.skipped),
        "purged_manifests": _keys(result.purged),
        "locked_until": dg.MetadataValue.md("\n".join(f"- `{key}` until {until:%Y-%m-%d}"
                                                      for key, until in result.locked) or "_none_"),
        "duration_seconds": round(result.seconds, 3),
    })
