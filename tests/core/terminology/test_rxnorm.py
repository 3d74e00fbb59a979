"""RxNorm: RXNCONSO/RXNREL/RXNSAT (streamed from the full-release zip) into "RxNormCode"."""

import zipfile

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.release import ReleaseError

OCTOBER = "RxNorm_full_10062025.zip"
NOVEMBER = "RxNorm_full_11032025.zip"


def _codes(url: str) -> dict[str, tuple]:
    with db.connect(url) as conn:
        rows = conn.execute('SELECT rxcui, name, synonym, "termType", strength, "doseForm", ingredients, '
                            '"brandNames", status, "updatedAt" FROM "RxNormCode"').fetchall()
    return {r[0]: r[1:] for r in rows}


def test_normalised_names_relations_and_suppression(migrated_db, releases):
    result = load_release(migrated_db, "rxnorm", [releases / "rxnorm" / OCTOBER])
    codes = _codes(migrated_db)
    assert result.version == "2025-10-06" and len(codes) == 12 == result.counts.new
    assert codes["313782"][:8] == ("acetaminophen 325 MG Oral Tablet", "Acetaminophen 325 MG Oral Tablet (tall man)",
                                   "SCD", "325 MG", "Oral Tablet", ["acetaminophen"], [], "ACTIVE")
    assert codes["857005"][2:6] == ("SCD", "325 MG / 5 MG", "Oral Tablet",
                                    ["acetaminophen", "hydrocodone", "hydrocodone bitartrate"])
    assert codes["209387"][:8] == ("acetaminophen 325 MG Oral Tablet [Tylenol]", "Tylenol 325 MG Oral Tablet", "SBD",
                                   "325 MG", "Oral Tablet", ["acetaminophen"], ["Tylenol"], "ACTIVE")
    assert codes["161"][:8] == ("acetaminophen", "APAP", "IN", None, None, [], ["Tylenol"], "ACTIVE")
    assert codes["2001"][:3] == ("obsolete sedative 10 MG Oral Tablet", None, "SCD")
    assert codes["2001"][7] == "SUPPRESSED", "a concept whose atoms are all suppressed is flagged, not active"
    assert codes["858000"][3:6] == ("325 MG", None, ["acetaminophen"])
    assert result.rejects["by_reason"] == {"3 fields, expected 18 and a trailing pipe": 1,
                                           "malformed identifier, or an empty or non-UTF-8 value": 1}
    assert {(e["file"], e["line"]) for e in result.rejects["examples"]} == {("rrf/RXNCONSO.RRF", 5),
                                                                             ("rrf/RXNCONSO.RRF", 7)}
    assert result.skipped["RXNCONSO rows of other sources"] == 2


def test_next_release_adds_renames_and_retires(migrated_db, releases):
    load_release(migrated_db, "rxnorm", [releases / "rxnorm" / OCTOBER])
    before = _codes(migrated_db)
    assert load_release(migrated_db, "rxnorm", [releases / "rxnorm" / OCTOBER]).counts.as_dict() == {
        "new": 0, "changed": 0, "retired": 0, "unchanged": 12}
    result = load_release(migrated_db, "rxnorm", [releases / "rxnorm" / NOVEMBER])
    after = _codes(migrated_db)
    assert result.counts.as_dict() == {"new": 1, "changed": 1, "retired": 1, "unchanged": 10}
    assert after["6809"][:3] == ("metformin", None, "IN")
    assert after["857005"][0].endswith("(renamed)")
    assert after["2001"][7] == "RETIRED"
    assert after["313782"] == before["313782"]


def test_relations_file_of_the_wrong_kind_fails_before_the_database(releases, tmp_path):
    wrong = tmp_path / NOVEMBER
    with zipfile.ZipFile(releases / "rxnorm" / NOVEMBER) as src, zipfile.ZipFile(wrong, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info, b"id\teffectiveTime\tactive\n" if info.filename.endswith("RXNREL.RRF") else data)
    with pytest.raises(ReleaseError, match="RXNREL.RRF is not an RxNorm RXNREL.RRF file: expected 16"):
        load_release("postgresql://nobody@127.0.0.1:1/none", "rxnorm", [wrong])
