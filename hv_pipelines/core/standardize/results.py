"""Lab results of one EHR connection → `LabResultStandardization`: LOINC, UCUM value, range, interpretation.

Set-based from end to end: the connection's laboratory and vital-signs Observations (and their
components: a blood-pressure panel gives a systolic and a diastolic row) are read from
`fhir_resources.raw_data` by one SQL statement into staging; Python sees only the distinct
(LOINC code, unit) pairs, converts each once with UCUM (`units.conversion`), and the ranges that could
apply; one statement then computes every row and one merge writes what changed. A rerun with nothing
new changes nothing (not even `updatedAt`); a result whose resource no longer maps loses its row.

Precedence, as a clinician reads a result: the Observation's own interpretation, else its own
reference range, else a `ReferenceRange` row matching the patient's sex and age on the day of the
observation (a lab's own ranges before the curated ones). `flags` says which applied, and why a value
was not converted: nothing is guessed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from hv_pipelines.core.fhir_ingest.connections import EHRConnection
from hv_pipelines.core.fhir_ingest.normalise import patient_marker
from hv_pipelines.core.row_ids import new_id, new_ids
from hv_pipelines.core.standardize.units import UnitError, conversion

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
STANDARDIZED_BY = "hv_pipelines"


@dataclass
class StandardizeCounts:
    results: int = 0
    standardized: int = 0
    converted: int = 0
    quantitative: int = 0
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_converted: Counter[str] = field(default_factory=Counter)
    interpretations: Counter[str] = field(default_factory=Counter)

    @property
    def converted_share(self) -> float:
        return self.converted / self.quantitative if self.quantitative else 1.0


# One row per result: the Observation when it carries a value, and each component that does.
_STAGE_RESULTS = """
CREATE TEMP TABLE std_results ON COMMIT DROP AS
WITH observations AS (
    SELECT f.id AS resource_id, f.raw_data::jsonb AS r
    FROM fhir_resources f
    WHERE f.connection_id = %(connection)s AND f.resource_type = 'OBSERVATION'
      AND position(%(marker)s IN coalesce(f.metadata, '')) > 0
), labs AS (
    SELECT * FROM observations o WHERE EXISTS (
        SELECT 1 FROM jsonb_array_elements(coalesce(o.r -> 'category', '[]')) c,
                      jsonb_array_elements(coalesce(c -> 'coding', '[]')) cc
        WHERE cc ->> 'code' IN ('laboratory', 'vital-signs'))
      AND coalesce(o.r ->> 'subject', '') LIKE %(subject)s
      AND coalesce(o.r ->> 'status', '') NOT IN ('entered-in-error', 'cancelled')
), parts AS (
    SELECT resource_id, r, r AS part FROM labs
    UNION ALL
    SELECT resource_id, r, component FROM labs, jsonb_array_elements(coalesce(r -> 'component', '[]')) component
), valued AS (
    SELECT resource_id, r, part,
           coalesce((SELECT c FROM jsonb_array_elements(coalesce(part -> 'code' -> 'coding', '[]')) c
                     WHERE c ->> 'system' = %(loinc_system)s AND c ->> 'code' IS NOT NULL LIMIT 1),
                    (SELECT c FROM jsonb_array_elements(coalesce(part -> 'code' -> 'coding', '[]')) c
                     WHERE c ->> 'code' IS NOT NULL LIMIT 1)) AS coding
    FROM parts
    WHERE part ?| array['valueQuantity', 'valueString', 'valueCodeableConcept', 'valueInteger', 'valueBoolean']
)
SELECT resource_id,
       coding ->> 'code' AS code, coalesce(coding ->> 'system', '') AS code_system,
       coalesce(part -> 'code' ->> 'text', coding ->> 'display', coding ->> 'code') AS name,
       coalesce(coalesce(part -> 'valueQuantity' ->> 'comparator', '') || (part -> 'valueQuantity' ->> 'value'),
                part ->> 'valueString', part -> 'valueCodeableConcept' ->> 'text',
                part -> 'valueCodeableConcept' -> 'coding' -> 0 ->> 'code',
                part ->> 'valueInteger', part ->> 'valueBoolean') AS original_value,
       CASE WHEN jsonb_typeof(part -> 'valueQuantity' -> 'value') = 'number'
            THEN (part -> 'valueQuantity' ->> 'value')::float8 END AS value,
       part -> 'valueQuantity' ->> 'comparator' AS comparator,
       CASE WHEN part -> 'valueQuantity' ->> 'system' = %(ucum_system)s
            THEN coalesce(part -> 'valueQuantity' ->> 'code', part -> 'valueQuantity' ->> 'unit')
            ELSE coalesce(part -> 'valueQuantity' ->> 'unit', part -> 'valueQuantity' ->> 'code') END AS unit,
       coalesce(part -> 'valueQuantity' ->> 'unit', part -> 'valueQuantity' ->> 'code') AS original_unit,
       CASE WHEN jsonb_typeof(part -> 'referenceRange' -> 0 -> 'low' -> 'value') = 'number'
            THEN (part -> 'referenceRange' -> 0 -> 'low' ->> 'value')::float8 END AS own_low,
       CASE WHEN jsonb_typeof(part -> 'referenceRange' -> 0 -> 'high' -> 'value') = 'number'
            THEN (part -> 'referenceRange' -> 0 -> 'high' ->> 'value')::float8 END AS own_high,
       part -> 'interpretation' -> 0 -> 'coding' -> 0 ->> 'code' AS own_interpretation,
       left(coalesce(r ->> 'effectiveDateTime', r -> 'effectivePeriod' ->> 'start', r ->> 'issued'), 10)
           AS effective_date
FROM valued WHERE coding IS NOT NULL
"""

# Every result that resolved to a LOINC term, with its value in the term's primary unit, the
# matching reference range and the interpretation.
_BUILD_TARGET = """
CREATE TEMP TABLE std_target ON COMMIT DROP AS
WITH resolved AS (
    SELECT s.*, l.id AS loinc_id, l."loincNumber" AS loinc_number
    FROM std_results s
    JOIN LATERAL (
        SELECT c.id, c."loincNumber" FROM "LOINCCode" c
        WHERE (s.code_system = %(loinc_system)s AND c."loincNumber" = s.code)
           OR (s.code_system <> %(loinc_system)s AND c."loincNumber" IN (
                   SELECT m."loincCode" FROM "CodeMapping" m
                   WHERE m."targetSystem" = s.code_system AND m."targetCode" = s.code))
        ORDER BY c."loincNumber" LIMIT 1) l ON true
), converted AS (
    SELECT r.*, v.target_unit, v.flag AS unit_flag,
           CASE WHEN r.value IS NOT NULL AND v.factor IS NOT NULL THEN r.value * v.factor + v.offset END
               AS standardized_value,
           CASE WHEN %(age_known)s AND r.effective_date ~ '^\\d{4}-\\d{2}-\\d{2}$'
                THEN date_part('year', age(r.effective_date::date, %(birth)s::date))::int END AS age
    FROM resolved r
    LEFT JOIN std_conversions v ON v.loinc_number = r.loinc_number AND v.unit IS NOT DISTINCT FROM r.unit
), ranged AS (
    SELECT c.*, normal.range_id, normal.low, normal.high, crit.critical
    FROM converted c
    LEFT JOIN LATERAL (
        SELECT g.range_id, g.low, g.high FROM std_ranges g
        WHERE g.loinc_id = c.loinc_id AND g.type = 'NORMAL' AND (g.gender IS NULL OR g.gender = %(sex)s)
          AND (g.age_min IS NULL OR c.age >= g.age_min) AND (g.age_max IS NULL OR c.age <= g.age_max)
          AND (c.age IS NOT NULL OR (g.age_min IS NULL AND g.age_max IS NULL))
        ORDER BY g.rank, g.gender NULLS LAST LIMIT 1) normal ON true
    LEFT JOIN LATERAL (
        SELECT CASE g.type WHEN 'CRITICAL_LOW' THEN 'LL' ELSE 'HH' END AS critical FROM std_ranges g
        WHERE g.loinc_id = c.loinc_id AND c.standardized_value IS NOT NULL AND c.comparator IS NULL
          AND ((g.type = 'CRITICAL_LOW' AND c.standardized_value < g.high)
            OR (g.type = 'CRITICAL_HIGH' AND c.standardized_value > g.low))
          AND (g.gender IS NULL OR g.gender = %(sex)s)
          AND (g.age_min IS NULL OR c.age >= g.age_min) AND (g.age_max IS NULL OR c.age <= g.age_max)
          AND (c.age IS NOT NULL OR (g.age_min IS NULL AND g.age_max IS NULL))
        ORDER BY g.rank LIMIT 1) crit ON true
)
SELECT resource_id, code, code_system, coalesce(name, code) AS name, original_value, original_unit,
       loinc_id, standardized_value, CASE WHEN standardized_value IS NOT NULL THEN target_unit END
           AS standardized_unit,
       range_id, interpretation, array_remove(ARRAY[
           unit_flag,
           CASE WHEN comparator IS NOT NULL THEN 'comparator:' || comparator END,
           CASE WHEN value IS NULL THEN 'not-quantitative' END,
           CASE WHEN interpretation IS NULL THEN 'interpretation:none'
                ELSE 'interpretation:' || interpretation_source END], NULL) AS flags
FROM (
    SELECT *,
        CASE WHEN own_interpretation IS NOT NULL THEN own_interpretation
             WHEN value IS NULL OR comparator IS NOT NULL THEN NULL
             WHEN own_low IS NOT NULL OR own_high IS NOT NULL THEN
                 CASE WHEN value < own_low THEN 'L' WHEN value > own_high THEN 'H' ELSE 'N' END
             WHEN critical IS NOT NULL THEN critical
             WHEN range_id IS NOT NULL AND standardized_value IS NOT NULL THEN
                 CASE WHEN standardized_value < low THEN 'L' WHEN standardized_value > high THEN 'H' ELSE 'N' END
        END AS interpretation,
        CASE WHEN own_interpretation IS NOT NULL THEN 'observation'
             WHEN own_low IS NOT NULL OR own_high IS NOT NULL THEN 'observation-range'
             WHEN critical IS NOT NULL THEN 'critical-range'
             ELSE 'reference-range' END AS interpretation_source
    FROM ranged) decided
"""

_KEY = """l."fhirResourceId" = t.resource_id AND l."originalCode" = t.code
          AND l."originalCodeSystem" = t.code_system"""
_VALUES = ("originalName", "originalValue", "originalUnit", "loincCodeId", "standardizedValue",
           "standardizedUnit", "referenceRangeId", "interpretation", "flags")
_SOURCES = ("name", "original_value", "original_unit", "loinc_id", "standardized_value", "standardized_unit",
            "range_id", "interpretation", "flags")


def standardize_connection(conn: psycopg.Connection, connection: EHRConnection,
                           patient_id: str | None) -> StandardizeCounts:
    """Standardize every lab result of the connection's patient, in the caller's transaction."""
    counts = StandardizeCounts()
    if patient_id is None:
        return counts
    patient = _patient(conn, connection.id, patient_id)
    conn.execute(_STAGE_RESULTS, {"connection": connection.id, "marker": patient_marker(patient_id),
                                  "subject": f"%Patient/{_like_escape(patient_id)}%",
                                  "loinc_system": LOINC_SYSTEM, "ucum_system": UCUM_SYSTEM})
    _stage_conversions(conn, counts)
    _stage_ranges(conn)
    birth = patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None
    conn.execute(_BUILD_TARGET, {"loinc_system": LOINC_SYSTEM, "sex": patient.get("gender"),
                                 "birth": (birth + "-01-01")[:10] if birth else None,
                                 "age_known": bool(birth and len(birth) >= 4)})
    _count(conn, counts)
    _merge(conn, connection, counts)
    return counts



def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _patient(conn: psycopg.Connection, connection_id: str, patient_id: str) -> dict:
    row = conn.execute("""SELECT raw_data FROM fhir_resources WHERE connection_id = %s
                          AND resource_type = 'CUSTOMER' AND fhir_id = %s""", (connection_id, patient_id)).fetchone()
    return json.loads(row[0]) if row else {}


def _stage_conversions(conn: psycopg.Connection, counts: StandardizeCounts) -> None:
    """Each distinct (LOINC code, unit) pair converted once, with the term's primary unit and molar mass."""
    pairs = conn.execute(
        """SELECT DISTINCT c."loincNumber", s.unit, u."ucumCode", u."conversionFactor"
           FROM std_results s
           JOIN "LOINCCode" c ON c."loincNumber" = s.code AND s.code_system = %s
           LEFT JOIN "LOINCUnit" u ON u."loincCodeId" = c.id AND u."isPrimary"
           WHERE s.value IS NOT NULL
           UNION
           SELECT DISTINCT c."loincNumber", s.unit, u."ucumCode", u."conversionFactor"
           FROM std_results s
           JOIN "CodeMapping" m ON m."targetSystem" = s.code_system AND m."targetCode" = s.code
           JOIN "LOINCCode" c ON c."loincNumber" = m."loincCode"
           LEFT JOIN "LOINCUnit" u ON u."loincCodeId" = c.id AND u."isPrimary"
           WHERE s.value IS NOT NULL""", (LOINC_SYSTEM,)).fetchall()
    conn.execute("""CREATE TEMP TABLE std_conversions (loinc_number text, unit text, target_unit text,
                    factor float8, "offset" float8, flag text) ON COMMIT DROP""")
    with conn.cursor().copy("COPY std_conversions FROM STDIN") as copy:
        for loinc_number, unit, target, molar_mass in pairs:
            copy.write_row((loinc_number, unit, target, *_convert(unit, target, molar_mass)))


def _convert(unit: str | None, target: str | None, molar_mass: float | None) -> tuple:
    if not target:
        return None, None, "unit:loinc-term-has-no-ucum-unit"
    try:
        found = conversion(unit or "", target, molar_mass)
    except UnitError as refused:
        return None, None, f"unit:{refused.flag}"
    return found.factor, found.offset, None


def _stage_ranges(conn: psycopg.Connection) -> None:
    """The ranges of the results' LOINC terms, their bounds in each term's primary unit."""
    rows = conn.execute(
        """SELECT r.id, r."loincCodeId", r.type::text, r."lowValue", r."highValue", r.unit, r.gender,
                  r."ageMin", r."ageMax", r.population, u."ucumCode", u."conversionFactor"
           FROM "ReferenceRange" r
           JOIN "LOINCCode" c ON c.id = r."loincCodeId"
           LEFT JOIN "LOINCUnit" u ON u."loincCodeId" = c.id AND u."isPrimary"
           WHERE c."loincNumber" IN (SELECT code FROM std_results)
              OR c."loincNumber" IN (SELECT m."loincCode" FROM "CodeMapping" m JOIN std_results s
                                     ON m."targetSystem" = s.code_system AND m."targetCode" = s.code)""").fetchall()
    conn.execute("""CREATE TEMP TABLE std_ranges (range_id text, loinc_id text, type text, low float8,
                    high float8, gender text, age_min int, age_max int, rank int) ON COMMIT DROP""")
    with conn.cursor().copy("COPY std_ranges FROM STDIN") as copy:
        for range_id, loinc_id, kind, low, high, unit, gender, age_min, age_max, population, target, molar in rows:
            try:
                found = conversion(unit, target or unit, molar)
            except UnitError:
                continue  # a range in a unit that cannot meet the results' is no evidence either way
            low, high = (None if v is None else found.apply(v) for v in (low, high))
            copy.write_row((range_id, loinc_id, kind, low, high, gender, age_min, age_max,
                            0 if population == "lab" else 1))


def _count(conn: psycopg.Connection, counts: StandardizeCounts) -> None:
    counts.results = conn.execute("SELECT count(*) FROM std_results").fetchone()[0]
    counts.unmapped.update({(code, system): n for code, system, n in conn.execute(
        """SELECT code, code_system, count(*) FROM std_results s
           WHERE NOT EXISTS (SELECT 1 FROM std_target t WHERE t.resource_id = s.resource_id
                             AND t.code = s.code AND t.code_system = s.code_system)
           GROUP BY 1, 2""")})
    for standardized, quantitative, converted in conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE NOT 'not-quantitative' = ANY(flags)),
                      count(standardized_value) FROM std_target"""):
        counts.standardized, counts.quantitative, counts.converted = standardized, quantitative, converted
    counts.not_converted.update(dict(conn.execute(
        """SELECT f, count(*) FROM std_target, unnest(flags) f WHERE f LIKE 'unit:%' GROUP BY 1""").fetchall()))
    counts.interpretations.update({k or "none": n for k, n in conn.execute(
        "SELECT interpretation, count(*) FROM std_target GROUP BY 1").fetchall()})


def _merge(conn: psycopg.Connection, connection: EHRConnection, counts: StandardizeCounts) -> None:
    """Write what changed: update differing rows, insert new ones, remove those no result backs."""
    target = ", ".join(f"t.{c}" for c in _SOURCES)
    current = ", ".join(f'l."{c}"' for c in _VALUES)
    counts.updated = conn.execute(
        f"""UPDATE "LabResultStandardization" l SET ({current.replace('l.', '')}, "updatedAt",
                "standardizedAt") = ({target}, now(), now())
            FROM std_target t WHERE {_KEY} AND l."customerId" = %s AND l."standardizedBy" = %s
              AND ({current}) IS DISTINCT FROM ({target})""",
        (connection.user_id, STANDARDIZED_BY)).rowcount
    missing = conn.execute(f"""SELECT count(*) FROM std_target t WHERE NOT EXISTS (
                               SELECT 1 FROM "LabResultStandardization" l WHERE {_KEY})""").fetchone()[0]
    counts.inserted = conn.execute(
        f"""INSERT INTO "LabResultStandardization" (id, "originalCode", "originalCodeSystem", "fhirResourceId",
                "customerId", "standardizedBy", "updatedAt", {', '.join(f'"{c}"' for c in _VALUES)})
            SELECT {new_id("ids")}, t.code, t.code_system, t.resource_id, %(user)s, %(by)s, now(), {target}
            FROM std_target t WHERE NOT EXISTS (SELECT 1 FROM "LabResultStandardization" l WHERE {_KEY})""",
        {"user": connection.user_id, "by": STANDARDIZED_BY, "ids": new_ids(missing)}).rowcount
    counts.removed = conn.execute(
        f"""DELETE FROM "LabResultStandardization" l
            WHERE l."customerId" = %s AND l."standardizedBy" = %s
              AND (l."fhirResourceId" IS NULL OR l."fhirResourceId" IN (
                       SELECT id FROM fhir_resources WHERE connection_id = %s))
              AND NOT EXISTS (SELECT 1 FROM std_target t WHERE {_KEY})""",
        (connection.user_id, STANDARDIZED_BY, connection.id)).rowcount
