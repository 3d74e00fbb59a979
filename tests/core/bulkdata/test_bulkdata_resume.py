"""Downloads whose connection drops half-way, against a real HTTP server: resumed with `Range` when the
server supports it, otherwise the drop reaches the caller (which downloads the file again)."""

from __future__ import annotations

import json

import httpx
import pytest

from hv_pipelines.core.bulkdata import BulkDataClient, ExportLevel, ExportRequest, OpenAccess
from hv_pipelines.core.bulkdata.downloads import TruncatedBody, resumes_at
from tests.fakes.ehr_bulk_server import FakeBulkDataServer

RESOURCES = [{"resourceType": "Patient", "id": f"p{i}", "name": [{"family": "x" * 200}]} for i in range(300)]
FILE = "Patient-1.ndjson"


@pytest.fixture
def server():
    with FakeBulkDataServer(list(RESOURCES), open_access=True, requires_access_token=False,
                            lines_per_file=1000) as fake:
        yield fake


def download(server: FakeBulkDataServer) -> tuple[BulkDataClient, bytes]:
    client = BulkDataClient(server.base_url, OpenAccess(), sleep=lambda _s: None)
    manifest = client.poll(client.kick_off(ExportRequest(ExportLevel.SYSTEM)))
    with client.open_output(manifest.output[0].url, requires_access_token=False) as chunks:
        return client, b"".join(chunks)


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "identity"])
def test_a_dropped_download_resumes_from_the_byte_it_stopped_at(server, gzip):
    server.gzip_outputs, server.ranges, server.drops = gzip, True, {FILE: 2}

    client, body = download(server)

    assert [json.loads(line)["id"] for line in body.splitlines()] == [r["id"] for r in RESOURCES]
    assert client.stats.resumes == 2 and server.downloads[FILE] == 3
    offsets = [int(r.removeprefix("bytes=").removesuffix("-")) for r in server.range_requests]
    assert len(offsets) == 2 and 0 < offsets[0] < offsets[1]  # the second resume starts further on
    assert server.gzip_served == (3 if gzip else 0)


def test_a_gzip_body_cut_without_content_length_is_noticed_and_resumed(server):
    """Without Content-Length the cut looks like the end of the body; gzip's missing end marker tells."""
    server.unsized, server.drops = {FILE}, {FILE: 1}
    with pytest.raises(TruncatedBody):
        download(server)

    server.ranges, server.drops = True, {FILE: 1}
    _client, body = download(server)
    assert len(body.splitlines()) == len(RESOURCES) and len(server.range_requests) == 1


def test_without_range_support_the_drop_reaches_the_caller(server):
    server.drops = {FILE: 1}
    with pytest.raises(httpx.RemoteProtocolError):
        download(server)
    assert server.range_requests == []  # no Accept-Ranges: nothing is asked of a server that cannot


def test_a_drop_on_every_resume_gives_up_after_the_budget(server):
    server.ranges, server.drops = True, {FILE: 100}
    with pytest.raises(httpx.RemoteProtocolError):
        download(server)
    assert len(server.range_requests) == 5


@pytest.mark.parametrize(("status", "content_range", "total", "expected"), [
    (206, "bytes 100-999/1000", 1000, True),
    (206, "bytes 100-999/*", None, True),
    (200, None, 1000, False),                   # the server sent the whole file again
    (206, "bytes 0-999/1000", 1000, False),     # another offset than asked for
    (206, "bytes 100-1199/1200", 1000, False),  # the file changed length
    (206, "items 100-999/1000", 1000, False),
])
def test_only_the_rest_of_the_same_file_continues_a_download(status, content_range, total, expected):
    headers = {"Content-Range": content_range} if content_range else {}
    assert resumes_at(httpx.Response(status, headers=headers), 100, total) is expected
