"""FHIR resources → customer repository rows, as plain functions."""

from __future__ import annotations

from hv_pipelines.core.fhir_ingest.clinical_mapping import clinical_rows
from tests.fakes.ehr_fixtures import sample_resources

BY_ID = {r["id"]: r for r in sample_resources()}


def rows_of(resource_id: str):
    return clinical_rows(BY_ID[resource_id])


def test_condition_keeps_the_icd10_code_when_the_ehr_coded_one():
    table, [row] = rows_of("cond-a-2")
    assert table == "customer_diagnoses"
    assert (row["condition"], row["icd10_code"], row["status"]) == ("Diabetes mellitus type 2", "E11.9",
                                                                     "active")
    assert row["diagnosed_date"] == "2018-06-12T05:00:00"  # -05:00 onset stored in UTC
    _, [snomed_only] = rows_of("cond-a-4")
    assert snomed_only["icd10_code"] is None and snomed_only["diagnosed_date"] == "2010-04-01T00:00:00"


def test_medications_from_requests_and_statements_with_dose_and_frequency():
    _, [request] = rows_of("medreq-a-2")
    assert (request["name"], request["dosage"], request["frequency"]) == ("Metformin ER 500 mg", "500 mg",
                                                                          "2 times per day")
    assert request["prescribed_by"] == "Dr. Rosa Patel"
    _, [finished] = rows_of("medreq-a-3")
    assert finished["end_date"] == "2022-01-20T00:00:00" and finished["status"] == "completed"
    table, [statement] = rows_of("medstmt-a-1")
    assert table == "customer_medications" and statement["purpose"] == "High cholesterol"


def test_contained_medication_names_a_request_without_a_concept():
    resource = {**BY_ID["medreq-a-1"], "contained": [{"resourceType": "Medication", "id": "m1",
                                                      "code": {"text": "Lisinopril (contained)"}}],
                "medicationReference": {"reference": "#m1"}}
    resource.pop("medicationCodeableConcept")
    assert clinical_rows(resource)[1][0]["name"] == "Lisinopril (contained)"


def test_vital_signs_by_loinc_with_unit_conversion():
    assert rows_of("obs-a-bp")[1] == [{"date": "2024-03-01T14:00:00", "blood_pressure_systolic": 128,
                                       "blood_pressure_diastolic": 82}]
    assert rows_of("obs-a-temp-f")[1][0]["temperature"] == 37.5  # 99.5 °F
    assert rows_of("obs-a-wt-lb")[1][0]["weight"] == 79.83  # 176 lb
    assert rows_of("obs-a-spo2")[1][0]["oxygen_saturation"] == 97
    assert rows_of("obs-a-a1c") == ("customer_vital_signs", [])  # a lab, not a vital sign


def test_allergy_immunization_and_procedure():
    assert rows_of("allergy-a-2")[1] == [{"allergen": "Peanut - dietary", "type": "food",
                                          "reaction": "Anaphylaxis", "severity": "severe",
                                          "diagnosed_date": "1980-01-01T00:00:00"}]
    _, [covid] = rows_of("imm-a-3")
    assert (covid["dose_number"], covid["lot_number"], covid["date"]) == (2, "EW0178", "2021-04-22T19:00:00")
    _, [colonoscopy] = rows_of("proc-a-2")
    assert colonoscopy["location"] == "Riverside Endoscopy Center"
    assert colonoscopy["date"] == "2021-09-28T12:00:00"


def test_family_history_yields_one_row_per_condition():
    table, rows = rows_of("fmh-a-1")
    assert table == "customer_family_history"
    assert [(r["relationship"], r["condition"], r["age_at_diagnosis"]) for r in rows] == [
        ("mother", "Breast cancer", 52), ("mother", "Hypertension", None)]


def test_voided_or_incomplete_resources_yield_no_rows():
    voided = {**BY_ID["cond-a-1"], "verificationStatus": {"coding": [{"code": "entered-in-error"}]}}
    undated = {k: v for k, v in BY_ID["imm-a-1"].items() if k != "occurrenceDateTime"}
    not_done = {**BY_ID["proc-a-1"], "status": "not-done"}
    assert [clinical_rows(r)[1] for r in (voided, undated, not_done)] == [[], [], []]
    assert clinical_rows(BY_ID["doc-a-1"]) == (None, [])  # documents stay in fhir_resources
