"""CPT: CMS's PPRRVU relative value file (and a licensee's long descriptors) into "CPTCode"."""

import subprocess
import sys

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import cpt, load_release
from hv_pipelines.core.terminology.cpt import cpt_category
from hv_pipelines.core.terminology.rawcopy import Unvouched
from hv_pipelines.core.terminology.rejects import RejectLog
from hv_pipelines.core.terminology.release import Member, ReleaseError
from hv_pipelines.core.terminology.staging import create_stage


def _codes(url: str) -> dict[str, tuple]:
    with db.connect(url) as conn:
        rows = conn.execute('SELECT code, description, "shortDescription", category, "rvuWork", "rvuPractice", '
                            '"rvuMalpractice", status, "effectiveDate"::date::text FROM "CPTCode"').fetchall()
    return {r[0]: r[1:] for r in rows}


def test_sections_by_code_range():
    assert [cpt_category(c) for c in ("00100", "10060", "71046", "80053", "99213", "96372", "0042T", "1126F",
                                      "0001U")] == [
        "Anesthesia", "Surgery", "Radiology", "Pathology and Laboratory", "Evaluation and Management", "Medicine",
        "Category III", "Category II", "Proprietary Laboratory Analyses"]
    assert cpt_category("0001A") == "Medicine" and cpt_category("0002M").startswith("Multianalyte")
    assert cpt_category("0001X") == "Unassigned", "a suffix the AMA adds later is a CPT code of no known section"


@pytest.mark.parametrize("damaged_line", [False, True], ids=["clean-fast-path", "damaged-line-parser"])
def test_a_cpt_code_with_a_suffix_letter_added_later_is_loaded_not_rejected(migrated_db, releases, tmp_path,
                                                                            damaged_line):
    """Codes of a kind the AMA adds (a new fifth-character letter) load from a clean file and from
    one with a damaged line (which the line parser reads); only what is no CPT code is rejected."""
    text = (releases / "cpt" / "PPRRVU25_JAN.csv").read_text()
    text = text.replace("99999,,Broken short row\n", "").replace(",,2.8O,", ",,2.80,")
    text += "0001X,,Hypothetical new kind of code,A,,0.50,0.40,,0.40,,0.03,,,0,XXX,,,,,,,,,,,,,,,,\n"
    if damaged_line:
        text += "00X1,,Damaged code column,A,,0.50,0.40,,0.40,,0.03,,,0,XXX,,,,,,,,,,,,,,,,\n"
    release = tmp_path / "PPRRVU25_JAN.csv"
    release.write_text(text)
    result = load_release(migrated_db, "cpt", [release])
    codes = _codes(migrated_db)
    assert codes["0001X"][2:4] == ("Unassigned", 0.5)
    assert result.rejects["by_reason"] == ({} if not damaged_line else {"HCPCS column is not a 5-character code": 1})


def test_pprrvu_global_rows_with_rvus_and_licensee_descriptors(migrated_db, releases):
    cpt = releases / "cpt"
    result = load_release(migrated_db, "cpt", [cpt / "PPRRVU25_JAN.csv", cpt / "LONGULT.txt"])
    codes = _codes(migrated_db)
    assert result.version == "2025-01" and set(codes) == {
        "00100", "10060", "71046", "80053", "99201", "99213", "99214", "0042T", "1126F", "0001U"}
    assert codes["99213"][0].startswith("Office or other outpatient visit for the evaluation and management")
    assert codes["99213"][1:] == ("Office o/p est low 20 min", "Evaluation and Management", 1.30, 1.26, 0.10,
                                  "ACTIVE", "2025-01-01")
    assert codes["71046"][3:6] == (0.22, 0.76, 0.02), "the global row, not the 26/TC rows"
    assert codes["99214"][0] == 'Office o/p est mod 30 min, "moderate" mdm', "short descriptor without a licensee file"
    assert codes["80053"][3:6] == (None, None, None)
    assert codes["99201"][6] == "INACTIVE"
    assert result.skipped == {"modifier rows": 2, "HCPCS Level II codes": 1}
    assert result.rejects["by_reason"] == {"3 fields, expected at least 11": 1, "an RVU column is not a number": 1,
                                           "expected a CPT code, a tab and a UTF-8 descriptor": 1}
    assert {(e["file"], e["line"]) for e in result.rejects["examples"]} == {
        ("PPRRVU25_JAN.csv", 14), ("PPRRVU25_JAN.csv", 15), ("LONGULT.txt", 3)}


def test_april_release_updates_rvus_adds_and_retires(migrated_db, releases):
    cpt = releases / "cpt"
    load_release(migrated_db, "cpt", [cpt / "PPRRVU25_JAN.csv"])
    before = _codes(migrated_db)
    result = load_release(migrated_db, "cpt", [cpt / "PPRRVU25_APR.csv"])
    after = _codes(migrated_db)
    assert result.counts.as_dict() == {"new": 1, "changed": 1, "retired": 1, "unchanged": 8}
    assert after["99213"][3] == 1.31 and after["99213"][7] == "2025-04-01"
    assert after["0042T"][6] == "INACTIVE" and after["99215"][6] == "ACTIVE"
    assert after["10060"] == before["10060"]


def test_a_csv_without_the_pprrvu_header_is_refused(tmp_path):
    wrong = tmp_path / "PPRRVU25_JAN.csv"
    wrong.write_text("code,description\n99213,Office visit\n")
    with pytest.raises(ReleaseError, match="not a CMS PPRRVU file: no header row starting HCPCS, MOD, DESCRIPTION"):
        load_release("postgresql://nobody@127.0.0.1:1/none", "cpt", [wrong])


def test_a_release_with_qpp_and_non_qpp_files_loads_the_non_qpp_one(migrated_db, releases, tmp_path):
    folder = tmp_path / "RVU25B"
    folder.mkdir()
    (folder / "PPRRVU25_APR_QPP.csv").write_text("not read\n")
    (folder / "PPRRVU25_APR_nonQPP.csv").write_bytes((releases / "cpt" / "PPRRVU25_APR.csv").read_bytes())
    result = load_release(migrated_db, "cpt", [folder])
    assert result.version == "2025-04" and result.counts.new == 10


def test_rows_passed_over_unparsed_are_exactly_those_the_csv_reader_would_skip(migrated_db, tmp_path):
    """Modifier and Level II rows are counted without CSV parsing only when no quote can change
    how their line splits; a quoted field spanning lines is never mistaken for rows."""
    tail = ",A,,1.00,2.00,,2.00,,0.10,,,0,XXX,,,,"
    lines = ["2025 NATIONAL PHYSICIAN FEE SCHEDULE", "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,RVU,INDICATOR,RVU",
             "10060,,Drainage of skin abscess" + tail,
             "10060,26,Drainage (professional)" + tail,                  # modifier, unquoted: skipped unparsed
             '"10061","TC","Drainage, complex"' + tail,                   # modifier, quoted: the reader decides
             "G0008,,Admin influenza virus vac" + tail,                  # Level II, unquoted
             '"G0009",,"Admin pneumococcal, vaccine"' + tail,            # Level II, quoted
             "10080,26,short modifier row",                                # too short to be anything: rejected
             '10120,,"Remove foreign body, first line',                   # a description over three lines whose
             "10121,26,middle line looks like a modifier row" + tail,    # ... middle line must not be skipped
             'last line"' + tail,
             "10140,,Drainage of hematoma" + tail]
    path = tmp_path / "PPRRVU25_JUL.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))

    result = load_release(migrated_db, "cpt", [path])

    codes = _codes(migrated_db)
    assert set(codes) == {"10060", "10120", "10140"}
    assert codes["10120"][1] == ("Remove foreign body, first line\r\n10121,26,middle line looks like a modifier row"
                                 f"{tail}\r\nlast line")
    assert result.skipped == {"modifier rows": 2, "HCPCS Level II codes": 2}
    assert result.rejects["by_reason"] == {"3 fields, expected at least 11": 1}
    assert [(e["file"], e["line"]) for e in result.rejects["examples"]] == [("PPRRVU25_JUL.csv", 8)]


def _staged(url: str, path, stage) -> tuple[int, dict, list[tuple]]:
    with db.connect(url) as conn:
        create_stage(conn, "stage_cpt", cpt.STAGE_COLUMNS)
        with path.open("rb") as stream:
            rows, skipped = stage(conn, stream)
        staged = conn.execute("SELECT * FROM stage_cpt ORDER BY code").fetchall()
        conn.rollback()
    return rows, skipped, staged


def test_the_columnar_path_stages_exactly_what_the_line_parser_stages(migrated_db, tmp_path):
    tail = ",,,,0,XXX,,,,,,,,,,,,,,,,"
    lines = ["2025 NATIONAL PHYSICIAN FEE SCHEDULE RELATIVE VALUE FILE", '"Fee schedules, relative value units"', "",
             "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,RVU,INDICATOR,RVU,INDICATOR,RVU",
             '10060,,"Drainage, skin abscess",A,,1.22,2.66,,2.66,,0.13' + tail,
             '10061,,"Drain ""complex"" abscess ",a,, 2.45 ,+.5,,3.70,,1e-1' + tail,
             "71046,26,X-ray exam chest 2 views,A,,0.22,0.07,,0.07,,0.01" + tail,
             "  99201 ,,Office/outpatient visit new µg é’,D,,,,,,,   " + tail,
             "g0008,,Admin influenza virus vac,X,,0.00,0.00,,0.00,,0.00" + tail,
             "",
             "0042T,,Ct perfusion w/contrast cbf,C,,0.00,0.00,,0.00,,0.00" + tail]
    path = tmp_path / "PPRRVU25_JAN.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    rejects = RejectLog("cpt", "2025-01")

    fast = _staged(migrated_db, path, lambda conn, stream: cpt._vouch_rvu(conn, stream, "2025-01-01 00:00:00"))
    parsed = _staged(migrated_db, path, lambda conn, stream: cpt._parse_rvu(
        conn, stream, Member(path.name, 0, path, False), rejects, "2025-01-01 00:00:00"))

    assert fast == parsed and rejects.count == 0
    assert fast[0] == 4 and fast[1] == {"modifier rows": 1, "HCPCS Level II codes": 1}
    assert [row[:3] for row in fast[2]][:2] == [("0042T", "Ct perfusion w/contrast cbf", "Ct perfusion w/contrast cbf"),
                                                ("10060", "Drainage, skin abscess", "Drainage, skin abscess")]
    assert fast[2][2][1] == 'Drain "complex" abscess' and fast[2][2][5:8] == (2.45, 0.5, 0.1)
    assert fast[2][3][1] == "Office/outpatient visit new µg é’" and fast[2][3][5:9] == (None, None, None, "INACTIVE")


def test_a_file_with_lines_to_reject_is_left_to_the_line_parser(releases):
    with (releases / "cpt" / "PPRRVU25_JAN.csv").open("rb") as stream, pytest.raises(Unvouched):
        cpt._vouch_rvu(None, stream, "2025-01-01 00:00:00")


def test_a_load_in_a_fresh_process_does_not_import_pandas(migrated_db, releases):
    """A Python value handed to Arrow makes it import pandas (~0.35 s, more than a whole CPT load):
    the fast path builds its Arrow values from buffers, so a CLI load never pays for that."""
    script = ("import sys; from pathlib import Path; from hv_pipelines.core.terminology import load_release; "
              f"result = load_release({migrated_db!r}, 'cpt', [Path({str(releases / 'cpt' / 'PPRRVU25_APR.csv')!r})]); "
              "assert result.counts.new > 0 and not result.skipped.get('rejected'), result; "
              "print('pandas' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_arrow_strings_from_buffers_hold_the_values():
    assert cpt._strings(["", "Surgery", "β-lactamase"]).to_pylist() == ["", "Surgery", "β-lactamase"]
    assert cpt._strings([]).to_pylist() == []
