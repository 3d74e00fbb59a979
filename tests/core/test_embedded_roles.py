"""The embedded development stack runs each job domain as its own login, as production does."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from hv_pipelines.core import db, migrations
from hv_pipelines.core.embedded import start_stack


@pytest.mark.slow
def test_the_embedded_stack_gives_each_job_its_own_login() -> None:
    # Not under pytest's basetemp, which only root may enter: as root the server runs as its own OS user.
    home = Path(tempfile.mkdtemp(prefix="hv-embedded-"))
    stack = start_stack(home)
    try:
        env = stack.env()
        migrations.upgrade(env["DATABASE_URL"])
        expected = {"HV_DATABASE_URL_TERMINOLOGY": "hv_terminology", "HV_DATABASE_URL_EHR": "hv_ehr_ingest",
                    "HV_DATABASE_URL_ARCHIVAL": "hv_archiver", "HV_DATABASE_URL_BACKUP": "hv_backup"}
        for variable, role in expected.items():
            with db.connect(env[variable]) as conn:
                assert conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER'), "
                                    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
                                    (role,)).fetchone() == (True, False), variable
        with db.connect(env["HV_DATABASE_URL_TERMINOLOGY"]) as conn, pytest.raises(
                psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT FROM users")
        again = start_stack(home)  # a second start finds the logins in place
        assert again.env()["HV_DATABASE_URL_EHR"] == env["HV_DATABASE_URL_EHR"]
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
