"""The standardization stage of one EHR connection: results, coverage, the audit entry, in one transaction.

It runs after normalisation (`hv ehr sync`'s last stage, the asset `lab_result_standardizations`) and
again whenever the inputs it joins change: a LOINC release, units, molar masses or reference ranges
(`inputs_fingerprint`, which the sensor compares). It holds the connection's sync lock, so it never
reads a half-ingested export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import write_audit_entry
from hv_pipelines.core.fhir_ingest import connections
from hv_pipelines.core.fhir_ingest.normalise import patient_marker
from hv_pipelines.core.fhir_ingest.sync import connection_lock
from hv_pipelines.core.standardize.coverage import CoverageReport, connection_coverage
from hv_pipelines.core.standardize.ranges import RangeLoad, sync_curated
from hv_pipelines.core.standardize.results import StandardizeCounts, standardize_connection


@dataclass
class StandardizeOutcome:
    counts: StandardizeCounts
    coverage: CoverageReport
    ranges: RangeLoad
    patient_resolved: bool
    duration: float


def standardize_stage(db_url: str, connection_id: str) -> StandardizeOutcome:
    started = time.monotonic()
    with connection_lock(db_url, connection_id), db.connect(db_url) as conn:
        connection = connections.load_connection(conn, connection_id)
        ranges = sync_curated(conn)
        patient_id = connection.customer_id
        counts = standardize_connection(conn, connection, patient_id)
        coverage = connection_coverage(conn, connection_id, patient_marker(patient_id)) if patient_id \
            else CoverageReport()
        write_audit_entry(conn, action="LAB_RESULTS_STANDARDIZED", resource="ehr_connections",
                          resource_id=connection_id, details={
                              "results": counts.results, "standardized": counts.standardized,
                              "converted": counts.converted, "inserted": counts.inserted,
                              "updated": counts.updated, "removed": counts.removed})
    return StandardizeOutcome(counts, coverage, ranges, patient_id is not None, time.monotonic() - started)


def inputs_fingerprint(db_url: str) -> str:
    """What standardization joins from outside the EHR data: it changes when any of them changes."""
    with db.connect(db_url) as conn:
        return conn.execute(
            """SELECT md5(concat_ws('|',
                   (SELECT count(*) || ':' || coalesce(max("updatedAt")::text, '') FROM "LOINCCode"),
                   (SELECT count(*) || ':' || coalesce(sum(hashtext(coalesce(u."ucumCode", '') || u."isPrimary"::text
                           || coalesce(u."conversionFactor"::text, ''))), 0) FROM "LOINCUnit" u),
                   (SELECT count(*) || ':' || coalesce(sum(hashtext(concat_ws(',', r."loincCodeId", r.type,
                           r."lowValue", r."highValue", r.unit, r.gender, r."ageMin", r."ageMax", r.population))), 0)
                    FROM "ReferenceRange" r),
                   (SELECT count(*) FROM "CodeMapping")))""").fetchone()[0]
