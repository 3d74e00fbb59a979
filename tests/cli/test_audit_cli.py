"""`hv audit` end to end, as an operator runs it: configuration from the environment, exit codes, messages.

The first command runs as a real process (the installed entry point); the rest call the same
`main()` in-process, which is what that process runs, to keep the suite fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.archival import Month
from hv_pipelines.core.keyring import generate_hex_key
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, make_user, month_rows

MONTH = Month(2023, 11)


def hv_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hv_pipelines.cli", "audit", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.fixture
def hv(run_hv):
    return lambda *args, env: run_hv("audit", *args, env=env)


def test_archive_list_verify_tamper_rehydrate(migrated_db: str, tmp_path: Path, hv) -> None:
    insert_audit_rows(migrated_db, MONTH, 150, make_user(migrated_db))
    originals = month_rows(migrated_db, MONTH)
    objects = tmp_path / "objects"
    env = {"DATABASE_URL": migrated_db, "ENCRYPTION_KEY": generate_hex_key(), "HV_OBJECT_STORE_URL": objects.as_uri()}

    out = hv_process("archive", "--month", "2023-11", env=env)
    assert out.returncode == 0, out.stderr
    assert "2023-11: archived 150 rows as full archive #1 in 1 part(s)" in out.stdout
    assert count_rows(migrated_db, MONTH) == 0

    out = hv("archive", "--month", "2023-11", "--index-cleanup", env=env)
    assert "nothing to archive" in out.stdout

    out = hv("list", env=env)
    assert out.returncode == 0 and "2023-11  full" in out.stdout and "committed" in out.stdout

    out = hv("verify", "--all", env=env)
    assert out.returncode == 0, out.stderr
    assert "ok: 1 archive(s) in an unbroken chain, 1 object(s), 150 rows re-hashed" in out.stdout

    out = hv("rehydrate", "--month", "2023-11", "--into", "incident_42", env=env)
    assert out.returncode == 0, out.stderr
    assert "150 rows from 1 archive(s) verified and loaded into incident_42" in out.stdout
    assert month_rows(migrated_db, MONTH, "incident_42") == originals

    [part] = (objects / "audit-archive" / "2023-11").rglob("part-*")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x10
    part.write_bytes(bytes(data))
    out = hv("verify", env=env)
    assert out.returncode == 1
    assert "is not the object its manifest sealed" in out.stderr and "FAILED: 1 problem(s)" in out.stderr

    out = hv("rehydrate", "--month", "2023-11", "--into", "incident_43", env=env)
    assert out.returncode == 1 and "do not rely on it" in out.stderr
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT to_regclass('incident_43')").fetchone()[0] is None


def test_refusals_say_what_to_do(migrated_db: str, tmp_path: Path, hv, monkeypatch) -> None:
    env = {"DATABASE_URL": migrated_db, "HV_OBJECT_STORE_URL": (tmp_path / "o").as_uri()}
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    out = hv("archive", "--month", "2023-11", env=env)
    assert out.returncode == 1 and "ENCRYPTION_KEY is not set" in out.stderr

    env["ENCRYPTION_KEY"] = generate_hex_key()
    out = hv("archive", "--month", "23-11", env=env)
    assert out.returncode == 2 and "write it as YYYY-MM" in out.stderr

    out = hv("rehydrate", "--month", "2023-11", "--into", "audit_logs", env=env)
    assert out.returncode == 1 and "not audit_logs" in out.stderr

    out = hv("rehydrate", "--month", "2023-11", env=env)
    assert out.returncode == 1 and "no committed archive of 2023-11" in out.stderr


FEBRUARY, MARCH = Month(2024, 2), Month(2024, 3)


@pytest.fixture
def february_and_march(migrated_db: str, tmp_path: Path, hv) -> dict[str, str]:
    """February archived; March archived, then its late rows in a supplementary archive (#3)."""
    user = make_user(migrated_db)
    env = {"DATABASE_URL": migrated_db, "ENCRYPTION_KEY": generate_hex_key(),
           "HV_OBJECT_STORE_URL": (tmp_path / "objects").as_uri()}
    insert_audit_rows(migrated_db, FEBRUARY, 40, user)
    insert_audit_rows(migrated_db, MARCH, 50, user)
    assert hv("archive", "--month", "2024-02", env=env).returncode == 0
    assert hv("archive", "--month", "2024-03", env=env).returncode == 0
    insert_audit_rows(migrated_db, MARCH, 5, user, start=50)
    out = hv("archive", "--month", "2024-03", env=env)
    assert "archived 5 rows as supplementary archive #3" in out.stdout
    return env


def _manifests(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["HV_OBJECT_STORE_URL"].removeprefix("file://")) / "audit-archive" / "manifests").glob("*"))


def _exists(url: str, table: str) -> bool:
    with db.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def test_verify_reports_a_deleted_archive_record(february_and_march: dict[str, str], migrated_db: str, hv) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("""DELETE FROM audit_log_archives WHERE "storagePath" LIKE '%/2024-02/%'""")
    out = hv("verify", env=february_and_march)
    assert out.returncode == 1 and "ok:" not in out.stdout
    assert "archive #1 (2024-02) was committed" in out.stderr and "audit_log_archives has no row for it" in out.stderr

    out = hv("rehydrate", "--month", "2024-02", env=february_and_march)
    assert out.returncode == 1 and "cannot be rehydrated whole" in out.stderr
    assert not _exists(migrated_db, "audit_logs_rehydrated_2024_02")


def test_rehydrate_refuses_a_manifest_copied_over_another_month(february_and_march: dict[str, str],
                                                                migrated_db: str, hv) -> None:
    february, march = _manifests(february_and_march)[:2]
    february.write_bytes(march.read_bytes())

    out = hv("rehydrate", "--month", "2024-02", env=february_and_march)

    assert out.returncode == 1, out.stdout
    assert "2024-02 cannot be rehydrated whole, so nothing was loaded" in out.stderr
    assert "was copied or renamed over another" in out.stderr
    assert not _exists(migrated_db, "audit_logs_rehydrated_2024_02")


def test_rehydrate_refuses_a_month_missing_its_supplementary_archive(february_and_march: dict[str, str],
                                                                     migrated_db: str, hv) -> None:
    _manifests(february_and_march)[-1].unlink()

    out = hv("rehydrate", "--month", "2024-03", env=february_and_march)

    assert out.returncode == 1, out.stdout
    assert "2024-03 cannot be rehydrated whole" in out.stderr and "its manifest was deleted" in out.stderr
    assert not _exists(migrated_db, "audit_logs_rehydrated_2024_03")
    out = hv("rehydrate", "--month", "2024-02", env=february_and_march)  # an intact month still loads
    assert out.returncode == 0 and "40 rows from 1 archive(s)" in out.stdout


def test_every_audit_command_sweeps_an_older_releases_decrypted_leftovers(
        february_and_march: dict[str, str], tmp_path: Path, hv, monkeypatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for command in (("verify", "--all"), ("rehydrate", "--month", "2024-02"), ("archive", "--month", "2024-02"),
                    ("purge",)):
        leftover = scratch / "hv-archive-k1ll3d"
        leftover.mkdir()
        (leftover / "part.parquet").write_bytes(b"PAR1 decrypted rows PAR1")
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
        out = hv(*command, env=february_and_march)
        assert out.returncode == 0, (command, out.stderr)
        assert os.listdir(scratch) == [], command
        if command[0] == "verify":
            assert "note: removed 1 decrypted read-back file(s) an older release left" in out.stdout
