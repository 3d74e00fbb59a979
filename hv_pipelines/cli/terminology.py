"""`hv terminology`: Load LOINC, SNOMED CT, RxNorm, ICD-10-CM and CPT releases."""

import click


@click.group(name="terminology")
def command() -> None:
    """Load LOINC, SNOMED CT, RxNorm, ICD-10-CM and CPT releases."""
