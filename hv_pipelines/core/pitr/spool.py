"""Serve archived WAL to a running recovery from the restoring process, so restore_command need not
start `hv` per file.

PostgreSQL runs restore_command once per file, one after the other; starting Python for each costs
more than fetching a segment (0.3-1 s on a busy machine), and a recovery also asks for files that
do not exist (the next timeline's history, the segment after the last one) and for the last
segment twice. While a restore recovers, a thread of the restoring process

- fetches the segments that follow the base backup — authenticated end to end, as `hv wal fetch`
  does — into a spool directory inside the data directory, AHEAD of the server, and
- answers what the server asks for that is not spooled: restore_command leaves a request file in
  `SPOOL/ask/`, the thread fetches that name from the store right then (so the answer is what `hv
  wal fetch` would give at that moment) and spools it, or marks it `.absent` (not archived: exit 1,
  recovery ends there) or `.failed` (anything else).

restore_command takes a spooled file with `mv`; for a `.failed` answer, no answer within ASK_TIMEOUT_S,
or no spool (the restoring process is gone), it runs `hv wal fetch`, which meets the same problem
and reports it (exit 126: fatal to recovery). A spooled file is only ever a complete, authenticated
file (written under a temporary name, renamed when whole). The spool is removed when recovery is over.

Spooled files are not fsynced (an fsync per 16 MiB segment made fetching them 2.5x slower, and the
floor's `cp` syncs nothing): within one boot every reader sees them whole. Only an OS crash could
leave one torn, so the spool records the boot it was written in (`BOOT`, the kernel's boot id) and
restore_command uses it only in that same boot; after a reboot it runs `hv wal fetch`, which syncs.
"""

from __future__ import annotations

import os
import shlex
import shutil
import threading
from pathlib import Path

from hv_pipelines.core.errors import HVError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import archive
from hv_pipelines.core.pitr.cluster import hand_over
from hv_pipelines.core.pitr.inventory import ArchiveState
from hv_pipelines.core.storage import ObjectStore

SPOOL = "hv_wal_spool"
AHEAD = 8  # segments fetched ahead of the server (16 MiB each on disk)
ASK = "ask"
INCOMING = ".incoming"  # fetched here, handed to the server's OS user, then renamed into the spool
ABSENT, FAILED = ".absent", ".failed"
POLL_S = 0.02
ASK_TIMEOUT_S = 30  # then `hv wal fetch` (a fetch of a segment from a slow store may take longer)
BOOT = "boot"  # the boot id the spool was written in
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def restore_command(spool: Path, fallback: str) -> str:
    """The shell restore_command: a spooled file, else ask the restoring process, else `fallback`."""
    path = shlex.quote(str(spool))
    polls = int(ASK_TIMEOUT_S / POLL_S)
    return (f'f={path}/%f; a={path}/{ASK}/%f; b=; s=; {{ read b < {BOOT_ID}; read s < {path}/{BOOT}; }} 2>/dev/null; '
            f'if [ -z "$b" ] || [ "$b" != "$s" ]; then exec {fallback}; fi; '
            f'if [ ! -f "$f" ] && [ -d {path}/{ASK} ]; then rm -f "$a{ABSENT}" "$a{FAILED}"; : > "$a"; n=0; '
            f'while [ ! -f "$f" ] && [ ! -f "$a{ABSENT}" ] && [ ! -f "$a{FAILED}" ] && [ $n -lt {polls} ]; '
            f'do sleep {POLL_S}; n=$((n+1)); done; rm -f "$a"; '
            f'if [ -f "$a{ABSENT}" ]; then rm -f "$a{ABSENT}"; exit 1; fi; rm -f "$a{FAILED}"; fi; '
            f'if [ -f "$f" ]; then mv "$f" "%p" || exit 126; else exec {fallback}; fi')


class Prefetcher:
    """Fetches `names` in order into `spool`, keeping at most AHEAD files there, and answers the
    server's requests (`spool/ask/NAME`), until stopped."""

    def __init__(self, store: ObjectStore, keyring: Keyring, system_identifier: str, names: list[str],
                 spool: Path) -> None:
        self.store, self.keyring, self.system, self.names, self.spool = (store, keyring, system_identifier, names,
                                                                         spool)
        self.fetched = 0
        self.answered = 0  # requests answered from the store (files not spooled ahead, or asked twice)
        self._asked: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-prefetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        (self.spool / ASK).mkdir(parents=True, exist_ok=True)
        (self.spool / INCOMING).mkdir()
        (self.spool / BOOT).write_text(BOOT_ID.read_text())
        hand_over(self.spool)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        shutil.rmtree(self.spool, ignore_errors=True)

    def _run(self) -> None:
        ahead = iter(self.names)
        following = next(ahead, None)
        while not self._stop.is_set():
            self._answer_requests()
            if following is not None and sum(1 for _ in self.spool.glob("0*")) < AHEAD:
                if following not in self._asked and self._fetch(following):
                    self.fetched += 1
                following = next(ahead, None)
                continue
            self._stop.wait(POLL_S)

    def _answer_requests(self) -> None:
        asked = self.spool / ASK
        for request in sorted(asked.iterdir()):
            name = request.name
            if name.endswith((ABSENT, FAILED)) or (self.spool / name).exists():
                continue
            if (asked / f"{name}{ABSENT}").exists() or (asked / f"{name}{FAILED}").exists():
                continue
            self._asked.add(name)
            try:
                self._spool(name)
            except archive.WalNotFound:
                self._answer(asked / f"{name}{ABSENT}")
                continue
            except HVError:
                self._answer(asked / f"{name}{FAILED}")  # `hv wal fetch` meets it again and reports it
                continue
            self.answered += 1

    def _answer(self, marker: Path) -> None:
        marker.touch()
        hand_over(marker)

    def _fetch(self, name: str) -> bool:
        try:
            self._spool(name)
        except HVError:
            return False  # when the server asks for it, the request meets the same problem and reports it
        return True

    def _spool(self, name: str) -> None:
        """Fetch `name` and only then let it appear in the spool, already the server's to move."""
        incoming = self.spool / INCOMING / name
        archive.fetch(name, incoming, self.store, self.keyring, self.system, sync=False)  # see BOOT
        hand_over(incoming)
        os.replace(incoming, self.spool / name)


def names_after(state: ArchiveState, first_segment: int) -> list[str]:
    """Segment names from `first_segment` on, in replay order. Where timelines overlap, the highest:
    recovery follows the latest timeline (a name it does not ask for would only hold a spool place)."""
    return [max(objects, key=lambda o: o.wal.timeline).wal.name
            for number, objects in sorted(state.segments.items()) if number >= first_segment]
