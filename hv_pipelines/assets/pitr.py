"""Group `backups` (point-in-time recovery): the weekly base backup, the WAL archive's health, the drill.

PostgreSQL itself archives every WAL segment (`archive_command = hv wal push ...`), outside Dagster.
Here: `base_backup` (weekly) gives recovery a starting point and prunes what the recovery window no
longer needs; the check `wal_archive_healthy` on it says whether the archive is alive (the newest
segment's age is the RPO right now), whole (no gap) and usable (a base backup exists), and raises an
alert when it is not; `pitr_drill` (weekly) restores to a chosen second in a scratch cluster and its
blocking check `pitr_reaches_target` proves the first marker is there and the second is not. All
decisions live in `core.pitr`.
"""

import dagster as dg
from pydantic import Field

from hv_pipelines.assets import compute
from hv_pipelines.core import alerts
from hv_pipelines.core.pitr import basebackup, drill, verify
from hv_pipelines.core.pitr import prune as pitr_prune
from hv_pipelines.core.pitr.envfile import restore_env
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.units import human_size
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

OWNERS = ["team:data-platform"]
# An idle server closes a segment every archive_timeout (60 s in the embedded default).
DEFAULT_MAX_SEGMENT_AGE_S = 900


class BaseBackupConfig(dg.Config):
    compression_level: int = Field(default=basebackup.DEFAULT_LEVEL, description="zstd level (1-19) of the base backup.")
    prune: bool = Field(default=True, description="Delete base backups and WAL the recovery window no longer needs.")
    recovery_window_days: int = Field(default=pitr_prune.DEFAULT_RECOVERY_WINDOW_DAYS,
                                      description="Days any second of which must stay recoverable.")


@dg.asset(
    group_name="backups",
    kinds={"postgres"},
    owners=OWNERS,
    tags={"hv/exclusive": "database"},
    op_tags=compute.BACKUP,
    description="Weekly physical base backup (pg_basebackup tar → zstd → AES-256-GCM envelope → object store, "
    "no plaintext on disk; the backup_manifest kept for pg_verifybackup). With the continuous WAL archive "
    "(`hv wal push` as archive_command) it lets `hv pitr restore` recover any second of the window.",
)
def base_backup(context: dg.AssetExecutionContext, config: BaseBackupConfig, db: Database,
                object_store: ObjectStoreResource, keys: KeyringResource) -> dg.MaterializeResult:
    store, keyring = object_store.open(), keys.keyring()
    b = basebackup.take_base_backup(db.url_for("backup"), store, keyring, level=config.compression_level)
    context.log.info(f"base backup {b.backup_id}: {human_size(b.object_bytes)}, {b.start_lsn} .. {b.stop_lsn} "
                     f"on timeline {b.timeline}")
    metadata: dict[str, object] = {
        "backup_id": b.backup_id, "system_identifier": b.system_identifier, "object_key": b.object_key,
        "location": dg.MetadataValue.path(store.location(b.object_key)), "bytes": b.object_bytes,
        "tar_bytes": b.tar_bytes, "compression_ratio": round(b.tar_bytes / b.object_bytes, 2) if b.object_bytes else 0,
        "duration_s": b.durations["total_s"],
        "throughput_mb_s": round(b.tar_bytes / 1e6 / b.durations["total_s"], 1) if b.durations["total_s"] else 0.0,
        "sha256": b.object_sha256, "manifest_sha256": b.manifest_sha256, "key_id": b.key_id,
        "timeline": b.timeline, "start_lsn": b.start_lsn, "stop_lsn": b.stop_lsn, "start_wal": b.start_wal,
        "server_version": b.server_version, "pg_basebackup_version": b.pg_basebackup_version,
    }
    if config.prune:
        pruned = pitr_prune.prune(store, keyring, recovery_window_days=config.recovery_window_days,
                             system_identifier=b.system_identifier)
        context.log.info(f"PITR retention: kept {len(pruned.kept_backups)} base backup(s), deleted "
                         f"{len(pruned.deleted_backups)} and {len(pruned.deleted_wal)} WAL object(s), "
                         f"{len(pruned.locked)} locked, {len(pruned.failed)} refused by the store")
        metadata.update({"retention_kept_backups": len(pruned.kept_backups),
                         "retention_deleted_backups": len(pruned.deleted_backups),
                         "retention_deleted_wal": len(pruned.deleted_wal), "retention_locked": len(pruned.locked),
                         "retention_refused": len(pruned.failed)})
    return dg.MaterializeResult(metadata=metadata)


class ArchiveHealthConfig(dg.Config):
    max_segment_age_s: int = Field(default=DEFAULT_MAX_SEGMENT_AGE_S, description="The newest archived segment "
                                   "may be this old before the archive counts as stopped (the RPO limit).")


@dg.asset_check(asset=base_backup, name="wal_archive_healthy", blocking=False,
                description="The WAL archive is alive (newest segment younger than the limit: the RPO now), "
                "whole (no gap from the oldest base backup on) and usable (a base backup exists). A failure "
                "raises an alert (system_notifications and the webhook).")
def wal_archive_healthy(context: dg.AssetCheckExecutionContext, config: ArchiveHealthConfig, db: Database,
                        object_store: ObjectStoreResource, keys: KeyringResource) -> dg.AssetCheckResult:
    health = verify.archive_health(object_store.open(), keys.keyring(), max_segment_age_s=config.max_segment_age_s)
    state = health.status.as_dict()
    metadata = {"last_segment_age_s": state["last_segment_age_s"] if state["last_segment_age_s"] is not None
                else -1.0, "last_archived_segment": state["last_archived_segment"] or "none",
                "window_earliest": state["window"]["earliest"] or "none",
                "window_latest": state["window"]["latest"] or "none", "gap": state["gap"] or "none",
                "base_backups": len(state["base_backups"]),
                "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in health.reasons) or "_healthy_")}
    if not health.healthy:
        _alert(context, db, health.reasons)
    return dg.AssetCheckResult(passed=health.healthy, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)


def _alert(context: dg.AssetCheckExecutionContext, db: Database, reasons: list[str]) -> None:
    """The WAL archive alert (system_notifications and the webhook): the run itself succeeds, the check ran."""
    settings = load_settings()
    run = context.run
    alert = alerts.WalArchiveAlert(run_id=run.run_id, reasons=tuple(reasons),
                                   run_url=f"{settings.dagster_url.rstrip('/')}/runs/{run.run_id}",
                                   environment=settings.env)
    webhook = settings.alert_webhook_url
    delivery = alerts.deliver(db.url, webhook.get_secret_value() if webhook else None, alert)
    context.log.warning(f"WAL archive unhealthy: notification {delivery.notification}, webhook {delivery.webhook}")


@dg.asset(
    group_name="backups",
    deps=[base_backup],
    kinds={"postgres"},
    owners=OWNERS,
    tags={"hv/exclusive": "database"},
    op_tags=compute.BACKUP,
    check_specs=[dg.AssetCheckSpec("pitr_reaches_target", asset="pitr_drill", blocking=True,
                                   description="Restored to a second between two markers, the scratch cluster "
                                   "has the first marker and not the second.")],
    description="Weekly PITR drill: two markers a second apart, a WAL switch, a restore of the newest base "
    "backup plus archived WAL into a scratch data directory and port at the second between them; reports "
    "the RTO (restore time) and the newest restorable point's age, then removes the scratch cluster.",
)
def pitr_drill(context: dg.AssetExecutionContext, db: Database, object_store: ObjectStoreResource,
               keys: KeyringResource) -> dg.MaterializeResult:
    env = restore_env(HV_OBJECT_STORE_URL=object_store.url, HV_S3_ENDPOINT_URL=object_store.endpoint_url,
                      HV_S3_SSE=object_store.sse, ENCRYPTION_KEY=keys.encryption_key,
                      HV_KMS_KEY_ID=keys.kms_key_id)
    result = drill.run_pitr_drill(db.url_for("backup"), object_store.open(), keys.keyring(), env)
    context.log.info(f"PITR drill to {result.target.isoformat()}: {'passed' if result.passed else 'FAILED'}, "
                     f"RTO {result.rto_s:.1f}s")
    return dg.MaterializeResult(
        metadata=result.as_metadata(),
        check_results=[dg.AssetCheckResult(check_name="pitr_reaches_target", passed=result.passed,
                                           metadata={"first_marker_present": result.first_marker_present,
                                                     "second_marker_absent": result.second_marker_absent,
                                                     "target": result.target.isoformat()})],
    )
