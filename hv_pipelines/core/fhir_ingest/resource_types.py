"""How a FHIR resource is keyed in HoloVitals: its `FHIRResourceType` bucket, stored id and record id.

`fhir_resources` is unique on (connection, fhir_id, resource_type) where resource_type is the
application's coarse enum. FHIR ids are only unique within one FHIR type, so a type that shares a
bucket with others (MedicationStatement shares MEDICATION_REQUEST; every type without its own value
lands in OTHER) is stored with a qualified id `Type/id`; types owning their bucket keep the bare id,
as the application's own SMART-on-FHIR sync writes them.
"""

from __future__ import annotations

import uuid

OWN_BUCKET = {
    "Patient": "CUSTOMER",
    "DocumentReference": "DOCUMENT_REFERENCE",
    "Observation": "OBSERVATION",
    "Condition": "CONDITION",
    "MedicationRequest": "MEDICATION_REQUEST",
    "AllergyIntolerance": "ALLERGY_INTOLERANCE",
    "Immunization": "IMMUNIZATION",
    "Procedure": "PROCEDURE",
    "DiagnosticReport": "DIAGNOSTIC_REPORT",
    "CarePlan": "CARE_PLAN",
    "Encounter": "ENCOUNTER",
    "Practitioner": "PRACTITIONER",
    "Organization": "ORGANIZATION",
}
SHARED_BUCKET = {"MedicationStatement": "MEDICATION_REQUEST"}

# Namespace of the ids HoloVitals rows derived from an EHR resource get: the same resource of the same
# connection always yields the same id, which is what makes re-ingesting an export idempotent.
RECORD_NAMESPACE = uuid.UUID("5b0f3c1e-8d0a-4c55-9a35-2f7c6e0e4d11")


def bucket_of(fhir_type: str) -> str:
    """The `FHIRResourceType` enum value a FHIR resource type is stored under."""
    return OWN_BUCKET.get(fhir_type) or SHARED_BUCKET.get(fhir_type) or "OTHER"


def stored_fhir_id(fhir_type: str, fhir_id: str) -> str:
    return fhir_id if fhir_type in OWN_BUCKET else f"{fhir_type}/{fhir_id}"


def record_id(connection_id: str, fhir_type: str, fhir_id: str) -> str:
    """The id of the customer-repository row(s) derived from one resource (`~n` is appended for the n-th
    extra row when one resource yields several, e.g. a FamilyMemberHistory with several conditions)."""
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{connection_id}/{fhir_type}/{fhir_id}"))


def referenced_id(reference: object, target_type: str = "Patient") -> str | None:
    """The id in a reference to `target_type` — relative (`Patient/1`), absolute or versioned."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if not isinstance(text, str):
        return None
    parts = text.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == target_type and parts[-1]:
        return parts[-1]
    return None
