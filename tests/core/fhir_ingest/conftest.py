"""Fixtures of the ingestion tests: a fake Bulk Data server with the sample export, a connected user."""

from __future__ import annotations

import pytest

from hv_pipelines.core.fhir_ingest import start_validation_pool
from tests.fakes.ehr_bulk_server import FakeBulkDataServer, generate_private_key_pem
from tests.fakes.ehr_fixtures import create_connection, create_user, sample_resources


@pytest.fixture(scope="session")
def rsa_pem() -> bytes:
    return generate_private_key_pem("rsa")


@pytest.fixture(scope="session")
def validation_pool():
    """One spawned worker shared by the session: pool start-up costs more than the sample export."""
    pool = start_validation_pool(1)
    yield pool
    pool.shutdown()


@pytest.fixture
def ehr_server(rsa_pem):
    with FakeBulkDataServer(sample_resources(), lines_per_file=4) as server:
        server.register_client("hv-client", rsa_pem)
        yield server


@pytest.fixture
def connection_id(migrated_db, keyring, ehr_server, rsa_pem) -> str:
    create_user(migrated_db)
    return create_connection(migrated_db, keyring, ehr_server, private_pem=rsa_pem)
