"""`type_watermarks` over `bulk_export_jobs` rows as each release recorded them: with a delivery, from
before deliveries were assessed (with and without file summaries), without a manifest, not COMPLETED,
or of another connection. Rows are written directly, so each shape is fed exactly once, in seconds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from hv_pipelines.core import db
from hv_pipelines.core.fhir_ingest.watermarks import incremental_since, type_watermarks
from tests.fakes.ehr_fixtures import create_connection

TYPES = ("Patient", "Condition", "Observation")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def record(db_url: str, connection_id: str, *, completed: int, transaction_time: datetime | None = None,
           delivered: tuple[str, ...] | None = None, files: dict | None = None, types: str | None = None,
           status: str = "COMPLETED") -> None:
    """One finished export: `delivered` as assessed today, or (None) a row of an earlier release."""
    metadata: dict = {}
    if transaction_time is not None:
        metadata["manifest"] = {"transactionTime": transaction_time.isoformat()}
    if delivered is not None:
        metadata["delivery"] = {"outcome": "COMPLETED", "delivered": list(delivered)}
    if files is not None:
        metadata["files"] = files
    with db.connect(db_url) as conn:
        conn.execute(
            """INSERT INTO bulk_export_jobs (id, connection_id, export_type, status, resource_types,
                                             completed_at, metadata)
               VALUES (%s, %s, 'SYSTEM', %s::"BulkExportStatus", %s, %s, %s)""",
            (str(uuid.uuid4()), connection_id, status, types, at(completed).replace(tzinfo=None),
             json.dumps(metadata)))


def marks(db_url: str, connection_id: str, types: tuple[str, ...] = TYPES) -> dict[str, datetime]:
    with db.connect(db_url) as conn:
        return type_watermarks(conn, connection_id, types)


def test_each_type_takes_the_newest_export_that_delivered_it(migrated_db, connection_id):
    record(migrated_db, connection_id, completed=1, transaction_time=at(1), delivered=TYPES)
    record(migrated_db, connection_id, completed=2, transaction_time=at(2), delivered=("Patient", "Condition"))
    record(migrated_db, connection_id, completed=3, transaction_time=at(3), delivered=("Patient",))
    assert marks(migrated_db, connection_id) == {"Patient": at(3), "Condition": at(2), "Observation": at(1)}
    with db.connect(migrated_db) as conn:
        assert incremental_since(conn, connection_id, TYPES) == at(1)
        assert incremental_since(conn, connection_id, ("Patient", "Condition")) == at(2)
        assert incremental_since(conn, connection_id, (*TYPES, "Immunization")) is None


def test_a_newer_transaction_time_wins_over_a_later_completion(migrated_db, connection_id):
    """Until every type has a mark, an export that completed earlier but started later still counts."""
    record(migrated_db, connection_id, completed=5, transaction_time=at(1), delivered=("Patient",))
    record(migrated_db, connection_id, completed=4, transaction_time=at(3), delivered=("Patient",))
    record(migrated_db, connection_id, completed=3, transaction_time=at(2), delivered=("Patient",))
    assert marks(migrated_db, connection_id) == {"Patient": at(3)}


def test_exports_that_delivered_nothing_or_are_not_completed_or_not_this_connections_are_no_mark(
        migrated_db, connection_id, keyring, ehr_server, rsa_pem):
    other = create_connection(migrated_db, keyring, ehr_server, private_pem=rsa_pem, customer_id="pat-b")
    record(migrated_db, other, completed=9, transaction_time=at(9), delivered=TYPES)
    for status in ("FAILED", "EXPIRED", "CANCELLED", "IN_PROGRESS"):
        record(migrated_db, connection_id, completed=8, transaction_time=at(8), delivered=TYPES, status=status)
    record(migrated_db, connection_id, completed=7, transaction_time=at(7), delivered=())
    record(migrated_db, connection_id, completed=6, delivered=TYPES, types=",".join(TYPES))  # no manifest
    record(migrated_db, connection_id, completed=1, transaction_time=at(1), delivered=("Condition",))
    assert marks(migrated_db, connection_id) == {"Condition": at(1)}
    assert marks(migrated_db, other) == dict.fromkeys(TYPES, at(9))


def test_an_export_recorded_before_deliveries_delivered_its_requested_types_unless_its_server_failed(
        migrated_db, connection_id):
    warned = {"kind": "error", "issues": {"warning/processing": 2}}
    failed = {"kind": "error", "issues": {"information/informational": 1, "error/exception": 1}}
    record(migrated_db, connection_id, completed=3, transaction_time=at(3), types="Patient,Condition",
           files={"output:0": {"kind": "output", "lines": 4}, "error:0": failed})
    record(migrated_db, connection_id, completed=2, transaction_time=at(2), types="Patient,Observation",
           files={"output:0": {"kind": "output", "lines": 4}, "error:0": warned, "error:1": {"kind": "error"}})
    record(migrated_db, connection_id, completed=1, transaction_time=at(1), types="Condition,")  # no files kept
    record(migrated_db, connection_id, completed=0, transaction_time=at(4))  # no types recorded: delivered none
    assert marks(migrated_db, connection_id) == {"Patient": at(2), "Observation": at(2), "Condition": at(1)}
