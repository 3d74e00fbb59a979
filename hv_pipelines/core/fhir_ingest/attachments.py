"""Attachments of DocumentReference (`content[].attachment`) and DiagnosticReport (`presentedForm[]`):
fetched, checked, encrypted into the object store, recorded — the files the platform's document
features (OCR, AI analysis, the patient's repository) read.

An attachment is inline (`data`, base64) or a `url`, absolute or relative to the FHIR base
(`Binary/<id>`). The connection's access token goes only to the FHIR server's own origin (scheme,
host, port); a URL elsewhere is fetched without it, and a redirect away from the origin drops it
(httpx strips `Authorization` on a cross-origin redirect). What the policy refuses — larger than the
cap (declared `size`, `Content-Length`, or counted while streaming) or of a type outside the allowlist
— is skipped with a reason and never stored. A failure (network, HTTP status, a body that does not
match the attachment's `hash`) leaves the resource to be tried again next sync; it never fails the sync.

The plaintext streams through SHA-256 into the envelope (`core.envelope`, sealed as
`ehr-document`) and up to the store under a temporary key; once the digest is known the object is
published as `documents/<xx>/<name>` — the name a keyed hash of the digest, so the bucket listing
reveals nothing about the content — or dropped when that content is stored already. Nothing is
written to local disk. `document_rows` records the result in the database, in one place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import psycopg

from hv_pipelines.core import db
from hv_pipelines.core.bulkdata import BulkDataClient
from hv_pipelines.core.bulkdata.errors import safe_url
from hv_pipelines.core.envelope import EnvelopeHeader, encrypt_stream, read_header
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.fhir_ingest import document_rows
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
DOCUMENT_PREFIX = "documents/"
ENVELOPE_CONTEXT = "ehr-document"


def media_type(content_type: str | None) -> str | None:
    """`application/pdf` of `Application/PDF; charset=...`; None when absent."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value or None


@dataclass(frozen=True)
class AttachmentPolicy:
    """What may be stored: at most `max_bytes` per attachment, of a media type in `allowed_types`."""

    max_bytes: int = DEFAULT_MAX_BYTES
    allowed_types: frozenset[str] = ALLOWED_TYPES

    def refusal(self, content_type: str | None, size: int | None) -> str | None:
        """Why an attachment of this type and size is not stored, or None when it may be."""
        if size is not None and size > self.max_bytes:
            return f"larger than the {human_size(self.max_bytes)} cap ({human_size(size)})"
        kind = media_type(content_type)
        if kind is not None and kind not in GENERIC_TYPES and kind not in self.allowed_types:
            return f"content type {kind[:60]} is not on the allowlist"
        return None


class AttachmentRefused(HVError):
    """The policy refuses the attachment (size or type): skipped, with the reason recorded."""


class AttachmentFailed(HVError):
    """Fetching or storing the attachment failed: it is tried again next sync."""


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


@dataclass(frozen=True)
class StoredDocument:
    key: str
    sha256: str
    size: int
    content_type: str | None
    envelope: dict[str, Any]  # what `secure_files.encryptionMetadata` records: never a key
    deduplicated: bool


def envelope_metadata(header: EnvelopeHeader) -> dict[str, Any]:
    return {"format": "HVSTRM", "version": header.version, "cipher": "AES-256-GCM STREAM",
            "context": header.context, "masterKeyId": header.key_id, "dataKeyId": header.data_key_id,
            "chunkSize": header.chunk_size}


@dataclass
class _Digests:
    sha256: Any = field(default_factory=hashlib.sha256)
    sha1: Any = field(default_factory=hashlib.sha1)
    size: int = 0


def _metered(chunks: Iterable[bytes], digests: _Digests, max_bytes: int) -> Iterator[bytes]:
    """Hash and count the plaintext as it passes, refusing it once it exceeds the cap."""
    for chunk in chunks:
        digests.size += len(chunk)
        if digests.size > max_bytes:
            raise AttachmentRefused(f"larger than the {human_size(max_bytes)} cap (found while streaming)")
        digests.sha256.update(chunk)
        digests.sha1.update(chunk)
        yield chunk


def document_key(keyring: Keyring, sha256: str) -> str:
    """Where content with this digest lives: a keyed hash, so names reveal nothing about the content."""
    name = keyring.mac(b"hv-ehr-document:" + sha256.encode())
    return f"{DOCUMENT_PREFIX}{name[:2]}/{name}"


def store_document(store: ObjectStore, keyring: Keyring, chunks: Iterable[bytes], *, max_bytes: int,
                   content_type: str | None, expected_sha1: str | None = None,
                   stored_key_of: Callable[[str], str | None] = lambda _sha256: None) -> StoredDocument:
    """Encrypt `chunks` into the store under the digest's key; reuse the object when it exists already.

    `stored_key_of(sha256)` names an object already holding that content (recorded in the database):
    it is reused as is, so content stored under an earlier master key is not stored twice.
    """
    digests = _Digests()
    incoming = f"{DOCUMENT_PREFIX}incoming/{uuid.uuid4().hex}"
    store.put_stream(incoming, encrypt_stream(_metered(chunks, digests, max_bytes), keyring,
                                              context=ENVELOPE_CONTEXT))  # a failure leaves no object
    try:
        if expected_sha1 is not None and base64.b64encode(digests.sha1.digest()).decode() != expected_sha1:
            raise AttachmentFailed("the downloaded bytes do not match the attachment's hash")
        sha256 = digests.sha256.hexdigest()
        known = stored_key_of(sha256)
        key = known if known and store.head(known) is not None else document_key(keyring, sha256)
        deduplicated = store.head(key) is not None
        if deduplicated:
            store.delete(incoming)
        else:
            store.move(incoming, key)
    except BaseException:
        store.delete(incoming)
        raise
    with store.open(key) as sealed:
        header = read_header(sealed)
    return StoredDocument(key, sha256, digests.size, media_type(content_type), envelope_metadata(header),
                          deduplicated)


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
ATTACHMENT_ATTEMPTS = 2  # per attachment and sync: an unreachable host costs seconds, not the export's budget
ATTACHMENT_BACKOFF_CAP = 10.0


def attachment_client(client: BulkDataClient) -> BulkDataClient:
    """The sync's client (same connection pool and cached token) with a short retry budget: a failed
    attachment is tried again next sync anyway."""
    return BulkDataClient(client.base_url, client.auth, http=client.http, sleep=client.sleep,
                          backoff=replace(client.backoff, cap=min(client.backoff.cap, ATTACHMENT_BACKOFF_CAP)),
                          max_transient_errors=ATTACHMENT_ATTEMPTS)


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
    client = attachment_client(client)
    with db.connect(db_url) as conn:
        pending = document_rows.pending_ids(conn, connection_id)
    for number, resource_id in enumerate(pending, 1):
        with db.connect(db_url) as conn:
            resource = document_rows.load_pending(conn, resource_id)
        if resource is None:
            continue
        counts.resources += 1
        stored, complete = [], True
        for attachment in attachments_of(json.loads(resource.raw_data)):
            try:
                with open_attachment(attachment, client, policy) as (kind, chunks):
                    document = store_document(store, keyring, chunks, max_bytes=policy.max_bytes,
                                              content_type=kind, expected_sha1=attachment.sha1,
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
        if number % 50 == 0 or number == len(pending):
            progress(f"attachments: {number}/{len(pending)} resources, {counts.stored} stored, "
                     f"{counts.skipped} skipped, {counts.failed} failed")
    return counts
