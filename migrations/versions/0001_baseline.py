"""baseline: the HoloVitals schema as Prisma created it

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-25 16:26:02.689524
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# All 45 enum types (Prisma creates the ones no column uses too), created once before the tables
# that share them (a per-table CREATE TYPE would collide) and dropped after the tables on downgrade.
ENUMS: dict[str, list[str]] = {
    "AccessRequestStatus": ["PENDING", "APPROVED", "REJECTED", "EXPIRED", "REVOKED"],
    "AccessRequestType": ["FULL_RECORD", "SPECIFIC_RECORDS", "DATE_RANGE"],
    "AccessReviewType": [
        "USER_ACCESS",
        "ROLE_ASSIGNMENT",
        "PERMISSION_AUDIT",
        "EMERGENCY_ACCESS",
        "COMPREHENSIVE",
    ],
    "AccessUrgency": ["LOW", "NORMAL", "HIGH", "EMERGENCY"],
    "AgreementType": ["BAA", "DPA", "CONSENT", "TERMS_OF_SERVICE", "PRIVACY_POLICY"],
    "AlertSeverity": ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"],
    "AlertStatus": ["NEW", "ACKNOWLEDGED", "INVESTIGATING", "RESOLVED", "FALSE_POSITIVE", "IGNORED"],
    "AuditEventCategory": [
        "AUTHENTICATION",
        "AUTHORIZATION",
        "DATA_ACCESS",
        "DATA_MODIFICATION",
        "ADMINISTRATIVE",
        "SECURITY",
        "SYSTEM",
        "COMPLIANCE",
    ],
    "AuditEventType": [
        "LOGIN_SUCCESS",
        "LOGIN_FAILURE",
        "LOGOUT",
        "PASSWORD_CHANGE",
        "PASSWORD_RESET",
        "MFA_ENABLED",
        "MFA_DISABLED",
        "MFA_SUCCESS",
        "MFA_FAILURE",
        "SESSION_CREATED",
        "SESSION_EXPIRED",
        "SESSION_TERMINATED",
        "ACCESS_GRANTED",
        "ACCESS_DENIED",
        "PERMISSION_CHANGED",
        "ROLE_ASSIGNED",
        "ROLE_REMOVED",
        "EMERGENCY_ACCESS",
        "PHI_VIEWED",
        "PHI_CREATED",
        "PHI_UPDATED",
        "PHI_DELETED",
        "PHI_EXPORTED",
        "PHI_PRINTED",
        "PHI_SEARCHED",
        "RECORD_ACCESSED",
        "USER_CREATED",
        "USER_UPDATED",
        "USER_DELETED",
        "USER_ACTIVATED",
        "USER_DEACTIVATED",
        "CONFIG_CHANGED",
        "SECURITY_POLICY_CHANGED",
        "SYSTEM_UPDATED",
        "FAILED_ACCESS_ATTEMPT",
        "SUSPICIOUS_ACTIVITY",
        "SECURITY_VIOLATION",
        "BREACH_ATTEMPT",
        "VULNERABILITY_DETECTED",
        "MALWARE_DETECTED",
        "SYSTEM_STARTUP",
        "SYSTEM_SHUTDOWN",
        "BACKUP_CREATED",
        "BACKUP_RESTORED",
        "DATA_MIGRATION",
        "CONSENT_GIVEN",
        "CONSENT_REVOKED",
        "DATA_REQUEST",
        "DATA_DISCLOSURE",
        "BREACH_NOTIFICATION",
    ],
    "AuditOutcome": ["SUCCESS", "FAILURE", "PARTIAL_SUCCESS", "DENIED", "ERROR"],
    "BreachSeverity": ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
    "BreachType": [
        "UNAUTHORIZED_ACCESS",
        "UNAUTHORIZED_DISCLOSURE",
        "THEFT",
        "LOSS",
        "IMPROPER_DISPOSAL",
        "HACKING",
        "MALWARE",
        "PHISHING",
        "INSIDER_THREAT",
        "SYSTEM_ERROR",
        "OTHER",
    ],
    "BulkExportStatus": ["INITIATED", "IN_PROGRESS", "COMPLETED", "FAILED", "EXPIRED", "CANCELLED"],
    "BulkExportType": ["CUSTOMER", "GROUP", "SYSTEM"],
    "CommunicationType": ["EMAIL", "PHONE", "MAIL"],
    "ComplianceReportType": [
        "HIPAA_SECURITY",
        "HIPAA_PRIVACY",
        "ACCESS_REVIEW",
        "AUDIT_LOG_REVIEW",
        "SECURITY_ASSESSMENT",
        "RISK_ASSESSMENT",
        "INCIDENT_SUMMARY",
        "TRAINING_COMPLIANCE",
    ],
    "ComplianceStatus": ["COMPLIANT", "PARTIALLY_COMPLIANT", "NON_COMPLIANT", "UNDER_REVIEW"],
    "ComponentType": [
        "CHEMISTRY",
        "HEMATOLOGY",
        "MICROBIOLOGY",
        "IMMUNOLOGY",
        "TOXICOLOGY",
        "GENETICS",
        "PATHOLOGY",
        "VITAL_SIGNS",
        "OTHER",
    ],
    "ConnectionStatus": ["PENDING", "ACTIVE", "EXPIRED", "REVOKED", "ERROR", "DISCONNECTED"],
    "ConsentStatus": ["PENDING", "ACTIVE", "EXPIRED", "REVOKED", "SUPERSEDED"],
    "ConsentType": [
        "TREATMENT",
        "PAYMENT",
        "OPERATIONS",
        "RESEARCH",
        "MARKETING",
        "DISCLOSURE",
        "ELECTRONIC_COMMUNICATION",
        "DATA_SHARING",
    ],
    "DataRegion": ["US_EAST", "US_WEST", "EU_WEST", "EU_CENTRAL", "CA_CENTRAL", "UK"],
    "DeliveryMethod": ["ELECTRONIC", "PAPER", "PICKUP"],
    "EHRProvider": [
        "EPIC",
        "CERNER",
        "ALLSCRIPTS",
        "ATHENAHEALTH",
        "ECLINICALWORKS",
        "NEXTGEN",
        "MEDITECH",
        "PRACTICE_FUSION",
        "GREENWAY",
        "OTHER",
    ],
    "FHIRResourceType": [
        "CUSTOMER",
        "DOCUMENT_REFERENCE",
        "OBSERVATION",
        "CONDITION",
        "MEDICATION_REQUEST",
        "ALLERGY_INTOLERANCE",
        "IMMUNIZATION",
        "PROCEDURE",
        "DIAGNOSTIC_REPORT",
        "CARE_PLAN",
        "ENCOUNTER",
        "PRACTITIONER",
        "ORGANIZATION",
        "OTHER",
    ],
    "FileProcessingStatus": [
        "PENDING",
        "APPROVED",
        "PROCESSING",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "SCHEDULED",
    ],
    "InvestigationStatus": ["PENDING", "ONGOING", "COMPLETED", "CLOSED"],
    "Jurisdiction": ["USA", "CANADA_ONTARIO", "CANADA_ALBERTA", "CANADA_BC", "EU", "UK"],
    "KeyStatus": ["PENDING", "ACTIVE", "DEACTIVATED", "COMPROMISED", "DESTROYED"],
    "KeyType": ["MASTER_KEY", "DATA_ENCRYPTION_KEY", "KEY_ENCRYPTION_KEY"],
    "LOINCCategory": ["LABORATORY", "CLINICAL", "SURVEY", "CLAIMS", "DOCUMENT", "RADIOLOGY"],
    "NotificationStatus": ["PENDING", "IN_PROGRESS", "COMPLETED", "NOT_REQUIRED"],
    "PermissionScope": ["OWN", "ASSIGNED", "DEPARTMENT", "ORGANIZATION", "SYSTEM"],
    "ReferenceRangeType": ["NORMAL", "CRITICAL_LOW", "CRITICAL_HIGH", "THERAPEUTIC", "TOXIC"],
    "RequestStatus": ["PENDING", "APPROVED", "DENIED", "FULFILLED", "CANCELLED"],
    "RestrictionType": ["USE", "DISCLOSURE", "BOTH"],
    "ReviewStatus": ["PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED"],
    "RiskLevel": ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
    "SecurityAlertType": [
        "FAILED_LOGIN_ATTEMPTS",
        "SUSPICIOUS_ACCESS_PATTERN",
        "UNAUTHORIZED_ACCESS_ATTEMPT",
        "DATA_EXFILTRATION",
        "PRIVILEGE_ESCALATION",
        "MALWARE_DETECTED",
        "VULNERABILITY_EXPLOIT",
        "POLICY_VIOLATION",
        "ANOMALOUS_BEHAVIOR",
        "BRUTE_FORCE_ATTACK",
        "SQL_INJECTION_ATTEMPT",
        "XSS_ATTEMPT",
        "CSRF_ATTEMPT",
        "DDOS_ATTACK",
    ],
    "SubscriptionStatus": ["ACTIVE", "PAST_DUE", "CANCELLED", "EXPIRED", "TRIAL"],
    "SubscriptionTier": ["BASIC", "PROFESSIONAL", "ENTERPRISE"],
    "SyncStatus": ["IDLE", "QUEUED", "SYNCING", "COMPLETED", "FAILED", "CANCELLED"],
    "TokenTransactionType": [
        "INITIAL_DEPOSIT",
        "MONTHLY_REFRESH",
        "PURCHASE",
        "DEDUCTION",
        "REFUND",
        "BONUS",
        "ADJUSTMENT",
    ],
    "TwoFactorMethod": ["TOTP_2FA", "SMS_2FA"],
    "UnitSystem": ["UCUM", "SI", "CONVENTIONAL"],
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def upgrade() -> None:
    bind = op.get_bind()
    # checkfirst=False: an existing type of the same name is an error, as an existing table is;
    # adopting it would leave its labels, not the baseline's (see `hv db adopt` for Prisma's schema).
    for name, labels in ENUMS.items():
        postgresql.ENUM(*labels, name=name).create(bind, checkfirst=False)
    op.create_table(
        "BreachNotification",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("breachType", _enum("BreachType"), nullable=False),
        sa.Column("severity", _enum("BreachSeverity"), nullable=False),
        sa.Column("discoveryDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("affectedUsers", sa.Integer(), nullable=False),
        sa.Column("affectedRecords", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("containmentActions", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("affectedDataTypes", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("affectedUserIds", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "hipaaNotificationStatus",
            _enum("NotificationStatus"),
            server_default=sa.text("'PENDING'"),
            nullable=False,
        ),
        sa.Column("hipaaNotificationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("hipaaIndividualsNotified", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "gdprNotificationStatus",
            _enum("NotificationStatus"),
            server_default=sa.text("'PENDING'"),
            nullable=False,
        ),
        sa.Column("gdprNotificationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("gdprIndividualsNotified", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "phipaNotificationStatus",
            _enum("NotificationStatus"),
            server_default=sa.text("'PENDING'"),
            nullable=False,
        ),
        sa.Column("phipaNotificationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("phipaIndividualsNotified", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("hhsReported", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("hhsReportDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("hhsReportNumber", sa.Text(), nullable=True),
        sa.Column(
            "supervisoryAuthorityReported", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("supervisoryAuthorityReportDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("supervisoryAuthority", sa.Text(), nullable=True),
        sa.Column(
            "privacyCommissionerReported", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("privacyCommissionerReportDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("privacyCommissioner", sa.Text(), nullable=True),
        sa.Column("mediaNotificationRequired", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("mediaNotificationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("resolved", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("resolvedDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("resolutionNotes", sa.Text(), nullable=True),
        sa.Column(
            "postIncidentReviewCompleted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("postIncidentReviewDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("lessonsLearned", sa.Text(), nullable=True),
        sa.Column("preventiveMeasures", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("createdBy", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="BreachNotification_pkey"),
    )
    op.create_index(
        "BreachNotification_discoveryDate_idx", "BreachNotification", ["discoveryDate"], unique=False
    )
    op.create_index(
        "BreachNotification_gdprNotificationStatus_idx",
        "BreachNotification",
        ["gdprNotificationStatus"],
        unique=False,
    )
    op.create_index(
        "BreachNotification_hipaaNotificationStatus_idx",
        "BreachNotification",
        ["hipaaNotificationStatus"],
        unique=False,
    )
    op.create_index(
        "BreachNotification_phipaNotificationStatus_idx",
        "BreachNotification",
        ["phipaNotificationStatus"],
        unique=False,
    )
    op.create_index("BreachNotification_resolved_idx", "BreachNotification", ["resolved"], unique=False)
    op.create_index("BreachNotification_severity_idx", "BreachNotification", ["severity"], unique=False)
    op.create_table(
        "CPTCode",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shortDescription", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subcategory", sa.Text(), nullable=True),
        sa.Column("rvuWork", sa.Double(), nullable=True),
        sa.Column("rvuPractice", sa.Double(), nullable=True),
        sa.Column("rvuMalpractice", sa.Double(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "effectiveDate",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="CPTCode_pkey"),
    )
    op.create_index("CPTCode_category_idx", "CPTCode", ["category"], unique=False)
    op.create_index("CPTCode_code_idx", "CPTCode", ["code"], unique=False)
    op.create_index("CPTCode_code_key", "CPTCode", ["code"], unique=True)
    op.create_index("CPTCode_description_idx", "CPTCode", ["description"], unique=False)
    op.create_index("CPTCode_status_idx", "CPTCode", ["status"], unique=False)
    op.create_table(
        "ComplianceChecklist",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("jurisdiction", _enum("Jurisdiction"), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'NOT_STARTED'"), nullable=False),
        sa.Column("completedDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedBy", sa.Text(), nullable=True),
        sa.Column("evidenceUrl", sa.Text(), nullable=True),
        sa.Column("evidenceNotes", sa.Text(), nullable=True),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("dueDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="ComplianceChecklist_pkey"),
    )
    op.create_index("ComplianceChecklist_dueDate_idx", "ComplianceChecklist", ["dueDate"], unique=False)
    op.create_index(
        "ComplianceChecklist_jurisdiction_idx", "ComplianceChecklist", ["jurisdiction"], unique=False
    )
    op.create_index("ComplianceChecklist_priority_idx", "ComplianceChecklist", ["priority"], unique=False)
    op.create_index("ComplianceChecklist_status_idx", "ComplianceChecklist", ["status"], unique=False)
    op.create_table(
        "EncryptionKeyRotation",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("keyId", sa.Text(), nullable=False),
        sa.Column("keyType", sa.Text(), nullable=False),
        sa.Column("region", _enum("DataRegion"), nullable=False),
        sa.Column("oldKeyId", sa.Text(), nullable=True),
        sa.Column("newKeyId", sa.Text(), nullable=False),
        sa.Column("rotationDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("rotationReason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'COMPLETED'"), nullable=False),
        sa.Column("affectedRecords", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("performedBy", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="EncryptionKeyRotation_pkey"),
    )
    op.create_index("EncryptionKeyRotation_keyId_idx", "EncryptionKeyRotation", ["keyId"], unique=False)
    op.create_index("EncryptionKeyRotation_region_idx", "EncryptionKeyRotation", ["region"], unique=False)
    op.create_index(
        "EncryptionKeyRotation_rotationDate_idx", "EncryptionKeyRotation", ["rotationDate"], unique=False
    )
    op.create_table(
        "ICD10Code",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("shortDescription", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subcategory", sa.Text(), nullable=True),
        sa.Column("billable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "effectiveDate",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="ICD10Code_pkey"),
    )
    op.create_index("ICD10Code_billable_idx", "ICD10Code", ["billable"], unique=False)
    op.create_index("ICD10Code_category_idx", "ICD10Code", ["category"], unique=False)
    op.create_index("ICD10Code_code_idx", "ICD10Code", ["code"], unique=False)
    op.create_index("ICD10Code_code_key", "ICD10Code", ["code"], unique=True)
    op.create_index("ICD10Code_description_idx", "ICD10Code", ["description"], unique=False)
    op.create_index("ICD10Code_status_idx", "ICD10Code", ["status"], unique=False)
    op.create_table(
        "LOINCCode",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loincNumber", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("property", sa.Text(), nullable=False),
        sa.Column("timeAspect", sa.Text(), nullable=False),
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("scale", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=True),
        sa.Column("category", _enum("LOINCCategory"), nullable=False),
        sa.Column("componentType", _enum("ComponentType"), nullable=False),
        sa.Column("commonName", sa.Text(), nullable=False),
        sa.Column("shortName", sa.Text(), nullable=False),
        sa.Column("longName", sa.Text(), nullable=False),
        sa.Column("relatedNames", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column("version", sa.Text(), server_default=sa.text("'2.76'"), nullable=False),
        sa.Column(
            "effectiveDate",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="LOINCCode_pkey"),
    )
    op.create_index("LOINCCode_category_idx", "LOINCCode", ["category"], unique=False)
    op.create_index("LOINCCode_commonName_idx", "LOINCCode", ["commonName"], unique=False)
    op.create_index("LOINCCode_componentType_idx", "LOINCCode", ["componentType"], unique=False)
    op.create_index("LOINCCode_component_idx", "LOINCCode", ["component"], unique=False)
    op.create_index("LOINCCode_loincNumber_idx", "LOINCCode", ["loincNumber"], unique=False)
    op.create_index("LOINCCode_loincNumber_key", "LOINCCode", ["loincNumber"], unique=True)
    op.create_index("LOINCCode_status_idx", "LOINCCode", ["status"], unique=False)
    op.create_table(
        "RxNormCode",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("rxcui", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("synonym", sa.Text(), nullable=True),
        sa.Column("termType", sa.Text(), nullable=False),
        sa.Column("strength", sa.Text(), nullable=True),
        sa.Column("doseForm", sa.Text(), nullable=True),
        sa.Column("ingredients", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("brandNames", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="RxNormCode_pkey"),
    )
    op.create_index("RxNormCode_name_idx", "RxNormCode", ["name"], unique=False)
    op.create_index("RxNormCode_rxcui_idx", "RxNormCode", ["rxcui"], unique=False)
    op.create_index("RxNormCode_rxcui_key", "RxNormCode", ["rxcui"], unique=True)
    op.create_index("RxNormCode_status_idx", "RxNormCode", ["status"], unique=False)
    op.create_index("RxNormCode_termType_idx", "RxNormCode", ["termType"], unique=False)
    op.create_table(
        "SNOMEDCode",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("snomedId", sa.Text(), nullable=False),
        sa.Column("preferredTerm", sa.Text(), nullable=False),
        sa.Column("fullySpecified", sa.Text(), nullable=False),
        sa.Column("synonyms", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("semanticTag", sa.Text(), nullable=False),
        sa.Column("hierarchy", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "effectiveDate",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="SNOMEDCode_pkey"),
    )
    op.create_index("SNOMEDCode_preferredTerm_idx", "SNOMEDCode", ["preferredTerm"], unique=False)
    op.create_index("SNOMEDCode_semanticTag_idx", "SNOMEDCode", ["semanticTag"], unique=False)
    op.create_index("SNOMEDCode_snomedId_idx", "SNOMEDCode", ["snomedId"], unique=False)
    op.create_index("SNOMEDCode_snomedId_key", "SNOMEDCode", ["snomedId"], unique=True)
    op.create_index("SNOMEDCode_status_idx", "SNOMEDCode", ["status"], unique=False)
    op.create_table(
        "Subprocessor",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("services", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("dataProcessed", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("locations", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("baaStatus", sa.Text(), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("baaSigned", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("baaExpiration", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("dpaStatus", sa.Text(), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("dpaSigned", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("dpaExpiration", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("soc2Certified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("iso27001Certified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("hipaaCompliant", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("gdprCompliant", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column("lastNotificationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("notificationsSent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="Subprocessor_pkey"),
    )
    op.create_index("Subprocessor_baaStatus_idx", "Subprocessor", ["baaStatus"], unique=False)
    op.create_index("Subprocessor_dpaStatus_idx", "Subprocessor", ["dpaStatus"], unique=False)
    op.create_index("Subprocessor_status_idx", "Subprocessor", ["status"], unique=False)
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("requesterId", sa.Text(), nullable=False),
        sa.Column("requesterName", sa.Text(), nullable=False),
        sa.Column("requesterRole", sa.Text(), nullable=False),
        sa.Column("resourceType", sa.Text(), nullable=False),
        sa.Column("resourceId", sa.Text(), nullable=False),
        sa.Column("accessType", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", _enum("AccessUrgency"), server_default=sa.text("'NORMAL'"), nullable=False),
        sa.Column("isEmergency", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("emergencyReason", sa.Text(), nullable=True),
        sa.Column(
            "status", _enum("AccessRequestStatus"), server_default=sa.text("'PENDING'"), nullable=False
        ),
        sa.Column("approvedBy", sa.Text(), nullable=True),
        sa.Column("approvedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("rejectedBy", sa.Text(), nullable=True),
        sa.Column("rejectedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("rejectionReason", sa.Text(), nullable=True),
        sa.Column(
            "requestedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("accessStartTime", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("accessEndTime", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewNotes", sa.Text(), nullable=True),
        sa.Column("auditLogId", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="access_requests_pkey"),
    )
    op.create_index("access_requests_requesterId_idx", "access_requests", ["requesterId"], unique=False)
    op.create_index(
        "access_requests_resourceType_resourceId_idx",
        "access_requests",
        ["resourceType", "resourceId"],
        unique=False,
    )
    op.create_index("access_requests_status_idx", "access_requests", ["status"], unique=False)
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("reviewType", _enum("AccessReviewType"), nullable=False),
        sa.Column("reviewPeriodStart", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("reviewPeriodEnd", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column("departmentId", sa.Text(), nullable=True),
        sa.Column("status", _enum("ReviewStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("scheduledAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("startedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("assignedTo", sa.Text(), nullable=True),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="access_reviews_pkey"),
    )
    op.create_index("access_reviews_scheduledAt_idx", "access_reviews", ["scheduledAt"], unique=False)
    op.create_index("access_reviews_status_idx", "access_reviews", ["status"], unique=False)
    op.create_table(
        "audit_log_archives",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("archiveDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("startDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("endDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("recordCount", sa.Integer(), nullable=False),
        sa.Column("storagePath", sa.Text(), nullable=False),
        sa.Column("fileSize", sa.Integer(), nullable=False),
        sa.Column("compressed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("encrypted", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("createdBy", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="audit_log_archives_pkey"),
    )
    op.create_index("audit_log_archives_archiveDate_idx", "audit_log_archives", ["archiveDate"], unique=False)
    op.create_table(
        "breach_incidents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("incidentNumber", sa.Text(), nullable=False),
        sa.Column("discoveredAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column(
            "reportedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("breachType", _enum("BreachType"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("causeOfBreach", sa.Text(), nullable=False),
        sa.Column("affectedRecords", sa.Integer(), nullable=False),
        sa.Column("affectedIndividuals", sa.Integer(), nullable=False),
        sa.Column("dataTypes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("riskLevel", _enum("RiskLevel"), nullable=False),
        sa.Column("riskAssessment", sa.Text(), nullable=False),
        sa.Column("affectedCustomerIds", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("affectedUserIds", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "notificationStatus",
            _enum("NotificationStatus"),
            server_default=sa.text("'PENDING'"),
            nullable=False,
        ),
        sa.Column("individualsNotifiedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("hhsNotifiedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("mediaNotifiedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "investigationStatus",
            _enum("InvestigationStatus"),
            server_default=sa.text("'ONGOING'"),
            nullable=False,
        ),
        sa.Column("investigationNotes", sa.Text(), nullable=True),
        sa.Column("rootCause", sa.Text(), nullable=True),
        sa.Column("remediationActions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("remediationStatus", sa.Text(), nullable=True),
        sa.Column("remediationCompletedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("documents", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("createdBy", sa.Text(), nullable=False),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="breach_incidents_pkey"),
    )
    op.create_index("breach_incidents_discoveredAt_idx", "breach_incidents", ["discoveredAt"], unique=False)
    op.create_index(
        "breach_incidents_incidentNumber_key", "breach_incidents", ["incidentNumber"], unique=True
    )
    op.create_index(
        "breach_incidents_notificationStatus_idx", "breach_incidents", ["notificationStatus"], unique=False
    )
    op.create_index("breach_incidents_riskLevel_idx", "breach_incidents", ["riskLevel"], unique=False)
    op.create_table(
        "compliance_reports",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("reportType", _enum("ComplianceReportType"), nullable=False),
        sa.Column("reportPeriodStart", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("reportPeriodEnd", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recommendations", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("overallStatus", _enum("ComplianceStatus"), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column(
            "generatedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("generatedBy", sa.Text(), nullable=False),
        sa.Column("reviewedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.Column("reviewNotes", sa.Text(), nullable=True),
        sa.Column("reportUrl", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="compliance_reports_pkey"),
    )
    op.create_index(
        "compliance_reports_reportPeriodStart_reportPeriodEnd_idx",
        "compliance_reports",
        ["reportPeriodStart", "reportPeriodEnd"],
        unique=False,
    )
    op.create_index("compliance_reports_reportType_idx", "compliance_reports", ["reportType"], unique=False)
    op.create_table(
        "customer_access_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("requestType", _enum("AccessRequestType"), nullable=False),
        sa.Column("specificRecords", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("startDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("endDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deliveryMethod", _enum("DeliveryMethod"), nullable=False),
        sa.Column("deliveryAddress", sa.Text(), nullable=True),
        sa.Column("status", _enum("RequestStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column(
            "requestedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("fulfilledAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("fulfilledBy", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="customer_access_requests_pkey"),
    )
    op.create_index(
        "customer_access_requests_customerId_idx", "customer_access_requests", ["customerId"], unique=False
    )
    op.create_index(
        "customer_access_requests_status_idx", "customer_access_requests", ["status"], unique=False
    )
    op.create_table(
        "customer_amendment_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("recordId", sa.Text(), nullable=False),
        sa.Column("recordType", sa.Text(), nullable=False),
        sa.Column("currentValue", sa.Text(), nullable=False),
        sa.Column("proposedValue", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", _enum("RequestStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column(
            "requestedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("reviewedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.Column("reviewNotes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="customer_amendment_requests_pkey"),
    )
    op.create_index(
        "customer_amendment_requests_customerId_idx",
        "customer_amendment_requests",
        ["customerId"],
        unique=False,
    )
    op.create_index(
        "customer_amendment_requests_status_idx", "customer_amendment_requests", ["status"], unique=False
    )
    op.create_table(
        "customer_communication_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("communicationType", _enum("CommunicationType"), nullable=False),
        sa.Column("alternativeContact", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", _enum("RequestStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column(
            "requestedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("reviewedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="customer_communication_requests_pkey"),
    )
    op.create_index(
        "customer_communication_requests_customerId_idx",
        "customer_communication_requests",
        ["customerId"],
        unique=False,
    )
    op.create_index(
        "customer_communication_requests_status_idx",
        "customer_communication_requests",
        ["status"],
        unique=False,
    )
    op.create_table(
        "customer_consents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("consentType", _enum("ConsentType"), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", _enum("ConsentStatus"), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "givenAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("givenBy", sa.Text(), nullable=False),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("revokedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("revokedBy", sa.Text(), nullable=True),
        sa.Column("revocationReason", sa.Text(), nullable=True),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("restrictions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("documentUrl", sa.Text(), nullable=True),
        sa.Column("signatureUrl", sa.Text(), nullable=True),
        sa.Column("auditLogId", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="customer_consents_pkey"),
    )
    op.create_index("customer_consents_consentType_idx", "customer_consents", ["consentType"], unique=False)
    op.create_index("customer_consents_customerId_idx", "customer_consents", ["customerId"], unique=False)
    op.create_index("customer_consents_status_idx", "customer_consents", ["status"], unique=False)
    op.create_table(
        "customer_repositories",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("primary_identity_hash", sa.Text(), nullable=False),
        sa.Column("secondary_identity_hash", sa.Text(), nullable=False),
        sa.Column("composite_identity_hash", sa.Text(), nullable=False),
        sa.Column("encrypted_personal_info", sa.Text(), nullable=False),
        sa.Column("has_mothers_maiden_name", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("has_previous_address", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("last_accessed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="customer_repositories_pkey"),
    )
    op.create_index(
        "customer_repositories_composite_identity_hash_idx",
        "customer_repositories",
        ["composite_identity_hash"],
        unique=False,
    )
    op.create_index(
        "customer_repositories_composite_identity_hash_key",
        "customer_repositories",
        ["composite_identity_hash"],
        unique=True,
    )
    op.create_index(
        "customer_repositories_primary_identity_hash_key",
        "customer_repositories",
        ["primary_identity_hash"],
        unique=True,
    )
    op.create_index("customer_repositories_user_id_idx", "customer_repositories", ["user_id"], unique=False)
    op.create_index("customer_repositories_user_id_key", "customer_repositories", ["user_id"], unique=True)
    op.create_table(
        "data_retention_policies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dataType", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("retentionPeriodDays", sa.Integer(), nullable=False),
        sa.Column("archiveAfterDays", sa.Integer(), nullable=True),
        sa.Column("deleteAfterDays", sa.Integer(), nullable=True),
        sa.Column("legalBasis", sa.Text(), nullable=True),
        sa.Column("jurisdiction", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "effectiveFrom",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("effectiveTo", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("createdBy", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="data_retention_policies_pkey"),
    )
    op.create_index("data_retention_policies_name_key", "data_retention_policies", ["name"], unique=True)
    op.create_table(
        "encryption_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("keyId", sa.Text(), nullable=False),
        sa.Column("keyType", _enum("KeyType"), nullable=False),
        sa.Column("algorithm", sa.Text(), nullable=False),
        sa.Column("keySize", sa.Integer(), nullable=False),
        sa.Column("encryptedKey", sa.Text(), nullable=False),
        sa.Column("keyVersion", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("status", _enum("KeyStatus"), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("activatedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deactivatedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("destroyedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("rotationSchedule", sa.Text(), nullable=True),
        sa.Column("lastRotatedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("nextRotationAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("usageCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("allowedRoles", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="encryption_keys_pkey"),
    )
    op.create_index("encryption_keys_keyId_idx", "encryption_keys", ["keyId"], unique=False)
    op.create_index("encryption_keys_keyId_key", "encryption_keys", ["keyId"], unique=True)
    op.create_index("encryption_keys_status_idx", "encryption_keys", ["status"], unique=False)
    op.create_table(
        "github_configurations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("personal_access_token", sa.Text(), nullable=False),
        sa.Column("token_name", sa.Text(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=True),
        sa.Column("expires_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="github_configurations_pkey"),
    )
    op.create_table(
        "identity_challenges",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("expires_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="identity_challenges_pkey"),
    )
    op.create_index("identity_challenges_expires_at_idx", "identity_challenges", ["expires_at"], unique=False)
    op.create_index(
        "identity_challenges_repository_id_idx", "identity_challenges", ["repository_id"], unique=False
    )
    op.create_table(
        "instance_costs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("instanceId", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("instanceType", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("createdAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("terminatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.Column("costPerMinute", sa.Double(), nullable=False),
        sa.Column("totalCost", sa.Double(), nullable=False),
        sa.Column("tasksCompleted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("tokensProcessed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="instance_costs_pkey"),
    )
    op.create_index("instance_costs_createdAt_idx", "instance_costs", ["createdAt"], unique=False)
    op.create_index("instance_costs_model_idx", "instance_costs", ["model"], unique=False)
    op.create_index("instance_costs_provider_idx", "instance_costs", ["provider"], unique=False)
    op.create_table(
        "model_performance",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("avgResponseTime", sa.Double(), nullable=False),
        sa.Column("avgTokensPerSecond", sa.Double(), nullable=False),
        sa.Column("successRate", sa.Double(), nullable=False),
        sa.Column("errorRate", sa.Double(), nullable=False),
        sa.Column("avgCostPerRequest", sa.Double(), nullable=False),
        sa.Column("avgCostPerToken", sa.Double(), nullable=False),
        sa.Column("totalRequests", sa.Integer(), nullable=False),
        sa.Column("totalTokens", sa.Integer(), nullable=False),
        sa.Column("totalCost", sa.Double(), nullable=False),
        sa.Column("periodStart", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("periodEnd", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="model_performance_pkey"),
    )
    op.create_index("model_performance_model_idx", "model_performance", ["model"], unique=False)
    op.create_index("model_performance_periodStart_idx", "model_performance", ["periodStart"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requires_action", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("read", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("read_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="notifications_pkey"),
    )
    op.create_index("notifications_created_at_idx", "notifications", ["created_at"], unique=False)
    op.create_index("notifications_customer_id_idx", "notifications", ["customer_id"], unique=False)
    op.create_index("notifications_read_idx", "notifications", ["read"], unique=False)
    op.create_table(
        "patient_restriction_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("restrictionType", _enum("RestrictionType"), nullable=False),
        sa.Column("dataType", sa.Text(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", _enum("RequestStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column(
            "requestedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("reviewedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.Column("reviewNotes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="patient_restriction_requests_pkey"),
    )
    op.create_index(
        "patient_restriction_requests_customerId_idx",
        "patient_restriction_requests",
        ["customerId"],
        unique=False,
    )
    op.create_index(
        "patient_restriction_requests_status_idx", "patient_restriction_requests", ["status"], unique=False
    )
    op.create_table(
        "permissions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("displayName", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("scope", _enum("PermissionScope"), server_default=sa.text("'OWN'"), nullable=False),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="permissions_pkey"),
    )
    op.create_index("permissions_name_key", "permissions", ["name"], unique=True)
    op.create_index(
        "permissions_resource_action_scope_key", "permissions", ["resource", "action", "scope"], unique=True
    )
    op.create_table(
        "prompt_optimizations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("originalPrompt", sa.Text(), nullable=False),
        sa.Column("originalTokens", sa.Integer(), nullable=False),
        sa.Column("optimizedPrompt", sa.Text(), nullable=False),
        sa.Column("optimizedTokens", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("tokenReduction", sa.Integer(), nullable=False),
        sa.Column("reductionPercent", sa.Double(), nullable=False),
        sa.Column("executionTime", sa.Double(), nullable=True),
        sa.Column("successRate", sa.Double(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="prompt_optimizations_pkey"),
    )
    op.create_index("prompt_optimizations_createdAt_idx", "prompt_optimizations", ["createdAt"], unique=False)
    op.create_table(
        "prompt_splits",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("taskId", sa.Text(), nullable=False),
        sa.Column("splitId", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("dependencies", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.PrimaryKeyConstraint("id", name="prompt_splits_pkey"),
    )
    op.create_index("prompt_splits_order_idx", "prompt_splits", ["order"], unique=False)
    op.create_index("prompt_splits_taskId_idx", "prompt_splits", ["taskId"], unique=False)
    op.create_table(
        "provider_configurations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("provider", _enum("EHRProvider"), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("fhir_base_url", sa.Text(), nullable=False),
        sa.Column("authorization_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column(
            "supports_document_reference", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("supports_observation", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("supports_condition", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("supports_medication", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("supports_allergy", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("supports_immunization", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("supports_procedure", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="provider_configurations_pkey"),
    )
    op.create_index(
        "provider_configurations_enabled_idx", "provider_configurations", ["enabled"], unique=False
    )
    op.create_index(
        "provider_configurations_provider_idx", "provider_configurations", ["provider"], unique=False
    )
    op.create_index(
        "provider_configurations_provider_provider_name_key",
        "provider_configurations",
        ["provider", "provider_name"],
        unique=True,
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("displayName", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("isSystem", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("createdBy", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="roles_pkey"),
    )
    op.create_index("roles_name_key", "roles", ["name"], unique=True)
    op.create_table(
        "secure_files",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("fileName", sa.Text(), nullable=False),
        sa.Column("fileType", sa.Text(), nullable=False),
        sa.Column("fileSize", sa.Integer(), nullable=False),
        sa.Column("fileHash", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("encrypted", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("encryptionMetadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("storagePath", sa.Text(), nullable=False),
        sa.Column("uploadedBy", sa.Text(), nullable=False),
        sa.Column("customerId", sa.Text(), nullable=True),
        sa.Column("accessCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lastAccessedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deletedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deletedBy", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="secure_files_pkey"),
    )
    op.create_index("secure_files_category_idx", "secure_files", ["category"], unique=False)
    op.create_index("secure_files_customerId_idx", "secure_files", ["customerId"], unique=False)
    op.create_index("secure_files_deleted_idx", "secure_files", ["deleted"], unique=False)
    op.create_index("secure_files_uploadedBy_idx", "secure_files", ["uploadedBy"], unique=False)
    op.create_table(
        "security_alerts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), server_default=sa.text("'high'"), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="security_alerts_pkey"),
    )
    op.create_index("security_alerts_acknowledged_idx", "security_alerts", ["acknowledged"], unique=False)
    op.create_index("security_alerts_created_at_idx", "security_alerts", ["created_at"], unique=False)
    op.create_index("security_alerts_user_id_idx", "security_alerts", ["user_id"], unique=False)
    op.create_table(
        "security_configurations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("valueType", sa.Text(), nullable=False),
        sa.Column("validation", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("updatedBy", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="security_configurations_pkey"),
    )
    op.create_index("security_configurations_key_key", "security_configurations", ["key"], unique=True)
    op.create_table(
        "service_configurations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("service_name", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("configuration", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="service_configurations_pkey"),
    )
    op.create_index(
        "service_configurations_service_name_idx", "service_configurations", ["service_name"], unique=False
    )
    op.create_index(
        "service_configurations_service_name_key", "service_configurations", ["service_name"], unique=True
    )
    op.create_table(
        "system_health",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("responseTime", sa.Double(), nullable=True),
        sa.Column("errorRate", sa.Double(), nullable=True),
        sa.Column("throughput", sa.Double(), nullable=True),
        sa.Column("cpuUsage", sa.Double(), nullable=True),
        sa.Column("memoryUsage", sa.Double(), nullable=True),
        sa.Column("diskUsage", sa.Double(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name="system_health_pkey"),
    )
    op.create_index("system_health_component_idx", "system_health", ["component"], unique=False)
    op.create_index("system_health_status_idx", "system_health", ["status"], unique=False)
    op.create_index("system_health_timestamp_idx", "system_health", ["timestamp"], unique=False)
    op.create_table(
        "user_2fa",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("method", _enum("TwoFactorMethod"), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("phoneNumber", sa.Text(), nullable=True),
        sa.Column("smsCode", sa.Text(), nullable=True),
        sa.Column("smsCodeExpiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("backupCodes", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="user_2fa_pkey"),
    )
    op.create_index("user_2fa_userId_method_key", "user_2fa", ["userId", "method"], unique=True)
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default=sa.text("'CUSTOMER'"), nullable=False),
        sa.Column("mfa_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("mfa_secret", sa.Text(), nullable=True),
        sa.Column("mfa_backup_codes", sa.Text(), nullable=True),
        sa.Column("failed_login_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_failed_login", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
    )
    op.create_index("users_email_key", "users", ["email"], unique=True)
    op.create_table(
        "AnalysisTask",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retryCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxRetries", sa.Integer(), server_default=sa.text("2"), nullable=False),
        sa.Column("estimatedCompletionTime", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("startedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="AnalysisTask_userId_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="AnalysisTask_pkey"),
    )
    op.create_index("AnalysisTask_createdAt_idx", "AnalysisTask", ["createdAt"], unique=False)
    op.create_index("AnalysisTask_priority_idx", "AnalysisTask", ["priority"], unique=False)
    op.create_index("AnalysisTask_status_idx", "AnalysisTask", ["status"], unique=False)
    op.create_index("AnalysisTask_type_idx", "AnalysisTask", ["type"], unique=False)
    op.create_index("AnalysisTask_userId_idx", "AnalysisTask", ["userId"], unique=False)
    op.create_table(
        "AthenaHealthSpecificData",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("resourceType", sa.Text(), nullable=False),
        sa.Column("resourceId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("reportType", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("effectiveDateTime", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("issued", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.Column("presentedForm", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("intent", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("activities", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("class", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("reasonCode", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("diagnosis", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("hospitalization", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("appointmentType", sa.Text(), nullable=True),
        sa.Column("start", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("end", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("minutesDuration", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="AthenaHealthSpecificData_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="AthenaHealthSpecificData_pkey"),
    )
    op.create_index(
        "AthenaHealthSpecificData_resourceId_idx", "AthenaHealthSpecificData", ["resourceId"], unique=False
    )
    op.create_index(
        "AthenaHealthSpecificData_resourceId_key", "AthenaHealthSpecificData", ["resourceId"], unique=True
    )
    op.create_index(
        "AthenaHealthSpecificData_resourceType_idx",
        "AthenaHealthSpecificData",
        ["resourceType"],
        unique=False,
    )
    op.create_index(
        "AthenaHealthSpecificData_userId_idx", "AthenaHealthSpecificData", ["userId"], unique=False
    )
    op.create_table(
        "CodeMapping",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loincCode", sa.Text(), nullable=False),
        sa.Column("targetSystem", sa.Text(), nullable=False),
        sa.Column("targetCode", sa.Text(), nullable=False),
        sa.Column("targetName", sa.Text(), nullable=True),
        sa.Column("relationship", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Double(), server_default=sa.text("1.0"), nullable=False),
        sa.Column("source", sa.Text(), server_default=sa.text("'Manual'"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loincCode"],
            ["LOINCCode.loincNumber"],
            name="CodeMapping_loincCode_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="CodeMapping_pkey"),
    )
    op.create_index("CodeMapping_confidence_idx", "CodeMapping", ["confidence"], unique=False)
    op.create_index("CodeMapping_loincCode_idx", "CodeMapping", ["loincCode"], unique=False)
    op.create_index(
        "CodeMapping_loincCode_targetSystem_targetCode_key",
        "CodeMapping",
        ["loincCode", "targetSystem", "targetCode"],
        unique=True,
    )
    op.create_index("CodeMapping_targetCode_idx", "CodeMapping", ["targetCode"], unique=False)
    op.create_index("CodeMapping_targetSystem_idx", "CodeMapping", ["targetSystem"], unique=False)
    op.create_table(
        "ContextOptimization",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("originalTokens", sa.Integer(), nullable=False),
        sa.Column("optimizedTokens", sa.Integer(), nullable=False),
        sa.Column("reductionPercentage", sa.Double(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("compressionRatio", sa.Double(), nullable=False),
        sa.Column("relevanceScore", sa.Double(), nullable=False),
        sa.Column("informationDensity", sa.Double(), nullable=False),
        sa.Column("processingTimeMs", sa.Integer(), nullable=False),
        sa.Column("qualityScore", sa.Double(), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="ContextOptimization_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="ContextOptimization_pkey"),
    )
    op.create_index("ContextOptimization_createdAt_idx", "ContextOptimization", ["createdAt"], unique=False)
    op.create_index("ContextOptimization_strategy_idx", "ContextOptimization", ["strategy"], unique=False)
    op.create_index("ContextOptimization_userId_idx", "ContextOptimization", ["userId"], unique=False)
    op.create_table(
        "DataPortabilityRequest",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("includeDocuments", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("includeEHRData", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("exportUrl", sa.Text(), nullable=True),
        sa.Column("exportSize", sa.Integer(), nullable=True),
        sa.Column("expirationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("startedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("errorMessage", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="DataPortabilityRequest_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="DataPortabilityRequest_pkey"),
    )
    op.create_index(
        "DataPortabilityRequest_createdAt_idx", "DataPortabilityRequest", ["createdAt"], unique=False
    )
    op.create_index("DataPortabilityRequest_status_idx", "DataPortabilityRequest", ["status"], unique=False)
    op.create_index("DataPortabilityRequest_userId_idx", "DataPortabilityRequest", ["userId"], unique=False)
    op.create_table(
        "DataRectificationRequest",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("dataType", sa.Text(), nullable=False),
        sa.Column("recordId", sa.Text(), nullable=True),
        sa.Column("currentValue", sa.Text(), nullable=False),
        sa.Column("requestedValue", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("reviewedBy", sa.Text(), nullable=True),
        sa.Column("reviewedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("reviewNotes", sa.Text(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="DataRectificationRequest_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="DataRectificationRequest_pkey"),
    )
    op.create_index(
        "DataRectificationRequest_dataType_idx", "DataRectificationRequest", ["dataType"], unique=False
    )
    op.create_index(
        "DataRectificationRequest_status_idx", "DataRectificationRequest", ["status"], unique=False
    )
    op.create_index(
        "DataRectificationRequest_userId_idx", "DataRectificationRequest", ["userId"], unique=False
    )
    op.create_table(
        "EClinicalWorksSpecificData",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("resourceType", sa.Text(), nullable=False),
        sa.Column("resourceId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("reportType", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("effectiveDateTime", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("issued", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.Column("presentedForm", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("intent", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("period", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("activities", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("class", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("reasonCode", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("diagnosis", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("hospitalization", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("priority", sa.Text(), nullable=True),
        sa.Column("medium", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("sent", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("received", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("authoredOn", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("lastModified", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("executionPeriod", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("note", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="EClinicalWorksSpecificData_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="EClinicalWorksSpecificData_pkey"),
    )
    op.create_index(
        "EClinicalWorksSpecificData_resourceId_idx",
        "EClinicalWorksSpecificData",
        ["resourceId"],
        unique=False,
    )
    op.create_index(
        "EClinicalWorksSpecificData_resourceId_key", "EClinicalWorksSpecificData", ["resourceId"], unique=True
    )
    op.create_index(
        "EClinicalWorksSpecificData_resourceType_idx",
        "EClinicalWorksSpecificData",
        ["resourceType"],
        unique=False,
    )
    op.create_index(
        "EClinicalWorksSpecificData_userId_idx", "EClinicalWorksSpecificData", ["userId"], unique=False
    )
    op.create_table(
        "LOINCUnit",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loincCodeId", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("ucumCode", sa.Text(), nullable=False),
        sa.Column("unitSystem", _enum("UnitSystem"), nullable=False),
        sa.Column("conversionFactor", sa.Double(), nullable=True),
        sa.Column("isPrimary", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="LOINCUnit_loincCodeId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="LOINCUnit_pkey"),
    )
    op.create_index("LOINCUnit_isPrimary_idx", "LOINCUnit", ["isPrimary"], unique=False)
    op.create_index("LOINCUnit_loincCodeId_idx", "LOINCUnit", ["loincCodeId"], unique=False)
    op.create_index("LOINCUnit_unit_idx", "LOINCUnit", ["unit"], unique=False)
    op.create_table(
        "LegalAgreement",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", _enum("AgreementType"), nullable=False),
        sa.Column("version", sa.Text(), server_default=sa.text("'1.0'"), nullable=False),
        sa.Column("partyName", sa.Text(), nullable=False),
        sa.Column("partyEmail", sa.Text(), nullable=False),
        sa.Column("partyRole", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column("signedDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("effectiveDate", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("expirationDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column("documentUrl", sa.Text(), nullable=False),
        sa.Column("documentHash", sa.Text(), nullable=False),
        sa.Column("signatureData", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("renewalRequired", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("renewalDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("renewalReminder", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("terminatedDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("terminationReason", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="LegalAgreement_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="LegalAgreement_pkey"),
    )
    op.create_index("LegalAgreement_expirationDate_idx", "LegalAgreement", ["expirationDate"], unique=False)
    op.create_index("LegalAgreement_partyEmail_idx", "LegalAgreement", ["partyEmail"], unique=False)
    op.create_index("LegalAgreement_status_idx", "LegalAgreement", ["status"], unique=False)
    op.create_index("LegalAgreement_type_idx", "LegalAgreement", ["type"], unique=False)
    op.create_index("LegalAgreement_userId_idx", "LegalAgreement", ["userId"], unique=False)
    op.create_table(
        "ReferenceRange",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loincCodeId", sa.Text(), nullable=False),
        sa.Column("type", _enum("ReferenceRangeType"), server_default=sa.text("'NORMAL'"), nullable=False),
        sa.Column("lowValue", sa.Double(), nullable=True),
        sa.Column("highValue", sa.Double(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("ageMin", sa.Integer(), nullable=True),
        sa.Column("ageMax", sa.Integer(), nullable=True),
        sa.Column("gender", sa.Text(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("population", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), server_default=sa.text("'Mayo Clinic'"), nullable=False),
        sa.Column(
            "effectiveDate",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="ReferenceRange_loincCodeId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="ReferenceRange_pkey"),
    )
    op.create_index("ReferenceRange_ageMin_ageMax_idx", "ReferenceRange", ["ageMin", "ageMax"], unique=False)
    op.create_index("ReferenceRange_gender_idx", "ReferenceRange", ["gender"], unique=False)
    op.create_index("ReferenceRange_loincCodeId_idx", "ReferenceRange", ["loincCodeId"], unique=False)
    op.create_index("ReferenceRange_type_idx", "ReferenceRange", ["type"], unique=False)
    op.create_table(
        "TrainingRecord",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("trainingType", sa.Text(), nullable=False),
        sa.Column("trainingTitle", sa.Text(), nullable=False),
        sa.Column("trainingUrl", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'NOT_STARTED'"), nullable=False),
        sa.Column("startedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("certificateUrl", sa.Text(), nullable=True),
        sa.Column("certificateExpiration", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("renewalRequired", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("renewalDate", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="TrainingRecord_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="TrainingRecord_pkey"),
    )
    op.create_index(
        "TrainingRecord_certificateExpiration_idx", "TrainingRecord", ["certificateExpiration"], unique=False
    )
    op.create_index("TrainingRecord_status_idx", "TrainingRecord", ["status"], unique=False)
    op.create_index("TrainingRecord_trainingType_idx", "TrainingRecord", ["trainingType"], unique=False)
    op.create_index("TrainingRecord_userId_idx", "TrainingRecord", ["userId"], unique=False)
    op.create_table(
        "analysis_costs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("taskId", sa.Text(), nullable=False),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("inputTokens", sa.Integer(), nullable=False),
        sa.Column("outputTokens", sa.Integer(), nullable=False),
        sa.Column("totalTokens", sa.Integer(), nullable=False),
        sa.Column("modelCost", sa.Double(), nullable=False),
        sa.Column("infrastructureCost", sa.Double(), nullable=False),
        sa.Column("totalCost", sa.Double(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("instanceType", sa.Text(), nullable=True),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="analysis_costs_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="analysis_costs_pkey"),
    )
    op.create_index("analysis_costs_timestamp_idx", "analysis_costs", ["timestamp"], unique=False)
    op.create_index("analysis_costs_userId_idx", "analysis_costs", ["userId"], unique=False)
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("requires_review", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reviewed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("consent_id", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="audit_logs_user_id_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="audit_logs_pkey"),
    )
    op.create_index("audit_logs_action_idx", "audit_logs", ["action"], unique=False)
    op.create_index("audit_logs_requires_review_idx", "audit_logs", ["requires_review"], unique=False)
    op.create_index("audit_logs_resource_idx", "audit_logs", ["resource"], unique=False)
    op.create_index("audit_logs_severity_idx", "audit_logs", ["severity"], unique=False)
    op.create_index("audit_logs_timestamp_idx", "audit_logs", ["timestamp"], unique=False)
    op.create_index("audit_logs_user_id_idx", "audit_logs", ["user_id"], unique=False)
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column(
            "startedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "lastMessageAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="chat_conversations_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="chat_conversations_pkey"),
    )
    op.create_index(
        "chat_conversations_lastMessageAt_idx", "chat_conversations", ["lastMessageAt"], unique=False
    )
    op.create_index("chat_conversations_userId_idx", "chat_conversations", ["userId"], unique=False)
    op.create_table(
        "chatbot_costs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("messageId", sa.Text(), nullable=False),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("inputTokens", sa.Integer(), nullable=False),
        sa.Column("outputTokens", sa.Integer(), nullable=False),
        sa.Column("totalTokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=False),
        sa.Column("model", sa.Text(), server_default=sa.text("'gpt-3.5-turbo'"), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="chatbot_costs_userId_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="chatbot_costs_pkey"),
    )
    op.create_index("chatbot_costs_timestamp_idx", "chatbot_costs", ["timestamp"], unique=False)
    op.create_index("chatbot_costs_userId_idx", "chatbot_costs", ["userId"], unique=False)
    op.create_table(
        "consent_grants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("specialist_id", sa.Text(), nullable=False),
        sa.Column("permissions", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_duration", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("restrictions", sa.Text(), nullable=True),
        sa.Column("granted_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("expires_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("revoked_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("denial_reason", sa.Text(), nullable=True),
        sa.Column("last_accessed", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("access_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("expiration_warning_sent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name="consent_grants_customer_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["users.id"],
            name="consent_grants_specialist_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="consent_grants_pkey"),
    )
    op.create_index("consent_grants_customer_id_idx", "consent_grants", ["customer_id"], unique=False)
    op.create_index("consent_grants_expires_at_idx", "consent_grants", ["expires_at"], unique=False)
    op.create_index("consent_grants_specialist_id_idx", "consent_grants", ["specialist_id"], unique=False)
    op.create_index("consent_grants_status_idx", "consent_grants", ["status"], unique=False)
    op.create_table(
        "customer_allergies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("allergen", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("reaction", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("diagnosed_date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_allergies_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_allergies_pkey"),
    )
    op.create_index(
        "customer_allergies_repository_id_idx", "customer_allergies", ["repository_id"], unique=False
    )
    op.create_table(
        "customer_diagnoses",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("icd10_code", sa.Text(), nullable=True),
        sa.Column("diagnosed_date", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_diagnoses_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_diagnoses_pkey"),
    )
    op.create_index(
        "customer_diagnoses_diagnosed_date_idx", "customer_diagnoses", ["diagnosed_date"], unique=False
    )
    op.create_index(
        "customer_diagnoses_repository_id_idx", "customer_diagnoses", ["repository_id"], unique=False
    )
    op.create_table(
        "customer_family_history",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("relationship", sa.Text(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("age_at_diagnosis", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_family_history_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_family_history_pkey"),
    )
    op.create_index(
        "customer_family_history_repository_id_idx",
        "customer_family_history",
        ["repository_id"],
        unique=False,
    )
    op.create_table(
        "customer_immunizations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("vaccine", sa.Text(), nullable=False),
        sa.Column("date", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("administered_by", sa.Text(), nullable=True),
        sa.Column("lot_number", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_immunizations_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_immunizations_pkey"),
    )
    op.create_index("customer_immunizations_date_idx", "customer_immunizations", ["date"], unique=False)
    op.create_index(
        "customer_immunizations_repository_id_idx", "customer_immunizations", ["repository_id"], unique=False
    )
    op.create_table(
        "customer_medications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("dosage", sa.Text(), nullable=False),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("start_date", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("end_date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("prescribed_by", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_medications_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_medications_pkey"),
    )
    op.create_index(
        "customer_medications_repository_id_idx", "customer_medications", ["repository_id"], unique=False
    )
    op.create_index("customer_medications_status_idx", "customer_medications", ["status"], unique=False)
    op.create_table(
        "customer_procedures",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("date", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("performed_by", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_procedures_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_procedures_pkey"),
    )
    op.create_index("customer_procedures_date_idx", "customer_procedures", ["date"], unique=False)
    op.create_index(
        "customer_procedures_repository_id_idx", "customer_procedures", ["repository_id"], unique=False
    )
    op.create_table(
        "customer_vital_signs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repository_id", sa.Text(), nullable=False),
        sa.Column("date", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("blood_pressure_systolic", sa.Integer(), nullable=True),
        sa.Column("blood_pressure_diastolic", sa.Integer(), nullable=True),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.Double(), nullable=True),
        sa.Column("weight", sa.Double(), nullable=True),
        sa.Column("height", sa.Double(), nullable=True),
        sa.Column("bmi", sa.Double(), nullable=True),
        sa.Column("oxygen_saturation", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_vital_signs_repository_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="customer_vital_signs_pkey"),
    )
    op.create_index("customer_vital_signs_date_idx", "customer_vital_signs", ["date"], unique=False)
    op.create_index(
        "customer_vital_signs_repository_id_idx", "customer_vital_signs", ["repository_id"], unique=False
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("date_of_birth", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="customers_user_id_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="customers_pkey"),
    )
    op.create_table(
        "ehr_connections",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("provider", _enum("EHRProvider"), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("fhir_base_url", sa.Text(), nullable=False),
        sa.Column("status", _enum("ConnectionStatus"), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("auto_sync", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sync_frequency", sa.Integer(), server_default=sa.text("24"), nullable=False),
        sa.Column("last_sync_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("next_sync_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="ehr_connections_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="ehr_connections_pkey"),
    )
    op.create_index("ehr_connections_next_sync_at_idx", "ehr_connections", ["next_sync_at"], unique=False)
    op.create_index("ehr_connections_provider_idx", "ehr_connections", ["provider"], unique=False)
    op.create_index("ehr_connections_status_idx", "ehr_connections", ["status"], unique=False)
    op.create_index("ehr_connections_user_id_idx", "ehr_connections", ["user_id"], unique=False)
    op.create_table(
        "error_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("statusCode", sa.Integer(), nullable=True),
        sa.Column("stack", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column("requestId", sa.Text(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("method", sa.Text(), nullable=True),
        sa.Column("userAgent", sa.Text(), nullable=True),
        sa.Column("ipAddress", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="error_logs_userId_fkey", onupdate="CASCADE", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="error_logs_pkey"),
    )
    op.create_index("error_logs_code_idx", "error_logs", ["code"], unique=False)
    op.create_index("error_logs_endpoint_idx", "error_logs", ["endpoint"], unique=False)
    op.create_index("error_logs_severity_idx", "error_logs", ["severity"], unique=False)
    op.create_index("error_logs_timestamp_idx", "error_logs", ["timestamp"], unique=False)
    op.create_index("error_logs_userId_idx", "error_logs", ["userId"], unique=False)
    op.create_table(
        "file_access_grants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("fileId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("grantedBy", sa.Text(), nullable=False),
        sa.Column(
            "grantedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["fileId"],
            ["secure_files.id"],
            name="file_access_grants_fileId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="file_access_grants_pkey"),
    )
    op.create_index(
        "file_access_grants_fileId_userId_key", "file_access_grants", ["fileId", "userId"], unique=True
    )
    op.create_index("file_access_grants_userId_idx", "file_access_grants", ["userId"], unique=False)
    op.create_table(
        "file_uploads",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("mime_type", sa.Text(), nullable=False),
        sa.Column(
            "status", _enum("FileProcessingStatus"), server_default=sa.text("'PENDING'"), nullable=False
        ),
        sa.Column("estimated_tokens", sa.Integer(), nullable=True),
        sa.Column("estimated_cost", sa.Double(), nullable=True),
        sa.Column("actual_tokens", sa.Integer(), nullable=True),
        sa.Column("actual_cost", sa.Double(), nullable=True),
        sa.Column("processing_started_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("processing_completed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("scheduled_months", sa.Integer(), nullable=True),
        sa.Column("current_month", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("used_free_upload", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="file_uploads_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="file_uploads_pkey"),
    )
    op.create_index("file_uploads_created_at_idx", "file_uploads", ["created_at"], unique=False)
    op.create_index("file_uploads_status_idx", "file_uploads", ["status"], unique=False)
    op.create_index("file_uploads_user_id_idx", "file_uploads", ["user_id"], unique=False)
    op.create_table(
        "payment_intents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.Double(), nullable=False),
        sa.Column("currency", sa.Text(), server_default=sa.text("'USD'"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("payment_method", sa.Text(), nullable=True),
        sa.Column("payment_method_id", sa.Text(), nullable=True),
        sa.Column("tokens_purchased", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="payment_intents_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="payment_intents_pkey"),
    )
    op.create_index("payment_intents_created_at_idx", "payment_intents", ["created_at"], unique=False)
    op.create_index("payment_intents_status_idx", "payment_intents", ["status"], unique=False)
    op.create_index("payment_intents_user_id_idx", "payment_intents", ["user_id"], unique=False)
    op.create_table(
        "rbac_access_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="rbac_access_logs_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="rbac_access_logs_pkey"),
    )
    op.create_index("rbac_access_logs_allowed_idx", "rbac_access_logs", ["allowed"], unique=False)
    op.create_index("rbac_access_logs_resource_type_idx", "rbac_access_logs", ["resource_type"], unique=False)
    op.create_index("rbac_access_logs_timestamp_idx", "rbac_access_logs", ["timestamp"], unique=False)
    op.create_index("rbac_access_logs_user_id_idx", "rbac_access_logs", ["user_id"], unique=False)
    op.create_table(
        "role_permissions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("roleId", sa.Text(), nullable=False),
        sa.Column("permissionId", sa.Text(), nullable=False),
        sa.Column("constraints", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["permissionId"],
            ["permissions.id"],
            name="role_permissions_permissionId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["roleId"],
            ["roles.id"],
            name="role_permissions_roleId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="role_permissions_pkey"),
    )
    op.create_index(
        "role_permissions_roleId_permissionId_key",
        "role_permissions",
        ["roleId", "permissionId"],
        unique=True,
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("tier", _enum("SubscriptionTier"), nullable=False),
        sa.Column("status", _enum("SubscriptionStatus"), server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column("monthly_price", sa.Double(), nullable=False),
        sa.Column("billing_cycle_start", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("billing_cycle_end", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("next_billing_date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("cancelled_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("trial_ends_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="subscriptions_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="subscriptions_pkey"),
    )
    op.create_index(
        "subscriptions_next_billing_date_idx", "subscriptions", ["next_billing_date"], unique=False
    )
    op.create_index("subscriptions_status_idx", "subscriptions", ["status"], unique=False)
    op.create_index("subscriptions_user_id_idx", "subscriptions", ["user_id"], unique=False)
    op.create_index("subscriptions_user_id_key", "subscriptions", ["user_id"], unique=True)
    op.create_table(
        "system_notifications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("read", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="system_notifications_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="system_notifications_pkey"),
    )
    op.create_index(
        "system_notifications_created_at_idx", "system_notifications", ["created_at"], unique=False
    )
    op.create_index("system_notifications_read_idx", "system_notifications", ["read"], unique=False)
    op.create_index("system_notifications_user_id_idx", "system_notifications", ["user_id"], unique=False)
    op.create_table(
        "user_roles",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("roleId", sa.Text(), nullable=False),
        sa.Column(
            "assignedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("assignedBy", sa.Text(), nullable=True),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("scopeType", sa.Text(), nullable=True),
        sa.Column("scopeId", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["roleId"], ["roles.id"], name="user_roles_roleId_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="user_roles_pkey"),
    )
    op.create_index("user_roles_roleId_idx", "user_roles", ["roleId"], unique=False)
    op.create_index("user_roles_userId_idx", "user_roles", ["userId"], unique=False)
    op.create_index(
        "user_roles_userId_roleId_scopeType_scopeId_key",
        "user_roles",
        ["userId", "roleId", "scopeType", "scopeId"],
        unique=True,
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("expires_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="user_sessions_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="user_sessions_pkey"),
    )
    op.create_index("user_sessions_expires_at_idx", "user_sessions", ["expires_at"], unique=False)
    op.create_index("user_sessions_user_id_idx", "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "access_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("consent_id", sa.Text(), nullable=False),
        sa.Column("specialist_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("ip_address", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("success", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent_grants.id"],
            name="access_logs_consent_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="access_logs_pkey"),
    )
    op.create_index("access_logs_consent_id_idx", "access_logs", ["consent_id"], unique=False)
    op.create_index("access_logs_specialist_id_idx", "access_logs", ["specialist_id"], unique=False)
    op.create_index("access_logs_timestamp_idx", "access_logs", ["timestamp"], unique=False)
    op.create_table(
        "analysis_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("session_type", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="analysis_sessions_customer_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="analysis_sessions_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="analysis_sessions_pkey"),
    )
    op.create_table(
        "bulk_export_jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("export_type", _enum("BulkExportType"), nullable=False),
        sa.Column("status", _enum("BulkExportStatus"), server_default=sa.text("'INITIATED'"), nullable=False),
        sa.Column("kickoff_url", sa.Text(), nullable=True),
        sa.Column("status_url", sa.Text(), nullable=True),
        sa.Column("output_urls", sa.Text(), nullable=True),
        sa.Column("resource_types", sa.Text(), nullable=True),
        sa.Column("since", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "started_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("completed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("expires_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("resource_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_size", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="bulk_export_jobs_connection_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="bulk_export_jobs_pkey"),
    )
    op.create_index("bulk_export_jobs_connection_id_idx", "bulk_export_jobs", ["connection_id"], unique=False)
    op.create_index("bulk_export_jobs_started_at_idx", "bulk_export_jobs", ["started_at"], unique=False)
    op.create_index("bulk_export_jobs_status_idx", "bulk_export_jobs", ["status"], unique=False)
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("conversationId", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("type", sa.Text(), server_default=sa.text("'quick'"), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("needsEscalation", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("escalationReason", sa.Text(), nullable=True),
        sa.Column("escalatedToTaskId", sa.Text(), nullable=True),
        sa.Column("documentId", sa.Text(), nullable=True),
        sa.Column("analysisId", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversationId"],
            ["chat_conversations.id"],
            name="chat_messages_conversationId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="chat_messages_pkey"),
    )
    op.create_index("chat_messages_conversationId_idx", "chat_messages", ["conversationId"], unique=False)
    op.create_index("chat_messages_timestamp_idx", "chat_messages", ["timestamp"], unique=False)
    op.create_table(
        "cloud_instances",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("taskId", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("instanceType", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("cloudInstanceId", sa.Text(), nullable=True),
        sa.Column("publicIp", sa.Text(), nullable=True),
        sa.Column("privateIp", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("diskSizeGB", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("autoTerminateMinutes", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("costPerHour", sa.Double(), nullable=False),
        sa.Column("totalCost", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("terminatedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["taskId"],
            ["AnalysisTask.id"],
            name="cloud_instances_taskId_fkey",
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="cloud_instances_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="cloud_instances_pkey"),
    )
    op.create_index("cloud_instances_createdAt_idx", "cloud_instances", ["createdAt"], unique=False)
    op.create_index("cloud_instances_provider_idx", "cloud_instances", ["provider"], unique=False)
    op.create_index("cloud_instances_status_idx", "cloud_instances", ["status"], unique=False)
    op.create_index("cloud_instances_taskId_idx", "cloud_instances", ["taskId"], unique=False)
    op.create_index("cloud_instances_userId_idx", "cloud_instances", ["userId"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("mime_type", sa.Text(), nullable=True),
        sa.Column("document_type", sa.Text(), nullable=True),
        sa.Column(
            "upload_date",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("document_date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="documents_customer_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="documents_user_id_fkey", onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="documents_pkey"),
    )
    op.create_table(
        "fhir_resources",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("resource_type", _enum("FHIRResourceType"), nullable=False),
        sa.Column("fhir_id", sa.Text(), nullable=False),
        sa.Column("fhir_version", sa.Text(), server_default=sa.text("'R4'"), nullable=False),
        sa.Column("raw_data", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("content_url", sa.Text(), nullable=True),
        sa.Column("content_size", sa.Integer(), nullable=True),
        sa.Column("document_downloaded", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("local_file_path", sa.Text(), nullable=True),
        sa.Column("processed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("processed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="fhir_resources_connection_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="fhir_resources_pkey"),
    )
    op.create_index(
        "fhir_resources_connection_id_fhir_id_resource_type_key",
        "fhir_resources",
        ["connection_id", "fhir_id", "resource_type"],
        unique=True,
    )
    op.create_index("fhir_resources_connection_id_idx", "fhir_resources", ["connection_id"], unique=False)
    op.create_index("fhir_resources_date_idx", "fhir_resources", ["date"], unique=False)
    op.create_index("fhir_resources_processed_idx", "fhir_resources", ["processed"], unique=False)
    op.create_index("fhir_resources_resource_type_idx", "fhir_resources", ["resource_type"], unique=False)
    op.create_table(
        "subscription_history",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("from_tier", _enum("SubscriptionTier"), nullable=True),
        sa.Column("to_tier", _enum("SubscriptionTier"), nullable=False),
        sa.Column("from_status", _enum("SubscriptionStatus"), nullable=True),
        sa.Column("to_status", _enum("SubscriptionStatus"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "changed_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="subscription_history_subscription_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="subscription_history_pkey"),
    )
    op.create_index(
        "subscription_history_changed_at_idx", "subscription_history", ["changed_at"], unique=False
    )
    op.create_index(
        "subscription_history_subscription_id_idx", "subscription_history", ["subscription_id"], unique=False
    )
    op.create_table(
        "sync_history",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("status", _enum("SyncStatus"), server_default=sa.text("'QUEUED'"), nullable=False),
        sa.Column("sync_type", sa.Text(), server_default=sa.text("'incremental'"), nullable=False),
        sa.Column("started_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completed_at", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("resources_queried", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("resources_created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("resources_updated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("resources_skipped", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("resources_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("documents_downloaded", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_bytes_downloaded", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("tokens_estimated", sa.Integer(), nullable=True),
        sa.Column("tokens_used", sa.Integer(), nullable=True),
        sa.Column("cost_estimated", sa.Double(), nullable=True),
        sa.Column("cost_actual", sa.Double(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="sync_history_connection_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="sync_history_pkey"),
    )
    op.create_index("sync_history_connection_id_idx", "sync_history", ["connection_id"], unique=False)
    op.create_index("sync_history_created_at_idx", "sync_history", ["created_at"], unique=False)
    op.create_index("sync_history_started_at_idx", "sync_history", ["started_at"], unique=False)
    op.create_index("sync_history_status_idx", "sync_history", ["status"], unique=False)
    op.create_table(
        "token_balances",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("current_balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_earned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_purchased", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("free_upload_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_refresh_date", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="token_balances_subscription_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="token_balances_user_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="token_balances_pkey"),
    )
    op.create_index("token_balances_subscription_id_idx", "token_balances", ["subscription_id"], unique=False)
    op.create_index("token_balances_subscription_id_key", "token_balances", ["subscription_id"], unique=True)
    op.create_index("token_balances_user_id_idx", "token_balances", ["user_id"], unique=False)
    op.create_index("token_balances_user_id_key", "token_balances", ["user_id"], unique=True)
    op.create_table(
        "LabResultStandardization",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("originalCode", sa.Text(), nullable=False),
        sa.Column("originalCodeSystem", sa.Text(), nullable=False),
        sa.Column("originalName", sa.Text(), nullable=False),
        sa.Column("originalValue", sa.Text(), nullable=False),
        sa.Column("originalUnit", sa.Text(), nullable=True),
        sa.Column("loincCodeId", sa.Text(), nullable=False),
        sa.Column("standardizedValue", sa.Double(), nullable=True),
        sa.Column("standardizedUnit", sa.Text(), nullable=True),
        sa.Column("interpretation", sa.Text(), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("referenceRangeId", sa.Text(), nullable=True),
        sa.Column("customerId", sa.Text(), nullable=False),
        sa.Column("fhirResourceId", sa.Text(), nullable=True),
        sa.Column(
            "standardizedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("standardizedBy", sa.Text(), server_default=sa.text("'SYSTEM'"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["customerId"],
            ["users.id"],
            name="LabResultStandardization_customerId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fhirResourceId"],
            ["fhir_resources.id"],
            name="LabResultStandardization_fhirResourceId_fkey",
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["loincCodeId"],
            ["LOINCCode.id"],
            name="LabResultStandardization_loincCodeId_fkey",
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referenceRangeId"],
            ["ReferenceRange.id"],
            name="LabResultStandardization_referenceRangeId_fkey",
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="LabResultStandardization_pkey"),
    )
    op.create_index(
        "LabResultStandardization_customerId_idx", "LabResultStandardization", ["customerId"], unique=False
    )
    op.create_index(
        "LabResultStandardization_interpretation_idx",
        "LabResultStandardization",
        ["interpretation"],
        unique=False,
    )
    op.create_index(
        "LabResultStandardization_loincCodeId_idx", "LabResultStandardization", ["loincCodeId"], unique=False
    )
    op.create_index(
        "LabResultStandardization_originalCode_originalCodeSystem_idx",
        "LabResultStandardization",
        ["originalCode", "originalCodeSystem"],
        unique=False,
    )
    op.create_index(
        "LabResultStandardization_standardizedAt_idx",
        "LabResultStandardization",
        ["standardizedAt"],
        unique=False,
    )
    op.create_table(
        "ai_interactions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("context_documents", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["analysis_sessions.id"],
            name="ai_interactions_session_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="ai_interactions_pkey"),
    )
    op.create_table(
        "analysis_queue",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("documents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totalTokens", sa.Integer(), nullable=False),
        sa.Column("contextWindow", sa.Integer(), nullable=False),
        sa.Column("needsSplitting", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("splitStrategy", sa.Text(), nullable=True),
        sa.Column("estimatedCost", sa.Double(), nullable=False),
        sa.Column("recommendedModel", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("startedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("instanceId", sa.Text(), nullable=True),
        sa.Column("actualCost", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instanceId"],
            ["cloud_instances.id"],
            name="analysis_queue_instanceId_fkey",
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="analysis_queue_userId_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="analysis_queue_pkey"),
    )
    op.create_index("analysis_queue_createdAt_idx", "analysis_queue", ["createdAt"], unique=False)
    op.create_index(
        "analysis_queue_priority_createdAt_idx", "analysis_queue", ["priority", "createdAt"], unique=False
    )
    op.create_index("analysis_queue_status_idx", "analysis_queue", ["status"], unique=False)
    op.create_index("analysis_queue_userId_idx", "analysis_queue", ["userId"], unique=False)
    op.create_table(
        "document_embeddings",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("chunk_text", sa.Text(), nullable=False),
        sa.Column("embedding", postgresql.ARRAY(sa.Double()), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="document_embeddings_document_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="document_embeddings_pkey"),
    )
    op.create_table(
        "document_links",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("source_document_id", sa.Text(), nullable=False),
        sa.Column("target_document_id", sa.Text(), nullable=False),
        sa.Column("relationship_type", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["documents.id"],
            name="document_links_source_document_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_document_id"],
            ["documents.id"],
            name="document_links_target_document_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="document_links_pkey"),
    )
    op.create_index(
        "document_links_source_document_id_target_document_id_key",
        "document_links",
        ["source_document_id", "target_document_id"],
        unique=True,
    )
    op.create_table(
        "epic_specific_data",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("extensions", sa.Text(), nullable=True),
        sa.Column("custom_fields", sa.Text(), nullable=True),
        sa.Column("clinical_notes", sa.Text(), nullable=True),
        sa.Column("lab_result_details", sa.Text(), nullable=True),
        sa.Column("imaging_metadata", sa.Text(), nullable=True),
        sa.Column("care_plan_details", sa.Text(), nullable=True),
        sa.Column("encounter_details", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["fhir_resources.id"],
            name="epic_specific_data_resource_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="epic_specific_data_pkey"),
    )
    op.create_index("epic_specific_data_resource_id_idx", "epic_specific_data", ["resource_id"], unique=False)
    op.create_index("epic_specific_data_resource_id_key", "epic_specific_data", ["resource_id"], unique=True)
    op.create_table(
        "extracted_data",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("data_type", sa.Text(), nullable=False),
        sa.Column("field_name", sa.Text(), nullable=False),
        sa.Column("field_value", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("reference_range", sa.Text(), nullable=True),
        sa.Column("is_abnormal", sa.Boolean(), nullable=True),
        sa.Column(
            "extracted_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="extracted_data_document_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="extracted_data_pkey"),
    )
    op.create_table(
        "ocr_results",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("confidence_score", sa.Double(), nullable=True),
        sa.Column(
            "processed_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="ocr_results_document_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="ocr_results_pkey"),
    )
    op.create_table(
        "token_transactions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("token_balance_id", sa.Text(), nullable=False),
        sa.Column("type", _enum("TokenTransactionType"), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_before", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reference_id", sa.Text(), nullable=True),
        sa.Column("reference_type", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["token_balance_id"],
            ["token_balances.id"],
            name="token_transactions_token_balance_id_fkey",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="token_transactions_pkey"),
    )
    op.create_index("token_transactions_created_at_idx", "token_transactions", ["created_at"], unique=False)
    op.create_index(
        "token_transactions_reference_id_idx", "token_transactions", ["reference_id"], unique=False
    )
    op.create_index(
        "token_transactions_token_balance_id_idx", "token_transactions", ["token_balance_id"], unique=False
    )
    op.create_index("token_transactions_type_idx", "token_transactions", ["type"], unique=False)


def downgrade() -> None:
    op.drop_index("token_transactions_type_idx", table_name="token_transactions")
    op.drop_index("token_transactions_token_balance_id_idx", table_name="token_transactions")
    op.drop_index("token_transactions_reference_id_idx", table_name="token_transactions")
    op.drop_index("token_transactions_created_at_idx", table_name="token_transactions")
    op.drop_table("token_transactions")
    op.drop_table("ocr_results")
    op.drop_table("extracted_data")
    op.drop_index("epic_specific_data_resource_id_key", table_name="epic_specific_data")
    op.drop_index("epic_specific_data_resource_id_idx", table_name="epic_specific_data")
    op.drop_table("epic_specific_data")
    op.drop_index("document_links_source_document_id_target_document_id_key", table_name="document_links")
    op.drop_table("document_links")
    op.drop_table("document_embeddings")
    op.drop_index("analysis_queue_userId_idx", table_name="analysis_queue")
    op.drop_index("analysis_queue_status_idx", table_name="analysis_queue")
    op.drop_index("analysis_queue_priority_createdAt_idx", table_name="analysis_queue")
    op.drop_index("analysis_queue_createdAt_idx", table_name="analysis_queue")
    op.drop_table("analysis_queue")
    op.drop_table("ai_interactions")
    op.drop_index("LabResultStandardization_standardizedAt_idx", table_name="LabResultStandardization")
    op.drop_index(
        "LabResultStandardization_originalCode_originalCodeSystem_idx", table_name="LabResultStandardization"
    )
    op.drop_index("LabResultStandardization_loincCodeId_idx", table_name="LabResultStandardization")
    op.drop_index("LabResultStandardization_interpretation_idx", table_name="LabResultStandardization")
    op.drop_index("LabResultStandardization_customerId_idx", table_name="LabResultStandardization")
    op.drop_table("LabResultStandardization")
    op.drop_index("token_balances_user_id_key", table_name="token_balances")
    op.drop_index("token_balances_user_id_idx", table_name="token_balances")
    op.drop_index("token_balances_subscription_id_key", table_name="token_balances")
    op.drop_index("token_balances_subscription_id_idx", table_name="token_balances")
    op.drop_table("token_balances")
    op.drop_index("sync_history_status_idx", table_name="sync_history")
    op.drop_index("sync_history_started_at_idx", table_name="sync_history")
    op.drop_index("sync_history_created_at_idx", table_name="sync_history")
    op.drop_index("sync_history_connection_id_idx", table_name="sync_history")
    op.drop_table("sync_history")
    op.drop_index("subscription_history_subscription_id_idx", table_name="subscription_history")
    op.drop_index("subscription_history_changed_at_idx", table_name="subscription_history")
    op.drop_table("subscription_history")
    op.drop_index("fhir_resources_resource_type_idx", table_name="fhir_resources")
    op.drop_index("fhir_resources_processed_idx", table_name="fhir_resources")
    op.drop_index("fhir_resources_date_idx", table_name="fhir_resources")
    op.drop_index("fhir_resources_connection_id_idx", table_name="fhir_resources")
    op.drop_index("fhir_resources_connection_id_fhir_id_resource_type_key", table_name="fhir_resources")
    op.drop_table("fhir_resources")
    op.drop_table("documents")
    op.drop_index("cloud_instances_userId_idx", table_name="cloud_instances")
    op.drop_index("cloud_instances_taskId_idx", table_name="cloud_instances")
    op.drop_index("cloud_instances_status_idx", table_name="cloud_instances")
    op.drop_index("cloud_instances_provider_idx", table_name="cloud_instances")
    op.drop_index("cloud_instances_createdAt_idx", table_name="cloud_instances")
    op.drop_table("cloud_instances")
    op.drop_index("chat_messages_timestamp_idx", table_name="chat_messages")
    op.drop_index("chat_messages_conversationId_idx", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("bulk_export_jobs_status_idx", table_name="bulk_export_jobs")
    op.drop_index("bulk_export_jobs_started_at_idx", table_name="bulk_export_jobs")
    op.drop_index("bulk_export_jobs_connection_id_idx", table_name="bulk_export_jobs")
    op.drop_table("bulk_export_jobs")
    op.drop_table("analysis_sessions")
    op.drop_index("access_logs_timestamp_idx", table_name="access_logs")
    op.drop_index("access_logs_specialist_id_idx", table_name="access_logs")
    op.drop_index("access_logs_consent_id_idx", table_name="access_logs")
    op.drop_table("access_logs")
    op.drop_index("user_sessions_user_id_idx", table_name="user_sessions")
    op.drop_index("user_sessions_expires_at_idx", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index("user_roles_userId_roleId_scopeType_scopeId_key", table_name="user_roles")
    op.drop_index("user_roles_userId_idx", table_name="user_roles")
    op.drop_index("user_roles_roleId_idx", table_name="user_roles")
    op.drop_table("user_roles")
    op.drop_index("system_notifications_user_id_idx", table_name="system_notifications")
    op.drop_index("system_notifications_read_idx", table_name="system_notifications")
    op.drop_index("system_notifications_created_at_idx", table_name="system_notifications")
    op.drop_table("system_notifications")
    op.drop_index("subscriptions_user_id_key", table_name="subscriptions")
    op.drop_index("subscriptions_user_id_idx", table_name="subscriptions")
    op.drop_index("subscriptions_status_idx", table_name="subscriptions")
    op.drop_index("subscriptions_next_billing_date_idx", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("role_permissions_roleId_permissionId_key", table_name="role_permissions")
    op.drop_table("role_permissions")
    op.drop_index("rbac_access_logs_user_id_idx", table_name="rbac_access_logs")
    op.drop_index("rbac_access_logs_timestamp_idx", table_name="rbac_access_logs")
    op.drop_index("rbac_access_logs_resource_type_idx", table_name="rbac_access_logs")
    op.drop_index("rbac_access_logs_allowed_idx", table_name="rbac_access_logs")
    op.drop_table("rbac_access_logs")
    op.drop_index("payment_intents_user_id_idx", table_name="payment_intents")
    op.drop_index("payment_intents_status_idx", table_name="payment_intents")
    op.drop_index("payment_intents_created_at_idx", table_name="payment_intents")
    op.drop_table("payment_intents")
    op.drop_index("file_uploads_user_id_idx", table_name="file_uploads")
    op.drop_index("file_uploads_status_idx", table_name="file_uploads")
    op.drop_index("file_uploads_created_at_idx", table_name="file_uploads")
    op.drop_table("file_uploads")
    op.drop_index("file_access_grants_userId_idx", table_name="file_access_grants")
    op.drop_index("file_access_grants_fileId_userId_key", table_name="file_access_grants")
    op.drop_table("file_access_grants")
    op.drop_index("error_logs_userId_idx", table_name="error_logs")
    op.drop_index("error_logs_timestamp_idx", table_name="error_logs")
    op.drop_index("error_logs_severity_idx", table_name="error_logs")
    op.drop_index("error_logs_endpoint_idx", table_name="error_logs")
    op.drop_index("error_logs_code_idx", table_name="error_logs")
    op.drop_table("error_logs")
    op.drop_index("ehr_connections_user_id_idx", table_name="ehr_connections")
    op.drop_index("ehr_connections_status_idx", table_name="ehr_connections")
    op.drop_index("ehr_connections_provider_idx", table_name="ehr_connections")
    op.drop_index("ehr_connections_next_sync_at_idx", table_name="ehr_connections")
    op.drop_table("ehr_connections")
    op.drop_table("customers")
    op.drop_index("customer_vital_signs_repository_id_idx", table_name="customer_vital_signs")
    op.drop_index("customer_vital_signs_date_idx", table_name="customer_vital_signs")
    op.drop_table("customer_vital_signs")
    op.drop_index("customer_procedures_repository_id_idx", table_name="customer_procedures")
    op.drop_index("customer_procedures_date_idx", table_name="customer_procedures")
    op.drop_table("customer_procedures")
    op.drop_index("customer_medications_status_idx", table_name="customer_medications")
    op.drop_index("customer_medications_repository_id_idx", table_name="customer_medications")
    op.drop_table("customer_medications")
    op.drop_index("customer_immunizations_repository_id_idx", table_name="customer_immunizations")
    op.drop_index("customer_immunizations_date_idx", table_name="customer_immunizations")
    op.drop_table("customer_immunizations")
    op.drop_index("customer_family_history_repository_id_idx", table_name="customer_family_history")
    op.drop_table("customer_family_history")
    op.drop_index("customer_diagnoses_repository_id_idx", table_name="customer_diagnoses")
    op.drop_index("customer_diagnoses_diagnosed_date_idx", table_name="customer_diagnoses")
    op.drop_table("customer_diagnoses")
    op.drop_index("customer_allergies_repository_id_idx", table_name="customer_allergies")
    op.drop_table("customer_allergies")
    op.drop_index("consent_grants_status_idx", table_name="consent_grants")
    op.drop_index("consent_grants_specialist_id_idx", table_name="consent_grants")
    op.drop_index("consent_grants_expires_at_idx", table_name="consent_grants")
    op.drop_index("consent_grants_customer_id_idx", table_name="consent_grants")
    op.drop_table("consent_grants")
    op.drop_index("chatbot_costs_userId_idx", table_name="chatbot_costs")
    op.drop_index("chatbot_costs_timestamp_idx", table_name="chatbot_costs")
    op.drop_table("chatbot_costs")
    op.drop_index("chat_conversations_userId_idx", table_name="chat_conversations")
    op.drop_index("chat_conversations_lastMessageAt_idx", table_name="chat_conversations")
    op.drop_table("chat_conversations")
    op.drop_index("audit_logs_user_id_idx", table_name="audit_logs")
    op.drop_index("audit_logs_timestamp_idx", table_name="audit_logs")
    op.drop_index("audit_logs_severity_idx", table_name="audit_logs")
    op.drop_index("audit_logs_resource_idx", table_name="audit_logs")
    op.drop_index("audit_logs_requires_review_idx", table_name="audit_logs")
    op.drop_index("audit_logs_action_idx", table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_index("analysis_costs_userId_idx", table_name="analysis_costs")
    op.drop_index("analysis_costs_timestamp_idx", table_name="analysis_costs")
    op.drop_table("analysis_costs")
    op.drop_index("TrainingRecord_userId_idx", table_name="TrainingRecord")
    op.drop_index("TrainingRecord_trainingType_idx", table_name="TrainingRecord")
    op.drop_index("TrainingRecord_status_idx", table_name="TrainingRecord")
    op.drop_index("TrainingRecord_certificateExpiration_idx", table_name="TrainingRecord")
    op.drop_table("TrainingRecord")
    op.drop_index("ReferenceRange_type_idx", table_name="ReferenceRange")
    op.drop_index("ReferenceRange_loincCodeId_idx", table_name="ReferenceRange")
    op.drop_index("ReferenceRange_gender_idx", table_name="ReferenceRange")
    op.drop_index("ReferenceRange_ageMin_ageMax_idx", table_name="ReferenceRange")
    op.drop_table("ReferenceRange")
    op.drop_index("LegalAgreement_userId_idx", table_name="LegalAgreement")
    op.drop_index("LegalAgreement_type_idx", table_name="LegalAgreement")
    op.drop_index("LegalAgreement_status_idx", table_name="LegalAgreement")
    op.drop_index("LegalAgreement_partyEmail_idx", table_name="LegalAgreement")
    op.drop_index("LegalAgreement_expirationDate_idx", table_name="LegalAgreement")
    op.drop_table("LegalAgreement")
    op.drop_index("LOINCUnit_unit_idx", table_name="LOINCUnit")
    op.drop_index("LOINCUnit_loincCodeId_idx", table_name="LOINCUnit")
    op.drop_index("LOINCUnit_isPrimary_idx", table_name="LOINCUnit")
    op.drop_table("LOINCUnit")
    op.drop_index("EClinicalWorksSpecificData_userId_idx", table_name="EClinicalWorksSpecificData")
    op.drop_index("EClinicalWorksSpecificData_resourceType_idx", table_name="EClinicalWorksSpecificData")
    op.drop_index("EClinicalWorksSpecificData_resourceId_key", table_name="EClinicalWorksSpecificData")
    op.drop_index("EClinicalWorksSpecificData_resourceId_idx", table_name="EClinicalWorksSpecificData")
    op.drop_table("EClinicalWorksSpecificData")
    op.drop_index("DataRectificationRequest_userId_idx", table_name="DataRectificationRequest")
    op.drop_index("DataRectificationRequest_status_idx", table_name="DataRectificationRequest")
    op.drop_index("DataRectificationRequest_dataType_idx", table_name="DataRectificationRequest")
    op.drop_table("DataRectificationRequest")
    op.drop_index("DataPortabilityRequest_userId_idx", table_name="DataPortabilityRequest")
    op.drop_index("DataPortabilityRequest_status_idx", table_name="DataPortabilityRequest")
    op.drop_index("DataPortabilityRequest_createdAt_idx", table_name="DataPortabilityRequest")
    op.drop_table("DataPortabilityRequest")
    op.drop_index("ContextOptimization_userId_idx", table_name="ContextOptimization")
    op.drop_index("ContextOptimization_strategy_idx", table_name="ContextOptimization")
    op.drop_index("ContextOptimization_createdAt_idx", table_name="ContextOptimization")
    op.drop_table("ContextOptimization")
    op.drop_index("CodeMapping_targetSystem_idx", table_name="CodeMapping")
    op.drop_index("CodeMapping_targetCode_idx", table_name="CodeMapping")
    op.drop_index("CodeMapping_loincCode_targetSystem_targetCode_key", table_name="CodeMapping")
    op.drop_index("CodeMapping_loincCode_idx", table_name="CodeMapping")
    op.drop_index("CodeMapping_confidence_idx", table_name="CodeMapping")
    op.drop_table("CodeMapping")
    op.drop_index("AthenaHealthSpecificData_userId_idx", table_name="AthenaHealthSpecificData")
    op.drop_index("AthenaHealthSpecificData_resourceType_idx", table_name="AthenaHealthSpecificData")
    op.drop_index("AthenaHealthSpecificData_resourceId_key", table_name="AthenaHealthSpecificData")
    op.drop_index("AthenaHealthSpecificData_resourceId_idx", table_name="AthenaHealthSpecificData")
    op.drop_table("AthenaHealthSpecificData")
    op.drop_index("AnalysisTask_userId_idx", table_name="AnalysisTask")
    op.drop_index("AnalysisTask_type_idx", table_name="AnalysisTask")
    op.drop_index("AnalysisTask_status_idx", table_name="AnalysisTask")
    op.drop_index("AnalysisTask_priority_idx", table_name="AnalysisTask")
    op.drop_index("AnalysisTask_createdAt_idx", table_name="AnalysisTask")
    op.drop_table("AnalysisTask")
    op.drop_index("users_email_key", table_name="users")
    op.drop_table("users")
    op.drop_index("user_2fa_userId_method_key", table_name="user_2fa")
    op.drop_table("user_2fa")
    op.drop_index("system_health_timestamp_idx", table_name="system_health")
    op.drop_index("system_health_status_idx", table_name="system_health")
    op.drop_index("system_health_component_idx", table_name="system_health")
    op.drop_table("system_health")
    op.drop_index("service_configurations_service_name_key", table_name="service_configurations")
    op.drop_index("service_configurations_service_name_idx", table_name="service_configurations")
    op.drop_table("service_configurations")
    op.drop_index("security_configurations_key_key", table_name="security_configurations")
    op.drop_table("security_configurations")
    op.drop_index("security_alerts_user_id_idx", table_name="security_alerts")
    op.drop_index("security_alerts_created_at_idx", table_name="security_alerts")
    op.drop_index("security_alerts_acknowledged_idx", table_name="security_alerts")
    op.drop_table("security_alerts")
    op.drop_index("secure_files_uploadedBy_idx", table_name="secure_files")
    op.drop_index("secure_files_deleted_idx", table_name="secure_files")
    op.drop_index("secure_files_customerId_idx", table_name="secure_files")
    op.drop_index("secure_files_category_idx", table_name="secure_files")
    op.drop_table("secure_files")
    op.drop_index("roles_name_key", table_name="roles")
    op.drop_table("roles")
    op.drop_index("provider_configurations_provider_provider_name_key", table_name="provider_configurations")
    op.drop_index("provider_configurations_provider_idx", table_name="provider_configurations")
    op.drop_index("provider_configurations_enabled_idx", table_name="provider_configurations")
    op.drop_table("provider_configurations")
    op.drop_index("prompt_splits_taskId_idx", table_name="prompt_splits")
    op.drop_index("prompt_splits_order_idx", table_name="prompt_splits")
    op.drop_table("prompt_splits")
    op.drop_index("prompt_optimizations_createdAt_idx", table_name="prompt_optimizations")
    op.drop_table("prompt_optimizations")
    op.drop_index("permissions_resource_action_scope_key", table_name="permissions")
    op.drop_index("permissions_name_key", table_name="permissions")
    op.drop_table("permissions")
    op.drop_index("patient_restriction_requests_status_idx", table_name="patient_restriction_requests")
    op.drop_index("patient_restriction_requests_customerId_idx", table_name="patient_restriction_requests")
    op.drop_table("patient_restriction_requests")
    op.drop_index("notifications_read_idx", table_name="notifications")
    op.drop_index("notifications_customer_id_idx", table_name="notifications")
    op.drop_index("notifications_created_at_idx", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("model_performance_periodStart_idx", table_name="model_performance")
    op.drop_index("model_performance_model_idx", table_name="model_performance")
    op.drop_table("model_performance")
    op.drop_index("instance_costs_provider_idx", table_name="instance_costs")
    op.drop_index("instance_costs_model_idx", table_name="instance_costs")
    op.drop_index("instance_costs_createdAt_idx", table_name="instance_costs")
    op.drop_table("instance_costs")
    op.drop_index("identity_challenges_repository_id_idx", table_name="identity_challenges")
    op.drop_index("identity_challenges_expires_at_idx", table_name="identity_challenges")
    op.drop_table("identity_challenges")
    op.drop_table("github_configurations")
    op.drop_index("encryption_keys_status_idx", table_name="encryption_keys")
    op.drop_index("encryption_keys_keyId_key", table_name="encryption_keys")
    op.drop_index("encryption_keys_keyId_idx", table_name="encryption_keys")
    op.drop_table("encryption_keys")
    op.drop_index("data_retention_policies_name_key", table_name="data_retention_policies")
    op.drop_table("data_retention_policies")
    op.drop_index("customer_repositories_user_id_key", table_name="customer_repositories")
    op.drop_index("customer_repositories_user_id_idx", table_name="customer_repositories")
    op.drop_index("customer_repositories_primary_identity_hash_key", table_name="customer_repositories")
    op.drop_index("customer_repositories_composite_identity_hash_key", table_name="customer_repositories")
    op.drop_index("customer_repositories_composite_identity_hash_idx", table_name="customer_repositories")
    op.drop_table("customer_repositories")
    op.drop_index("customer_consents_status_idx", table_name="customer_consents")
    op.drop_index("customer_consents_customerId_idx", table_name="customer_consents")
    op.drop_index("customer_consents_consentType_idx", table_name="customer_consents")
    op.drop_table("customer_consents")
    op.drop_index("customer_communication_requests_status_idx", table_name="customer_communication_requests")
    op.drop_index(
        "customer_communication_requests_customerId_idx", table_name="customer_communication_requests"
    )
    op.drop_table("customer_communication_requests")
    op.drop_index("customer_amendment_requests_status_idx", table_name="customer_amendment_requests")
    op.drop_index("customer_amendment_requests_customerId_idx", table_name="customer_amendment_requests")
    op.drop_table("customer_amendment_requests")
    op.drop_index("customer_access_requests_status_idx", table_name="customer_access_requests")
    op.drop_index("customer_access_requests_customerId_idx", table_name="customer_access_requests")
    op.drop_table("customer_access_requests")
    op.drop_index("compliance_reports_reportType_idx", table_name="compliance_reports")
    op.drop_index("compliance_reports_reportPeriodStart_reportPeriodEnd_idx", table_name="compliance_reports")
    op.drop_table("compliance_reports")
    op.drop_index("breach_incidents_riskLevel_idx", table_name="breach_incidents")
    op.drop_index("breach_incidents_notificationStatus_idx", table_name="breach_incidents")
    op.drop_index("breach_incidents_incidentNumber_key", table_name="breach_incidents")
    op.drop_index("breach_incidents_discoveredAt_idx", table_name="breach_incidents")
    op.drop_table("breach_incidents")
    op.drop_index("audit_log_archives_archiveDate_idx", table_name="audit_log_archives")
    op.drop_table("audit_log_archives")
    op.drop_index("access_reviews_status_idx", table_name="access_reviews")
    op.drop_index("access_reviews_scheduledAt_idx", table_name="access_reviews")
    op.drop_table("access_reviews")
    op.drop_index("access_requests_status_idx", table_name="access_requests")
    op.drop_index("access_requests_resourceType_resourceId_idx", table_name="access_requests")
    op.drop_index("access_requests_requesterId_idx", table_name="access_requests")
    op.drop_table("access_requests")
    op.drop_index("Subprocessor_status_idx", table_name="Subprocessor")
    op.drop_index("Subprocessor_dpaStatus_idx", table_name="Subprocessor")
    op.drop_index("Subprocessor_baaStatus_idx", table_name="Subprocessor")
    op.drop_table("Subprocessor")
    op.drop_index("SNOMEDCode_status_idx", table_name="SNOMEDCode")
    op.drop_index("SNOMEDCode_snomedId_key", table_name="SNOMEDCode")
    op.drop_index("SNOMEDCode_snomedId_idx", table_name="SNOMEDCode")
    op.drop_index("SNOMEDCode_semanticTag_idx", table_name="SNOMEDCode")
    op.drop_index("SNOMEDCode_preferredTerm_idx", table_name="SNOMEDCode")
    op.drop_table("SNOMEDCode")
    op.drop_index("RxNormCode_termType_idx", table_name="RxNormCode")
    op.drop_index("RxNormCode_status_idx", table_name="RxNormCode")
    op.drop_index("RxNormCode_rxcui_key", table_name="RxNormCode")
    op.drop_index("RxNormCode_rxcui_idx", table_name="RxNormCode")
    op.drop_index("RxNormCode_name_idx", table_name="RxNormCode")
    op.drop_table("RxNormCode")
    op.drop_index("LOINCCode_status_idx", table_name="LOINCCode")
    op.drop_index("LOINCCode_loincNumber_key", table_name="LOINCCode")
    op.drop_index("LOINCCode_loincNumber_idx", table_name="LOINCCode")
    op.drop_index("LOINCCode_component_idx", table_name="LOINCCode")
    op.drop_index("LOINCCode_componentType_idx", table_name="LOINCCode")
    op.drop_index("LOINCCode_commonName_idx", table_name="LOINCCode")
    op.drop_index("LOINCCode_category_idx", table_name="LOINCCode")
    op.drop_table("LOINCCode")
    op.drop_index("ICD10Code_status_idx", table_name="ICD10Code")
    op.drop_index("ICD10Code_description_idx", table_name="ICD10Code")
    op.drop_index("ICD10Code_code_key", table_name="ICD10Code")
    op.drop_index("ICD10Code_code_idx", table_name="ICD10Code")
    op.drop_index("ICD10Code_category_idx", table_name="ICD10Code")
    op.drop_index("ICD10Code_billable_idx", table_name="ICD10Code")
    op.drop_table("ICD10Code")
    op.drop_index("EncryptionKeyRotation_rotationDate_idx", table_name="EncryptionKeyRotation")
    op.drop_index("EncryptionKeyRotation_region_idx", table_name="EncryptionKeyRotation")
    op.drop_index("EncryptionKeyRotation_keyId_idx", table_name="EncryptionKeyRotation")
    op.drop_table("EncryptionKeyRotation")
    op.drop_index("ComplianceChecklist_status_idx", table_name="ComplianceChecklist")
    op.drop_index("ComplianceChecklist_priority_idx", table_name="ComplianceChecklist")
    op.drop_index("ComplianceChecklist_jurisdiction_idx", table_name="ComplianceChecklist")
    op.drop_index("ComplianceChecklist_dueDate_idx", table_name="ComplianceChecklist")
    op.drop_table("ComplianceChecklist")
    op.drop_index("CPTCode_status_idx", table_name="CPTCode")
    op.drop_index("CPTCode_description_idx", table_name="CPTCode")
    op.drop_index("CPTCode_code_key", table_name="CPTCode")
    op.drop_index("CPTCode_code_idx", table_name="CPTCode")
    op.drop_index("CPTCode_category_idx", table_name="CPTCode")
    op.drop_table("CPTCode")
    op.drop_index("BreachNotification_severity_idx", table_name="BreachNotification")
    op.drop_index("BreachNotification_resolved_idx", table_name="BreachNotification")
    op.drop_index("BreachNotification_phipaNotificationStatus_idx", table_name="BreachNotification")
    op.drop_index("BreachNotification_hipaaNotificationStatus_idx", table_name="BreachNotification")
    op.drop_index("BreachNotification_gdprNotificationStatus_idx", table_name="BreachNotification")
    op.drop_index("BreachNotification_discoveryDate_idx", table_name="BreachNotification")
    op.drop_table("BreachNotification")
    bind = op.get_bind()
    for name in ENUMS:
        postgresql.ENUM(name=name).drop(bind)
