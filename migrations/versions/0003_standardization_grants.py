"""standardization grants: hv_ehr_ingest keeps ReferenceRange and LOINCUnit's molar masses current

Revision ID: 0003_standardization_grants
Revises: 0002_database_roles
Create Date: 2026-12-04 17:40:00

Re-applies the matrix of schema/access.py (core/roles.py `sync`, idempotent): standardization, which
runs as hv_ehr_ingest, syncs the curated reference ranges and the units' molar masses first.
"""

from collections.abc import Sequence

from alembic import op

from hv_pipelines.core import roles

revision: str = "0003_standardization_grants"
down_revision: str | None = "0002_database_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind().connection.driver_connection
    conn.execute("RESET ROLE")  # creating a missing role needs the migrating login, not hv_owner
    roles.sync(conn)
    roles.assume_owner(conn)


def downgrade() -> None:
    """Nothing: the grants follow the matrix in code, which the posture compares with; 0002's downgrade
    revokes every grant."""
