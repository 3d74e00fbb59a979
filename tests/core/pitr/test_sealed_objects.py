"""What a sealed PITR object, a base backup's descriptor and `hv pitr verify` refuse, in-process: objects
sealed here with the real envelope (no server, no cluster), each damaged the one way a check alone
catches. The slow tests in test_pitr_verify.py drive the same checks through a running cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hv_pipelines.core.envelope import encrypt_stream
from hv_pipelines.core.errors import ConfigurationError, IntegrityError
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.pitr import archive, descriptor, sealed, verify
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.pitr.walfiles import SEGMENT_SIZE, format_lsn
from hv_pipelines.core.storage import LocalStore
from hv_pipelines.core.zstd_frames import compress

SYSTEM = "7401234567890123456"
CONTEXT = f"wal/{SYSTEM}/000000010000000000000002"
CONTENT = bytes(range(256)) * 300  # 76,800 bytes: several zstd pieces' worth once split into small chunks
BINDING = {"kind": "hv-wal/1", "name": "000000010000000000000002", "sha256": hashlib.sha256(CONTENT).hexdigest(),
           "bytes": len(CONTENT)}


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


def opened(data: bytes, keyring: Keyring, context: str = CONTEXT) -> tuple[dict, bytes]:
    binding, content = sealed.open_sealed(iter([data]), keyring, context, what="the-key")
    return binding, b"".join(content)


def sealed_bytes(keyring: Keyring, content: bytes = CONTENT, binding: dict = BINDING, **kwargs) -> bytes:
    return b"".join(sealed.seal(CONTEXT, binding, [content], keyring, **kwargs))


def envelope_of(plaintext: bytes, keyring: Keyring, chunk_size: int = 1024) -> bytes:
    """`plaintext` under the real envelope and context, as something other than `seal` would write it."""
    return b"".join(encrypt_stream([plaintext], keyring, chunk_size=chunk_size, context=CONTEXT))


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_a_sealed_object_opens_to_its_binding_and_content_whatever_its_chunk_size(keyring, chunk_size):
    """A binding read across many chunks (1 byte each) or within the first; the content split anywhere."""
    assert opened(sealed_bytes(keyring, chunk_size=chunk_size), keyring) == (BINDING, CONTENT)


def test_a_binding_ending_exactly_where_the_compressed_content_starts_a_chunk(keyring):
    head = sealed.BINDING_MAGIC + json.dumps(BINDING, sort_keys=True).encode() + b"\n"
    frame = b"".join(compress([CONTENT], level=3))
    data = envelope_of(head + frame, keyring, chunk_size=len(head))
    assert opened(data, keyring) == (BINDING, CONTENT)


def test_an_empty_content_opens_empty(keyring):
    assert opened(sealed_bytes(keyring, content=b"", binding={"bytes": 0}), keyring) == ({"bytes": 0}, b"")


def test_an_authentic_object_sealed_as_another_name_is_refused_naming_the_key(keyring):
    with pytest.raises(IntegrityError, match=rf"^the-key: encrypted object is sealed as '{CONTEXT}', not "
                                             rf"'wal/{SYSTEM}/000000010000000000000003'"):
        opened(sealed_bytes(keyring), keyring, context=f"wal/{SYSTEM}/000000010000000000000003")


def test_an_object_sealed_under_another_key_is_refused_naming_the_key(keyring):
    with pytest.raises(IntegrityError, match="^the-key: "):
        opened(sealed_bytes(Keyring.from_hex(generate_hex_key())), keyring)


@pytest.mark.parametrize("plaintext", [
    b"",                                                    # nothing at all
    b"HVPITR1",                                             # the magic cut short
    b"HVPITR2\n{}\n" + b"".join(compress([CONTENT], level=3)),  # another magic
    sealed.BINDING_MAGIC + b'{"bytes": 1}',                 # a binding never ended
    b"{}\n" + sealed.BINDING_MAGIC + b"{}\n",               # the magic after the start
], ids=["empty", "cut-magic", "other-magic", "unended", "magic-later"])
def test_an_authentic_envelope_without_a_binding_is_not_a_pitr_object(keyring, plaintext):
    with pytest.raises(IntegrityError, match=r"^the-key is not a PITR object \(no binding\): it was replaced; "
                                             "do not use it$"):
        opened(envelope_of(plaintext, keyring), keyring)


def test_a_binding_is_looked_for_in_the_first_64_kib_only(keyring):
    """A stream with no line end is not read to its end looking for one (a 16 MiB segment sealed raw)."""
    unended = sealed.BINDING_MAGIC + b"x" * (sealed.MAX_BINDING * 4)
    reads = []

    def counted(chunks):
        for chunk in chunks:
            reads.append(len(chunk))
            yield chunk

    data = envelope_of(unended, keyring, chunk_size=4096)
    with pytest.raises(IntegrityError, match="is not a PITR object"):
        sealed.open_sealed(counted([data[i:i + 4096] for i in range(0, len(data), 4096)]), keyring, CONTEXT,
                           what="the-key")
    assert sum(reads) < sealed.MAX_BINDING + 3 * 4096 < len(data)


def test_opening_an_object_reads_up_to_its_bindings_line_end_and_no_further(keyring):
    """The binding is known after a chunk or two; the content is read as it is consumed, not before."""
    chunk = 1024
    data = sealed_bytes(keyring, content=os.urandom(200_000), chunk_size=chunk)
    pieces = [data[i:i + chunk + 16] for i in range(0, len(data), chunk + 16)]
    reads = []

    def counted():
        for piece in pieces:
            reads.append(len(piece))
            yield piece

    binding, content = sealed.open_sealed(counted(), keyring, CONTEXT, what="the-key")
    assert binding == BINDING and sum(reads) <= 4 * (chunk + 16) < len(data)
    assert len(b"".join(content)) == 200_000


def test_a_small_chunk_size_is_the_one_the_object_is_sealed_with(keyring):
    content = os.urandom(4096)  # stays 4 KiB compressed: 64 chunks of 64 bytes, or one
    small = sealed_bytes(keyring, content=content, chunk_size=64)
    large = sealed_bytes(keyring, content=content, chunk_size=1 << 20)
    assert len(small) - len(large) >= 16 * 63  # a 16-byte tag per chunk


def test_a_binding_of_just_under_64_kib_is_read(keyring):
    binding = {"note": "n" * (sealed.MAX_BINDING - 64)}
    assert opened(sealed_bytes(keyring, binding=binding, chunk_size=1000), keyring) == (binding, CONTENT)


def test_a_compressed_frame_cut_short_inside_an_authentic_object_is_refused_naming_the_key(keyring):
    head = sealed.BINDING_MAGIC + json.dumps(BINDING, sort_keys=True).encode() + b"\n"
    frame = b"".join(compress([CONTENT], level=3))
    binding, content = sealed.open_sealed(iter([envelope_of(head + frame[:-4], keyring)]), keyring, CONTEXT,
                                          what="the-key")
    assert binding == BINDING
    with pytest.raises(IntegrityError, match="^the-key: "):
        b"".join(content)


def test_authenticate_reads_to_the_end_and_returns_the_binding(keyring, store):
    store.put_bytes("k/whole", sealed_bytes(keyring))
    assert sealed.authenticate(store, "k/whole", keyring, CONTEXT) == BINDING
    data = bytearray(sealed_bytes(keyring, chunk_size=1024))
    data[-1] ^= 0x01  # the last chunk: the binding, in the first, still authenticates
    store.put_bytes("k/late", bytes(data))
    with pytest.raises(IntegrityError, match="^k/late: .*failed authentication"):
        sealed.authenticate(store, "k/late", keyring, CONTEXT)


# --- base backup descriptors ------------------------------------------------------------------------

def a_backup(backup_id: str = "20261205T031500Z", system: str = SYSTEM, **changes) -> BaseBackup:
    started = datetime(2026, 12, 5, 3, 15, tzinfo=UTC)
    backup = BaseBackup(
        backup_id=backup_id, system_identifier=system, object_key=descriptor.object_key(system, backup_id),
        object_bytes=1000, object_sha256="ab" * 32, tar_bytes=900, manifest_sha256="cd" * 32, key_id="k1",
        timeline=1, start_lsn="0/2000028", stop_lsn="0/2000100", start_wal="000000010000000000000002",
        started_at=started, completed_at=started + timedelta(seconds=42), server_version="16.4",
        pg_basebackup_version="16.4", durations={"upload_s": 1.5})
    return replace(backup, **changes)


def test_a_descriptor_opens_to_the_backup_it_sealed(keyring):
    backup = a_backup()
    opened_backup = BaseBackup.open(backup.seal(keyring), keyring, key=descriptor.descriptor_key(SYSTEM, backup.backup_id))
    assert opened_backup == backup and opened_backup.mac_key_id == keyring.active_key_id
    assert opened_backup.completed_at == datetime(2026, 12, 5, 3, 15, 42, tzinfo=UTC)


def test_a_descriptor_sealed_under_a_retired_key_still_opens(keyring):
    old = Keyring.from_hex(generate_hex_key())
    sealed_then = a_backup().seal(old)
    rotated = Keyring(keyring.active, [old.active])
    assert BaseBackup.open(sealed_then, rotated, key=descriptor.descriptor_key(SYSTEM, a_backup().backup_id)) == a_backup()


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'"text"', b"{}", b'{"mac": "00"}'],
                         ids=["not-json", "a-list", "a-string", "no-mac", "no-mac-key-id"])
def test_what_is_not_a_descriptor_is_refused_naming_its_key(keyring, data):
    with pytest.raises(IntegrityError, match="^basebackups/1/x.json is not a base backup descriptor: it was damaged "
                                             "or replaced$"):
        BaseBackup.open(data, keyring, key="basebackups/1/x.json")


def test_a_descriptor_of_another_format_is_refused_before_its_mac_is_checked(keyring):
    body = json.loads(a_backup().seal(keyring))
    body["format"] = "hv-base-backup/2"
    with pytest.raises(IntegrityError, match=r"^the/key.json has format 'hv-base-backup/2'; this release reads "
                                             r"hv-base-backup/1$"):
        BaseBackup.open(json.dumps(body).encode(), keyring, key="the/key.json")
    del body["format"]
    with pytest.raises(IntegrityError, match="has format None; this release reads"):
        BaseBackup.open(json.dumps(body).encode(), keyring, key="the/key.json")


@pytest.mark.parametrize(("field", "value"), [("object_bytes", 1001), ("object_sha256", "ab" * 31 + "ac"),
                                              ("start_lsn", "0/3000028")])
def test_a_descriptor_with_a_field_changed_fails_its_mac_naming_its_key(keyring, field, value):
    backup = a_backup()
    key = descriptor.descriptor_key(SYSTEM, backup.backup_id)
    body = json.loads(backup.seal(keyring))
    body[field] = value
    with pytest.raises(IntegrityError, match=rf"^{key}: manifest authentication failed"):
        BaseBackup.open(json.dumps(body).encode(), keyring, key=key)


def test_a_descriptor_sealed_with_another_key_is_refused_naming_its_key(keyring):
    backup, other = a_backup(), Keyring.from_hex(generate_hex_key())
    key = descriptor.descriptor_key(SYSTEM, backup.backup_id)
    with pytest.raises(IntegrityError, match=rf"^{key}: master key {other.active_key_id} is not in the keyring"):
        BaseBackup.open(backup.seal(other), keyring, key=key)
    body = json.loads(backup.seal(other))
    body["mac_key_id"] = keyring.active_key_id  # claims ours: its MAC is another key's
    with pytest.raises(IntegrityError, match=rf"^{key}: manifest authentication failed"):
        BaseBackup.open(json.dumps(body).encode(), keyring, key=key)


@pytest.mark.parametrize(("system", "backup_id"), [(SYSTEM, "20261206T031500Z"), ("7401234567890123457",
                                                                                   "20261205T031500Z")],
                         ids=["another-backup", "another-cluster"])
def test_an_authentic_descriptor_copied_to_another_name_is_refused(keyring, system, backup_id):
    data = a_backup().seal(keyring)
    key = descriptor.descriptor_key(system, backup_id)
    with pytest.raises(IntegrityError, match=rf"^{key} is the authentic descriptor of backup 20261205T031500Z of "
                                             rf"cluster {SYSTEM}, copied to another name: do not use it$"):
        BaseBackup.open(data, keyring, key=key)


# --- verify: objects against their descriptors and bindings, and the chain ---------------------------

def put_segment(store: LocalStore, keyring: Keyring, name: str, content: bytes = b"wal " * 64,
                binding: dict | None = None) -> str:
    """Archive `content` as WAL file `name` (sealed as push seals it; the binding may lie)."""
    binding = binding or {"kind": archive.KIND, "name": name, "system_identifier": SYSTEM,
                          "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    key = archive.wal_key(SYSTEM, name)
    store.put_stream(key, sealed.seal(archive.wal_context(SYSTEM, name), binding, [content], keyring))
    return key


def put_base_backup(store: LocalStore, keyring: Keyring, backup_id: str = "20261205T031500Z",
                    start_segment: int = 2, timeline: int = 1, tar: bytes = b"tar " * 500, **changes) -> BaseBackup:
    """A base backup object and its descriptor (sizes and checksum as take_base_backup records them)."""
    key = descriptor.object_key(SYSTEM, backup_id)
    data = b"".join(sealed.seal(descriptor.object_context(SYSTEM, backup_id), {"kind": "hv-base/1"}, [tar], keyring))
    store.put_bytes(key, data)
    backup = a_backup(backup_id, timeline=timeline, start_lsn=format_lsn(start_segment * SEGMENT_SIZE + 0x28),
                      object_bytes=len(data), object_sha256=hashlib.sha256(data).hexdigest(), tar_bytes=len(tar))
    backup = replace(backup, **changes)
    store.put_bytes(descriptor.descriptor_key(SYSTEM, backup_id), backup.seal(keyring))
    return backup


def test_a_wal_object_whose_content_is_what_its_binding_says_verifies(keyring, store):
    key = put_segment(store, keyring, "000000010000000000000002", b"x" * 1000)
    assert verify.verify_wal_object(store, keyring, SYSTEM, "000000010000000000000002", key) == 1000


def test_a_wal_object_of_many_pieces_verifies_to_its_whole_size(keyring, store):
    content = os.urandom(3 * 1024 * 1024 + 5)
    key = archive.wal_key(SYSTEM, "000000010000000000000002")
    binding = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    store.put_stream(key, sealed.seal(archive.wal_context(SYSTEM, "000000010000000000000002"), binding, [content],
                                      keyring, chunk_size=64 * 1024))
    assert verify.verify_wal_object(store, keyring, SYSTEM, "000000010000000000000002", key) == len(content)


@pytest.mark.parametrize("lie", ["sha256", "bytes"])
def test_a_wal_object_whose_binding_lies_about_its_content_is_refused(keyring, store, lie):
    content = b"x" * 1000
    binding = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    binding[lie] = hashlib.sha256(b"y").hexdigest() if lie == "sha256" else len(content) - 1
    key = put_segment(store, keyring, "000000010000000000000002", content, binding)
    with pytest.raises(IntegrityError, match=f"^{key} decrypts to content whose checksum differs from its binding: "
                                             "do not use it$"):
        verify.verify_wal_object(store, keyring, SYSTEM, "000000010000000000000002", key)


def test_a_wal_object_under_another_segments_name_is_refused(keyring, store):
    key = put_segment(store, keyring, "000000010000000000000002")
    store.put_bytes(archive.wal_key(SYSTEM, "000000010000000000000003"), store.read_bytes(key))
    other = archive.wal_key(SYSTEM, "000000010000000000000003")
    with pytest.raises(IntegrityError, match=f"^{other}: "):
        verify.verify_wal_object(store, keyring, SYSTEM, "000000010000000000000003", other)


def test_a_base_backup_object_that_matches_its_descriptor_verifies(keyring, store):
    backup = put_base_backup(store, keyring)
    assert verify.verify_base_backup(store, keyring, backup) == backup.object_bytes == len(
        store.read_bytes(backup.object_key))


@pytest.mark.parametrize("field", ["object_bytes", "object_sha256", "tar_bytes"])
def test_a_base_backup_object_that_differs_from_its_descriptor_in_any_one_way_is_refused(keyring, store, field):
    """The descriptor is authentic (sealed with the key) but records another size, checksum or tar size."""
    backup = put_base_backup(store, keyring)
    wrong = replace(backup, **{field: "00" * 32 if field == "object_sha256" else getattr(backup, field) + 1})
    with pytest.raises(IntegrityError, match=rf"^{backup.object_key} differs from its descriptor \(size or sha256\): "
                                             "do not use it$"):
        verify.verify_base_backup(store, keyring, wrong)


def test_a_base_backup_object_sealed_as_another_backup_is_refused(keyring, store):
    first = put_base_backup(store, keyring, "20261205T031500Z")
    second = put_base_backup(store, keyring, "20261212T031500Z")
    store.put_bytes(second.object_key, store.read_bytes(first.object_key))
    swapped = replace(second, object_bytes=first.object_bytes, object_sha256=first.object_sha256)
    with pytest.raises(IntegrityError, match=f"^{second.object_key}: .*basebackup/{SYSTEM}/{first.backup_id}"):
        verify.verify_base_backup(store, keyring, swapped)


def segment(timeline: int, number: int) -> str:
    return f"{timeline:08X}00000000{number:08X}"


def test_a_whole_chain_across_a_timeline_switch_verifies(keyring, store):
    """Segments 2-3 on timeline 1, then 4-5 on timeline 2 (a promotion): continuous; the WAL before the
    base backup's first segment is neither verified nor counted."""
    backup = put_base_backup(store, keyring)
    put_segment(store, keyring, segment(1, 1), b"before the backup")
    for name in (segment(1, 2), segment(1, 3), "00000002.history", segment(2, 4), segment(2, 5)):
        put_segment(store, keyring, name, name.encode() * 10)
    seen = []
    result = verify.verify_archive(store, keyring, SYSTEM, progress=seen.append)
    assert result.ok and result.problems == []
    assert (result.system_identifier, result.base_backups, result.wal_objects) == (SYSTEM, 1, 5)
    wal_sizes = sum(o.size for o in store.list("wal/") if not o.key.endswith(segment(1, 1) + archive.SUFFIX))
    assert result.bytes == backup.object_bytes + wal_sizes
    assert seen == ["00000002.history", segment(1, 2), segment(1, 3), segment(2, 4), segment(2, 5)]


@pytest.mark.parametrize(("archived", "gap"), [
    ([segment(1, 2), segment(1, 4)], segment(1, 3)),
    ([segment(1, 2), segment(1, 3), segment(2, 4), segment(2, 6)], segment(2, 5)),  # named on the new timeline
    ([segment(1, 3), segment(1, 4)], segment(1, 2)),  # the backup's own first segment
], ids=["timeline-1", "after-a-switch", "first"])
def test_a_missing_segment_is_the_chains_gap_naming_its_key(keyring, store, archived, gap):
    put_base_backup(store, keyring)
    for name in archived:
        put_segment(store, keyring, name)
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert result.problems == [f"WAL segment {gap} is missing from the archive ({archive.wal_key(SYSTEM, gap)}): "
                               "no point after it is recoverable"]
    assert not result.ok and result.wal_objects == len(archived)


def test_verify_reports_each_damaged_object_and_goes_on(keyring, store):
    backup = put_base_backup(store, keyring)
    keys = [put_segment(store, keyring, segment(1, n)) for n in (2, 3, 4)]
    store.put_bytes(keys[1], store.read_bytes(keys[0]))  # segment 2's object under 3's name
    store.put_bytes(backup.object_key, store.read_bytes(backup.object_key)[:-1])
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert [p.split(":")[0].split(" ")[0] for p in result.problems] == [backup.object_key, keys[1]]
    assert (result.base_backups, result.wal_objects) == (0, 2)
    assert result.bytes == sum(store.head(k).size for k in (keys[0], keys[2]))


def test_an_archive_without_a_base_backup_is_not_verified(keyring, store):
    put_segment(store, keyring, segment(1, 2))
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert result.problems == [f"cluster {SYSTEM} has no usable base backup: run `hv pitr base-backup`"]
    assert not result.ok and result.base_backups == 0


def test_verify_counts_every_base_backup_and_reports_a_damaged_or_orphaned_descriptor_and_goes_on(keyring, store):
    """Descriptors in key order: one with a field changed, one whose object is gone, then two good ones
    (completed in the other order than their keys sort: the older one's first segment starts the chain)."""
    damaged = put_base_backup(store, keyring, "20261201T031500Z")
    body = json.loads(store.read_bytes(descriptor.descriptor_key(SYSTEM, damaged.backup_id)))
    body["tar_bytes"] += 1
    store.put_bytes(descriptor.descriptor_key(SYSTEM, damaged.backup_id), json.dumps(body).encode())
    orphan = put_base_backup(store, keyring, "20261202T031500Z")
    store.delete(orphan.object_key)
    newer = put_base_backup(store, keyring, "20261203T031500Z", start_segment=4,
                            completed_at=datetime(2026, 12, 10, tzinfo=UTC))
    older = put_base_backup(store, keyring, "20261204T031500Z", start_segment=2,
                            completed_at=datetime(2026, 12, 9, tzinfo=UTC))
    for number in (2, 3, 4):
        put_segment(store, keyring, segment(1, number))
    state = read_state(store, keyring, SYSTEM)
    assert state.system_identifier == SYSTEM and [b.backup_id for b in state.backups] == [older.backup_id,
                                                                                          newer.backup_id]
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert result.problems == [
        f"{descriptor.descriptor_key(SYSTEM, damaged.backup_id)}: manifest authentication failed: it was altered "
        "or sealed with another key",
        f"{orphan.object_key} is missing: base backup {orphan.backup_id} cannot be used"]
    assert (result.base_backups, result.wal_objects) == (2, 3)
    assert result.bytes == newer.object_bytes + older.object_bytes + sum(o.size for o in store.list("wal/"))


def test_the_archive_state_lists_wal_with_its_archive_time_history_files_first(keyring, store):
    for name in (segment(2, 1), "00000002.history", segment(1, 1), segment(1, 2)):
        put_segment(store, keyring, name)
    state = read_state(store, keyring, SYSTEM)
    assert [o.wal.name for o in state.wal] == ["00000002.history", segment(1, 1), segment(2, 1), segment(1, 2)]
    assert [o.archived_at for o in state.wal] == [store.head(o.key).last_modified for o in state.wal]
    assert all(o.archived_at is not None for o in state.wal)


def test_status_finds_the_gap_from_the_oldest_base_backups_first_segment(keyring, store):
    put_base_backup(store, keyring, "20261205T031500Z", start_segment=2)
    put_base_backup(store, keyring, "20261212T031500Z", start_segment=4, completed_at=datetime(2026, 12, 12,
                                                                                               tzinfo=UTC))
    for number in (2, 4, 5):
        put_segment(store, keyring, segment(1, number))
    assert verify.status(store, keyring, SYSTEM).gap == segment(1, 3)


def test_a_base_backup_with_no_wal_archived_after_it_has_its_first_segment_as_the_gap(keyring, store):
    """On the backup's own timeline (a backup taken after a promotion), whether or not any WAL is archived."""
    put_base_backup(store, keyring, start_segment=3, timeline=2)
    assert verify.status(store, keyring, SYSTEM).gap == segment(2, 3)
    put_segment(store, keyring, segment(2, 4))
    assert verify.status(store, keyring, SYSTEM).gap == segment(2, 3)
    assert verify.verify_archive(store, keyring, SYSTEM).problems[0].startswith(f"WAL segment {segment(2, 3)} ")


def test_verify_finds_the_one_cluster_a_store_holds_and_reads_only_the_one_named(keyring, store):
    put_base_backup(store, keyring)
    put_segment(store, keyring, segment(1, 2))
    assert verify.verify_archive(store, keyring).system_identifier == SYSTEM
    other = "7401234567890123457"
    store.put_stream(archive.wal_key(other, segment(1, 2)),
                     sealed.seal(archive.wal_context(other, segment(1, 2)), {}, [b"x"], keyring))
    with pytest.raises(ConfigurationError, match="holds the archives of several clusters"):
        verify.verify_archive(store, keyring)
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert (result.system_identifier, result.ok, result.wal_objects) == (SYSTEM, True, 1)


def test_a_stray_file_under_the_wal_prefix_does_not_fill_a_gap(keyring, store):
    """A raw `.partial` copied into the archive (not sealed, no `.zst.enc`) is no archived segment 2."""
    put_base_backup(store, keyring, start_segment=2)
    put_segment(store, keyring, segment(1, 3))
    store.put_bytes(f"wal/{SYSTEM}/00000001/{segment(1, 2)}.partial", b"raw WAL")
    result = verify.verify_archive(store, keyring, SYSTEM)
    assert result.problems == [f"WAL segment {segment(1, 2)} is missing from the archive "
                               f"({archive.wal_key(SYSTEM, segment(1, 2))}): no point after it is recoverable"]
    assert archive.name_of_key(f"wal/{SYSTEM}/00000001/{segment(1, 2)}.partial") is None
