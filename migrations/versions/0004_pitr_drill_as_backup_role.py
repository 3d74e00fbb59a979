"""pitr drill as hv_backup: the markers table and pg_switch_wal()

Revision ID: 0004_pitr_drill_as_backup_role
Revises: 0003_standardization_grants
Create Date: 2026-12-04 21:25:00

The weekly PITR drill runs as the backup login (HV_DATABASE_URL_BACKUP). It writes two markers into
`hv_pipelines.pitr_markers` and forces a WAL switch: hv_backup, read-only until now, could do
neither (it may not create the table, and pg_switch_wal() is superuser-only unless granted). The
table is created here (so hv_owner owns it), the matrix (schema/access.py) gives hv_backup SELECT
and INSERT on it, and a superuser migrating login grants EXECUTE on pg_switch_wal() (core/roles.py).
`hv pitr status` and `base-backup` need nothing more: pg_control_system() and pg_stat_archiver are
readable by any login; base backups need REPLICATION on the login itself.
"""

from collections.abc import Sequence

from alembic import op

from hv_pipelines.core import roles
from hv_pipelines.core.pitr import markers

revision: str = "0004_pitr_drill_as_backup_role"
down_revision: str | None = "0003_standardization_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    conn.execute("RESET ROLE")  # granting EXECUTE on a catalog function needs the migrating (superuser) login
    conn.execute(markers.DDL)
    roles.sync(conn)
    roles.assume_owner(conn)


def downgrade() -> None:
    """The table stays (it holds the drills' markers, no PHI); 0002's downgrade revokes every grant."""
