"""`hv audit`: Audit-log archival: archive, list, verify, rehydrate."""

import click


@click.group(name="audit")
def command() -> None:
    """Audit-log archival: archive, list, verify, rehydrate."""
