"""The shared blocking checks, fed real damaged releases: a code listed twice, a release far outside the
row-count band. Each is refused before the merge, and the database is exactly as it was: every row of
the code tables (ids and `updatedAt` included) and the release history.

Duplicates are possible where a code row is staged as the publisher's file lists it: LOINC's
Loinc.csv, ICD-10-CM's order file, SNOMED CT's Concept snapshot and CPT's PPRRVU global rows. RxNorm's
staged codes are one `DISTINCT ON (rxcui)` per concept, so a repeated RXNCONSO line cannot duplicate one.
A duplicate of a code that is already loaded is the dangerous case: the merge's UPDATE would take
one of the two lines, whichever the join meets first, without any error.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.loader import DEFAULT_COUNT_BAND, ReleaseCheckError

TABLES = {"loinc": ("LOINCCode", "LOINCUnit", "CodeMapping"), "icd10cm": ("ICD10Code",),
          "snomed": ("SNOMEDCode",), "cpt": ("CPTCode",)}
TITLES = {"loinc": "LOINC", "icd10cm": "ICD-10-CM"}
# The end of every refusal: what to do next.
ADVICE = ("fix or replace the release (or widen count_band when the size change is expected, max_reject_share when "
          "the rejects are)")
SNOMED_JULY = "SnomedCT_InternationalRF2_PRODUCTION_20250701T120000Z.zip"
SNOMED_JANUARY = "SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z.zip"


def database_state(url: str, system: str) -> dict[str, list[tuple]]:
    """Every row of the system's tables, as text, and its release history (once a load created it)."""
    with db.connect(url) as conn:
        state = {table: conn.execute(f'SELECT t::text FROM "{table}" t ORDER BY 1').fetchall()
                 for table in TABLES[system]}
        if conn.execute("SELECT to_regclass('hv_pipelines.terminology_releases')").fetchone()[0]:
            state["history"] = conn.execute(
                "SELECT h::text FROM hv_pipelines.terminology_releases h WHERE system = %s ORDER BY id",
                (system,)).fetchall()
    return state


def rezip(source: Path, target: Path, member_suffix: str, edit) -> Path:
    """`source` with the member ending in `member_suffix` passed through `edit` (bytes -> bytes)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, edit(data) if info.filename.endswith(member_suffix) else data)
    return target


def appended(source: Path, folder: Path, extra) -> Path:
    """A copy of the plain-text release file `source`, named alike in `folder`, ending in `extra(its text)`."""
    text = source.read_bytes()
    target = folder / source.name
    target.write_bytes(text + extra(text))
    return target


def line_starting(data: bytes, prefix: bytes) -> bytes:
    [line] = [line for line in data.splitlines(keepends=True) if line.startswith(prefix)]
    return line


def refused(url: str, system: str, paths: list[Path], check: str) -> ReleaseCheckError:
    """Load `paths`, expecting only `check` to fail and the database to be left exactly as it was."""
    before = database_state(url, system)
    with pytest.raises(ReleaseCheckError, match=f"failed {check}: nothing was merged") as failure:
        load_release(url, system, paths)
    assert [c.name for c in failure.value.checks if not c.passed] == [check]
    assert database_state(url, system) == before
    return failure.value


def duplicates_of(error: ReleaseCheckError) -> list[str]:
    """The duplicated codes the check names (one, in every test here)."""
    metadata = {c.name: c for c in error.checks}["no_duplicate_codes"].metadata
    assert metadata["duplicates"] == len(metadata["examples"])
    return metadata["examples"]


def test_loinc_release_listing_a_loaded_code_twice_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])

    def twice(data: bytes) -> bytes:
        glucose = line_starting(data, b'"2345-7"')
        return data + glucose.replace(b"(2.78 wording)", b"(a second wording)")

    bad = rezip(releases / "loinc" / "Loinc_2.78.zip", tmp_path / "Loinc_2.78.zip", "Loinc.csv", twice)
    assert duplicates_of(refused(migrated_db, "loinc", [bad], "no_duplicate_codes")) == ["2345-7"]


def test_icd10cm_order_file_listing_a_code_twice_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    bad = appended(releases / "icd10cm" / "icd10cm_order_2026.txt", tmp_path,
                   lambda text: line_starting(text, b"00004 E119 ").replace(b"00004", b"99999"))

    assert duplicates_of(refused(migrated_db, "icd10cm", [bad], "no_duplicate_codes")) == ["E11.9"]


def test_snomed_concept_snapshot_listing_a_concept_twice_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "snomed", [releases / "snomed" / SNOMED_JANUARY])

    def full_row_in_snapshot(data: bytes) -> bytes:  # an older state of the concept, as a Full file holds
        return data + b"73211009\t20020131\t0\t900000000000207008\t900000000000074008\n"

    bad = rezip(releases / "snomed" / SNOMED_JULY, tmp_path / SNOMED_JULY, "sct2_Concept_Snapshot_INT_20250701.txt",
                full_row_in_snapshot)
    assert duplicates_of(refused(migrated_db, "snomed", [bad], "no_duplicate_codes")) == ["73211009"]


def test_cpt_rvu_file_listing_a_global_row_twice_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "cpt", [releases / "cpt" / "PPRRVU25_JAN.csv"])
    bad = appended(releases / "cpt" / "PPRRVU25_APR.csv", tmp_path,
                   lambda text: line_starting(text, b"99213,,").replace(b"1.31", b"9.99"))

    assert duplicates_of(refused(migrated_db, "cpt", [bad], "no_duplicate_codes")) == ["99213"]


def test_a_first_release_with_a_code_twice_is_refused_too(migrated_db, releases, tmp_path):
    bad = appended(releases / "icd10cm" / "icd10cm_order_2026.txt", tmp_path,
                   lambda text: line_starting(text, b"00001 A00 ").replace(b"00001", b"99999"))

    assert duplicates_of(refused(migrated_db, "icd10cm", [bad], "no_duplicate_codes")) == ["A00"]


def test_a_first_snomed_or_cpt_release_with_a_code_twice_is_refused(migrated_db, releases, tmp_path):
    """A first load leaves the duplicate check to the rebuild of the code table's unique key (no pass
    of its own over the staged rows): the rebuild's failure is reported as the check's, with the code."""
    def twice(data: bytes) -> bytes:
        return data + b"73211009\t20020131\t0\t900000000000207008\t900000000000074008\n"

    bad = rezip(releases / "snomed" / SNOMED_JULY, tmp_path / SNOMED_JULY, "sct2_Concept_Snapshot_INT_20250701.txt",
                twice)
    assert duplicates_of(refused(migrated_db, "snomed", [bad], "no_duplicate_codes")) == ["73211009"]
    bad = appended(releases / "cpt" / "PPRRVU25_APR.csv", tmp_path,
                   lambda text: line_starting(text, b"99213,,").replace(b"1.31", b"9.99"))
    assert duplicates_of(refused(migrated_db, "cpt", [bad], "no_duplicate_codes")) == ["99213"]


def test_a_first_loinc_release_with_a_code_twice_is_refused(migrated_db, releases, tmp_path):
    """LOINC keeps its unique key through a first load (its related merges look codes up by it): the
    insert itself fails on the second line of a code, and that is reported as the check's failure."""
    def twice(data: bytes) -> bytes:
        glucose = line_starting(data, b'"2345-7"')
        return data + glucose.replace(b"(2.78 wording)", b"(a second wording)")

    bad = rezip(releases / "loinc" / "Loinc_2.78.zip", tmp_path / "Loinc_2.78.zip", "Loinc.csv", twice)
    assert duplicates_of(refused(migrated_db, "loinc", [bad], "no_duplicate_codes")) == ["2345-7"]
    assert database_state(migrated_db, "loinc") == {**{table: [] for table in TABLES["loinc"]}, "history": []}
    result = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.78.zip"])
    check = {c.name: c for c in result.checks}["no_duplicate_codes"]
    assert check.passed and check.description.endswith("(checked by the code table's unique key)")


def test_a_first_release_failing_another_check_names_its_duplicates_too(migrated_db, releases, tmp_path):
    bad = appended(releases / "icd10cm" / "icd10cm_order_2026.txt", tmp_path,
                   lambda text: line_starting(text, b"00001 A00 ").replace(b"00001", b"99999")
                   + line_starting(text, b"00001 A00 ").replace(b"00001", b"99998").replace(b"A00 ", b"100 "))
    with pytest.raises(ReleaseCheckError, match="failed no_duplicate_codes, icd10cm_code_format") as failure:
        load_release(migrated_db, "icd10cm", [bad])
    assert duplicates_of(failure.value) == ["A00"]
    assert database_state(migrated_db, "icd10cm") == {"ICD10Code": [], "history": []}


def test_a_first_load_says_its_key_checked_the_duplicates(migrated_db, releases):
    result = load_release(migrated_db, "cpt", [releases / "cpt" / "PPRRVU25_JAN.csv"])
    check = {c.name: c for c in result.checks}["no_duplicate_codes"]
    assert check.passed and check.description.endswith("(checked by the code table's unique key)")
    again = {c.name: c for c in load_release(migrated_db, "cpt", [releases / "cpt" / "PPRRVU25_APR.csv"]).checks}
    assert again["no_duplicate_codes"].description == "every code appears once in the release"
    assert again["no_duplicate_codes"].metadata == check.metadata == {"duplicates": 0, "examples": []}


def _icd10cm_lines(count: int) -> bytes:
    """`count` well-formed order-file lines for codes the fixtures do not hold (Z99.0 ...)."""
    lines = []
    for index in range(count):
        code = f"Z9{index // 100}{index % 100:02d}"  # Z90.00, Z90.01, ...: the dotted form is valid
        short = f"Synthetic code {index}"
        lines.append(f"{90000 + index:05d} {code:<7} 1 {short:<60} {short} (long)\n")
    return "".join(lines).encode()


def test_a_release_far_larger_than_the_loaded_one_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    # A release concatenated with another file.
    bloated = appended(releases / "icd10cm" / "icd10cm_order_2026.txt", tmp_path, lambda _: _icd10cm_lines(200))

    error = refused(migrated_db, "icd10cm", [bloated], "row_count_within_band")
    band = {c.name: c for c in error.checks}["row_count_within_band"].metadata
    assert band["staged"] > band["high"] and band["previous"] < 20 and band["band"] == DEFAULT_COUNT_BAND
    # What the operator is told is live: the loaded release, by its version.
    assert str(error) == (f"{TITLES['icd10cm']} 2026 failed row_count_within_band: nothing was merged, release 2025 "
                          f"is still loaded; {ADVICE}")


def test_a_release_far_smaller_than_the_loaded_one_is_refused(migrated_db, releases, tmp_path):
    load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])

    def cut_short(data: bytes) -> bytes:  # the table ends after its first two records, as a cut download
        return data[:data.index(b'"2160-0"')]

    short = rezip(releases / "loinc" / "Loinc_2.78.zip", tmp_path / "Loinc_2.78.zip", "Loinc.csv", cut_short)
    error = refused(migrated_db, "loinc", [short], "row_count_within_band")
    band = {c.name: c for c in error.checks}["row_count_within_band"].metadata
    assert band["staged"] == 2 and band["staged"] < band["low"] and band["band"] == DEFAULT_COUNT_BAND


def test_a_first_release_without_a_single_code_is_refused(migrated_db, releases, tmp_path):
    empty = tmp_path / "Loinc_2.78.zip"
    rezip(releases / "loinc" / "Loinc_2.78.zip", empty, "Loinc.csv", lambda data: data.splitlines(True)[0])

    error = refused(migrated_db, "loinc", [empty], "row_count_within_band")
    assert {c.name: c for c in error.checks}["row_count_within_band"].metadata["staged"] == 0
    # No release was ever loaded: no version to name, whatever the table held before stays.
    assert str(error) == (f"{TITLES['loinc']} 2.78 failed row_count_within_band: nothing was merged, the previous "
                          f"data is still loaded; {ADVICE}")


def test_a_release_just_outside_the_band_is_refused(migrated_db, releases, tmp_path):
    # A third more codes than the loaded release: outside ±10 %, though well short of double.
    loaded = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    grown = appended(releases / "icd10cm" / "icd10cm_order_2026.txt", tmp_path,
                     lambda _: _icd10cm_lines(loaded.rows_staged // 3))

    error = refused(migrated_db, "icd10cm", [grown], "row_count_within_band")
    band = {c.name: c for c in error.checks}["row_count_within_band"].metadata
    assert band["high"] < band["staged"] < 2 * band["previous"]


def test_a_first_release_of_a_single_code_loads(migrated_db, releases, tmp_path):
    def one_code(data: bytes) -> bytes:
        header, glucose = data.splitlines(True)[:2]
        return header + glucose

    single = rezip(releases / "loinc" / "Loinc_2.78.zip", tmp_path / "Loinc_2.78.zip", "Loinc.csv", one_code)
    result = load_release(migrated_db, "loinc", [single])
    assert result.rows_staged == 1 and {c.name: c.passed for c in result.checks}["row_count_within_band"]


@pytest.mark.parametrize("edge", ["low", "high"])
def test_a_release_exactly_at_an_edge_of_the_band_loads(migrated_db, releases, tmp_path, edge):
    # 12 codes loaded; a band of 50 % admits 6 to 18, both included.
    loaded = load_release(migrated_db, "icd10cm", [releases / "icd10cm" / "icd10cm_order_2025.txt"])
    source = releases / "icd10cm" / "icd10cm_order_2026.txt"
    release = tmp_path / source.name
    if edge == "low":
        release.write_bytes(b"".join(source.read_bytes().splitlines(True)[:6]))
    else:
        release = appended(source, tmp_path, lambda _: _icd10cm_lines(6))

    result = load_release(migrated_db, "icd10cm", [release], count_band=0.5)

    band = {c.name: c for c in result.checks}["row_count_within_band"]
    assert loaded.rows_staged == 12 and band.passed and band.metadata[edge] == result.rows_staged
