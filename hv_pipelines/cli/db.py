"""`hv db`: Schema migrations: upgrade, downgrade, status, check, adopt."""

import click


@click.group(name="db")
def command() -> None:
    """Schema migrations: upgrade, downgrade, status, check, adopt."""
