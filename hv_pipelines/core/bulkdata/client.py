"""The FHIR Bulk Data client: kick-off, status polling, cancel and streamed downloads.

Every request goes through `_send`, which owns the protocol's failure handling in one place:
a 401 drops the cached token and retries once; 429, 5xx and network errors are retried after the
server's `Retry-After` or an exponential backoff with jitter, up to `max_transient_errors` in a row.
No wait exceeds `wait_cap`, and a status URL is paced (`retry.StatusPacing`): at most once a second,
never sooner than its last 202's `Retry-After`, spaced out to a minute as an export runs long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import httpx

from hv_pipelines.core.bulkdata.downloads import resumable_chunks
from hv_pipelines.core.bulkdata.errors import (
    AuthorizationError,
    BulkDataError,
    ExportFailed,
    OutputExpired,
    ServerUnavailable,
    outcome_summary,
    safe_url,
)
from hv_pipelines.core.bulkdata.manifest import Manifest
from hv_pipelines.core.bulkdata.retry import (
    DEFAULT_WAIT_CAP,
    POLL_BACKOFF,
    TRANSIENT_STATUSES,
    Backoff,
    StatusPacing,
    next_delay,
)

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
DEFAULT_MAX_WAIT = 6 * 3600.0  # EHRs take hours for large groups; beyond this, rerun to resume polling


class Auth(Protocol):
    def headers(self) -> dict[str, str]: ...
    def invalidate(self) -> None: ...


class ExportLevel(StrEnum):
    PATIENT = "patient"
    GROUP = "group"
    SYSTEM = "system"


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the level (Patient, Group or system), types, `_since` and `_typeFilter`."""

    level: ExportLevel
    group_id: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    type_filters: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        if self.level is ExportLevel.GROUP:
            if not self.group_id:
                raise BulkDataError("a Group export needs the group id: set it with "
                                    "`hv ehr connect --group-id`")
            return f"Group/{self.group_id}/$export"
        return "Patient/$export" if self.level is ExportLevel.PATIENT else "$export"

    def params(self) -> dict[str, str]:
        params = {"_outputFormat": NDJSON}
        if self.types:
            params["_type"] = ",".join(self.types)
        if self.since is not None:
            params["_since"] = self.since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.type_filters:
            params["_typeFilter"] = ",".join(self.type_filters)
        return params


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    resumes: int = 0  # Range requests sent to continue a dropped download
    waits: list[float] = field(default_factory=list)


class BulkDataClient:
    def __init__(self, base_url: str, auth: Auth, *, http: httpx.Client | None = None,
                 backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep,
                 max_transient_errors: int = 8, max_wait: float = DEFAULT_MAX_WAIT,
                 wait_cap: float = DEFAULT_WAIT_CAP, poll_backoff: Backoff = POLL_BACKOFF,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.http = http or httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), follow_redirects=True)
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.max_transient_errors = max_transient_errors
        self.max_wait = max_wait  # how long one run polls an export before giving up (it resumes later)
        self.wait_cap = wait_cap  # the longest single wait, whatever the server advises
        self.poll_backoff = poll_backoff
        self.clock = clock
        self.stats = ClientStats()

    def kick_off(self, request: ExportRequest) -> str:
        """Start an export; return its status URL (the `Content-Location` of the 202)."""
        url = f"{self.base_url}/{request.path}"
        headers = {"Accept": FHIR_JSON, "Prefer": "respond-async"}
        with self._send("GET", url, headers=headers, params=request.params()) as response:
            if response.status_code != 202:
                raise ExportFailed(f"kick-off at {safe_url(url)} was refused ({response.status_code}: "
                                   f"{outcome_summary(_json(response))}): check the export level, group id "
                                   "and types against the provider profile")
            location = response.headers.get("Content-Location")
        if not location:
            raise BulkDataError(f"kick-off at {safe_url(url)} returned 202 without Content-Location")
        return location

    def poll(self, status_url: str, *, on_progress: Callable[[str], None] | None = None) -> Manifest:
        """Wait for the export to complete, paced by `Retry-After` and backoff, reporting `X-Progress`."""
        deadline = self.clock() + self.max_wait
        pacing = StatusPacing(cap=self.wait_cap, backoff=self.poll_backoff)
        while True:
            with self._send("GET", status_url, headers={"Accept": "application/json"},
                            pacing=pacing) as response:
                if response.status_code == 200:
                    return Manifest.parse(_json(response))
                if response.status_code in (404, 410):
                    raise OutputExpired(f"the export status URL {safe_url(status_url)} is gone "
                                        f"({response.status_code}): a new export will be kicked off")
                if response.status_code != 202:
                    raise ExportFailed(f"the export failed ({response.status_code}: "
                                       f"{outcome_summary(_json(response))}); rerun the sync after fixing "
                                       "the cause")
                if on_progress and response.headers.get("X-Progress"):
                    on_progress(response.headers["X-Progress"][:100])
                delay = pacing.after_accepted(response.headers.get("Retry-After"))
            if self.clock() + delay > deadline:
                raise ServerUnavailable(f"the export at {safe_url(status_url)} is still running after "
                                        f"{self.max_wait:.0f}s: rerun the sync later, it resumes polling")
            self._wait(delay)

    def cancel(self, status_url: str) -> None:
        """Ask the server to stop the export and drop its files (a gone export counts as cancelled)."""
        with self._send("DELETE", status_url, headers={"Accept": "application/json"}) as response:
            if response.status_code not in (200, 202, 204, 404, 410):
                raise BulkDataError(f"cancelling {safe_url(status_url)} failed ({response.status_code}: "
                                    f"{outcome_summary(_json(response))})")

    @contextmanager
    def open_output(self, url: str, *, requires_access_token: bool) -> Iterator[Iterator[bytes]]:
        """Stream one output file as decoded bytes (gzip transfer encoding undone), never whole in memory;
        a dropped connection resumes with `Range` where the server supports it (see `downloads`)."""
        headers = {"Accept": NDJSON, "Accept-Encoding": "gzip"}
        with self.open_download(url, headers=headers, authorized=requires_access_token) as (response, chunks):
            if response.status_code in (404, 410):
                raise OutputExpired(f"the output file {safe_url(url)} has expired ({response.status_code}): "
                                    "a new export will be kicked off")
            if response.status_code != 200:
                raise BulkDataError(f"downloading {safe_url(url)} failed ({response.status_code})")
            yield chunks

    @contextmanager
    def open_download(self, url: str, *, headers: dict[str, str],
                      authorized: bool) -> Iterator[tuple[httpx.Response, Iterator[bytes]]]:
        """GET `url` streamed: the response (to check its status and headers first) and its decoded body,
        resumable after a dropped connection. `authorized=False` sends no token at all."""
        def reopen(extra: dict[str, str]):
            self.stats.resumes += 1
            return self._send("GET", url, headers={**headers, **extra}, authorized=authorized, stream=True)

        with self._send("GET", url, headers=headers, authorized=authorized, stream=True) as response:
            chunks = resumable_chunks(response, reopen)
            try:
                yield response, chunks
            finally:
                chunks.close()  # closes the responses of any resumed requests

    def _wait(self, seconds: float) -> None:
        self.stats.waits.append(seconds)
        self.sleep(seconds)

    @contextmanager
    def _send(self, method: str, url: str, *, headers: dict[str, str], params: dict[str, str] | None = None,
              authorized: bool = True, stream: bool = False,
              pacing: StatusPacing | None = None) -> Iterator[httpx.Response]:
        refreshed = False
        transient = 0
        while True:
            request_headers = {**headers, **(self.auth.headers() if authorized else {})}
            self.stats.requests += 1
            try:
                request = self.http.build_request(method, url, headers=request_headers, params=params)
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                transient += 1
                if transient > self.max_transient_errors:
                    raise ServerUnavailable(f"{safe_url(url)} unreachable after {transient} attempts "
                                            f"({type(exc).__name__}): check the network path to the "
                                            "EHR") from None
                self._retry(None, transient, pacing)
                continue
            if response.status_code == 401 and authorized:
                response.close()
                if refreshed:
                    raise AuthorizationError(f"{safe_url(url)} refused a freshly issued token (401): check "
                                             "the scopes granted to the client at the EHR")
                refreshed = True
                self.stats.token_refreshes += 1
                self.auth.invalidate()
                continue
            if response.status_code in TRANSIENT_STATUSES:
                retry_after = response.headers.get("Retry-After")
                transient += 1
                if transient > self.max_transient_errors:
                    summary = outcome_summary(_json(response))
                    response.close()
                    raise ServerUnavailable(f"{safe_url(url)} kept answering {response.status_code} after "
                                            f"{transient} attempts ({summary}): try again later or ask the "
                                            "EHR vendor")
                response.close()
                self._retry(retry_after, transient, pacing)
                continue
            try:
                yield response
            finally:
                response.close()
            return

    def _retry(self, retry_after: str | None, transient: int, pacing: StatusPacing | None) -> None:
        self.stats.retries += 1
        if pacing is not None:  # a status URL: never sooner than its last 202 asked
            self._wait(pacing.after_refused(retry_after, self.backoff, transient - 1))
        else:
            self._wait(next_delay(retry_after, self.backoff, transient - 1, cap=self.wait_cap))

    def close(self) -> None:
        self.http.close()


def _json(response: httpx.Response) -> object:
    try:
        if not response.is_stream_consumed:
            response.read()
        return response.json()
    except ValueError:
        return None
