"""What an export delivered, from its manifest and file summaries: plain functions, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hv_pipelines.core.bulkdata import Manifest
from hv_pipelines.core.fhir_ingest.server_errors import ErrorTally
from hv_pipelines.core.fhir_ingest.watermarks import Delivery, assess, next_step, since_for
from tests.fakes.ehr_bulk_server import outcome

REQUESTED = ("Patient", "Condition", "Observation")


def tally(*issues: dict) -> dict:
    errors = ErrorTally(REQUESTED)
    for item in issues:
        for issue in item["issue"]:
            errors.add(issue)
    return errors.as_summary()


def test_an_error_naming_a_requested_type_fails_that_type_only():
    summary = tally(outcome("exception", "Observation export failed"),
                    outcome("processing", "could not read Condition/c-1"))
    assert summary == {"failedTypes": {"Observation": 1, "Condition": 1}, "unattributed": 0, "otherTypes": 0}


def test_an_error_naming_nothing_counts_against_every_type():
    # The IG's own example error OperationOutcome names no type at all.
    summary = tally({"issue": [{"severity": "error", "code": "processing",
                                "details": {"text": "An internal timeout has occurred"}}]})
    assert summary["unattributed"] == 1 and summary["failedTypes"] == {}


def test_warnings_information_and_unrequested_types_fail_nothing():
    summary = tally(outcome("processing", "Observation/o-7 could not be serialised", "warning"),
                    outcome("informational", "_typeFilter ignored (lenient)", "information"),
                    outcome("not-found", "Binary/bin-9 unavailable"))
    assert summary == {"failedTypes": {}, "unattributed": 0, "otherTypes": 1}


def test_expression_names_the_type_and_plurals_count():
    summary = tally({"issue": [{"severity": "fatal", "code": "exception", "expression": ["Patient.name"]}]},
                    outcome("exception", "Observations were skipped"))
    assert summary["failedTypes"] == {"Patient": 1, "Observation": 1}


def manifest(**files) -> Manifest:
    return Manifest.parse({"transactionTime": "2026-01-01T00:00:00Z", "request": "x",
                           "requiresAccessToken": True, **files})


def test_assess_keeps_delivered_types_and_fails_the_named_ones():
    done = {"output:0": {"kind": "output", "lines": 2},
            "error:0": {"kind": "error", "issues": {"error/exception": 1}, "failedTypes": {"Condition": 1},
                        "unattributed": 0}}
    delivery = assess(manifest(output=[{"type": "Patient", "url": "http://h/f/Patient-1.ndjson", "count": 2}],
                               error=[{"type": "OperationOutcome", "url": "http://h/f/errors-1.ndjson?sig=s"}]),
                      done, REQUESTED)
    assert delivery.failed == ("Condition",) and delivery.delivered == ("Patient", "Observation")
    assert delivery.error_files == ("errors-1.ndjson",) and delivery.outcome == "COMPLETED_WITH_ERRORS"


def test_assess_fails_everything_for_an_unattributed_error_or_a_summary_without_attribution():
    for summary in ({"kind": "error", "issues": {"error/processing": 1}, "failedTypes": {}, "unattributed": 1},
                    {"kind": "error", "issues": {"fatal/exception": 1}}):  # recorded before attribution existed
        delivery = assess(manifest(error=[{"type": "OperationOutcome", "url": "http://h/e.ndjson"}]),
                          {"error:0": summary}, REQUESTED)
        assert delivery.failed == REQUESTED and delivery.delivered == ()


def test_a_short_output_file_and_a_type_filter_hold_their_types_back():
    delivery = assess(manifest(output=[{"type": "Observation", "url": "http://h/Observation-1.ndjson",
                                        "count": 1000}]),
                      {"output:0": {"kind": "output", "lines": 999}}, REQUESTED,
                      ("Condition?clinical-status=active",))
    assert delivery.failed == ("Observation",) and delivery.short_files == ("Observation-1.ndjson",)
    assert delivery.filtered == ("Condition",) and delivery.delivered == ("Patient",)
    assert Delivery.from_json(delivery.as_json()) == delivery


def test_since_is_the_oldest_watermark_or_everything_when_a_type_has_none():
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert since_for({"Patient": t2, "Condition": t1}, ("Patient", "Condition")) == t1
    assert since_for({"Patient": t2}, ("Patient", "Condition")) is None
    incomplete = Delivery(REQUESTED, ("Patient",), ("Condition", "Observation"), error_files=("errors-1.ndjson",))
    assert "asks them again since 2026-01-01" in next_step(incomplete, t1)
    assert "in full" in next_step(incomplete, None) and "Condition, Observation" in next_step(incomplete, None)


@pytest.mark.parametrize("summary", [
    {"kind": "error", "failedTypes": {"Condition": 1}},  # recorded without an unattributed count
    {"kind": "error", "failedTypes": {"Condition": 1}, "unattributed": 0},
])
def test_an_error_file_naming_a_type_voids_only_that_type(summary):
    delivery = assess(manifest(error=[{"type": "OperationOutcome", "url": "http://h/errors.ndjson"}]),
                      {"error:0": summary}, REQUESTED)
    assert (delivery.delivered, delivery.failed) == (("Patient", "Observation"), ("Condition",))


def test_an_error_file_with_no_issues_recorded_fails_nothing():
    delivery = assess(manifest(error=[{"type": "OperationOutcome", "url": "http://h/errors.ndjson"}]),
                      {"error:0": {"kind": "error", "lines": 0}}, REQUESTED)
    assert (delivery.delivered, delivery.error_files, delivery.outcome) == (REQUESTED, (), "COMPLETED")


def test_every_error_file_counts_not_only_the_last():
    errors = [{"type": "OperationOutcome", "url": f"http://h/errors-{n}.ndjson"} for n in (1, 2, 3)]
    done = {"error:0": {"kind": "error", "failedTypes": {"Condition": 1}, "unattributed": 0},
            "error:1": {"kind": "error", "failedTypes": {"Observation": 1}, "unattributed": 0},
            "error:2": {"kind": "error", "failedTypes": {}, "unattributed": 0}}
    delivery = assess(manifest(error=errors), done, REQUESTED)
    assert (delivery.delivered, delivery.failed) == (("Patient",), ("Condition", "Observation"))
    assert delivery.error_files == ("errors-1.ndjson", "errors-2.ndjson")


@pytest.mark.parametrize("done", [{}, {"output:0": {"kind": "output"}}])
def test_an_output_file_with_no_line_count_recorded_holds_its_type_back(done):
    """A file the manifest lists with a count, of which no line is recorded, was not delivered."""
    delivery = assess(manifest(output=[{"type": "Observation", "url": "http://h/Observation-1.ndjson", "count": 1}]),
                      done, REQUESTED)
    assert (delivery.delivered, delivery.failed) == (("Patient", "Condition"), ("Observation",))
    assert delivery.short_files == ("Observation-1.ndjson",)


def test_a_type_filter_whose_query_holds_a_question_mark_still_names_its_type():
    """RFC 3986 lets a query hold `?`: the type is what precedes the first one."""
    delivery = assess(manifest(), {}, REQUESTED, ("Condition?code:text=why?",))
    assert (delivery.filtered, delivery.delivered) == (("Condition",), ("Patient", "Observation"))
