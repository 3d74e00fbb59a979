"""Rate limits that lie, over real HTTP: absurd `Retry-After` values, capped waits, a paced status URL,
and a server that blocks clients polling more than N times a minute. Client and server share a
`SteppedClock`, so minutes of pacing take milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from hv_pipelines.core.bulkdata import Backoff, BulkDataClient, ExportLevel, ExportRequest, OpenAccess
from hv_pipelines.core.bulkdata.retry import DEFAULT_WAIT_CAP, retry_after_seconds
from tests.fakes.ehr_bulk_server import FakeBulkDataServer, SteppedClock

EPOCH_MS = "1765432100000"  # an absolute timestamp in milliseconds, as some EHRs send it
RESOURCES = [{"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2024-01-01T00:00:00Z"}}]


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def server(clock):
    with FakeBulkDataServer(list(RESOURCES), open_access=True, requires_access_token=False,
                            clock=clock) as fake:
        yield fake


def poll(server: FakeBulkDataServer, clock: SteppedClock, **options) -> BulkDataClient:
    client = BulkDataClient(server.base_url, OpenAccess(), sleep=clock.sleep, clock=clock, **options)
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))
    assert manifest.output[0].type == "Patient"
    return client


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


@pytest.mark.parametrize("value", [EPOCH_MS, "1765432100", "1.5", "-5", "in a while", "Fri, 99 Foo 2026"])
def test_retry_after_that_is_neither_delay_seconds_nor_an_http_date_is_unknown(value):
    assert retry_after_seconds(value, now=datetime(2026, 12, 4, tzinfo=UTC)) is None


def test_an_epoch_ms_retry_after_on_a_202_is_ignored_and_the_polls_back_off(server, clock):
    server.status_script = [("progress", EPOCH_MS, "working")] * 4
    client = poll(server, clock)
    assert client.stats.waits[0] >= 1.0 and max(client.stats.waits) <= 60.0  # backoff, not 55,000 years
    assert client.stats.waits == sorted(client.stats.waits)  # spaced out as the export runs on


def test_an_epoch_ms_retry_after_on_a_429_waits_the_backoff(server, clock):
    server.status_script = [("429-after", EPOCH_MS)] * 3
    client = poll(server, clock)
    assert len(client.stats.waits) == 3 and max(client.stats.waits) <= 10.0


@pytest.mark.parametrize(("cap", "expected"), [(None, DEFAULT_WAIT_CAP), (30.0, 30.0)])
def test_every_wait_is_capped_and_the_cap_is_configurable(server, clock, cap, expected):
    server.status_script = [("progress", "86400", "queued"), ("429-after", "7200")]
    client = poll(server, clock, **({"wait_cap": cap} if cap else {}))
    assert client.stats.waits == [expected, expected]


def test_a_429_never_polls_sooner_than_the_last_202_asked(server, clock):
    server.status_script = [("progress", "20", "10%"), ("429",), ("500",), ("progress", None, "90%")]
    poll(server, clock)
    assert all(gap >= 20 for gap in gaps(server.poll_times))  # the 429 said 1 s, the 500 nothing


def test_a_long_export_backs_off_to_a_minute_and_is_never_blocked(server, clock):
    server.poll_limit, server.poll_block, server.block_retry_after = 10, 300.0, EPOCH_MS
    server.status_script = [("busy",)] * 40
    client = poll(server, clock)
    assert server.blocked_polls == 0
    assert min(gaps(server.poll_times)) >= 1.0 and max(client.stats.waits) == pytest.approx(60.0, rel=0.1)
    assert all(sum(1 for t in server.poll_times if start <= t < start + 60) <= 10 for start in server.poll_times)


def test_the_fake_server_blocks_a_client_polling_every_second(server, clock):
    """The rate limit the previous test stays under is real: ten polls a minute, then 429s."""
    server.poll_limit, server.block_retry_after = 10, EPOCH_MS
    server.status_script = [("busy",)] * 40
    with httpx.Client() as http:
        status_url = http.get(f"{server.base_url}/$export", headers={
            "Accept": "application/fhir+json", "Prefer": "respond-async"}).headers["Content-Location"]
        answers = []
        for _ in range(12):
            answers.append(http.get(status_url).status_code)
            clock.sleep(1.0)
    assert answers == [202] * 10 + [429, 429] and server.blocked_polls == 2


def test_a_blocked_client_waits_out_the_block_despite_an_absurd_retry_after(server, clock):
    server.poll_limit, server.poll_block, server.block_retry_after = 3, 90.0, EPOCH_MS
    server.status_script = [("progress", "1", "x")] * 6
    client = poll(server, clock, poll_backoff=Backoff(initial=1.0, cap=1.0, jitter=0.0))  # a hasty poller
    assert server.blocked_polls >= 1 and max(client.stats.waits) <= DEFAULT_WAIT_CAP
