"""Decrypting one stored attachment for an operator (`hv ehr attachment get`), audited.

The plaintext is written into an unnamed file (O_TMPFILE) in the target's directory and linked to
the requested name only after every chunk authenticated and the content's SHA-256 and size equal
what `secure_files` recorded for this resource: a crash, a tampered or swapped object leaves no file
behind, and no partial plaintext ever carries a name.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.envelope import open_stream
from hv_pipelines.core.errors import HVError, IntegrityError
from hv_pipelines.core.fhir_ingest import document_rows
from hv_pipelines.core.fhir_ingest.document_store import ENVELOPE_CONTEXT
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.storage import ObjectStore


@dataclass(frozen=True)
class DecryptedDocument:
    path: Path
    size: int
    sha256: str
    content_type: str | None


def _link_verified(chunks: Iterable[bytes], target: Path, *, sha256: str, size: int) -> None:
    """Write `chunks` to an unnamed file beside `target`; name it only if digest and size match."""
    try:
        fd = os.open(target.parent, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except (OSError, AttributeError):
        raise HVError(f"{target.parent} cannot hold an unnamed file (O_TMPFILE): choose --out on a local "
                      "Linux file system") from None
    with os.fdopen(fd, "wb") as out:
        digest, written = hashlib.sha256(), 0
        for chunk in chunks:
            digest.update(chunk)
            written += len(chunk)
            out.write(chunk)
        if digest.hexdigest() != sha256 or written != size:
            raise IntegrityError("the decrypted attachment does not match the SHA-256 and size recorded for "
                                 "this resource: the object was replaced; nothing was written")
        out.flush()
        os.fsync(out.fileno())
        directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:  # a directory fd makes Python call linkat(AT_SYMLINK_FOLLOW), which names the unnamed file
            os.link(f"/proc/self/fd/{out.fileno()}", target.name, dst_dir_fd=directory, follow_symlinks=True)
        except FileExistsError:
            raise HVError(f"{target} exists: choose another --out or remove it") from None
        finally:
            os.close(directory)


def decrypt_attachment(db_url: str, store: ObjectStore, keyring: Keyring, resource_id: str, target: Path, *,
                       index: int = 0) -> DecryptedDocument:
    """Decrypt attachment `index` of fhir_resources row `resource_id` into `target`, audited."""
    target = target.absolute()
    if target.exists():
        raise HVError(f"{target} exists: choose another --out or remove it")
    with db.connect(db_url) as conn:
        found = document_rows.stored_file(conn, resource_id, index)
    if found is None:
        raise HVError(f"resource {resource_id} has no stored attachment {index}: check the id (fhir_resources.id), "
                      "the attachment's position, and `hv ehr status` for attachments not downloaded yet")
    details = {"resourceId": resource_id, "attachment": index, "secureFileId": found.secure_file_id,
               "objectKey": found.key, "sha256": found.sha256, "bytes": found.size,
               "operator": getpass.getuser()}
    try:
        with store.open(found.key) as sealed:
            _header, chunks = open_stream(sealed, keyring, context=ENVELOPE_CONTEXT)
            _link_verified(chunks, target, sha256=found.sha256, size=found.size)
    except HVError as exc:
        with db.connect(db_url) as conn:
            document_rows.record_access(conn, found.secure_file_id, details, error=type(exc).__name__)
        raise
    with db.connect(db_url) as conn:
        document_rows.record_access(conn, found.secure_file_id, details)
    return DecryptedDocument(target, found.size, found.sha256, found.content_type)
