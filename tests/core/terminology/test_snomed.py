"""SNOMED CT: an RF2 Snapshot (streamed from the release zip) into "SNOMEDCode"."""

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.terminology import load_release
from hv_pipelines.core.terminology.checks import verhoeff_digit, verhoeff_ok
from hv_pipelines.core.terminology.loader import ReleaseCheckError
from hv_pipelines.core.terminology.release import ReleaseError

JANUARY = "SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z.zip"
JULY = "SnomedCT_InternationalRF2_PRODUCTION_20250701T120000Z.zip"


def _concepts(url: str) -> dict[str, tuple]:
    with db.connect(url) as conn:
        rows = conn.execute('SELECT "snomedId", "preferredTerm", "fullySpecified", synonyms, "semanticTag", '
                            'hierarchy, status, "effectiveDate"::date::text, "updatedAt" FROM "SNOMEDCode"').fetchall()
    return {r[0]: r[1:] for r in rows}


def test_verhoeff_check_digits():
    assert all(verhoeff_ok(i) for i in ("138875005", "404684003", "900000000000548007", b"116680003"))
    assert not verhoeff_ok("138875006") and not verhoeff_ok("12a")
    assert verhoeff_digit("13887500") == "5"


def test_snapshot_maps_terms_tags_hierarchy_and_inactive_concepts(migrated_db, releases, rejects_store):
    result = load_release(migrated_db, "snomed", [releases / "snomed" / JANUARY], store=rejects_store)
    concepts = _concepts(migrated_db)
    assert result.version == "2025-01-01" and result.counts.new == 10 == len(concepts)
    dm2 = concepts["44054006"]
    assert dm2[:6] == ("Type 2 diabetes mellitus", "Diabetes mellitus type 2 (disorder)", ["Type II diabetes mellitus"],
                       "disorder", ["73211009", "362969004"], "ACTIVE")
    assert dm2[6] == "2002-01-31"
    hemorrhage = concepts["50960005"]
    assert hemorrhage[:4] == ("Hemorrhage", "Hemorrhage (morphologic abnormality)", ["Bleeding", "Haemorrhage"],
                              "morphologic abnormality")
    assert concepts["83901003"][:3] == ("Sjögren's syndrome", "Sjögren's syndrome (disorder)",
                                        ["Sicca syndrome with \\ backslash"])
    old = concepts["190331003"]
    assert old[:6] == ("Adult-onset diabetes mellitus", "Adult-onset diabetes mellitus (disorder)",
                       ["AODM", "Maturity onset diabetes"], "disorder", [], "INACTIVE")
    assert concepts["73211009"][2] == ["DM - Diabetes mellitus"], "definitions are not synonyms"
    assert concepts["138875005"][4] == []
    assert result.rejects["by_reason"] == {"3 fields, expected 9": 1,
                                           "malformed id, effectiveTime or active flag": 1}
    where = {(e["file"].rsplit("/", 1)[1], e["line"]) for e in result.rejects["examples"]}
    assert where == {("sct2_Description_Snapshot-en_INT_20250101.txt", 7),
                     ("sct2_Concept_Snapshot_INT_20250101.txt", 5)}
    assert {c.name for c in result.checks} >= {"snomed_verhoeff", "no_duplicate_codes", "row_count_within_band"}


def test_next_snapshot_changes_exactly_the_changed_concepts(migrated_db, releases):
    load_release(migrated_db, "snomed", [releases / "snomed" / JANUARY])
    before = _concepts(migrated_db)
    again = load_release(migrated_db, "snomed", [releases / "snomed" / JANUARY])
    assert again.counts.as_dict() == {"new": 0, "changed": 0, "retired": 0, "unchanged": 10}
    assert _concepts(migrated_db) == before

    result = load_release(migrated_db, "snomed", [releases / "snomed" / JULY])
    after = _concepts(migrated_db)
    assert result.counts.as_dict() == {"new": 1, "changed": 3, "retired": 1, "unchanged": 6}
    assert after["22298006"][:3] == ("Heart attack", "Myocardial infarction (disorder)", ["Myocardial infarction"])
    assert after["44054006"][2] == ["T2DM - Type 2 diabetes mellitus", "Type II diabetes mellitus"]
    assert after["362969004"][5:7] == ("INACTIVE", "2025-07-01")
    assert after["83901003"][5] == "INACTIVE", "a concept missing from the snapshot is kept, marked inactive"
    assert after["1260012000"][:5] == ("Long COVID", "Long COVID-19 (disorder)", [], "disorder", ["64572001"])
    assert after["73211009"] == before["73211009"]


def test_bad_verhoeff_digit_blocks_the_release(migrated_db, releases, tmp_path):
    import zipfile

    load_release(migrated_db, "snomed", [releases / "snomed" / JANUARY])
    before = _concepts(migrated_db)
    bad = tmp_path / JULY
    with zipfile.ZipFile(releases / "snomed" / JULY) as src, zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if "Snapshot" in info.filename:
                data = data.replace(b"1260012000", b"1260012001")
            out.writestr(info, data)
    with pytest.raises(ReleaseCheckError, match="snomed_verhoeff") as failure:
        load_release(migrated_db, "snomed", [bad])
    assert {c.name: c.metadata for c in failure.value.checks}["snomed_verhoeff"]["examples"] == ["1260012001"]
    assert _concepts(migrated_db) == before


def test_a_concept_without_a_fully_specified_name_is_rejected_with_its_line(migrated_db, releases, tmp_path):
    import zipfile

    nameless = "12345" + verhoeff_digit("12345")
    release = tmp_path / JANUARY
    with zipfile.ZipFile(releases / "snomed" / JANUARY) as src, zipfile.ZipFile(release, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if "sct2_Concept_Snapshot" in info.filename:
                lines = data.count(b"\n")
                data += f"{nameless}\t20250101\t1\t900000000000207008\t900000000000074008\r\n".encode()
            out.writestr(info, data)
    result = load_release(migrated_db, "snomed", [release])
    assert nameless not in _concepts(migrated_db) and result.counts.new == 10
    assert {(e["line"], e["reason"]) for e in result.rejects["examples"]
            if "Concept" in e["file"]} >= {(lines + 1, "concept has no active fully specified name")}


def test_a_failure_on_the_second_connection_fails_the_load_and_changes_nothing(migrated_db, releases, monkeypatch,
                                                                               alongside_threads):
    import psycopg

    from hv_pipelines.core.terminology import snomed

    load_release(migrated_db, "snomed", [releases / "snomed" / JANUARY])
    before = _concepts(migrated_db)
    monkeypatch.setattr(snomed, "CONCEPTS", "SELECT 1 / 0")
    with pytest.raises(psycopg.errors.DivisionByZero):
        load_release(migrated_db, "snomed", [releases / "snomed" / JULY])
    assert _concepts(migrated_db) == before
    assert not alongside_threads()


def test_release_without_a_snapshot_file_fails_before_the_database(releases, tmp_path):
    import zipfile

    partial = tmp_path / JULY
    with zipfile.ZipFile(releases / "snomed" / JULY) as src, zipfile.ZipFile(partial, "w") as out:
        for info in src.infolist():
            if "Relationship" not in info.filename:
                out.writestr(info, src.read(info))
    with pytest.raises(ReleaseError, match="sct2_relationship_snapshot.*not found.*SNOMED CT RF2"):
        load_release("postgresql://nobody@127.0.0.1:1/none", "snomed", [partial])


def test_semantic_tag_is_the_text_in_the_fsns_last_trailing_parentheses(empty_db):
    from hv_pipelines.core.terminology.snomed import BUILD_FINAL, BUILD_TERMS

    fsns = ["Heart attack (disorder)", "Heart (body structure) ", "Fracture (of bone) (finding)\t", "No tag",
            "Odd (tag) tail", "Nested (a (b)) end)", "Unclosed (disorder", "( spaced tag )", "Two) (x)", "x (a) b)"]
    with db.connect(empty_db) as conn:
        conn.execute("CREATE TEMP TABLE stage_sct_concept AS "
                     "SELECT n::bigint AS id, date '2025-01-01' AS effective, true AS active, null::text[] AS hierarchy "
                     "FROM generate_series(1, %s) n",
                     (len(fsns),))
        conn.execute("CREATE TEMP TABLE stage_sct_description AS SELECT n::bigint AS id, n::bigint AS concept_id, "
                     "true AS is_fsn, (%s::text[])[n] AS term FROM generate_series(1, %s) n", (fsns, len(fsns)))
        conn.execute("CREATE TEMP TABLE stage_sct_language (description_id bigint, preferred boolean)")
        conn.execute(BUILD_TERMS)
        conn.execute(BUILD_FINAL)
        tags = dict(conn.execute('SELECT "fullySpecified", "semanticTag" FROM stage_snomed').fetchall())
    assert tags == {"Heart attack (disorder)": "disorder", "Heart (body structure) ": "body structure",
                    "Fracture (of bone) (finding)\t": "finding", "No tag": "", "Odd (tag) tail": "",
                    "Nested (a (b)) end)": "", "Unclosed (disorder": "", "( spaced tag )": " spaced tag ",
                    "Two) (x)": "x", "x (a) b)": ""}


def test_verhoeff_of_many_ids_at_once_agrees_with_one_at_a_time():
    import random

    from hv_pipelines.core.terminology.checks import verhoeff_valid

    rng = random.Random(8)
    bodies = [str(rng.randrange(10 ** rng.randrange(1, 18))) for _ in range(3000)]
    numbers = [(b + verhoeff_digit(b)).encode() for b in bodies] + [b.encode() + b"0" for b in bodies]
    numbers += [b"", b"12a", b"\xc3\xa9", b"0", b"900000000000548007", b"9000000000005480071", b" 138875005"]
    assert verhoeff_valid(numbers).tolist() == [verhoeff_ok(n) for n in numbers]
    assert sum(verhoeff_valid(numbers)) > 3000 and verhoeff_valid([]).tolist() == []
