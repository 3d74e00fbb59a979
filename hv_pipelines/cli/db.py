"""`hv db`: schema migrations — upgrade, downgrade, status, check, adopt.

The database is `DATABASE_URL` (or `.env`); with `SHADOW_DATABASE_URL` set, `upgrade` rehearses the
pending revisions on the shadow database first.
"""

from __future__ import annotations

import click

from hv_pipelines.cli import audit_logging, audit_partitions
from hv_pipelines.cli import roles as roles_cli
from hv_pipelines.core import db, migrations, roles
from hv_pipelines.core.settings import load_settings, mask_url

_timeouts = [
    click.option("--lock-timeout", default=migrations.DEFAULT_LOCK_TIMEOUT, show_default=True,
                 help="Give up waiting for a table lock after this long (PostgreSQL duration)."),
    click.option("--statement-timeout", default=migrations.DEFAULT_STATEMENT_TIMEOUT, show_default=True,
                 help="Abort any single statement running longer than this."),
]


def with_timeouts(fn):
    for option in reversed(_timeouts):
        fn = option(fn)
    return fn


@click.group(name="db")
def command() -> None:
    """Schema migrations: upgrade, downgrade, status, check, adopt; database roles."""


command.add_command(roles_cli.command)
command.add_command(audit_logging.command)
command.add_command(audit_partitions.command)


@command.command()
@click.argument("revision", default="head")
@with_timeouts
def upgrade(revision: str, lock_timeout: str, statement_timeout: str) -> None:
    """Upgrade the database to REVISION (default: head), in one transaction."""
    settings = load_settings()
    url = settings.database_url_for("migrations")
    shadow = settings.shadow_database_url.get_secret_value() if settings.shadow_database_url else None
    if shadow:
        click.echo(f"rehearsing on the shadow database {mask_url(shadow)} first")
    result = migrations.upgrade(url, revision, shadow_url=shadow, lock_timeout=lock_timeout,
                                statement_timeout=statement_timeout)
    if not result.applied and result.before == result.after:
        click.echo(f"{mask_url(url)} is already at {result.after}")
        return
    for rev in result.applied:
        click.echo(f"applied {rev}")
    click.echo(f"{mask_url(url)}: {result.before or 'empty'} -> {result.after} in {result.seconds:.1f}s")


@command.command()
@click.argument("revision")
@with_timeouts
def downgrade(revision: str, lock_timeout: str, statement_timeout: str) -> None:
    """Downgrade the database to REVISION (`base` removes every table and type)."""
    url = load_settings().database_url_for("migrations")
    result = migrations.downgrade(url, revision, lock_timeout=lock_timeout, statement_timeout=statement_timeout)
    for rev in result.applied:
        click.echo(f"reverted {rev}")
    click.echo(f"{mask_url(url)}: {result.before} -> {result.after or 'base'}")


def _print_status(url: str, status: migrations.Status) -> None:
    click.echo(f"database: {mask_url(url)}")
    click.echo(f"current:  {status.current or '(none: not managed by Alembic)'}")
    click.echo(f"head:     {', '.join(status.heads)}" + ("  <- more than one head" if len(status.heads) > 1 else ""))
    click.echo(f"pending:  {', '.join(status.pending) if status.pending else 'none'}")
    click.echo(f"drift:    {'yes' if status.drift else 'no'}")
    for line in status.drift:
        click.echo(f"  - {line}")
    for line in status.accepted:
        click.echo(f"accepted: {line}")


@command.command()
def status() -> None:
    """Current revision, pending revisions, and whether the schema drifted from the models."""
    url = load_settings().database_url_for("migrations")
    _print_status(url, migrations.status(url))


@command.command()
def check() -> None:
    """Exit non-zero on drift, pending revisions or more than one migration head (for CI)."""
    url = load_settings().database_url_for("migrations")
    st = migrations.status(url)
    _print_status(url, st)
    problems = []
    if len(st.heads) > 1:
        problems.append(f"{len(st.heads)} migration heads: merge them (`alembic merge heads`)")
    if st.pending:
        problems.append(f"{len(st.pending)} pending migration(s): run `hv db upgrade`")
    if st.drift:
        problems.append("the schema drifted from the models: write a migration or revert the manual change")
    if st.current is None:
        problems.append("the database is not managed by Alembic: `hv db upgrade` (empty) or `hv db adopt`")
    elif not st.pending:  # at head, the grants are the matrix's as the schema is the models'
        with db.connect(url) as conn:
            grant_drift = roles.grant_drift(conn)
        click.echo(f"grants:   {'drifted' if grant_drift else 'as migrated'}")
        for line in grant_drift:
            click.echo(f"  - {line}")
        if grant_drift:
            problems.append("the grants drifted from schema/access.py: revoke the stray grants listed (or "
                            "`hv db upgrade` after a new revision)")
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo("ok")


@command.command()
def adopt() -> None:
    """Take over a database created by `prisma migrate`: stamp it at the baseline if identical."""
    settings = load_settings()
    url = settings.database_url_for("migrations")
    shadow = settings.shadow_database_url.get_secret_value() if settings.shadow_database_url else None
    revision = migrations.adopt(url, shadow_url=shadow)
    click.echo(f"{mask_url(url)} matches the baseline: stamped at {revision}; no data was touched")
