"""The terminology assets, checks, job and landing sensor, materialised against real PostgreSQL."""

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.core import db
from hv_pipelines.jobs.terminology import defs, reference_load, terminology_release_sensor
from hv_pipelines.resources import Database, ObjectStoreResource

RELEASES = Path(__file__).resolve().parents[1] / "fixtures" / "terminology"
ASSETS = {a.key.to_user_string(): a for a in defs.assets}


def _resources(url: str, tmp_path: Path) -> dict:
    return {"db": Database(url=url), "object_store": ObjectStoreResource(url=str(tmp_path / "objects"))}


def _materialize(asset: str, url: str, tmp_path: Path, **config):
    return dg.materialize([ASSETS[asset]], resources=_resources(url, tmp_path), raise_on_error=False,
                          run_config=dg.RunConfig(ops={asset: {"config": config}}))


def _count(url: str, table: str, where: str = "true") -> int:
    with db.connect(url) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}" WHERE {where}').fetchone()[0]


def test_definitions_hold_the_five_assets_downstream_of_the_schema(tmp_path):
    assert set(ASSETS) == {"loinc_codes", "snomed_codes", "rxnorm_codes", "icd10_codes", "cpt_codes"}
    for asset in ASSETS.values():
        assert asset.group_names_by_key[asset.key] == "terminology"
        assert dg.AssetKey("database_schema") in asset.asset_deps[asset.key]
        assert all(spec.blocking for spec in asset.check_specs)
    assert {s.name for s in ASSETS["loinc_codes"].check_specs} == {
        "loinc_check_digits", "no_duplicate_codes", "rejects_within_share", "row_count_within_band"}
    assert reference_load.name == "reference_load"
    dg.Definitions.validate_loadable(dg.Definitions.merge(
        defs, dg.Definitions(resources=_resources("postgresql://unused@127.0.0.1/none", tmp_path))))


def test_materialising_a_release_reports_counts_checksums_and_passing_checks(migrated_db, tmp_path):
    release = RELEASES / "icd10cm" / "icd10cm_order_2025.txt"
    result = _materialize("icd10_codes", migrated_db, tmp_path, release=str(release))
    assert result.success
    metadata = result.asset_materializations_for_node("icd10_codes")[0].metadata
    assert metadata["new"].value == 12 and metadata["rejected"].value == 1
    assert metadata["version"].value == "2025" and metadata["dagster/row_count"].value == 12
    assert len(metadata["files_sha256"].value["icd10cm_order_2025.txt"]) == 64
    assert metadata["rejects_key"].value.startswith("terminology/rejects/icd10cm/2025/")
    assert (tmp_path / "objects" / metadata["rejects_key"].value).is_file()
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"no_duplicate_codes": True, "icd10cm_code_format": True, "rejects_within_share": True,
                      "row_count_within_band": True}
    assert _count(migrated_db, "ICD10Code") == 12


def test_a_failing_blocking_check_fails_the_run_and_keeps_the_loaded_release(migrated_db, tmp_path):
    assert _materialize("icd10_codes", migrated_db, tmp_path,
                        release=str(RELEASES / "icd10cm" / "icd10cm_order_2025.txt")).success
    bad = tmp_path / "icd10cm_order_2026.txt"
    bad.write_text((RELEASES / "icd10cm" / "icd10cm_order_2026.txt").read_text().replace("00001 A00    ", "00001 1A00   "))
    result = _materialize("icd10_codes", migrated_db, tmp_path, release=str(bad))
    assert not result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["icd10cm_code_format"] is False and checks["no_duplicate_codes"] is True
    assert not result.asset_materializations_for_node("icd10_codes")
    assert _count(migrated_db, "ICD10Code", "code = 'A00.1' AND status = 'ACTIVE'") == 1
    assert _count(migrated_db, "ICD10Code", "code = 'E11.66'") == 0


def _landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir()
    old = time.time() - 3600
    for name in names:
        source = next(RELEASES.rglob(name))
        shutil.copy(source, landing / name)
        os.utime(landing / name, (old, old))
    monkeypatch.setenv("HV_TERMINOLOGY_LANDING", str(landing))
    return landing


def _sensor_context(url: str, cursor: str | None) -> dg.SensorEvaluationContext:
    return dg.build_sensor_context(cursor=cursor, resources={"db": Database(url=url)})


def test_sensor_requests_one_run_per_new_release_and_remembers_it(migrated_db, tmp_path, monkeypatch):
    landing = _landing(tmp_path, monkeypatch, "Loinc_2.77.zip", "icd10cm_order_2026.txt", "PPRRVU25_JAN.csv")
    (landing / "notes.txt").write_text("not a release")
    os.utime(landing / "notes.txt", (0, 0))
    first = terminology_release_sensor(_sensor_context(migrated_db, None))
    requested = {r.asset_selection[0].to_user_string(): r for r in first.run_requests}
    assert set(requested) == {"loinc_codes", "icd10_codes", "cpt_codes"}
    assert requested["loinc_codes"].run_config["ops"]["loinc_codes"]["config"]["release"] == "Loinc_2.77.zip"
    assert requested["icd10_codes"].tags["hv/release"] == "2026"

    again = terminology_release_sensor(_sensor_context(migrated_db, first.cursor))
    assert not again.run_requests

    shutil.copy(RELEASES / "loinc" / "Loinc_2.78.zip", landing / "Loinc_2.78.zip")
    fresh = terminology_release_sensor(_sensor_context(migrated_db, first.cursor))
    assert not fresh.run_requests, "a file still being written (modified within the settle time) waits"
    os.utime(landing / "Loinc_2.78.zip", (0, 0))
    settled = terminology_release_sensor(_sensor_context(migrated_db, first.cursor))
    assert [r.run_config["ops"]["loinc_codes"]["config"]["release"] for r in settled.run_requests] == [
        "Loinc_2.78.zip"]


def test_sensor_only_reports_in_production(migrated_db, tmp_path, monkeypatch):
    _landing(tmp_path, monkeypatch, "Loinc_2.77.zip")
    monkeypatch.setenv("HV_ENV", "production")
    result = terminology_release_sensor(_sensor_context(migrated_db, None))
    assert not result.run_requests and "LOINC 2.77 (Loinc_2.77.zip)" in result.skip_reason.skip_message


def test_releases_landed_before_the_first_migration_wait_for_it(empty_db, migrated_db, tmp_path, monkeypatch):
    _landing(tmp_path, monkeypatch, "Loinc_2.77.zip")
    waiting = terminology_release_sensor(_sensor_context(empty_db, None))
    assert isinstance(waiting, dg.SkipReason)
    assert waiting.skip_message == ("the database is not migrated yet: run migrate_and_seed; new release(s) "
                                    "waiting: LOINC 2.77 (Loinc_2.77.zip)")
    after = terminology_release_sensor(_sensor_context(migrated_db, None))  # the cursor never moved past it
    assert [r.asset_selection[0].to_user_string() for r in after.run_requests] == ["loinc_codes"]


def test_asset_loads_the_newest_release_from_an_s3_landing(migrated_db, tmp_path, monkeypatch, s3_client,
                                                            moto_endpoint):
    s3_client.create_bucket(Bucket="hv-landing")
    for name in ("Loinc_2.77.zip", "Loinc_2.78.zip"):
        s3_client.upload_file(str(RELEASES / "loinc" / name), "hv-landing", f"releases/{name}")
    monkeypatch.setenv("HV_TERMINOLOGY_LANDING", "s3://hv-landing/releases")
    monkeypatch.setenv("HV_S3_ENDPOINT_URL", moto_endpoint)
    result = _materialize("loinc_codes", migrated_db, tmp_path)
    assert result.success
    assert result.asset_materializations_for_node("loinc_codes")[0].metadata["version"].value == "2.78"
    assert _count(migrated_db, "LOINCCode", "\"loincNumber\" = '4548-4'") == 1
