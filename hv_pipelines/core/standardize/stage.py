"""The standardization stage: results, coverage and the audit entry, in one transaction per run.

A partition's run covers one EHR connection; `hv standardize --all` and the bench cover every one in
the same statements (`scope.create_scope`). It runs after normalisation (the last stage of
`hv ehr sync`, the asset `lab_result_standardizations`) and again whenever the inputs it joins change:
a LOINC release, units, molar masses, reference ranges, code mappings (`inputs_fingerprint`, which the
sensor compares). A connection whose sync holds its lock is left out and named: standardization never
reads a half-ingested export.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import write_audit_entry
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.standardize.coverage import CoverageReport, scope_coverage
from hv_pipelines.core.standardize.ranges import RangeLoad, sync_curated
from hv_pipelines.core.standardize.results import StandardizeCounts, standardize_scope
from hv_pipelines.core.standardize.scope import Scope, create_scope


@dataclass
class StandardizeOutcome:
    counts: StandardizeCounts
    coverage: CoverageReport
    ranges: RangeLoad
    scope: Scope
    duration: float

    @property
    def patient_resolved(self) -> bool:
        return not self.scope.no_patient


def standardize_stage(db_url: str, connection_ids: str | Sequence[str]) -> StandardizeOutcome:
    """Standardize the lab results of one connection (an id) or of several, and check their coverage."""
    started = time.monotonic()
    ids = [connection_ids] if isinstance(connection_ids, str) else list(connection_ids)
    with db.connect(db_url) as conn:
        ranges = sync_curated(conn)
        scope = create_scope(conn, ids)
        if len(ids) == 1 and scope.busy:
            raise HVError(f"a sync of EHR connection {ids[0]} is running: standardize it again when it ends")
        counts = standardize_scope(conn)
        coverage = scope_coverage(conn)
        write_audit_entry(conn, action="LAB_RESULTS_STANDARDIZED", resource="ehr_connections",
                          resource_id=ids[0] if len(ids) == 1 else f"{len(scope.connections)} connections",
                          details={"connections": len(scope.connections), "results": counts.results,
                                   "standardized": counts.standardized, "converted": counts.converted,
                                   "inserted": counts.inserted, "updated": counts.updated,
                                   "removed": counts.removed})
    return StandardizeOutcome(counts, coverage, ranges, scope, time.monotonic() - started)


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
