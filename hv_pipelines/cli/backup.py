"""`hv backup`: Encrypted backups: create, list, verify, restore, prune."""

import click


@click.group(name="backup")
def command() -> None:
    """Encrypted backups: create, list, verify, restore, prune."""
