"""The one `Definitions` of the hv_pipelines code location: it only assembles the domains."""

import dagster as dg

from hv_pipelines.jobs import (
    backups,
    compliance,
    ehr,
    operations,
    pitr,
    schema,
    security,
    seed,
    standardization,
    terminology,
)
from hv_pipelines.resources import Database, KeyringResource, ObjectStoreResource

resources = {
    "db": Database(url=dg.EnvVar("DATABASE_URL")),
    "object_store": ObjectStoreResource(
        url=dg.EnvVar("HV_OBJECT_STORE_URL"),
        endpoint_url=dg.EnvVar("HV_S3_ENDPOINT_URL").get_value(None),
        sse=dg.EnvVar("HV_S3_SSE").get_value("AES256"),
        kms_key_id=dg.EnvVar("HV_KMS_KEY_ID").get_value(None),
    ),
    "keys": KeyringResource(
        encryption_key=dg.EnvVar("ENCRYPTION_KEY"),
        kms_key_id=dg.EnvVar("HV_KMS_KEY_ID").get_value(None),
    ),
}

defs = dg.Definitions.merge(
    dg.Definitions(resources=resources),
    schema.defs,
    seed.defs,
    backups.defs,
    pitr.defs,
    terminology.defs,
    ehr.defs,
    standardization.defs,
    compliance.defs,
    operations.defs,
    security.defs,
)
