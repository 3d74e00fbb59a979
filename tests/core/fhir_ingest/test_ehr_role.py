"""A whole EHR sync as a login in hv_ehr_ingest alone: the role's grants cover what ingestion writes."""

from __future__ import annotations

import psycopg
import pytest

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.fhir_ingest import SyncOptions, run_sync
from hv_pipelines.schema import access
from tests.fakes.ehr_fixtures import fast_client_factory, scalar


def test_the_ehr_role_syncs_a_connection_on_its_own(migrated_db, login_url, keyring, ehr_server, connection_id,
                                                   validation_pool) -> None:
    with db.connect(migrated_db) as conn:
        system_user_id(conn)  # what `hv seed` creates
    url = login_url(access.EHR_INGEST)
    outcome = run_sync(url, connection_id, keyring, SyncOptions(), pool=validation_pool,
                       client_factory=fast_client_factory(keyring))
    assert outcome.ingest.counts.created == 36 and outcome.ingest.counts.failed == 0
    assert scalar(migrated_db, "SELECT count(*) FROM customer_diagnoses") == 4
    with db.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT FROM audit_logs")  # it appends its entries, it does not read the trail
