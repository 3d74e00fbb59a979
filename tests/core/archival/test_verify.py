"""`verify` walks the hash chain, every object and every record: tampering of any kind is reported."""

from __future__ import annotations

import dataclasses

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import DECRYPT, DIGEST, LIST, Month
from hv_pipelines.core.archival.manifest import ArchiveManifest, manifest_keys
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from tests.core.archival.audit_rows import insert_audit_rows

MONTHS = [Month(2023, 6), Month(2023, 7), Month(2023, 8)]


@pytest.fixture
def archived(migrated_db: str, user_id: str, local_store, keyring) -> list[archival.ArchiveResult]:
    results = []
    for month in MONTHS:
        insert_audit_rows(migrated_db, month, 60, user_id)
        results.append(archival.archive_month(migrated_db, local_store, keyring, month))
    return results


def _verify(url: str, store, keyring, depth: str = DIGEST) -> archival.VerifyReport:
    with db.connect(url) as conn:
        return archival.verify_archives(store, keyring, conn, depth=depth)


def test_an_intact_archive_verifies(archived, migrated_db: str, local_store, keyring) -> None:
    report = _verify(migrated_db, local_store, keyring, DECRYPT)
    assert report.ok and not report.notes
    assert [a.sequence for a in report.archives] == [1, 2, 3] and report.rows_checked == 180


@pytest.mark.parametrize("depth", [DIGEST, DECRYPT])
def test_an_altered_archive_object_breaks_verify(depth: str, archived, migrated_db: str, local_store,
                                                 keyring) -> None:
    path = local_store.root / archived[1].part_keys[0]
    data = bytearray(path.read_bytes())
    data[-40] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(data))

    report = _verify(migrated_db, local_store, keyring, depth)

    assert len(report.problems) == 1 and archived[1].part_keys[0] in report.problems[0]


def test_a_missing_archive_object_breaks_verify(archived, migrated_db: str, local_store, keyring) -> None:
    local_store.delete(archived[0].part_keys[0])
    [problem] = _verify(migrated_db, local_store, keyring).problems
    assert "is missing" in problem


def test_a_deleted_manifest_breaks_the_chain(archived, migrated_db: str, local_store, keyring) -> None:
    local_store.delete(archived[1].manifest_key)

    problems = _verify(migrated_db, local_store, keyring, LIST).problems

    assert any("#2..#2 are missing" in p for p in problems)
    assert any(archived[1].part_keys[0] in p and "no manifest lists" in p for p in problems)


def test_a_resealed_manifest_breaks_the_next_link(archived, migrated_db: str, local_store, keyring) -> None:
    # Even someone holding the key, who re-seals an edited manifest, is caught by the next link.
    key = archived[0].manifest_key
    manifest = ArchiveManifest.open(local_store.read_bytes(key), keyring)
    local_store.put_bytes(key, dataclasses.replace(manifest, row_count=59).seal(keyring))

    problems = _verify(migrated_db, local_store, keyring, LIST).problems

    assert any(archived[1].manifest_key in p and "does not link" in p for p in problems)


def test_a_forged_manifest_fails_authentication(archived, migrated_db: str, local_store, keyring) -> None:
    key = archived[2].manifest_key
    manifest = ArchiveManifest.open(local_store.read_bytes(key), keyring)
    local_store.put_bytes(key, manifest.seal(Keyring.from_hex(generate_hex_key())))
    assert any(p.startswith(f"{key}: ") and ("not in the keyring" in p or "authentication failed" in p)
               for p in _verify(migrated_db, local_store, keyring, LIST).problems)  # it names the manifest


def test_removing_the_newest_archive_entirely_is_caught_by_the_audit_trail(archived, migrated_db: str,
                                                                         local_store, keyring) -> None:
    newest = archived[-1]
    for key in [*newest.part_keys, newest.manifest_key]:
        local_store.delete(key)
    with db.connect(migrated_db) as conn:
        conn.execute("""DELETE FROM audit_log_archives WHERE "storagePath" LIKE %s""",
                     (f"%{newest.part_keys[0]}",))

    problems = _verify(migrated_db, local_store, keyring, LIST).problems

    assert problems == [f"the audit trail records manifest {newest.manifest_key} with SHA-256 "
                        f"{newest.manifest_sha256[:16]}…, but the store has no such manifest"]
    assert manifest_keys(local_store)[-1] == archived[1].manifest_key


def test_an_edited_record_is_caught(archived, migrated_db: str, local_store, keyring) -> None:
    with db.connect(migrated_db) as conn:
        conn.execute("""UPDATE audit_log_archives SET "recordCount" = 1 WHERE "storagePath" LIKE %s""",
                     (f"%{archived[0].part_keys[0]}",))
    [problem] = _verify(migrated_db, local_store, keyring, LIST).problems
    assert "the record was edited" in problem


def test_verify_needs_the_key_the_archives_were_sealed_with(archived, migrated_db: str, local_store) -> None:
    report = _verify(migrated_db, local_store, Keyring.from_hex(generate_hex_key()), LIST)
    assert len(report.problems) == 3 and all("not in the keyring" in p for p in report.problems)


def _delete_record(url: str, part_key: str) -> None:
    with db.connect(url) as conn:
        conn.execute("""DELETE FROM audit_log_archives WHERE "storagePath" LIKE %s""", (f"%{part_key}",))


def _delete_audit_entry(url: str, manifest_key: str) -> None:
    with db.connect(url) as conn:
        conn.execute("DELETE FROM audit_logs WHERE action = 'AUDIT_LOG_ARCHIVE' AND details LIKE %s",
                     (f"%{manifest_key}%",))


def test_a_deleted_archive_record_is_caught_by_the_audit_trail(archived, migrated_db: str, local_store,
                                                               keyring) -> None:
    _delete_record(migrated_db, archived[1].part_keys[0])

    report = _verify(migrated_db, local_store, keyring, LIST)

    assert report.problems == [
        "archive #2 (2023-07) was committed (its AUDIT_LOG_ARCHIVE entry in audit_logs names this manifest) but "
        "audit_log_archives has no row for it: the rows were deleted; its objects are intact, restore the rows "
        "from a backup of audit_log_archives"]
    assert report.problems_for("2023-07") == report.problems and report.problems_for("2023-06") == []


def test_a_deleted_record_and_audit_entry_are_caught_by_the_rows_that_left(archived, migrated_db: str,
                                                                           local_store, keyring) -> None:
    _delete_record(migrated_db, archived[0].part_keys[0])
    _delete_audit_entry(migrated_db, archived[0].manifest_key)

    [problem] = _verify(migrated_db, local_store, keyring, LIST).problems

    assert problem.startswith("archive #1 (2023-06) has neither audit_log_archives rows nor an audit entry, yet "
                              "fewer than its 60 rows are left in audit_logs")


def test_a_deleted_audit_entry_is_caught_by_the_store_and_the_table(archived, migrated_db: str, local_store,
                                                                    keyring) -> None:
    _delete_audit_entry(migrated_db, archived[2].manifest_key)

    [problem] = _verify(migrated_db, local_store, keyring, LIST).problems

    assert problem.startswith("archive #3 (2023-08) has no AUDIT_LOG_ARCHIVE entry in audit_logs") \
        and problem.endswith("the entry was deleted")


def test_a_manifest_copied_over_another_is_caught(archived, migrated_db: str, local_store, keyring) -> None:
    local_store.put_bytes(archived[0].manifest_key, local_store.read_bytes(archived[1].manifest_key))

    report = _verify(migrated_db, local_store, keyring, LIST)

    assert any(p.startswith(f"{archived[0].manifest_key} holds the manifest of #2 (2023-07") for p in report.problems)
    # It counts against the month its key names (what rehydration of 2023-06 consults), not every month.
    assert any("holds the manifest" in p for p in report.problems_for("2023-06"))
    assert not any("holds the manifest" in p for p in report.problems_for("2023-08"))
    assert any("no manifest lists" in p and archived[0].part_keys[0] in p for p in report.problems)
    assert any("does not link to the manifest before it" in p for p in report.problems_for("2023-08"))


def test_a_second_manifest_under_a_number_already_taken_is_caught(archived, migrated_db: str, local_store,
                                                                   keyring) -> None:
    """Manifest #2 copied to another #2 key (ids `ffffffff` sort after every real one): the chain names the
    second #2, and that copy answers for another key; the real #2 and #3 still link."""
    second = archived[1].manifest_key.rsplit("-", 1)[0] + "-ffffffff.json"
    local_store.put_bytes(second, local_store.read_bytes(archived[1].manifest_key))

    report = _verify(migrated_db, local_store, keyring, LIST)

    assert f"{second}: a second manifest numbered #2" in report.problems
    assert (f"{second} holds the manifest of #2 (2023-07, {archived[1].manifest_key}): it was copied or renamed "
            "over another; that key's own manifest is gone") in report.problems
    assert not any("does not link" in p for p in report.problems)


def test_parts_claimed_by_a_forged_or_a_misplaced_manifest_are_not_called_orphans(archived, migrated_db: str,
                                                                                   local_store, keyring) -> None:
    """#2 forged (sealed with another key) and #1 copied over #3: #2's records are claimed by a manifest that
    fails authentication, #1's by two; only #3's records, whose manifest is gone, are listed by none."""
    forged = ArchiveManifest.open(local_store.read_bytes(archived[1].manifest_key), keyring)
    local_store.put_bytes(archived[1].manifest_key, forged.seal(Keyring.from_hex(generate_hex_key())))
    local_store.put_bytes(archived[2].manifest_key, local_store.read_bytes(archived[0].manifest_key))

    orphans = [p for p in _verify(migrated_db, local_store, keyring, LIST).problems if "no manifest lists" in p]

    assert len(orphans) == len(archived[2].part_keys)
    assert all(any(part in p for p in orphans) for part in archived[2].part_keys)
