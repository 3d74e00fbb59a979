"""What the WAL spool of `hv pitr restore` promises a recovery, in-process: the prefetch thread
(spool.Prefetcher) over real sealed WAL objects in a file store, asked through the real
restore_command (a shell, run as the server's OS user in the data directory, as PostgreSQL runs it),
no cluster. test_pitr_restore.py drives the same spool through a recovering server.

A spool that stops answering makes restore_command wait ASK_TIMEOUT_S (30 s) and then run `hv wal
fetch`, which recovers anyway, only slowly: each request here must be answered within
ANSWER_WITHIN_S instead, so such a spool fails a test in seconds. The fallback here stands in for
`hv wal fetch`: it prints what it was asked for and exits 126, so a test sees each time it ran.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from hv_pipelines.core.pitr import archive, spool
from hv_pipelines.core.pitr.cluster import as_server_user, hand_over, server_user
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.storage import LocalStore, StoredObject

from .test_sealed_objects import SYSTEM, put_segment, segment

ANSWER_WITHIN_S = 5
FALLBACK = "sh -c 'echo hv wal fetch \"$0\"; exit 126' %f"
HISTORY = "00000002.history"


class RecordingStore(LocalStore):
    """A file store that records each object looked up (what the spool asked the archive, in order) and
    can hold one lookup until the test lets it go, as a slow store would."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.looked_up: list[str] = []
        self.held: dict[str, threading.Event] = {}

    def head(self, key: str) -> StoredObject | None:
        self.looked_up.append(key)
        if key in self.held:
            self.held[key].wait(ANSWER_WITHIN_S)
        return super().head(key)

    def lookups(self, name: str) -> int:
        return self.looked_up.count(archive.wal_key(SYSTEM, name))


class Restored(NamedTuple):
    code: int
    fallback: str  # what the stand-in for `hv wal fetch` printed: empty when the spool answered
    content: bytes | None  # the file restore_command left at %p


@pytest.fixture
def store(tmp_path) -> RecordingStore:
    return RecordingStore(tmp_path / "objects")


@pytest.fixture
def archived(store, keyring) -> dict[str, bytes]:
    """Segments 2-13 on timeline 1 and the history file of timeline 2, each with its own content."""
    contents = {name: name.encode() * 200 for name in [segment(1, n) for n in range(2, 14)] + [HISTORY]}
    for name, content in contents.items():
        put_segment(store, keyring, name, content)
    return contents


@pytest.fixture
def data_dir(scratch) -> Path:
    """A data directory the server's OS user owns, with the pg_wal that %p names."""
    (scratch / "pg_wal").mkdir()
    hand_over(scratch / "pg_wal")
    return scratch


def prefetcher(store, keyring, data_dir: Path, names: list[str]) -> spool.Prefetcher:
    return spool.Prefetcher(store, keyring, SYSTEM, names, data_dir / spool.SPOOL)


def restore_file(data_dir: Path, name: str) -> Restored:
    """Run restore_command for `name` as PostgreSQL does: %f and %p filled in, by /bin/sh, in the data
    directory, as the server's OS user."""
    destination = data_dir / "pg_wal" / "RECOVERYXLOG"
    destination.unlink(missing_ok=True)
    command = spool.restore_command(data_dir / spool.SPOOL, FALLBACK)
    command = command.replace("%f", name).replace("%p", "pg_wal/RECOVERYXLOG")
    try:
        done = subprocess.run(["/bin/sh", "-c", command], cwd=data_dir, capture_output=True, text=True,
                              timeout=ANSWER_WITHIN_S, **as_server_user())
    except subprocess.TimeoutExpired:
        pytest.fail(f"restore_command got no answer for {name} within {ANSWER_WITHIN_S} s: the spool stopped "
                    f"answering (recovery would wait {spool.ASK_TIMEOUT_S} s, then run `hv wal fetch`)")
    return Restored(done.returncode, done.stdout.strip(), destination.read_bytes() if destination.exists() else None)


def spooled(data_dir: Path) -> set[str]:
    """The WAL files in the spool (every WAL file name starts with 0), what restore_command would take."""
    return {path.name for path in (data_dir / spool.SPOOL).glob("0*")}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + ANSWER_WITHIN_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {ANSWER_WITHIN_S} s")
        time.sleep(0.005)


def server_uid() -> int:
    user = server_user()
    return pwd.getpwnam(user).pw_uid if user else os.geteuid()


class SpoolWatcher:
    """Lists the spool over and over while a test runs and records the owner of every WAL file seen in
    it: what restore_command could have found there at any moment."""

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir, self.seen = spool_dir, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self) -> SpoolWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                entries = list(os.scandir(self.spool_dir))
            except FileNotFoundError:
                entries = []
            for entry in entries:
                if entry.name.startswith("0"):
                    try:
                        self.seen.setdefault(entry.name, set()).add(entry.stat().st_uid)
                    except FileNotFoundError:
                        continue  # taken between the listing and the stat
            time.sleep(0.0005)


# --- answers ------------------------------------------------------------------------------------------

def test_a_spooled_segment_is_restored_with_exactly_its_archived_content(store, keyring, data_dir, archived):
    names = [segment(1, n) for n in (2, 3, 4)]
    with prefetcher(store, keyring, data_dir, names) as prefetching:
        wait_for(lambda: spooled(data_dir) == set(names), "the three segments spooled")
        for name in names:
            assert restore_file(data_dir, name) == (0, "", archived[name])
        assert spooled(data_dir) == set()
        assert (prefetching.fetched, prefetching.answered) == (3, 0)


def test_a_file_not_in_the_prefetch_list_is_fetched_when_the_server_asks_for_it(store, keyring, data_dir, archived):
    """The next timeline's history file and a segment past the list: answered from the store then."""
    with prefetcher(store, keyring, data_dir, [segment(1, 2)]) as prefetching:
        wait_for(lambda: spooled(data_dir) == {segment(1, 2)}, "segment 2 spooled")
        assert restore_file(data_dir, HISTORY) == (0, "", archived[HISTORY])
        assert restore_file(data_dir, segment(1, 9)) == (0, "", archived[segment(1, 9)])
        assert (prefetching.fetched, prefetching.answered) == (1, 2)
        assert spooled(data_dir) == {segment(1, 2)}


def test_a_file_missing_from_the_archive_ends_recovery_and_later_requests_are_still_answered(
        store, keyring, data_dir, archived):
    """Exit 1 (not archived) is how a recovery learns it has reached the end of the WAL."""
    with prefetcher(store, keyring, data_dir, [segment(1, 2)]) as prefetching:
        assert restore_file(data_dir, "00000003.history") == (1, "", None)
        assert restore_file(data_dir, segment(1, 0x20)) == (1, "", None)
        assert restore_file(data_dir, segment(1, 9)) == (0, "", archived[segment(1, 9)])
        assert restore_file(data_dir, segment(1, 0x20)) == (1, "", None)  # asked again: answered again
        assert list((data_dir / spool.SPOOL / spool.ASK).iterdir()) == []  # each request and answer taken away
        assert prefetching.answered == 1


@pytest.mark.parametrize("damage", ["flipped-byte", "another-segment"])
def test_a_damaged_object_never_reaches_the_spool_and_its_request_goes_to_hv_wal_fetch(
        store, keyring, data_dir, archived, damage):
    """`hv wal fetch` meets the same damage and exits 126, fatal to recovery: it never replays past it."""
    key = archive.wal_key(SYSTEM, segment(1, 3))
    if damage == "flipped-byte":
        data = bytearray(store.read_bytes(key))
        data[len(data) // 2] ^= 0x01
        store.put_bytes(key, bytes(data))
    else:
        store.put_bytes(key, store.read_bytes(archive.wal_key(SYSTEM, segment(1, 4))))
    names = [segment(1, n) for n in (2, 3, 4)]
    with SpoolWatcher(data_dir / spool.SPOOL) as watcher, prefetcher(store, keyring, data_dir, names) as prefetching:
        wait_for(lambda: spooled(data_dir) == {segment(1, 2), segment(1, 4)}, "segments 2 and 4 spooled")
        assert restore_file(data_dir, segment(1, 2)) == (0, "", archived[segment(1, 2)])
        assert restore_file(data_dir, segment(1, 3)) == (126, f"hv wal fetch {segment(1, 3)}", None)
        assert restore_file(data_dir, segment(1, 4)) == (0, "", archived[segment(1, 4)])
        assert list((data_dir / spool.SPOOL / spool.INCOMING).iterdir()) == []
        assert (prefetching.fetched, prefetching.answered) == (2, 0)
        assert store.lookups(segment(1, 3)) == 2  # prefetched, then asked for: refused both times
    assert segment(1, 3) not in watcher.seen and {segment(1, 2), segment(1, 4)} <= watcher.seen.keys()


# --- prefetching --------------------------------------------------------------------------------------

def test_prefetching_stays_at_most_AHEAD_files_ahead_of_the_server(store, keyring, data_dir, archived):
    names = [segment(1, n) for n in range(2, 14)]
    with prefetcher(store, keyring, data_dir, names) as prefetching:
        wait_for(lambda: len(spooled(data_dir)) >= spool.AHEAD, f"{spool.AHEAD} segments spooled")
        time.sleep(0.3)  # a ninth would follow at once: under the bound the thread fetches without pausing
        assert spooled(data_dir) == set(names[:spool.AHEAD]) and prefetching.fetched == spool.AHEAD
        assert restore_file(data_dir, names[0]) == (0, "", archived[names[0]])
        wait_for(lambda: names[spool.AHEAD] in spooled(data_dir), "the next segment spooled once one was taken")
        time.sleep(0.3)
        assert spooled(data_dir) == set(names[1:spool.AHEAD + 1]) and prefetching.fetched == spool.AHEAD + 1


def test_a_segment_the_server_got_by_asking_is_not_prefetched_again(store, keyring, data_dir, archived):
    """The server asked for segment 12 while the spool was full (prefetching was behind it): spooled
    again when prefetching reached it, nobody would take it, and it would hold one of the AHEAD places."""
    names = [segment(1, n) for n in range(2, 14)]
    with prefetcher(store, keyring, data_dir, names) as prefetching:
        wait_for(lambda: len(spooled(data_dir)) == spool.AHEAD, "the spool full")
        assert restore_file(data_dir, segment(1, 12)) == (0, "", archived[segment(1, 12)])
        for number in [*range(2, 12), 13]:
            wait_for(lambda n=number: segment(1, n) in spooled(data_dir), f"segment {number} prefetched")
            assert restore_file(data_dir, segment(1, number)) == (0, "", archived[segment(1, number)])
        assert spooled(data_dir) == set()
        assert (prefetching.fetched, prefetching.answered) == (11, 1)
        assert store.lookups(segment(1, 12)) == 1


@pytest.mark.parametrize(("first", "answer"), [(segment(1, 1), spool.ABSENT), (segment(1, 8), spool.FAILED)],
                         ids=["not-archived", "damaged"])
def test_requests_are_all_answered_before_the_next_segment_is_prefetched(store, keyring, data_dir, archived, first,
                                                                          answer):
    """The server waits on a request, never on a prefetch. Two requests arrive while segment 2 is being
    fetched from a slow store: both are answered before segment 3 is fetched, though the first is not
    archived or its object is damaged."""
    store.put_bytes(archive.wal_key(SYSTEM, segment(1, 8)), store.read_bytes(archive.wal_key(SYSTEM, segment(1, 9))))
    store.held[archive.wal_key(SYSTEM, segment(1, 2))] = slow = threading.Event()
    asked = data_dir / spool.SPOOL / spool.ASK
    with prefetcher(store, keyring, data_dir, [segment(1, n) for n in (2, 3, 4)]):
        wait_for(lambda: store.lookups(segment(1, 2)) == 1, "segment 2 being fetched")
        for name in (first, segment(1, 13)):
            (asked / name).touch()  # as restore_command asks
        slow.set()
        wait_for(lambda: spooled(data_dir) == {segment(1, n) for n in (2, 3, 4, 13)}, "everything answered")
        assert (asked / f"{first}{answer}").exists()
        assert store.looked_up == [archive.wal_key(SYSTEM, name) for name in
                                   (segment(1, 2), first, segment(1, 13), segment(1, 3), segment(1, 4))]


def test_requests_left_behind_by_a_killed_restore_command_are_answered_once_and_hold_up_no_later_request(
        store, keyring, data_dir, archived):
    """A restore_command killed while it waited (the server stopping) leaves its request, and the
    answer, in `ask/`: one for a segment already spooled, one not archived, one damaged. Each is
    looked up in the archive once, not again at every pass, and a later request (sorted after them)
    is still answered."""
    store.put_bytes(archive.wal_key(SYSTEM, segment(1, 8)), store.read_bytes(archive.wal_key(SYSTEM, segment(1, 9))))
    asked = data_dir / spool.SPOOL / spool.ASK
    with prefetcher(store, keyring, data_dir, [segment(1, 2)]) as prefetching:
        wait_for(lambda: spooled(data_dir) == {segment(1, 2)}, "segment 2 spooled")
        for name, answer in ((segment(1, 2), None), (segment(1, 1), spool.ABSENT), (segment(1, 8), spool.FAILED)):
            (asked / name).touch()
            if answer:
                wait_for(lambda a=asked / f"{name}{answer}": a.exists(), f"{name} answered {answer}")
        assert restore_file(data_dir, segment(1, 9)) == (0, "", archived[segment(1, 9)])
        assert [store.lookups(segment(1, n)) for n in (1, 2, 8, 9)] == [1, 1, 1, 1]
        assert (prefetching.fetched, prefetching.answered) == (1, 1)
        assert spooled(data_dir) == {segment(1, 2)}
        assert sorted(path.name for path in asked.iterdir()) == [
            segment(1, 1), f"{segment(1, 1)}{spool.ABSENT}", segment(1, 2), segment(1, 8),
            f"{segment(1, 8)}{spool.FAILED}"]
        for answer in (f"{segment(1, 1)}{spool.ABSENT}", f"{segment(1, 8)}{spool.FAILED}"):
            assert (asked / answer).stat().st_uid == server_uid()  # restore_command removes it as that user


def test_after_the_last_segment_of_the_list_the_spool_still_answers(store, keyring, data_dir, archived):
    """What a recovery asks for last comes after the list: the segment after the last archived one, the
    next timeline's history file."""
    names = [segment(1, 2), segment(1, 3)]
    with prefetcher(store, keyring, data_dir, names) as prefetching:
        wait_for(lambda: spooled(data_dir) == set(names), "both segments spooled")
        assert restore_file(data_dir, segment(1, 2)) == (0, "", archived[segment(1, 2)])
        assert restore_file(data_dir, segment(1, 3)) == (0, "", archived[segment(1, 3)])
        assert restore_file(data_dir, segment(1, 4)) == (0, "", archived[segment(1, 4)])
        assert restore_file(data_dir, HISTORY) == (0, "", archived[HISTORY])
        assert restore_file(data_dir, segment(1, 0x20)) == (1, "", None)
        assert (prefetching.fetched, prefetching.answered) == (2, 2)


def test_with_nothing_to_prefetch_the_spool_answers_requests(store, keyring, data_dir, archived):
    with prefetcher(store, keyring, data_dir, []) as prefetching:
        assert restore_file(data_dir, segment(1, 2)) == (0, "", archived[segment(1, 2)])
        assert restore_file(data_dir, segment(1, 0x20)) == (1, "", None)
        assert (prefetching.fetched, prefetching.answered) == (0, 1)


# --- the server's files, and the spool's end ----------------------------------------------------------

def test_every_file_in_the_spool_is_the_servers_before_it_appears(store, keyring, data_dir, archived):
    """The server (its own OS user when hv runs as root) must be able to take each file the moment it
    sees it: a file is fetched into `.incoming`, handed over, and only then renamed into the spool."""
    names = [segment(1, n) for n in range(2, 6)]
    with SpoolWatcher(data_dir / spool.SPOOL) as watcher, prefetcher(store, keyring, data_dir, names):
        root = data_dir / spool.SPOOL
        assert {path.stat().st_uid for path in (root, root / spool.ASK, root / spool.INCOMING,
                                                root / spool.BOOT)} == {server_uid()}
        wait_for(lambda: spooled(data_dir) == set(names), "the segments spooled")
        assert restore_file(data_dir, segment(1, 9)) == (0, "", archived[segment(1, 9)])
    assert set(names) <= watcher.seen.keys()
    assert {uid for uids in watcher.seen.values() for uid in uids} == {server_uid()}


def test_the_spool_is_removed_when_the_restore_leaves_it(store, keyring, data_dir, archived):
    """With files nobody took and a request left behind, and when the restore fails: nothing stays in
    the data directory but what was there, and restore_command then runs `hv wal fetch`."""
    with prefetcher(store, keyring, data_dir, [segment(1, 2), segment(1, 3)]):
        wait_for(lambda: len(spooled(data_dir)) == 2, "the segments spooled")
        (data_dir / spool.SPOOL / spool.ASK / segment(1, 4)).touch()
    assert sorted(path.name for path in data_dir.iterdir()) == ["pg_wal"]
    with pytest.raises(RuntimeError, match="recovery failed"), prefetcher(store, keyring, data_dir, [segment(1, 2)]):
        wait_for(lambda: len(spooled(data_dir)) == 1, "segment 2 spooled")
        raise RuntimeError("recovery failed")
    assert sorted(path.name for path in data_dir.iterdir()) == ["pg_wal"]
    assert restore_file(data_dir, segment(1, 2)) == (126, f"hv wal fetch {segment(1, 2)}", None)


def test_a_failed_restore_reports_its_own_error_though_the_server_still_asks_as_the_spool_is_removed(
        store, keyring, data_dir):
    """When recovery fails the spool is left before the server is stopped, so restore_command may still
    be making requests while it is removed (a directory not empty when it is deleted): the restore's own
    error is what the operator sees, not the removal's."""
    asked = data_dir / spool.SPOOL / spool.ASK
    asking = f'i=1000000000; while : > "{asked}/00000002000000$i"; do i=$((i+1)); done'  # segments never archived
    server = None
    try:
        with pytest.raises(RuntimeError, match="^recovery failed$"), prefetcher(store, keyring, data_dir, []):
            server = subprocess.Popen(["/bin/sh", "-c", asking], stderr=subprocess.DEVNULL, **as_server_user())
            wait_for(lambda: len(list(asked.iterdir())) > 1000, "the server asking")
            raise RuntimeError("recovery failed")
    finally:
        if server is not None:
            server.kill()
            server.wait()


def test_a_spool_written_in_another_boot_is_not_used(store, keyring, data_dir, archived):
    """Spooled files are not fsynced: after an OS crash one could be torn, so restore_command takes them
    only in the boot they were written in and otherwise runs `hv wal fetch` (which syncs)."""
    with prefetcher(store, keyring, data_dir, [segment(1, 2)]):
        wait_for(lambda: spooled(data_dir) == {segment(1, 2)}, "segment 2 spooled")
        boot = data_dir / spool.SPOOL / spool.BOOT
        assert boot.read_text() == spool.BOOT_ID.read_text()
        boot.write_text("0c9a8e52-another-boot\n")
        assert restore_file(data_dir, segment(1, 2)) == (126, f"hv wal fetch {segment(1, 2)}", None)
        assert spooled(data_dir) == {segment(1, 2)}


# --- what is prefetched -------------------------------------------------------------------------------

def test_the_segments_after_a_backup_are_prefetched_in_order_on_the_newest_timeline(store, keyring):
    """Timeline 2 branched off timeline 1 at segment 4 and timeline 3 off timeline 2 at segment 5 (two
    promotions): recovery follows the newest, so segment 4 is timeline 2's and 5 on are timeline 3's.
    What comes before the backup's first segment, and history files, are not asked for ahead."""
    for name in (segment(1, 1), segment(1, 2), segment(1, 3), segment(1, 4), HISTORY, segment(2, 4),
                 segment(2, 5), "00000003.history", segment(3, 5), segment(3, 6)):
        put_segment(store, keyring, name)
    state = read_state(store, keyring, SYSTEM)
    assert spool.names_after(state, 2) == [segment(1, 2), segment(1, 3), segment(2, 4), segment(3, 5),
                                           segment(3, 6)]
    assert spool.names_after(state, 5) == [segment(3, 5), segment(3, 6)]
    assert spool.names_after(state, 7) == []
