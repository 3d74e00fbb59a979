"""Each kind of job connects as its own login (HV_DATABASE_URL_<DOMAIN>), not as the resource's DATABASE_URL."""

from pathlib import Path

import dagster as dg
import pytest

from hv_pipelines.core import db
from hv_pipelines.jobs.terminology import defs
from hv_pipelines.resources import Database, ObjectStoreResource
from hv_pipelines.schema import access

RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "terminology" / "icd10cm" / "icd10cm_order_2025.txt"
ICD10 = next(a for a in defs.assets if a.key.to_user_string() == "icd10_codes")


def _load(url: str, tmp_path: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize([ICD10], resources={"db": Database(url=url),
                                              "object_store": ObjectStoreResource(url=str(tmp_path / "objects"))},
                          raise_on_error=False, run_config=dg.RunConfig(ops={"icd10_codes": {"config": {
                              "release": str(RELEASE)}}}))


def _codes(url: str) -> int:
    with db.connect(url) as conn:
        return conn.execute('SELECT count(*) FROM "ICD10Code"').fetchone()[0]


def test_the_terminology_asset_loads_as_the_terminology_login(migrated_db: str, login_url, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HV_DATABASE_URL_TERMINOLOGY", login_url(access.READONLY))
    refused = _load(migrated_db, tmp_path)  # the resource's URL is the superuser's: not the one used
    assert not refused.success and _codes(migrated_db) == 0
    assert "permission denied" in str(refused.get_step_failure_events()[0].event_specific_data.error)

    monkeypatch.setenv("HV_DATABASE_URL_TERMINOLOGY", login_url(access.TERMINOLOGY))
    assert _load(migrated_db, tmp_path).success and _codes(migrated_db) > 0
