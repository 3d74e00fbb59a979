"""Resumable downloads: a connection dropped mid-file continues with `Range: bytes=N-` where it stopped.

A multi-GB NDJSON file (or a large attachment) whose connection drops half-way would otherwise be
fetched again from byte 0. When the first response said `Accept-Ranges: bytes`, the body is read
undecoded (`iter_raw`) and decoded here, so `N` counts the bytes the server sent — the offset a
`Range` names, also for a gzip-encoded file — and the next request asks for `bytes=N-` with
`If-Range` naming the first response's validator (a strong ETag, else Last-Modified). Only a `206`
whose `Content-Range` starts exactly at `N` (and has the same total length) continues the stream; the
consumer sees one uninterrupted byte sequence, so the line splitter and the file's open COPY carry
on and no line is read twice. Anything else (no range support, a `200` with the whole file, a
changed file) re-raises the original error: the caller rolls the file back and downloads it again.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

import httpx

MAX_RESUMES = 5  # per download; a link that drops more often than this fails the file's attempt
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Reopen = Callable[[dict[str, str]], AbstractContextManager[httpx.Response]]


class TruncatedBody(httpx.TransportError):
    """A gzip body that ended before its end marker: the connection was cut without an error showing."""


def _decoder(response: httpx.Response):
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    if encoding not in ("", "identity"):
        raise httpx.DecodingError(f"unsupported Content-Encoding {encoding!r}")
    return None


def _validator(response: httpx.Response) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _total_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def resumes_at(response: httpx.Response, offset: int, total: int | None) -> bool:
    """Whether `response` is the rest of the same representation from byte `offset` on."""
    if response.status_code != 206:
        return False
    found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if found is None or int(found.group(1)) != offset:
        return False
    return total is None or found.group(3) == "*" or int(found.group(3)) == total


def resumable_chunks(first: httpx.Response, reopen: Reopen, *, max_resumes: int = MAX_RESUMES,
                     on_resume: Callable[[int], None] = lambda _offset: None) -> Iterator[bytes]:
    """Yield the decoded body of `first`, resuming after a dropped connection when the server allows.

    `reopen(headers)` sends the same request with extra headers and returns a response context.
    """
    ranged = first.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
    validator, total = _validator(first), _total_length(first)
    decoder = _decoder(first)
    received = resumes = 0
    response = first
    with ExitStack() as responses:
        while True:
            try:
                for raw in response.iter_raw():
                    received += len(raw)
                    data = decoder.decompress(raw) if decoder else raw
                    if data:
                        yield data
                if decoder is not None and not decoder.eof:
                    raise TruncatedBody("the compressed body ended before its end marker")
                break
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, TruncatedBody) as dropped:
                if not ranged or resumes >= max_resumes:
                    raise
                resumes += 1
                headers = {"Range": f"bytes={received}-", **({"If-Range": validator} if validator else {})}
                response = responses.enter_context(reopen(headers))
                if not resumes_at(response, received, total):
                    raise dropped from None
                on_resume(received)
        if decoder is not None and (tail := decoder.flush()):
            yield tail
