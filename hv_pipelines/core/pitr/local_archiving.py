"""Continuous archiving for a server on this machine: the embedded default's PITR without extra steps.

`make dev`'s PostgreSQL runs with wal_level=replica, archive_mode=on, archive_timeout=60 and
`archive_command = hv wal push %p --env-file FILE`, the env file (0600, the server's OS user's)
naming the local object store and the development key. archive_command and archive_timeout take
effect on reload; wal_level and archive_mode need a restart, which the caller does when told to.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.pitr.cluster import hand_over, let_server_run
from hv_pipelines.core.pitr.envfile import write_env_file

ARCHIVE_TIMEOUT_S = 60


def archive_command(env_file: Path) -> str:
    hv = Path(sys.executable).parent / "hv"
    return f"{shlex.quote(str(hv))} wal push %p --env-file {shlex.quote(str(env_file))} --quiet"


def prepare(env_file: Path, objects: Path, env: dict[str, str]) -> str:
    """Write the env file and let the server's OS user run `hv` and write the WAL archive; the command."""
    env_file.parent.mkdir(parents=True, exist_ok=True)
    write_env_file(env_file, env)
    hand_over(env_file)
    wal = objects / "wal"
    wal.mkdir(parents=True, exist_ok=True)
    hand_over(wal)
    for path in (Path(sys.executable), Path(sys.executable).parent / "hv", env_file, wal):
        let_server_run(path)
    return archive_command(env_file.resolve())


def configure(database_url: str, command: str) -> bool:
    """Set the archiving settings (ALTER SYSTEM) and reload; True when a restart is still needed."""
    wanted = {"wal_level": "replica", "archive_mode": "on", "archive_timeout": f"{ARCHIVE_TIMEOUT_S}s",
              "archive_command": command}
    with db.connect(database_url, autocommit=True) as conn:
        current = {name: conn.execute("SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = %s",
                                      (name,)).fetchone()[0] for name in wanted}
        current["archive_timeout"] = f"{int(current['archive_timeout'].rstrip('s'))}s"
        changed = {name: value for name, value in wanted.items() if current[name] != value}
        for name, value in changed.items():
            conn.execute(f"ALTER SYSTEM SET {name} = {_literal(value)}")
        if changed:
            conn.execute("SELECT pg_reload_conf()")
        return any(current[name] != wanted[name] for name in ("wal_level", "archive_mode"))


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
