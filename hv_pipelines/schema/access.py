"""Who may touch which table: the database roles, the PHI list and the grants matrix (one reviewed place).

Every table of the models is listed in exactly one of `PHI_TABLES` and `NON_PHI_TABLES`
(tests/schema/test_access_matrix.py fails on a table in neither): adding a model means deciding,
in review, whether analysts (`hv_readonly`) and the terminology load may ever see it. A table that
holds credentials leading to PHI (tokens, 2FA secrets, key material) counts as PHI here.

The roles are NOLOGIN groups; logins are made members of them (`hv db roles create-login`).
`hv_owner` owns every object and is left out of the matrix (an owner holds every privilege).
The migration applies this matrix (core/roles.py `sync`), the posture check compares the live
grants with it, and `ALTER DEFAULT PRIVILEGES` gives a table created later by `hv_owner`
`NEW_TABLE_GRANTS` until a migration lists it here.
"""

from __future__ import annotations

from collections.abc import Mapping

OWNER = "hv_owner"
APP = "hv_app"
TERMINOLOGY = "hv_terminology"
EHR_INGEST = "hv_ehr_ingest"
ARCHIVER = "hv_archiver"
BACKUP = "hv_backup"
READONLY = "hv_readonly"

ROLES: dict[str, str] = {
    OWNER: "owns every schema object; migrations run as it (SET ROLE)",
    APP: "the HoloVitals application: DML on application tables, audit_logs append-only",
    TERMINOLOGY: "terminology loads: the code tables only, no PHI",
    EHR_INGEST: "EHR sync and standardization: the EHR and clinical tables",
    ARCHIVER: "audit-log archival: reads and deletes audit_logs, writes audit_log_archives",
    BACKUP: "backups: read-only on everything (pg_read_all_data); logins need REPLICATION for base backups",
    READONLY: "analysts: SELECT on the tables without PHI",
}
GRANTED_ROLES = tuple(r for r in ROLES if r != OWNER)

DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
READ = frozenset({"SELECT"})

TERMINOLOGY_TABLES = frozenset({
    "CPTCode", "CodeMapping", "ICD10Code", "LOINCCode", "LOINCUnit", "ReferenceRange", "RxNormCode",
    "SNOMEDCode",
})

# What EHR sync, clinical mapping and lab standardization write (core/fhir_ingest, standardize).
EHR_INGEST_TABLES = frozenset({
    "ehr_connections", "bulk_export_jobs", "sync_history", "fhir_resources", "customer_repositories",
    "customer_allergies", "customer_diagnoses", "customer_family_history", "customer_immunizations",
    "customer_medications", "customer_procedures", "customer_vital_signs", "epic_specific_data",
    "AthenaHealthSpecificData", "EClinicalWorksSpecificData", "LabResultStandardization", "documents",
    "secure_files",
})
# What ingestion only looks up: the user a connection belongs to, provider defaults, codes.
EHR_INGEST_READS = frozenset({"users", "customers", "provider_configurations"}) | TERMINOLOGY_TABLES

NON_PHI_TABLES = TERMINOLOGY_TABLES | frozenset({
    "ComplianceChecklist", "EncryptionKeyRotation", "Subprocessor", "audit_log_archives",
    "data_retention_policies", "instance_costs", "model_performance", "permissions", "role_permissions",
    "roles", "security_configurations", "system_health",
})

PHI_TABLES = frozenset({
    # people, their identities and sessions
    "users", "user_2fa", "user_roles", "user_sessions", "identity_challenges", "customers",
    "customer_repositories", "consent_grants", "access_logs", "access_requests", "rbac_access_logs",
    # clinical records and EHR data
    "customer_allergies", "customer_diagnoses", "customer_family_history", "customer_immunizations",
    "customer_medications", "customer_procedures", "customer_vital_signs", "fhir_resources",
    "epic_specific_data", "AthenaHealthSpecificData", "EClinicalWorksSpecificData",
    "LabResultStandardization", "ehr_connections", "bulk_export_jobs", "sync_history",
    "provider_configurations",
    # documents and what was extracted from them
    "documents", "document_embeddings", "document_links", "extracted_data", "ocr_results",
    "secure_files", "file_access_grants", "file_uploads",
    # patients' requests and consents
    "customer_access_requests", "customer_amendment_requests", "customer_communication_requests",
    "customer_consents", "patient_restriction_requests", "DataPortabilityRequest",
    "DataRectificationRequest", "notifications",
    # AI over patients' data
    "AnalysisTask", "ContextOptimization", "ai_interactions", "analysis_costs", "analysis_queue",
    "analysis_sessions", "chat_conversations", "chat_messages", "chatbot_costs", "cloud_instances",
    "prompt_optimizations", "prompt_splits",
    # compliance records naming people
    "audit_logs", "access_reviews", "breach_incidents", "BreachNotification", "LegalAgreement",
    "TrainingRecord", "compliance_reports", "security_alerts", "error_logs", "system_notifications",
    # billing
    "payment_intents", "subscriptions", "subscription_history", "token_balances", "token_transactions",
    # credentials and key material
    "encryption_keys", "github_configurations", "service_configurations",
})

# What `ALTER DEFAULT PRIVILEGES FOR ROLE hv_owner` gives a table no migration has listed yet:
# the application and backups see it, nobody else (it may hold PHI until reviewed).
NEW_TABLE_GRANTS: dict[str, frozenset[str]] = {APP: DML, BACKUP: READ}
NEW_SEQUENCE_GRANTS: dict[str, frozenset[str]] = {APP: frozenset({"USAGE", "SELECT", "UPDATE"}),
                                                 BACKUP: READ}

# `hv audit rehydrate` loads archived audit rows into query tables marked with this comment, named by
# the operator. They hold PHI, are no live trail (the application must not see them as one) and are
# read by the archiver's role that investigates with them, and backed up.
REHYDRATED = "<audit rows rehydrated for an investigation>"
REHYDRATED_MARK = "hv_pipelines: audit_logs rows rehydrated from the archive for an investigation"

# The jobs that touch PHI record it in `audit_logs` (core/audit_trail.py): INSERT only, so the
# trail stays append-only for everyone but the archiver.
APPEND = frozenset({"INSERT"})

_ROLE_TABLES: dict[str, dict[str, frozenset[str]]] = {
    APP: {"audit_logs": READ | APPEND, "audit_log_archives": READ, REHYDRATED: frozenset()},
    TERMINOLOGY: dict.fromkeys(TERMINOLOGY_TABLES, DML),
    EHR_INGEST: dict.fromkeys(EHR_INGEST_READS, READ) | dict.fromkeys(EHR_INGEST_TABLES, DML)
    # standardization keeps the curated reference ranges and the units' molar masses current
    # (core/standardize/ranges.py `sync_curated`) before it standardizes a connection's results
    | {"audit_logs": APPEND, "ReferenceRange": DML, "LOINCUnit": READ | {"UPDATE"}},
    ARCHIVER: {"audit_logs": frozenset({"SELECT", "INSERT", "DELETE"}), "audit_log_archives": DML,
               "data_retention_policies": READ, "users": READ,  # users: the system account of its entries
               REHYDRATED: READ},
    BACKUP: {"audit_logs": READ | APPEND},
    READONLY: dict.fromkeys(NON_PHI_TABLES, READ),
}


# The pipeline's own schema (outside the application's `public`): its tables and who may use them.
PIPELINE_SCHEMA = "hv_pipelines"
PIPELINE_TABLE_GRANTS: dict[str, dict[str, frozenset[str]]] = {
    "terminology_releases": {TERMINOLOGY: READ | APPEND, BACKUP: READ, READONLY: READ},
    "pitr_markers": {BACKUP: READ | APPEND},  # the PITR drill's markers (core/pitr/markers.py), no PHI
}


def table_grants(table: str) -> dict[str, frozenset[str]]:
    """The privileges each granted role holds on `table` (roles without any are left out)."""
    grants = dict(NEW_TABLE_GRANTS)
    for role, tables in _ROLE_TABLES.items():
        if table in tables:
            grants[role] = tables[table]
    return {role: privileges for role, privileges in grants.items() if privileges}


def expected_grants(tables: list[str], follows: Mapping[str, str] | None = None
                    ) -> dict[tuple[str, str], frozenset[str]]:
    """(role, table) -> privileges for every one of `tables`: what the posture check compares with.
    `follows` maps a table to the entry whose grants it takes: a partition its parent's (querying
    through the parent checks only the parent's, so a partition grants no more), a rehydrated
    table `REHYDRATED`'s."""
    follows = follows or {}
    return {(role, table): privileges for table in tables
            for role, privileges in table_grants(follows.get(table, table)).items()}
