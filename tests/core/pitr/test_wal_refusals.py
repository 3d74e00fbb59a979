"""`push` and `fetch` refusing the wrong file, in-process and without a running server: a copy of the
session's initdb (its first WAL segment and its pg_control are real) archived into a local store.

The slow tests in test_wal_archive.py drive the same paths through PostgreSQL's archive_command;
these feed each comparison the one bad case that only it can catch, in seconds.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hv_pipelines.core.errors import IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring, generate_hex_key
from hv_pipelines.core.pitr import archive, sealed
from hv_pipelines.core.pitr.walfiles import (
    _LONG_HEADER,
    SEGMENT_SIZE,
    WalName,
    control_system_identifier,
    parse_name,
    read_segment_header,
    segment_name,
)
from hv_pipelines.core.storage import LocalStore

FIRST = "000000010000000000000001"  # the segment initdb leaves in pg_wal


@pytest.fixture
def cluster(tmp_path, cluster_template) -> Path:
    """pg_wal and global/pg_control of an initdb'd cluster (never started), as a data directory."""
    data = tmp_path / "data"
    (data / "global").mkdir(parents=True)
    shutil.copy(cluster_template / "global" / "pg_control", data / "global" / "pg_control")
    (data / "pg_wal").mkdir()
    shutil.copy(cluster_template / "pg_wal" / FIRST, data / "pg_wal" / FIRST)
    return data


@pytest.fixture
def store(tmp_path) -> LocalStore:
    (tmp_path / "objects").mkdir()
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_hex(generate_hex_key())


def with_name(segment: Path, name: str, content: bytes | None = None) -> Path:
    """`segment`'s bytes (or `content`) under another file name in the same pg_wal."""
    other = segment.with_name(name)
    other.write_bytes(segment.read_bytes() if content is None else content)
    return other


def objects(store: LocalStore) -> dict[str, bytes]:
    return {o.key: store.read_bytes(o.key) for o in store.list("wal/")}


def test_a_push_of_the_same_content_again_is_already_archived_and_rewrites_nothing(cluster, store, keyring):
    segment = cluster / "pg_wal" / FIRST
    first = archive.push(segment, store, keyring)
    stored = objects(store)
    again = archive.push(segment, store, keyring)
    system = control_system_identifier(cluster)
    assert (first.already_archived, again.already_archived) == (False, True)
    assert first.system_identifier == again.system_identifier == system
    assert first.bytes == again.bytes == SEGMENT_SIZE and first.name == again.name == FIRST
    assert first.key == again.key == f"wal/{system}/00000001/{FIRST}.zst.enc"
    assert 0 <= first.seconds < 60 and 0 <= again.seconds < 60
    assert list(stored) == [f"wal/{system}/00000001/{FIRST}.zst.enc"] and objects(store) == stored


def test_a_segment_is_sealed_with_a_binding_naming_it_its_cluster_and_its_content(cluster, store, keyring):
    segment = cluster / "pg_wal" / FIRST
    before = datetime.now(UTC).replace(microsecond=0)
    pushed = archive.push(segment, store, keyring)
    binding = sealed.authenticate(store, pushed.key, keyring, archive.wal_context(pushed.system_identifier, FIRST))
    archived_at = datetime.fromisoformat(binding.pop("archived_at"))
    assert binding == {"kind": "hv-wal/1", "name": FIRST, "system_identifier": str(control_system_identifier(cluster)),
                       "sha256": hashlib.sha256(segment.read_bytes()).hexdigest(), "bytes": SEGMENT_SIZE}
    assert archived_at.utcoffset() == timedelta(0) and before <= archived_at <= datetime.now(UTC)


def test_a_file_push_cannot_read_is_a_storage_error_saying_who_must_read_it(cluster, store, keyring):
    missing = cluster / "pg_wal" / "000000010000000000000009"
    with pytest.raises(StorageError, match=rf"^cannot read {missing}: No such file or directory; archive_command runs "
                                           "in the data directory as the server's OS user, which must be able to "
                                           "read %p$"):
        archive.push(missing, store, keyring)
    assert objects(store) == {}


@pytest.mark.parametrize("offset", [100_000, SEGMENT_SIZE - 1])
def test_the_same_name_with_other_content_is_a_conflict_and_overwrites_nothing(cluster, store, keyring, offset):
    segment = cluster / "pg_wal" / FIRST
    archive.push(segment, store, keyring)
    stored = objects(store)
    data = bytearray(segment.read_bytes())
    data[offset] ^= 0xFF  # past the page header: still this cluster's segment, by its name
    segment.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveConflict, match=rf"^{FIRST} is already archived at .* with different content "
                                                        r"\(sha256 [0-9a-f]{12}…, this file [0-9a-f]{12}…\): two "
                                                        "servers are archiving into one place, or a restored copy "
                                                        "kept archiving. Nothing was overwritten; give each cluster "
                                                        r"its own archive \(or stop the other server\) before "
                                                        "archiving resumes$"):
        archive.push(segment, store, keyring)
    assert objects(store) == stored


def test_a_conflict_is_found_by_the_size_as_well_as_the_checksum(cluster, store, keyring):
    """An object whose binding records another size (a writer that got the length wrong) is not the same."""
    segment = cluster / "pg_wal" / FIRST
    content = segment.read_bytes()
    system = control_system_identifier(cluster)
    key = archive.wal_key(system, FIRST)
    binding = {"kind": archive.KIND, "name": FIRST, "system_identifier": str(system),
               "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content) - 1}
    store.put_stream(key, sealed.seal(archive.wal_context(system, FIRST), binding, [content], keyring))
    stored = objects(store)
    with pytest.raises(archive.ArchiveConflict):
        archive.push(segment, store, keyring)
    assert objects(store) == stored


@pytest.mark.parametrize("name", [
    "000000020000000000000001",  # another timeline, the same place
    "000000010000000000000002",  # the same timeline, another place
    "000000010000000100000001",  # another log of the same segment number
])
def test_a_segment_under_a_name_its_header_contradicts_is_not_archived(cluster, store, keyring, name):
    renamed = with_name(cluster / "pg_wal" / FIRST, name)
    with pytest.raises(IntegrityError, match=rf"^{name} holds WAL of timeline 1 at 0/1000000, not what its name says"):
        archive.push(renamed, store, keyring)
    assert objects(store) == {}


def header_fields(segment: Path) -> list:
    return list(_LONG_HEADER.unpack_from(segment.read_bytes()))


def with_header(segment: Path, **changes: int) -> bytes:
    """`segment` with fields of its long page header replaced (info=…, seg_size=…)."""
    fields = header_fields(segment)
    for name, value in changes.items():
        fields[{"info": 1, "seg_size": 6}[name]] = value
    data = bytearray(segment.read_bytes())
    _LONG_HEADER.pack_into(data, 0, *fields)
    return bytes(data)


@pytest.mark.parametrize(("changes", "message"), [
    ({"info": 0}, "does not start with a WAL segment header: it is not a WAL segment"),
    ({"seg_size": 0}, "does not start with a WAL segment header: it is not a WAL segment"),
    ({"seg_size": SEGMENT_SIZE * 2}, f"is from a cluster with {SEGMENT_SIZE * 2}-byte WAL segments; hv archives "
                                     "the default 16 MiB segments only"),
    ({"seg_size": SEGMENT_SIZE // 2}, f"is from a cluster with {SEGMENT_SIZE // 2}-byte WAL segments"),
])
def test_a_file_without_a_16_mib_segment_header_is_not_archived(cluster, store, keyring, changes, message):
    segment = cluster / "pg_wal" / FIRST
    segment.write_bytes(with_header(segment, **changes))
    with pytest.raises(IntegrityError, match=f"^{FIRST} {message}"):
        archive.push(segment, store, keyring)
    assert objects(store) == {}


def test_the_long_header_alone_names_the_cluster_and_one_byte_less_is_too_short(cluster):
    first_page = (cluster / "pg_wal" / FIRST).read_bytes()[:_LONG_HEADER.size]
    header = read_segment_header(first_page, FIRST)
    assert (header.system_identifier, header.timeline, header.page_address, header.segment_size) == (
        control_system_identifier(cluster), 1, SEGMENT_SIZE, SEGMENT_SIZE)
    with pytest.raises(IntegrityError, match=f"^{FIRST} is too short to be a WAL segment$"):
        read_segment_header(first_page[:-1], FIRST)


@pytest.mark.parametrize("name", [FIRST, f"{FIRST}.partial"])
def test_a_segment_names_its_own_cluster_whatever_data_directory_it_is_pushed_from(cluster, store, keyring, name):
    """A segment's (or a left timeline's partial segment's) system identifier comes from its header, not
    from the pg_control beside it."""
    segment = with_name(cluster / "pg_wal" / FIRST, name)
    system = control_system_identifier(cluster)
    control = cluster / "global" / "pg_control"
    data = bytearray(control.read_bytes())
    data[:8] = struct.pack("<Q", system + 1)
    control.write_bytes(bytes(data))
    assert archive.push(segment, store, keyring).system_identifier == system
    assert list(objects(store)) == [archive.wal_key(system, name)]


def test_a_history_file_is_archived_under_its_data_directorys_cluster(cluster, store, keyring):
    history = cluster / "pg_wal" / "00000002.history"
    history.write_text("1\t0/3000000\tno recovery target specified\n")
    pushed = archive.push(history, store, keyring)
    system = control_system_identifier(cluster)
    assert (pushed.system_identifier, pushed.key) == (system, f"wal/{system}/00000002/00000002.history.zst.enc")


def test_a_history_file_of_a_cluster_initialised_after_2038_is_keyed_by_its_unsigned_identifier(cluster, store,
                                                                                                   keyring):
    """System identifiers start with initdb's time in seconds: from 2038 their top bit is set."""
    control = cluster / "global" / "pg_control"
    data = bytearray(control.read_bytes())
    data[:8] = struct.pack("<Q", 2**63 + 7)
    control.write_bytes(bytes(data))
    history = cluster / "pg_wal" / "00000002.history"
    history.write_text("1\t0/3000000\tno recovery target specified\n")
    assert archive.push(history, store, keyring).key == f"wal/{2**63 + 7}/00000002/00000002.history.zst.enc"


def test_a_history_file_pushed_from_outside_a_data_directory_is_refused_saying_where_to_run(tmp_path, store,
                                                                                          keyring):
    history = tmp_path / "elsewhere" / "pg_wal" / "00000002.history"
    history.parent.mkdir(parents=True)
    history.write_text("1\t0/3000000\tno recovery target specified\n")
    with pytest.raises(IntegrityError, match=r"^cannot read .*/elsewhere/global/pg_control to learn the cluster's "
                                             "system identifier: run `hv wal push` from the data directory, as "
                                             "archive_command does$"):
        archive.push(history, store, keyring)
    assert objects(store) == {}


@pytest.mark.parametrize(("name", "kind", "timeline", "segment"), [
    ("0000001A000000010000002F", "segment", 0x1A, 0x100 + 0x2F),  # log 1: 256 segments of 16 MiB before it
    ("0000001A000000010000002F.partial", "partial", 0x1A, 0x100 + 0x2F),
    ("0000001A000000010000002F.000000D8.backup", "backup", 0x1A, 0x100 + 0x2F),
    ("0000001F.history", "history", 0x1F, None),
])
def test_a_wal_file_name_is_read_as_postgresql_writes_it_in_hexadecimal(name, kind, timeline, segment):
    """Timelines and segment numbers past 9 (a promoted replica's, an archive older than a day): the key a
    file is archived under and the chain's continuity both follow from these numbers."""
    assert parse_name(name) == WalName(name, kind, timeline, segment)
    assert parse_name(name).is_segment is (kind == "segment")
    if segment is not None:
        assert segment_name(timeline, segment) == name[:24]


@pytest.mark.parametrize("name", ["0000001a000000010000002f", "0000001A000000010000002", "0000001F.History",
                                  "0000001A000000010000002F.backup", "0000001A000000010000002F.partial.gz"])
def test_a_name_that_is_almost_a_wal_file_name_is_refused(name):
    with pytest.raises(ValueError, match="is not a WAL segment, timeline history or backup history file name$"):
        parse_name(name)


def test_a_name_postgresql_would_not_archive_is_refused_saying_how_to_call_push(cluster, store, keyring):
    stray = with_name(cluster / "pg_wal" / FIRST, "RECOVERYXLOG")
    with pytest.raises(IntegrityError, match="not a WAL segment.*: archive_command must be `hv wal push %p ...`"):
        archive.push(stray, store, keyring)
    assert objects(store) == {}


def test_fetch_writes_the_archived_segment_byte_for_byte(cluster, store, keyring, tmp_path):
    segment = cluster / "pg_wal" / FIRST
    archive.push(segment, store, keyring)
    dest = tmp_path / "RECOVERYXLOG"
    assert archive.fetch(FIRST, dest, store, keyring, control_system_identifier(cluster)) == SEGMENT_SIZE
    assert dest.read_bytes() == segment.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("lie", ["sha256", "bytes"])
def test_fetch_refuses_an_authentic_object_whose_content_is_not_what_its_binding_says(cluster, store, keyring,
                                                                                     tmp_path, lie):
    """Sealed under the right name with the right key, but its binding records another checksum or size."""
    content = (cluster / "pg_wal" / FIRST).read_bytes()
    system = control_system_identifier(cluster)
    binding = {"kind": archive.KIND, "name": FIRST, "system_identifier": str(system),
               "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    binding[lie] = hashlib.sha256(b"another segment").hexdigest() if lie == "sha256" else len(content) + 1
    key = archive.wal_key(system, FIRST)
    store.put_stream(key, sealed.seal(archive.wal_context(system, FIRST), binding, [content], keyring))
    dest = tmp_path / "RECOVERYXLOG"
    with pytest.raises(IntegrityError, match=f"^{key} decrypts to content whose checksum differs from its binding"):
        archive.fetch(FIRST, dest, store, keyring, system)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "objects"]


def test_fetch_of_a_file_not_in_the_archive_names_its_key(cluster, store, keyring, tmp_path):
    system = control_system_identifier(cluster)
    with pytest.raises(archive.WalNotFound, match=rf"^{FIRST} is not in the archive \(wal/{system}/00000001/"):
        archive.fetch(FIRST, tmp_path / "RECOVERYXLOG", store, keyring, system)
    assert not (tmp_path / "RECOVERYXLOG").exists()


def test_fetch_refuses_a_flipped_byte_naming_the_object_and_writes_nothing(cluster, store, keyring, tmp_path):
    system = control_system_identifier(cluster)
    key = archive.push(cluster / "pg_wal" / FIRST, store, keyring).key
    data = bytearray(store.read_bytes(key))
    data[-1] ^= 0x01
    store.put_bytes(key, bytes(data))
    with pytest.raises(IntegrityError, match=f"^{key}: "):
        archive.fetch(FIRST, tmp_path / "RECOVERYXLOG", store, keyring, system)
    assert not (tmp_path / "RECOVERYXLOG").exists()


@pytest.fixture
def unreachable_store():
    """An S3 store whose endpoint refuses connections (a closed port on loopback), asked once."""
    import boto3
    from botocore.config import Config

    from hv_pipelines.core.pitr.cluster import free_port
    from hv_pipelines.core.storage import S3Store

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    return S3Store("hv-down", "hv", client=client)


def test_a_store_that_is_down_is_one_storage_error_saying_what_happens_next(cluster, unreachable_store, keyring,
                                                                          tmp_path):
    with pytest.raises(StorageError, match=rf"^archiving {FIRST} to s3://hv-down/hv failed \(EndpointConnectionError\)"
                                           ": PostgreSQL keeps the file and retries; check the object store$") as down:
        archive.push(cluster / "pg_wal" / FIRST, unreachable_store, keyring)
    assert type(down.value.__cause__).__name__ == "EndpointConnectionError"  # kept for the traceback in the log
    with pytest.raises(StorageError, match=rf"^fetching {FIRST} from s3://hv-down/hv failed \(EndpointConnectionError\)"
                                           ": recovery cannot go on past this file; check the object store$"):
        archive.fetch(FIRST, tmp_path / "RECOVERYXLOG", unreachable_store, keyring, control_system_identifier(cluster))
    assert not (tmp_path / "RECOVERYXLOG").exists()


def test_a_file_store_that_cannot_be_written_is_one_storage_error_and_an_error_of_ours_passes_as_it_is(
        cluster, store, keyring, tmp_path):
    """A file where the store's `wal/` directory belongs: the filesystem refuses the write (an OSError, not ours)
    and push says so in one line; fetch finds no object there, and its WalNotFound is not turned into a store
    failure (recovery ends at a missing file, it does not retry one)."""
    (store.root / "wal").write_text("in the way")
    with pytest.raises(StorageError) as refused:
        archive.push(cluster / "pg_wal" / FIRST, store, keyring)
    assert str(refused.value) == (f"archiving {FIRST} to {store.url} failed (NotADirectoryError): PostgreSQL keeps "
                                  "the file and retries; check the object store")
    assert isinstance(refused.value.__cause__, NotADirectoryError)
    with pytest.raises(archive.WalNotFound):
        archive.fetch(FIRST, tmp_path / "RECOVERYXLOG", store, keyring, control_system_identifier(cluster))
    assert sorted(p.name for p in store.root.iterdir()) == ["wal"] and (store.root / "wal").read_text() == "in the way"
