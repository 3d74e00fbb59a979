"""How EHR syncs run on this deployment: validation processes, parallel downloads, attachment caps."""


from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from hv_pipelines.core.bulkdata.retry import DEFAULT_WAIT_CAP
from hv_pipelines.core.fhir_ingest import start_validation_pool
from hv_pipelines.core.fhir_ingest.attachments import DEFAULT_MAX_BYTES, AttachmentPolicy


class EHRIngestResource(dg.ConfigurableResource):
    """Resource key `ehr`. Credentials are per connection (`ehr_connections`), not here."""

    validation_workers: int | None = Field(
        default=None, description="Processes validating FHIR resources; default one per core, 0 = in the "
        "step's own process.")
    download_workers: int | None = Field(
        default=None, description="Files downloaded and ingested in parallel; default the provider "
        "profile's.")
    wait_cap_seconds: float = Field(
        default=DEFAULT_WAIT_CAP, ge=1, description="The longest single wait on the EHR (status polls, "
        "429/5xx retries), whatever its Retry-After says.")

    attachment_max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, gt=0, description="Largest attachment stored; larger ones are skipped "
        "with a reason (checked against the declared size, Content-Length and while streaming).")

    attachment_private_hosts: bool = Field(
        default=False, description="Also fetch attachments from foreign hosts on private, loopback or "
        "link-local addresses (the FHIR server's own origin is always allowed).")

    def attachment_policy(self) -> AttachmentPolicy:
        return AttachmentPolicy(max_bytes=self.attachment_max_bytes, private_hosts=self.attachment_private_hosts)

    @contextmanager
    def validation_pool(self) -> Iterator[Executor | None]:
        pool = start_validation_pool(self.validation_workers)
        try:
            yield pool
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
