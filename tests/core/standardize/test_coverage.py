"""Coverage counts are exact on a fixture with known, inactive and unknown codes of each system."""

from __future__ import annotations

from hv_pipelines.core import db
from hv_pipelines.core.standardize.stage import standardize_stage
from tests.core.standardize.conftest import insert_loinc_terms, observation, quantity, store

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"


def condition(fhir_id: str, *codings: tuple[str, str]) -> dict:
    return {"resourceType": "Condition", "id": fhir_id, "subject": {"reference": "Patient/pat-a"},
            "code": {"coding": [{"system": s, "code": c} for s, c in codings]}}


def test_coverage_counts_resolved_inactive_and_unknown_per_system(lab_connection):
    url = lab_connection.db_url
    insert_loinc_terms(url, {"1234-5": ("Retired test", "mg/dL")}, status="DEPRECATED")
    with db.connect(url) as conn:
        for code, status in (("E11.9", "ACTIVE"), ("E11.8", "INACTIVE")):
            conn.execute("""INSERT INTO "ICD10Code" (id, code, description, category, status, "updatedAt")
                            VALUES (%s, %s, 'x', 'E00-E89', %s, now())""", (code, code, status))
        conn.execute("""INSERT INTO "RxNormCode" (id, rxcui, name, "termType", "updatedAt")
                        VALUES ('rx1', '860975', 'metformin', 'SCD', now())""")
    store(url, lab_connection.id, [
        condition("c1", (ICD10, "E11.9"), (SNOMED, "44054006")),  # SNOMED CT not loaded: unknown
        condition("c2", (ICD10, "E11.8")),
        condition("c3", (ICD10, "Z99.99")),
        {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
         "subject": {"reference": "Patient/pat-a"},
         "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "860975"}]}},
        {"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
         "subject": {"reference": "Patient/pat-a"},
         "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "999999"}]}},
        {"resourceType": "Immunization", "id": "i1", "status": "completed", "patient": {"reference": "Patient/pat-a"},
         "occurrenceDateTime": "2024-01-01", "vaccineCode": {"coding": [{"system": CVX, "code": "208"}]}},
        observation("o1", "2345-7", quantity(90, "mg/dL")),
        observation("o2", "1234-5", quantity(1, "mg/dL")),
        condition("c-other", (ICD10, "E11.9")) | {"subject": {"reference": "Patient/pat-b"}},
    ])
    report = standardize_stage(url, lab_connection.id).coverage
    by_key = {(r.system, r.resource_type): (r.resolved, r.inactive, r.unknown, r.no_terminology) for r in report.rows}
    assert by_key == {
        ("ICD-10-CM", "Condition"): (1, 1, 1, 0),
        ("SNOMED CT", "Condition"): (0, 0, 1, 0),
        ("RxNorm", "MedicationRequest"): (1, 0, 1, 0),
        ("CVX", "Immunization"): (0, 0, 0, 1),
        ("LOINC", "Observation"): (1, 1, 0, 0),
    }
    assert report.unknown_codes == {"ICD-10-CM": ["Z99.99"], "SNOMED CT": ["44054006"], "RxNorm": ["999999"]}
    assert report.inactive_codes == {"ICD-10-CM": ["E11.8"], "LOINC": ["1234-5"]}
    assert report.share_by_system()["ICD-10-CM"] == 1 / 3
    assert report.share_by_system()["CVX"] is None
