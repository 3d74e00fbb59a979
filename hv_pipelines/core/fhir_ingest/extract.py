"""The columns of `fhir_resources` HoloVitals shows without parsing raw FHIR: title, date, status, ...

Each is read from the field a clinician would expect for that resource type, falling back through
the alternatives FHIR allows (`effectiveDateTime`, then `effectivePeriod.start`, ...). Dates are
normalised to UTC (the columns are `timestamp without time zone`); a partial date (`2010-04`) becomes
its first instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hv_pipelines.core.fhir_ingest.resource_types import referenced_id

DATE_PATHS: dict[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "MedicationRequest": ("authoredOn", "dispenseRequest.validityPeriod.start"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "AllergyIntolerance": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "Immunization": ("occurrenceDateTime", "recorded"),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "DocumentReference": ("date", "context.period.start"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Encounter": ("period.start",),
    "FamilyMemberHistory": ("date",),
    "CarePlan": ("period.start", "created"),
}
TITLE_PATHS: dict[str, tuple[str, ...]] = {
    "Observation": ("code",), "Condition": ("code",), "Procedure": ("code",), "AllergyIntolerance": ("code",),
    "DiagnosticReport": ("code",), "MedicationRequest": ("medicationCodeableConcept", "medicationReference"),
    "MedicationStatement": ("medicationCodeableConcept", "medicationReference"),
    "Immunization": ("vaccineCode",),
    "DocumentReference": ("type",), "Encounter": ("type",), "FamilyMemberHistory": ("relationship",),
    "CarePlan": ("title",), "Organization": ("name",),
}
PATIENT_FIELDS = ("subject", "patient")
MAX_TEXT = 2000


def path_value(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for key in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def concept_text(value: Any) -> str | None:
    """What a person reads for a CodeableConcept (text, else the first coding's display or code),
    a Reference (its display) or a plain string."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value[:MAX_TEXT] or None
    if not isinstance(value, dict):
        return None
    if value.get("text"):
        return str(value["text"])[:MAX_TEXT]
    if value.get("display"):
        return str(value["display"])[:MAX_TEXT]
    for coding in value.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))[:MAX_TEXT]
    return None


def first_code(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("code"):
            return str(value["code"])
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and coding.get("code"):
                return str(coding["code"])
    return None


def fhir_instant(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as a naive UTC datetime; partial dates give their first instant."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    text = value
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def resource_date(resource: dict[str, Any]) -> datetime | None:
    for path in DATE_PATHS.get(resource.get("resourceType", ""), ()):
        found = fhir_instant(path_value(resource, path))
        if found is not None:
            return found
    return None


def resource_title(resource: dict[str, Any]) -> str | None:
    for path in TITLE_PATHS.get(resource.get("resourceType", ""), ()):
        text = concept_text(resource.get(path))
        if text:
            return text
    return None


def resource_status(resource: dict[str, Any]) -> str | None:
    status = resource.get("status")
    if isinstance(status, str):
        return status
    return first_code(resource.get("clinicalStatus"))


def resource_category(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Encounter":
        return first_code(resource.get("class"))
    return first_code(resource.get("category"))


def patient_of(resource: dict[str, Any]) -> str | None:
    """The id of the Patient a resource is about (a Patient is about itself)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for field in PATIENT_FIELDS:
        found = referenced_id(resource.get(field))
        if found:
            return found
    return None


def attachment(resource: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """contentType, url and size of a DocumentReference's first attachment."""
    if resource.get("resourceType") != "DocumentReference":
        return None, None, None
    found = path_value(resource, "content.attachment")
    if not isinstance(found, dict):
        return None, None, None
    size = found.get("size")
    size = size if isinstance(size, int) and 0 <= size < 2**31 else None
    return found.get("contentType"), found.get("url"), size
