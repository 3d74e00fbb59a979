"""`hv pitr` as the hv_backup login (HV_DATABASE_URL_BACKUP), not a superuser: what status, base-backup and
the drill ask of the server (migration 0004)."""

from __future__ import annotations

import psycopg
import pytest

from hv_pipelines.core.pitr import basebackup, markers, verify


def test_the_backup_login_reads_the_cluster_facts_writes_markers_and_switches_wal(login_url):
    url = login_url("hv_backup")
    facts = basebackup.server_facts(url)
    assert facts.system_identifier.isdigit() and facts.server_version
    assert verify.server_archiving(url).archive_mode in ("on", "off", "always")
    first, _ = markers.write_marker(url)
    assert markers.present(url, [first, "pitr-absent"]) == {first}
    assert len(markers.switch_wal(url)) == 24


def test_other_logins_may_neither_write_markers_nor_switch_wal(login_url):
    url = login_url("hv_readonly")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        markers.write_marker(url)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        markers.switch_wal(url)
