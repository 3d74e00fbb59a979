"""The `standardization` group: the partitioned asset with its checks, the coverage report, the rerun sensor."""

from __future__ import annotations

import dagster as dg

from hv_pipelines.assets.standardization import lab_result_standardizations, terminology_coverage
from hv_pipelines.core import db
from hv_pipelines.core.standardize.ranges import load_lab_ranges
from hv_pipelines.core.terminology import load_release
from hv_pipelines.jobs.standardization import standardization_inputs_changed
from hv_pipelines.resources import Database
from tests.conftest import FIXTURES
from tests.core.standardize.conftest import lab_connection, observation, quantity, store  # noqa: F401


def _materialize(url: str, connection_id: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("ehr_connections", [connection_id])
    return dg.materialize([lab_result_standardizations], partition_key=connection_id, instance=instance,
                          resources={"db": Database(url=url)})


def test_the_asset_standardizes_a_partition_and_checks_codes_and_units(lab_connection):  # noqa: F811
    store(lab_connection.db_url, lab_connection.id, [
        observation("g", "2345-7", quantity(95, "mg/dL")),
        observation("odd", "718-7", quantity(14, "smidgens", ucum=False)),
        observation("local", "XYZ", quantity(1, "mg/dL"), system="http://lab.example.org"),
    ])
    result = _materialize(lab_connection.db_url, lab_connection.id, dg.DagsterInstance.ephemeral())
    assert result.success
    metadata = result.asset_materializations_for_node("lab_result_standardizations")[0].metadata
    assert (metadata["standardized"].value, metadata["converted"].value, metadata["unmapped_results"].value) == (2, 1, 1)
    assert metadata["unmapped_codes"].value == ["http://lab.example.org|XYZ"]
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["codes_resolve"].passed  # both LOINC codings are known and active
    assert not checks["units_convert"].passed  # one of two quantitative results could not be converted
    assert checks["units_convert"].severity == dg.AssetCheckSeverity.WARN
    assert checks["units_convert"].metadata["not_converted"].value == {"unit:unit-not-ucum": 1}
    assert "smidgens" not in repr(metadata) and "95" not in repr(metadata["unmapped_codes"])


def test_the_coverage_report_tables_and_rates_every_connection(lab_connection):  # noqa: F811
    store(lab_connection.db_url, lab_connection.id, [
        observation("g", "2345-7", quantity(95, "mg/dL")), observation("u", "9999-9", quantity(1, "mg/dL"))])
    result = dg.materialize([terminology_coverage], resources={"db": Database(url=lab_connection.db_url)})
    metadata = result.asset_materializations_for_node("terminology_coverage")[0].metadata
    assert metadata["rate_loinc"].value == 0.5
    assert "| LOINC | Observation | 1 | 0 | 1 | 0 | 0.5 |" in metadata["coverage"].value


def test_a_new_loinc_release_or_new_ranges_request_every_partition_again(lab_connection, tmp_path):  # noqa: F811
    url, instance = lab_connection.db_url, dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("ehr_connections", [lab_connection.id])

    def tick(cursor):
        return standardization_inputs_changed(dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"db": Database(url=url)}))

    first = tick(None)
    assert first.run_requests == [] and first.cursor
    assert tick(first.cursor).run_requests == []

    load_release(url, "loinc", [FIXTURES / "terminology" / "loinc" / "Loinc_2.77.zip"])
    after_release = tick(first.cursor)
    assert [r.partition_key for r in after_release.run_requests] == [lab_connection.id]
    assert tick(after_release.cursor).run_requests == []

    lab_file = tmp_path / "lab.csv"
    lab_file.write_text("loinc,type,low,high,unit,sex,age_min,age_max,source\n"
                        "2345-7,NORMAL,3.9,6.1,mmol/L,,18,,Example Lab\n")
    with db.connect(url) as conn:
        load_lab_ranges(conn, lab_file)
    assert [r.partition_key for r in tick(after_release.cursor).run_requests] == [lab_connection.id]


def test_the_sensor_skips_an_unmigrated_database(empty_db):
    result = standardization_inputs_changed(dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"db": Database(url=empty_db)}))
    assert result.run_requests == [] and "not migrated" in result.skip_reason.skip_message


def test_ehr_sync_ends_with_standardization_and_the_code_location_loads():
    from hv_pipelines.definitions import defs as location

    repository = location.get_repository_def()
    assert "lab_result_standardizations" in {k.to_user_string() for k in
                                             repository.get_job("ehr_sync").asset_layer.selected_asset_keys}
    assert {"standardize", "terminology_coverage_report"} <= {j.name for j in repository.get_all_jobs()}
    assert repository.has_sensor_def("standardization_inputs_changed")
