"""Per-resource work, as plain functions: parse, validate, extract, quarantine, render COPY rows."""

from __future__ import annotations

import json

from hv_pipelines.core import db
from hv_pipelines.core.fhir_ingest.blocks import line_blocks, validated_blocks
from hv_pipelines.core.fhir_ingest.chunks import copy_field, process_block, resource_metadata
from hv_pipelines.core.fhir_ingest.fhir_store import copy_statement, create_stage
from hv_pipelines.core.fhir_ingest.resource_types import stored_fhir_id
from tests.fakes.ehr_fixtures import FIXTURES

SAMPLE = (FIXTURES / "sample_export.ndjson").read_bytes()


def _fields(copy_rows: bytes) -> list[list[str]]:
    return [line.split("\t") for line in copy_rows.decode().splitlines()]


def test_every_sample_resource_validates_and_renders_one_row():
    result = process_block(SAMPLE, 1)
    assert (result.lines, result.accepted, result.rejects) == (36, 36, [])
    assert result.by_type["Observation"] == 11 and result.by_type["MedicationStatement"] == 1


def test_rows_carry_bucket_qualified_id_title_date_and_document_content():
    rows = {r[3]: r for r in _fields(process_block(SAMPLE, 1).copy_rows)}
    statement = rows["MedicationStatement/medstmt-a-1"]
    assert statement[1:3] == ["MedicationStatement", "MEDICATION_REQUEST"]
    condition = rows["cond-a-1"]
    assert condition[5] == "Essential hypertension" and condition[7] == "2015-03-04 05:00:00"
    assert condition[9] == "active" and condition[8] == "problem-list-item"
    document = rows["doc-a-1"]
    assert document[10:13] == ["application/pdf", "https://ehr.example.org/fhir/Binary/bin-a-1", "48213"]
    assert json.loads(document[13]) == {"fhirType": "DocumentReference", "patient": "pat-a",
                                        "version": "v:1|2024-03-01T18:00:00Z"}
    assert rows["pat-a"][2] == "CUSTOMER" and rows["pat-a"][5] == "\\N"  # no name copied into the title


def test_bad_lines_are_rejected_with_line_and_reason_but_no_patient_data():
    block = b"\n".join([
        b'{"resourceType":"Patient","id":"ok-1"}',
        b'{"resourceType":"Patient","id":"bad-1","birthDate":"Shaw-Amy-1974"}',
        b'{"resourceType": "Patient", "id": "trunc',
        b'["not", "a", "resource"]',
        b'{"resourceType":"Spaceship","id":"x1"}',
        b'{"resourceType":"Observation","status":"final","code":{"text":"t"}}',
        b"",
        b'{"resourceType":"Observation","id":"o-2","status":"final"}',
    ])
    result = process_block(block, 10)
    assert result.accepted == 1 and result.lines == 7
    by_line = {r.line: r for r in result.rejects}
    assert by_line[11].fhir_id == "bad-1" and "birthDate" in by_line[11].reason
    assert by_line[12].reason.startswith("not JSON") and by_line[13].reason == "not a JSON object"
    assert by_line[14].reason == "Spaceship is not an R4 resource type" and by_line[15].reason == "no id"
    assert "code: Field required" in by_line[17].reason
    assert not any("Shaw" in r.reason or "1974" in r.reason for r in result.rejects)


def test_copy_text_escapes_tabs_newlines_and_backslashes():
    assert copy_field('a\tb\nc\\d') == "a\\tb\\nc\\\\d"
    line = (b'{"resourceType":"Procedure","id":"p1","status":"completed",'
            b'"subject":{"reference":"Patient/x"},"code":{"text":"tab\\there \\\\ slash"}}')
    fields = _fields(process_block(line, 1).copy_rows)[0]
    assert len(fields) == 14 and fields[5] == "tab\\there \\\\ slash"


def test_version_tag_falls_back_to_a_content_hash():
    plain = b'{"resourceType":"Patient","id":"p1"}'
    tag = json.loads(_fields(process_block(plain, 1).copy_rows)[0][13])["version"]
    assert tag.startswith("sha256:") and len(tag) == 71


def test_line_blocks_cut_at_line_ends_whatever_the_chunking():
    data = b"".join(f'{{"n":{i}}}\n'.encode() for i in range(200))
    for size in (1, 7, 64, 10_000):
        blocks = list(line_blocks([data[i:i + size] for i in range(0, len(data), size)], block_bytes=100))
        assert b"".join(b for _, b in blocks) == data
        assert all(b.endswith(b"\n") for _, b in blocks)
        assert [n for n, _ in blocks] == [1 + b"".join(b for _, b in blocks[:k]).count(b"\n")
                                          for k in range(len(blocks))]


def test_an_oversized_line_is_dropped_and_counted_without_buffering_it():
    data = [b'{"a":1}\n', b"x" * 300, b"y" * 300, b'z\n{"b":2}\n']
    blocks = list(line_blocks(data, block_bytes=16, max_line=256))
    assert (2, None) in blocks
    assert [b for _, b in blocks if b] == [b'{"a":1}\n', b'{"b":2}\n']
    results = list(validated_blocks(blocks, None))
    assert sum(len(r.rejects) for r in results) == 3  # two non-resources and the oversized line


def test_pool_results_arrive_in_file_order(validation_pool):
    lines = SAMPLE.splitlines(keepends=True)
    blocks = [(i + 1, line) for i, line in enumerate(lines)]
    ids = [_fields(r.copy_rows)[0][3] for r in validated_blocks(blocks, validation_pool, max_in_flight=3)]
    expected = [stored_fhir_id(r["resourceType"], r["id"]) for r in map(json.loads, lines)]
    assert ids == expected and "FamilyMemberHistory/fmh-a-1" in ids


def test_metadata_text_is_exactly_what_json_dumps_gave():
    """The merge compares stored metadata text to skip unchanged resources: the hand-written rendering
    must equal the json.dumps form rows were stored with, or every resource would be rewritten once."""
    for fhir_type, patient, tag in [("Patient", "p1", "v:1|2024-01-01T00:00:00Z"), ("Observation", None, "sha256:ab"),
                                    ("Condition", 'q"u\\o\tté', "v:é|\u2028")]:
        assert resource_metadata(fhir_type, patient, tag) == json.dumps(
            {"fhirType": fhir_type, "patient": patient, "version": tag}, separators=(",", ":"), sort_keys=True)


def test_raw_data_is_the_original_line_and_odd_text_cannot_break_the_copy():
    nul = (b'{"resourceType":"Procedure","id":"p-nul","status":"completed",'
           b'"subject":{"reference":"Patient/x"},"code":{"text":"before\\u0000after"}}')
    surrogate = b'{"resourceType":"Patient","id":"p-sur","name":[{"text":"\\ud800"}]}'
    spaced = b'{"resourceType": "Patient",\t"id": "p-sp",\r "gender": "unknown"}'
    result = process_block(b"\n".join([nul, surrogate, b"\xff\xfe{}", spaced]), 1)
    assert result.accepted == 2 and [(r.line, r.reason[:8]) for r in result.rejects] == [
        (2, "not JSON"), (3, "not UTF-")]
    rows = _fields(result.copy_rows)
    assert rows[0][5] == "beforeafter"  # NUL cannot be stored in PostgreSQL text; the raw line keeps \\u0000
    assert rows[0][4] == nul.decode().replace("\\", "\\\\")
    assert rows[1][4] == spaced.decode().replace("\t", "\\t").replace("\r", "\\r")


def test_copy_rows_load_into_postgres_as_the_original_lines(migrated_db):
    lines = SAMPLE.splitlines() + [b'{"resourceType":"Procedure","id":"p1","status":"completed",'
                                   b'"subject":{"reference":"Patient/x"},"code":{"text":"a\\\\b\\tc\\u0000"}}']
    result = process_block(b"\n".join(lines), 1)
    with db.connect(migrated_db) as conn:
        create_stage(conn)
        with conn.cursor().copy(copy_statement()) as copy:
            copy.write(result.copy_rows)
        stored = conn.execute("SELECT raw_data, title FROM ehr_stage ORDER BY line_no").fetchall()
    assert [raw.encode() for raw, _ in stored] == lines
    assert stored[-1][1] == "a\\b\tc"
