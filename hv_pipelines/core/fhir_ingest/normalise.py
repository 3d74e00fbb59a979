"""Normalisation: the connection's unprocessed `fhir_resources` → the user's customer repository.

Only resources about the connection's patient (`ehr_connections.customer_id`, or the export's only
Patient) are written into the user's records; resources about other patients — a Group or system
export returns many — stay in `fhir_resources` and are counted. Rows are staged with COPY as JSON and
merged per table from `jsonb_populate_record`, keyed by ids derived from the source resource, so a
re-run rewrites nothing unchanged and a resource that no longer maps loses its stale row.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest.clinical_mapping import TABLE_COLUMNS, clinical_rows
from hv_pipelines.core.fhir_ingest.connections import EHRConnection, set_customer_id
from hv_pipelines.core.fhir_ingest.extract import patient_of
from hv_pipelines.core.fhir_ingest.fhir_store import CLINICAL_TABLES
from hv_pipelines.core.fhir_ingest.repository import ensure_repository, repository_of
from hv_pipelines.core.fhir_ingest.resource_types import record_id
from hv_pipelines.core.keyring import Keyring


@dataclass
class NormaliseCounts:
    patient_resources: int = 0
    other_patient_resources: int = 0
    unmapped: int = 0
    repository_created: bool = False
    patient_resolved: bool = True
    waiting_for_patient: bool = False  # the user's Patient is not stored yet: the last export failed it
    inserted: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)


def _patient_marker(patient_id: str) -> str:
    """The fragment our `metadata` JSON holds for a resource about `patient_id` (chunks.resource_metadata)."""
    return '"patient":' + json.dumps(patient_id) + ","


def resolve_patient(conn: psycopg.Connection, connection: EHRConnection) -> str | None:
    """The connection's patient id: configured, or the only Patient its exports returned (then saved)."""
    if connection.customer_id:
        return connection.customer_id
    rows = conn.execute("""SELECT fhir_id FROM fhir_resources WHERE connection_id = %s
                           AND resource_type = 'CUSTOMER' LIMIT 2""", (connection.id,)).fetchall()
    if len(rows) != 1:
        return None
    set_customer_id(conn, connection.id, rows[0][0])
    return rows[0][0]


def _patient_resource(conn: psycopg.Connection, connection_id: str, patient_id: str) -> dict[str, Any] | None:
    row = conn.execute("""SELECT raw_data FROM fhir_resources WHERE connection_id = %s
                          AND resource_type = 'CUSTOMER' AND fhir_id = %s""",
                       (connection_id, patient_id)).fetchone()
    return json.loads(row[0]) if row else None


def _merge_sql(table: str) -> str:
    columns = TABLE_COLUMNS[table]
    listed = ", ".join(columns)
    return f"""
        WITH merged AS (
            INSERT INTO {table} AS t (id, repository_id, {listed})
            SELECT s.row_id, %(repository)s, {', '.join(f'r.{c}' for c in columns)}
            FROM ehr_clinical s CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, s.payload) r
            WHERE s.table_name = %(table)s
            ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in columns)}
            WHERE ({', '.join(f't.{c}' for c in columns)})
                  IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in columns)})
            RETURNING (xmax = 0) AS inserted)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"""


def normalise_connection(conn: psycopg.Connection, keyring: Keyring, connection: EHRConnection, *,
                         patient_failed: bool = False) -> NormaliseCounts:
    """Normalise every unprocessed resource of the connection, in the caller's transaction.

    `patient_failed`: the last export's server failed Patient. A user without a repository then waits
    for it (resources stay unprocessed, the next sync asks Patient again) instead of failing the sync.
    """
    counts = NormaliseCounts()
    patient_id = resolve_patient(conn, connection)
    if patient_id is None:
        counts.patient_resolved = False
        counts.other_patient_resources = conn.execute(
            "SELECT count(*) FROM fhir_resources WHERE connection_id = %s AND NOT processed",
            (connection.id,)).fetchone()[0]
        return counts  # left unprocessed: once customer_id is set, the next run normalises them
    repository_id = repository_of(conn, connection.user_id)
    if repository_id is None:
        patient = _patient_resource(conn, connection.id, patient_id)
        if patient is None and patient_failed:
            counts.waiting_for_patient = True
            return counts
        if patient is None:
            raise HVError(f"connection {connection.id} names patient {patient_id}, but no export "
                          "returned that Patient: check ehr_connections.customer_id, or include Patient in "
                          "the exported types")
        repository_id, counts.repository_created = ensure_repository(
            conn, keyring, user_id=connection.user_id, connection_id=connection.id, patient=patient)
    _stage_patient_rows(conn, connection, patient_id, counts)
    for table in CLINICAL_TABLES:
        inserted, updated = conn.execute(_merge_sql(table),
                                         {"repository": repository_id, "table": table}).fetchone()
        counts.inserted[table], counts.updated[table] = inserted, updated
        counts.removed[table] = conn.execute(
            f"""DELETE FROM {table} t USING ehr_clinical n
                WHERE t.repository_id = %s AND n.table_name IS NULL AND split_part(t.id, '~', 1) = n.row_id
                  AND NOT EXISTS (SELECT 1 FROM ehr_clinical s
                                  WHERE s.row_id = t.id AND s.table_name = %s)""",
            (repository_id, table)).rowcount
    conn.execute("""UPDATE fhir_resources SET processed = true, processed_at = now()
                    WHERE connection_id = %s AND NOT processed""", (connection.id,))
    return counts


def _stage_patient_rows(conn: psycopg.Connection, connection: EHRConnection, patient_id: str,
                        counts: NormaliseCounts) -> None:
    """COPY the repository rows of the patient's unprocessed resources into staging, batch by batch.

    A row with no table name records a normalised resource's record id (stale rows are found from it).
    Batches alternate FETCH and COPY: a server-side cursor cannot be read while a COPY is open.
    """
    conn.execute("CREATE TEMP TABLE ehr_clinical (table_name text, row_id text, payload jsonb) "
                 "ON COMMIT DROP")
    with conn.cursor(name="ehr_unprocessed") as rows, conn.cursor() as writer:
        rows.execute("""SELECT CASE WHEN position(%s in coalesce(metadata, '')) > 0 THEN raw_data END
                        FROM fhir_resources WHERE connection_id = %s AND NOT processed""",
                     (_patient_marker(patient_id), connection.id))
        while batch := rows.fetchmany(2000):
            with writer.copy("COPY ehr_clinical (table_name, row_id, payload) FROM STDIN") as copy:
                for (raw,) in batch:
                    resource = json.loads(raw) if raw is not None else None
                    if resource is None or patient_of(resource) != patient_id:
                        counts.other_patient_resources += 1
                        continue
                    counts.patient_resources += 1
                    base = record_id(connection.id, resource["resourceType"], resource["id"])
                    copy.write_row((None, base, None))
                    table, mapped = clinical_rows(resource)
                    if table and not mapped:
                        counts.unmapped += 1
                    for index, row in enumerate(mapped):
                        copy.write_row((table, base if index == 0 else f"{base}~{index}", json.dumps(row)))
