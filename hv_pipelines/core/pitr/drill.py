"""The weekly PITR drill: prove that the archive recovers the database to a chosen second.

Two markers (hv_pipelines.pitr_markers, no PHI) are committed on either side of a whole second, a
WAL switch sends the second marker's segment to the archive at once, and the cluster is restored
into a scratch data directory and port to that second. The first marker must be there and the
second must not. The restore's wall time is the RTO; the age of the newest archived segment is
the RPO the archive offers right now. The scratch cluster is removed whatever happens.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from hv_pipelines.core import db
from hv_pipelines.core.backup.tools import find_tool, server_major
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import basebackup, markers, restore
from hv_pipelines.core.pitr.cluster import Cluster, ClusterError, scratch_dir
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.storage import ObjectStore

ARCHIVE_WAIT_S = 300


@dataclass(frozen=True)
class DrillResult:
    passed: bool
    backup_id: str
    target: datetime
    first_marker_present: bool
    second_marker_absent: bool
    rto_s: float
    newest_point_age_s: float | None
    reached: str | None

    def as_metadata(self) -> dict[str, object]:
        return {"passed": self.passed, "backup_id": self.backup_id, "target": self.target.isoformat(),
                "first_marker_present": self.first_marker_present,
                "second_marker_absent": self.second_marker_absent, "rto_s": round(self.rto_s, 2),
                "newest_point_age_s": round(self.newest_point_age_s, 1) if self.newest_point_age_s is not None
                else -1.0, "reached": self.reached or "unknown"}


def wait_archived(database_url: str, name: str, timeout: float = ARCHIVE_WAIT_S) -> None:
    """Wait until the server reports segment `name` (or a later one) archived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.connect(database_url, autocommit=True) as conn:
            last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
        if last is not None and last[8:] >= name[8:]:
            return
        time.sleep(0.5)
    raise ClusterError(f"segment {name} was not archived within {timeout:.0f}s: check archive_command "
                       "(`hv pitr status` shows the server's last archiving failure)")


def write_markers(database_url: str) -> tuple[str, str, datetime]:
    """Marker one, then a whole second, then marker two, then a WAL switch archived: (first, second, second)."""
    first, committed = markers.write_marker(database_url)
    mark = datetime.fromtimestamp(math.floor(committed.timestamp()) + 1, UTC)
    time.sleep(max(0.0, (mark - datetime.now(UTC)).total_seconds()) + 0.3)
    second, _ = markers.write_marker(database_url)
    wait_archived(database_url, markers.switch_wal(database_url))
    return first, second, mark


def run_pitr_drill(database_url: str, store: ObjectStore, keyring: Keyring, env: dict[str, str]) -> DrillResult:
    """Run the drill against the cluster of `database_url`, archiving into `store` (see module doc)."""
    facts = basebackup.server_facts(database_url)
    basebackup.require_archiving(facts)
    first, second, mark = write_markers(database_url)
    scratch = scratch_dir("hv-pitr-drill-")
    data_dir = scratch / "data"
    bin_dir = find_tool("pg_ctl", server_major(facts.server_version)).path.parent
    try:
        result = restore.restore(store, keyring, data_dir, restore.Target(time=mark), env=env,
                                 system_identifier=facts.system_identifier, start=True, trust_local=True)
        url = db.sqlalchemy_url(database_url)
        restored_url = f"postgresql://{url.username}@127.0.0.1:{result.port}/{url.database}"
        found = markers.present(restored_url, [first, second])
    finally:
        Cluster(data_dir, bin_dir).stop("immediate")
        shutil.rmtree(scratch, ignore_errors=True)
    latest = read_state(store, keyring, facts.system_identifier).latest
    age = (datetime.now(UTC) - latest).total_seconds() if latest else None
    return DrillResult(found == {first}, result.backup_id, mark, first in found, second not in found,
                       result.seconds, age, result.reached)
