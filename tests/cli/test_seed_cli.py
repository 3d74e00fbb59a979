"""`hv seed`: prints the per-table plan, applies it (or not, with --dry-run), exits non-zero on a bad file."""

from __future__ import annotations

import sys

import pytest
import yaml
from click.testing import CliRunner

from hv_pipelines.cli import cli, main
from hv_pipelines.core import db
from hv_pipelines.core.seed import default_seed_path
from tests.core.seed_rows import row_versions


def hv(url: str, *args: str):
    return CliRunner().invoke(cli, ["seed", *args], env={"DATABASE_URL": url}, catch_exceptions=False)


def count(url: str, table: str) -> int:
    with db.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def plan_line(output: str, table: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.split()[:1] == [table])
    return [int(n) for n in line.split()[1:]]


def test_dry_run_prints_the_plan_and_writes_nothing(migrated_db):
    result = hv(migrated_db, "--dry-run")
    assert result.exit_code == 0, result.output
    assert plan_line(result.output, "roles") == [7, 0, 0, 0]
    assert plan_line(result.output, "security_configurations") == [11, 0, 0, 0]
    assert "roles insert: ADMIN, ANALYST, CUSTOMER, DOCTOR, OWNER, PATIENT, SUPPORT" in result.output
    assert "dry run: nothing written" in result.output
    assert count(migrated_db, "roles") == 0 and count(migrated_db, "users") == 0


def test_seed_applies_and_a_second_run_reports_no_changes(migrated_db):
    first = hv(migrated_db)
    assert first.exit_code == 0, first.output
    assert "applied in" in first.output and "0 updated, 0 deleted" in first.output
    before = row_versions(migrated_db)
    second = hv(migrated_db)
    assert second.exit_code == 0, second.output
    assert plan_line(second.output, "permissions") == [0, 0, 19, 0]
    assert "0 inserted, 0 updated, 0 deleted (the database already matched the file)" in second.output
    assert row_versions(migrated_db) == before, "the second run wrote no row, not even the same values"


def test_file_option_and_prune_remove_a_role_dropped_from_the_file(migrated_db, tmp_path):
    assert hv(migrated_db).exit_code == 0
    content = yaml.safe_load(default_seed_path().read_text())
    content["roles"] = [r for r in content["roles"] if r["name"] != "ANALYST"]
    del content["role_permissions"]["ANALYST"]
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(yaml.safe_dump(content))

    kept = hv(migrated_db, "--file", str(smaller))
    assert "roles extra (not in the file): ANALYST - kept; --prune deletes them" in kept.output
    assert count(migrated_db, "roles") == 7

    pruned = hv(migrated_db, "--file", str(smaller), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "3 deleted" in pruned.output  # the role and its two grants
    assert count(migrated_db, "roles") == 6


def test_invalid_file_exits_1_naming_the_entry_and_writes_nothing(migrated_db, tmp_path, monkeypatch, capsys):
    content = yaml.safe_load(default_seed_path().read_text())
    content["permissions"][0]["scope"] = "EVERYONE"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(content))
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.setattr(sys, "argv", ["hv", "seed", "--file", str(bad)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"seed file {bad} is invalid" in err and 'permissions #1 "READ_PHI": scope' in err
    assert count(migrated_db, "roles") == 0


def test_without_database_url_says_how_to_get_one(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["hv", "seed", "--dry-run"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert "DATABASE_URL is not set" in capsys.readouterr().err
