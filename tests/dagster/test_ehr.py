"""The `ehr` assets, job and sensor against real PostgreSQL and the fake Bulk Data server."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest

from hv_pipelines.assets.ehr import ehr_assets
from hv_pipelines.core import db
from hv_pipelines.core.fhir_ingest.connections import load_connection, mark_synced
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.jobs.ehr import defs, ehr_connections_due
from hv_pipelines.jobs.standardization import defs as standardization_defs
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource
from hv_pipelines.resources.ehr import EHRIngestResource
from tests.fakes.ehr_bulk_server import FakeBulkDataServer, generate_private_key_pem
from tests.fakes.ehr_fixtures import create_connection, create_user, sample_resources, scalar


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    return generate_private_key_pem("rsa")


@pytest.fixture
def master_hex() -> str:
    return generate_hex_key()


@pytest.fixture
def server(rsa_pem):
    with FakeBulkDataServer(sample_resources()) as fake:
        fake.register_client("hv-client", rsa_pem)
        yield fake


@pytest.fixture
def connection_id(migrated_db, master_hex, server, rsa_pem) -> str:
    create_user(migrated_db)
    return create_connection(migrated_db, Keyring.from_hex(master_hex), server, private_pem=rsa_pem,
                             provider="EPIC", export_level="group", group_id="grp-1")


def test_domain_defs_expose_the_contracted_names():
    placeholders = {"db": Database(url="postgresql://unused"), "object_store": ObjectStoreResource(url="/unused"),
                    "keys": KeyringResource(encryption_key="0" * 64)}
    # ehr_sync ends with standardization's asset, so the domain is checked beside that one
    repository = dg.Definitions.merge(dg.Definitions(resources=placeholders), defs,
                                      standardization_defs).get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {"ehr_bulk_exports", "fhir_resources", "customer_clinical_records"} <= keys
    assert repository.get_job("ehr_sync") is not None
    assert {a.key.to_user_string(): a.group_names_by_key[a.key] for a in ehr_assets} == {
        "ehr_bulk_exports": "ehr", "fhir_resources": "ehr", "customer_clinical_records": "ehr"}
    export_deps = {d.to_user_string() for d in ehr_assets[0].asset_deps[ehr_assets[0].key]}
    assert export_deps == {"database_schema"}


def materialize_partition(db_url: str, master_hex: str, connection_id: str,
                          objects: str) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("ehr_connections", [connection_id])
    return dg.materialize(
        ehr_assets, partition_key=connection_id, instance=instance,
        resources={"db": Database(url=db_url), "keys": KeyringResource(encryption_key=master_hex),
                   "ehr": EHRIngestResource(validation_workers=0, download_workers=2),
                   "object_store": ObjectStoreResource(url=objects)})


def test_materialising_one_connection_partition_syncs_it(migrated_db, master_hex, server, connection_id,
                                                        tmp_path):
    result = materialize_partition(migrated_db, master_hex, connection_id, str(tmp_path / "objects"))
    assert result.success
    metadata = {name: result.asset_materializations_for_node(name)[0].metadata
                for name in (a.key.to_user_string() for a in ehr_assets)}
    assert metadata["ehr_bulk_exports"]["files"].value == 11
    ingested = metadata["fhir_resources"]
    assert ingested["created"].value == 36 and ingested["rejected"].value == 0
    assert ingested["resources_by_type"].value["Observation"] == 11
    assert ingested["bytes_downloaded"].value > 10_000
    # The sample's one attachment lives on a host tests cannot reach: counted, and the run still succeeds.
    assert ingested["attachments_failed"].value == 1 and ingested["attachments_stored"].value == 0
    records = metadata["customer_clinical_records"]
    assert records["rows_inserted"].value == 28 and records["other_patient_resources"].value == 5
    assert server.kickoffs[0]["level"] == "group"
    assert scalar(migrated_db, "SELECT status::text FROM ehr_connections") == "ACTIVE"
    assert "Shaw" not in repr(metadata)  # metadata: types, ids and counts only
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "export_complete" and check.passed


def test_an_incomplete_export_warns_through_the_export_complete_check(migrated_db, master_hex, server,
                                                                   connection_id, tmp_path):
    server.withheld_types = {"Condition"}
    result = materialize_partition(migrated_db, master_hex, connection_id, str(tmp_path / "objects"))
    assert result.success  # a WARN check does not fail the run
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "export_complete" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "did not deliver Condition (errors-1.ndjson)" in check.description
    assert check.metadata["types_not_delivered"].value == ["Condition"]
    ingested = result.asset_materializations_for_node("fhir_resources")[0].metadata
    assert ingested["export_complete"].value is False
    assert "Condition" not in ingested["types_delivered"].value


def test_sensor_adds_partitions_and_requests_due_connections_once(migrated_db, connection_id):
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, resources={"db": Database(url=migrated_db)})
    first = ehr_connections_due(context)
    assert [r.partition_key for r in first.run_requests] == [connection_id]
    assert first.run_requests[0].tags["hv/ehr-provider"] == "EPIC"
    assert first.dynamic_partitions_requests[0].partition_keys == [connection_id]

    instance.add_dynamic_partitions("ehr_connections", [connection_id])
    again = ehr_connections_due(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                        resources={"db": Database(url=migrated_db)}))
    assert again.run_requests == [] and not again.dynamic_partitions_requests

    with db.connect(migrated_db) as conn:
        mark_synced(conn, load_connection(conn, connection_id), datetime.now())
    synced = ehr_connections_due(dg.build_sensor_context(instance=instance,
                                                         resources={"db": Database(url=migrated_db)}))
    assert synced.run_requests == []  # next_sync_at is 24 h away


def test_sensor_skips_manual_connections_and_only_reports_in_production(migrated_db, connection_id,
                                                                         monkeypatch):
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.setenv("HV_ENV", "production")
    reported = ehr_connections_due(dg.build_sensor_context(instance=instance,
                                                           resources={"db": Database(url=migrated_db)}))
    assert reported.run_requests == [] and connection_id in reported.skip_reason.skip_message
    monkeypatch.delenv("HV_ENV")
    with db.connect(migrated_db) as conn:
        conn.execute("UPDATE ehr_connections SET auto_sync = false")
    manual = ehr_connections_due(dg.build_sensor_context(instance=instance,
                                                         resources={"db": Database(url=migrated_db)}))
    assert manual.run_requests == [] and manual.skip_reason.skip_message == "no EHR connection is due"
