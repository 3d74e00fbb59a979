"""A crash at any step leaves the rows in audit_logs or a verified archive with its record — never neither.

Each test stops a run at one step (raising a BaseException, as a kill would unwind the stack),
checks that no row is lost, and re-runs to completion.
"""

from __future__ import annotations

import pytest

from hv_pipelines.core import archival, db
from hv_pipelines.core.archival import DECRYPT, ArchiveOptions, Month
from hv_pipelines.core.archival import archive as archive_module
from hv_pipelines.core.archival.manifest import manifest_keys
from hv_pipelines.core.errors import IntegrityError
from tests.core.archival.audit_rows import count_rows, insert_audit_rows, month_rows

MONTH = Month(2023, 3)


class Crash(BaseException):
    """Not an Exception: no handler on the way up may swallow it."""


def _crash(*args, **kwargs):
    raise Crash()


def _after(real):
    def run_then_crash(*args, **kwargs):
        real(*args, **kwargs)
        raise Crash()
    return run_then_crash


def _records(url: str) -> int:
    with db.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM audit_log_archives").fetchone()[0]


def _verify(url: str, store, keyring) -> archival.VerifyReport:
    with db.connect(url) as conn:
        return archival.verify_archives(store, keyring, conn, depth=DECRYPT)


CRASH_POINTS = {
    # step that raises           -> what the re-run does with the work already done
    "publish_manifest": ("replace", "archived"),          # parts uploaded, no manifest yet
    "read_archive": ("replace", "resumed"),               # manifest written, before the read-back
    "delete_archived_rows": ("replace", "resumed"),       # in the commit transaction, before the delete
    "during_delete": ("after", "resumed"),                # the delete ran, the transaction did not commit
    "write_audit_entry": ("replace", "resumed"),          # last statement of the commit transaction
}


@pytest.mark.parametrize("step", CRASH_POINTS)
def test_crash_before_the_commit_loses_nothing_and_reruns_clean(
        step: str, migrated_db: str, user_id: str, local_store, keyring, monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 300, user_id)
    originals = month_rows(migrated_db, MONTH)
    how, rerun_status = CRASH_POINTS[step]
    target = "delete_archived_rows" if step == "during_delete" else step
    real = getattr(archive_module, target)
    with monkeypatch.context() as patch:
        patch.setattr(archive_module, target, _after(real) if how == "after" else _crash)
        with pytest.raises(Crash):
            archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert month_rows(migrated_db, MONTH) == originals and _records(migrated_db) == 0

    result = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert result.status == rerun_status and result.rows == 300
    assert count_rows(migrated_db, MONTH) == 0 and _records(migrated_db) == 1
    # a resumed run reuses the uploaded archive instead of writing a second one
    assert len(manifest_keys(local_store)) == 1
    report = _verify(migrated_db, local_store, keyring)
    assert report.ok, report.problems
    if step == "publish_manifest":
        assert any("listed by no manifest" in note for note in report.notes)  # the orphaned part
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    assert month_rows(migrated_db, MONTH, table) == originals


def test_crash_after_the_commit_leaves_a_verified_archive(migrated_db: str, user_id: str, local_store, keyring,
                                                          monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 100, user_id)
    originals = month_rows(migrated_db, MONTH)
    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "vacuum_audit_logs", _crash)
        with pytest.raises(Crash):
            archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert count_rows(migrated_db, MONTH) == 0 and _records(migrated_db) == 1
    assert _verify(migrated_db, local_store, keyring).ok
    assert archival.archive_month(migrated_db, local_store, keyring, MONTH).status == "nothing_to_archive"
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    assert month_rows(migrated_db, MONTH, table) == originals


def test_crash_mid_upload_leaves_no_partial_object(migrated_db: str, user_id: str, local_store, keyring,
                                                   monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 2000, user_id)
    originals = month_rows(migrated_db, MONTH)
    real_put = local_store.put_stream
    calls = []

    def crash_in_second_part(key, chunks, **kwargs):
        calls.append(key)
        if len(calls) == 2:
            next(iter(chunks))
            raise Crash()
        return real_put(key, chunks, **kwargs)

    options = ArchiveOptions(part_limit=50_000, row_group_rows=200)
    with monkeypatch.context() as patch:
        patch.setattr(local_store, "put_stream", crash_in_second_part)
        with pytest.raises(Crash):
            archival.archive_month(migrated_db, local_store, keyring, MONTH, options=options)

    assert month_rows(migrated_db, MONTH) == originals
    assert [o.key for o in local_store.list()] == [calls[0]]  # only the finished first part
    result = archival.archive_month(migrated_db, local_store, keyring, MONTH, options=options)
    assert result.rows == 2000 and len(result.part_keys) >= 2 and count_rows(migrated_db, MONTH) == 0


def test_a_row_changed_after_export_aborts_the_delete(migrated_db: str, user_id: str, local_store, keyring,
                                                      monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 50, user_id)
    changed_id = month_rows(migrated_db, MONTH)[7][0]
    real_read = archive_module.read_archive

    def review_during_read_back(*args, **kwargs):
        with db.connect(migrated_db) as conn:  # the application marks a row reviewed meanwhile
            conn.execute("UPDATE audit_logs SET reviewed = true, review_notes = 'checked' WHERE id = %s",
                         (changed_id,))
        return real_read(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "read_archive", review_during_read_back)
        with pytest.raises(IntegrityError, match="archived rows changed or vanished in audit_logs since they were exported \\(updated or deleted meanwhile\\)"):
            archival.archive_month(migrated_db, local_store, keyring, MONTH)

    current = month_rows(migrated_db, MONTH)
    assert len(current) == 50 and _records(migrated_db) == 0
    result = archival.archive_month(migrated_db, local_store, keyring, MONTH)
    assert result.status == "archived" and result.sequence == 2  # the stale archive is not resumed
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    restored = {row[0]: row for row in month_rows(migrated_db, MONTH, table)}
    assert restored[changed_id][11] is True and restored[changed_id][14] == "checked"
    assert sorted(restored.values()) == sorted(current)


def test_a_row_written_into_the_month_during_the_run_stays_for_the_next(
        migrated_db: str, user_id: str, local_store, keyring, monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 40, user_id)
    archived = month_rows(migrated_db, MONTH)
    real_read = archive_module.read_archive

    def late_writer_during_read_back(*args, **kwargs):
        insert_audit_rows(migrated_db, MONTH, 1, user_id, start=40)  # commits while the run is in flight
        return real_read(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "read_archive", late_writer_during_read_back)
        first = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    [late] = month_rows(migrated_db, MONTH)
    assert first.rows == 40 and late not in archived
    second = archival.archive_month(migrated_db, local_store, keyring, MONTH)
    assert (second.kind, second.rows) == ("supplementary", 1) and count_rows(migrated_db, MONTH) == 0


def test_an_altered_uncommitted_archive_is_not_resumed(migrated_db: str, user_id: str, local_store, keyring,
                                                      monkeypatch) -> None:
    insert_audit_rows(migrated_db, MONTH, 80, user_id)
    originals = month_rows(migrated_db, MONTH)
    with monkeypatch.context() as patch:
        patch.setattr(archive_module, "read_archive", _crash)
        with pytest.raises(Crash):
            archival.archive_month(migrated_db, local_store, keyring, MONTH)
    [part] = [o.key for o in local_store.list("audit-archive/2023-03/")]
    path = local_store.root / part
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))

    result = archival.archive_month(migrated_db, local_store, keyring, MONTH)

    assert result.status == "archived" and result.sequence == 2
    assert any("did not resume" in note for note in result.notes)
    table = archival.rehydrate_month(migrated_db, local_store, keyring, MONTH).table
    assert month_rows(migrated_db, MONTH, table) == originals
    problems = _verify(migrated_db, local_store, keyring).problems
    assert len(problems) == 1 and "00000001" in problems[0]  # the tampering stays on record
