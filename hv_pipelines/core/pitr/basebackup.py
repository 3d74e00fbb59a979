"""Take a base backup: pg_basebackup (tar, to stdout) → zstd → envelope → object store → descriptor.

The WAL the backup needs is not inside it (`-X none`): pg_basebackup waits until the server has
archived every segment up to the backup's end, and those segments are in the WAL archive. The tar
passes through a tap that keeps `backup_label` and `backup_manifest` (small) for the descriptor;
nothing touches disk in plaintext. A failed pg_basebackup or upload leaves no object (the upload is
aborted) and no descriptor (the backup never counts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from hv_pipelines.core import db
from hv_pipelines.core.backup import layout
from hv_pipelines.core.backup.streams import ClientProcess, Meter, prefetch
from hv_pipelines.core.backup.tools import client_connection, find_tool, server_major
from hv_pipelines.core.envelope import DEFAULT_CHUNK_SIZE
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError, StorageError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import descriptor, manifest, sealed
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.tartap import TarTap
from hv_pipelines.core.storage import ObjectStore

log = logging.getLogger(__name__)

KIND = "hv-base/1"
# zstd level of base backups: 1, as for WAL. Level 3 spent 1.3x level 1's zstd CPU on a pgbench tar for a 7 %
# smaller object, and 2.3x on a table of mixed text for none smaller; under contention that CPU made the
# backup 2x a plain pg_basebackup (bench/basebackup_stages.py, bench/pitr.py; docs/pitr.md "Measured").
DEFAULT_LEVEL = 1
_START = re.compile(r"^START WAL LOCATION: (\S+) \(file (\w+)\)$", re.MULTILINE)
_TIMELINE = re.compile(r"^START TIMELINE: (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class ServerFacts:
    system_identifier: str
    server_version: str
    archive_mode: str
    archive_command: str


def server_facts(database_url: str) -> ServerFacts:
    """The cluster's identity and archiving settings; ConfigurationError when PITR cannot work on it."""
    with db.connect(database_url) as conn:
        system = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()[0]
        version = conn.execute("SHOW server_version").fetchone()[0]
        mode = conn.execute("SHOW archive_mode").fetchone()[0]
        command = conn.execute("SELECT current_setting('archive_command')").fetchone()[0]
    return ServerFacts(str(system), version, mode, command)


def require_archiving(facts: ServerFacts) -> None:
    if facts.archive_mode == "off" or not facts.archive_command.strip():
        raise ConfigurationError(
            f"the server does not archive its WAL (archive_mode={facts.archive_mode}): a base backup without the "
            "WAL archive cannot be recovered to any point. Set wal_level=replica, archive_mode=on and "
            "archive_command='hv wal push %p --env-file FILE' (docs/pitr.md), restart, and retry. Managed "
            "PostgreSQL (RDS, Cloud SQL) has no archive_command: use the provider's point-in-time recovery")


def take_base_backup(database_url: str, store: ObjectStore, keyring: Keyring, *, level: int = DEFAULT_LEVEL,
                     chunk_size: int = DEFAULT_CHUNK_SIZE,
                     manifest_checksums: str = manifest.BACKUP_CHECKSUMS) -> BaseBackup:
    """Back up the cluster of `database_url` (a role with REPLICATION) into `store`; return its descriptor.
    The manifest's checksums are SHA-256, which a restore checks as the files stream (manifest.py)."""
    facts = server_facts(database_url)
    require_archiving(facts)
    started = datetime.now(UTC)
    clock = time.monotonic()
    backup_id = layout.new_backup_id(started)
    key = descriptor.object_key(facts.system_identifier, backup_id)
    tool = find_tool("pg_basebackup", server_major(facts.server_version))
    conninfo, env = client_connection(database_url)
    process = ClientProcess([str(tool.path), "--pgdata=-", "--format=tar", "--wal-method=none",
                             "--checkpoint=fast", "--no-password", f"--label=hv {backup_id}",
                             f"--manifest-checksums={manifest_checksums}",
                             f"--dbname={conninfo}"], env, feeds_stdin=False)
    tap, cipher = TarTap({"backup_label", "backup_manifest"}), Meter(sha256=True)

    def tar_pieces():
        yield from process.read_stdout()
        process.finish("the base backup was not stored; fix the cause above and run it again")

    binding = {"kind": KIND, "backup_id": backup_id, "system_identifier": facts.system_identifier}
    stream = prefetch(cipher.through(sealed.seal(descriptor.object_context(facts.system_identifier, backup_id),
                                                 binding, tap.through(tar_pieces()), keyring, level=level,
                                                 chunk_size=chunk_size)))
    try:
        store.put_stream(key, stream)
    except HVError:
        raise
    except Exception as exc:
        raise StorageError(f"upload of {key} to {store.url} failed ({type(exc).__name__}): the upload was aborted "
                           "and no base backup was stored; check the object store and run it again") from exc
    finally:
        process.kill()
        stream.close()
    uploaded = time.monotonic()
    try:
        backup = _describe(facts, backup_id, key, tap, cipher, tool.version, started, keyring,
                           {"backup_upload_s": round(uploaded - clock, 3)}, manifest_checksums)
        stored = store.head(key)
        if stored is None or stored.size != cipher.bytes:
            raise IntegrityError(f"{key}: the stored object's size differs from what was uploaded; check the store")
        store.put_bytes(descriptor.descriptor_key(facts.system_identifier, backup_id), backup.seal(keyring))
    except BaseException:
        store.delete(key)
        raise
    log.info("base backup %s: %d bytes in %.1fs", backup_id, backup.object_bytes, backup.durations["total_s"])
    return backup


def _describe(facts: ServerFacts, backup_id: str, key: str, tap: TarTap, cipher: Meter, tool_version: str,
              started: datetime, keyring: Keyring, durations: dict[str, float], checksums: str) -> BaseBackup:
    label = tap.members.get("backup_label", b"").decode("utf-8", "replace")
    manifest = tap.members.get("backup_manifest")
    start, timeline = _START.search(label), _TIMELINE.search(label)
    if not (start and timeline and manifest):
        raise IntegrityError(f"pg_basebackup's output has no backup_label or backup_manifest ({key}): not stored")
    ranges = json.loads(manifest)["WAL-Ranges"]
    return BaseBackup(
        backup_id=backup_id, system_identifier=facts.system_identifier, object_key=key,
        object_bytes=cipher.bytes, object_sha256=cipher.sha256, tar_bytes=tap.bytes,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(), key_id=keyring.active_key_id,
        timeline=int(timeline.group(1)), start_lsn=start.group(1), stop_lsn=ranges[-1]["End-LSN"],
        start_wal=start.group(2), started_at=started, completed_at=datetime.now(UTC),
        server_version=facts.server_version, pg_basebackup_version=tool_version,
        durations={**durations, "total_s": round(sum(durations.values()), 3)}, manifest_checksums=checksums)
