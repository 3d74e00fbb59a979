"""`hv db audit-logging`: PostgreSQL's connection and DDL logging, printed and (with --apply) set.

Runs against `HV_DATABASE_URL_MIGRATIONS` (else `DATABASE_URL`); `--apply` needs a login that may
`ALTER SYSTEM` (a superuser); on a managed service, put the printed settings in its parameter group.
"""

from __future__ import annotations

import click

from hv_pipelines.core import audit_logging, db
from hv_pipelines.core.settings import load_settings, mask_url


@click.command(name="audit-logging")
@click.option("--apply", "apply_", is_flag=True, help="ALTER SYSTEM the recommended settings and reload.")
def command(apply_: bool) -> None:
    """Print the recommended audit-logging settings beside the server's; --apply sets them."""
    url = load_settings().database_url_for("migrations")
    with db.connect(url, autocommit=True) as conn:
        recommendation = audit_logging.recommend(conn)
        click.echo(f"database: {mask_url(url)}  (pgaudit {'offered' if recommendation.pgaudit else 'not offered'})")
        current = {name: conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()[0]
                   for name in recommendation.settings}
        for name, value in recommendation.settings.items():
            mark = "ok" if current[name] == value else "->"
            click.echo(f"  {mark:2} {name} = {value!r}  (now {current[name]!r})")
        if recommendation.preload_needed:
            click.echo("  -> shared_preload_libraries must include 'pgaudit' (a restart), then "
                       "CREATE EXTENSION pgaudit and run this again")
        if apply_:
            applied = audit_logging.apply(conn, recommendation)
            click.echo(f"set {', '.join(applied)} and reloaded the configuration")
    with db.connect(url) as conn:  # a new session: it reads the reloaded configuration
        gaps = audit_logging.logging_gaps(conn)
    for gap in gaps:
        click.echo(f"missing: {gap}")
    if not gaps:
        click.echo("connections, disconnections and DDL are logged")
