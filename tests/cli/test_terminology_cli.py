"""`hv terminology`: load with a progress bar, status, identify — as an operator runs them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hv_pipelines.cli import cli, main

RELEASES = Path(__file__).resolve().parents[1] / "fixtures" / "terminology"


@pytest.fixture
def env(migrated_db, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.setenv("HV_OBJECT_STORE_URL", str(tmp_path / "objects"))
    return tmp_path


def hv(*args: str):
    return CliRunner().invoke(cli, ["terminology", *args], catch_exceptions=False)


def hv_exit(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["hv", "terminology", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


def test_load_reports_counts_and_where_the_rejects_went_then_status_shows_the_release(env):
    result = hv("load", "loinc", str(RELEASES / "loinc" / "Loinc_2.77.zip"))
    assert result.exit_code == 0, result.output
    assert "LOINC 2.77 ->" in result.output and "rows/s" in result.output
    assert '"LOINCCode": new 13, changed 0, retired 0, unchanged 0' in result.output
    assert '"CodeMapping": new 1' in result.output
    assert f"rejected 3: report file://{env}/objects/terminology/rejects/loinc/2.77/" in result.output
    assert "LOINC: reading" in result.output, "the progress bar (drawn in full on a terminal)"

    status = hv("status")
    assert status.exit_code == 0
    lines = {line.split()[0]: line for line in status.output.splitlines()}
    assert "2.77 (loaded" in lines["loinc"] and '"LOINCCode": ACTIVE 12, DEPRECATED 1' in lines["loinc"]
    assert "no release loaded" in lines["snomed"] and '"SNOMEDCode": empty' in lines["snomed"]


def test_failing_check_exits_non_zero_naming_the_check(env, monkeypatch, capsys, tmp_path):
    assert hv("load", "icd10cm", str(RELEASES / "icd10cm" / "icd10cm_order_2025.txt")).exit_code == 0
    bad = tmp_path / "icd10cm_order_2026.txt"
    bad.write_text((RELEASES / "icd10cm" / "icd10cm_order_2026.txt").read_text().replace("00001 A00    ",
                                                                                         "00001 1A00   "))
    code, err = hv_exit(monkeypatch, capsys, "load", "icd10cm", str(bad))
    assert code == 1
    assert "check icd10cm_code_format: FAILED" in err and "release 2025 is still loaded" in err


def test_wrong_kind_and_stale_release_are_refused_with_what_to_do(env, monkeypatch, capsys):
    code, err = hv_exit(monkeypatch, capsys, "load", "rxnorm", str(RELEASES / "loinc" / "Loinc_2.78.zip"))
    assert code == 1 and "looks like a LOINC release, not RxNorm: load it as `loinc`" in err
    cpt = RELEASES / "cpt"
    assert hv("load", "cpt", str(cpt / "PPRRVU25_APR.csv")).exit_code == 0
    code, err = hv_exit(monkeypatch, capsys, "load", "cpt", str(cpt / "PPRRVU25_JAN.csv"))
    assert code == 1 and "CPT 2025-01 is older than the loaded release 2025-04" in err and "--force" in err
    forced = hv("load", "cpt", str(cpt / "PPRRVU25_JAN.csv"), str(cpt / "LONGULT.txt"), "--force")
    assert forced.exit_code == 0 and "CPT 2025-01" in forced.output


def test_identify_names_the_system_and_version():
    result = hv("identify", "SnomedCT_InternationalRF2_PRODUCTION_20250701T120000Z.zip", "RxNorm_full_11032025.zip",
                "readme.txt")
    assert result.output.splitlines() == [
        "SnomedCT_InternationalRF2_PRODUCTION_20250701T120000Z.zip: snomed 2025-07-01",
        "RxNorm_full_11032025.zip: rxnorm 2025-11-03", "readme.txt: not recognised"]


def test_a_truncated_line_does_not_retire_its_live_code(env, monkeypatch, capsys, tmp_path):
    from tests.core.terminology.test_rejected_lines import rewritten

    release = RELEASES / "loinc" / "Loinc_2.78.zip"
    assert hv("load", "loinc", str(release)).exit_code == 0
    loaded = hv("status").output
    damaged = rewritten(release, tmp_path / "damaged", "Loinc.csv",
                        {'"8867-4",': '"8867-4","Heart rate","NRat","Pt","XXX"'})

    result = hv("load", "loinc", str(damaged))

    assert result.exit_code == 0, result.output
    assert '"LOINCCode": new 0, changed 0, retired 0, unchanged 12' in result.output and "rejected 1" in result.output
    assert "not retired: 1 code(s) whose line this release rejected (8867-4)" in result.output
    assert hv("status").output.split("\n")[0].split('"LOINCCode"')[1] == loaded.split("\n")[0].split('"LOINCCode"')[1]


def test_too_many_rejected_lines_fail_the_load_unless_the_share_is_raised(env, monkeypatch, capsys, tmp_path):
    release = RELEASES / "icd10cm" / "icd10cm_order_2025.txt"
    damaged = tmp_path / release.name
    damaged.write_text(release.read_text() + "".join(f"{90000 + i:05d} Z99{i:02d}  1 cut\n" for i in range(10)))
    code, err = hv_exit(monkeypatch, capsys, "load", "icd10cm", str(damaged))
    assert code == 1 and "check rejects_within_share: FAILED" in err and "max_reject_share" in err
    assert "no release loaded" in hv("status").output.split("\n")[3]
    assert hv("load", "icd10cm", str(damaged), "--max-reject-share", "0.5").exit_code == 0
