"""ICD-10-CM: CMS's fixed-width order file into "ICD10Code"."""

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.errors import DatabaseUnreachable
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.checks import ICD10CM_CODE
from hv_pipelines.core.terminology.icd10cm import SYSTEM, chapter, dotted
from hv_pipelines.core.terminology.loader import ReleaseCheckError
from hv_pipelines.core.terminology.release import ReleaseError


def _codes(url: str) -> dict[str, tuple]:
    with db.connect(url) as conn:
        rows = conn.execute('SELECT code, description, "shortDescription", category, subcategory, billable, '
                            'status, "effectiveDate"::date::text, "updatedAt" FROM "ICD10Code"').fetchall()
    return {r[0]: r[1:] for r in rows}


def test_codes_are_dotted_and_chapters_assigned():
    assert dotted("E119") == "E11.9" and dotted("E11") == "E11" and dotted("S72001A") == "S72.001A"
    assert chapter("O9A111").startswith("Pregnancy") and chapter("U071") == "Codes for special purposes"
    assert chapter("S72001A") == chapter("T88") != chapter("V00")
    assert chapter("QA00101") == chapter("Q99") == "Congenital malformations, deformations and chromosomal abnormalities"
    assert chapter("D49") == "Neoplasms" != chapter("D50") and chapter("H59") != chapter("H60")


# The category CMS added in the April 1, 2026 update (chapter 17, "Q00-QA0"): its second character is
# a letter. Order-file lines as CMS lays them out (code without its dot, 0 header / 1 billable).
QA0_LINES = (
    ("QA0", "0", "Genetic disorders, not elsewhere classified"),
    ("QA00", "0", "Neurodevelopmental disorders related to specific genetic pathogenic variants"),
    ("QA001", "0", "Neurodevelopmental disorders related to pathogenic variants in certain specific genes"),
    ("QA0010", "0", "Neurodevelopmental disorders, related to pathogenic variants in ion channel genes"),
    ("QA00101", "1", "SCN2A-related neurodevelopmental disorder"),
    ("QA00102", "1", "CACNA1A-related neurodevelopmental disorder"),
    ("QA00109", "1", "Neurodevelopmental disorder related to pathogenic variant in other ion channel gene"),
)


def _order_line(order: int, code: str, flag: str, title: str) -> str:
    return f"{order:05d} {code:<7} {flag} {title[:60]:<60} {title}\n"


def _release_with_qa0(releases, tmp_path):
    path = tmp_path / "icd10cm_order_2026.txt"
    text = (releases / "icd10cm" / "icd10cm_order_2026.txt").read_text()
    path.write_text(text + "".join(_order_line(100 + i, *line) for i, line in enumerate(QA0_LINES)))
    return path


def test_code_format_accepts_every_code_in_the_cms_layout():
    real = ["A00", "A00.0", "E11.9", "E11.65", "O9A", "O9A.111", "S72.001A", "U07.1", "Z00.00", "W06.XXXD",
            *(dotted(code) for code, _, _ in QA0_LINES)]
    assert [code for code in real if not ICD10CM_CODE.fullmatch(code)] == []


@pytest.mark.parametrize("damaged", [
    "1A00", "A0", "A00.", "A000", "A0.00", "A00.12345", "S72.001AB", "a00.0", "A00-0", "A00 ", " A00", "A00.0 ",
    "Ä00", ""])
def test_code_format_rejects_what_is_not_the_cms_layout(damaged):
    assert not ICD10CM_CODE.fullmatch(damaged)


def test_the_format_check_in_the_database_passes_qa0_and_fails_damaged_codes(empty_db):
    damaged = ["1A00", "A0", "A00.12345", "E11.", "e11.9", "E1.19", "A00.0\n"]
    with db.connect(empty_db) as conn:
        conn.execute("CREATE TEMP TABLE stage_icd10 (code text)")
        with conn.cursor().copy("COPY stage_icd10 (code) FROM STDIN") as copy:
            for code in ["E11.9", "O9A.111", *(dotted(code) for code, _, _ in QA0_LINES)]:
                copy.write_row((code,))
        good = {c.name: c for c in SYSTEM.checks(conn)}["icd10cm_code_format"]
        with conn.cursor().copy("COPY stage_icd10 (code) FROM STDIN") as copy:
            for code in damaged:
                copy.write_row((code,))
        bad = {c.name: c for c in SYSTEM.checks(conn)}["icd10cm_code_format"]
    assert good.passed and good.metadata["failed"] == 0
    assert not bad.passed and bad.metadata["failed"] == len(damaged)
    assert sorted(bad.metadata["examples"]) == sorted(damaged)[:5]


def test_the_april_2026_release_with_category_qa0_loads(migrated_db, releases, tmp_path):
    result = load_release(migrated_db, "icd10cm", [_release_with_qa0(releases, tmp_path)])
    checks = {c.name: c.passed for c in result.checks}
    assert checks["icd10cm_code_format"] is True
    codes = _codes(migrated_db)
    assert {"QA0", "QA0.0", "QA0.01", "QA0.010", "QA0.0101", "QA0.0102", "QA0.0109"} <= set(codes)
    assert codes["QA0.0101"][:5] == ("SCN2A-related neurodevelopmental disorder",
                                     "SCN2A-related neurodevelopmental disorder",
                                     "Congenital malformations, deformations and chromosomal abnormalities",
                                     "QA0", True)
    assert codes["QA0.010"][4] is False and codes["QA0.0101"][5] == "ACTIVE"
    assert result.counts.new == 12 + len(QA0_LINES)


def test_order_file_maps_billable_headers_and_rejects_the_malformed_line(migrated_db, releases, rejects_store):
    result = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"],
                          store=rejects_store)
    codes = _codes(migrated_db)
    assert len(codes) == 12 and result.counts.new == 12
    assert codes["E11.9"][:6] == ("Type 2 diabetes mellitus without complications",
                                  "Type 2 diabetes mellitus without complications",
                                  "Endocrine, nutritional and metabolic diseases", "E11", True, "ACTIVE")
    assert codes["E11"][4] is False and codes["O9A"][4] is False
    assert codes["O9A"][0].startswith("Maternal malignant neoplasms, traumatic injuries")
    assert codes["E11.9"][6] == "2024-10-01"
    assert result.rejects["count"] == 1
    assert result.rejects["examples"] == [
        {"file": "icd10cm_order_2025.txt", "line": 6, "reason": "not in the order-file layout"}]
    report = rejects_store.read_bytes(result.rejects_key).decode()
    assert "icd10cm_order_2025.txt,6,not in the order-file layout" in report


def test_second_load_of_same_release_changes_nothing(migrated_db, releases):
    path = [releases / "icd10cm" / "icd10cm_order_2025.txt"]
    load_release(migrated_db, "icd10cm", path)
    before = _codes(migrated_db)
    again = load_release(migrated_db, "icd10cm", path)
    assert again.counts.as_dict() == {"new": 0, "changed": 0, "retired": 0, "unchanged": 12}
    assert _codes(migrated_db) == before


def test_new_release_updates_adds_and_retires_exactly_the_right_codes(migrated_db, releases):
    load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    before = _codes(migrated_db)
    result = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2026.txt"])
    after = _codes(migrated_db)
    assert result.counts.as_dict() == {"new": 1, "changed": 1, "retired": 1, "unchanged": 10}
    assert after["A00.1"][5] == "INACTIVE"
    assert after["E11.66"][5] == "ACTIVE"
    assert after["E11.9"][0].endswith("(FY2026 wording)")
    assert after["E11.9"][6] == "2025-10-01"
    assert after["E11.9"][7] > before["E11.9"][7]
    assert after["Z00.00"] == before["Z00.00"], "an unchanged code keeps its effective date and updatedAt"


def test_older_release_is_refused_unless_forced(migrated_db, releases):
    from hv_pipelines.core.terminology.loader import StaleReleaseError

    load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2026.txt"])
    with pytest.raises(StaleReleaseError, match="^ICD-10-CM 2025 is older than the loaded release 2026: nothing was "
                                                "changed; load it with --force \\(asset config force: true\\) to go back$"):
        load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    forced = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"], force=True)
    assert forced.version == "2025" and forced.counts.new == 1
    # The going back is reported and recorded as forced: the history says who overrode the check.
    assert (forced.forced, forced.previous_version) == (True, "2026")
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT version, forced FROM hv_pipelines.terminology_releases WHERE system = 'icd10cm' "
                            "ORDER BY id").fetchall() == [("2026", False), ("2025", True)]


def test_malformed_code_fails_the_format_check_and_keeps_the_old_release(migrated_db, releases, tmp_path):
    load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    before = _codes(migrated_db)
    bad = tmp_path / "icd10cm_order_2026.txt"
    text = (releases / "icd10cm" / "icd10cm_order_2026.txt").read_text()
    bad.write_text(text.replace("00001 A00    ", "00001 1A00   "))
    with pytest.raises(ReleaseCheckError, match="icd10cm_code_format.*still loaded") as failure:
        load_release(migrated_db, "icd10cm", [bad])
    assert {c.name: c.passed for c in failure.value.checks}["icd10cm_code_format"] is False
    assert _codes(migrated_db) == before


def test_a_loinc_file_given_as_icd10cm_fails_before_touching_the_database(releases, tmp_path):
    wrong = tmp_path / "icd10cm_order_2026.txt"
    wrong.write_text('"LOINC_NUM","COMPONENT"\n"2345-7","Glucose"\n')
    with pytest.raises(ReleaseError, match="not a CMS ICD-10-CM order file"):
        load_release("postgresql://nobody@127.0.0.1:1/none", "icd10cm", [wrong])
    with pytest.raises(DatabaseUnreachable):
        db.connect("postgresql://nobody@127.0.0.1:1/none").__enter__()
