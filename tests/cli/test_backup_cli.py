"""`hv backup`: create, list, verify, restore (refusing non-empty targets and tampered objects), drill, prune."""

from __future__ import annotations

import shutil
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


# --- Issue 24/26: bound backups, refusals before pg_restore, promises of the docs -------------------------

SECRETS = {"AWS_SECRET_ACCESS_KEY": "sentinel-aws-secret", "HV_EHR_CLIENT_SECRET": "sentinel-ehr-secret"}
PLAINTEXT_MARKERS = (b"example.test", b"PGDMP", b"First1", b"Last1")


@pytest.fixture
def recorded(env, tmp_path, monkeypatch):
    """Every pg_dump and pg_restore runs through a recording wrapper; secrets sit in the environment."""
    from hv_pipelines.core.backup import tools
    from tests.fakes import recording_pg_tools

    major = tools.server_major(db.server_version(env["DATABASE_URL"]))
    recording_pg_tools.install(tmp_path / "pg-bin", tmp_path / "pg-runs", major)
    monkeypatch.setenv("HV_PG_BIN", str(tmp_path / "pg-bin"))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return lambda name: recording_pg_tools.runs(tmp_path / "pg-runs", name)


def backup_files(env, backup_id: str) -> tuple[Path, Path]:
    root = Path(env["HV_OBJECT_STORE_URL"])
    return next(root.rglob(f"{backup_id}.dump.enc")), next(root.rglob(f"{backup_id}.manifest.json"))


def two_backups(env) -> tuple[str, str]:
    """Backup A, then 5 more security configurations, then backup B."""
    a = created_id(hv("create").output)
    with db.connect(env["DATABASE_URL"]) as conn:
        conn.execute("INSERT INTO security_configurations (id, key, category, value, \"valueType\", \"updatedAt\") "
                     "SELECT 'extra-' || g, 'extra.' || g, 'test', '{}'::jsonb, 'json', now() "
                     "FROM generate_series(1, 5) AS g")
    return a, created_id(hv("create").output)


def relations(url: str) -> int:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public'").fetchone()[0]


def state_of(url: str):
    from hv_pipelines.core.backup import catalog

    with db.connect(url) as conn:
        return catalog.row_counts(conn), catalog.schema_fingerprint(conn)


def test_a_manifest_copied_over_another_backups_is_refused_by_verify_restore_and_list(env, empty_db, monkeypatch,
                                                                                     capsys):
    a, b = two_backups(env)
    shutil.copyfile(backup_files(env, a)[1], backup_files(env, b)[1])  # cp A.manifest.json B.manifest.json

    code, err = hv_exit(monkeypatch, capsys, "verify", b)
    assert code == 1 and f"manifest of backup {a}" in err and "copied here" in err
    code, err = hv_exit(monkeypatch, capsys, "restore", b, "--into", empty_db)
    assert code == 1 and "copied here" in err
    assert relations(empty_db) == 0
    listed = {line.split()[0]: line for line in hv("list").output.splitlines()[2:]}
    assert "verified" in listed[a] and "unauthentic" in listed[b] and "verified" not in listed[b]


def test_a_dump_copied_over_another_backups_never_reaches_pg_restore(env, recorded, empty_db, monkeypatch, capsys):
    a, b = two_backups(env)
    shutil.copyfile(backup_files(env, a)[0], backup_files(env, b)[0])  # cp A.dump.enc B.dump.enc

    code, err = hv_exit(monkeypatch, capsys, "restore", b, "--into", empty_db)
    assert code == 1 and f"sealed as 'backup/{a}', not 'backup/{b}'" in err
    assert relations(empty_db) == 0
    before = state_of(env["DATABASE_URL"])
    code, err = hv_exit(monkeypatch, capsys, "restore", b, "--into", env["DATABASE_URL"], "--force", "--yes")
    assert code == 1 and "another backup's object" in err
    assert state_of(env["DATABASE_URL"]) == before
    assert recorded("pg_restore") == [], "pg_restore must not start for an object that is not the manifest's"


def test_a_restore_exits_1_on_a_real_row_count_difference(env, empty_db, monkeypatch, capsys):
    """The manifest (authentic: sealed with the key) says 121 customers; the archive holds 120."""
    import dataclasses

    from hv_pipelines.core.backup import Manifest
    from hv_pipelines.core.keyring import Keyring

    backup_id = created_id(hv("create").output)
    manifest_path = backup_files(env, backup_id)[1]
    keyring = Keyring.from_hex(env["ENCRYPTION_KEY"])
    key = manifest_path.relative_to(env["HV_OBJECT_STORE_URL"]).as_posix()
    manifest = Manifest.open(manifest_path.read_bytes(), keyring, key=key)
    claims = dataclasses.replace(manifest, table_rows={**manifest.table_rows, "public.customers": 121})
    manifest_path.write_bytes(claims.seal(keyring))

    code, err = hv_exit(monkeypatch, capsys, "restore", backup_id, "--into", empty_db)
    assert code == 1
    assert "MISMATCH public.customers: 120 rows, manifest 121" in err and "do not put it into service" in err


def test_list_says_its_state_comes_from_manifests_and_deep_reads_the_objects(env):
    backup_id = created_id(hv("create").output)
    dump = backup_files(env, backup_id)[0]
    data = bytearray(dump.read_bytes())
    data[-40] ^= 0xFF
    dump.write_bytes(bytes(data))

    shallow = hv("list").output
    assert "from the manifests only" in shallow.splitlines()[0] and "verified" in shallow.splitlines()[2]
    deep = hv("list", "--deep")
    assert deep.exit_code == 0 and "read the objects back" in deep.output.splitlines()[0]
    assert "damaged" in deep.output and "chunk 0" in deep.output and "verified" not in deep.output.splitlines()[2]


def test_restore_without_the_manifest_says_what_it_could_not_check(env, empty_db, monkeypatch, capsys):
    backup_id = created_id(hv("create").output)
    backup_files(env, backup_id)[1].unlink()

    code, err = hv_exit(monkeypatch, capsys, "restore", backup_id, "--into", empty_db)
    assert code == 1 and "no manifest" in err and "--no-manifest" in err
    restored = CliRunner().invoke(cli, ["backup", "restore", backup_id, "--into", empty_db, "--no-manifest"])
    assert restored.exit_code == 0, restored.output
    assert "581 rows" in restored.stdout
    assert "NOT checked" in restored.stderr and "row counts" in restored.stderr and "SHA-256" in restored.stderr
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 120


def test_list_verify_and_restore_need_no_database_url(env, empty_db, tmp_path, monkeypatch):
    backup_id = created_id(hv("create").output)
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("HV_DOTENV", str(tmp_path / "no.env"))

    assert backup_id in hv("list").output
    assert f"backup {backup_id} verified" in hv("verify", backup_id).output
    restored = hv("restore", backup_id, "--into", empty_db)
    assert restored.exit_code == 0 and "match the manifest" in restored.output


def test_no_plaintext_touches_disk_not_even_temp_directories(env, recorded, empty_db, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch-tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    assert tempfile.gettempdir() == str(scratch)

    backup_id = created_id(hv("create").output)
    assert hv("verify", backup_id).exit_code == 0
    assert hv("restore", backup_id, "--into", empty_db).exit_code == 0
    assert hv("list", "--deep").exit_code == 0
    assert {run["TMPDIR"] for run in recorded("pg_dump") + recorded("pg_restore")} == {str(scratch)}

    written = [p for root in (scratch, Path(env["HV_OBJECT_STORE_URL"])) for p in root.rglob("*") if p.is_file()]
    assert len(written) == 2  # the object and its manifest; nothing in the temp directory
    for path in written:
        content = path.read_bytes()
        assert not any(marker in content for marker in PLAINTEXT_MARKERS), path


def test_pg_dump_and_pg_restore_get_no_secret_of_ours(env, recorded, empty_db, monkeypatch):
    monkeypatch.setenv("PGSSLMODE", "prefer")  # a libpq setting: passed on, as TLS needs
    backup_id = created_id(hv("create").output)
    assert hv("restore", backup_id, "--into", empty_db).exit_code == 0

    children = recorded("pg_dump") + recorded("pg_restore")
    assert len(children) == 2
    secrets = [env["ENCRYPTION_KEY"], env["DATABASE_URL"], *SECRETS.values()]
    for child in children:
        assert not {"ENCRYPTION_KEY", "DATABASE_URL", *SECRETS} & set(child)
        assert not any(secret in value for secret in secrets for value in child.values())
        assert child["PGSSLMODE"] == "prefer"


STALLING_PG_DUMP = """#!/bin/sh
if [ "$1" = "--version" ]; then exec "{real}" --version; fi
"{real}" "$@" | {{ head -c 200000; sleep 60; }}
"""


def test_a_killed_backup_leaves_an_upload_file_that_the_next_command_sweeps(env, tmp_path):
    """kill -9 of `hv backup create` mid-upload leaves `.upload-*` ciphertext; once stale, any command removes it."""
    import os
    import signal
    import subprocess
    import time

    from hv_pipelines.core.backup import tools

    major = tools.server_major(db.server_version(env["DATABASE_URL"]))
    stalling = tmp_path / "stalling-bin" / "pg_dump"
    stalling.parent.mkdir()
    stalling.write_text(STALLING_PG_DUMP.format(real=tools.find_tool("pg_dump", major).path))
    stalling.chmod(0o755)
    hv_bin = Path(sys.executable).with_name("hv")
    creating = subprocess.Popen([str(hv_bin), "backup", "create"], start_new_session=True,
                                env={**os.environ, "HV_PG_BIN": str(stalling.parent)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Path(env["HV_OBJECT_STORE_URL"])
    try:
        deadline = time.monotonic() + 60
        while not list(store.rglob(".upload-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(creating.pid, signal.SIGKILL)  # the whole group: hv, pg_dump and the stalling pipe
        creating.wait()
    left = list(store.rglob(".upload-*"))
    assert len(left) == 1, "a killed upload leaves its temporary file"

    assert hv("list").exit_code == 0
    assert left[0].exists(), "a recent upload may be a running one: it is not swept"
    two_days_ago = time.time() - 2 * 86400
    os.utime(left[0], (two_days_ago, two_days_ago))
    assert hv("list").output.strip() == "no backups"
    assert not left[0].exists()
