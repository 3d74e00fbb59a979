"""A whole EHR sync against a TLS-only PostgreSQL with sslmode=verify-full (tests/tls_server.py)."""

from __future__ import annotations

from hv_pipelines.core import db, migrations
from hv_pipelines.core.fhir_ingest import SyncOptions, run_sync
from tests.fakes.ehr_fixtures import create_connection, create_user, fast_client_factory, scalar


def test_an_ehr_sync_works_over_verify_full(tls_server, keyring, ehr_server, rsa_pem, validation_pool) -> None:
    url = db.create_database(tls_server.url(), "holovitals")
    migrations.upgrade(url)
    create_user(url)
    connection_id = create_connection(url, keyring, ehr_server, private_pem=rsa_pem)
    outcome = run_sync(url, connection_id, keyring, SyncOptions(), pool=validation_pool,
                       client_factory=fast_client_factory(keyring))
    assert outcome.ingest.counts.created == 36 and outcome.ingest.counts.failed == 0
    assert scalar(url, "SELECT count(*) FROM customer_diagnoses") == 4
    assert scalar(url, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
