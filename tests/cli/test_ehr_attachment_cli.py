"""`hv ehr sync` stores attachments in HV_OBJECT_STORE_URL; `hv ehr attachment get` decrypts one for an
operator: the bytes the EHR served, audited — and nothing at all when the object is not the one recorded."""

from __future__ import annotations

import base64
import os
import shutil

import pytest

from hv_pipelines.core.keyring import Keyring, generate_hex_key
from tests.core.fhir_ingest.test_attachments import PDF, document, patient
from tests.fakes.ehr_bulk_server import FakeBulkDataServer
from tests.fakes.ehr_fixtures import create_connection, create_user, rows, scalar

SCAN = b"\x89PNG\r\n\x1a\n" + os.urandom(1200)


@pytest.fixture
def hv(run_hv):
    return lambda *args, env: run_hv("ehr", *args, env=env)


def test_sync_stores_and_get_decrypts_the_served_bytes_audited(migrated_db, hv, tmp_path):
    master = generate_hex_key()
    objects = tmp_path / "objects"
    env = {"DATABASE_URL": migrated_db, "ENCRYPTION_KEY": master, "HV_OBJECT_STORE_URL": objects.as_uri()}
    create_user(migrated_db)
    with FakeBulkDataServer([], open_access=True, requires_access_token=False) as server:
        server.binaries = {"bin-pdf": ("application/pdf", PDF)}
        server.resources = [patient(),
                            document("doc-1", {"contentType": "application/pdf", "url": "Binary/bin-pdf"}),
                            document("doc-2", {"contentType": "image/png", "data": base64.b64encode(SCAN).decode()}),
                            document("doc-gone", {"contentType": "application/pdf", "url": "Binary/gone"})]
        connection_id = create_connection(migrated_db, Keyring.from_hex(master), server, private_pem=None)
        synced = hv("sync", connection_id, "--validation-workers", "0", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "attachments: 2 stored (0 already held)" in synced.stdout
    assert "1 failed — failed ones are tried again next sync" in synced.stdout

    status = hv("status", connection_id, env=env)
    gone = scalar(migrated_db, "SELECT id FROM fhir_resources WHERE fhir_id = 'doc-gone'")
    assert "attachments: 1 resources not downloaded yet" in status.stdout
    assert f"failed {gone} attachment 0: " in status.stdout and "answered 404" in status.stdout

    doc_1, doc_2 = (scalar(migrated_db, "SELECT id FROM fhir_resources WHERE fhir_id = %s", f) for f in
                    ("doc-1", "doc-2"))
    out = tmp_path / "export" / "doc-1.pdf"
    out.parent.mkdir()
    got = hv("attachment", "get", doc_1, "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == PDF and "verified, audited" in got.stdout
    assert scalar(migrated_db, 'SELECT "accessCount" FROM secure_files WHERE "fileSize" = %s', len(PDF)) == 1
    assert rows(migrated_db, "SELECT resource_id FROM audit_logs WHERE action = 'EHR_ATTACHMENT_DECRYPTED'") == [
        (doc_1,)]

    again = hv("attachment", "get", doc_1, "--out", str(out), env=env)
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "exists" in again.stderr

    # An authentic object put in another's place decrypts fine, but is not what this resource recorded.
    key_1, key_2 = (scalar(migrated_db, "SELECT local_file_path FROM fhir_resources WHERE id = %s", i)
                    for i in (doc_1, doc_2))
    shutil.copyfile(objects / key_2, objects / key_1)
    swapped = tmp_path / "export" / "swapped.pdf"
    refused = hv("attachment", "get", doc_1, "--out", str(swapped), env=env)
    assert refused.returncode == 1 and "does not match the SHA-256" in refused.stderr
    assert not swapped.exists() and sorted(p.name for p in out.parent.iterdir()) == ["doc-1.pdf"]
    assert scalar(migrated_db, "SELECT count(*) FROM audit_logs WHERE action = 'EHR_ATTACHMENT_DECRYPT_FAILED'") == 1

    missing = hv("attachment", "get", "no-such-resource", "--out", str(tmp_path / "x"), env=env)
    assert missing.returncode == 1 and "has no stored attachment 0" in missing.stderr
