"""LOINC: Loinc.csv + MapTo.csv (streamed from the release zip) into "LOINCCode", "LOINCUnit", "CodeMapping"."""

import zipfile

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.loader import ReleaseCheckError
from hv_pipelines.core.terminology.loinc import (
    array_literal,
    category,
    component_type,
    related_names,
    ucum_units,
)
from hv_pipelines.core.terminology.release import ReleaseError
from hv_pipelines.core.terminology.staging import copy_into, create_stage


def _rows(url: str, query: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute(query).fetchall()


def _codes(url: str) -> dict[str, tuple]:
    rows = _rows(url, 'SELECT "loincNumber", component, category::text, "componentType"::text, "commonName", '
                      '"shortName", "longName", "relatedNames", status, version, method, "updatedAt" FROM "LOINCCode"')
    return {r[0]: r[1:] for r in rows}


def _units(url: str) -> set[tuple]:
    return set(_rows(url, 'SELECT c."loincNumber", u."ucumCode", u."isPrimary" FROM "LOINCUnit" u '
                          'JOIN "LOINCCode" c ON c.id = u."loincCodeId"'))


def _mappings(url: str) -> set[tuple]:
    return set(_rows(url, 'SELECT "loincCode", "targetSystem", "targetCode", "targetName", relationship, source '
                          'FROM "CodeMapping"'))


def test_class_tables_map_to_the_platform_enums():
    assert category("CHEM", "1") == "LABORATORY" and category("BP.ATOM", "2") == "CLINICAL"
    assert category("PANEL.ATTACH", "3") == "CLAIMS" and category("PANEL.SURVEY.PHQ", "4") == "SURVEY"
    assert category("DOC.ONTOLOGY", "2") == "DOCUMENT" and category("RAD", "2") == "RADIOLOGY"
    assert category("MISC", "9") is None
    assert component_type("PANEL.HEM/BC") == "HEMATOLOGY" and component_type("DRUG/TOX") == "TOXICOLOGY"
    assert component_type("MOLPATH.MUT") == "GENETICS" and component_type("HRTRATE.ATOM") == "VITAL_SIGNS"
    assert component_type("SPEC") == "OTHER"
    assert related_names("Creat; ; Creat;  SerPl ") == ["Creat", "SerPl"]


def test_ucum_units_are_distinct_in_order_the_first_primary():
    """Spaces around a unit go, nothing else (a tab stays: it is not a blank a unit may be padded with)."""
    assert ucum_units(" mg/dL ; ;mg/dL;\tmmol/L ;mmol/L") == ["mg/dL", "\tmmol/L", "mmol/L"]
    assert ucum_units("") == [] and ucum_units(" ; ;") == []


def test_release_zip_maps_every_column_and_quarantines_malformed_rows(migrated_db, releases, rejects_store):
    result = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"], store=rejects_store)
    codes = _codes(migrated_db)
    assert result.version == "2.77" and result.counts.new == 13 == len(codes)
    glucose = codes["2345-7"]
    assert glucose[:5] == ("Glucose", "LABORATORY", "CHEMISTRY", "Glucose [Mass/Vol]", "Glucose SerPl-mCnc")
    assert glucose[5] == "Glucose [Mass/volume] in Serum or Plasma"
    assert glucose[6][:3] == ["Glu", "Gluc", "Glucoseur"] and len(glucose[6]) == 17
    assert glucose[7:10] == ("ACTIVE", "2.77", None)
    assert codes["52070-0"][5] == 'Claims attachment "rehabilitation, physical" panel'
    assert codes["52070-0"][1] == "CLAIMS"
    assert codes["1952-1"][5] == "β-2-Microglobulin [Mass/volume] in Serum or Plasma — 25 µg/mL scale"
    assert codes["11488-4"][1:3] == ("DOCUMENT", "OTHER") and codes["11488-4"][4] == "Consult note"
    assert codes["24627-2"][1] == "RADIOLOGY" and codes["8480-6"][1:3] == ("CLINICAL", "VITAL_SIGNS")
    assert codes["44249-1"][1] == "SURVEY" and codes["600-7"][2:3] == ("MICROBIOLOGY",)
    assert codes["41652-9"][7] == "DEPRECATED" and codes["41652-9"][9] == "Test strip manual"
    assert ("2345-7", "mg/dL", True) in _units(migrated_db) and ("2345-7", "mmol/L", False) in _units(migrated_db)
    assert _mappings(migrated_db) == {("41652-9", "LOINC", "2345-7", "Glucose [Mass/volume] in Serum or Plasma",
                                       "REPLACED_BY", "LOINC MapTo")}
    assert result.rejects["by_reason"] == {
        "2 fields, expected 40": 1, "CLASSTYPE is not 1-4": 1,
        "MAP_TO names a LOINC code that is in neither the release nor the database": 1}
    lines = {(e["file"], e["line"]) for e in result.rejects["examples"]}
    assert lines == {("LoincTable/Loinc.csv", 4), ("LoincTable/Loinc.csv", 8), ("LoincTable/MapTo.csv", 3)}
    assert result.rejects_key.startswith("terminology/rejects/loinc/2.77/")  # where an operator looks for it
    report = rejects_store.read_bytes(result.rejects_key).decode()
    assert "LoincTable/Loinc.csv,8,CLASSTYPE is not 1-4" in report
    assert "LoincTable/MapTo.csv,3,MAP_TO names a LOINC code" in report
    assert set(result.files) == {"Loinc_2.77.zip"} and len(result.files["Loinc_2.77.zip"]) == 64


def test_reload_changes_nothing_and_next_release_updates_retires_and_remaps(migrated_db, releases):
    load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])
    before, units_before = _codes(migrated_db), _units(migrated_db)
    again = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])
    assert again.counts.as_dict() == {"new": 0, "changed": 0, "retired": 0, "unchanged": 13}
    assert {k: v.as_dict()["new"] + v.as_dict()["changed"] + v.as_dict()["retired"]
            for k, v in again.related.items()} == {"LOINCUnit": 0, "CodeMapping": 0}
    assert _codes(migrated_db) == before and _units(migrated_db) == units_before

    result = load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.78.zip"], count_band=0.5)
    after = _codes(migrated_db)
    assert result.counts.as_dict() == {"new": 1, "changed": 3, "retired": 1, "unchanged": 9}
    assert after["19113-0"][7] == "DEPRECATED", "a term missing from the release is deprecated, never deleted"
    assert after["718-7"][7] == "DEPRECATED" and after["4548-4"][7] == "ACTIVE"
    assert after["2345-7"][5].endswith("(2.78 wording)") and after["2345-7"][8] == "2.78"
    assert after["2160-0"] == before["2160-0"], "unchanged terms keep their updatedAt"
    units = _units(migrated_db)
    assert ("1952-1", "mg/L", True) in units and not any(u[:2] == ("1952-1", "ug/mL") for u in units)
    assert ("718-7", "LOINC", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "REPLACED_BY",
            "LOINC MapTo") in _mappings(migrated_db)


def test_bad_check_digit_blocks_the_release_and_keeps_the_loaded_one(migrated_db, releases, tmp_path):
    load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])
    before = _codes(migrated_db)
    bad = tmp_path / "Loinc_2.78.zip"
    with zipfile.ZipFile(releases / "loinc" / "Loinc_2.78.zip") as src, zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("Loinc.csv"):
                data = data.replace(b'"2160-0"', b'"2160-1"')
            out.writestr(info, data)
    with pytest.raises(ReleaseCheckError, match="loinc_check_digits.*release 2.77 is still loaded") as failure:
        load_release(migrated_db, "loinc", [bad], count_band=0.5)
    check = {c.name: c for c in failure.value.checks}["loinc_check_digits"]
    assert check.metadata["failed"] == 1 and check.metadata["examples"] == ["2160-1"]
    assert _codes(migrated_db) == before


def test_wrong_kind_and_truncated_zip_fail_before_the_database(releases, tmp_path):
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    rrf = tmp_path / "Loinc_2.78"
    rrf.mkdir()
    (rrf / "Loinc.csv").write_text("1000|ENG|P|L1|PF|S1|Y|A1||||RXNORM|IN|1000|aspirin||N|4096|\n")
    with pytest.raises(ReleaseError, match="not LOINC's Loinc.csv: its header lacks LOINC_NUM"):
        load_release(unreachable, "loinc", [rrf])
    truncated = tmp_path / "Loinc_2.78.zip"
    truncated.write_bytes((releases / "loinc" / "Loinc_2.78.zip").read_bytes()[:1500])
    with pytest.raises(ReleaseError, match="not a complete zip archive"):
        load_release(unreachable, "loinc", [truncated])
    rxnorm = tmp_path / "RxNorm_full_11032025.zip"
    with zipfile.ZipFile(rxnorm, "w") as archive:
        archive.writestr("rrf/RXNCONSO.RRF", "1000|ENG|P|L1|PF|S1|Y|A1||||RXNORM|IN|1000|aspirin||N|4096|\n")
    with pytest.raises(ReleaseError, match="looks like a RxNorm release, not LOINC: load it as `rxnorm`"):
        load_release(unreachable, "loinc", [rxnorm])


def test_progress_counts_every_byte_the_load_reads(migrated_db, releases):
    from hv_pipelines.core.terminology.loader import release_bytes

    path = [releases / "loinc" / "Loinc_2.77.zip"]
    seen: list[int] = []
    load_release(migrated_db, "loinc", path, progress=seen.append)
    assert sum(seen) == release_bytes("loinc", path) > 4000


def test_zip_damaged_mid_stream_rolls_back_everything_it_staged(migrated_db, releases, tmp_path):
    load_release(migrated_db, "loinc", [releases / "loinc" / "Loinc_2.77.zip"])
    before = _codes(migrated_db)
    damaged = tmp_path / "Loinc_2.78.zip"
    with zipfile.ZipFile(releases / "loinc" / "Loinc_2.78.zip") as src, \
            zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info))
    # One byte of a stored member changed: every row still parses, the CRC fails only at its end.
    raw = damaged.read_bytes()
    at = raw.index(b"(2.78 wording)")
    damaged.write_bytes(raw[:at] + b"[" + raw[at + 1:])
    with pytest.raises(ReleaseError, match="Loinc.csv in Loinc_2.78.zip cannot be read.*download the release again"):
        load_release(migrated_db, "loinc", [damaged], count_band=0.5)
    assert _codes(migrated_db) == before


def test_related_names_reach_the_array_column_as_written(empty_db):
    """The names go to COPY as a text[] literal: quotes, backslashes, commas, braces, NULL and blanks
    inside a name come back as they were, and no names is an empty array."""
    names = ['Creat "serum"', "C:\\path\\", "a,b", "{x}", "NULL", " ", "tab\there", "µg/dL"]
    with db.connect(empty_db) as conn:
        create_stage(conn, "names", "names text[]")
        with copy_into(conn, "names", ("names",)) as sink:
            sink.row((array_literal(names),))
            sink.row((array_literal([]),))
        assert conn.execute("SELECT names FROM names").fetchall() == [(names,), ([],)]
