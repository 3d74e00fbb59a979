"""`hv db roles`: the database's group roles (who holds what) and logins that join them.

The database is `DATABASE_URL` (or `HV_DATABASE_URL_MIGRATIONS`): creating a login needs a role
that may create roles (the one that runs migrations).
"""

from __future__ import annotations

import os

import click

from hv_pipelines.core import db, logins
from hv_pipelines.core.errors import ConfigurationError
from hv_pipelines.core.settings import load_settings, mask_url

_PRIVILEGES = ("OWNER", "SELECT", "INSERT", "UPDATE", "DELETE")


@click.group(name="roles")
def command() -> None:
    """Database roles per job: list them, create logins."""


@command.command(name="list")
def list_roles() -> None:
    """Each group role: its members (logins), on how many tables it holds each privilege, its attributes."""
    url = load_settings().database_url_for("migrations")
    with db.connect(url) as conn:
        rows = logins.summaries(conn)
    click.echo(f"database: {mask_url(url)}")
    header = ["ROLE", *_PRIVILEGES, "ATTRIBUTES", "MEMBERS"]
    table = [[r.name, *(str(r.table_privileges.get(p, "")) for p in _PRIVILEGES),
              " ".join(r.attributes) if r.exists else "(missing: run `hv db upgrade`)",
              ", ".join(r.members)] for r in rows]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header) - 1)]
    for line in [header, *table]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])


@command.command(name="create-login")
@click.argument("name")
@click.option("--role", required=True, help="The group role the login joins (hv_app, hv_terminology, ...).")
@click.option("--password-env", metavar="VAR",
              help="Take the password from environment variable VAR instead of generating one.")
def create_login(name: str, role: str, password_env: str | None) -> None:
    """Create login NAME in group ROLE; a generated password is printed once (stored as SCRAM-SHA-256)."""
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise ConfigurationError(f"environment variable {password_env} is empty or not set")
    else:
        password = logins.generate_password()
    url = load_settings().database_url_for("migrations")
    with db.connect(url) as conn:
        notes = logins.create_login(conn, name, role, password)
    click.echo(f"created login {name} in {role} on {mask_url(url)} (password stored as SCRAM-SHA-256)")
    if not password_env:
        click.echo(f"password (shown once, store it in your secret manager now): {password}")
    for note in notes:
        click.echo(f"note: {note}")
