"""The landing location (`HV_TERMINOLOGY_LANDING`): where data engineers drop new releases.

A directory or an `s3://bucket/prefix`. Each top-level entry is one release: a zip, a single
file (an ICD-10-CM order file, a PPRRVU csv) or a folder (an extracted release). Entries are
recognised by name only, so the sensor never downloads a release just to look at it, and an entry
still being written (modified within the settle time) is left for a later tick.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.storage import LocalStore, ObjectStore, StoredObject, open_store
from hv_pipelines.core.terminology.detect import identify, version_key
from hv_pipelines.core.terminology.release import ReleaseError

SETTLE_SECONDS = 60


@dataclass(frozen=True)
class LandedRelease:
    entry: str
    system: str | None
    version: str | None
    fingerprint: str
    settled: bool


class Landing:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @classmethod
    def open(cls, url: str | None, *, endpoint_url: str | None = None) -> Landing:
        if not url:
            raise ConfigurationError("HV_TERMINOLOGY_LANDING is not set: point it at the directory or s3:// "
                                     "prefix where new terminology releases are dropped")
        return cls(open_store(url, endpoint_url=endpoint_url))

    def releases(self, *, settle_seconds: int = SETTLE_SECONDS) -> list[LandedRelease]:
        entries: dict[str, list[StoredObject]] = defaultdict(list)
        for obj in self.store.list():
            entries[obj.key.split("/", 1)[0]].append(obj)
        now = datetime.now(UTC)
        found = []
        for entry, objects in sorted(entries.items()):
            named = identify([entry] + [o.key for o in objects])
            stamp = "|".join(f"{o.key}:{o.size}:{o.last_modified}" for o in sorted(objects, key=lambda o: o.key))
            newest = max((o.last_modified for o in objects if o.last_modified), default=None)
            settled = newest is None or now - newest >= timedelta(seconds=settle_seconds)
            found.append(LandedRelease(entry, named.system if named else None, named.version if named else None,
                                       hashlib.sha256(stamp.encode()).hexdigest()[:16], settled))
        return found

    def newest(self, system: str) -> LandedRelease:
        candidates = [r for r in self.releases(settle_seconds=0) if r.system == system and r.version]
        if not candidates:
            raise ReleaseError(f"no {system} release on the landing location {self.store.url}: drop the release "
                               "there (zip, file or folder, named as its publisher names it) or give its path")
        return max(candidates, key=lambda r: version_key(r.version or ""))

    @contextmanager
    def fetch(self, entry: str) -> Iterator[Path]:
        """A local path to the entry: the entry itself on a local landing, a temporary download from S3."""
        if isinstance(self.store, LocalStore):
            path = self.store.root / entry
            if not path.exists():
                raise ReleaseError(f"{entry} is not on the landing location {self.store.url}")
            yield path
            return
        scratch = Path(tempfile.mkdtemp(prefix="hv-terminology-"))
        try:
            objects = [o for o in self.store.list(entry) if o.key == entry or o.key.startswith(entry + "/")]
            if not objects:
                raise ReleaseError(f"{entry} is not on the landing location {self.store.url}")
            for obj in objects:
                target = scratch / obj.key
                target.parent.mkdir(parents=True, exist_ok=True)
                with self.store.open(obj.key) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
            yield scratch / entry
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
