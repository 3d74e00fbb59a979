"""Exports that end without delivering everything never advance the `_since` of what they missed:
a partial `error[]` export, expired files beyond the re-export budget, a cancel, a time limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import OutputExpired
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest import SyncOptions, cancel_export, export_stage, run_sync
from hv_pipelines.core.fhir_ingest.watermarks import since_for, type_watermarks
from tests.fakes.ehr_fixtures import fast_client_factory, rows, scalar

TYPES = ("Patient", "Condition", "Observation", "Immunization")


def sync(db_url, connection_id, keyring, client_factory=None, **options):
    return run_sync(db_url, connection_id, keyring, SyncOptions(types=TYPES, **options),
                    client_factory=client_factory or fast_client_factory(keyring))


def stored(db_url, fhir_type: str) -> int:
    return scalar(db_url, "SELECT count(*) FROM fhir_resources WHERE metadata::jsonb ->> 'fhirType' = %s",
                  fhir_type)


def touch(server, resource_id: str, text: str) -> None:
    """Change a resource at the EHR now: after the last export's transactionTime, before the next's."""
    resource = next(r for r in server.resources if r["id"] == resource_id)
    resource["code"]["text"] = text
    resource["meta"] = {"versionId": "2", "lastUpdated": datetime.now(UTC).isoformat().replace("+00:00", "Z")}


@dataclass
class Watermarks:
    marks: dict[str, datetime]
    since: datetime | None


def watermarks(db_url, connection_id) -> Watermarks:
    """The watermarks of the types these tests sync, and the `_since` their next sync asks with."""
    with db.connect(db_url) as conn:
        marks = type_watermarks(conn, connection_id, TYPES)
    return Watermarks(marks, since_for(marks, TYPES))


def test_partial_first_export_is_recorded_incomplete_and_the_next_sync_asks_everything(
        migrated_db, keyring, ehr_server, connection_id):
    ehr_server.withheld_types = {"Patient", "Condition"}
    first = sync(migrated_db, connection_id, keyring)

    assert not first.complete
    assert first.ingest.delivery.failed == ("Patient", "Condition")
    assert first.ingest.delivery.delivered == ("Observation", "Immunization")
    assert "in full" in first.ingest.next_step and "errors-1.ndjson" in first.ingest.next_step
    assert stored(migrated_db, "Patient") == 0 and stored(migrated_db, "Observation") == 11
    assert first.normalise.counts.waiting_for_patient  # no repository without the Patient, and no failure
    state, message, details = rows(migrated_db, "SELECT status::text, error_message, error_details "
                                                "FROM bulk_export_jobs")[0]
    assert state == "COMPLETED" and message == first.ingest.next_step
    assert json.loads(details)["delivery"]["outcome"] == "COMPLETED_WITH_ERRORS"
    assert rows(migrated_db, "SELECT status::text, error_message FROM sync_history") == [
        ("COMPLETED", first.ingest.next_step)]
    upcoming = watermarks(migrated_db, connection_id)
    assert upcoming.since is None and set(upcoming.marks) == {"Observation", "Immunization"}

    second = sync(migrated_db, connection_id, keyring)
    assert "_since" not in ehr_server.kickoffs[1]  # Patient and Condition were never delivered
    assert second.complete and second.ingest.delivery.delivered == TYPES
    assert (stored(migrated_db, "Patient"), stored(migrated_db, "Condition")) == (2, 5)
    assert second.ingest.counts.skipped == 15  # the types delivered the first time are not rewritten
    assert scalar(migrated_db, "SELECT count(*) FROM customer_diagnoses") == 4
    assert watermarks(migrated_db, connection_id).since.isoformat() == second.export.transaction_time


def test_a_type_failed_by_an_incremental_export_is_asked_again_from_its_last_delivery(
        migrated_db, keyring, ehr_server, connection_id):
    first = sync(migrated_db, connection_id, keyring)
    touch(ehr_server, "cond-a-1", "Hypertension, controlled")
    touch(ehr_server, "obs-a-hr", "Pulse")
    ehr_server.withheld_types = {"Condition"}

    second = sync(migrated_db, connection_id, keyring)
    assert ehr_server.kickoffs[1]["_since"] == first.export.transaction_time.replace("+00:00", "Z")
    assert second.ingest.delivery.failed == ("Condition",) and second.ingest.counts.updated == 1
    assert "since " + first.export.transaction_time in second.ingest.next_step
    marks = watermarks(migrated_db, connection_id).marks
    assert marks["Condition"].isoformat() == first.export.transaction_time
    assert marks["Observation"].isoformat() == second.export.transaction_time

    third = sync(migrated_db, connection_id, keyring)
    # With the second export's transactionTime as _since, the changed Condition would never be asked.
    assert ehr_server.kickoffs[2]["_since"] == first.export.transaction_time.replace("+00:00", "Z")
    assert third.complete
    assert scalar(migrated_db, "SELECT title FROM fhir_resources WHERE fhir_id = 'cond-a-1'") == \
        "Hypertension, controlled"


def test_files_expired_beyond_the_re_export_budget_advance_no_watermark(migrated_db, keyring, ehr_server,
                                                                        connection_id):
    first = sync(migrated_db, connection_id, keyring)
    touch(ehr_server, "cond-a-1", "Hypertension, controlled")
    ehr_server.expire_always = {"Condition-1.ndjson"}
    with pytest.raises(OutputExpired):
        sync(migrated_db, connection_id, keyring, download_workers=1)
    assert rows(migrated_db, "SELECT status::text FROM bulk_export_jobs ORDER BY started_at") == [
        ("COMPLETED",), ("EXPIRED",), ("EXPIRED",), ("EXPIRED",)]
    assert watermarks(migrated_db, connection_id).since.isoformat() == first.export.transaction_time

    ehr_server.expire_always = set()
    sync(migrated_db, connection_id, keyring)
    assert ehr_server.kickoffs[-1]["_since"] == first.export.transaction_time.replace("+00:00", "Z")
    assert scalar(migrated_db, "SELECT title FROM fhir_resources WHERE fhir_id = 'cond-a-1'") == \
        "Hypertension, controlled"


def test_a_time_limit_and_a_cancel_advance_no_watermark(migrated_db, keyring, ehr_server, connection_id):
    first = sync(migrated_db, connection_id, keyring)
    ehr_server.status_script = [("progress", "1", "1%")] * 1000
    factory = fast_client_factory(keyring)

    def impatient(connection):
        client = factory(connection)
        client.max_wait = 0.5
        return client

    with pytest.raises(HVError, match="still running"):
        export_stage(migrated_db, connection_id, keyring, SyncOptions(types=TYPES), client_factory=impatient)
    assert watermarks(migrated_db, connection_id).since.isoformat() == first.export.transaction_time
    assert cancel_export(migrated_db, connection_id, keyring, client_factory=factory)
    assert watermarks(migrated_db, connection_id).since.isoformat() == first.export.transaction_time

    ehr_server.status_script = []
    sync(migrated_db, connection_id, keyring)
    assert ehr_server.kickoffs[-1]["_since"] == first.export.transaction_time.replace("+00:00", "Z")


def test_an_export_recorded_before_deliveries_were_assessed_is_no_watermark_if_its_server_failed(
        migrated_db, keyring, ehr_server, connection_id):
    ehr_server.withheld_types = {"Condition"}
    sync(migrated_db, connection_id, keyring)
    with db.connect(migrated_db) as conn:  # as the previous version recorded it: no delivery, no attribution
        metadata = json.loads(conn.execute("SELECT metadata FROM bulk_export_jobs").fetchone()[0])
        del metadata["delivery"]
        for summary in metadata["files"].values():
            summary.pop("failedTypes", None)
        conn.execute("UPDATE bulk_export_jobs SET metadata = %s", (json.dumps(metadata),))
    assert watermarks(migrated_db, connection_id).marks == {}
