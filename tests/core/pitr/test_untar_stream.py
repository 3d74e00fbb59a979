"""`extract_tar`'s plumbing (core/pitr/untar.py): the decrypting thread, the member check and the GNU tar child.

Whatever stops an extraction (a refusal, a chunk failing authentication, tar failing) is raised to the
caller as itself, tar is stopped and waited for, the decrypting thread has ended, no descriptor is
left open, and decryption has not run far ahead of tar. Real tar streams into real GNU tar, no cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from hv_pipelines.core.errors import IntegrityError, StorageError
from hv_pipelines.core.pitr.untar import PIPE_SIZE, QUEUE_PIECES, UnsafeMember, extract_tar
from tests.core.pitr.test_pitr_untar import member, pieces, tar_bytes

TAR = shutil.which("tar")

# A broken hand-over hangs the threads: fail in seconds (a mutant costs that, not mutmut's timeout).
pytestmark = pytest.mark.timeout(20)


def children() -> set[int]:
    """This process's children, running or not yet waited for."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def state() -> tuple:
    return children(), threading.active_count(), sorted(os.listdir("/proc/self/fd"))


@pytest.fixture
def nothing_left():
    """Call after the extraction, while its exception is held (so that its frames and their `Popen` are
    not collected): no child left (tar waited for), no thread (decryption ended), no descriptor open."""
    before = state()
    return lambda: state() == before


def whole_members_then(failure: Exception, tar: bytes, cut: int):
    """The tar's first `cut` bytes (whole members), then `failure`: an object cut at a member boundary."""
    yield tar[:cut]
    raise failure


@pytest.mark.parametrize("failure", [
    IntegrityError("chunk 1 of the encrypted object failed authentication"),
    StorageError("the object store closed the connection"),
    KeyboardInterrupt(),
], ids=["integrity", "store", "interrupt"])
def test_a_failure_of_the_decrypting_side_at_a_member_boundary_is_raised_as_itself(
        tmp_path, nothing_left, failure):
    """Cut where a member ends, what tar was given is a valid tar: only the failure says the backup is not whole."""
    tar = tar_bytes(member("a"), member("b"))
    target = tmp_path / "data"
    target.mkdir()
    with pytest.raises(type(failure)) as raised:
        extract_tar(whole_members_then(failure, tar, 1024), target, what="basebackups/x")
    assert raised.value is failure
    assert not (target / "b").exists() and nothing_left()


def test_a_refusal_stops_decryption_within_the_pieces_in_flight_and_stops_tar(tmp_path, nothing_left):
    drawn = []

    def decrypted():
        yield from pieces(tar_bytes(member("PG_VERSION"), member("base/link", tarfile.SYMTYPE, linkname="/etc")))
        for number in range(10 * QUEUE_PIECES):
            drawn.append(number)
            yield bytes(512)

    target = tmp_path / "data"
    target.mkdir()
    with pytest.raises(UnsafeMember, match="^basebackups/x holds 'base/link' of tar type b'2'") as raised:
        extract_tar(decrypted(), target, what="basebackups/x")
    assert len(drawn) <= QUEUE_PIECES + 2
    assert not (target / "base").exists() and nothing_left() and raised


def test_tar_stopping_part_way_is_reported_with_its_own_words(tmp_path, nothing_left):
    """tar cannot change into the target and exits at once; the 4 MiB behind it meet a closed pipe."""
    target = tmp_path / "gone"
    tar = tar_bytes(member("a"), data=os.urandom(4 * 1024 * 1024))
    with pytest.raises(StorageError) as raised:
        extract_tar(pieces(tar, 64 * 1024), target, what="basebackups/x")
    assert str(raised.value) == (
        f"tar could not extract basebackups/x into {target}: {TAR}: {target}: Cannot open: No such file or "
        f"directory | {TAR}: Error is not recoverable: exiting now; check the disk space and permissions of the "
        "target, then restore again")
    assert nothing_left()


def test_a_tar_failing_on_many_members_is_reported_by_its_last_three_lines(tmp_path, nothing_left):
    target = tmp_path / "data"
    target.mkdir()
    (target / "base").write_bytes(b"")  # a file where the tar's directory goes
    tar = tar_bytes(*(member(f"base/{n}") for n in range(1, 6)))
    with pytest.raises(StorageError) as raised:
        extract_tar(pieces(tar), target, what="basebackups/x")
    assert str(raised.value) == (
        f"tar could not extract basebackups/x into {target}: {TAR}: base/4: Cannot open: Not a directory | "
        f"{TAR}: base/5: Cannot open: Not a directory | {TAR}: Exiting with failure status due to previous errors; "
        "check the disk space and permissions of the target, then restore again")
    assert nothing_left()


@pytest.fixture
def slow_tar(tmp_path, monkeypatch):
    """GNU tar behind a script on PATH that starts it half a second late and records what it got: its
    environment and the size of the pipe it reads (untar.PIPE_SIZE, set once tar has started)."""
    record = tmp_path / "tar.json"
    wrapper = tmp_path / "bin" / "tar"
    wrapper.parent.mkdir()
    wrapper.write_text(f"""#!{sys.executable}
import fcntl, json, os, sys, time
time.sleep(0.5)
with open({str(record)!r}, "w") as record:
    json.dump({{"env": dict(os.environ), "pipe": fcntl.fcntl(0, fcntl.F_GETPIPE_SZ)}}, record)
os.execv({TAR!r}, [{TAR!r}, *sys.argv[1:]])
""")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{os.environ['PATH']}")
    return record


def test_a_tar_slow_to_take_the_stream_gets_all_of_it_and_none_of_our_secrets(
        tmp_path, monkeypatch, slow_tar, nothing_left):
    """Decryption waits for tar (the pipe and the queue full) without dropping or ending the stream; tar
    reads a pipe of PIPE_SIZE (fewer, larger writes) and gets no secret of ours."""
    monkeypatch.setenv("ENCRYPTION_KEY", "ab" * 32)
    data = os.urandom(3 * 1024 * 1024)
    target = tmp_path / "data"
    target.mkdir()
    check = extract_tar(pieces(tar_bytes(member("a"), member("b"), data=data), 16 * 1024), target,
                        what="basebackups/x")
    assert check.members_seen == 2
    assert (target / "a").read_bytes() == data == (target / "b").read_bytes()
    started = json.loads(slow_tar.read_text())
    assert "ENCRYPTION_KEY" not in started["env"] and "PATH" in started["env"]
    assert started["pipe"] == PIPE_SIZE
    assert nothing_left()
