"""Prefetch archived WAL for a running recovery, so restore_command need not start `hv` per segment.

PostgreSQL runs restore_command once per segment, one after the other; starting Python for each
costs more than fetching the segment. While a restore recovers, a thread of the restoring process
fetches the segments that follow the base backup — authenticated end to end, as `hv wal fetch`
does — into a spool directory inside the data directory, a few segments ahead, and restore_command
takes a spooled segment with `mv` before it falls back to `hv wal fetch`:

    f=SPOOL/%f; if [ -f "$f" ]; then mv "$f" "%p"; else exec hv wal fetch %f %p ...; fi

A spooled file is only ever a complete, authenticated segment (written under a temporary name,
renamed when whole). A segment the thread could not fetch is simply not spooled: the fallback then
meets the same problem and reports it. The spool is removed when recovery is over.
"""

from __future__ import annotations

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


def restore_command(spool: Path, fallback: str) -> str:
    """The shell restore_command: a spooled segment if there is one, else `fallback` (hv wal fetch)."""
    path = shlex.quote(str(spool))
    return f'f={path}/%f; if [ -f "$f" ]; then mv "$f" "%p"; else exec {fallback}; fi'


class Prefetcher:
    """Fetches `names` in order into `spool`, keeping at most AHEAD files there, until stopped."""

    def __init__(self, store: ObjectStore, keyring: Keyring, system_identifier: str, names: list[str],
                 spool: Path) -> None:
        self.store, self.keyring, self.system, self.names, self.spool = (store, keyring, system_identifier, names,
                                                                         spool)
        self.fetched = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-prefetch", daemon=True)

    def __enter__(self) -> Prefetcher:
        self.spool.mkdir(exist_ok=True)
        hand_over(self.spool)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        shutil.rmtree(self.spool, ignore_errors=True)

    def _run(self) -> None:
        for name in self.names:
            while not self._stop.is_set() and sum(1 for _ in self.spool.glob("0*")) >= AHEAD:
                self._stop.wait(0.05)
            if self._stop.is_set():
                return
            try:
                archive.fetch(name, self.spool / name, self.store, self.keyring, self.system)
            except HVError:
                continue  # the fallback (hv wal fetch) meets the same problem and reports it
            hand_over(self.spool / name)
            self.fetched += 1


def names_after(state: ArchiveState, first_segment: int) -> list[str]:
    """Segment names from `first_segment` on, in replay order. Where timelines overlap, the highest:
    recovery follows the latest timeline (a name it does not ask for would only hold a spool place)."""
    return [max(objects, key=lambda o: o.wal.timeline).wal.name
            for number, objects in sorted(state.segments.items()) if number >= first_segment]
