"""The documented production setup on a server of its own: a migrating login that is not a superuser
(the database's owner with CREATEROLE) creates the roles, migrates, and makes the job logins."""

from __future__ import annotations

from hv_pipelines.core import db, logins, migrations, posture, roles
from hv_pipelines.schema import access


def test_a_createrole_database_owner_migrates_and_creates_the_job_logins(own_pg_server: str) -> None:
    with db.connect(own_pg_server, autocommit=True) as conn:
        conn.execute("CREATE ROLE migrator LOGIN CREATEROLE PASSWORD 'migrator-pw'")
        conn.execute("CREATE DATABASE holovitals OWNER migrator")
    url = db.with_login(db.with_database(own_pg_server, "holovitals"), "migrator", "migrator-pw")

    result = migrations.upgrade(url)
    assert result.after == migrations.heads()[0]
    assert migrations.status(url).up_to_date
    with db.connect(url) as conn:
        assert roles.grant_drift(conn) == []
        assert conn.execute("SELECT pg_has_role('migrator', 'hv_owner', 'MEMBER')").fetchone()[0]
        terminology_password = logins.generate_password()
        notes = logins.create_login(conn, "terminology_job", access.TERMINOLOGY, terminology_password)
        assert notes == []
        backup_notes = logins.create_login(conn, "backup_job", access.BACKUP, logins.generate_password())
        assert "ALTER ROLE backup_job REPLICATION" in backup_notes[0]  # only a superuser may grant it
        findings = {f.check: f for f in posture.assess(conn)}
        members = {r.name: r.members for r in logins.summaries(conn)}
    assert members[access.TERMINOLOGY] == ["terminology_job"] and members[access.OWNER] == ["migrator"]
    assert findings["pipeline_roles_unprivileged"].passed  # migrator's CREATEROLE is hv_owner's, expected
    assert findings["no_md5_password_hashes"].message.startswith("not checked")
    assert findings["client_connections_use_tls"].message == (
        "not checked: this login cannot see other logins' connections; GRANT pg_read_all_stats TO it")
    with db.connect(db.with_login(url, "terminology_job", terminology_password)) as conn:
        assert conn.execute("SELECT count(*) FROM \"LOINCCode\"").fetchone()[0] == 0
