"""Attachments of DocumentReference (`content[].attachment`) and DiagnosticReport (`presentedForm[]`):
fetched, checked, encrypted into the object store, recorded — the files the platform's document
features (OCR, AI analysis, the patient's repository) read.

An attachment is inline (`data`, base64) or a `url`, absolute or relative to the FHIR base
(`Binary/<id>`). The connection's access token goes only to the FHIR server's own origin (scheme,
host, port); a URL elsewhere is fetched without it, and a redirect away from the origin drops it
(httpx strips `Authorization` on a cross-origin redirect). A foreign host whose address is not public
(loopback, private, link-local such as a cloud metadata service) is refused on every request and
redirect hop, unless the policy allows private hosts: a resource's URL must not make the pipeline a
proxy into its own network. What the policy refuses — larger than the cap (declared `size`,
`Content-Length`, or counted while streaming), of a type outside the allowlist, a private host — is
skipped with a reason and never stored. A failure (network, HTTP status, a body that does not match
the attachment's `hash`) leaves the resource to be tried again next sync; it never fails the sync.

`document_store` encrypts what is fetched into the object store, once per content; `document_rows`
records it in the database, in one place.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import BulkDataClient
from hv_pipelines.core.bulkdata.errors import safe_url
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest import document_rows
from hv_pipelines.core.fhir_ingest.document_store import AttachmentFailed, AttachmentRefused, store_document
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.core.units import human_size

DEFAULT_MAX_BYTES = 50 * 1000 * 1000
ALLOWED_TYPES = frozenset({
    "application/pdf",
    "image/jpeg", "image/png", "image/gif", "image/tiff", "image/bmp", "image/webp",
    "text/plain", "text/html", "text/rtf", "text/csv", "application/rtf",
    "text/xml", "application/xml", "application/hl7-cda+xml", "application/cda+xml",
    "application/json", "application/fhir+json",
})
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})  # says nothing: not checked


def media_type(content_type: str | None) -> str | None:
    """`application/pdf` of `Application/PDF; charset=...`; None when absent."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value or None


@dataclass(frozen=True)
class AttachmentPolicy:
    """What may be stored: at most `max_bytes` per attachment, of a media type in `allowed_types`."""

    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: frozenset[str] = ALLOWED_TYPES
    private_hosts: bool = False  # fetch from foreign hosts on loopback/private/link-local addresses

    def refusal(self, content_type: str | None, size: int | None) -> str | None:
        """Why an attachment of this type and size is not stored, or None when it may be."""
        if size is not None and size > self.max_bytes:
            return f"larger than the {human_size(self.max_bytes)} cap ({human_size(size)})"
        kind = media_type(content_type)
        if kind is not None and kind not in GENERIC_TYPES and kind not in self.allowed_types:
            return f"content type {kind[:60]} is not on the allowlist"
        return None


@dataclass(frozen=True)
class Attachment:
    index: int
    content_type: str | None
    url: str | None
    data: str | None
    size: int | None
    title: str | None
    sha1: str | None  # the attachment's `hash`: base64 SHA-1 of the data, checked when present


def attachments_of(resource: dict[str, Any]) -> list[Attachment]:
    """The attachments worth keeping: DocumentReference.content[].attachment, DiagnosticReport.presentedForm."""
    kind = resource.get("resourceType")
    if kind == "DocumentReference":
        found = [c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)]
    elif kind == "DiagnosticReport":
        found = list(resource.get("presentedForm") or [])
    else:
        return []
    result = []
    for index, item in enumerate(found):
        if not isinstance(item, dict):
            continue
        size = item.get("size")
        result.append(Attachment(
            index, _text(item.get("contentType")), _text(item.get("url")), _text(item.get("data")),
            size if isinstance(size, int) and size >= 0 else None, _text(item.get("title")),
            _text(item.get("hash"))))
    return result


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def resolve_url(url: str, base_url: str) -> str | None:
    """`url` made absolute against the FHIR base (`Binary/1` → `<base>/Binary/1`); None unless http(s)."""
    absolute = urljoin(base_url.rstrip("/") + "/", url)
    return absolute if urlsplit(absolute).scheme.lower() in ("http", "https") else None


@contextmanager
def open_attachment(attachment: Attachment, client: BulkDataClient,
                    policy: AttachmentPolicy) -> Iterator[tuple[str | None, Iterator[bytes]]]:
    """The attachment's media type and plaintext, after the policy's checks on what is declared and
    served. The token goes only to the FHIR server's origin."""
    refusal = policy.refusal(attachment.content_type, attachment.size)
    if refusal:
        raise AttachmentRefused(refusal)
    if attachment.data is not None:
        try:
            data = base64.b64decode("".join(attachment.data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise AttachmentFailed("the inline data is not valid base64") from None
        yield attachment.content_type, iter([data])
        return
    if attachment.url is None:
        raise AttachmentRefused("neither data nor url")
    url = resolve_url(attachment.url, client.base_url)
    if url is None:
        raise AttachmentRefused(f"url scheme {urlsplit(attachment.url).scheme[:20]!r} is not http(s)")
    same_origin = origin(url) == origin(client.base_url)
    headers = {"Accept": attachment.content_type or "*/*", "Accept-Encoding": "identity"}
    with client.open_download(url, headers=headers, authorized=same_origin) as (response, chunks):
        if response.status_code != 200:
            raise AttachmentFailed(f"{safe_url(url)} answered {response.status_code}")
        served = response.headers.get("Content-Type")
        length = response.headers.get("Content-Length")
        refusal = policy.refusal(served, int(length) if length and length.isdigit() else None)
        if refusal:
            raise AttachmentRefused(refusal)
        kind = attachment.content_type or (served if media_type(served) not in GENERIC_TYPES else None)
        yield kind, chunks


MAX_FAILURES_KEPT = 100
ATTACHMENT_RETRIES = 2  # per attachment and sync (3 attempts): an unreachable host costs seconds, not hours
ATTACHMENT_BACKOFF_CAP = 10.0


def _non_public_address(host: str) -> str | None:
    """The first address of `host` that is not a public unicast one, or None (unresolvable: None, the
    connect fails and is counted as a failure)."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return None
    for address in sorted(found):
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            return address
    return None


def _private_host_guard(fhir_origin: tuple[str, str, int | None]) -> Callable[[httpx.Request], None]:
    """An httpx request hook: every request and redirect hop to a foreign, non-public host is refused."""
    def guard(request: httpx.Request) -> None:
        url = str(request.url)
        if origin(url) == fhir_origin:
            return
        address = _non_public_address(request.url.host)
        if address is not None:
            raise AttachmentRefused(f"foreign host on a non-public address ({address}, {safe_url(url)}): "
                                    "allow private hosts in the attachment policy if it is trusted")
    return guard


@contextmanager
def attachment_client(client: BulkDataClient, policy: AttachmentPolicy) -> Iterator[BulkDataClient]:
    """The sync's client (its cached token) on a connection pool of its own, with a short retry budget (a
    failed attachment is tried again next sync anyway) and the private-host guard unless allowed."""
    hooks = {} if policy.private_hosts else {"request": [_private_host_guard(origin(client.base_url))]}
    http = httpx.Client(timeout=client.http.timeout, follow_redirects=True, event_hooks=hooks)
    try:
        yield BulkDataClient(client.base_url, client.auth, http=http, sleep=client.sleep,
                             backoff=replace(client.backoff, cap=min(client.backoff.cap, ATTACHMENT_BACKOFF_CAP)),
                             max_transient_errors=ATTACHMENT_RETRIES, wait_cap=client.wait_cap)
    finally:
        http.close()


@dataclass
class AttachmentCounts:
    """What one pass over the connection's pending attachments did; never content, only ids and reasons."""

    resources: int = 0
    stored: int = 0
    deduplicated: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    store_configured: bool = True

    def as_details(self) -> dict[str, Any]:
        return {"resources": self.resources, "stored": self.stored, "deduplicated": self.deduplicated,
                "skipped": self.skipped, "failed": self.failed, "bytes": self.bytes,
                "skipReasons": dict(self.skip_reasons), "failures": self.failures}


def _reason(exc: Exception) -> str:
    """An HVError's message (ours: ids, statuses, URLs without query); otherwise only the error's type."""
    return str(exc)[:300] if isinstance(exc, HVError) else f"{type(exc).__name__} while fetching or storing"


def _lookup_stored_key(db_url: str) -> Callable[[str], str | None]:
    def lookup(sha256: str) -> str | None:
        with db.connect(db_url) as conn:
            return document_rows.stored_key_of(conn, sha256)
    return lookup


def fetch_attachments(db_url: str, *, connection_id: str, user_id: str, client: BulkDataClient,
                      keyring: Keyring, store: ObjectStore, policy: AttachmentPolicy = AttachmentPolicy(),
                      progress: Callable[[str], None] = lambda _message: None) -> AttachmentCounts:
    """Fetch and store the attachments of every resource of the connection not downloaded yet.

    Each resource is recorded in its own transaction after its attachments are stored. A refused or
    failed attachment is counted (reason per failure) and the pass goes on; only the database
    failing stops it.
    """
    counts = AttachmentCounts()
    with db.connect(db_url) as conn:
        pending = document_rows.pending_ids(conn, connection_id)
    with attachment_client(client, policy) as fetcher:
        for number, resource_id in enumerate(pending, 1):
            _fetch_resource(db_url, resource_id, connection_id=connection_id, user_id=user_id, client=fetcher,
                            keyring=keyring, store=store, policy=policy, counts=counts)
            if number % 50 == 0 or number == len(pending):
                progress(f"attachments: {number}/{len(pending)} resources, {counts.stored} stored, "
                         f"{counts.skipped} skipped, {counts.failed} failed")
    return counts


def _fetch_resource(db_url: str, resource_id: str, *, connection_id: str, user_id: str, client: BulkDataClient,
                    keyring: Keyring, store: ObjectStore, policy: AttachmentPolicy,
                    counts: AttachmentCounts) -> None:
    """Store the attachments of one resource and record them in one transaction."""
    with db.connect(db_url) as conn:
        resource = document_rows.load_pending(conn, resource_id)
    if resource is None:
        return
    counts.resources += 1
    stored, complete = [], True
    for attachment in attachments_of(json.loads(resource.raw_data)):
        try:
            with open_attachment(attachment, client, policy) as (kind, chunks):
                document = store_document(store, keyring, chunks, max_bytes=policy.max_bytes,
                                          content_type=media_type(kind), expected_sha1=attachment.sha1,
                                          stored_key_of=_lookup_stored_key(db_url))
        except AttachmentRefused as exc:
            counts.skipped += 1
            counts.skip_reasons[str(exc).split(" (", 1)[0]] += 1
            continue
        except psycopg.Error:
            raise
        except Exception as exc:  # noqa: BLE001 — a failed attachment must never fail the sync
            complete = False
            counts.failed += 1
            if len(counts.failures) < MAX_FAILURES_KEPT:
                counts.failures.append({"resource": resource.id, "attachment": attachment.index,
                                        "reason": _reason(exc)})
            continue
        stored.append((attachment, document))
        counts.stored += 1
        counts.deduplicated += document.deduplicated
        counts.bytes += document.size
    with db.connect(db_url) as conn:
        document_rows.record_stored(conn, connection_id=connection_id, user_id=user_id, resource=resource,
                                    stored=stored, complete=complete)
