"""What a quarantined NDJSON line is recorded with: its line, the type and id it claimed (cut to the
width the quarantine keeps) and why it was refused (mutmut found these unheld by test_fhir_blocks)."""

from __future__ import annotations

import pytest

from hv_pipelines.core.fhir_ingest.chunks import (
    BlockResult,
    Reject,
    check_resource,
    oversized_line,
    parse_line,
    process_block,
)

LONG = "X" * 70


@pytest.mark.parametrize("fhir_id", ["", 123, None])
def test_a_resource_without_a_string_id_is_refused_for_its_id(fhir_id):
    assert check_resource({"resourceType": "Patient", "id": fhir_id}) == ("Patient", None, "no id")


def test_a_line_without_a_resource_type_is_refused_for_it():
    assert check_resource({"id": "p1"}) == (None, None, "no resourceType")


def test_an_unknown_type_is_recorded_cut_to_64_characters():
    assert check_resource({"resourceType": LONG, "id": LONG}) == (
        LONG[:64], LONG[:64], f"{LONG[:64]} is not an R4 resource type")


def test_an_invalid_resource_keeps_its_type_and_its_id_cut_to_64_characters():
    fhir_type, fhir_id, reason = check_resource({"resourceType": "Patient", "id": LONG, "birthDate": "yesterday"})
    assert (fhir_type, fhir_id) == ("Patient", LONG[:64]) and reason.startswith("invalid birthDate")


def test_a_block_records_the_type_and_id_an_invalid_line_claimed():
    result = process_block(b'{"resourceType": "Patient", "id": "p1", "birthDate": "yesterday"}\n', 5)
    [reject] = result.rejects
    assert (reject.line, reject.fhir_type, reject.fhir_id, result.accepted) == (5, "Patient", "p1", 0)


def test_a_line_that_is_not_json_says_where_the_parser_stopped():
    assert parse_line(b"{nope") == (None, None, "not JSON (key must be a string at line 1 column 2)")


def test_an_oversized_line_counts_as_one_refused_line():
    assert oversized_line(7, 1024) == BlockResult(lines=1, rejects=[Reject(7, None, None, "line longer than 1024 bytes")])
