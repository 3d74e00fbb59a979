"""`hv backup`: create, list, verify, restore (refusing non-empty targets and tampered objects), drill, prune."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hv_pipelines.cli import cli, main
from hv_pipelines.core import db
from hv_pipelines.core.keyring import generate_hex_key

SAMPLE_ROWS = Path(__file__).resolve().parents[1] / "fixtures" / "backups" / "sample_rows.sql"


@pytest.fixture
def env(migrated_db, tmp_path, monkeypatch):
    """The variables an operator sets, pointing at a populated database and a local store."""
    with db.connect(migrated_db) as conn:
        conn.execute(SAMPLE_ROWS.read_text())
    values = {"DATABASE_URL": migrated_db, "ENCRYPTION_KEY": generate_hex_key(),
              "HV_OBJECT_STORE_URL": str(tmp_path / "objects")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def hv(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["backup", *args], input=input, catch_exceptions=False)


def hv_exit(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run through the real entry point (`main`), as a shell would: exit code and stderr."""
    monkeypatch.setattr(sys, "argv", ["hv", "backup", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


def created_id(output: str) -> str:
    return output.split()[1].rstrip(":")


def test_create_list_verify_restore(env, empty_db):
    created = hv("create")
    assert created.exit_code == 0, created.output
    assert "verified" in created.output and "581 rows" in created.output
    backup_id = created_id(created.output)

    listing = hv("list")
    assert backup_id in listing.output and "verified" in listing.output

    assert f"backup {backup_id} verified" in hv("verify", backup_id).output

    restored = hv("restore", backup_id, "--target-url", empty_db)
    assert restored.exit_code == 0, restored.output
    assert "581 rows" in restored.output and "match the manifest" in restored.output
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 120


def test_restore_into_a_non_empty_database_exits_1_and_says_force(env, monkeypatch, capsys):
    backup_id = created_id(hv("create").output)
    code, err = hv_exit(monkeypatch, capsys, "restore", backup_id, "--target-url", env["DATABASE_URL"])
    assert code == 1 and "is not empty" in err and "--force" in err


def test_restore_of_a_tampered_backup_exits_1_naming_the_chunk(env, empty_db, monkeypatch, capsys):
    backup_id = created_id(hv("create").output)
    dump = next(Path(env["HV_OBJECT_STORE_URL"]).rglob("*.dump.enc"))
    data = bytearray(dump.read_bytes())
    data[-40] ^= 0xFF
    dump.write_bytes(bytes(data))

    code, err = hv_exit(monkeypatch, capsys, "restore", backup_id, "--into", empty_db)
    assert code == 1 and "failed authentication" in err and "chunk 0" in err
    code, err = hv_exit(monkeypatch, capsys, "verify", backup_id)
    assert code == 1 and "chunk 0" in err


def test_drill_and_prune(env):
    first = created_id(hv("create").output)
    second = created_id(hv("create").output)

    drill = hv("drill")
    assert drill.exit_code == 0 and f"restore drill of backup {second} passed" in drill.output

    dry = hv("prune", "--daily", "0", "--weekly", "0", "--monthly", "0", "--dry-run")
    assert f"would delete {first}" in dry.output and second not in dry.output.split("kept")[0]
    pruned = hv("prune", "--daily", "0", "--weekly", "0", "--monthly", "0")
    assert f"deleted {first}" in pruned.output and "kept 1, deleted 1" in pruned.output
    listing = hv("list").output
    assert second in listing and first not in listing


def test_missing_key_says_what_to_set(env, monkeypatch, capsys):
    monkeypatch.delenv("ENCRYPTION_KEY")
    code, err = hv_exit(monkeypatch, capsys, "list")
    assert code == 1 and "ENCRYPTION_KEY is not set" in err
