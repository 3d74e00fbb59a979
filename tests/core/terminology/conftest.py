"""Shared by the terminology tests: where the synthetic publisher-format releases live."""

from pathlib import Path

import pytest

from hv_pipelines.core.storage import LocalStore

RELEASES = Path(__file__).resolve().parents[2] / "fixtures" / "terminology"


@pytest.fixture
def releases() -> Path:
    return RELEASES


@pytest.fixture
def rejects_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")
