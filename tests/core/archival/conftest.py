"""Archival fixtures: a migrated database with a user whose audit rows fill the test months."""

from __future__ import annotations

import pytest

from tests.core.archival.audit_rows import make_user


@pytest.fixture
def user_id(migrated_db: str) -> str:
    return make_user(migrated_db)
