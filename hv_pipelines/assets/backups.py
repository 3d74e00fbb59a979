"""Group `backups`: the nightly encrypted backup and the weekly proof that it restores.

`database_backup` (one partition per day) streams pg_dump through zstd and envelope encryption into
the object store, reads it back, seals the manifest, then applies grandfather-father-son retention.
`backup_restore_drill` restores the newest backup into a scratch database and checks it against the
manifest (row counts, schema catalog, Alembic revision): HIPAA 164.308(a)(7)(ii)(D) testing.
All decisions live in `core.backup`; these wrappers only turn results into metadata.
"""

import dagster as dg
from pydantic import Field

from hv_pipelines.assets import compute
from hv_pipelines.core import backup
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

OWNERS = ["team:data-platform"]

daily_backups = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC")


class BackupConfig(dg.Config):
    lock_days: int = Field(default=7, description="S3 Object Lock retention for new backups, in days (ignored "
                           "when the bucket has no Object Lock; 0 = none).")
    compression_level: int = Field(default=3, description="zstd level (1-19): higher is smaller and slower.")
    prune: bool = Field(default=True, description="Apply the retention policy after a successful backup.")
    keep_daily: int = Field(default=7, description="Days whose newest backup is kept.")
    keep_weekly: int = Field(default=4, description="ISO weeks whose newest backup is kept.")
    keep_monthly: int = Field(default=12, description="Months whose newest backup is kept.")


@dg.asset(
    group_name="backups",
    partitions_def=daily_backups,
    deps=["database_schema"],
    kinds={"postgres"},
    owners=OWNERS,
    tags={"hv/exclusive": "database"},
    op_tags=compute.BACKUP,
    description="Encrypted, verified pg_dump of the HoloVitals database for the day: AES-256-GCM (STREAM) "
    "under a per-backup data key wrapped by the master key, uploaded without a plaintext copy on disk, read "
    "back and sealed with a MAC'd manifest; then retention (7 daily, 4 weekly, 12 monthly by default).",
)
def database_backup(context: dg.AssetExecutionContext, config: BackupConfig, db: Database,
                    object_store: ObjectStoreResource, keys: KeyringResource) -> dg.MaterializeResult:
    store, keyring = object_store.open(), keys.keyring()
    result = backup.create_backup(db.url_for("backup"), store, keyring, partition=context.partition_key,
                                  lock_days=config.lock_days, compression_level=config.compression_level)
    manifest = result.manifest
    context.log.info(f"backup {manifest.backup_id}: {manifest.object_bytes} bytes, {len(manifest.table_rows)} "
                     f"tables, verified")
    if result.audit_entry_id is None:
        context.log.warning(f"{db.display_url} has no audit_logs table: this backup is not in the audit trail")
    metadata: dict[str, object] = {**result.as_metadata(), "location": dg.MetadataValue.path(result.location)}
    if config.prune:
        policy = backup.RetentionPolicy(config.keep_daily, config.keep_weekly, config.keep_monthly)
        pruned = backup.prune_backups(store, keyring, manifest.database, policy, audit_url=db.url_for("backup"))
        context.log.info(f"retention: kept {len(pruned.kept)}, deleted {len(pruned.deleted)} "
                         f"({', '.join(pruned.deleted) or 'none'}), locked {len(pruned.locked)}")
        if pruned.suspect:
            context.log.warning(f"backups failing authentication, left for review: {', '.join(pruned.suspect)}")
        metadata.update({f"retention_{k}": v for k, v in pruned.as_metadata().items()})
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    group_name="backups",
    deps=[database_backup],
    kinds={"postgres"},
    owners=OWNERS,
    op_tags=compute.BACKUP,
    check_specs=[dg.AssetCheckSpec("restore_matches_manifest", asset="backup_restore_drill", blocking=True,
                                   description="The restored scratch database has the manifest's row count "
                                   "in every table, the same schema catalog and the same Alembic revision.")],
    description="Weekly restore drill: the newest verified backup is restored into a scratch database on "
    "the same server, compared with its manifest, and the scratch database is dropped.",
)
def backup_restore_drill(context: dg.AssetExecutionContext, db: Database, object_store: ObjectStoreResource,
                         keys: KeyringResource) -> dg.MaterializeResult:
    drill = backup.run_restore_drill(db.url, object_store.open(), keys.keyring())
    context.log.info(f"drill of backup {drill.backup_id}: {'passed' if drill.passed else 'FAILED'} in "
                     f"{drill.restore.duration_s:.1f} s")
    mismatches = dg.MetadataValue.md("\n".join(f"- {m}" for m in drill.restore.mismatches) or "_none_")
    return dg.MaterializeResult(
        metadata={**drill.as_metadata(), "mismatch_list": mismatches},
        check_results=[dg.AssetCheckResult(check_name="restore_matches_manifest", passed=drill.passed,
                                           metadata={"backup_id": drill.backup_id, "mismatches": mismatches})],
    )
