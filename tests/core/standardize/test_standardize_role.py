"""Standardization as a login in hv_ehr_ingest alone: the role's grants cover what it reads and writes."""

from __future__ import annotations

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.standardize import standardize_stage
from hv_pipelines.schema import access
from tests.core.standardize.conftest import observation, quantity
from tests.core.standardize.test_results import results, store


def test_the_ehr_role_standardizes_a_connection_on_its_own(lab_connection, login_url) -> None:
    with db.connect(lab_connection.db_url) as conn:
        system_user_id(conn)  # what `hv seed` creates
    store(lab_connection.db_url, lab_connection.id, [observation("glucose", "2345-7", quantity(95, "mg/dL"))])
    outcome = standardize_stage(login_url(access.EHR_INGEST), lab_connection.id)
    assert outcome.counts.converted == 1
    assert results(lab_connection.db_url)["glucose", "2345-7"]["standardizedUnit"] == "mg/dL"
