"""HIPAA audit-log archival: move old months of `audit_logs` into encrypted, tamper-evident archives.

Each month becomes Parquet (zstd) parts sealed with the backups' envelope encryption, uploaded with
Object Lock retention, described by a manifest that is linked into a hash chain, read back and
re-hashed — and only then deleted from `audit_logs`, in the same transaction that records the
archive in `audit_log_archives`. See docs/archival.md for the operator's view.

Modules: `months` (calendar and retention policy), `rows` (COPY out, Arrow, the rows hash, COPY
in), `parts` (encrypted Parquet objects), `manifest` (manifests, chain, tombstones), `records`
(`audit_log_archives`), `archive` (one month, step by step), `verify`, `rehydrate`, `purge`,
`partitions` (the opt-in monthly partitioning: an archived month is dropped, not deleted).
"""

from hv_pipelines.core.archival.archive import ArchiveOptions, ArchiveResult, archive_month
from hv_pipelines.core.archival.months import Month, RetentionPolicy, load_policy, months_due
from hv_pipelines.core.archival.partitions import ensure_ahead as ensure_partitions_ahead
from hv_pipelines.core.archival.purge import PurgeResult, purge_expired
from hv_pipelines.core.archival.rehydrate import RehydrateResult, default_table, rehydrate_month
from hv_pipelines.core.archival.verify import DECRYPT, DIGEST, LIST, VerifyReport, verify_archives

__all__ = [
    "DECRYPT", "DIGEST", "LIST", "ArchiveOptions", "ArchiveResult", "Month", "PurgeResult", "RehydrateResult",
    "RetentionPolicy", "VerifyReport", "archive_month", "default_table", "ensure_partitions_ahead", "load_policy",
    "months_due",
    "purge_expired", "rehydrate_month", "verify_archives",
]
