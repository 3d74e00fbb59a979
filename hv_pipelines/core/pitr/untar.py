"""Extract a base backup's tar stream into a data directory: decompression, checks and GNU tar in parallel.

Python's tarfile extracts member by member on the thread that also decompresses, so a restore spent
its time one stage after another. Here three things run at once:

- a thread reads the sealed object, authenticates every chunk and decompresses it (AES-GCM and zstd
  release the GIL), handing plaintext pieces over through a bounded queue (memory stays at
  QUEUE_PIECES pieces whatever the backup's size);
- the calling thread follows the 512-byte tar headers of those pieces (`MemberCheck`) and refuses a
  member pg_basebackup never writes (an absolute or `..` name, a link, a device, a set-id mode)
  before a byte of it is passed on, then writes the pieces into the pipe of
- `tar -x` (GNU tar, a child process) which creates the files. GNU tar itself also strips leading
  `/` and refuses `..` members; the check above makes that a refusal of the whole backup.

Only authenticated plaintext ever reaches tar, and only inside the target directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from hv_pipelines.core.child_env import child_env
from hv_pipelines.core.errors import ConfigurationError, IntegrityError, StorageError
from hv_pipelines.core.pitr.tartap import BLOCK, TarTap, _name, _number, _size

QUEUE_PIECES = 8  # plaintext pieces in flight (each at most a few MiB)
PIPE_SIZE = 1024 * 1024  # fewer, larger writes into tar
REGULAR, DIRECTORY = (b"0", b"\0"), b"5"
_DONE = object()


class UnsafeMember(IntegrityError):
    """A tar member a pg_basebackup tar never holds, so extracting it could write outside the target."""


class MemberCheck(TarTap):
    """Follows the tar headers as the stream passes and refuses any member but a plain file or
    directory with a relative name inside the target (no `..`, no set-id bits).

    With `digest` (a hashlib name), it also hashes every regular file as it passes: `digests[name]`
    is the hex digest of what tar was given, to compare with the backup's manifest (the tar's last
    member) once it has been authenticated, instead of reading every file back from disk afterwards."""

    def __init__(self, what: str, digest: str | None = None) -> None:
        super().__init__(())
        self.what = what
        self.members_seen = 0
        self.digest = digest
        self.digests: dict[str, str] = {}
        self._hashing: tuple[str, hashlib._Hash] | None = None

    def _start_member(self, header: bytes) -> None:
        if header != bytes(BLOCK):
            self._refuse_unsafe(header)
            self.members_seen += 1
            if self.digest and header[156:157] in REGULAR:
                if _size(header):
                    self._hashing = (_name(header), hashlib.new(self.digest))
                else:
                    self.digests[_name(header)] = hashlib.new(self.digest).hexdigest()
        super()._start_member(header)

    def _member_data(self, data: memoryview) -> None:
        super()._member_data(data)
        if self._hashing is not None:
            self._hashing[1].update(data)  # releases the GIL: decryption goes on meanwhile

    def _end_member(self) -> None:
        super()._end_member()
        if self._hashing is not None:
            name, hasher = self._hashing
            self.digests[name] = hasher.hexdigest()
            self._hashing = None

    def _refuse_unsafe(self, header: bytes) -> None:
        """Refuse a member unless GNU tar will read its header as this check does: the same name, kind,
        mode and size, so that the data this check skips is the data tar writes into that member."""
        name, kind = _name(header), header[156:157]
        if not _checksum_matches(header):
            raise UnsafeMember(f"{self.what} holds {name!r} with a header whose checksum does not match (GNU tar "
                               "would skip it and read its data as headers): do not use this backup")
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or not name:
            raise UnsafeMember(f"{self.what} holds the member {name!r}, a path outside the data directory: "
                               "it is not a pg_basebackup tar; do not use this backup")
        if kind not in (*REGULAR, DIRECTORY):
            raise UnsafeMember(f"{self.what} holds {name!r} of tar type {kind!r} (a link, device or extended "
                               "header; tablespaces outside the data directory are not supported): "
                               "use another backup")
        mode, size = self._field(header, name, "mode", 100, 108), self._field(header, name, "size", 124, 136)
        if mode & 0o7000:
            raise UnsafeMember(f"{self.what} holds {name!r} with mode {mode:o}: do not use this backup")
        if (kind == DIRECTORY or name.endswith("/")) and size:  # GNU tar: a file named `x/` is a directory
            raise UnsafeMember(f"{self.what} holds {name!r}, a directory with {size} bytes of data (GNU tar "
                               "would read them as headers): do not use this backup")

    def _field(self, header: bytes, name: str, field: str, start: int, end: int) -> int:
        try:
            return _number(header[start:end])
        except ValueError:
            raise UnsafeMember(f"{self.what} holds {name!r} with the {field} field {header[start:end]!r}, which "
                               "GNU tar does not read as a number: do not use this backup") from None


def _checksum_matches(header: bytes) -> bool:
    """GNU tar's test (`tar_checksum` in its list.c): the header's bytes, its checksum field counted as
    spaces, summed as unsigned bytes (POSIX) or as signed ones (old Sun and BSD tars) equal the octal
    number in that field. A header that fails it is skipped by GNU tar, which goes on reading the
    next block, the member's data, as a header."""
    try:
        recorded = _number(header[148:156], octal_only=True)
    except ValueError:
        return False
    unsigned = sum(header) - sum(header[148:156]) + 8 * ord(" ")
    return recorded in (unsigned, unsigned - 256 * sum(byte >= 0x80 for byte in header))


def _tar() -> str:
    tar = shutil.which("tar")
    if tar is None:
        raise ConfigurationError("GNU tar is not on PATH: install it (apt-get install tar) to restore base backups")
    return tar


def extract_tar(pieces: Iterable[bytes], data_dir: Path, *, what: str, digest: str | None = None) -> MemberCheck:
    """Extract the tar whose bytes `pieces` yields into `data_dir`; the check that followed it (the
    number of members and, with `digest`, each file's digest).

    `pieces` is consumed on a thread of its own; its IntegrityError (a chunk failing authentication,
    a cut zstd frame) is raised here after tar has been stopped. The caller removes what was written
    on any error."""
    handoff: queue.Queue = queue.Queue(QUEUE_PIECES)
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item: object) -> bool:
        """Hand `item` over unless the consumer has stopped (then it never takes another)."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for piece in pieces:
                if not put(piece):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
            failure.append(exc)
        put(_DONE)

    def received() -> Iterator[bytes]:
        while (piece := handoff.get()) is not _DONE:
            yield piece
        if failure:
            raise failure[0]

    check = MemberCheck(what, digest)
    with tempfile.TemporaryFile() as messages:  # unnamed: tar's messages, never plaintext
        tar = subprocess.Popen([_tar(), "-x", "-f", "-", "-C", str(data_dir), "--no-same-owner",
                                "--delay-directory-restore"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=messages, env=child_env())
        with contextlib.suppress(OSError):  # over the system's limit: the default works, with more switches
            fcntl.fcntl(tar.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        producer = threading.Thread(target=produce, name="basebackup-decrypt", daemon=True)
        producer.start()
        try:
            try:
                for piece in check.through(received()):
                    tar.stdin.write(piece)
                tar.stdin.close()
            except BrokenPipeError:
                pass  # tar stopped early: its exit status and message say why
            if tar.wait() != 0:
                messages.seek(0)
                lines = " | ".join(messages.read().decode(errors="replace").strip().splitlines()[-3:])
                raise StorageError(f"tar could not extract {what} into {data_dir}: {lines}; check the disk space "
                                   "and permissions of the target, then restore again")
        except BaseException:
            if tar.poll() is None:
                tar.kill()
                tar.wait()
            raise
        finally:
            stop.set()
            producer.join()
            if not tar.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    tar.stdin.close()
    return check
