"""`hv seed`: Seed roles, permissions, retention policies and security configuration."""

import click


@click.group(name="seed")
def command() -> None:
    """Seed roles, permissions, retention policies and security configuration."""
