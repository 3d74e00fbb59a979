"""Attachments in a whole sync, on real HTTP (the fake FHIR server, and a second one on another port as
a foreign origin) and real PostgreSQL: what is fetched, with whose token, what is refused, what is
stored (encrypted, once per content) and recorded, and what a failure leaves for the next sync."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.audit_trail import system_user_id
from hv_pipelines.core.fhir_ingest import SyncOptions, run_sync
from hv_pipelines.core.fhir_ingest.attachments import AttachmentPolicy
from hv_pipelines.core.fhir_ingest.document_export import decrypt_attachment
from hv_pipelines.schema import access
from tests.fakes.ehr_bulk_server import FakeBulkDataServer
from tests.fakes.ehr_fixtures import fast_client_factory, rows, sample_resources, scalar

PDF = b"%PDF-1.7\n" + os.urandom(3000) + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
FAR = b"%PDF-1.4 held elsewhere\n" + os.urandom(1500)
NOTE = b"Progress note: patient doing well.\n" * 20


def document(doc_id: str, *attachments: dict, kind: str = "DocumentReference") -> dict:
    if kind == "DiagnosticReport":
        return {"resourceType": kind, "id": doc_id, "status": "final", "code": {"text": "Lab report"},
                "subject": {"reference": "Patient/pat-a"}, "presentedForm": list(attachments)}
    return {"resourceType": kind, "id": doc_id, "status": "current", "type": {"text": "Clinical note"},
            "subject": {"reference": "Patient/pat-a"}, "date": "2024-05-01T10:00:00Z",
            "content": [{"attachment": a} for a in attachments]}


def patient() -> dict:
    return next(r for r in sample_resources() if r["resourceType"] == "Patient" and r["id"] == "pat-a")


@pytest.fixture
def foreign():
    with FakeBulkDataServer([], open_access=True) as server:
        yield server


def sync(db_url, connection_id, keyring, store, **policy):
    return run_sync(db_url, connection_id, keyring, SyncOptions(), client_factory=fast_client_factory(keyring),
                    store=store, policy=AttachmentPolicy(**policy))


def stored(db_url: str) -> dict[str, tuple]:
    return {fhir_id: tuple(rest) for fhir_id, *rest in rows(
        db_url, """SELECT fhir_id, document_downloaded, local_file_path, content_size, content_type
                   FROM fhir_resources WHERE resource_type IN ('DOCUMENT_REFERENCE', 'DIAGNOSTIC_REPORT')""")}


def objects(store) -> list[str]:
    return [o.key for o in store.list("documents/")]


def test_inline_relative_absolute_and_foreign_attachments_are_stored_encrypted_once_each(
        migrated_db, keyring, ehr_server, foreign, connection_id, local_store, tmp_path):
    ehr_server.binaries = {"bin-pdf": ("application/pdf", PDF), "bin-png": ("image/png", PNG)}
    ehr_server.redirects = {"bin-moved": f"{foreign.base_url}/Binary/bin-far"}
    foreign.binaries = {"bin-far": ("application/pdf", FAR)}
    ehr_server.resources = [patient(),
                            document("doc-inline", {"contentType": "text/plain", "title": "note.txt",
                                                    "data": base64.b64encode(NOTE).decode()}),
                            document("doc-relative", {"contentType": "application/pdf", "url": "Binary/bin-pdf"}),
                            document("doc-absolute", {"contentType": "image/png",
                                                      "url": f"{ehr_server.base_url}/Binary/bin-png"}),
                            document("doc-foreign", {"contentType": "application/pdf",
                                                     "url": f"{foreign.base_url}/Binary/bin-far"}),
                            document("doc-redirected", {"contentType": "application/pdf", "url": "Binary/bin-moved"}),
                            document("dr-1", {"contentType": "application/pdf", "url": "Binary/bin-pdf"},
                                     kind="DiagnosticReport")]

    outcome = sync(migrated_db, connection_id, keyring, local_store, private_hosts=True).attachments

    assert (outcome.stored, outcome.deduplicated, outcome.skipped, outcome.failed) == (6, 2, 0, 0)
    served = {"doc-inline": NOTE, "doc-relative": PDF, "doc-absolute": PNG, "doc-foreign": FAR,
              "doc-redirected": FAR, "dr-1": PDF}
    documents = stored(migrated_db)
    assert set(documents) == set(served)
    for fhir_id, content in served.items():
        downloaded, key, size, content_type = documents[fhir_id]
        assert downloaded and key.startswith("documents/") and size == len(content)
        assert content_type == ("text/plain" if content is NOTE else "image/png" if content is PNG
                                else "application/pdf")
        assert hashlib.sha256(content).hexdigest() not in key  # names reveal nothing about the content
    assert documents["doc-relative"][1] == documents["dr-1"][1]  # one object per content

    keys = objects(local_store)
    assert len(keys) == 4 and not any("incoming" in k for k in keys)
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert all(content[:40] not in on_disk for content in served.values())  # no plaintext anywhere

    # The token went to the FHIR server's origin only: never to the foreign host, even through a redirect.
    assert ehr_server.auth_seen and all(auth and auth.startswith("Bearer ") for _p, auth in ehr_server.auth_seen)
    assert len(foreign.auth_seen) == 2 and all(auth is None for _p, auth in foreign.auth_seen)

    files = rows(migrated_db, """SELECT "fileHash", "fileSize", encrypted, "encryptionMetadata",
                                        "storagePath", category FROM secure_files""")
    assert sorted(f[0] for f in files) == sorted({hashlib.sha256(c).hexdigest() for c in served.values()})
    envelope = json.loads(files[0][3]) if isinstance(files[0][3], str) else files[0][3]
    assert files[0][2] and envelope["masterKeyId"] == keyring.active_key_id and envelope["context"] == "ehr-document"
    assert {f[4] for f in files} == set(keys) and {f[5] for f in files} == {"ehr-document"}
    assert rows(migrated_db, "SELECT count(*), count(DISTINCT file_path), min(status), max(status) "
                             "FROM documents") == [(6, 4, "pending", "pending")]
    assert scalar(migrated_db, "SELECT documents_downloaded FROM sync_history") == 6

    audits = [json.loads(d) for (d,) in rows(migrated_db, "SELECT details FROM audit_logs "
                                                          "WHERE action = 'EHR_ATTACHMENT_STORED'")]
    assert len(audits) == 6 and {a["sha256"] for a in audits} == {f[0] for f in files}
    assert "Progress note" not in json.dumps(audits)

    again = sync(migrated_db, connection_id, keyring, local_store, private_hosts=True).attachments
    assert again.resources == 0 and len(objects(local_store)) == 4  # nothing pending, nothing fetched twice


def test_a_foreign_host_on_a_private_address_is_never_asked_by_default(migrated_db, keyring, ehr_server, foreign,
                                                                      connection_id, local_store):
    """A loopback (private, link-local: a cloud metadata service) foreign host is refused on the first
    request and on a redirect hop: a resource's URL must not turn the pipeline into a proxy."""
    foreign.binaries = {"bin-far": ("text/plain", b"instance credentials")}
    ehr_server.redirects = {"bin-moved": f"{foreign.base_url}/Binary/bin-far"}
    ehr_server.resources = [patient(),
                            document("doc-foreign", {"contentType": "text/plain",
                                                     "url": f"{foreign.base_url}/Binary/bin-far"}),
                            document("doc-redirected", {"contentType": "text/plain", "url": "Binary/bin-moved"})]

    outcome = sync(migrated_db, connection_id, keyring, local_store).attachments

    assert (outcome.stored, outcome.skipped, outcome.failed) == (0, 2, 0)
    assert dict(outcome.skip_reasons) == {"foreign host on a non-public address": 2}
    assert foreign.auth_seen == [] and len(ehr_server.auth_seen) == 1  # the FHIR origin's redirect only
    assert objects(local_store) == []


def test_oversize_and_disallowed_attachments_are_skipped_with_a_reason(migrated_db, keyring, ehr_server,
                                                                       connection_id, local_store):
    big = os.urandom(20_000)
    ehr_server.binaries = {"big-declared": ("application/pdf", big), "big-length": ("application/pdf", big),
                           "big-unsized": ("application/pdf", big), "exe": ("application/x-msdownload", b"MZ"),
                           "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42")}
    ehr_server.unsized = {"big-unsized"}
    ehr_server.resources = [patient(),
                            document("d1", {"contentType": "application/pdf", "url": "Binary/big-declared",
                                            "size": 20_000}),
                            document("d2", {"contentType": "application/pdf", "url": "Binary/big-length"}),
                            document("d3", {"contentType": "application/pdf", "url": "Binary/big-unsized"}),
                            document("d4", {"contentType": "application/x-msdownload", "url": "Binary/exe"}),
                            document("d5", {"url": "Binary/video"}),
                            document("d6", {"contentType": "text/plain",
                                            "data": base64.b64encode(big).decode()})]

    outcome = sync(migrated_db, connection_id, keyring, local_store, max_bytes=10_000).attachments

    assert (outcome.stored, outcome.skipped, outcome.failed) == (0, 6, 0)
    assert dict(outcome.skip_reasons) == {"larger than the 10.0 KB cap": 4,
                                          "content type application/x-msdownload is not on the allowlist": 1,
                                          "content type video/mp4 is not on the allowlist": 1}
    assert ehr_server.downloads["big-declared"] == 0 and ehr_server.downloads["exe"] == 0  # not even asked
    assert objects(local_store) == [] and not any(v[0] for v in stored(migrated_db).values())
    assert scalar(migrated_db, "SELECT count(*) FROM secure_files") == 0
    history = rows(migrated_db, "SELECT status::text, error_details FROM sync_history")[0]
    assert history[0] == "COMPLETED" and json.loads(history[1])["attachments"]["skipped"] == 6


def test_a_failed_attachment_does_not_fail_the_sync_and_is_fetched_by_the_next(migrated_db, keyring, ehr_server,
                                                                              connection_id, local_store):
    ehr_server.binaries = {"tampered": ("application/pdf", PDF)}
    ehr_server.resources = [patient(),
                            document("doc-later", {"contentType": "application/pdf", "url": "Binary/later"}),
                            document("doc-tampered", {"contentType": "application/pdf", "url": "Binary/tampered",
                                                      "hash": base64.b64encode(hashlib.sha1(b"other").digest())
                                                      .decode()})]

    first = sync(migrated_db, connection_id, keyring, local_store).attachments

    assert (first.stored, first.failed) == (0, 2)
    reasons = {f["reason"] for f in first.failures}
    assert any("answered 404" in r for r in reasons) and "the downloaded bytes do not match the attachment's hash" in reasons
    assert objects(local_store) == []  # the mismatching download was dropped, not kept
    assert rows(migrated_db, "SELECT status::text FROM sync_history") == [("COMPLETED",)]
    details = json.loads(scalar(migrated_db, "SELECT error_details FROM sync_history"))
    assert details["attachments"]["failed"] == 2

    ehr_server.binaries["later"] = ("application/pdf", FAR)
    second = sync(migrated_db, connection_id, keyring, local_store).attachments

    assert (second.stored, second.failed) == (1, 1)  # the unchanged resource is tried again, not re-exported
    assert stored(migrated_db)["doc-later"][:2] == (True, objects(local_store)[0])


def test_a_changed_document_gets_its_new_file_and_keeps_the_old_one_until_then(migrated_db, keyring, ehr_server,
                                                                              connection_id, local_store):
    ehr_server.binaries = {"bin-1": ("application/pdf", PDF)}
    doc = document("doc-1", {"contentType": "application/pdf", "url": "Binary/bin-1"})
    doc["meta"] = {"versionId": "1", "lastUpdated": "2024-05-01T10:00:00Z"}
    ehr_server.resources = [patient(), doc]
    sync(migrated_db, connection_id, keyring, local_store)
    first_key = stored(migrated_db)["doc-1"][1]
    rows(migrated_db, "UPDATE documents SET status = 'processed' RETURNING id")  # the platform's OCR ran

    ehr_server.binaries["bin-2"] = ("application/pdf", FAR)
    doc["content"][0]["attachment"]["url"] = "Binary/bin-2"
    doc["meta"] = {"versionId": "2", "lastUpdated": "2099-01-01T00:00:00Z"}
    outcome = sync(migrated_db, connection_id, keyring, local_store).attachments

    assert outcome.stored == 1
    downloaded, key, size, _type = stored(migrated_db)["doc-1"]
    assert downloaded and key != first_key and size == len(FAR)
    assert rows(migrated_db, "SELECT file_path, status FROM documents") == [(key, "pending")]  # processed again
    assert sorted(objects(local_store)) == sorted([first_key, key])  # the old file is not deleted


def test_a_large_attachment_dropped_mid_way_resumes_with_range(migrated_db, keyring, ehr_server, connection_id,
                                                              local_store):
    large = os.urandom(400_000)
    ehr_server.ranges, ehr_server.drops = True, {"bin-large": 1}
    ehr_server.binaries = {"bin-large": ("application/pdf", large)}
    ehr_server.resources = [patient(), document("doc-large", {"contentType": "application/pdf",
                                                              "url": "Binary/bin-large"})]

    outcome = sync(migrated_db, connection_id, keyring, local_store).attachments

    assert outcome.stored == 1 and ehr_server.range_requests[0] not in ("bytes=0-", None)
    assert ehr_server.downloads["bin-large"] == 2
    assert scalar(migrated_db, 'SELECT "fileHash" FROM secure_files') == hashlib.sha256(large).hexdigest()


def test_the_ehr_ingest_login_may_write_everything_attachments_write(migrated_db, login_url, keyring, ehr_server,
                                                                     connection_id, local_store):
    ehr_server.binaries = {"bin-pdf": ("application/pdf", PDF)}
    ehr_server.resources = [patient(), document("doc-1", {"contentType": "application/pdf", "url": "Binary/bin-pdf"})]
    rows(migrated_db, "INSERT INTO customers (id, user_id) SELECT 'cust-1', id FROM users RETURNING id")
    with db.connect(migrated_db) as conn:
        system_user_id(conn)  # the seed's service account, which audit entries point at

    outcome = sync(login_url(access.EHR_INGEST), connection_id, keyring, local_store).attachments

    assert (outcome.stored, outcome.failed) == (1, 0)
    assert rows(migrated_db, 'SELECT "customerId" FROM secure_files') == [("cust-1",)]
    assert rows(migrated_db, "SELECT customer_id FROM documents") == [("cust-1",)]


def test_decrypt_round_trip_equals_the_served_bytes(migrated_db, keyring, ehr_server, connection_id, any_store,
                                                   tmp_path):
    ehr_server.binaries = {"bin-pdf": ("application/pdf", PDF)}
    ehr_server.resources = [patient(), document("doc-1", {"contentType": "application/pdf", "url": "Binary/bin-pdf"},
                                                {"contentType": "text/plain", "data": base64.b64encode(NOTE).decode()})]
    sync(migrated_db, connection_id, keyring, any_store)
    resource_id = scalar(migrated_db, "SELECT id FROM fhir_resources WHERE fhir_id = 'doc-1'")

    first = decrypt_attachment(migrated_db, any_store, keyring, resource_id, tmp_path / "out.pdf")
    second = decrypt_attachment(migrated_db, any_store, keyring, resource_id, tmp_path / "out.txt", index=1)

    assert (tmp_path / "out.pdf").read_bytes() == PDF and first.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "out.txt").read_bytes() == NOTE and second.content_type == "text/plain"
    assert scalar(migrated_db, 'SELECT sum("accessCount") FROM secure_files') == 2
    assert scalar(migrated_db, "SELECT count(*) FROM audit_logs WHERE action = 'EHR_ATTACHMENT_DECRYPTED'") == 2
