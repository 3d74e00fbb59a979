"""The validation pool's workers start without our secrets: they validate what an EHR sent, nothing more."""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hv_pipelines.core.fhir_ingest import start_validation_pool
from hv_pipelines.core.fhir_ingest.chunks import process_block

SECRETS = {"ENCRYPTION_KEY": "9f" * 32, "DATABASE_URL": "postgresql://hv:s3cret-pw@db.example.test/hv",
           "AWS_SECRET_ACCESS_KEY": "aws-secret-value", "EPIC_CLIENT_SECRET": "ehr-secret-value"}


def worker_environment(_: int = 0) -> tuple[dict[str, str], str]:
    """What a worker can see: os.environ, and the environment it was started with (/proc/self/environ)."""
    return dict(os.environ), Path("/proc/self/environ").read_bytes().decode("utf-8", "replace")


def _leaks(seen: tuple[dict[str, str], str]) -> list[str]:
    environ, started_with = seen
    return [name for name, value in SECRETS.items() if name in environ or value in started_with]


def test_a_validation_worker_sees_none_of_our_secrets_and_still_validates(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    # The check itself: a worker of multiprocessing's own spawn context does see them.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as plain:
        assert sorted(_leaks(plain.submit(worker_environment).result())) == sorted(SECRETS)

    pool = start_validation_pool(1)
    try:
        seen = pool.submit(worker_environment).result()
        assert _leaks(seen) == []
        assert seen[0].get("PATH") == os.environ["PATH"], "what a process needs to run is passed on"
        patient = json.dumps({"resourceType": "Patient", "id": "p1", "gender": "female"}).encode()
        result = pool.submit(process_block, patient + b"\n" + b'{"resourceType": "Patient"}\n', 1).result()
        assert (result.accepted, [r.reason for r in result.rejects]) == (1, ["no id"])
    finally:
        pool.shutdown()
