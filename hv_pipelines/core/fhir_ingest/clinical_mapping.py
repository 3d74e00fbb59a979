"""FHIR R4 resources → rows of the customer repository tables (pure functions, no database).

Each mapper returns the rows one resource yields (usually one, none when the resource lacks what the
table requires, several for a FamilyMemberHistory with several conditions). Values are what the
HoloVitals app displays: a CodeableConcept's text, an ICD-10-CM code when the EHR coded one, UTC
timestamps, and vital signs converted to the units the columns hold (°C, kg, cm, %).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hv_pipelines.core.fhir_ingest.extract import concept_text, fhir_instant, first_code, path_value

Row = dict[str, Any]
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
LOINC = "http://loinc.org"
VOIDED = {"entered-in-error", "not-done", "cancelled"}
VITAL_COLUMNS = {
    "8480-6": "blood_pressure_systolic", "8462-4": "blood_pressure_diastolic", "8867-4": "heart_rate",
    "8310-5": "temperature", "29463-7": "weight", "8302-2": "height", "39156-5": "bmi",
    "59408-5": "oxygen_saturation", "2708-6": "oxygen_saturation",
}
INTEGER_VITALS = {"blood_pressure_systolic", "blood_pressure_diastolic", "heart_rate", "oxygen_saturation"}
# UCUM unit → factor (or function) to the column's unit; units not listed are taken as already right.
UNIT_CONVERSIONS: dict[str, dict[str, Callable[[float], float]]] = {
    "temperature": {"[degF]": lambda f: (f - 32) * 5 / 9, "degF": lambda f: (f - 32) * 5 / 9},
    "weight": {"[lb_av]": lambda v: v * 0.45359237, "lb": lambda v: v * 0.45359237, "g": lambda v: v / 1000},
    "height": {"m": lambda v: v * 100, "[in_i]": lambda v: v * 2.54, "in": lambda v: v * 2.54,
               "[ft_i]": lambda v: v * 30.48},
}
PERIOD_UNITS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month",
                "a": "year"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _first_instant(resource: dict[str, Any], *paths: str) -> datetime | None:
    for path in paths:
        found = fhir_instant(path_value(resource, path))
        if found:
            return found
    return None


def _notes(resource: dict[str, Any]) -> str | None:
    texts = [n.get("text") for n in resource.get("note") or [] if isinstance(n, dict) and n.get("text")]
    return "\n".join(texts)[:4000] or None


def _codes(concept: Any, system: str | tuple[str, ...]) -> list[str]:
    systems = (system,) if isinstance(system, str) else system
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [c["code"] for c in codings or []
            if isinstance(c, dict) and c.get("system") in systems and c.get("code")]


def _medication_name(resource: dict[str, Any]) -> str | None:
    name = concept_text(resource.get("medicationCodeableConcept"))
    reference = resource.get("medicationReference")
    if name or not isinstance(reference, dict):
        return name
    target = str(reference.get("reference", ""))
    for contained in resource.get("contained") or []:
        if isinstance(contained, dict) and target == f"#{contained.get('id')}":
            return concept_text(contained.get("code"))
    return concept_text(reference)


def _dosage(dosage: Any) -> tuple[str, str]:
    """(dosage, frequency) from a Dosage: '500 mg', '2 times per day' — or its free text."""
    if not isinstance(dosage, dict):
        return "unspecified", "unspecified"
    quantity = path_value(dosage, "doseAndRate.doseQuantity")
    amount = (f"{quantity['value']:g} {quantity.get('unit') or quantity.get('code') or ''}".strip()
              if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float) else None)
    repeat = path_value(dosage, "timing.repeat") or {}
    frequency = None
    if repeat.get("frequency") and repeat.get("periodUnit") in PERIOD_UNITS:
        unit, period, times = PERIOD_UNITS[repeat["periodUnit"]], repeat.get("period", 1), repeat["frequency"]
        frequency = (f"{times} time{'s' if times != 1 else ''} per {unit}" if period == 1
                     else f"{times} per {period:g} {unit}s")
    elif dosage.get("asNeededBoolean"):
        frequency = "as needed"
    frequency = frequency or concept_text(path_value(dosage, "timing.code"))
    text = dosage.get("text")
    return (amount or text or "unspecified")[:500], (frequency or text or "unspecified")[:500]


def diagnosis(resource: dict[str, Any]) -> list[Row]:
    if first_code(resource.get("verificationStatus")) in VOIDED:
        return []
    name = concept_text(resource.get("code"))
    diagnosed = _first_instant(resource, "onsetDateTime", "onsetPeriod.start", "recordedDate")
    if not name or not diagnosed:
        return []
    icd10 = _codes(resource.get("code"), ICD10_SYSTEMS)
    return [{"condition": name, "icd10_code": icd10[0] if icd10 else None, "diagnosed_date": _iso(diagnosed),
             "status": first_code(resource.get("clinicalStatus")) or "unknown",
             "severity": concept_text(resource.get("severity")), "notes": _notes(resource)}]


def medication(resource: dict[str, Any]) -> list[Row]:
    if resource.get("status") in VOIDED:
        return []
    name = _medication_name(resource)
    if resource["resourceType"] == "MedicationRequest":
        dosage = (resource.get("dosageInstruction") or [None])[0]
        start = _first_instant(resource, "authoredOn", "dispenseRequest.validityPeriod.start")
        end = _first_instant(resource, "dispenseRequest.validityPeriod.end")
        prescriber = concept_text(resource.get("requester"))
    else:
        dosage = (resource.get("dosage") or [None])[0]
        start = _first_instant(resource, "effectiveDateTime", "effectivePeriod.start", "dateAsserted")
        end = _first_instant(resource, "effectivePeriod.end")
        prescriber = concept_text(resource.get("informationSource"))
    if not name or not start:
        return []
    amount, frequency = _dosage(dosage)
    purpose = concept_text(resource.get("reasonCode")) or concept_text(resource.get("reasonReference"))
    return [{"name": name, "dosage": amount, "frequency": frequency, "start_date": _iso(start),
             "end_date": _iso(end),
             "prescribed_by": prescriber, "purpose": purpose, "status": resource.get("status") or "unknown"}]


def allergy(resource: dict[str, Any]) -> list[Row]:
    if first_code(resource.get("verificationStatus")) in VOIDED:
        return []
    allergen = concept_text(resource.get("code"))
    if not allergen:
        return []
    reaction = (resource.get("reaction") or [{}])[0]
    category = (resource.get("category") or [None])[0]
    return [{"allergen": allergen, "type": category or resource.get("type") or "unknown",
             "reaction": concept_text(reaction.get("manifestation")) or "unspecified",
             "severity": reaction.get("severity") or resource.get("criticality") or "unknown",
             "diagnosed_date": _iso(_first_instant(resource, "onsetDateTime", "onsetPeriod.start",
                                                   "recordedDate"))}]


def immunization(resource: dict[str, Any]) -> list[Row]:
    vaccine = concept_text(resource.get("vaccineCode"))
    given = _first_instant(resource, "occurrenceDateTime")
    if resource.get("status") in VOIDED or not vaccine or not given:
        return []
    dose = path_value(resource, "protocolApplied.doseNumberPositiveInt")
    return [{"vaccine": vaccine, "date": _iso(given), "dose_number": dose if isinstance(dose, int) else None,
             "administered_by": concept_text(path_value(resource, "performer.actor")),
             "lot_number": resource.get("lotNumber")}]


def procedure(resource: dict[str, Any]) -> list[Row]:
    name = concept_text(resource.get("code"))
    performed = _first_instant(resource, "performedDateTime", "performedPeriod.start")
    if resource.get("status") in VOIDED or not name or not performed:
        return []
    return [{"name": name, "date": _iso(performed),
             "performed_by": concept_text(path_value(resource, "performer.actor")),
             "location": concept_text(resource.get("location")), "notes": _notes(resource)}]


def _vital_value(column: str, quantity: Any) -> float | int | None:
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return None
    value = float(quantity["value"])
    convert = UNIT_CONVERSIONS.get(column, {}).get(quantity.get("code") or quantity.get("unit") or "")
    value = convert(value) if convert else value
    return round(value) if column in INTEGER_VITALS else round(value, 2)


def vital_signs(resource: dict[str, Any]) -> list[Row]:
    """One row per vital-sign Observation, filling the columns its LOINC code (or components) carry."""
    measured = _first_instant(resource, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant",
                              "issued")
    if resource.get("status") in VOIDED or not measured:
        return []
    values: Row = {}
    parts = [(resource.get("code"), resource.get("valueQuantity"))]
    parts += [(c.get("code"), c.get("valueQuantity"))
              for c in resource.get("component") or [] if isinstance(c, dict)]
    for concept, quantity in parts:
        for code in _codes(concept, LOINC):
            column = VITAL_COLUMNS.get(code)
            value = _vital_value(column, quantity) if column else None
            if value is not None:
                values[column] = value
    return [{"date": _iso(measured), **values}] if values else []


def family_history(resource: dict[str, Any]) -> list[Row]:
    relationship = concept_text(resource.get("relationship"))
    if resource.get("status") in VOIDED or not relationship:
        return []
    rows = []
    for condition in resource.get("condition") or []:
        name = concept_text(condition.get("code")) if isinstance(condition, dict) else None
        if not name:
            continue
        age = condition.get("onsetAge") or {}
        in_years = age.get("code", "a") == "a" and isinstance(age.get("value"), int | float)
        years = age.get("value") if in_years else None
        notes = [n.get("text") for n in condition.get("note") or [] if isinstance(n, dict) and n.get("text")]
        rows.append({"relationship": relationship, "condition": name,
                     "age_at_diagnosis": int(years) if years is not None else None,
                     "notes": "\n".join(notes)[:4000] or None})
    return rows


MAPPERS: dict[str, tuple[str, Callable[[dict[str, Any]], list[Row]]]] = {
    "Condition": ("customer_diagnoses", diagnosis),
    "MedicationRequest": ("customer_medications", medication),
    "MedicationStatement": ("customer_medications", medication),
    "AllergyIntolerance": ("customer_allergies", allergy),
    "Immunization": ("customer_immunizations", immunization),
    "Procedure": ("customer_procedures", procedure),
    "Observation": ("customer_vital_signs", vital_signs),
    "FamilyMemberHistory": ("customer_family_history", family_history),
}
TABLE_COLUMNS = {
    "customer_diagnoses": ("condition", "icd10_code", "diagnosed_date", "status", "severity", "notes"),
    "customer_medications": ("name", "dosage", "frequency", "start_date", "end_date", "prescribed_by",
                             "purpose", "status"),
    "customer_allergies": ("allergen", "type", "reaction", "severity", "diagnosed_date"),
    "customer_immunizations": ("vaccine", "date", "dose_number", "administered_by", "lot_number"),
    "customer_procedures": ("name", "date", "performed_by", "location", "notes"),
    "customer_vital_signs": ("date", "blood_pressure_systolic", "blood_pressure_diastolic", "heart_rate",
                             "temperature", "weight", "height", "bmi", "oxygen_saturation"),
    "customer_family_history": ("relationship", "condition", "age_at_diagnosis", "notes"),
}


def clinical_rows(resource: dict[str, Any]) -> tuple[str | None, list[Row]]:
    """(table, rows) for a resource; (None, []) for types the repository does not hold."""
    table, mapper = MAPPERS.get(resource.get("resourceType", ""), (None, None))
    return (table, mapper(resource)) if mapper else (None, [])
