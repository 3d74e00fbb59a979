"""The embedded development stack: a private PostgreSQL, a local object store, a dev key.

Only used when `DATABASE_URL` is unset. The PostgreSQL is core/embedded_server.py's under
`.hv/postgresql`: TLS only, every URL verify-full against its local CA, passwords in its passfile.
It archives its WAL into the local store (docs/pitr.md) and logs connections and DDL (`hv db
audit-logging`), as production should. Each job domain connects as a login of its own.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.embedded_server import EmbeddedServer, pg_bin_dir, start_postgres
from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.keyring import generate_hex_key

__all__ = ["EmbeddedStack", "pg_bin_dir", "start_postgres", "start_stack"]

EMBEDDED_DATABASE = "holovitals"


@dataclass
class EmbeddedStack:
    home: Path
    server: EmbeddedServer
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
    _refuse_pgserver_cluster(home / "pg")
    objects = home / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    key = os.environ.get("ENCRYPTION_KEY") or development_key(home)
    server = start_postgres(home / "postgresql")
    server = _archive_wal(server, home, objects, key)
    _log_connections_and_ddl(server.get_uri())
    url = ensure_database(server.get_uri(), EMBEDDED_DATABASE)
    # Here, not at the top: the logins pull in the SQLAlchemy schema, and every backup imports this module
    # (through tools.find_tool, for pg_bin_dir) without needing them.
    from hv_pipelines.core.logins import ensure_dev_logins

    with db.connect(url) as conn:
        job_urls = {domain: db.with_login(url, login)
                    for domain, login in ensure_dev_logins(conn, server.password).items()}
    return EmbeddedStack(home, server, url, objects.as_uri(), key, job_urls)


def _refuse_pgserver_cluster(legacy: Path) -> None:
    """`.hv/pg` is where `make dev` kept its database before it served TLS (pgserver, trusted Unix socket).
    Its server may still run (an old `make dev` in another terminal): attached to, it would be given
    URLs it cannot serve. It is never touched here; the operator moves it away (README, upgrading)."""
    if not (legacy / "PG_VERSION").exists():
        return
    try:
        pid = int((legacy / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
        running = f"it is still running (pid {pid}): stop it (`kill -INT {pid}`), then "
    except (OSError, ValueError, IndexError):
        running = ""
    raise ConfigurationError(
        f"{legacy} holds the database of an earlier `make dev` (pgserver, without TLS), which this version no "
        f"longer runs: {running}move it away (`mv {legacy} {legacy}.pgserver`) or delete it (`make clean-dev` "
        "deletes all of .hv) and run `make dev` again; README.md ('Upgrading the embedded database') says how "
        "to keep its data")


def _archive_wal(server: EmbeddedServer, home: Path, objects: Path, key: str) -> EmbeddedServer:
    """Continuous WAL archiving into the local store (docs/pitr.md): set, and restart once if needed."""
    from hv_pipelines.core.pitr import local_archiving

    command = local_archiving.prepare(home / "keys" / "wal.env", objects,
                                      {"HV_OBJECT_STORE_URL": objects.as_uri(), "ENCRYPTION_KEY": key})
    if not local_archiving.configure(server.get_uri(), command):
        return server
    server.cleanup()  # stops the server unless another process still holds it (then: at its next start)
    return start_postgres(home / "postgresql")


def _log_connections_and_ddl(url: str) -> None:
    """The server's own audit logging (`hv db audit-logging --apply`), set once: a reload, no restart."""
    from hv_pipelines.core import audit_logging

    with db.connect(url, autocommit=True) as conn:
        if audit_logging.logging_gaps(conn):
            audit_logging.apply(conn, audit_logging.recommend(conn))
