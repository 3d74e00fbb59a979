"""A connection whose patient has lab results in `fhir_resources`, and the LOINC terms they need.

Resources are real FHIR R4 (validated with `fhir.resources.R4B` before they are stored) and are stored
the way ingestion stores them (`raw_data`, `metadata` with the patient), so the stage reads exactly what
a sync leaves behind.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from fhir.resources.R4B import get_fhir_model_class

from hv_pipelines.core import db
from hv_pipelines.core.fhir_ingest import connections
from hv_pipelines.core.fhir_ingest.resource_types import bucket_of
from tests.fakes.ehr_fixtures import create_user

# LOINC number → (component, primary UCUM unit or None)
TERMS = {
    "2345-7": ("Glucose", "mg/dL"), "718-7": ("Hemoglobin", "g/dL"), "29463-7": ("Body weight", "kg"),
    "8302-2": ("Body height", "cm"), "8310-5": ("Body temperature", "Cel"), "2160-0": ("Creatinine", "mg/dL"),
    "8480-6": ("Systolic blood pressure", "mm[Hg]"), "8462-4": ("Diastolic blood pressure", "mm[Hg]"),
    "85354-9": ("Blood pressure panel", None), "2951-2": ("Sodium", "mmol/L"), "4548-4": ("Hemoglobin A1c", "%"),
    "1558-6": ("Glucose fasting", "mg/dL"), "6690-2": ("Leukocytes", "10*3/uL"),
}


def insert_loinc_terms(db_url: str, terms: dict[str, tuple[str, str | None]] = TERMS, *,
                       status: str = "ACTIVE") -> None:
    with db.connect(db_url) as conn:
        for number, (component, unit) in terms.items():
            code_id = str(uuid.uuid4())
            conn.execute(
                """INSERT INTO "LOINCCode" (id, "loincNumber", component, property, "timeAspect", system, scale,
                       category, "componentType", "commonName", "shortName", "longName", status, "updatedAt")
                   VALUES (%s, %s, %s, 'MCnc', 'Pt', 'Ser/Plas', 'Qn', 'LABORATORY', 'CHEMISTRY', %s, %s, %s, %s, now())""",
                (code_id, number, component, component, component, component, status))
            if unit:
                conn.execute("""INSERT INTO "LOINCUnit" (id, "loincCodeId", unit, "ucumCode", "unitSystem", "isPrimary")
                                VALUES (%s, %s, %s, %s, 'UCUM', true)""", (str(uuid.uuid4()), code_id, unit, unit))


def quantity(value: float, unit: str, *, ucum: bool = True) -> dict:
    if ucum:
        return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return {"value": value, "unit": unit}


def observation(fhir_id: str, code: str, value: dict | None = None, *, patient: str = "pat-a",
                category: str = "laboratory", system: str = "http://loinc.org", when: str = "2024-03-01",
                **extra) -> dict:
    resource = {
        "resourceType": "Observation", "id": fhir_id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": category}]}],
        "code": {"coding": [{"system": system, "code": code}], "text": TERMS.get(code, (code,))[0]},
        "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": f"{when}T09:00:00Z", **extra}
    if value is not None:
        resource["valueQuantity"] = value
    return resource


def patient(fhir_id: str = "pat-a", *, gender: str = "female", birth: str = "1980-05-17") -> dict:
    return {"resourceType": "Patient", "id": fhir_id, "gender": gender, "birthDate": birth}


def store(db_url: str, connection_id: str, resources: list[dict]) -> None:
    """Validate each resource against FHIR R4 and store it as ingestion does (replacing an earlier version)."""
    with db.connect(db_url) as conn:
        for resource in resources:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            subject = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
            owner = resource["id"] if resource["resourceType"] == "Patient" else subject.removeprefix("Patient/")
            metadata = json.dumps({"fhirType": resource["resourceType"], "patient": owner, "version": "1"},
                                  separators=(",", ":"))
            conn.execute(
                """INSERT INTO fhir_resources (id, connection_id, resource_type, fhir_id, raw_data, metadata, updated_at)
                   VALUES (%s, %s, %s, %s, %s, %s, now())
                   ON CONFLICT (connection_id, fhir_id, resource_type) DO UPDATE SET raw_data = EXCLUDED.raw_data""",
                (str(uuid.uuid4()), connection_id, bucket_of(resource["resourceType"]), resource["id"],
                 json.dumps(resource), metadata))


@dataclass
class Connection:
    db_url: str
    id: str
    user_id: str


class _Server:
    base_url = "http://127.0.0.1:9/fhir"


@pytest.fixture
def lab_connection(migrated_db: str, keyring) -> Connection:
    user_id = create_user(migrated_db)
    with db.connect(migrated_db) as conn:
        connection_id = connections.create_connection(
            conn, keyring, user_email="amy@example.com", provider="OTHER", base_url=_Server.base_url,
            client_id=None, private_key_pem=None, group_id=None, export_level="system", customer_id="pat-a")
    insert_loinc_terms(migrated_db)
    store(migrated_db, connection_id, [patient()])
    return Connection(migrated_db, connection_id, user_id)
