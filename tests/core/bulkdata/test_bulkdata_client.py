"""The Bulk Data client against a real HTTP server on loopback: auth, kick-off, polling, downloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hv_pipelines.core.bulkdata import (
    AuthorizationError,
    BackendServicesAuth,
    Backoff,
    BulkDataClient,
    ExportFailed,
    ExportLevel,
    ExportRequest,
    OpenAccess,
    OutputExpired,
    ServerUnavailable,
    SigningKey,
)
from tests.fakes.ehr_bulk_server import FakeBulkDataServer, generate_private_key_pem, outcome

RESOURCES = [
    {"resourceType": "Patient", "id": f"p{i}", "meta": {"lastUpdated": f"2024-0{i}-01T00:00:00Z"}}
    for i in range(1, 6)
] + [{"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"},
      "meta": {"lastUpdated": "2024-06-01T00:00:00Z"}}]


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    return generate_private_key_pem("rsa")


@pytest.fixture
def server(rsa_pem):
    with FakeBulkDataServer(list(RESOURCES)) as fake:
        fake.register_client("hv-client", rsa_pem)
        yield fake


def make_client(server: FakeBulkDataServer, pem: bytes, **kwargs) -> BulkDataClient:
    auth = BackendServicesAuth(
        __import__("httpx").Client(), base_url=server.base_url, client_id="hv-client",
        signing_key=SigningKey.from_pem(pem), scopes="system/*.read")
    return BulkDataClient(server.base_url, auth, sleep=lambda _s: None,
                          backoff=Backoff(initial=0.5, cap=8.0, jitter=0.0), **kwargs)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_token_from_signed_assertion_is_cached_across_requests(server, kind):
    pem = generate_private_key_pem(kind)
    server.register_client("hv-client", pem)
    client = make_client(server, pem)
    client.kick_off(ExportRequest(ExportLevel.SYSTEM))
    client.kick_off(ExportRequest(ExportLevel.PATIENT))
    assert server.token_requests == 1
    assert SigningKey.from_pem(pem).algorithm == ("RS384" if kind == "rsa" else "ES384")


def test_unregistered_key_is_refused_with_what_to_do(server):
    other = generate_private_key_pem("rsa")
    client = make_client(server, other)
    with pytest.raises(AuthorizationError) as err:
        client.kick_off(ExportRequest(ExportLevel.SYSTEM))
    message = str(err.value)
    assert "hv-client" in message and "public key is registered" in message
    assert "BEGIN" not in message and "invalid_client" in message


def test_kick_off_sends_level_types_since_and_async_headers(server, rsa_pem):
    client = make_client(server, rsa_pem)
    since = datetime(2024, 3, 15, tzinfo=UTC)
    status_url = client.kick_off(ExportRequest(ExportLevel.GROUP, group_id="grp-1", types=("Patient",),
                                               since=since, type_filters=("Patient?active=true",)))
    assert status_url.startswith(server.base_url + "/status/")
    kickoff = server.kickoffs[-1]
    assert (kickoff["level"], kickoff["group"]) == ("group", "grp-1")
    assert kickoff["_type"] == "Patient" and kickoff["_since"] == "2024-03-15T00:00:00Z"
    assert kickoff["_typeFilter"] == "Patient?active=true"
    manifest = client.poll(status_url)
    assert [o.type for o in manifest.output] == ["Patient"]
    assert manifest.output[0].count == 2  # only the Patients updated after _since


def test_unknown_group_reports_the_operation_outcome(server, rsa_pem):
    client = make_client(server, rsa_pem)
    with pytest.raises(ExportFailed, match="Group nope is unknown"):
        client.kick_off(ExportRequest(ExportLevel.GROUP, group_id="nope"))


def test_polling_honours_retry_after_progress_429_and_500(server, rsa_pem):
    server.status_script = [("progress", "3", "10% complete"), ("http-date", 5), ("429",), ("500",),
                            ("progress", "2", "90% complete")]
    client = make_client(server, rsa_pem, poll_backoff=Backoff(initial=1.0, cap=60.0, jitter=0.0))
    progress: list[str] = []
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)), on_progress=progress.append)
    waits = client.stats.waits
    assert waits[0] == 3 and 3 <= waits[1] <= 5  # seconds, then an HTTP date ~5 s ahead
    assert waits[2] == waits[1]  # the 429 said 1 s, but the last 202 asked for ~5
    assert waits[3] == waits[1]  # so did the 500 (backoff 1 s): the status URL is paced by its 202s
    assert waits[4] == 4  # the last 202 said 2 s; the third poll's backoff is 4 s
    assert progress == ["10% complete", "busy", "90% complete"]
    assert manifest.requires_access_token and len(manifest.output) == 2


def test_status_error_with_operation_outcome_fails_the_export(server, rsa_pem):
    server.status_script = [("fail", 400, outcome("too-costly", "export exceeds the size limit"))]
    client = make_client(server, rsa_pem)
    with pytest.raises(ExportFailed, match="too-costly: export exceeds the size limit"):
        client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))


def test_persistent_5xx_gives_up_after_the_retry_budget(server, rsa_pem):
    server.status_script = [("500",)] * 10
    client = make_client(server, rsa_pem, max_transient_errors=3)
    with pytest.raises(ServerUnavailable, match="kept answering 500 after 4 attempts"):
        client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))
    assert client.stats.waits == [1.0, 1.0, 2.0]  # exponential (0.5, 1, 2), a status URL at most once a second


def test_download_streams_gzip_with_bearer_token(server, rsa_pem):
    client = make_client(server, rsa_pem)
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM, types=("Patient",))))
    with client.open_output(manifest.output[0].url, requires_access_token=True) as chunks:
        body = b"".join(chunks)
    assert server.gzip_served == 1
    assert [json.loads(line)["id"] for line in body.splitlines()] == ["p1", "p2", "p3", "p4", "p5"]


def test_token_revoked_mid_export_is_refreshed_once(server, rsa_pem):
    client = make_client(server, rsa_pem)
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))
    server.revoke_tokens()
    with client.open_output(manifest.output[0].url, requires_access_token=True) as chunks:
        assert b"".join(chunks)
    assert server.token_requests == 2 and client.stats.token_refreshes == 1


def test_expired_output_url_is_reported_as_expired(server, rsa_pem):
    server.expire_once = {"Observation-1.ndjson"}
    client = make_client(server, rsa_pem)
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))
    observation = next(o for o in manifest.output if o.type == "Observation")
    with pytest.raises(OutputExpired, match="has expired \\(410\\)"), \
            client.open_output(observation.url, requires_access_token=True):
        pass


def test_cancel_deletes_the_export(server, rsa_pem):
    server.status_script = [("progress", "1", "1%")] * 3
    client = make_client(server, rsa_pem)
    status_url = client.kick_off(ExportRequest(ExportLevel.SYSTEM))
    client.cancel(status_url)
    assert server.cancels == 1
    with pytest.raises(OutputExpired):
        client.poll(status_url)


def test_open_server_needs_no_credentials():
    with FakeBulkDataServer(list(RESOURCES), open_access=True, requires_access_token=False) as server:
        client = BulkDataClient(server.base_url, OpenAccess(), sleep=lambda _s: None)
        manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.PATIENT)))
        with client.open_output(manifest.output[0].url, requires_access_token=False) as chunks:
            assert b"".join(chunks).count(b"\n") == 1
        assert server.token_requests == 0


def test_token_is_fetched_again_shortly_before_it_expires(server, rsa_pem):
    import httpx

    now = [1_000_000.0]
    server.token_lifetime = 300
    auth = BackendServicesAuth(httpx.Client(), base_url=server.base_url, client_id="hv-client",
                               signing_key=SigningKey.from_pem(rsa_pem), scopes="system/*.read",
                               clock=lambda: now[0])
    first = auth.headers()
    now[0] += 200  # 100 s left: still used
    assert auth.headers() == first and server.token_requests == 1
    now[0] += 50  # 50 s left, inside the refresh margin
    assert auth.headers() != first and server.token_requests == 2
