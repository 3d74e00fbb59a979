"""Alembic environment for the HoloVitals schema.

The URL is `config.attributes["url"]` when `hv_pipelines.core.migrations` drives Alembic, else
`DATABASE_URL` (so plain `alembic upgrade head` works too). The whole command runs in ONE
transaction with `lock_timeout` and `statement_timeout` set locally: PostgreSQL's DDL is
transactional, so a failing migration leaves the database at the revision it started from.
Once the roles migration (0002) has handed the schema to `hv_owner`, every command runs as it
(`SET LOCAL ROLE hv_owner`): the migrating login must be a member of `hv_owner`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from hv_pipelines.core import db, roles
from hv_pipelines.core.migrations import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_STATEMENT_TIMEOUT,
    compare_options,
)
from hv_pipelines.core.settings import load_settings
from hv_pipelines.schema import metadata

config = context.config


def _url() -> str:
    return config.attributes.get("url") or load_settings().require_database_url()


def run_migrations_offline() -> None:
    context.configure(
        url=str(db.sqlalchemy_url(_url())),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **compare_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    lock_timeout = config.attributes.get("lock_timeout", DEFAULT_LOCK_TIMEOUT)
    statement_timeout = config.attributes.get("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)
    engine = db.create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            transaction_per_migration=False,
            **compare_options(),
        )
        with context.begin_transaction():
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{lock_timeout}'")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = '{statement_timeout}'")
            roles.assume_owner(connection.connection.driver_connection)
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
