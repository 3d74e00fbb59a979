"""`hv ehr`: Connect EHRs and run FHIR bulk-data syncs."""

import click


@click.group(name="ehr")
def command() -> None:
    """Connect EHRs and run FHIR bulk-data syncs."""
