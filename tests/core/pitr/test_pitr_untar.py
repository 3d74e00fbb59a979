"""Extracting a base backup's tar with GNU tar behind the member checks (core/pitr/untar.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from hv_pipelines.core.errors import ConfigurationError, IntegrityError, StorageError
from hv_pipelines.core.pitr import manifest
from hv_pipelines.core.pitr.untar import UnsafeMember, extract_tar

pytestmark = pytest.mark.timeout(20)  # a broken hand-over between the threads hangs: fail instead


def tar_bytes(*members: tarfile.TarInfo, data: bytes = b"payload") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o600, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    return info


def pieces(data: bytes, size: int = 700) -> list[bytes]:
    """Odd-sized pieces, so headers straddle them as decompressed pieces do."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_a_pg_basebackup_like_tar_is_extracted_whole(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    tar = tar_bytes(member("base", tarfile.DIRTYPE, 0o700), member("base/1", tarfile.DIRTYPE, 0o700),
                    member("base/1/16384"), member("global/pg_control"), data=data)
    target = tmp_path / "data"
    target.mkdir()
    assert extract_tar(pieces(tar, 64 * 1024 + 3), target, what="basebackups/x").members_seen == 4
    assert (target / "base/1/16384").read_bytes() == data == (target / "global/pg_control").read_bytes()
    assert (target / "base/1/16384").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("bad", [
    member("../escape"), member("/etc/escape"), member("base/../../escape"),
    member("base/link", tarfile.SYMTYPE, 0o777, linkname="/etc"),
    member("base/hard", tarfile.LNKTYPE, linkname="../../etc/passwd"),
    member("base/dev", tarfile.CHRTYPE), member("base/setuid", mode=0o4755),
], ids=["dotdot", "absolute", "inner-dotdot", "symlink", "hardlink", "device", "setuid"])
def test_a_member_pg_basebackup_never_writes_refuses_the_backup_before_it_is_written(tmp_path, bad):
    tar = tar_bytes(member("PG_VERSION"), bad, member("after"))
    target = tmp_path / "deep" / "data"
    target.mkdir(parents=True)
    with pytest.raises(UnsafeMember, match="basebackups/x"):
        extract_tar(pieces(tar), target, what="basebackups/x")
    assert sorted(p.name for p in tmp_path.rglob("*")) in (["data", "deep"], ["PG_VERSION", "data", "deep"])
    assert not Path("/etc/escape").exists()


def test_a_failure_of_the_decrypting_side_part_way_is_raised_and_stops_tar(tmp_path):
    tar = tar_bytes(member("a"), member("b"), data=os.urandom(2 * 1024 * 1024))

    def authenticated_then_tampered():
        yield tar[:1024 * 1024]
        raise IntegrityError("chunk 1 of the encrypted object failed authentication")

    target = tmp_path / "data"
    target.mkdir()
    with pytest.raises(IntegrityError, match="chunk 1"):
        extract_tar(authenticated_then_tampered(), target, what="basebackups/x")
    assert not (target / "b").exists()


def test_a_tar_that_tar_itself_cannot_write_names_the_target(tmp_path):
    target = tmp_path / "gone"  # removed under the restore: tar cannot change into it
    with pytest.raises(StorageError, match=f"tar could not extract basebackups/x into {target}: .*gone"):
        extract_tar(pieces(tar_bytes(member("a"))), target, what="basebackups/x")


def test_each_file_is_hashed_as_it_streams_to_tar_whatever_the_pieces(tmp_path):
    data = os.urandom(BIG := 2 * 1024 * 1024 + 513)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in (("base/1/16384", data), ("PG_VERSION", b"16\n"), ("pg_wal/empty", b"")):
            info = member(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        tar.addfile(member("pg_wal", tarfile.DIRTYPE, 0o700))
    target = tmp_path / "data"
    target.mkdir()
    check = extract_tar(pieces(buffer.getvalue(), 4093), target, what="basebackups/x", digest="sha256")
    assert check.digests == {"base/1/16384": hashlib.sha256(data).hexdigest(),
                             "PG_VERSION": hashlib.sha256(b"16\n").hexdigest(),
                             "pg_wal/empty": hashlib.sha256(b"").hexdigest()}
    assert (target / "base/1/16384").stat().st_size == BIG
    assert extract_tar(pieces(buffer.getvalue()), tmp_path, what="basebackups/x").digests == {}


def manifest_of(*files: dict) -> bytes:
    return json.dumps({"PostgreSQL-Backup-Manifest-Version": 1, "Files": list(files)}).encode()


def entry(path: str, content: bytes, algorithm: str = "SHA256") -> dict:
    return {"Path": path, "Size": len(content), "Checksum-Algorithm": algorithm,
            "Checksum": hashlib.sha256(content).hexdigest() if algorithm == "SHA256" else "0badc0de"}


DIGESTS = {"PG_VERSION": hashlib.sha256(b"16\n").hexdigest(), "base/1/1": hashlib.sha256(b"page").hexdigest()}


def test_files_whose_digests_are_the_manifests_are_all_checked():
    assert manifest.compare(manifest_of(entry("PG_VERSION", b"16\n"), entry("base/1/1", b"page")), DIGESTS,
                            "SHA256", what="basebackups/x") is True


def test_a_file_whose_content_differs_from_the_manifest_is_refused_naming_it():
    with pytest.raises(manifest.FileDiffers, match=r"^basebackups/x: the content of base/1/1 differs from its "
                                                   r"backup_manifest \(SHA256\)"):
        manifest.compare(manifest_of(entry("PG_VERSION", b"16\n"), entry("base/1/1", b"pagf")), DIGESTS, "SHA256",
                         what="basebackups/x")


def test_a_file_of_the_manifest_missing_from_the_backup_is_refused_naming_it():
    with pytest.raises(manifest.FileDiffers, match="base/1/2 is listed in its backup_manifest but is not in"):
        manifest.compare(manifest_of(entry("PG_VERSION", b"16\n"), entry("base/1/2", b"page")), DIGESTS, "SHA256",
                         what="basebackups/x")


@pytest.mark.parametrize("odd", [
    entry("base/1/1", b"page", "CRC32C"),  # another algorithm than the digests': pg_verifybackup checks them
    {"Encoded-Path": "626173652f312f31", "Size": 4, "Checksum-Algorithm": "SHA256",
     "Checksum": hashlib.sha256(b"page").hexdigest()},  # a name pg_basebackup hex-encoded
], ids=["crc32c", "encoded-path"])
def test_a_manifest_entry_that_cannot_be_checked_here_leaves_the_checksums_to_pg_verifybackup(odd):
    assert manifest.compare(manifest_of(entry("PG_VERSION", b"16\n"), odd), DIGESTS, "SHA256",
                            what="basebackups/x") is False


def test_a_manifest_that_is_not_json_leaves_the_checksums_to_pg_verifybackup():
    assert manifest.compare(b"not a manifest", DIGESTS, "SHA256", what="basebackups/x") is False


MODE, SIZE = slice(100, 108), slice(124, 136)


def with_field(tar: bytes, index: int, at: slice, field: bytes, *, signed: bool = False) -> bytes:
    """`tar` with the field `at` of its `index`th 512-byte block set to `field` (NUL-padded), the header's
    checksum recomputed (over signed bytes, as old Sun and BSD tars summed them, if `signed`), so only
    the field differs: as a tar writer other than Python's may lay it out."""
    data = bytearray(tar)
    header = slice(index * 512, index * 512 + 512)
    block = bytearray(data[header])
    block[at] = field.ljust(at.stop - at.start, b"\0")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % (sum(block) - (256 * sum(b >= 0x80 for b in block) if signed else 0))
    data[header] = block
    return bytes(data)


def refusal(tar: bytes, tmp_path: Path) -> str:
    target = tmp_path / "data"
    target.mkdir(exist_ok=True)
    with pytest.raises(UnsafeMember) as refused:
        extract_tar(pieces(tar), target, what="basebackups/x")
    return str(refused.value)


@pytest.mark.parametrize("name", ["../escape", ""], ids=["dotdot", "empty"])
def test_a_path_outside_the_data_directory_is_refused_with_what_to_do(tmp_path, name):
    assert refusal(tar_bytes(member(name)), tmp_path) == (
        f"basebackups/x holds the member {name!r}, a path outside the data directory: it is not a pg_basebackup "
        "tar; do not use this backup")


def test_a_link_is_refused_with_what_to_do(tmp_path):
    assert refusal(tar_bytes(member("base/link", tarfile.SYMTYPE, linkname="/etc")), tmp_path) == (
        "basebackups/x holds 'base/link' of tar type b'2' (a link, device or extended header; tablespaces outside "
        "the data directory are not supported): use another backup")


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o1755], ids=["setuid", "setgid", "sticky"])
def test_a_set_id_or_sticky_mode_is_refused_with_what_to_do(tmp_path, mode):
    assert refusal(tar_bytes(member("base/x", mode=mode)), tmp_path) == (
        f"basebackups/x holds 'base/x' with mode {mode:o}: do not use this backup")


def test_a_set_id_mode_written_left_aligned_is_refused(tmp_path):
    """`4755` at the field's start, NUL-padded (not Python's `0004755`): GNU tar reads it as 4755."""
    tar = with_field(tar_bytes(member("base/x", mode=0o755)), 0, MODE, b"4755")
    assert refusal(tar, tmp_path).endswith("with mode 4755: do not use this backup")


def test_every_permission_bit_but_set_id_and_sticky_and_an_empty_mode_field_are_extracted(tmp_path):
    tar = tar_bytes(member("a", mode=0o777), member("b", mode=0o601), member("c", mode=0o600))
    tar = with_field(tar, 4, MODE, b"")  # c's header: after a's and b's header and data blocks
    target = tmp_path / "data"
    target.mkdir()
    assert extract_tar(pieces(tar), target, what="basebackups/x").members_seen == 3
    assert [(target / n).stat().st_mode & 0o7777 for n in "abc"] == [0o777, 0o601, 0]


def test_without_gnu_tar_on_the_path_the_restore_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError) as refused:
        extract_tar(pieces(tar_bytes(member("a"))), tmp_path, what="basebackups/x")
    assert str(refused.value) == ("GNU tar is not on PATH: install it (apt-get install tar) to restore base "
                                  "backups")


def symlink_header(name: str = "evil", target: str = "/etc") -> bytes:
    return tar_bytes(member(name, tarfile.SYMTYPE, 0o777, linkname=target))[:512]


@pytest.mark.parametrize(("at", "field", "shown"), [
    (MODE, b"07z5", b"07z5\0\0\0\0"),  # not octal
    (MODE, b" " * 8, b" " * 8),  # blanks: GNU tar reads -1, every mode bit, and writes a set-id file
    (SIZE, b"0000000001x", b"0000000001x\0"),
    (SIZE, b"\xff" * 12, b"\xff" * 12),  # base-256, negative
], ids=["mode-not-octal", "mode-blank", "size-not-octal", "size-negative"])
def test_a_header_field_gnu_tar_cannot_read_as_a_number_is_refused_with_what_to_do(tmp_path, at, field, shown):
    tar = with_field(tar_bytes(member("PG_VERSION"), member("base/x"), member("after")), 2, at, field)
    name = "mode" if at == MODE else "size"
    assert refusal(tar, tmp_path) == (f"basebackups/x holds 'base/x' with the {name} field {shown!r}, which GNU "
                                      "tar does not read as a number: do not use this backup")
    assert not (tmp_path / "data" / "base").exists() and not (tmp_path / "data" / "after").exists()


def test_a_header_whose_checksum_does_not_match_is_refused_before_tar_reads_its_data_as_headers(tmp_path):
    """GNU tar skips a header with a wrong checksum and reads on block by block: the symbolic link
    hidden in the member's data would be extracted, out of the check's sight."""
    tar = bytearray(tar_bytes(member("plain"), data=symlink_header()))
    tar[0] = ord("q")  # the name changed, the checksum not
    assert refusal(bytes(tar), tmp_path) == (
        "basebackups/x holds 'qlain' with a header whose checksum does not match (GNU tar would skip it and read "
        "its data as headers): do not use this backup")
    assert not (tmp_path / "data" / "evil").is_symlink()


@pytest.mark.parametrize("bad", [member("base/", mode=0o700), member("base", tarfile.DIRTYPE, 0o700)],
                         ids=["file-named-as-a-directory", "directory"])
def test_a_directory_with_data_is_refused_before_tar_reads_its_data_as_headers(tmp_path, bad):
    """GNU tar takes a regular file whose name ends in `/` for a directory and skips no directory's data."""
    tar = tar_bytes(bad, data=symlink_header())
    if bad.isdir():  # tarfile writes a directory without data: give it the symbolic link as data
        tar = with_field(tar[:512], 0, SIZE, b"%011o" % 512) + symlink_header() + bytes(1024)
    assert refusal(tar, tmp_path) == (
        f"basebackups/x holds {bad.name + '/' * bad.isdir()!r}, a directory with 512 bytes of data (GNU tar would "
        "read them as headers): do not use this backup")
    assert not (tmp_path / "data" / "evil").is_symlink()


def test_every_number_layout_gnu_tar_reads_is_extracted_as_gnu_tar_reads_it(tmp_path):
    """Leading spaces or a leading NUL, a space or a NUL then anything after the digits, base-256 for a
    size (pg_basebackup's for 8 GiB and more), a checksum summed over signed bytes: all read by GNU tar."""
    tar = tar_bytes(*(member(name) for name in ("a", "b", "c", "d", "é")))
    for index, at, field in [(0, MODE, b"  0751 \0"), (2, MODE, b"\0000750"), (4, MODE, b"0000644 "),
                             (6, MODE, b"640\0zz"), (6, SIZE, b"\x80" + (7).to_bytes(11, "big"))]:
        tar = with_field(tar, index, at, field)
    tar = with_field(tar, 8, MODE, b"0000604", signed=True)  # é's name holds bytes over 0x7f
    target = tmp_path / "data"
    target.mkdir()
    assert extract_tar(pieces(tar), target, what="basebackups/x").members_seen == 5
    assert [(target / n).stat().st_mode & 0o7777 for n in "abcdé"] == [0o751, 0o750, 0o644, 0o640, 0o604]
    assert {(target / n).read_bytes() for n in "abcdé"} == {b"payload"}
