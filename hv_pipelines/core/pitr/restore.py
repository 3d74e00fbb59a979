"""Restore a cluster to a point in time: base backup → data directory → verify → recover from the archive.

1. Pick the newest base backup that ends before the target, and check the WAL from its first segment
   is archived without a gap up to the target (the first missing object is named).
2. Decrypt it into the (empty) data directory: its binding is checked (backup id, cluster) before
   the first file is written; decryption, the member checks and GNU tar run in parallel (untar.py:
   no absolute or `..` paths, no links or devices). A failure part-way removes what was written.
3. Every file is checked against pg_basebackup's own manifest, whose SHA-256 the MAC-sealed
   descriptor holds (so the manifest itself cannot have been swapped): for a SHA-256 manifest, each
   file's digest is taken as it streams to tar and compared (manifest.py), then `pg_verifybackup
   --skip-checksums` checks that every file is there, of its size, and nothing more; for another
   (CRC32C: older backups) `pg_verifybackup` reads every file back and checks it all.
4. Recovery settings: restore_command = `hv wal fetch %f %p --env-file FILE`, the target, promote at
   the target. The recovered server does not archive (archive_mode=off) unless asked to, so a test
   restore cannot fork the production archive's timelines.
5. Start the server, wait until it has promoted, report the point it reached; stop it, or leave it
   running (`start=True`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hv_pipelines.core import db
from hv_pipelines.core.backup.tools import find_tool, server_major
from hv_pipelines.core.child_env import child_env
from hv_pipelines.core.errors import ConfigurationError, HVError, IntegrityError
from hv_pipelines.core.keyring import Keyring
from hv_pipelines.core.pitr import descriptor, manifest, sealed, spool, untar
from hv_pipelines.core.pitr.cluster import Cluster, ClusterError, hand_over, let_server_run, write_settings
from hv_pipelines.core.pitr.descriptor import BaseBackup
from hv_pipelines.core.pitr.envfile import write_env_file
from hv_pipelines.core.pitr.inventory import ArchiveState, read_state, resolve_system
from hv_pipelines.core.pitr.walfiles import parse_lsn, segment_of
from hv_pipelines.core.storage import ObjectStore

RESTORE_ENV = "hv_restore.env"
_REACHED = re.compile(r"recovery stopping (?:before|after) (?:commit|abort) of transaction \d+, time (.+)$",
                      re.MULTILINE)
_LAST_TX = re.compile(r"last completed transaction was at log time (.+)$", re.MULTILINE)


class TargetOutsideWindow(HVError):
    """The target is before the oldest base backup ended or after the newest archived WAL."""


class DirectoryNotEmpty(HVError):
    """A restore never writes into a directory that holds anything."""


@dataclass(frozen=True)
class Target:
    time: datetime | None = None
    lsn: str | None = None
    latest: bool = False

    def describe(self) -> str:
        return f"time {self.time.isoformat()}" if self.time else f"LSN {self.lsn}" if self.lsn else "the latest point"


@dataclass(frozen=True)
class RestoreResult:
    backup_id: str
    data_dir: Path
    target: str
    reached: str | None
    seconds: float
    url: str | None
    port: int
    prefetched: int = 0  # segments restore_command took from the spool
    steps: dict[str, float] | None = None  # extract_s, verify_s, recover_s

    def as_metadata(self) -> dict[str, object]:
        return {"backup_id": self.backup_id, "target": self.target, "reached": self.reached or "unknown",
                "restore_s": round(self.seconds, 2), "prefetched_segments": self.prefetched, **(self.steps or {})}


def window_text(state: ArchiveState) -> str:
    earliest = state.earliest.isoformat(timespec="seconds") if state.earliest else "none (no base backup)"
    latest = state.latest.isoformat(timespec="seconds") if state.latest else "none (no archived WAL)"
    return f"recoverable window {earliest} .. {latest}"


def choose_backup(state: ArchiveState, target: Target) -> BaseBackup:
    """The newest base backup that ends before `target`; TargetOutsideWindow (with the window) if none."""
    if not state.backups:
        raise TargetOutsideWindow(f"cluster {state.system_identifier} has no base backup: run `hv pitr base-backup`")
    if target.latest:
        return state.backups[-1]
    if target.lsn is not None:
        wanted = parse_lsn(target.lsn)
        usable = [b for b in state.backups if parse_lsn(b.stop_lsn) <= wanted]
    else:
        usable = [b for b in state.backups if b.completed_at <= target.time]
        if state.latest is not None and target.time > state.latest:
            raise TargetOutsideWindow(f"target {target.describe()} is after the newest archived WAL: "
                                      f"{window_text(state)}; pick a time inside it or use --latest")
    if not usable:
        raise TargetOutsideWindow(f"target {target.describe()} is before the oldest base backup ended: "
                                  f"{window_text(state)}")
    return usable[-1]


def check_chain(state: ArchiveState, backup: BaseBackup) -> None:
    gap = state.first_gap(segment_of(parse_lsn(backup.start_lsn)))
    if gap is not None:
        raise IntegrityError(f"WAL segment {gap} is missing from the archive (wal/{state.system_identifier}/): "
                             f"no point after it can be recovered from base backup {backup.backup_id}. "
                             f"{window_text(state)}; pick a target before the gap")


def extract(store: ObjectStore, keyring: Keyring, backup: BaseBackup, data_dir: Path) -> tuple[bytes, dict[str, str]]:
    """Decrypt the base backup into `data_dir`; return its backup_manifest and, when the manifest's
    checksums can be checked as the files stream (manifest.py), each file's digest (else no digests)."""
    context = descriptor.object_context(backup.system_identifier, backup.backup_id)
    with closing(store.open(backup.object_key)) as body:
        _, content = sealed.open_sealed(body, keyring, context, what=backup.object_key)
        check = untar.extract_tar(content, data_dir, what=backup.object_key,
                                  digest=manifest.hashlib_name(backup.manifest_checksums))
    path = data_dir / "backup_manifest"
    if not path.is_file():
        raise IntegrityError(f"{backup.object_key} holds no backup_manifest: it is not a pg_basebackup tar")
    return path.read_bytes(), check.digests


def verify_files(backup: BaseBackup, data_dir: Path, manifest_bytes: bytes, digests: dict[str, str]) -> None:
    """The manifest is the authentic one (its SHA-256 is in the descriptor); every file's content is the
    manifest's (digests taken as they streamed, else pg_verifybackup reads each file back); and
    `pg_verifybackup` finds every file present, of its size, and nothing extra."""
    if hashlib.sha256(manifest_bytes).hexdigest() != backup.manifest_sha256:
        raise IntegrityError(f"{backup.object_key}: its backup_manifest differs from the one its descriptor names; "
                             "do not use this backup")
    checked = bool(digests) and manifest.compare(manifest_bytes, digests, backup.manifest_checksums,
                                                 what=backup.object_key)
    tool = find_tool("pg_verifybackup", server_major(backup.server_version))
    result = subprocess.run([str(tool.path), "--no-parse-wal", "--quiet", *(["--skip-checksums"] if checked else []),
                             str(data_dir)], capture_output=True, text=True, env=child_env())
    if result.returncode != 0:
        lines = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise IntegrityError(f"pg_verifybackup refused base backup {backup.backup_id}: {lines}; use another backup")


def hv_command() -> Path:
    return Path(sys.executable).parent / "hv"


def recovery_settings(target: Target, env_file: Path, system_identifier: str, data_dir: Path, *,
                      archive: bool) -> dict[str, str]:
    hv = hv_command()
    let_server_run(Path(sys.executable))
    let_server_run(hv)
    fetch = f"{hv} wal fetch %f %p --env-file {env_file} --system-identifier {system_identifier}"
    settings = {"restore_command": spool.restore_command(data_dir / spool.SPOOL, fetch),
                "recovery_target_action": "promote", "recovery_target_timeline": "latest"}
    if target.time is not None:
        settings["recovery_target_time"] = target.time.astimezone(UTC).isoformat()
    elif target.lsn is not None:
        settings["recovery_target_lsn"] = target.lsn
    if not archive:
        settings["archive_mode"] = "off"
    return settings


def restore(store: ObjectStore, keyring: Keyring, data_dir: Path, target: Target, *,
            env_file: Path | None = None, env: dict[str, str] | None = None, system_identifier: str | None = None,
            start: bool = False, port: int | None = None, archive: bool = False,
            trust_local: bool = False) -> RestoreResult:
    """Recover the archive's cluster into `data_dir` at `target`. `env` (store and key settings) is
    written to a 0600 env file inside the data directory when no `env_file` is given. `trust_local`
    (the drill's scratch cluster, reachable only on 127.0.0.1 and a private socket) lets any local
    connection in, whatever the source's pg_hba.conf asked for."""
    clock = time.monotonic()
    data_dir = data_dir.absolute()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise DirectoryNotEmpty(f"{data_dir} is not empty: restore into a new or empty directory")
    system = resolve_system(store, system_identifier)
    state = read_state(store, keyring, system)
    backup = choose_backup(state, target)
    check_chain(state, backup)
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster, steps = None, {}
    try:
        manifest_bytes, digests = extract(store, keyring, backup, data_dir)
        steps["extract_s"] = time.monotonic() - clock
        verify_files(backup, data_dir, manifest_bytes, digests)
        steps["verify_s"] = time.monotonic() - clock - steps["extract_s"]
        if env_file is None:
            if env is None:
                raise ConfigurationError("restore needs --env-file (the store and key settings for restore_command)")
            env_file = data_dir / RESTORE_ENV
            write_env_file(env_file, env)
        write_settings(data_dir, recovery_settings(target, env_file.absolute(), system, data_dir, archive=archive))
        (data_dir / "recovery.signal").touch()
        if trust_local:
            (data_dir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        data_dir.chmod(0o700)
        hand_over(data_dir)
        bin_dir = find_tool("postgres", server_major(backup.server_version)).path.parent
        cluster = Cluster(data_dir, bin_dir, **({"port": port} if port else {}))
        ahead = spool.names_after(state, segment_of(parse_lsn(backup.start_lsn)))
        with spool.Prefetcher(store, keyring, system, ahead, data_dir / spool.SPOOL) as prefetcher:
            reached = _recover(cluster)
        prefetched = prefetcher.fetched
        steps["recover_s"] = time.monotonic() - clock - steps["extract_s"] - steps["verify_s"]
    except BaseException:
        if cluster is not None:
            cluster.stop("immediate")
        _remove_contents(data_dir, created)
        raise
    if env_file == data_dir / RESTORE_ENV:
        env_file.unlink(missing_ok=True)  # recovery is over: the key need not stay beside the data
    url = cluster.url()
    if not start:
        cluster.stop()
        url = None
    return RestoreResult(backup.backup_id, data_dir, target.describe(), reached, time.monotonic() - clock, url,
                         cluster.port, prefetched, {k: round(v, 2) for k, v in steps.items()})


def _recover(cluster: Cluster) -> str | None:
    """Start the server, wait until recovery has promoted it; the time of the last replayed transaction."""
    try:
        cluster.start()

        def promoted() -> bool:
            with db.connect(cluster.url(), autocommit=True) as conn:
                return not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]

        cluster.wait_until(promoted, "recovery to reach the target and promote", timeout=3600)
    except ClusterError as exc:
        cluster.stop("immediate")
        fetch_errors = [line.strip() for line in _log(cluster).splitlines() if line.startswith("error: ")]
        detail = f" — {fetch_errors[-1]}" if fetch_errors else ""
        raise ClusterError(f"recovery did not reach the target{detail}; {exc}") from None
    log = _log(cluster)
    match = _REACHED.findall(log) or _LAST_TX.findall(log)
    return match[-1].strip() if match else None


def _log(cluster: Cluster) -> str:
    try:
        return cluster.log_file.read_text(errors="replace")
    except OSError:
        return ""


def _remove_contents(data_dir: Path, created: bool) -> None:
    if created:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for child in data_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
