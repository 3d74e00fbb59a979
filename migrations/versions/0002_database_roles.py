"""database roles: hv_owner owns the schema, one NOLOGIN group role per job, grants per schema/access.py

Revision ID: 0002_database_roles
Revises: 0001_baseline
Create Date: 2026-12-04 16:45:00

Idempotent and password-free (logins are made with `hv db roles create-login`). Runs as the
migrating login, which must be able to create roles (superuser, or CREATEROLE and owner of the
database); every later revision runs as `hv_owner` (migrations/env.py `SET LOCAL ROLE`).
A later change to the matrix in schema/access.py ships as a revision that calls `roles.sync` again.
"""

from collections.abc import Sequence

from alembic import op

from hv_pipelines.core import roles
from hv_pipelines.core.terminology import history

revision: str = "0002_database_roles"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _psycopg():
    return op.get_bind().connection.driver_connection


def upgrade() -> None:
    conn = _psycopg()
    conn.execute(history.DDL)  # the terminology history, created here so that hv_owner owns it
    roles.sync(conn)
    roles.assume_owner(conn)  # the revisions after this one, in the same run, create as hv_owner


def downgrade() -> None:
    roles.unsync(_psycopg())
