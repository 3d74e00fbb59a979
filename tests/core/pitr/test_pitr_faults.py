"""Faults PITR must survive: a timeline switch, `hv wal push` killed mid-upload, the store down a while."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hv_pipelines.core import db
from hv_pipelines.core.pitr import archive, basebackup, markers, restore, verify
from hv_pipelines.core.pitr.cluster import Cluster, hand_over, let_server_run, write_settings
from hv_pipelines.core.pitr.envfile import write_env_file
from hv_pipelines.core.pitr.inventory import read_state
from hv_pipelines.core.pitr.walfiles import control_system_identifier

from .conftest import HV, start_archiving_cluster, switch_and_wait
from .test_pitr_restore import markers_around_a_second

pytestmark = pytest.mark.slow
KILLER = Path(__file__).with_name("kill_mid_upload.py")


def archived_count(cluster: Cluster) -> tuple[int, int]:
    with db.connect(cluster.url(), autocommit=True) as conn:
        return conn.execute("SELECT archived_count, failed_count FROM pg_stat_archiver").fetchone()


def test_a_promoted_restore_archives_its_timeline_and_a_second_pitr_follows_it(local_archive, scratch,
                                                                               cluster_template):
    store, keyring = local_archive.store, local_archive.keyring
    primary = start_archiving_cluster(scratch, local_archive, cluster_template)
    try:
        basebackup.take_base_backup(primary.url(), store, keyring)
        before, _ = markers.write_marker(primary.url())
        switch_and_wait(primary)
    finally:
        primary.stop("immediate")
    system = str(control_system_identifier(primary.data_dir))

    # Disaster recovery: the restored server becomes the primary and keeps archiving (timeline 2).
    promoted = restore.restore(store, keyring, scratch / "tl2", restore.Target(latest=True), env=local_archive.env,
                               start=True, archive=True)
    new_primary = Cluster(scratch / "tl2", primary.bin_dir, port=promoted.port)
    try:
        after_switch, _ = markers.write_marker(new_primary.url())
        first, second, mark = markers_around_a_second(new_primary.url())
        switch_and_wait(new_primary)
    finally:
        new_primary.stop()
    state = read_state(store, keyring, system)
    names = {o.wal.name for o in state.wal}
    assert "00000002.history" in names
    assert any(o.wal.timeline == 2 and o.wal.is_segment for o in state.wal)
    assert state.first_gap() is None
    assert verify.verify_archive(store, keyring, system).ok

    # A second PITR from the same (timeline 1) base backup, to a second on timeline 2.
    again = restore.restore(store, keyring, scratch / "again", restore.Target(time=mark), env=local_archive.env,
                            start=True)
    try:
        found = markers.present(again.url, [before, after_switch, first, second])
        assert found == {before, after_switch, first}
    finally:
        Cluster(scratch / "again", primary.bin_dir).stop()


def test_push_killed_mid_upload_is_retried_and_leaves_no_gap(local_archive, scratch, cluster_template):
    state_dir = scratch / "killer"
    state_dir.mkdir()
    hand_over(state_dir)
    for path in (Path(sys.executable), HV, KILLER):
        let_server_run(path)
    command = (f"{sys.executable} {KILLER} {local_archive.store.root} {state_dir} -- "
               f"{HV} wal push %p --env-file {local_archive.env_file} --quiet")
    cluster = start_archiving_cluster(scratch, local_archive, cluster_template)
    try:
        basebackup.take_base_backup(cluster.url(), local_archive.store, local_archive.keyring)
        write_settings(cluster.data_dir, {"archive_command": command})
        with db.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("CREATE TABLE filler AS SELECT g, md5(g::text) AS m FROM generate_series(1, 1) g")
        names = []
        for _ in range(4):
            with db.connect(cluster.url(), autocommit=True) as conn:
                conn.execute("INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 60000) g")
            names.append(switch_and_wait(cluster))
        killed = sorted(p.name.removeprefix("killed-") for p in state_dir.glob("killed-*"))
        assert killed, "no push was killed mid-upload: the fault was not exercised"
        assert archived_count(cluster)[1] >= len(killed)  # PostgreSQL saw the failures and retried
    finally:
        cluster.stop("immediate")
    system = str(control_system_identifier(cluster.data_dir))
    state = read_state(local_archive.store, local_archive.keyring, system)
    assert set(killed) <= {o.wal.name for o in state.wal}
    assert state.first_gap() is None
    result = verify.verify_archive(local_archive.store, local_archive.keyring, system)
    assert result.ok, result.problems
    # What a killed push left is its temporary file, never an object under a WAL name.
    assert all(archive.name_of_key(o.key) for o in local_archive.store.list("wal/"))


def test_store_down_piles_wal_up_then_archives_all_of_it(s3_archive, scratch, cluster_template):
    cluster = start_archiving_cluster(scratch, s3_archive, cluster_template)
    store, keyring = s3_archive.store, s3_archive.keyring
    try:
        basebackup.take_base_backup(cluster.url(), store, keyring)
        write_env_file(s3_archive.env_file, {**s3_archive.env, "HV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
                                             "AWS_MAX_ATTEMPTS": "1"})  # nothing listens on port 9
        with db.connect(cluster.url(), autocommit=True) as conn:
            pending = [conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
                       for _ in range(3) if conn.execute("SELECT pg_logical_emit_message(false, 'hv', 'x')")]

        def failing() -> bool:
            return archived_count(cluster)[1] > 0

        cluster.wait_until(failing, "an archiving failure", timeout=60)
        system = str(control_system_identifier(cluster.data_dir))
        assert not any(store.head(archive.wal_key(system, name)) for name in pending)
        assert all((cluster.data_dir / "pg_wal" / name).exists() for name in pending)  # kept on the server

        write_env_file(s3_archive.env_file, s3_archive.env)  # the store is back
        last = switch_and_wait(cluster)
    finally:
        cluster.stop("immediate")
    state = read_state(store, keyring, system)
    assert {*pending, last} <= {o.wal.name for o in state.wal}
    assert state.first_gap() is None
    assert verify.verify_archive(store, keyring, system).ok
