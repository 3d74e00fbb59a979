"""Kubernetes resource requests for the heavy assets, as `op_tags` their `@asset` decorators take.

Under the Helm deployment (deploy/helm/values.yaml, `HV_EXECUTOR=k8s`) every step runs in its own
pod and the `dagster-k8s/config` op tag sizes that pod; everywhere else the tag is ignored. Light
assets need nothing: they get the run launcher's default (deploy/helm/values.yaml, `runK8sConfig`).

    @dg.asset(group_name="terminology", op_tags=compute.TERMINOLOGY_LOAD, ...)
"""

K8S_CONFIG_TAG = "dagster-k8s/config"


def k8s_op_tags(*, cpu: str, memory: str, memory_limit: str, ephemeral_storage: str | None = None) -> dict:
    """Op tags that request `cpu` and `memory` for the step's pod and cap its memory at `memory_limit`.

    No CPU limit on purpose: a throttled COPY holds its locks longer; memory is capped so a runaway step
    is killed instead of its node.
    """
    requests = {"cpu": cpu, "memory": memory}
    limits = {"memory": memory_limit}
    if ephemeral_storage:
        requests["ephemeral-storage"] = ephemeral_storage
        limits["ephemeral-storage"] = ephemeral_storage
    return {K8S_CONFIG_TAG: {"container_config": {"resources": {"requests": requests, "limits": limits}}}}


# Release files are parsed as streams, but SNOMED/RxNorm staging and the merge's sort want memory.
TERMINOLOGY_LOAD = k8s_op_tags(cpu="1", memory="2Gi", memory_limit="4Gi", ephemeral_storage="20Gi")
# NDJSON bulk-export files are streamed to staging; FHIR validation is CPU-bound.
EHR_INGEST = k8s_op_tags(cpu="2", memory="2Gi", memory_limit="4Gi", ephemeral_storage="10Gi")
# pg_dump | zstd | encrypt | multipart upload streams in bounded pieces: CPU for compression and
# encryption, little memory, no local disk.
BACKUP = k8s_op_tags(cpu="2", memory="1Gi", memory_limit="2Gi")
