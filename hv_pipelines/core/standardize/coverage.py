"""Code coverage: every coded element of a connection's records, resolved against the loaded terminologies.

OMOP's ETL conventions report a mapping rate per domain; this does the same per EHR connection and
code system, so a connection whose codes the loaded releases do not know is seen at once. Each coding
of a Condition, medication, Observation (components included), Procedure or Immunization of the
connection's patient is looked up in the code table of its system: found and active (`resolved`),
found but retired or inactive (`inactive`), or not found (`unknown`). CVX has no terminology loaded
in HoloVitals: its codings are counted under `no_terminology`. Codes only: never values or text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

# FHIR code system URI → (label, code table, code column).
SYSTEMS: dict[str, tuple[str, str | None, str | None]] = {
    "http://loinc.org": ("LOINC", '"LOINCCode"', '"loincNumber"'),
    "http://snomed.info/sct": ("SNOMED CT", '"SNOMEDCode"', '"snomedId"'),
    "http://hl7.org/fhir/sid/icd-10-cm": ("ICD-10-CM", '"ICD10Code"', "code"),
    "http://www.nlm.nih.gov/research/umls/rxnorm": ("RxNorm", '"RxNormCode"', "rxcui"),
    "http://www.ama-assn.org/go/cpt": ("CPT", '"CPTCode"', "code"),
    "http://hl7.org/fhir/sid/cvx": ("CVX", None, None),
}
# Where each resource type keeps the codings that name what it is about.
CODED_ELEMENTS = {
    "Condition": ("code",), "Procedure": ("code",), "Observation": ("code",),
    "MedicationRequest": ("medicationCodeableConcept",), "MedicationStatement": ("medicationCodeableConcept",),
    "Immunization": ("vaccineCode",),
}


@dataclass(frozen=True)
class Coverage:
    connection_id: str
    system: str
    resource_type: str
    resolved: int
    inactive: int
    unknown: int
    no_terminology: int = 0

    @property
    def total(self) -> int:
        return self.resolved + self.inactive + self.unknown + self.no_terminology

    @property
    def share(self) -> float | None:
        """Resolved among the codings a loaded terminology could judge (None when there are none)."""
        judged = self.resolved + self.inactive + self.unknown
        return self.resolved / judged if judged else None


@dataclass
class CoverageReport:
    rows: list[Coverage] = field(default_factory=list)
    unknown_codes: dict[str, list[str]] = field(default_factory=dict)
    inactive_codes: dict[str, list[str]] = field(default_factory=dict)

    def share_by_system(self) -> dict[str, float | None]:
        shares: dict[str, float | None] = {}
        for label in sorted({r.system for r in self.rows}):
            rows = [r for r in self.rows if r.system == label]
            judged = sum(r.resolved + r.inactive + r.unknown for r in rows)
            shares[label] = sum(r.resolved for r in rows) / judged if judged else None
        return shares


_CODINGS = """
CREATE TEMP TABLE std_codings ON COMMIT DROP AS
SELECT DISTINCT f.connection_id, f.resource_id, f.r ->> 'resourceType' AS resource_type,
       coding ->> 'system' AS system, coding ->> 'code' AS code
FROM (SELECT f.connection_id, f.id AS resource_id, f.raw_data::jsonb AS r  -- parsed once per resource
      FROM std_scope s
      JOIN fhir_resources f ON f.connection_id = s.connection_id
       AND f.resource_type IN ('CONDITION', 'PROCEDURE', 'OBSERVATION', 'MEDICATION_REQUEST', 'IMMUNIZATION')
       AND position(s.marker IN coalesce(f.metadata, '')) > 0
      OFFSET 0) f
CROSS JOIN LATERAL (
    SELECT f.r -> element AS concept
    FROM unnest(%(elements)s::text[]) element WHERE f.r ->> 'resourceType' = ANY(%(types)s)
    UNION ALL
    SELECT component -> 'code' FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(f.r -> 'component') = 'array' THEN f.r -> 'component' ELSE '[]' END) component
) concepts
CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(concepts.concept -> 'coding') = 'array' THEN concepts.concept -> 'coding'
         ELSE '[]' END) coding
WHERE coding ->> 'system' = ANY(%(systems)s) AND coding ->> 'code' IS NOT NULL
"""


def scope_coverage(conn: psycopg.Connection, listed: int = 50) -> CoverageReport:
    """Coverage of the codings of the patients in `std_scope`, per connection, system and resource type."""
    elements = sorted({e for names in CODED_ELEMENTS.values() for e in names})
    conn.execute(_CODINGS, {"elements": elements, "types": list(CODED_ELEMENTS), "systems": list(SYSTEMS)})
    report = CoverageReport()
    for uri, (label, table, column) in SYSTEMS.items():
        if table is None:
            for connection_id, resource_type, n in conn.execute(
                    """SELECT connection_id, resource_type, count(*) FROM std_codings WHERE system = %s
                       GROUP BY 1, 2 ORDER BY 1, 2""", (uri,)):
                report.rows.append(Coverage(connection_id, label, resource_type, 0, 0, 0, no_terminology=n))
            continue
        conn.execute(f"""CREATE TEMP TABLE std_judged ON COMMIT DROP AS
                         SELECT s.connection_id, s.resource_type, s.code,
                                CASE WHEN t.status IS NULL THEN 'unknown' WHEN t.status = 'ACTIVE' THEN 'resolved'
                                     ELSE 'inactive' END AS verdict
                         FROM std_codings s LEFT JOIN {table} t ON t.{column} = s.code
                         WHERE s.system = %s""", (uri,))
        for connection_id, resource_type, resolved, inactive, unknown in conn.execute(
                """SELECT connection_id, resource_type, count(*) FILTER (WHERE verdict = 'resolved'),
                          count(*) FILTER (WHERE verdict = 'inactive'), count(*) FILTER (WHERE verdict = 'unknown')
                   FROM std_judged GROUP BY 1, 2 ORDER BY 1, 2"""):
            report.rows.append(Coverage(connection_id, label, resource_type, resolved, inactive, unknown))
        for verdict, into in (("unknown", report.unknown_codes), ("inactive", report.inactive_codes)):
            codes = [c for (c,) in conn.execute(
                "SELECT DISTINCT code FROM std_judged WHERE verdict = %s ORDER BY 1 LIMIT %s", (verdict, listed))]
            if codes:
                into[label] = codes
        conn.execute("DROP TABLE std_judged")
    conn.execute("DROP TABLE std_codings")
    return report
