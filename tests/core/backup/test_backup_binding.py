"""A backup is bound to its id: an authentic manifest or object copied over another backup's is refused,
before a byte reaches pg_restore, and the target is left exactly as it was (issue 24 items 1-3)."""

from __future__ import annotations

import dataclasses
import io
import shutil

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.backup import (
    catalog,
    create_backup,
    layout,
    list_backups,
    restore_backup,
    verify_against,
    verify_backup,
)
from hv_pipelines.core.backup.inventory import BackupNotFound
from hv_pipelines.core.envelope import TAG_SIZE, encrypt_stream, open_stream, read_header
from hv_pipelines.core.errors import IntegrityError
from hv_pipelines.core.keyring import key_id_of
from hv_pipelines.core.storage import LocalStore
from tests.core.backup.conftest import add_sample_rows, database_from_template
from tests.core.backup.faulty_stores import ChangingStore, CountingStore

CHUNK = 64 * 1024
BULK_ROWS = 40_000  # ~3 MB of table data: dozens of chunks, so a late one arrives after pg_restore's DDL


@pytest.fixture(scope="module")
def two_backups(pg_server_url, migrated_template, module_keyring, tmp_path_factory):
    """Backups A and B of one database, B taken after 5 more security configurations were added."""
    name, url = database_from_template(pg_server_url, migrated_template, "hv_source")
    try:
        add_sample_rows(url, BULK_ROWS)
        store = LocalStore(tmp_path_factory.mktemp("two-backups"))
        a = create_backup(url, store, module_keyring, chunk_size=CHUNK).manifest
        with db.connect(url) as conn:
            conn.execute("INSERT INTO security_configurations (id, key, category, value, \"valueType\", \"updatedAt\") "
                         "SELECT 'extra-' || g, 'extra.' || g, 'test', '{}'::jsonb, 'json', now() "
                         "FROM generate_series(1, 5) AS g")
        b = create_backup(url, store, module_keyring, chunk_size=CHUNK).manifest
    finally:
        db.drop_database(pg_server_url, name)
    assert a.table_rows["public.security_configurations"] == 40 and b.table_rows["public.security_configurations"] == 45
    return a, b, store


@pytest.fixture
def backups(two_backups, module_keyring, tmp_path):
    """A and B in a store of this test's own, free to damage, and the keyring."""
    a, b, store = two_backups
    shutil.copytree(store.root, tmp_path / "objects")
    return a, b, LocalStore(tmp_path / "objects"), module_keyring


def path_of(store: LocalStore, key: str):
    return store.root / key


def manifest_path(store: LocalStore, manifest):
    return path_of(store, layout.manifest_key(manifest.database, manifest.backup_id))


def state_of(url: str) -> tuple[dict[str, int], str]:
    with db.connect(url) as conn:
        return catalog.row_counts(conn), catalog.schema_fingerprint(conn)


def assert_empty(url: str) -> None:
    with db.connect(url) as conn:
        assert catalog.is_empty(conn), "a refused restore must leave the target as it was"


@pytest.fixture
def live_target(other_migrated_db):
    """A non-empty target with rows of its own (what `--force` would overwrite), and its state before."""
    with db.connect(other_migrated_db) as conn:
        conn.execute("INSERT INTO security_configurations (id, key, category, value, \"valueType\", \"updatedAt\") "
                     "VALUES ('live-1', 'live.setting', 'prod', '{}'::jsonb, 'json', now())")
    return other_migrated_db, state_of(other_migrated_db)


def reseal_manifest(store: LocalStore, keyring, manifest, **changes) -> None:
    """Overwrite a manifest with an authentic one (sealed by the key holder) that says something else."""
    changed = dataclasses.replace(manifest, **changes)
    manifest_path(store, manifest).write_bytes(changed.seal(keyring))


def test_a_manifest_copied_over_another_backups_is_refused_by_verify_restore_and_list(backups, empty_db):
    a, b, store, keyring = backups
    shutil.copyfile(manifest_path(store, a), manifest_path(store, b))  # cp A.manifest.json B.manifest.json

    with pytest.raises(IntegrityError, match=f"authentic manifest of backup {a.backup_id} .*copied here"):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match="copied here"):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)
    states = {e.backup_id: (e.status, e.manifest) for e in list_backups(store, keyring)}
    assert states[a.backup_id] == ("ok", a)
    assert states[b.backup_id] == ("unauthentic", None)


def test_a_dump_copied_over_another_backups_is_refused_before_pg_restore(backups, empty_db):
    a, b, store, keyring = backups
    shutil.copyfile(path_of(store, a.object_key), path_of(store, b.object_key))  # cp A.dump.enc B.dump.enc

    refusal = f"sealed as 'backup/{a.backup_id}', not 'backup/{b.backup_id}'.*another backup's object"
    with pytest.raises(IntegrityError, match=refusal):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)
    with pytest.raises(IntegrityError, match=refusal):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match=f"sealed as 'backup/{a.backup_id}'"):
        restore_backup(store, keyring, b.backup_id, empty_db, use_manifest=False)
    assert_empty(empty_db)


def test_a_swapped_object_is_refused_from_its_header_before_the_rest_is_read(backups):
    """A 3 MB object of another backup: its header (a few hundred bytes) is all that is read before refusing."""
    a, b, store, keyring = backups
    shutil.copyfile(path_of(store, a.object_key), path_of(store, b.object_key))
    counting = CountingStore(store.root)
    with pytest.raises(IntegrityError, match="another backup's object"):
        verify_backup(counting, keyring, b.backup_id)
    assert 0 < counting.dump_bytes_read <= 4096 < a.object_bytes


def test_a_dump_copied_over_another_backups_leaves_a_forced_target_untouched(backups, live_target):
    a, b, store, keyring = backups
    target, before = live_target
    shutil.copyfile(path_of(store, a.object_key), path_of(store, b.object_key))
    with pytest.raises(IntegrityError, match="another backup's object"):
        restore_backup(store, keyring, b.backup_id, target, force=True)
    assert state_of(target) == before


def reseal_object(store: LocalStore, keyring, manifest, *, chunk_size: int = CHUNK,
                  context: str | None = None) -> None:
    """Replace an object with another authentic encryption of the same dump (key holder only), under the
    same id unless `context` says otherwise ("" is how releases before the binding sealed it)."""
    path = path_of(store, manifest.object_key)
    raw = path.read_bytes()
    _, plaintext = open_stream(io.BytesIO(raw), keyring, context=layout.envelope_context(manifest.backup_id))
    own = layout.envelope_context(manifest.backup_id)
    path.write_bytes(b"".join(encrypt_stream(plaintext, keyring, chunk_size=chunk_size,
                                             context=own if context is None else context)))


def test_an_object_resealed_under_the_same_id_is_refused_by_its_header(backups, empty_db):
    """Same id, same size, every chunk authentic: only the header the manifest records tells them apart."""
    _, b, store, keyring = backups
    reseal_object(store, keyring, b)
    assert path_of(store, b.object_key).stat().st_size == b.object_bytes
    with pytest.raises(IntegrityError, match="differs from its manifest in header"):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match="differs from its manifest in header"):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)


def test_a_backup_whose_object_is_gone_is_refused_by_verify_and_restore(backups, live_target):
    """The listing refuses it first; `verify_against`, which `hv backup list --deep` calls with a manifest it already holds
    (the object deleted since, by a prune racing it), refuses it by name too."""
    _, b, store, keyring = backups
    target, before = live_target
    path_of(store, b.object_key).unlink()
    with pytest.raises(BackupNotFound, match="manifest without its dump object"):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(BackupNotFound, match="manifest without its dump object"):
        restore_backup(store, keyring, b.backup_id, target, force=True)
    assert state_of(target) == before
    with pytest.raises(IntegrityError, match=f"backup {b.backup_id}: its object {b.object_key} is missing"):
        verify_against(store, keyring, b)


def test_an_object_sealed_without_a_backup_id_is_refused_as_another_backups(backups, empty_db):
    """Authentic, same dump, same size, but sealed the way releases before the binding sealed every object."""
    _, b, store, keyring = backups
    reseal_object(store, keyring, b, context="")
    refusal = (f"backup {b.backup_id}: its object is sealed as no backup id \\(written by an older release\\), "
               f"not 'backup/{b.backup_id}': another backup's object was put in its place; do not restore it — "
               "restore from another backup$")
    with pytest.raises(IntegrityError, match=refusal):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match=refusal):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)


def test_an_object_resealed_in_other_chunks_is_refused_naming_header_and_size(backups, empty_db):
    _, b, store, keyring = backups
    reseal_object(store, keyring, b, chunk_size=CHUNK // 2)
    assert path_of(store, b.object_key).stat().st_size != b.object_bytes
    with pytest.raises(IntegrityError, match="differs from its manifest in header and size; do not restore it"):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match="differs from its manifest in header and size"):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)


def test_an_object_swapped_between_the_header_check_and_the_full_read_is_refused(backups, live_target):
    """The first read (the header check) is honest; the full read gets another authentic encryption of the
    same dump under the same id and size: only the full read's comparison with the manifest can refuse it."""
    _, b, store, keyring = backups
    target, before = live_target
    resealed = LocalStore(store.root.parent / "resealed")
    shutil.copytree(store.root, resealed.root, dirs_exist_ok=True)
    reseal_object(resealed, keyring, b)
    other = path_of(resealed, b.object_key).read_bytes()
    refusal = (f"backup {b.backup_id}: the object differs from its manifest in header, data-key id, nonce prefix, "
               "sha256; do not restore it")
    with pytest.raises(IntegrityError, match=refusal):
        verify_backup(ChangingStore(store.root, lambda _: other, honest_reads=1), keyring, b.backup_id)
    with pytest.raises(IntegrityError, match=refusal):
        restore_backup(ChangingStore(store.root, lambda _: other, honest_reads=1), keyring, b.backup_id, target,
                       force=True)
    assert state_of(target) == before


@pytest.mark.parametrize("field, value, named", [
    ("object_sha256", "00" * 32, "sha256"), ("object_bytes", 1, "size"), ("dump_bytes", 1, "dump size"),
    ("compressed_bytes", 1, "compressed size"),
    ("data_key_id", "00" * 8, "data-key id"), ("nonce_prefix", "00" * 7, "nonce prefix"),
    ("key_id", key_id_of(bytes(32)), "key id"),
])
def test_an_authentic_manifest_that_disagrees_with_its_object_is_refused(backups, empty_db, field, value, named):
    """The header and size agree, so only the full read's comparison with the manifest can refuse it."""
    _, b, store, keyring = backups
    reseal_manifest(store, keyring, b, **{field: value})
    with pytest.raises(IntegrityError, match=f"differs from its manifest in {named}"):
        verify_backup(store, keyring, b.backup_id)
    with pytest.raises(IntegrityError, match=f"differs from its manifest in {named}"):
        restore_backup(store, keyring, b.backup_id, empty_db)
    assert_empty(empty_db)


def test_a_real_row_count_mismatch_is_reported_by_the_restore(backups, empty_db):
    """The manifest (authentic) says 46 configurations; the archive restores 45: the comparison names the table."""
    _, b, store, keyring = backups
    reseal_manifest(store, keyring, b, table_rows={**b.table_rows, "public.security_configurations": 46})
    result = restore_backup(store, keyring, b.backup_id, empty_db)
    assert not result.matches
    assert result.mismatches == ["public.security_configurations: 45 rows, manifest 46"]


def test_a_table_the_manifest_lists_and_the_restore_lacks_is_reported(backups, empty_db):
    """An authentic manifest naming one more table than the archive holds: the restore names it, and every
    table the archive does hold still matches."""
    _, b, store, keyring = backups
    reseal_manifest(store, keyring, b, table_rows={**b.table_rows, "public.zz_gone": 3})
    result = restore_backup(store, keyring, b.backup_id, empty_db)
    assert result.mismatches == ["public.zz_gone: None rows, manifest 3"]
    assert result.table_rows == b.table_rows


def test_several_row_count_mismatches_are_all_reported_in_table_order(backups, empty_db):
    _, b, store, keyring = backups
    rows = {**b.table_rows, "public.security_configurations": 44, "public.bulk_notes": BULK_ROWS + 1}
    reseal_manifest(store, keyring, b, table_rows=rows)
    result = restore_backup(store, keyring, b.backup_id, empty_db)
    assert result.mismatches == [f"public.bulk_notes: {BULK_ROWS} rows, manifest {BULK_ROWS + 1}",
                                 "public.security_configurations: 45 rows, manifest 44"]


def test_a_schema_or_revision_mismatch_is_reported_by_the_restore(backups, empty_db):
    _, b, store, keyring = backups
    reseal_manifest(store, keyring, b, schema_fingerprint="00" * 32, alembic_revision="elsewhere")
    result = restore_backup(store, keyring, b.backup_id, empty_db)
    assert result.mismatches == ["schema catalog differs from the backed-up database",
                                 f"alembic revision {b.alembic_revision}, manifest elsewhere"]


def late_chunk_flipped(data: bytes) -> bytes:
    header = read_header(io.BytesIO(data)).size
    index = (len(data) - header) // (CHUNK + TAG_SIZE) - 2
    flipped = bytearray(data)
    flipped[header + index * (CHUNK + TAG_SIZE) + 100] ^= 0x01
    return bytes(flipped)


def test_force_restore_of_an_object_with_a_tampered_late_chunk_leaves_the_target_unchanged(backups, live_target):
    _, b, store, keyring = backups
    target, before = live_target
    path = path_of(store, b.object_key)
    path.write_bytes(late_chunk_flipped(path.read_bytes()))
    with pytest.raises(IntegrityError, match="failed authentication"):
        restore_backup(store, keyring, b.backup_id, target, force=True)
    assert state_of(target) == before


def test_an_object_tampered_between_verification_and_restore_is_stopped_inside_the_transaction(backups,
                                                                                               live_target):
    """The verifying pass reads it intact (header check, full read); the restoring pass gets a flipped late
    chunk after pg_restore has dropped and refilled tables under --force: its transaction rolls back."""
    _, b, store, keyring = backups
    target, before = live_target
    changing = ChangingStore(store.root, late_chunk_flipped, honest_reads=2)
    with pytest.raises(IntegrityError, match="failed authentication"):
        restore_backup(changing, keyring, b.backup_id, target, force=True)
    assert changing.honest_reads < 0, "the restoring pass must have read the tampered object"
    assert state_of(target) == before


def test_an_object_swapped_between_verification_and_restore_is_refused_before_pg_restore(backups, live_target):
    a, b, store, keyring = backups
    target, before = live_target
    resealed = LocalStore(store.root.parent / "resealed")
    shutil.copytree(store.root, resealed.root, dirs_exist_ok=True)
    reseal_object(resealed, keyring, b)
    other = path_of(resealed, b.object_key).read_bytes()
    changing = ChangingStore(store.root, lambda _: other, honest_reads=2)
    with pytest.raises(IntegrityError, match="changed after it was verified .*not touched"):
        restore_backup(changing, keyring, b.backup_id, target, force=True)
    assert state_of(target) == before


def test_restore_without_the_manifest_works_from_the_header_and_says_what_it_could_not_check(backups, empty_db):
    _, b, store, keyring = backups
    manifest_path(store, b).unlink()
    with pytest.raises(BackupNotFound, match="does not count"):
        restore_backup(store, keyring, b.backup_id, empty_db)

    result = restore_backup(store, keyring, b.backup_id, empty_db, use_manifest=False)
    assert result.matches and result.unchecked
    assert any("row counts" in what for what in result.unchecked)
    assert any("SHA-256" in what for what in result.unchecked)
    assert result.table_rows["public.security_configurations"] == 45
    assert result.table_rows["public.bulk_notes"] == BULK_ROWS
