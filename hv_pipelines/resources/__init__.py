"""Dagster resources: typed configuration plus the connections and keys core code is handed."""

from hv_pipelines.resources.database import Database
from hv_pipelines.resources.keys import KeyringResource
from hv_pipelines.resources.object_store import ObjectStoreResource

__all__ = ["Database", "KeyringResource", "ObjectStoreResource"]
