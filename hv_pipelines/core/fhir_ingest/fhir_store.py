"""Set-based writes to `fhir_resources`: COPY into a temporary staging table, then one merge.

The merge inserts new resources, rewrites changed ones (and marks them unprocessed so normalisation
picks them up again, and not downloaded so their attachments are fetched again; `local_file_path`
keeps the previous file until the new one is stored) and skips resources whose version tag is
already stored; when one file holds a resource twice, its last line wins. Deletions (the manifest's `deleted[]`) remove the resource and
every customer-repository row derived from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from hv_pipelines.core.fhir_ingest.chunks import STAGE_COLUMNS
from hv_pipelines.core.fhir_ingest.resource_types import bucket_of, record_id, stored_fhir_id

CLINICAL_TABLES = ("customer_diagnoses", "customer_medications", "customer_allergies",
                   "customer_immunizations", "customer_procedures", "customer_vital_signs",
                   "customer_family_history")


_STAGE_DDL = """
CREATE TEMP TABLE ehr_stage (
    line_no bigint, fhir_type text, resource_type text, fhir_id text, raw_data text, title text,
    description text, date timestamp(3), category text, status text, content_type text, content_url text,
    content_size integer, metadata text
) ON COMMIT DROP
"""

_MERGE = """
WITH latest AS (
    SELECT DISTINCT ON (resource_type, fhir_id) * FROM ehr_stage ORDER BY resource_type, fhir_id, line_no DESC
), merged AS (
    INSERT INTO fhir_resources AS fr (id, connection_id, resource_type, fhir_id, fhir_version, raw_data,
                                      title, description, date, category, status, content_type, content_url,
                                      content_size, metadata, processed, updated_at)
    SELECT gen_random_uuid()::text, %(connection_id)s, resource_type::"FHIRResourceType", fhir_id, 'R4',
           raw_data, title, description, date, category, status, content_type, content_url, content_size,
           metadata, false, now()
    FROM latest
    -- Unchanged resources never reach the INSERT: ON CONFLICT ... WHERE would still lock (and so rewrite
    -- the page of) every row it skips.
    WHERE NOT EXISTS (SELECT 1 FROM fhir_resources stored
                      WHERE stored.connection_id = %(connection_id)s
                        AND stored.resource_type = latest.resource_type::"FHIRResourceType"
                        AND stored.fhir_id = latest.fhir_id AND stored.metadata = latest.metadata)
    ON CONFLICT (connection_id, fhir_id, resource_type) DO UPDATE SET
        raw_data = EXCLUDED.raw_data, title = EXCLUDED.title, description = EXCLUDED.description,
        date = EXCLUDED.date, category = EXCLUDED.category, status = EXCLUDED.status,
        content_type = EXCLUDED.content_type, content_url = EXCLUDED.content_url,
        content_size = EXCLUDED.content_size, metadata = EXCLUDED.metadata, processed = false,
        processed_at = NULL, document_downloaded = false, updated_at = now()
    WHERE fr.metadata IS DISTINCT FROM EXCLUDED.metadata
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM merged
"""

# Counted apart from the merge, on the two key columns: a second reference to `latest` in the merge
# would make PostgreSQL keep every staged row (raw_data and all) in a tuplestore, spilled to disk
# past `work_mem`, only to count them.
_DISTINCT = "SELECT count(*) FROM (SELECT DISTINCT resource_type, fhir_id FROM ehr_stage) keys"

# The merge sorts whole staged rows (DISTINCT ON); at the default 4 MB a file of more than ~4,000
# resources sorts on disk. Merges run one at a time per export (ingest.ExportContext.merging), so this
# is at most one sort's memory per running export, for the merge's transaction only.
_MERGE_WORK_MEM = "64MB"


@dataclass(frozen=True)
class MergeCounts:
    distinct: int
    created: int
    updated: int

    @property
    def skipped(self) -> int:
        return self.distinct - self.created - self.updated


def create_stage(conn: psycopg.Connection) -> None:
    conn.execute(_STAGE_DDL)


def copy_statement() -> str:
    return f"COPY ehr_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"


def merge_stage(conn: psycopg.Connection, connection_id: str) -> MergeCounts:
    """Merge the staged rows, in the caller's transaction (the file's)."""
    conn.execute(f"SET LOCAL work_mem = '{_MERGE_WORK_MEM}'")
    distinct = conn.execute(_DISTINCT).fetchone()[0]
    created, updated = conn.execute(_MERGE, {"connection_id": connection_id}).fetchone()
    return MergeCounts(distinct, created, updated)


def apply_deletions(conn: psycopg.Connection, connection_id: str, user_id: str,
                    deleted: Iterable[tuple[str, str]]) -> int:
    """Delete the (type, id) resources and the repository rows derived from them; return resources deleted."""
    conn.execute("CREATE TEMP TABLE ehr_deleted (resource_type text, fhir_id text, record_id text) "
                 "ON COMMIT DROP")
    with conn.cursor().copy("COPY ehr_deleted (resource_type, fhir_id, record_id) FROM STDIN") as copy:
        for fhir_type, fhir_id in deleted:
            copy.write_row((bucket_of(fhir_type), stored_fhir_id(fhir_type, fhir_id),
                            record_id(connection_id, fhir_type, fhir_id)))
    for table in CLINICAL_TABLES:
        conn.execute(
            f"""DELETE FROM {table} t USING ehr_deleted d
                WHERE t.repository_id IN (SELECT id FROM customer_repositories WHERE user_id = %s)
                  AND split_part(t.id, '~', 1) = d.record_id""", (user_id,))
    return conn.execute(
        """DELETE FROM fhir_resources fr USING ehr_deleted d
           WHERE fr.connection_id = %s AND fr.resource_type = d.resource_type::"FHIRResourceType"
             AND fr.fhir_id = d.fhir_id""", (connection_id,)).rowcount
