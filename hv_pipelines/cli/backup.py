"""`hv backup`: encrypted backups — create, list, verify, restore, drill, prune.

The database is `DATABASE_URL`, the store `HV_OBJECT_STORE_URL` (s3://bucket/prefix or a directory),
the master key `ENCRYPTION_KEY` (old backups also open with `HV_ENCRYPTION_KEYS_RETIRED`). `list`,
`verify` and `restore` need no `DATABASE_URL`: after a disaster, the store and the key are enough.
"""

from __future__ import annotations

import click

from hv_pipelines.cli.common import keyring_from, store_from
from hv_pipelines.core import backup, db
from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.settings import load_settings, mask_url
from hv_pipelines.core.units import human_size


@click.group(name="backup")
def command() -> None:
    """Encrypted backups: create, list, verify, restore, drill, prune."""


@command.command()
@click.option("--lock-days", default=backup.DEFAULT_LOCK_DAYS, show_default=True,
              help="S3 Object Lock retention for this backup (when the bucket has Object Lock).")
@click.option("--level", "compression_level", default=backup.DEFAULT_COMPRESSION_LEVEL, show_default=True,
              type=click.IntRange(1, 19), help="zstd compression level.")
def create(lock_days: int, compression_level: int) -> None:
    """Back up DATABASE_URL into the object store, verify it, and seal its manifest."""
    settings = load_settings()
    result = backup.create_backup(settings.database_url_for("backup"), store_from(settings), keyring_from(settings),
                                  lock_days=lock_days, compression_level=compression_level)
    m = result.manifest
    click.echo(f"backup {m.backup_id}: {human_size(m.object_bytes)} ({human_size(m.dump_bytes)} dump), "
               f"{len(m.table_rows)} tables, {m.total_rows} rows, {m.durations['total_s']:.1f}s, verified")
    click.echo(f"  {result.location}")
    click.echo(f"  sha256 {m.object_sha256}  key {m.key_id}")


@command.command(name="list")
@click.option("--database", help="Only backups of this database.")
@click.option("--deep", is_flag=True, help="Also read every object back and check it against its manifest "
              "(as `verify` does): slow, proportional to the stored size.")
def list_(database: str | None, deep: bool) -> None:
    """List backups in the object store, oldest first, with their state.

    Without --deep the state comes from the manifests alone (authentic, bound to their backup, dump
    object present); the objects themselves are not read.
    """
    settings = load_settings()
    store, keyring = store_from(settings), keyring_from(settings)
    entries = backup.list_backups(store, keyring, database)
    physical = _base_backups(store, keyring)
    if not entries and not physical:
        click.echo("no backups")
        return
    _echo_base_backups(physical)
    if not entries:
        return
    click.echo("STATE read the objects back (--deep)" if deep else
               "STATE from the manifests only; the objects were not read (--deep reads them)")
    click.echo(f"{'BACKUP ID':<26} {'DATABASE':<20} {'SIZE':>10} {'TABLES':>6} {'ROWS':>10}  {'KEY':<21} STATE")
    for e in entries:
        m = e.manifest
        size = human_size(m.object_bytes if m else (e.dump.size if e.dump else 0))
        tables, rows = (len(m.table_rows), m.total_rows) if m else ("-", "-")
        state = ("verified" if not deep else _deep_state(store, keyring, m)) if e.counts else f"{e.status}: {e.problem}"
        click.echo(f"{e.backup_id:<26} {e.database:<20} {size:>10} {tables:>6} {rows:>10}  "
                   f"{m.key_id if m else '-':<21} {state}")


def _base_backups(store, keyring) -> list:
    """PITR base backups of every cluster in the store (physical: any second of the window, `hv pitr`)."""
    from hv_pipelines.core.pitr.inventory import read_state, systems

    return [b for system in systems(store) for b in read_state(store, keyring, system).backups]


def _echo_base_backups(physical: list) -> None:
    if not physical:
        return
    click.echo("PHYSICAL base backups (point-in-time recovery with the WAL archive: `hv pitr status`, "
               "`hv pitr restore`)")
    click.echo(f"{'BACKUP ID':<26} {'CLUSTER':<20} {'SIZE':>10} {'TIMELINE':>8}  {'START LSN':<14} STOP LSN")
    for b in physical:
        click.echo(f"{b.backup_id:<26} {b.system_identifier:<20} {human_size(b.object_bytes):>10} {b.timeline:>8}  "
                   f"{b.start_lsn:<14} {b.stop_lsn}")
    click.echo("LOGICAL backups (pg_dump: portable, checked table by table)")


def _deep_state(store, keyring, manifest: backup.Manifest) -> str:
    try:
        backup.verify_against(store, keyring, manifest)
    except IntegrityError as exc:
        return f"damaged: {exc}"
    return "verified, object read back"


@command.command()
@click.argument("backup_id")
def verify(backup_id: str) -> None:
    """Read BACKUP_ID back: authenticate every chunk and compare sizes and SHA-256 with the manifest."""
    settings = load_settings()
    m = backup.verify_backup(store_from(settings), keyring_from(settings), backup_id)
    click.echo(f"backup {backup_id} verified: {human_size(m.object_bytes)}, sha256 {m.object_sha256}, key {m.key_id}")


@command.command()
@click.argument("backup_id")
@click.option("--target-url", "--into", "target_url", required=True,
              help="PostgreSQL URL of the database to restore into (normally a new, empty one).")
@click.option("--force", is_flag=True, help="Restore into a non-empty database, replacing the objects the "
              "backup contains.")
@click.option("--keep-owners", is_flag=True, help="Keep the original owners and grants (the roles must exist).")
@click.option("--yes", is_flag=True, help="Do not ask before --force replaces objects.")
@click.option("--no-manifest", "no_manifest", is_flag=True, help="Restore from the object and the key alone "
              "(the manifest is lost or refused): the object is still authenticated and bound to BACKUP_ID, but "
              "nothing is compared with the backed-up database.")
def restore(backup_id: str, target_url: str, force: bool, keep_owners: bool, yes: bool, no_manifest: bool) -> None:
    """Restore BACKUP_ID into --target-url: the object is verified first, the result compared with the manifest."""
    settings = load_settings()
    shown = mask_url(target_url)
    if force and not yes:
        click.confirm(f"Replace the objects of {shown} with backup {backup_id}?", abort=True)
    result = backup.restore_backup(store_from(settings), keyring_from(settings), backup_id, target_url, force=force,
                                   keep_owners=keep_owners, use_manifest=not no_manifest)
    click.echo(f"restored backup {backup_id} into {shown} in {result.duration_s:.1f}s: "
               f"{len(result.table_rows)} tables, {sum(result.table_rows.values())} rows")
    if result.unchecked:
        click.echo("restored without the manifest: every chunk authenticated and the object is sealed as backup "
                   f"{backup_id}, but NOT checked:", err=True)
        for what in result.unchecked:
            click.echo(f"  - {what}", err=True)
        return
    if not result.matches:
        for mismatch in result.mismatches:
            click.echo(f"  MISMATCH {mismatch}", err=True)
        raise IntegrityError(f"the restored database differs from backup {backup_id}'s manifest in "
                             f"{len(result.mismatches)} place(s): do not put it into service; investigate")
    click.echo("row counts, schema catalog and alembic revision match the manifest")


@command.command()
@click.option("--backup-id", help="Drill this backup instead of the newest one.")
def drill(backup_id: str | None) -> None:
    """Restore the newest backup of DATABASE_URL into a scratch database, compare, and drop it."""
    settings = load_settings()
    result = backup.run_restore_drill(settings.require_database_url(), store_from(settings), keyring_from(settings),
                                      backup_id=backup_id)
    for mismatch in result.restore.mismatches:
        click.echo(f"  MISMATCH {mismatch}", err=True)
    if not result.passed:
        raise IntegrityError(f"restore drill of backup {result.backup_id} failed: {len(result.restore.mismatches)} "
                             "difference(s) from its manifest")
    click.echo(f"restore drill of backup {result.backup_id} passed: {len(result.restore.table_rows)} tables, "
               f"{sum(result.restore.table_rows.values())} rows in {result.restore.duration_s:.1f}s")


@command.command()
@click.option("--database", help="Database whose backups to prune (default: the one in DATABASE_URL).")
@click.option("--daily", default=7, show_default=True, type=click.IntRange(0), help="Days to keep.")
@click.option("--weekly", default=4, show_default=True, type=click.IntRange(0), help="ISO weeks to keep.")
@click.option("--monthly", default=12, show_default=True, type=click.IntRange(0), help="Months to keep.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
def prune(database: str | None, daily: int, weekly: int, monthly: int, dry_run: bool) -> None:
    """Delete backups outside the grandfather-father-son policy (never the newest, never locked ones)."""
    settings = load_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if database is None:
        if url is None:
            raise ConfigurationError("name the database with --database, or set DATABASE_URL")
        database = db.database_name(url)
    result = backup.prune_backups(store_from(settings), keyring_from(settings), database,
                                  backup.RetentionPolicy(daily, weekly, monthly), dry_run=dry_run, audit_url=url)
    verb = "would delete" if dry_run else "deleted"
    for backup_id in result.deleted + result.orphans_deleted:
        click.echo(f"{verb} {backup_id}")
    for backup_id in result.suspect:
        click.echo(f"left for review (manifest fails authentication or dump missing): {backup_id}", err=True)
    for key in result.stale_uploads:
        click.echo(f"removed stale upload of a killed backup: {key}")
    click.echo(f"kept {len(result.kept)}, {verb} {len(result.deleted)} (+{len(result.orphans_deleted)} incomplete), "
               f"locked {len(result.locked)}")
