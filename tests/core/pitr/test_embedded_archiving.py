"""The embedded default (`make dev`'s PostgreSQL) archives its WAL into the local store from the start."""

from __future__ import annotations

import stat

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.embedded import start_stack
from hv_pipelines.core.pitr import archive
from hv_pipelines.core.pitr.drill import wait_archived
from hv_pipelines.core.pitr.markers import switch_wal
from hv_pipelines.core.storage import LocalStore

pytestmark = pytest.mark.slow


def test_the_embedded_server_archives_every_segment_with_the_archive_command(scratch, monkeypatch):
    # Under /tmp, not pytest's basetemp: a concurrent pytest resets that to 0700 under a running server.
    tmp_path = scratch
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    stack = start_stack(tmp_path / "hv")
    try:
        with db.connect(stack.database_url, autocommit=True) as conn:
            settings = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('wal_level', 'archive_mode', 'archive_timeout', 'archive_command')").fetchall())
            system = str(conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()[0])
        assert settings["wal_level"] == "replica" and settings["archive_mode"] == "on"
        assert settings["archive_timeout"] == "60"
        env_file = tmp_path / "hv" / "keys" / "wal.env"
        assert f"wal push %p --env-file {env_file.resolve()}" in settings["archive_command"]
        assert stack.encryption_key not in settings["archive_command"]
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        name = switch_wal(stack.database_url)
        wait_archived(stack.database_url, name, timeout=60)
        store = LocalStore(tmp_path / "hv" / "objects")
        assert store.head(archive.wal_key(system, name)) is not None
    finally:
        stack.stop()
