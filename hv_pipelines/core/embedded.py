"""The embedded development stack: a private PostgreSQL (pgserver), a local object store, a dev key.

Only used when `DATABASE_URL` is unset. pgserver ships PostgreSQL 16 with its client tools and runs
as root by creating its own system user; it listens on a Unix socket inside its data directory, so
it never collides with another server on the machine.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.keyring import generate_hex_key

EMBEDDED_DATABASE = "holovitals"


def pg_bin_dir() -> Path:
    """Directory of the PostgreSQL client tools that match the embedded server (pg_dump, pg_restore, psql)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass
class EmbeddedStack:
    home: Path
    server: object
    database_url: str
    object_store_url: str
    encryption_key: str
    job_urls: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Environment variables that point every hv/Dagster process at this stack: DATABASE_URL is
        the server's superuser (migrations, seed), each job domain has its own login (docs/security.md)."""
        return {
            **{f"HV_DATABASE_URL_{domain.upper()}": url for domain, url in self.job_urls.items()},
            "DATABASE_URL": self.database_url,
            "HV_OBJECT_STORE_URL": self.object_store_url,
            "ENCRYPTION_KEY": self.encryption_key,
            "HV_PG_BIN": str(pg_bin_dir()),
            "DAGSTER_HOME": str((self.home / "dagster").resolve()),
        }

    def stop(self) -> None:
        self.server.cleanup()


def start_postgres(pgdata: Path, *, cleanup_mode: str | None = "stop"):
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_exited_handles(pgdata)
    return pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)


def _forget_exited_handles(pgdata: Path) -> None:
    """pgserver stops the server when the last process holding it lets go, and counts holders by the
    pids in `.handle_pids.json`. A holder that was killed never lets go, and then no later `hv dev`
    would stop the server: the pids of processes that no longer exist are dropped first."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    running = [pid for pid in pids if isinstance(pid, int) and _running(pid)]
    if running != pids:
        handles.write_text(json.dumps(running))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_database(server_url: str, name: str) -> str:
    with db.connect(db.with_database(server_url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return db.with_database(server_url, name) if exists else db.create_database(server_url, name)


def development_key(home: Path) -> str:
    """The generated development master key (created once, mode 0600, never for production)."""
    key_file = home / "keys" / "development.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(generate_hex_key() + "\n")
        key_file.chmod(0o600)
    print(f"WARNING: using the generated DEVELOPMENT encryption key in {key_file} — development only; "
          "set ENCRYPTION_KEY for anything holding real data.", file=sys.stderr)
    return key_file.read_text().strip()


def start_stack(home: Path) -> EmbeddedStack:
    """Start (or attach to) the embedded stack under `home` (normally `.hv/`)."""
    home = home.resolve()
    server = start_postgres(home / "pg")
    url = ensure_database(server.get_uri(), EMBEDDED_DATABASE)
    # Here, not at the top: the logins pull in the SQLAlchemy schema, and every backup imports this module
    # (through tools.find_tool, for pg_bin_dir) without needing them.
    from hv_pipelines.core.logins import ensure_dev_logins

    with db.connect(url) as conn:
        job_urls = {domain: db.with_login(url, login) for domain, login in ensure_dev_logins(conn).items()}
    objects = home / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    key = os.environ.get("ENCRYPTION_KEY") or development_key(home)
    server = _archive_wal(server, home, url, objects, key)
    return EmbeddedStack(home, server, url, objects.as_uri(), key, job_urls)


def _archive_wal(server, home: Path, url: str, objects: Path, key: str):
    """Continuous WAL archiving into the local store (docs/pitr.md): set, and restart once if needed."""
    from hv_pipelines.core.pitr import local_archiving

    command = local_archiving.prepare(home / "keys" / "wal.env", objects,
                                      {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key})
    if not local_archiving.configure(url, command):
        return server
    server.cleanup()  # stops the server unless another process still holds it (then: at its next start)
    return start_postgres(home / "pg")
