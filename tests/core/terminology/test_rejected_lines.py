"""A rejected line never retires its code, and a release with too many rejected lines is not merged.

Each code system's release is loaded, then loaded again with one code's line damaged (the code is
still readable): the code keeps its status and the load names it. The same release with that line
removed instead does retire the code — so the damaged case differs only by the rejected line.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import code_system, load_release
from hv_pipelines.core.terminology.loader import ReleaseCheckError
from hv_pipelines.core.terminology.release import ReleaseError
from tests.core.terminology.conftest import RELEASES

SNOMED = "SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z.zip"
# system: (release, member, {line prefix: damaged line}, the damaged line's code, other edits to both copies)
CASES = {
    "loinc": (RELEASES / "loinc" / "Loinc_2.78.zip", "Loinc.csv",
              '"8867-4",', '"8867-4","Heart rate","NRat","Pt","XXX"', "8867-4", {}),
    "snomed": (RELEASES / "snomed" / SNOMED, "sct2_Concept_Snapshot_INT_20250101.txt",
               "73211009\t", "73211009\t20020131\t1", "73211009", {"12345X\t": None}),
    "rxnorm": (RELEASES / "rxnorm" / "RxNorm_full_10062025.zip", "RXNCONSO.RRF",
               "214183|", "214183|ENG|truncated", "214183", {"X5489|": None}),
    "icd10cm": (RELEASES / "icd10cm" / "icd10cm_order_2025.txt", "icd10cm_order_2025.txt",
                "00005 E119 ", "00005 E119    1 Type 2", "E11.9", {"00099 E11 broken": None}),
    "cpt": (RELEASES / "cpt" / "PPRRVU25_JAN.csv", "PPRRVU25_JAN.csv",
            "10060,", "10060,,Drainage of skin abscess,A,", "10060", {"99999,": None}),
}


def _edit(data: bytes, edits: dict[str, str | None]) -> bytes:
    lines = data.decode("utf-8").splitlines(keepends=True)
    for prefix, replacement in edits.items():
        [at] = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        ending = lines[at][len(lines[at].rstrip("\r\n")):]
        lines[at] = "" if replacement is None else replacement + ending
    return "".join(lines).encode("utf-8")


def rewritten(release: Path, into: Path, member: str, edits: dict[str, str | None]) -> Path:
    """A copy of `release` (zip or file, same name) with `member`'s lines edited."""
    into.mkdir(parents=True)
    copy = into / release.name
    if release.suffix != ".zip":
        copy.write_bytes(_edit(release.read_bytes(), edits))
        return copy
    with zipfile.ZipFile(release) as source, zipfile.ZipFile(copy, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info, _edit(data, edits) if info.filename.endswith(member) else data)
    return copy


def _status(url: str, system: str, code: str) -> str | None:
    target = code_system(system).target
    with db.connect(url) as conn:
        row = conn.execute(f'SELECT status::text FROM "{target.table}" WHERE "{target.key}"::text = %s',
                           (code,)).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("system", CASES)
def test_a_code_whose_line_was_rejected_is_not_retired(system: str, migrated_db: str, tmp_path: Path) -> None:
    release, member, prefix, damaged_line, code, other = CASES[system]
    clean = load_release(migrated_db, system, [rewritten(release, tmp_path / "clean", member, other)])
    before = _status(migrated_db, system, code)
    assert before is not None and before != code_system(system).target.retired_status

    damaged = load_release(migrated_db, system, [rewritten(release, tmp_path / "damaged", member,
                                                           {**other, prefix: damaged_line})])

    assert damaged.rejects["count"] == clean.rejects["count"] + 1 and damaged.counts.retired == 0
    assert _status(migrated_db, system, code) == before
    assert any(f"not retired: 1 code(s) whose line this release rejected ({code})" in n for n in damaged.notes)

    dropped = load_release(migrated_db, system, [rewritten(release, tmp_path / "dropped", member,
                                                           {**other, prefix: None})])
    assert dropped.rejects["count"] == clean.rejects["count"] and dropped.counts.retired == 1
    # Only a rejected line whose code cannot be read holds the whole retirement back, and says so.
    assert not any(n.startswith("no code was retired") for n in clean.notes + damaged.notes + dropped.notes)
    assert _status(migrated_db, system, code) == code_system(system).target.retired_status


def test_a_rejected_line_whose_code_cannot_be_read_retires_nothing(migrated_db: str, tmp_path: Path) -> None:
    release, member, prefix, _, code, _ = CASES["loinc"]
    load_release(migrated_db, "loinc", [release])

    result = load_release(migrated_db, "loinc", [rewritten(release, tmp_path / "garbled", member,
                                                           {prefix: '"88#7-?","Heart rate"'})])

    assert result.counts.retired == 0 and _status(migrated_db, "loinc", code) == "ACTIVE"
    assert ("no code was retired: 1 rejected line(s) of the code file name no readable code, so which codes they "
            "were cannot be told; fix the release (see the rejects report) and load it again to retire what it "
            "dropped") in result.notes


def test_a_first_load_with_an_unreadable_rejected_line_does_not_speak_of_retiring(migrated_db: str,
                                                                                   tmp_path: Path) -> None:
    """Into an empty code table nothing can be retired: the "no code was retired ... load it again"
    advice of a reload would send the operator after a problem that does not exist."""
    release, member, prefix, _, code, _ = CASES["loinc"]
    result = load_release(migrated_db, "loinc", [rewritten(release, tmp_path / "garbled", member,
                                                           {prefix: '"88#7-?","Heart rate"'})])

    assert result.rejects["count"] >= 1 and result.counts.new > 0 and _status(migrated_db, "loinc", code) is None
    assert not [note for note in result.notes if "retire" in note]


def test_too_many_rejected_lines_fail_the_load_and_change_nothing(migrated_db: str, tmp_path: Path,
                                                                  rejects_store) -> None:
    release, member, *_ = CASES["icd10cm"]
    load_release(migrated_db, "icd10cm", [release])
    with db.connect(migrated_db) as conn:
        before = conn.execute('SELECT code, status, "updatedAt" FROM "ICD10Code" ORDER BY code').fetchall()
    lines = release.read_text().splitlines()
    damaged = tmp_path / release.name
    damaged.write_text("\n".join(lines + [f"{90000 + i:05d} Z99{i:02d}  1 truncated" for i in range(10)]) + "\n")

    with pytest.raises(ReleaseCheckError, match="failed rejects_within_share: nothing was merged") as failure:
        load_release(migrated_db, "icd10cm", [damaged], store=rejects_store)
    # The refused release's rejected lines are published, and the refusal says where.
    [report] = [o.key for o in rejects_store.list("terminology/rejects/icd10cm/")]
    assert str(failure.value).endswith(f"; rejected lines: {report}")
    assert rejects_store.read_bytes(report).decode().count("not in the order-file layout") == 11
    [check] = [c for c in failure.value.checks if c.name == "rejects_within_share"]
    assert check.metadata["rejected"] == 11 and check.metadata["allowed"] == 10  # the release's own bad line too
    with db.connect(migrated_db) as conn:
        assert conn.execute('SELECT code, status, "updatedAt" FROM "ICD10Code" ORDER BY code').fetchall() == before

    assert load_release(migrated_db, "icd10cm", [damaged], max_reject_share=0.5).rejects["count"] == 11


def test_a_release_whose_name_tells_no_version_loads_only_with_the_version_given(migrated_db: str,
                                                                                 tmp_path: Path) -> None:
    release = CASES["icd10cm"][0]
    unnamed = tmp_path / "icd10cm_order_new.txt"  # the order file, with no year in its name
    unnamed.write_bytes(release.read_bytes())
    with pytest.raises(ReleaseError, match="cannot tell the ICD-10-CM version of .*pass the version explicitly"):
        load_release(migrated_db, "icd10cm", [unnamed])
    assert load_release(migrated_db, "icd10cm", [unnamed], version="2025").version == "2025"


def test_a_release_loaded_with_rejected_lines_publishes_them_and_its_history_says_what_was_loaded(
        migrated_db: str, tmp_path: Path, rejects_store) -> None:
    """A release within its reject share loads; its rejected lines are still published, and the release
    history (what `hv terminology status` and the next load's comparisons read) records the files'
    checksums, the counts, the rejected lines and where their report is."""
    release, *_ = CASES["icd10cm"]
    damaged = tmp_path / release.name
    damaged.write_text(release.read_text() + "".join(f"{90000 + i:05d} Z99{i:02d}  1 truncated\n" for i in range(3)))

    result = load_release(migrated_db, "icd10cm", [damaged], store=rejects_store, max_reject_share=0.5)

    [report] = [o.key for o in rejects_store.list("terminology/rejects/icd10cm/2025/")]
    assert result.rejects_key == report and result.rejects["count"] == 4  # the release's own bad line too
    assert rejects_store.read_bytes(report).decode().count("not in the order-file layout") == 4
    with db.connect(migrated_db) as conn:
        recorded = conn.execute(
            "SELECT version, files, counts, rows_staged, rejected, rejects_key, forced "
            "FROM hv_pipelines.terminology_releases WHERE system = 'icd10cm'").fetchall()
    assert result.files == {damaged.name: hashlib.sha256(damaged.read_bytes()).hexdigest()}
    assert recorded == [("2025", result.files, {"codes": result.counts.as_dict(), "rejected": 4},
                         result.rows_staged, 4, report, False)]


def test_a_load_reports_the_release_it_replaced_and_each_related_tables_counts(migrated_db: str) -> None:
    """What the CLI and the asset's metadata print: the system, the version loaded over which one, the
    related tables' merge counts (recorded in the history beside the codes'), how long it took."""
    first = load_release(migrated_db, "loinc", [RELEASES / "loinc" / "Loinc_2.77.zip"])
    second = load_release(migrated_db, "loinc", [RELEASES / "loinc" / "Loinc_2.78.zip"])

    assert (first.system, first.version, first.previous_version) == ("loinc", "2.77", None)
    assert (second.system, second.version, second.previous_version, second.forced) == ("loinc", "2.78", "2.77", False)
    assert set(second.related) == {"LOINCUnit", "CodeMapping"} and 0 <= second.seconds < 600
    with db.connect(migrated_db) as conn:
        [(counts,)] = conn.execute("SELECT counts FROM hv_pipelines.terminology_releases "
                                   "WHERE system = 'loinc' AND version = '2.78'").fetchall()
    assert counts == {"codes": second.counts.as_dict(),
                      **{name: merged.as_dict() for name, merged in second.related.items()}, "rejected": 0}
