"""Which connections one standardization pass covers, with what each needs: its user, patient, sex, birth.

A partition's run covers one connection, `hv standardize --all` every one: the same statements run
over `std_scope`, so a thousand connections cost one pass over their resources, not a thousand passes
with a thousand sets of fixed costs. A connection whose sync holds its lock is left out (and named), so
standardization never reads a half-ingested export; one with no patient set is left out too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg


@dataclass
class Scope:
    connections: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    no_patient: list[str] = field(default_factory=list)


def create_scope(conn: psycopg.Connection, connection_ids: Sequence[str]) -> Scope:
    """`std_scope` (dropped at commit) for the connections that can be standardized now."""
    scope = Scope()
    wanted = conn.execute("SELECT id, customer_id FROM ehr_connections WHERE id = ANY(%s) ORDER BY id",
                          (list(connection_ids),)).fetchall()
    for connection_id, patient_id in wanted:
        if patient_id is None:
            scope.no_patient.append(connection_id)
        # The sync's session-level lock on the connection (fhir_ingest.sync.connection_lock) shares the
        # key space with this transaction-level one: a running sync keeps the connection out.
        elif conn.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                          (f"hv-ehr-sync:{connection_id}",)).fetchone()[0]:
            scope.connections.append(connection_id)
        else:
            scope.busy.append(connection_id)
    conn.execute("""
        CREATE TEMP TABLE std_scope ON COMMIT DROP AS
        SELECT c.id AS connection_id, c.user_id, c.customer_id AS patient_id,
               '"patient":' || to_json(c.customer_id)::text || ',' AS marker,
               p.raw_data::jsonb ->> 'gender' AS sex,
               CASE WHEN p.raw_data::jsonb ->> 'birthDate' ~ '^\\d{4}$' THEN (p.raw_data::jsonb ->> 'birthDate') || '-01-01'
                    WHEN p.raw_data::jsonb ->> 'birthDate' ~ '^\\d{4}-\\d{2}$' THEN (p.raw_data::jsonb ->> 'birthDate') || '-01'
                    WHEN p.raw_data::jsonb ->> 'birthDate' ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN p.raw_data::jsonb ->> 'birthDate'
               END::date AS birth
        FROM ehr_connections c
        LEFT JOIN fhir_resources p ON p.connection_id = c.id AND p.resource_type = 'CUSTOMER'
                                   AND p.fhir_id = c.customer_id
        WHERE c.id = ANY(%s)""", (scope.connections,))
    return scope
