"""A whole sync against the fake Bulk Data server and real PostgreSQL: what lands where, and how
each failure mode of the protocol is survived or reported."""

from __future__ import annotations

import json

import pytest

from hv_pipelines.core.bulkdata import AuthorizationError, ExportFailed, ServerUnavailable
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest import SyncOptions, cancel_export, connections, export_stage, run_sync
from hv_pipelines.core.fhir_ingest.extract import patient_of
from hv_pipelines.core.fhir_ingest.sealing import unseal
from hv_pipelines.core.fhir_ingest.sync import connection_lock
from tests.fakes.ehr_bulk_server import SteppedClock, generate_private_key_pem, outcome
from tests.fakes.ehr_fixtures import (
    create_connection,
    create_user,
    fast_client_factory,
    rows,
    sample_resources,
    scalar,
)

CUSTOMER_ROWS = {"customer_diagnoses": 4, "customer_medications": 4, "customer_allergies": 3,
                 "customer_immunizations": 3, "customer_procedures": 2, "customer_vital_signs": 9,
                 "customer_family_history": 3}


def sync(db_url, connection_id, keyring, pool=None, client_factory=None, **options):
    return run_sync(db_url, connection_id, keyring, SyncOptions(**options), pool=pool,
                    client_factory=client_factory or fast_client_factory(keyring))


def customer_counts(db_url) -> dict[str, int]:
    return {table: scalar(db_url, f"SELECT count(*) FROM {table}") for table in CUSTOMER_ROWS}


def test_full_sync_lands_every_resource_and_the_users_clinical_records(migrated_db, keyring, ehr_server,
                                                                      connection_id, validation_pool):
    outcome_ = sync(migrated_db, connection_id, keyring, pool=validation_pool)

    assert outcome_.ingest.counts.created == 36 and outcome_.ingest.counts.failed == 0
    assert ehr_server.gzip_served >= 1 and ehr_server.token_requests == 1
    by_type = dict(rows(migrated_db, "SELECT resource_type::text, count(*) FROM fhir_resources GROUP BY 1"))
    assert by_type["CUSTOMER"] == 2 and by_type["MEDICATION_REQUEST"] == 5 and by_type["OTHER"] == 2
    document = rows(migrated_db, """SELECT title, date, status, category, content_type, content_size,
                                           processed FROM fhir_resources WHERE fhir_id = 'doc-a-1'""")[0]
    assert document[0] == "Discharge summary" and str(document[1]) == "2024-03-01 22:45:00"
    assert document[2:] == ("current", "clinical-note", "application/pdf", 48213, True)

    assert customer_counts(migrated_db) == CUSTOMER_ROWS  # pat-a only; pat-b's resources are not the user's
    assert outcome_.normalise.counts.other_patient_resources == 5
    assert scalar(migrated_db, "SELECT count(*) FROM customer_diagnoses WHERE condition = 'Asthma'") == 0

    repository = rows(migrated_db, "SELECT encrypted_personal_info FROM customer_repositories")
    assert len(repository) == 1 and "Shaw" not in repository[0][0]
    assert json.loads(unseal(keyring, repository[0][0]))["name"]["family"] == "Shaw"

    job = rows(migrated_db, "SELECT status::text, resource_count, total_size, export_type::text "
                            "FROM bulk_export_jobs")
    assert job == [("COMPLETED", 36, outcome_.ingest.counts.bytes, "SYSTEM")] and job[0][2] > 10_000
    history = rows(migrated_db, """SELECT status::text, sync_type, resources_queried, resources_created,
                                          resources_skipped, resources_failed, total_bytes_downloaded
                                   FROM sync_history""")
    assert history[0][:6] == ("COMPLETED", "full", 36, 36, 0, 0) and history[0][6] == job[0][2]
    connection = rows(migrated_db, "SELECT status::text, last_sync_at, next_sync_at - last_sync_at "
                                   "FROM ehr_connections")
    assert connection[0][0] == "ACTIVE" and connection[0][2].total_seconds() == 24 * 3600
    actions = {r[0] for r in rows(migrated_db, "SELECT action FROM audit_logs")}
    assert {"EHR_BULK_EXPORT_INGESTED", "EHR_RECORDS_NORMALISED"} <= actions


def test_second_sync_is_incremental_and_a_full_reingest_changes_nothing(migrated_db, keyring, ehr_server,
                                                                        connection_id):
    first = sync(migrated_db, connection_id, keyring)
    stamps = rows(migrated_db, "SELECT id, updated_at FROM fhir_resources ORDER BY id")

    sync(migrated_db, connection_id, keyring)
    assert ehr_server.kickoffs[1]["_since"] == first.export.transaction_time.replace("+00:00", "Z")

    again = sync(migrated_db, connection_id, keyring, full=True)
    assert "_since" not in ehr_server.kickoffs[2]
    counts = again.ingest.counts
    assert (counts.created, counts.updated, counts.skipped) == (0, 0, 36)
    assert rows(migrated_db, "SELECT id, updated_at FROM fhir_resources ORDER BY id") == stamps
    assert customer_counts(migrated_db) == CUSTOMER_ROWS
    assert rows(migrated_db, "SELECT sync_type FROM sync_history ORDER BY started_at") == [
        ("full",), ("incremental",), ("full",)]


def test_changed_resource_is_rewritten_and_renormalised(migrated_db, keyring, ehr_server, connection_id):
    sync(migrated_db, connection_id, keyring)
    condition = next(r for r in ehr_server.resources if r["id"] == "cond-a-1")
    condition["code"]["text"] = "Hypertension, controlled"
    condition["meta"] = {"versionId": "2", "lastUpdated": "2099-01-01T00:00:00Z"}

    result = sync(migrated_db, connection_id, keyring)
    assert (result.ingest.counts.created, result.ingest.counts.updated) == (0, 1)
    assert scalar(migrated_db, "SELECT title FROM fhir_resources WHERE fhir_id = 'cond-a-1'") == \
        "Hypertension, controlled"
    assert rows(migrated_db, "SELECT condition FROM customer_diagnoses WHERE icd10_code = 'I10'") == [
        ("Hypertension, controlled",)]
    assert customer_counts(migrated_db) == CUSTOMER_ROWS


def test_deleted_resources_are_removed_with_their_records(migrated_db, keyring, ehr_server, connection_id):
    sync(migrated_db, connection_id, keyring)
    ehr_server.deleted = [("Condition", "cond-a-3"), ("FamilyMemberHistory", "fmh-a-1"),
                          ("Observation", "gone")]
    ehr_server.resources = [r for r in ehr_server.resources if r["id"] not in ("cond-a-3", "fmh-a-1")]

    result = sync(migrated_db, connection_id, keyring)
    assert result.ingest.counts.deleted == 2
    assert scalar(migrated_db, "SELECT count(*) FROM fhir_resources WHERE fhir_id IN "
                               "('cond-a-3', 'FamilyMemberHistory/fmh-a-1')") == 0
    counts = customer_counts(migrated_db)
    assert counts["customer_diagnoses"] == 3 and counts["customer_family_history"] == 1


def test_bad_lines_are_quarantined_and_the_rest_of_the_file_loads(migrated_db, keyring, ehr_server,
                                                                  connection_id):
    ehr_server.extra_lines = {"Patient-1.ndjson": [
        b'{"resourceType":"Patient","id":"pat-x","birthDate":"Shaw-Amy"}', b'{"resourceType":"Patient","id":',
        b'{"resourceType":"Observation","id":"obs-x","status":"final"}']}
    result = sync(migrated_db, connection_id, keyring)

    assert result.ingest.counts.failed == 3 and result.ingest.counts.created == 36
    failed, details = rows(migrated_db, "SELECT resources_failed, error_details FROM sync_history")[0]
    quarantined = json.loads(details)["quarantined"]
    assert failed == 3 and [(q["file"], q["line"]) for q in quarantined] == [
        ("Patient-1.ndjson", 3), ("Patient-1.ndjson", 4), ("Patient-1.ndjson", 5)]
    assert "birthDate" in quarantined[0]["reason"] and "Shaw" not in details
    assert scalar(migrated_db, "SELECT status::text FROM bulk_export_jobs") == "COMPLETED"


def test_server_error_file_is_recorded_on_the_export(migrated_db, keyring, ehr_server, connection_id):
    ehr_server.error_outcomes = [outcome("not-found", "Binary/bin-9 unavailable"),
                                 outcome("processing", "Observation/o-7 could not be serialised", "warning")]
    sync(migrated_db, connection_id, keyring)
    details = json.loads(scalar(migrated_db, "SELECT error_details FROM bulk_export_jobs"))
    assert details["serverIssues"] == {"error/not-found": 1, "warning/processing": 1}


def test_polling_survives_retry_after_429_and_500(migrated_db, keyring, ehr_server, connection_id):
    ehr_server.status_script = [("progress", "7", "25%"), ("429",), ("500",), ("http-date", 3)]
    seen: list[str] = []
    result = sync(migrated_db, connection_id, keyring, progress=seen.append)
    assert result.ingest.counts.created == 36
    assert ehr_server.status_requests == 5 and seen[:2] == ["export 25%", "export busy"]
    assert len(seen) == 2 + 14 and seen[-1].endswith("[14/14 files]")
    assert "Observation-1.ndjson: 4 read, 0 quarantined" in " ".join(seen)


def test_files_are_ingested_largest_first_by_the_manifests_count(migrated_db, keyring, ehr_server, connection_id):
    """A file is merged after its last block is validated: the largest file ingested last would leave the
    validation workers idle through its merge, at the end of the export."""
    ehr_server.lines_per_file = 3  # the sample's types in files of 3, 2 and 1 lines, by name: counts unsorted
    seen: list[str] = []
    sync(migrated_db, connection_id, keyring, download_workers=1, progress=seen.append)
    read = [int(message.split(": ", 1)[1].split(" read")[0]) for message in seen if " read, " in message]
    assert sum(read) == 36 and len(set(read)) == 3
    assert read == sorted(read, reverse=True)


def test_a_rate_limited_server_sending_epoch_ms_retry_after_is_synced_without_being_blocked(
        migrated_db, keyring, ehr_server, connection_id):
    clock = SteppedClock()
    ehr_server.clock, ehr_server.poll_limit, ehr_server.block_retry_after = clock, 10, "1765432100000"
    ehr_server.status_script = [("progress", "1765432100000", "working")] * 30
    def on_the_shared_clock(connection):
        return connections.build_client(connection, keyring, sleep=clock.sleep, clock=clock)

    result = sync(migrated_db, connection_id, keyring, client_factory=on_the_shared_clock)
    assert result.ingest.counts.created == 36 and ehr_server.blocked_polls == 0
    assert clock.now - 1_000 < 40 * 60  # thirty polls backed off to a minute, not years


def test_expired_output_file_triggers_one_fresh_export_and_no_duplicates(migrated_db, keyring, ehr_server,
                                                                         connection_id):
    ehr_server.expire_once = {"Observation-2.ndjson"}
    result = sync(migrated_db, connection_id, keyring)
    assert len(ehr_server.kickoffs) == 2 and result.ingest.reexports == 1
    assert rows(migrated_db, "SELECT status::text FROM bulk_export_jobs ORDER BY started_at") == [
        ("EXPIRED",), ("COMPLETED",)]
    assert scalar(migrated_db, "SELECT count(*) FROM fhir_resources") == 36
    assert customer_counts(migrated_db) == CUSTOMER_ROWS


def test_token_revoked_mid_export_is_refreshed_and_the_sync_completes(migrated_db, keyring, ehr_server,
                                                                      connection_id):
    ehr_server.revoke_tokens_after_downloads = 2
    result = sync(migrated_db, connection_id, keyring, download_workers=1)
    assert ehr_server.token_requests == 2 and result.ingest.counts.created == 36


def test_refused_credentials_put_the_connection_in_error(migrated_db, keyring, ehr_server, connection_id):
    ehr_server.register_client("hv-client", generate_private_key_pem("ec"))  # the EHR now expects another key
    with pytest.raises(AuthorizationError, match="public key is registered"):
        sync(migrated_db, connection_id, keyring)
    status, message = rows(migrated_db, "SELECT status::text, error_message FROM ehr_connections")[0]
    assert status == "ERROR" and "hv-client" in message and "BEGIN" not in message
    assert scalar(migrated_db, "SELECT status::text FROM sync_history") == "FAILED"


def test_persistent_server_errors_fail_the_sync_but_keep_the_export_to_resume(migrated_db, keyring,
                                                                              ehr_server, connection_id):
    ehr_server.status_script = [("fail", 503, outcome("transient", "maintenance window"))] * 12
    with pytest.raises(ServerUnavailable, match="kept answering 503 .*maintenance window"):
        sync(migrated_db, connection_id, keyring)
    assert scalar(migrated_db, "SELECT status::text FROM sync_history") == "FAILED"
    assert scalar(migrated_db, "SELECT status::text FROM bulk_export_jobs") == "INITIATED"

    ehr_server.jobs[next(iter(ehr_server.jobs))].script.clear()  # the maintenance is over
    result = sync(migrated_db, connection_id, keyring)
    assert result.export.resumed and len(ehr_server.kickoffs) == 1
    assert scalar(migrated_db, "SELECT count(*) FROM fhir_resources") == 36
    assert rows(migrated_db, "SELECT status::text, sync_type FROM sync_history ORDER BY started_at") == [
        ("FAILED", "full"), ("COMPLETED", "resumed")]


def test_a_4xx_status_with_operation_outcome_fails_the_export(migrated_db, keyring, ehr_server,
                                                             connection_id):
    ehr_server.status_script = [("fail", 400, outcome("invalid", "unsupported _typeFilter"))]
    with pytest.raises(ExportFailed, match="unsupported _typeFilter"):
        sync(migrated_db, connection_id, keyring)
    assert scalar(migrated_db, "SELECT status::text FROM bulk_export_jobs") == "FAILED"


def test_unknown_patient_id_is_adopted_when_the_export_holds_one_patient(migrated_db, keyring, ehr_server):
    create_user(migrated_db)
    ehr_server.resources = [r for r in sample_resources() if patient_of(r) == "pat-a"]
    connection_id = create_connection(migrated_db, keyring, ehr_server, private_pem=None, customer_id=None)
    ehr_server.open_access = True
    ehr_server.requires_access_token = False
    sync(migrated_db, connection_id, keyring)
    assert scalar(migrated_db, "SELECT customer_id FROM ehr_connections") == "pat-a"
    assert customer_counts(migrated_db) == CUSTOMER_ROWS and ehr_server.token_requests == 0


def test_group_export_of_many_patients_without_a_patient_id_writes_no_records(migrated_db, keyring,
                                                                              ehr_server, rsa_pem):
    create_user(migrated_db)
    connection_id = create_connection(migrated_db, keyring, ehr_server, private_pem=rsa_pem, customer_id=None,
                                      provider="EPIC", export_level="group", group_id="grp-1")
    result = sync(migrated_db, connection_id, keyring)
    assert ehr_server.kickoffs[0]["level"] == "group" and ehr_server.kickoffs[0]["group"] == "grp-1"
    assert not result.normalise.counts.patient_resolved
    assert result.normalise.counts.other_patient_resources == 36
    assert sum(customer_counts(migrated_db).values()) == 0
    assert scalar(migrated_db, "SELECT count(*) FROM customer_repositories") == 0


def test_cancel_sends_delete_and_closes_the_export(migrated_db, keyring, ehr_server, connection_id):
    ehr_server.status_script = [("progress", "1", "1%")] * 1000
    factory = fast_client_factory(keyring)
    with pytest.raises(HVError, match="still running"):
        export_stage(migrated_db, connection_id, keyring, client_factory=lambda c: _impatient(factory(c)))
    assert scalar(migrated_db, "SELECT status::text FROM bulk_export_jobs") == "INITIATED"
    assert cancel_export(migrated_db, connection_id, keyring, client_factory=factory)
    assert ehr_server.cancels == 1
    assert scalar(migrated_db, "SELECT status::text FROM bulk_export_jobs") == "CANCELLED"


def _impatient(client):
    client.max_wait = 0.5
    client.sleep = lambda _s: None
    client.backoff = type(client.backoff)(initial=1.0, cap=1.0, jitter=0.0)
    return client


def test_a_second_concurrent_sync_of_one_connection_is_refused(migrated_db, keyring, connection_id):
    with connection_lock(migrated_db, connection_id), \
            pytest.raises(HVError, match="another sync of EHR connection"):
        sync(migrated_db, connection_id, keyring)


def test_a_second_user_claiming_the_same_patient_is_refused(migrated_db, keyring, ehr_server, connection_id,
                                                            rsa_pem):
    sync(migrated_db, connection_id, keyring)
    create_user(migrated_db, "impostor@example.com")
    other = create_connection(migrated_db, keyring, ehr_server, private_pem=rsa_pem,
                              email="impostor@example.com")
    with pytest.raises(HVError, match="another HoloVitals user already has a repository") as err:
        sync(migrated_db, other, keyring)
    assert "Shaw" not in str(err.value)
    assert scalar(migrated_db, "SELECT count(*) FROM customer_repositories") == 1
    assert rows(migrated_db, "SELECT status::text FROM sync_history WHERE connection_id = %s", other) == [
        ("FAILED",)]


def test_type_filter_is_refused_for_a_provider_without_it(migrated_db, keyring, ehr_server, rsa_pem):
    create_user(migrated_db)
    connection_id = create_connection(migrated_db, keyring, ehr_server, private_pem=rsa_pem, provider="EPIC",
                                      export_level="group", group_id="grp-1")
    with pytest.raises(HVError, match="Epic does not support _typeFilter"):
        sync(migrated_db, connection_id, keyring, type_filters=("Observation?category=vital-signs",))
    assert ehr_server.kickoffs == []
