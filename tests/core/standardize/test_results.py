"""Lab results standardized on real PostgreSQL: LOINC, UCUM values, ranges by sex and age, interpretation."""

from __future__ import annotations

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest import connections
from hv_pipelines.core.fhir_ingest.sync import connection_lock
from hv_pipelines.core.standardize.ranges import load_lab_ranges
from hv_pipelines.core.standardize.stage import standardize_stage
from tests.core.standardize.conftest import observation, patient, quantity, store
from tests.fakes.ehr_fixtures import create_user


def results(db_url: str) -> dict[tuple[str, str], dict]:
    with db.connect(db_url) as conn:
        cursor = conn.execute(
            """SELECT f.fhir_id, l."originalCode", l."originalValue", l."originalUnit", c."loincNumber",
                      l."standardizedValue", l."standardizedUnit", l.interpretation, l.flags, r.type::text, r.source
               FROM "LabResultStandardization" l JOIN fhir_resources f ON f.id = l."fhirResourceId"
               JOIN "LOINCCode" c ON c.id = l."loincCodeId"
               LEFT JOIN "ReferenceRange" r ON r.id = l."referenceRangeId" """)
        names = [d.name for d in cursor.description]
        return {(row[0], row[1]): dict(zip(names, row, strict=True)) for row in cursor}


def test_values_are_converted_to_the_loinc_terms_primary_unit(lab_connection):
    store(lab_connection.db_url, lab_connection.id, [
        observation("weight", "29463-7", quantity(150, "[lb_av]"), category="vital-signs"),
        observation("height", "8302-2", quantity(65, "in", ucum=False), category="vital-signs"),
        observation("temp", "8310-5", quantity(98.6, "degF", ucum=False), category="vital-signs"),
        observation("hgb", "718-7", quantity(140, "g/L")),
        observation("glucose", "2345-7", quantity(95, "mg/dL")),
        observation("glucose-si", "2345-7", quantity(5.5, "mmol/L")),
    ])
    outcome = standardize_stage(lab_connection.db_url, lab_connection.id)
    rows = results(lab_connection.db_url)
    assert rows["weight", "29463-7"]["standardizedValue"] == pytest.approx(150 * 0.45359237)
    assert rows["weight", "29463-7"]["standardizedUnit"] == "kg"
    assert rows["height", "8302-2"]["standardizedValue"] == pytest.approx(65 * 2.54)
    assert rows["temp", "8310-5"]["standardizedValue"] == pytest.approx(37.0)
    assert rows["hgb", "718-7"]["standardizedValue"] == pytest.approx(14.0)
    assert (rows["hgb", "718-7"]["originalValue"], rows["hgb", "718-7"]["originalUnit"]) == ("140", "g/L")
    assert rows["glucose", "2345-7"]["standardizedValue"] == pytest.approx(95)
    # mmol/L → mg/dL through glucose's molar mass (180.156 g/mol, from the shipped molar masses)
    assert rows["glucose-si", "2345-7"]["standardizedValue"] == pytest.approx(5.5 * 18.0156)
    assert outcome.counts.converted == outcome.counts.quantitative == 6


def test_a_unit_that_cannot_be_converted_gets_a_flag_not_a_number(lab_connection):
    store(lab_connection.db_url, lab_connection.id, [
        observation("odd", "718-7", quantity(14, "smidgens", ucum=False)),
        observation("creat-si", "2160-0", quantity(80, "umol/L")),
        observation("sodium-mass", "2951-2", quantity(320, "mg/dL")),  # sodium: no molar mass is shipped
    ])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    rows = results(lab_connection.db_url)
    assert rows["odd", "718-7"]["standardizedValue"] is None
    assert "unit:unit-not-ucum" in rows["odd", "718-7"]["flags"]
    assert rows["sodium-mass", "2951-2"]["standardizedValue"] is None
    assert "unit:molar-mass-unknown" in rows["sodium-mass", "2951-2"]["flags"]
    # creatinine's molar mass is shipped, so µmol/L converts; its value lands in mg/dL
    assert rows["creat-si", "2160-0"]["standardizedValue"] == pytest.approx(80 * 113.12 / 10_000)


def test_interpretation_comes_from_the_seeded_range_for_the_patients_sex_and_age(lab_connection):
    store(lab_connection.db_url, lab_connection.id, [
        observation("hgb-low", "718-7", quantity(11.0, "g/dL")),
        observation("hgb-normal", "718-7", quantity(13.0, "g/dL")),
        observation("hgb-critical", "718-7", quantity(6.0, "g/dL")),
        observation("glucose-high", "2345-7", quantity(180, "mg/dL")),
        observation("glucose-critical", "2345-7", quantity(450, "mg/dL")),
        observation("creat", "2160-0", quantity(1.2, "mg/dL")),
    ])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    rows = results(lab_connection.db_url)
    interpretation = {key[0]: row["interpretation"] for key, row in rows.items()}
    assert interpretation == {"hgb-low": "L", "hgb-normal": "N", "hgb-critical": "LL", "glucose-high": "H",
                              "glucose-critical": "HH", "creat": "H"}  # 1.2 mg/dL: above women's 0.6-1.1
    assert "interpretation:reference-range" in rows["hgb-low", "718-7"]["flags"]
    assert "interpretation:critical-range" in rows["glucose-critical", "2345-7"]["flags"]
    assert rows["creat", "2160-0"]["type"] == "NORMAL"

    # The same creatinine for a man is normal (0.7-1.3), and a child has no adult range at all.
    store(lab_connection.db_url, lab_connection.id, [patient(gender="male")])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    assert results(lab_connection.db_url)["creat", "2160-0"]["interpretation"] == "N"
    store(lab_connection.db_url, lab_connection.id, [patient(gender="male", birth="2015-01-01")])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    child = results(lab_connection.db_url)["creat", "2160-0"]
    assert child["interpretation"] is None and child["type"] is None
    assert "interpretation:none" in child["flags"]


def test_the_observations_own_interpretation_and_range_take_precedence(lab_connection):
    own_range = [{"low": {"value": 50, "unit": "mg/dL"}, "high": {"value": 90, "unit": "mg/dL"}}]
    high = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                         "code": "H"}]}]
    store(lab_connection.db_url, lab_connection.id, [
        observation("own-range", "2345-7", quantity(95, "mg/dL"), referenceRange=own_range),
        observation("own-flag", "2345-7", quantity(80, "mg/dL"), interpretation=high),
    ])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    rows = results(lab_connection.db_url)
    assert rows["own-range", "2345-7"]["interpretation"] == "H"  # N by the seeded 70-100, H by its own 50-90
    assert "interpretation:observation-range" in rows["own-range", "2345-7"]["flags"]
    assert rows["own-flag", "2345-7"]["interpretation"] == "H"  # N by any range: the lab said H
    assert "interpretation:observation" in rows["own-flag", "2345-7"]["flags"]


def test_blood_pressure_components_become_one_row_each(lab_connection):
    bp = observation("bp", "85354-9", None, category="vital-signs", component=[
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": quantity(142, "mm[Hg]")},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": quantity(78, "mm[Hg]")},
    ])
    store(lab_connection.db_url, lab_connection.id, [bp])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    rows = results(lab_connection.db_url)
    assert set(rows) == {("bp", "8480-6"), ("bp", "8462-4")}
    assert (rows["bp", "8480-6"]["interpretation"], rows["bp", "8462-4"]["interpretation"]) == ("H", "N")


def test_local_codes_map_through_code_mapping_and_unmapped_ones_are_counted(lab_connection):
    local = "http://lab.example.org/codes"
    store(lab_connection.db_url, lab_connection.id, [
        observation("local-glucose", "GLU", quantity(90, "mg/dL"), system=local),
        observation("local-unknown", "XYZ", quantity(1, "mg/dL"), system=local),
        observation("other-patient", "2345-7", quantity(90, "mg/dL"), patient="pat-b"),
        observation("survey", "2345-7", quantity(90, "mg/dL"), category="survey"),
    ])
    with db.connect(lab_connection.db_url) as conn:
        conn.execute("""INSERT INTO "CodeMapping" (id, "loincCode", "targetSystem", "targetCode", relationship)
                        VALUES ('m1', '2345-7', %s, 'GLU', 'EQUIVALENT')""", (local,))
    outcome = standardize_stage(lab_connection.db_url, lab_connection.id)
    assert set(results(lab_connection.db_url)) == {("local-glucose", "GLU")}
    assert dict(outcome.counts.unmapped) == {("XYZ", local): 1}


def test_a_second_run_changes_nothing_and_a_changed_result_changes_its_row_only(lab_connection):
    store(lab_connection.db_url, lab_connection.id, [
        observation("a", "2345-7", quantity(95, "mg/dL")), observation("b", "718-7", quantity(13, "g/dL"))])
    first = standardize_stage(lab_connection.db_url, lab_connection.id)
    assert first.counts.inserted == 2

    def snapshot():
        with db.connect(lab_connection.db_url) as conn:
            return dict(conn.execute("""SELECT id, (xmin::text, "updatedAt") FROM "LabResultStandardization" """))

    before = snapshot()
    second = standardize_stage(lab_connection.db_url, lab_connection.id)
    assert (second.counts.inserted, second.counts.updated, second.counts.removed) == (0, 0, 0)
    assert snapshot() == before

    store(lab_connection.db_url, lab_connection.id, [observation("a", "2345-7", quantity(130, "mg/dL"))])
    third = standardize_stage(lab_connection.db_url, lab_connection.id)
    assert (third.counts.inserted, third.counts.updated, third.counts.removed) == (0, 1, 0)
    after = snapshot()
    assert sum(after[k] != before[k] for k in before) == 1


def test_a_labs_own_ranges_win_over_the_curated_ones(lab_connection, tmp_path):
    store(lab_connection.db_url, lab_connection.id, [observation("g", "2345-7", quantity(105, "mg/dL"))])
    standardize_stage(lab_connection.db_url, lab_connection.id)
    assert results(lab_connection.db_url)["g", "2345-7"]["interpretation"] == "H"
    lab_file = tmp_path / "lab.csv"
    lab_file.write_text("loinc,type,low,high,unit,sex,age_min,age_max,source\n"
                        "2345-7,NORMAL,3.9,6.1,mmol/L,,18,,Example Lab 2026 catalog\n")
    with db.connect(lab_connection.db_url) as conn:
        loaded = load_lab_ranges(conn, lab_file)
    assert loaded.inserted == 1
    standardize_stage(lab_connection.db_url, lab_connection.id)
    row = results(lab_connection.db_url)["g", "2345-7"]
    assert row["interpretation"] == "N"  # 105 mg/dL = 5.83 mmol/L, inside the lab's 3.9-6.1 mmol/L
    assert row["source"] == "Example Lab 2026 catalog"


def test_several_connections_are_standardized_in_one_pass_each_with_its_own_patient(lab_connection, keyring):
    url = lab_connection.db_url
    create_user(url, "ben@example.com")
    with db.connect(url) as conn:
        second = connections.create_connection(
            conn, keyring, user_email="ben@example.com", provider="OTHER", base_url="http://127.0.0.1:9/fhir",
            client_id=None, private_key_pem=None, group_id=None, export_level="system", customer_id="pat-b")
    store(url, lab_connection.id, [observation("creat-a", "2160-0", quantity(1.2, "mg/dL"))])
    store(url, second, [patient("pat-b", gender="male"),
                        observation("creat-b", "2160-0", quantity(1.2, "mg/dL"), patient="pat-b")])
    outcome = standardize_stage(url, [lab_connection.id, second])
    assert outcome.scope.connections == sorted([lab_connection.id, second])
    rows = results(url)
    assert rows["creat-a", "2160-0"]["interpretation"] == "H"  # her range: 0.6-1.1
    assert rows["creat-b", "2160-0"]["interpretation"] == "N"  # his: 0.7-1.3
    with db.connect(url) as conn:
        owners = dict(conn.execute("""SELECT f.fhir_id, u.email FROM "LabResultStandardization" l
                                      JOIN fhir_resources f ON f.id = l."fhirResourceId"
                                      JOIN users u ON u.id = l."customerId" """).fetchall())
    assert owners == {"creat-a": "amy@example.com", "creat-b": "ben@example.com"}


def test_a_connection_whose_sync_is_running_is_not_read(lab_connection):
    store(lab_connection.db_url, lab_connection.id, [observation("g", "2345-7", quantity(95, "mg/dL"))])
    with connection_lock(lab_connection.db_url, lab_connection.id):
        with pytest.raises(HVError, match="is running"):
            standardize_stage(lab_connection.db_url, lab_connection.id)
        skipped = standardize_stage(lab_connection.db_url, [lab_connection.id, "no-such-connection"])
    assert skipped.scope.busy == [lab_connection.id] and skipped.counts.results == 0
    assert results(lab_connection.db_url) == {}
    assert standardize_stage(lab_connection.db_url, lab_connection.id).counts.inserted == 1
