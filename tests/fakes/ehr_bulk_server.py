"""A FHIR Bulk Data server on 127.0.0.1 that the EHR tests talk real HTTP to.

It implements what our client relies on — SMART configuration, a token endpoint that verifies the
JWT client assertion (signature, iss/sub, aud, exp, jti replay), `$export` kick-off at Patient,
Group and system level with `_type`/`_since`, status polling, cancel, NDJSON outputs with gzip,
`requiresAccessToken`, `error[]` and `deleted[]` — and the failure modes a test scripts through
its attributes: a status script (202 + Retry-After/X-Progress, 429, 500, a final error), expired
output files (410), tokens revoked mid-export, a download that stalls half-way, and a partial export
whose failed types are withheld from `output[]` and reported in `error[]`. Status polls can be
rate-limited (`poll_limit` a minute, then blocked), timed by a `SteppedClock` the client sleeps on.

Downloads (output files and `Binary/<id>` attachments) send Content-Length and an ETag; with
`ranges` they also advertise `Accept-Ranges: bytes` and answer `Range: bytes=N-` with a 206, and
`drops` cuts a named download's connection half-way the given number of times. A second instance
on another port serves as a foreign origin (`binaries`, `redirects`, `auth_seen` record what it got).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class SteppedClock:
    """A clock that moves only when the client sleeps: the client and the server share it, so rate limits
    and Retry-After pacing are tested over real HTTP without waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def generate_private_key_pem(kind: str = "rsa") -> bytes:
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_of(private_pem: bytes):
    return serialization.load_pem_private_key(private_pem, password=None).public_key()


def outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


@dataclass
class ExportJob:
    id: str
    level: str
    params: dict[str, str]
    files: dict[str, bytes]  # file name -> NDJSON body
    manifest: dict[str, Any]
    script: list[tuple]
    ordinal: int
    cancelled: bool = False


@dataclass
class FakeBulkDataServer:
    resources: list[dict[str, Any]]
    open_access: bool = False
    requires_access_token: bool = True
    token_lifetime: int = 300
    groups: tuple[str, ...] = ("grp-1",)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    error_outcomes: list[dict[str, Any]] = field(default_factory=list)
    lines_per_file: int = 1000
    # Behaviour a test scripts: what the status URL answers before the manifest, e.g.
    # ("progress", "1", "40%") (a Retry-After of None sends none), ("busy",), ("http-date", 1), ("429",),
    # ("429-after", "1765432100000"), ("500",), ("fail", 400, outcome).
    status_script: list[tuple] = field(default_factory=list)
    expire_once: set[str] = field(default_factory=set)  # file names answering 410 for the first export
    expire_always: set[str] = field(default_factory=set)  # file names answering 410 for every export
    # Types the next export fails: left out of output[], one OperationOutcome naming each in error[].
    withheld_types: set[str] = field(default_factory=set)
    revoke_tokens_after_downloads: int | None = None
    stall_file: str | None = None  # a file that stops half-way until `release_stall()`
    kickoff_outcome: tuple[int, dict[str, Any]] | None = None
    gzip_outputs: bool = True
    extra_lines: dict[str, list[bytes]] = field(default_factory=dict)  # raw lines appended to a file
    ranges: bool = False  # advertise Accept-Ranges and answer `Range: bytes=N-` with 206
    drops: dict[str, int] = field(default_factory=dict)  # download name -> times its connection is cut
    binaries: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # Binary id -> (type, bytes)
    redirects: dict[str, str] = field(default_factory=dict)  # Binary id -> URL it redirects to
    unsized: set[str] = field(default_factory=set)  # downloads sent without Content-Length (until close)
    # A status-poll rate limit as some EHRs enforce it: more than `poll_limit` polls within 60 s (by
    # `clock`) blocks the client for `poll_block` s, every poll meanwhile answering 429 + `block_retry_after`.
    poll_limit: int | None = None
    poll_block: float = 120.0
    block_retry_after: str = "1"
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.tokens: dict[str, float] = {}
        self.jobs: dict[str, ExportJob] = {}
        self.seen_jti: set[str] = set()
        self.kickoffs: list[dict[str, Any]] = []
        self.downloads: Counter[str] = Counter()
        self.completed_downloads: Counter[str] = Counter()
        self.token_requests = 0
        self.status_requests = 0
        self.poll_times: list[float] = []  # by `clock`, every status request
        self.blocked_polls = 0
        self._accepted_polls: list[float] = []
        self._blocked_until = float("-inf")
        self.cancels = 0
        self.gzip_served = 0
        self.range_requests: list[str] = []  # the Range headers received
        self.auth_seen: list[tuple[str, str | None]] = []  # (Binary path, Authorization) per request
        self.stalled = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + "/fhir"

    @property
    def token_url(self) -> str:
        return self.origin + "/auth/token"

    def rate_limited(self) -> bool:
        """Record a status poll; True if the client is (now) blocked for polling too often."""
        now = self.clock()
        self.poll_times.append(now)
        if self.poll_limit is None:
            return False
        if now >= self._blocked_until:
            recent = [t for t in self._accepted_polls if t > now - 60]
            if len(recent) < self.poll_limit:
                self._accepted_polls = [*recent, now]
                return False
            self._blocked_until = now + self.poll_block
        self.blocked_polls += 1
        return True

    def register_client(self, client_id: str, private_pem: bytes) -> None:
        self.clients[client_id] = public_key_of(private_pem)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def release_stall(self) -> None:
        self._release.set()

    def __enter__(self) -> FakeBulkDataServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- protocol --------------------------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return 400, {"error": "invalid_request"}
        assertion = form.get("client_assertion", "")
        try:
            claimed = jwt.decode(assertion, options={"verify_signature": False})
            public_key = self.clients[claimed["iss"]]
            claims = jwt.decode(assertion, public_key, algorithms=["RS384", "ES384"],
                                audience=self.token_url, issuer=claimed["iss"],
                                options={"require": ["exp", "jti", "iss", "sub", "aud"]})
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):  # includes a key of the wrong type
            return 401, {"error": "invalid_client"}
        replayed = claims["jti"] in self.seen_jti
        if claims["sub"] != claims["iss"] or claims["exp"] > time.time() + 310 or replayed:
            return 401, {"error": "invalid_client"}
        self.seen_jti.add(claims["jti"])
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime,
                     "scope": form.get("scope", "")}

    def authorized(self, header: str | None) -> bool:
        if self.open_access:
            return True
        token = (header or "").removeprefix("Bearer ")
        with self._lock:
            return self.tokens.get(token, 0) > time.time()

    def kick_off(self, level: str, group: str | None, params: dict[str, str]) -> ExportJob | tuple[int, dict]:
        if self.kickoff_outcome:
            return self.kickoff_outcome
        if level == "group" and group not in self.groups:
            return 404, outcome("not-found", f"Group {group} is unknown")
        types = set(filter(None, params.get("_type", "").split(",")))
        since = params.get("_since")
        since_dt = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        withheld, self.withheld_types = self.withheld_types, set()
        selected = [r for r in self.resources
                    if (not types or r["resourceType"] in types) and r["resourceType"] not in withheld
                    and (since_dt is None or _last_updated(r) > since_dt)]
        outcomes = self.error_outcomes + [outcome("exception", f"{t} export failed: internal timeout")
                                          for t in sorted(withheld)]
        job_id = secrets.token_hex(6)
        files = self._files(job_id, selected, outcomes)
        manifest = self._manifest(job_id, files, params)
        job = ExportJob(job_id, level, params, files, manifest, list(self.status_script), len(self.jobs))
        self.jobs[job_id] = job
        self.kickoffs.append({"level": level, "group": group, **params})
        return job

    def _files(self, job_id: str, selected: list[dict[str, Any]],
               outcomes: list[dict[str, Any]]) -> dict[str, bytes]:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in selected:
            by_type.setdefault(resource["resourceType"], []).append(resource)
        files = {}
        for rtype, items in sorted(by_type.items()):
            for part, start in enumerate(range(0, len(items), self.lines_per_file), 1):
                files[f"{rtype}-{part}.ndjson"] = _ndjson(items[start:start + self.lines_per_file])
        for name, lines in self.extra_lines.items():
            files[name] = files.get(name, b"") + b"".join(line + b"\n" for line in lines)
        if outcomes:
            files["errors-1.ndjson"] = _ndjson(outcomes)
        if self.deleted:
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
                {"request": {"method": "DELETE", "url": f"{rtype}/{rid}"}} for rtype, rid in self.deleted]}
            files["deleted-1.ndjson"] = _ndjson([bundle])
        return files

    def _manifest(self, job_id: str, files: dict[str, bytes], params: dict[str, str]) -> dict[str, Any]:
        def entry(name: str, rtype: str) -> dict[str, Any]:
            return {"type": rtype, "url": f"{self.origin}/files/{job_id}/{name}",
                    "count": files[name].count(b"\n")}

        names = sorted(files)
        return {
            "transactionTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "request": f"{self.base_url}/$export?" + "&".join(f"{k}={v}" for k, v in params.items()),
            "requiresAccessToken": self.requires_access_token,
            "output": [entry(n, n.rsplit("-", 1)[0]) for n in names
                       if not n.startswith(("errors", "deleted"))],
            "error": [entry(n, "OperationOutcome") for n in names if n.startswith("errors")],
            "deleted": [entry(n, "Bundle") for n in names if n.startswith("deleted")],
        }


def _last_updated(resource: dict[str, Any]) -> datetime:
    stamp = (resource.get("meta") or {}).get("lastUpdated", "1970-01-01T00:00:00Z")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _ndjson(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(i, separators=(",", ":")).encode() + b"\n" for i in items)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBulkDataServer

    def log_message(self, *args: object) -> None:
        """Silent: pytest shows failures, not access logs."""

    def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/fhir/.well-known/smart-configuration":
            return self._reply(200, {
                "token_endpoint": self.fake.token_url, "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "capabilities": ["client-confidential-asymmetric"]})
        if path.endswith("$export"):
            return self._kick_off(path, params)
        if path.startswith("/fhir/status/"):
            return self._status(path.rsplit("/", 1)[-1])
        if path.startswith("/files/"):
            return self._file(*path.split("/")[2:4])
        if path.startswith("/fhir/Binary/"):
            return self._binary(path.rsplit("/", 1)[-1])
        return self._reply(404, outcome("not-found", "no such endpoint"))

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/auth/token":
            return self._reply(404, outcome("not-found", "no such endpoint"))
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        status, body = self.fake.issue_token(form)
        self._reply(status, body)

    def do_DELETE(self) -> None:  # noqa: N802
        job = self.fake.jobs.get(self.path.rsplit("/", 1)[-1])
        if not self.path.startswith("/fhir/status/") or job is None or job.cancelled:
            return self._reply(404, outcome("not-found", "no such export"))
        if not self.fake.authorized(self.headers.get("Authorization")):
            return self._reply(401, outcome("login", "token missing or expired"))
        job.cancelled = True
        self.fake.cancels += 1
        self._reply(202, outcome("informational", "export cancelled", "information"))

    def _kick_off(self, path: str, params: dict[str, str]) -> None:
        if self.headers.get("Accept") != "application/fhir+json" or \
                self.headers.get("Prefer") != "respond-async":
            return self._reply(400, outcome("invalid", "Accept: application/fhir+json and "
                                                       "Prefer: respond-async are required"))
        if not self.fake.authorized(self.headers.get("Authorization")):
            return self._reply(401, outcome("login", "token missing or expired"))
        segments = path.split("/")
        if path == "/fhir/Patient/$export":
            level, group = "patient", None
        elif len(segments) == 5 and segments[2] == "Group":
            level, group = "group", segments[3]
        else:
            level, group = "system", None
        result = self.fake.kick_off(level, group, params)
        if isinstance(result, tuple):
            return self._reply(*result)
        self._reply(202, outcome("informational", "accepted", "information"),
                    {"Content-Location": f"{self.fake.base_url}/status/{result.id}"})

    def _status(self, job_id: str) -> None:
        self.fake.status_requests += 1
        job = self.fake.jobs.get(job_id)
        if job is None or job.cancelled:
            return self._reply(404, outcome("not-found", "no such export"))
        if not self.fake.authorized(self.headers.get("Authorization")):
            return self._reply(401, outcome("login", "token missing or expired"))
        if self.fake.rate_limited():
            return self._reply(429, outcome("throttled", "too many status requests: blocked"),
                               {"Retry-After": self.fake.block_retry_after})
        if not job.script:
            expires = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
            return self._reply(200, job.manifest, {"Expires": expires})
        step = job.script.pop(0)
        kind = step[0]
        if kind == "progress":
            retry_after = {"Retry-After": step[1]} if step[1] is not None else {}
            return self._reply(202, None, {**retry_after, "X-Progress": step[2]})
        if kind == "busy":
            return self._reply(202, None, {"X-Progress": "busy"})
        if kind == "429-after":
            return self._reply(429, outcome("throttled", "slow down"), {"Retry-After": step[1]})
        if kind == "http-date":
            when = datetime.now(UTC) + timedelta(seconds=step[1])
            return self._reply(202, None, {"Retry-After": format_datetime(when, usegmt=True),
                                           "X-Progress": "busy"})
        if kind == "429":
            return self._reply(429, outcome("throttled", "slow down"), {"Retry-After": "1"})
        if kind == "500":
            return self._reply(500, outcome("exception", "transient failure"))
        return self._reply(step[1], step[2])

    def _file(self, job_id: str, name: str) -> None:
        fake = self.fake
        job = fake.jobs.get(job_id)
        if job is None or name not in job.files:
            return self._reply(404, outcome("not-found", "no such file"))
        if fake.requires_access_token and not fake.authorized(self.headers.get("Authorization")):
            return self._reply(401, outcome("login", "token missing or expired"))
        fake.downloads[name] += 1
        if (job.ordinal == 0 and name in fake.expire_once) or name in fake.expire_always:
            return self._reply(410, outcome("expired", "the file has expired"))
        body = job.files[name]
        compress = fake.gzip_outputs and "gzip" in self.headers.get("Accept-Encoding", "")
        if compress:
            fake.gzip_served += 1
            encoder = zlib.compressobj(wbits=31)  # deterministic: a range of it names the same bytes
            body = encoder.compress(body) + encoder.flush()
        self._send_download(name, body, "application/fhir+ndjson", {"Content-Encoding": "gzip"} if compress else {})
        fake.completed_downloads[name] += 1
        if fake.revoke_tokens_after_downloads is not None and \
                sum(fake.completed_downloads.values()) == fake.revoke_tokens_after_downloads:
            fake.revoke_tokens()

    def _binary(self, binary_id: str) -> None:
        fake = self.fake
        fake.auth_seen.append((self.path, self.headers.get("Authorization")))
        if binary_id in fake.redirects:
            return self._reply(302, None, {"Location": fake.redirects[binary_id]})
        if binary_id not in fake.binaries:
            return self._reply(404, outcome("not-found", "no such Binary"))
        if not fake.authorized(self.headers.get("Authorization")):
            return self._reply(401, outcome("login", "token missing or expired"))
        fake.downloads[binary_id] += 1
        content_type, body = fake.binaries[binary_id]
        self._send_download(binary_id, body, content_type, {})
        fake.completed_downloads[binary_id] += 1

    def _send_download(self, name: str, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        """200 with the whole body, or 206 from the requested offset; cut half-way while `drops` says so,
        or stalled half-way for `stall_file`."""
        fake = self.fake
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        start, requested = 0, self.headers.get("Range")
        if requested:
            fake.range_requests.append(requested)
        if fake.ranges and requested and requested.startswith("bytes=") and requested.endswith("-") and \
                self.headers.get("If-Range", etag) == etag:
            start = int(requested[len("bytes="):-1])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", content_type)
        if name not in fake.unsized:
            self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", etag)
        if fake.ranges:
            self.send_header("Accept-Ranges", "bytes")
        for header, value in headers.items():
            self.send_header(header, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        rest = body[start:]
        if fake.drops.get(name, 0) > 0:
            fake.drops[name] -= 1
            self.wfile.write(rest[: len(rest) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if name == fake.stall_file:
            self.wfile.write(rest[: len(rest) // 2])
            self.wfile.flush()
            fake.stalled.set()
            fake._release.wait(30)
            rest = rest[len(rest) // 2:]
        self.wfile.write(rest)
