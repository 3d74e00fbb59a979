"""`hv ehr` end to end: connect, sync with progress, status — and a sync killed mid-download that
resumes without a new export and without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from hv_pipelines.cli import cli
from hv_pipelines.core.keyring import generate_hex_key
from tests.fakes.ehr_bulk_server import FakeBulkDataServer, generate_private_key_pem
from tests.fakes.ehr_fixtures import create_user, rows, sample_resources, scalar


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    return generate_private_key_pem("rsa")


@pytest.fixture
def env(migrated_db) -> dict[str, str]:
    create_user(migrated_db)
    return {"DATABASE_URL": migrated_db, "ENCRYPTION_KEY": generate_hex_key()}


def hv(env: dict[str, str], *args: str):
    result = CliRunner().invoke(cli, ["ehr", *args], env=env, catch_exceptions=False)
    return result


def connect(env, server, key_file) -> str:
    result = hv(env, "connect", "--provider", "epic", "--base-url", server.base_url, "--client-id",
                "hv-client", "--private-key", str(key_file), "--group-id", "grp-1",
                "--user", "AMY@example.com", "--customer-id", "pat-a")
    assert result.exit_code == 0, result.output
    return result.output.split()[1].rstrip(":")


def test_connect_sync_and_status(env, rsa_pem, tmp_path):
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(rsa_pem)
    with FakeBulkDataServer(sample_resources()) as server:
        server.register_client("hv-client", rsa_pem)
        connection_id = connect(env, server, key_file)
        metadata = scalar(env["DATABASE_URL"], "SELECT metadata FROM ehr_connections")
        assert "BEGIN" not in metadata and "hvenv1:" in metadata  # the key is sealed at rest

        synced = hv(env, "sync", connection_id, "--validation-workers", "0")
    assert synced.exit_code == 0, synced.output
    assert "[11/11 files]" in synced.output and "36 created" in synced.output
    assert "customer records: 28 inserted" in synced.output and "Shaw" not in synced.output
    # standardization is the last stage: no LOINC release is loaded here, so every lab result is unmapped
    assert "lab results: " in synced.output and "no LOINC term for" in synced.output

    status = hv(env, "status", connection_id)
    assert status.exit_code == 0 and "COMPLETED" in status.output and "created 36" in status.output
    listing = hv(env, "status")
    assert connection_id in listing.output and "ACTIVE" in listing.output


def test_incomplete_export_exits_3_and_status_says_what_the_next_sync_asks(env, rsa_pem, tmp_path):
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(rsa_pem)
    with FakeBulkDataServer(sample_resources(), withheld_types={"Condition", "Immunization"}) as server:
        server.register_client("hv-client", rsa_pem)
        connection_id = connect(env, server, key_file)
        partial = hv(env, "sync", connection_id, "--validation-workers", "0")
        assert partial.exit_code == 3, partial.output
        assert "INCOMPLETE: not delivered Condition, Immunization" in partial.stdout
        assert "did not deliver Condition, Immunization (errors-1.ndjson)" in partial.stderr
        assert "asks them again in full" in partial.stderr

        status = hv(env, "status", connection_id)
        assert "COMPLETED_WITH_ERRORS" in status.output
        assert "next incremental sync asks _since none (everything)" in status.output
        assert "Condition            never delivered: asked in full" in status.output
        listing = hv(env, "status").output
        assert "last export incomplete: Condition, Immunization asked again" in listing

        clean = hv(env, "sync", connection_id, "--validation-workers", "0")
    assert clean.exit_code == 0, clean.output
    assert "_since" not in server.kickoffs[1] and "INCOMPLETE" not in clean.output
    watermark = "next incremental sync asks _since 20"  # every type now has one
    assert watermark in hv(env, "status", connection_id).output
    assert "incomplete" not in hv(env, "status").output


def test_wait_cap_bounds_an_absurd_retry_after(env, rsa_pem, tmp_path):
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(rsa_pem)
    with FakeBulkDataServer(sample_resources(), status_script=[("progress", "86400", "queued")]) as server:
        server.register_client("hv-client", rsa_pem)
        connection_id = connect(env, server, key_file)
        started = time.monotonic()
        synced = hv(env, "sync", connection_id, "--validation-workers", "0", "--wait-cap", "1")
    assert synced.exit_code == 0, synced.output
    assert time.monotonic() - started < 30  # one capped wait of 1 s, not a day (nor the default 5 min)


def test_connect_refuses_a_group_provider_without_group_and_never_echoes_the_key(env, rsa_pem, tmp_path):
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(rsa_pem)
    result = CliRunner().invoke(cli, ["ehr", "connect", "--provider", "EPIC", "--base-url", "https://ehr.example",
                                      "--client-id", "c", "--private-key", str(key_file), "--user",
                                      "amy@example.com"], env=env)
    assert result.exit_code != 0 and "pass --group-id" in str(result.exception)
    assert "BEGIN" not in result.output
    assert scalar(env["DATABASE_URL"], "SELECT count(*) FROM ehr_connections") == 0


def test_sync_killed_mid_download_resumes_without_reexport_or_duplicates(env, rsa_pem, tmp_path):
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(rsa_pem)
    url = env["DATABASE_URL"]
    with FakeBulkDataServer(sample_resources(), stall_file="Observation-1.ndjson") as server:
        server.register_client("hv-client", rsa_pem)
        connection_id = connect(env, server, key_file)
        child = subprocess.Popen(
            [sys.executable, "-m", "hv_pipelines.cli", "ehr", "sync", connection_id, "--validation-workers",
             "0", "--download-workers", "4"],
            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            assert server.stalled.wait(60), "the sync never reached the stalled download"
            deadline = time.monotonic() + 30
            while _files_done(url) < 10 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _files_done(url) == 10  # every file but the stalled one is committed
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
        assert scalar(url, "SELECT count(*) FROM fhir_resources WHERE fhir_id LIKE 'obs-%'") == 0
        server.release_stall()

        resumed = hv(env, "sync", connection_id, "--validation-workers", "0")
    assert resumed.exit_code == 0, resumed.output
    assert "(resumed)" in resumed.output and "10 from an earlier run" in resumed.output
    assert len(server.kickoffs) == 1  # no second export
    assert server.completed_downloads["Condition-1.ndjson"] == 1  # committed files are not fetched again
    assert server.downloads["Observation-1.ndjson"] == 2
    assert scalar(url, "SELECT count(*) FROM fhir_resources") == 36
    assert rows(url, "SELECT status::text FROM bulk_export_jobs") == [("COMPLETED",)]
    assert scalar(url, "SELECT count(*) FROM customer_vital_signs") == 9


def _files_done(url: str) -> int:
    metadata = scalar(url, "SELECT metadata FROM bulk_export_jobs")
    return len(json.loads(metadata).get("files", {})) if metadata else 0
