"""Encrypted document objects in the store: one per content, named by a keyed hash of its SHA-256.

The plaintext streams through SHA-256 (and SHA-1, for the FHIR Attachment's `hash`) and the size cap
into the envelope (`core.envelope`, sealed as `ehr-document`) and up to the store under a temporary
key. Once the digest is known the object is published as `documents/<xx>/<name>` — the name a keyed
hash of the digest, so a bucket listing reveals nothing about the content — or dropped when that
content is stored already. Nothing is written to local disk.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hv_pipelines.core.envelope import EnvelopeHeader, encrypt_stream, read_header
from hv_pipelines.core.errors import HVError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore
from hv_pipelines.core.units import human_size

DOCUMENT_PREFIX = "documents/"
ENVELOPE_CONTEXT = "ehr-document"


class AttachmentRefused(HVError):
    """The policy refuses the attachment (size or type): skipped, with the reason recorded."""


class AttachmentFailed(HVError):
    """Fetching or storing the attachment failed: it is tried again next sync."""


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
    return StoredDocument(key, sha256, digests.size, content_type, envelope_metadata(header),
                          deduplicated)
