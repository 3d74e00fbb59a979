"""`hv pitr`: point-in-time recovery — base backups, the window, verification, restore, retention.

The WAL archive itself is written by PostgreSQL's archive_command (`hv wal push`). The store is
`HV_OBJECT_STORE_URL`, the key `ENCRYPTION_KEY`; `base-backup` also needs `DATABASE_URL` (a role
with REPLICATION). Everything else works from the store and the key alone, as after a disaster.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from hv_pipelines.cli.common import keyring_from, store_from
from hv_pipelines.core.errors import ConfigurationError, IntegrityError, StorageError
from hv_pipelines.core.pitr import basebackup, prune, restore, verify
from hv_pipelines.core.pitr.envfile import restore_env
from hv_pipelines.core.settings import load_settings
from hv_pipelines.core.units import human_size

SYSTEM = click.option("--system-identifier", help="The cluster to act on when the store holds several.")


@click.group(name="pitr")
def command() -> None:
    """Point-in-time recovery: base-backup, status, verify, restore, prune."""


@command.command(name="base-backup")
@click.option("--level", default=basebackup.DEFAULT_LEVEL, show_default=True, type=click.IntRange(1, 19), help="zstd compression level.")
def base_backup(level: int) -> None:
    """Take a base backup of DATABASE_URL's cluster (pg_basebackup) into the object store."""
    settings = load_settings()
    b = basebackup.take_base_backup(settings.database_url_for("backup"), store_from(settings), keyring_from(settings),
                                    level=level)
    click.echo(f"base backup {b.backup_id}: {human_size(b.object_bytes)} ({human_size(b.tar_bytes)} tar) "
               f"in {b.durations['total_s']:.1f}s")
    click.echo(f"  start LSN {b.start_lsn}  stop LSN {b.stop_lsn}  timeline {b.timeline}  "
               f"cluster {b.system_identifier}")
    click.echo(f"  {b.object_key}  sha256 {b.object_sha256}")


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 2025-01-02T03:04:05Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@command.command(name="restore")
@click.option("--target-time", help="Recover up to this time (ISO 8601; UTC unless it says otherwise).")
@click.option("--target-lsn", help="Recover up to this WAL position (like 0/3000028).")
@click.option("--latest", is_flag=True, help="Recover everything the archive holds.")
@click.option("--data-dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="New or empty directory for the recovered cluster.")
@click.option("--env-file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="0600 env file for restore_command (default: one written into the data directory, removed "
                   "after recovery).")
@click.option("--start", is_flag=True, help="Leave the recovered server running (on --port) and print its URL.")
@click.option("--port", type=click.IntRange(1, 65535), help="Port for the recovered server (default: a free one).")
@click.option("--archive", is_flag=True, help="Let the recovered server go on archiving its WAL (it becomes "
              "the primary); by default it does not, so a test restore cannot fork the archive.")
@SYSTEM
def restore_(target_time: str | None, target_lsn: str | None, latest: bool, data_dir: Path, env_file: Path | None,
             start: bool, port: int | None, archive: bool, system_identifier: str | None) -> None:
    """Restore the archived cluster into --data-dir at a point in time, and recover it."""
    if sum(x is not None and x is not False for x in (target_time, target_lsn, latest)) != 1:
        raise click.UsageError("give exactly one of --target-time, --target-lsn, --latest")
    settings = load_settings()
    target = restore.Target(time=_parse_time(target_time) if target_time else None, lsn=target_lsn, latest=latest)
    env = restore_env()
    if env_file is None and "HV_OBJECT_STORE_URL" not in env:
        raise ConfigurationError("HV_OBJECT_STORE_URL is not set: restore_command needs it (or pass --env-file)")
    result = restore.restore(store_from(settings), keyring_from(settings), data_dir, target, env_file=env_file,
                             env=env, system_identifier=system_identifier, start=start, port=port, archive=archive)
    click.echo(f"restored base backup {result.backup_id} into {result.data_dir} and recovered to "
               f"{result.target} in {result.seconds:.1f}s (last transaction replayed: {result.reached or 'unknown'}; "
               f"{result.prefetched} WAL segment(s) prefetched)")
    click.echo("  " + "  ".join(f"{name} {value}" for name, value in (result.steps or {}).items()))
    if result.url:
        click.echo(f"  running: {result.url}  (stop: pg_ctl -D {result.data_dir} stop)")


@command.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@SYSTEM
def status_(as_json: bool, system_identifier: str | None) -> None:
    """The recoverable window, the last archived segment and its age (the RPO now), base backups, gaps."""
    settings = load_settings()
    server = None
    if settings.database_url is not None:
        server = verify.server_archiving(settings.database_url.get_secret_value())
        if server.managed:
            click.echo(f"{server.managed} has no archive_command: point-in-time recovery is the provider's "
                       "(see docs/pitr.md, 'Managed PostgreSQL'); hv's WAL archive does not apply")
            return
    state = verify.status(store_from(settings), keyring_from(settings), system_identifier)
    body = state.as_dict()
    if server is not None:
        body["server"] = {"archive_mode": server.archive_mode, "last_archived_wal": server.last_archived_wal,
                          "last_failed_wal": server.last_failed_wal, "failed_count": server.failed_count}
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    window = body["window"]
    click.echo(f"cluster {state.system_identifier}")
    click.echo(f"  recoverable window: {window['earliest'] or 'none'} .. {window['latest'] or 'none'}")
    age = f"{state.rpo_s:.0f}s ago" if state.rpo_s is not None else "never"
    click.echo(f"  last archived segment: {state.last_segment or 'none'} ({age})")
    click.echo(f"  WAL chain: {'continuous' if state.gap is None else 'GAP at ' + state.gap}")
    if server is not None:
        failing = f", last failure {server.last_failed_wal} ({server.failed_count} failures)" \
            if server.last_failed_wal else ""
        click.echo(f"  server: archive_mode={server.archive_mode}{failing}")
    click.echo(f"  base backups: {len(state.base_backups)}")
    for b in state.base_backups:
        click.echo(f"    {b.backup_id}  {human_size(b.object_bytes):>10}  timeline {b.timeline}  "
                   f"{b.start_lsn} .. {b.stop_lsn}")
    for problem in state.problems:
        click.echo(f"  PROBLEM {problem}", err=True)


@command.command(name="verify")
@SYSTEM
def verify_(system_identifier: str | None) -> None:
    """Authenticate every base backup and WAL object and check the WAL chain is continuous."""
    settings = load_settings()
    result = verify.verify_archive(store_from(settings), keyring_from(settings), system_identifier)
    if not result.ok:
        for problem in result.problems[1:]:
            click.echo(f"  also: {problem}", err=True)
        raise IntegrityError(f"{result.problems[0]} — the archive of cluster {result.system_identifier} is not "
                             "whole; take a new base backup (`hv pitr base-backup`) so recovery can start after it")
    click.echo(f"cluster {result.system_identifier}: {result.base_backups} base backup(s) and {result.wal_objects} "
               f"WAL object(s) authenticated ({human_size(result.bytes)}), chain continuous")


@command.command(name="prune")
@click.option("--recovery-window-days", default=prune.DEFAULT_RECOVERY_WINDOW_DAYS, show_default=True,
              type=click.IntRange(0), help="Keep what a recovery to any point of the last N days needs.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@SYSTEM
def prune_(recovery_window_days: int, dry_run: bool, system_identifier: str | None) -> None:
    """Delete base backups and WAL no point in the recovery window needs (never the newest, never locked)."""
    settings = load_settings()
    result = prune.prune(store_from(settings), keyring_from(settings), recovery_window_days=recovery_window_days,
                         system_identifier=system_identifier, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"kept base backups: {', '.join(result.kept_backups) or 'none'}; WAL from "
               f"{result.oldest_needed_wal or '-'}")
    click.echo(f"{verb} {len(result.deleted_backups)} base backup(s) and {len(result.deleted_wal)} WAL object(s); "
               f"{len(result.locked)} under Object Lock left")
    for key in result.locked:
        click.echo(f"  locked (kept until its Object Lock ends): {key}")
    if result.failed:
        raise StorageError(f"the store refused to delete {len(result.failed)} object(s) (first: {result.failed[0]}); "
                           "everything else was pruned and the window is intact: check the store's delete "
                           "permission and run `hv pitr prune` again")
