"""`hv wal`: PostgreSQL's archive_command and restore_command.

    archive_command = 'hv wal push %p --env-file /etc/hv/wal.env'
    restore_command = 'hv wal fetch %f %p --env-file /etc/hv/wal.env'

The env file (mode 0600, owned by the server's OS user) holds HV_OBJECT_STORE_URL and the key
settings, so no key is ever in postgresql.conf or on a command line. Exit status is what PostgreSQL
reads: 0 stored/restored, 1 anything else (for fetch: the file is not archived, and recovery ends
there). Any other failure of fetch — an object that fails authentication, a store that cannot be
read — exits 126, which PostgreSQL treats as fatal: recovery stops instead of promoting at a
tampered or unreadable segment as if the archive ended there. The one `error:` line goes to the
server log.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hv_pipelines.cli.common import keyring_from, store_from
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.pitr import archive
from hv_pipelines.core.pitr.envfile import apply_env_file
from hv_pipelines.core.pitr.walfiles import control_system_identifier
from hv_pipelines.core.store_settings import load_store_settings

# PostgreSQL aborts recovery when restore_command exits above 125 (as for "command not found").
FATAL_TO_RECOVERY = 126
ENV_FILE = click.option("--env-file", type=click.Path(path_type=Path, dir_okay=False),
                        help="0600 file with HV_OBJECT_STORE_URL and ENCRYPTION_KEY (or HV_KMS_KEY_ID).")


@click.group(name="wal")
def command() -> None:
    """The continuous WAL archive: archive_command and restore_command."""


@command.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@ENV_FILE
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def push(path: Path, env_file: Path | None, quiet: bool) -> None:
    """Archive one WAL file (archive_command: `hv wal push %p --env-file FILE`)."""
    if env_file:
        apply_env_file(env_file)
    settings = load_store_settings()
    result = archive.push(path, store_from(settings, sweep=False), keyring_from(settings))
    if not quiet:
        state = "already archived (same content)" if result.already_archived else "archived"
        click.echo(f"{result.name} {state}: {result.key} in {result.seconds * 1000:.0f} ms", err=True)


@command.command()
@click.argument("name")
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@ENV_FILE
@click.option("--system-identifier", help="The cluster whose archive to read (default: the data directory's).")
def fetch(name: str, dest: Path, env_file: Path | None, system_identifier: str | None) -> None:
    """Restore one archived WAL file to DEST (restore_command: `hv wal fetch %f %p --env-file FILE`)."""
    if env_file:
        apply_env_file(env_file)
    settings = load_store_settings()
    try:
        system = system_identifier or control_system_identifier(Path.cwd())
        archive.fetch(name, dest, store_from(settings, sweep=False), keyring_from(settings), system)
    except archive.WalNotFound:
        raise
    except HVError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(FATAL_TO_RECOVERY)
