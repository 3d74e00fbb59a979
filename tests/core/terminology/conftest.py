"""Shared by the terminology tests: where the synthetic publisher-format releases live, and which
`alongside` worker threads are still running."""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hv_pipelines.core.storage import LocalStore
from hv_pipelines.core.terminology.staging import ALONGSIDE_THREAD

RELEASES = Path(__file__).resolve().parents[2] / "fixtures" / "terminology"


@pytest.fixture
def releases() -> Path:
    return RELEASES


@pytest.fixture
def rejects_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def alongside_threads() -> Callable[[], list[threading.Thread]]:
    """A function listing the `alongside` worker threads alive when it is called."""
    return lambda: [t for t in threading.enumerate() if t.name == ALONGSIDE_THREAD]
