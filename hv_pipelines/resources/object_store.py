"""The object store (S3 or a local directory) as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from hv_pipelines.core.storage import ObjectStore, open_store


class ObjectStoreResource(dg.ConfigurableResource):
    """`url` is `s3://bucket/prefix` or `file:///path`; `sse` is `AES256` or `aws:kms`."""

    url: str
    endpoint_url: str | None = None
    sse: str = "AES256"
    kms_key_id: str | None = None

    def open(self) -> ObjectStore:
        return open_store(self.url, endpoint_url=self.endpoint_url, sse=self.sse, kms_key_id=self.kms_key_id)
