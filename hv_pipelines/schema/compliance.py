"""HIPAA compliance: audit trail, retention, breaches, keys, agreements and security settings.

Generated from the repaired Prisma schema, then reviewed; table, column, index and constraint
names are Prisma's exactly (the catalog test compares them with the reference DDL)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hv_pipelines.schema.base import Base, new_cuid, new_uuid, utcnow
from hv_pipelines.schema.enums import (
    AccessReviewType,
    AgreementType,
    BreachSeverity,
    BreachType,
    ComplianceReportType,
    ComplianceStatus,
    DataRegion,
    InvestigationStatus,
    Jurisdiction,
    KeyStatus,
    KeyType,
    NotificationStatus,
    ReviewStatus,
    RiskLevel,
    pg_enum,
)

if TYPE_CHECKING:
    from hv_pipelines.schema.users import User


class AccessReview(Base):
    __tablename__ = "access_reviews"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="access_reviews_pkey"),
        sa.Index("access_reviews_status_idx", "status"),
        sa.Index("access_reviews_scheduledAt_idx", "scheduledAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    review_type: Mapped[AccessReviewType] = mapped_column("reviewType", pg_enum(AccessReviewType))
    review_period_start: Mapped[datetime] = mapped_column("reviewPeriodStart")
    review_period_end: Mapped[datetime] = mapped_column("reviewPeriodEnd")
    user_id: Mapped[str | None] = mapped_column("userId")
    department_id: Mapped[str | None] = mapped_column("departmentId")
    status: Mapped[ReviewStatus] = mapped_column(pg_enum(ReviewStatus), server_default=sa.text("'PENDING'"))
    scheduled_at: Mapped[datetime] = mapped_column("scheduledAt")
    started_at: Mapped[datetime | None] = mapped_column("startedAt")
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    findings: Mapped[Any | None] = mapped_column(JSONB)
    actions: Mapped[Any | None] = mapped_column(JSONB)
    assigned_to: Mapped[str | None] = mapped_column("assignedTo")
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="audit_logs_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="audit_logs_user_id_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.Index("audit_logs_user_id_idx", "user_id"),
        sa.Index("audit_logs_action_idx", "action"),
        sa.Index("audit_logs_resource_idx", "resource"),
        sa.Index("audit_logs_timestamp_idx", "timestamp"),
        sa.Index("audit_logs_severity_idx", "severity"),
        sa.Index("audit_logs_requires_review_idx", "requires_review"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    action: Mapped[str] = mapped_column()
    resource: Mapped[str] = mapped_column()
    resource_id: Mapped[str] = mapped_column()
    details: Mapped[str | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column()
    session_id: Mapped[str | None] = mapped_column()
    severity: Mapped[str] = mapped_column()
    requires_review: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    reviewed: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    reviewed_by: Mapped[str | None] = mapped_column()
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_notes: Mapped[str | None] = mapped_column()
    consent_id: Mapped[str | None] = mapped_column()
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(foreign_keys="[AuditLog.user_id]", back_populates="audit_logs")


class AuditLogArchive(Base):
    __tablename__ = "audit_log_archives"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="audit_log_archives_pkey"),
        sa.Index("audit_log_archives_archiveDate_idx", "archiveDate"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    archive_date: Mapped[datetime] = mapped_column("archiveDate")
    start_date: Mapped[datetime] = mapped_column("startDate")
    end_date: Mapped[datetime] = mapped_column("endDate")
    record_count: Mapped[int] = mapped_column("recordCount")
    storage_path: Mapped[str] = mapped_column("storagePath")
    file_size: Mapped[int] = mapped_column("fileSize")
    compressed: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    encrypted: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    created_by: Mapped[str] = mapped_column("createdBy")


class BreachIncident(Base):
    __tablename__ = "breach_incidents"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="breach_incidents_pkey"),
        sa.Index("breach_incidents_incidentNumber_key", "incidentNumber", unique=True),
        sa.Index("breach_incidents_discoveredAt_idx", "discoveredAt"),
        sa.Index("breach_incidents_notificationStatus_idx", "notificationStatus"),
        sa.Index("breach_incidents_riskLevel_idx", "riskLevel"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    incident_number: Mapped[str] = mapped_column("incidentNumber")
    discovered_at: Mapped[datetime] = mapped_column("discoveredAt")
    reported_at: Mapped[datetime] = mapped_column("reportedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    breach_type: Mapped[BreachType] = mapped_column("breachType", pg_enum(BreachType))
    description: Mapped[str] = mapped_column()
    cause_of_breach: Mapped[str] = mapped_column("causeOfBreach")
    affected_records: Mapped[int] = mapped_column("affectedRecords")
    affected_individuals: Mapped[int] = mapped_column("affectedIndividuals")
    data_types: Mapped[Any] = mapped_column("dataTypes", JSONB)
    risk_level: Mapped[RiskLevel] = mapped_column("riskLevel", pg_enum(RiskLevel))
    risk_assessment: Mapped[str] = mapped_column("riskAssessment")
    affected_customer_ids: Mapped[list[str] | None] = mapped_column("affectedCustomerIds", ARRAY(sa.Text))
    affected_user_ids: Mapped[list[str] | None] = mapped_column("affectedUserIds", ARRAY(sa.Text))
    notification_status: Mapped[NotificationStatus] = mapped_column(
        "notificationStatus", pg_enum(NotificationStatus), server_default=sa.text("'PENDING'")
    )
    individuals_notified_at: Mapped[datetime | None] = mapped_column("individualsNotifiedAt")
    hhs_notified_at: Mapped[datetime | None] = mapped_column("hhsNotifiedAt")
    media_notified_at: Mapped[datetime | None] = mapped_column("mediaNotifiedAt")
    investigation_status: Mapped[InvestigationStatus] = mapped_column(
        "investigationStatus", pg_enum(InvestigationStatus), server_default=sa.text("'ONGOING'")
    )
    investigation_notes: Mapped[str | None] = mapped_column("investigationNotes")
    root_cause: Mapped[str | None] = mapped_column("rootCause")
    remediation_actions: Mapped[Any | None] = mapped_column("remediationActions", JSONB)
    remediation_status: Mapped[str | None] = mapped_column("remediationStatus")
    remediation_completed_at: Mapped[datetime | None] = mapped_column("remediationCompletedAt")
    documents: Mapped[Any | None] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column("createdBy")
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class BreachNotification(Base):
    __tablename__ = "BreachNotification"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="BreachNotification_pkey"),
        sa.Index("BreachNotification_severity_idx", "severity"),
        sa.Index("BreachNotification_discoveryDate_idx", "discoveryDate"),
        sa.Index("BreachNotification_hipaaNotificationStatus_idx", "hipaaNotificationStatus"),
        sa.Index("BreachNotification_gdprNotificationStatus_idx", "gdprNotificationStatus"),
        sa.Index("BreachNotification_phipaNotificationStatus_idx", "phipaNotificationStatus"),
        sa.Index("BreachNotification_resolved_idx", "resolved"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    breach_type: Mapped[BreachType] = mapped_column("breachType", pg_enum(BreachType))
    severity: Mapped[BreachSeverity] = mapped_column(pg_enum(BreachSeverity))
    discovery_date: Mapped[datetime] = mapped_column("discoveryDate")
    affected_users: Mapped[int] = mapped_column("affectedUsers")
    affected_records: Mapped[int] = mapped_column("affectedRecords")
    description: Mapped[str] = mapped_column()
    containment_actions: Mapped[list[str] | None] = mapped_column("containmentActions", ARRAY(sa.Text))
    affected_data_types: Mapped[list[str] | None] = mapped_column("affectedDataTypes", ARRAY(sa.Text))
    affected_user_ids: Mapped[list[str] | None] = mapped_column("affectedUserIds", ARRAY(sa.Text))
    hipaa_notification_status: Mapped[NotificationStatus] = mapped_column(
        "hipaaNotificationStatus", pg_enum(NotificationStatus), server_default=sa.text("'PENDING'")
    )
    hipaa_notification_date: Mapped[datetime | None] = mapped_column("hipaaNotificationDate")
    hipaa_individuals_notified: Mapped[int] = mapped_column(
        "hipaaIndividualsNotified", server_default=sa.text("0")
    )
    gdpr_notification_status: Mapped[NotificationStatus] = mapped_column(
        "gdprNotificationStatus", pg_enum(NotificationStatus), server_default=sa.text("'PENDING'")
    )
    gdpr_notification_date: Mapped[datetime | None] = mapped_column("gdprNotificationDate")
    gdpr_individuals_notified: Mapped[int] = mapped_column(
        "gdprIndividualsNotified", server_default=sa.text("0")
    )
    phipa_notification_status: Mapped[NotificationStatus] = mapped_column(
        "phipaNotificationStatus", pg_enum(NotificationStatus), server_default=sa.text("'PENDING'")
    )
    phipa_notification_date: Mapped[datetime | None] = mapped_column("phipaNotificationDate")
    phipa_individuals_notified: Mapped[int] = mapped_column(
        "phipaIndividualsNotified", server_default=sa.text("0")
    )
    hhs_reported: Mapped[bool] = mapped_column("hhsReported", server_default=sa.text("false"))
    hhs_report_date: Mapped[datetime | None] = mapped_column("hhsReportDate")
    hhs_report_number: Mapped[str | None] = mapped_column("hhsReportNumber")
    supervisory_authority_reported: Mapped[bool] = mapped_column(
        "supervisoryAuthorityReported", server_default=sa.text("false")
    )
    supervisory_authority_report_date: Mapped[datetime | None] = mapped_column(
        "supervisoryAuthorityReportDate"
    )
    supervisory_authority: Mapped[str | None] = mapped_column("supervisoryAuthority")
    privacy_commissioner_reported: Mapped[bool] = mapped_column(
        "privacyCommissionerReported", server_default=sa.text("false")
    )
    privacy_commissioner_report_date: Mapped[datetime | None] = mapped_column("privacyCommissionerReportDate")
    privacy_commissioner: Mapped[str | None] = mapped_column("privacyCommissioner")
    media_notification_required: Mapped[bool] = mapped_column(
        "mediaNotificationRequired", server_default=sa.text("false")
    )
    media_notification_date: Mapped[datetime | None] = mapped_column("mediaNotificationDate")
    resolved: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    resolved_date: Mapped[datetime | None] = mapped_column("resolvedDate")
    resolution_notes: Mapped[str | None] = mapped_column("resolutionNotes")
    post_incident_review_completed: Mapped[bool] = mapped_column(
        "postIncidentReviewCompleted", server_default=sa.text("false")
    )
    post_incident_review_date: Mapped[datetime | None] = mapped_column("postIncidentReviewDate")
    lessons_learned: Mapped[str | None] = mapped_column("lessonsLearned")
    preventive_measures: Mapped[list[str] | None] = mapped_column("preventiveMeasures", ARRAY(sa.Text))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column("createdBy")


class ComplianceChecklist(Base):
    __tablename__ = "ComplianceChecklist"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ComplianceChecklist_pkey"),
        sa.Index("ComplianceChecklist_jurisdiction_idx", "jurisdiction"),
        sa.Index("ComplianceChecklist_status_idx", "status"),
        sa.Index("ComplianceChecklist_priority_idx", "priority"),
        sa.Index("ComplianceChecklist_dueDate_idx", "dueDate"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    jurisdiction: Mapped[Jurisdiction] = mapped_column(pg_enum(Jurisdiction))
    category: Mapped[str] = mapped_column()
    requirement: Mapped[str] = mapped_column()
    description: Mapped[str] = mapped_column()
    status: Mapped[str] = mapped_column(server_default=sa.text("'NOT_STARTED'"))
    completed_date: Mapped[datetime | None] = mapped_column("completedDate")
    completed_by: Mapped[str | None] = mapped_column("completedBy")
    evidence_url: Mapped[str | None] = mapped_column("evidenceUrl")
    evidence_notes: Mapped[str | None] = mapped_column("evidenceNotes")
    priority: Mapped[str] = mapped_column()
    due_date: Mapped[datetime | None] = mapped_column("dueDate")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class ComplianceReport(Base):
    __tablename__ = "compliance_reports"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="compliance_reports_pkey"),
        sa.Index("compliance_reports_reportType_idx", "reportType"),
        sa.Index(
            "compliance_reports_reportPeriodStart_reportPeriodEnd_idx", "reportPeriodStart", "reportPeriodEnd"
        ),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    report_type: Mapped[ComplianceReportType] = mapped_column("reportType", pg_enum(ComplianceReportType))
    report_period_start: Mapped[datetime] = mapped_column("reportPeriodStart")
    report_period_end: Mapped[datetime] = mapped_column("reportPeriodEnd")
    summary: Mapped[Any] = mapped_column(JSONB)
    findings: Mapped[Any] = mapped_column(JSONB)
    recommendations: Mapped[Any | None] = mapped_column(JSONB)
    overall_status: Mapped[ComplianceStatus] = mapped_column("overallStatus", pg_enum(ComplianceStatus))
    score: Mapped[float | None] = mapped_column()
    generated_at: Mapped[datetime] = mapped_column("generatedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    generated_by: Mapped[str] = mapped_column("generatedBy")
    reviewed_at: Mapped[datetime | None] = mapped_column("reviewedAt")
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")
    review_notes: Mapped[str | None] = mapped_column("reviewNotes")
    report_url: Mapped[str | None] = mapped_column("reportUrl")


class DataPortabilityRequest(Base):
    __tablename__ = "DataPortabilityRequest"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="DataPortabilityRequest_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="DataPortabilityRequest_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("DataPortabilityRequest_userId_idx", "userId"),
        sa.Index("DataPortabilityRequest_status_idx", "status"),
        sa.Index("DataPortabilityRequest_createdAt_idx", "createdAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    format: Mapped[str] = mapped_column()
    include_documents: Mapped[bool] = mapped_column("includeDocuments", server_default=sa.text("true"))
    include_ehr_data: Mapped[bool] = mapped_column("includeEHRData", server_default=sa.text("true"))
    status: Mapped[str] = mapped_column(server_default=sa.text("'PENDING'"))
    export_url: Mapped[str | None] = mapped_column("exportUrl")
    export_size: Mapped[int | None] = mapped_column("exportSize")
    expiration_date: Mapped[datetime | None] = mapped_column("expirationDate")
    started_at: Mapped[datetime | None] = mapped_column("startedAt")
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[DataPortabilityRequest.user_id]", back_populates="data_portability_requests"
    )


class DataRectificationRequest(Base):
    __tablename__ = "DataRectificationRequest"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="DataRectificationRequest_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="DataRectificationRequest_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("DataRectificationRequest_userId_idx", "userId"),
        sa.Index("DataRectificationRequest_status_idx", "status"),
        sa.Index("DataRectificationRequest_dataType_idx", "dataType"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    data_type: Mapped[str] = mapped_column("dataType")
    record_id: Mapped[str | None] = mapped_column("recordId")
    current_value: Mapped[str] = mapped_column("currentValue")
    requested_value: Mapped[str] = mapped_column("requestedValue")
    reason: Mapped[str] = mapped_column()
    status: Mapped[str] = mapped_column(server_default=sa.text("'PENDING'"))
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")
    reviewed_at: Mapped[datetime | None] = mapped_column("reviewedAt")
    review_notes: Mapped[str | None] = mapped_column("reviewNotes")
    approved: Mapped[bool | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[DataRectificationRequest.user_id]", back_populates="data_rectification_requests"
    )


class DataRetentionPolicy(Base):
    __tablename__ = "data_retention_policies"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="data_retention_policies_pkey"),
        sa.Index("data_retention_policies_name_key", "name", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    name: Mapped[str] = mapped_column()
    description: Mapped[str] = mapped_column()
    data_type: Mapped[str] = mapped_column("dataType")
    category: Mapped[str | None] = mapped_column()
    retention_period_days: Mapped[int] = mapped_column("retentionPeriodDays")
    archive_after_days: Mapped[int | None] = mapped_column("archiveAfterDays")
    delete_after_days: Mapped[int | None] = mapped_column("deleteAfterDays")
    legal_basis: Mapped[str | None] = mapped_column("legalBasis")
    jurisdiction: Mapped[str | None] = mapped_column()
    active: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    effective_from: Mapped[datetime] = mapped_column(
        "effectiveFrom", server_default=sa.text("CURRENT_TIMESTAMP")
    )
    effective_to: Mapped[datetime | None] = mapped_column("effectiveTo")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column("createdBy")


class EncryptionKey(Base):
    __tablename__ = "encryption_keys"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="encryption_keys_pkey"),
        sa.Index("encryption_keys_keyId_key", "keyId", unique=True),
        sa.Index("encryption_keys_keyId_idx", "keyId"),
        sa.Index("encryption_keys_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    key_id: Mapped[str] = mapped_column("keyId")
    key_type: Mapped[KeyType] = mapped_column("keyType", pg_enum(KeyType))
    algorithm: Mapped[str] = mapped_column()
    key_size: Mapped[int] = mapped_column("keySize")
    encrypted_key: Mapped[str] = mapped_column("encryptedKey")
    key_version: Mapped[int] = mapped_column("keyVersion", server_default=sa.text("1"))
    status: Mapped[KeyStatus] = mapped_column(pg_enum(KeyStatus), server_default=sa.text("'ACTIVE'"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    activated_at: Mapped[datetime | None] = mapped_column("activatedAt")
    deactivated_at: Mapped[datetime | None] = mapped_column("deactivatedAt")
    destroyed_at: Mapped[datetime | None] = mapped_column("destroyedAt")
    rotation_schedule: Mapped[str | None] = mapped_column("rotationSchedule")
    last_rotated_at: Mapped[datetime | None] = mapped_column("lastRotatedAt")
    next_rotation_at: Mapped[datetime | None] = mapped_column("nextRotationAt")
    purpose: Mapped[str] = mapped_column()
    usage_count: Mapped[int] = mapped_column("usageCount", server_default=sa.text("0"))
    allowed_roles: Mapped[list[str] | None] = mapped_column("allowedRoles", ARRAY(sa.Text))


class EncryptionKeyRotation(Base):
    __tablename__ = "EncryptionKeyRotation"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="EncryptionKeyRotation_pkey"),
        sa.Index("EncryptionKeyRotation_keyId_idx", "keyId"),
        sa.Index("EncryptionKeyRotation_rotationDate_idx", "rotationDate"),
        sa.Index("EncryptionKeyRotation_region_idx", "region"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    key_id: Mapped[str] = mapped_column("keyId")
    key_type: Mapped[str] = mapped_column("keyType")
    region: Mapped[DataRegion] = mapped_column(pg_enum(DataRegion))
    old_key_id: Mapped[str | None] = mapped_column("oldKeyId")
    new_key_id: Mapped[str] = mapped_column("newKeyId")
    rotation_date: Mapped[datetime] = mapped_column("rotationDate")
    rotation_reason: Mapped[str] = mapped_column("rotationReason")
    status: Mapped[str] = mapped_column(server_default=sa.text("'COMPLETED'"))
    affected_records: Mapped[int] = mapped_column("affectedRecords", server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    performed_by: Mapped[str] = mapped_column("performedBy")


class LegalAgreement(Base):
    __tablename__ = "LegalAgreement"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="LegalAgreement_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="LegalAgreement_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("LegalAgreement_type_idx", "type"),
        sa.Index("LegalAgreement_status_idx", "status"),
        sa.Index("LegalAgreement_expirationDate_idx", "expirationDate"),
        sa.Index("LegalAgreement_userId_idx", "userId"),
        sa.Index("LegalAgreement_partyEmail_idx", "partyEmail"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    type: Mapped[AgreementType] = mapped_column(pg_enum(AgreementType))
    version: Mapped[str] = mapped_column(server_default=sa.text("'1.0'"))
    party_name: Mapped[str] = mapped_column("partyName")
    party_email: Mapped[str] = mapped_column("partyEmail")
    party_role: Mapped[str | None] = mapped_column("partyRole")
    user_id: Mapped[str | None] = mapped_column("userId")
    signed_date: Mapped[datetime] = mapped_column("signedDate")
    effective_date: Mapped[datetime] = mapped_column("effectiveDate")
    expiration_date: Mapped[datetime | None] = mapped_column("expirationDate")
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    document_url: Mapped[str] = mapped_column("documentUrl")
    document_hash: Mapped[str] = mapped_column("documentHash")
    signature_data: Mapped[Any] = mapped_column("signatureData", JSONB)
    renewal_required: Mapped[bool] = mapped_column("renewalRequired", server_default=sa.text("false"))
    renewal_date: Mapped[datetime | None] = mapped_column("renewalDate")
    renewal_reminder: Mapped[datetime | None] = mapped_column("renewalReminder")
    terminated_date: Mapped[datetime | None] = mapped_column("terminatedDate")
    termination_reason: Mapped[str | None] = mapped_column("terminationReason")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = orm.relationship(
        foreign_keys="[LegalAgreement.user_id]", back_populates="legal_agreements"
    )


class SecurityAlert(Base):
    __tablename__ = "security_alerts"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="security_alerts_pkey"),
        sa.Index("security_alerts_user_id_idx", "user_id"),
        sa.Index("security_alerts_acknowledged_idx", "acknowledged"),
        sa.Index("security_alerts_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    action: Mapped[str] = mapped_column()
    details: Mapped[str] = mapped_column()
    severity: Mapped[str] = mapped_column(server_default=sa.text("'high'"))
    acknowledged: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    acknowledged_by: Mapped[str | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))


class SecurityConfiguration(Base):
    __tablename__ = "security_configurations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="security_configurations_pkey"),
        sa.Index("security_configurations_key_key", "key", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    key: Mapped[str] = mapped_column()
    category: Mapped[str] = mapped_column()
    value: Mapped[Any] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column()
    value_type: Mapped[str] = mapped_column("valueType")
    validation: Mapped[Any | None] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column("updatedBy")


class Subprocessor(Base):
    __tablename__ = "Subprocessor"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="Subprocessor_pkey"),
        sa.Index("Subprocessor_status_idx", "status"),
        sa.Index("Subprocessor_baaStatus_idx", "baaStatus"),
        sa.Index("Subprocessor_dpaStatus_idx", "dpaStatus"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    name: Mapped[str] = mapped_column()
    description: Mapped[str] = mapped_column()
    website: Mapped[str | None] = mapped_column()
    services: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    data_processed: Mapped[list[str] | None] = mapped_column("dataProcessed", ARRAY(sa.Text))
    locations: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    baa_status: Mapped[str] = mapped_column("baaStatus", server_default=sa.text("'PENDING'"))
    baa_signed: Mapped[datetime | None] = mapped_column("baaSigned")
    baa_expiration: Mapped[datetime | None] = mapped_column("baaExpiration")
    dpa_status: Mapped[str] = mapped_column("dpaStatus", server_default=sa.text("'PENDING'"))
    dpa_signed: Mapped[datetime | None] = mapped_column("dpaSigned")
    dpa_expiration: Mapped[datetime | None] = mapped_column("dpaExpiration")
    soc2_certified: Mapped[bool] = mapped_column("soc2Certified", server_default=sa.text("false"))
    iso27001_certified: Mapped[bool] = mapped_column("iso27001Certified", server_default=sa.text("false"))
    hipaa_compliant: Mapped[bool] = mapped_column("hipaaCompliant", server_default=sa.text("false"))
    gdpr_compliant: Mapped[bool] = mapped_column("gdprCompliant", server_default=sa.text("false"))
    status: Mapped[str] = mapped_column(server_default=sa.text("'ACTIVE'"))
    last_notification_date: Mapped[datetime | None] = mapped_column("lastNotificationDate")
    notifications_sent: Mapped[int] = mapped_column("notificationsSent", server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class TrainingRecord(Base):
    __tablename__ = "TrainingRecord"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="TrainingRecord_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="TrainingRecord_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("TrainingRecord_userId_idx", "userId"),
        sa.Index("TrainingRecord_trainingType_idx", "trainingType"),
        sa.Index("TrainingRecord_status_idx", "status"),
        sa.Index("TrainingRecord_certificateExpiration_idx", "certificateExpiration"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    training_type: Mapped[str] = mapped_column("trainingType")
    training_title: Mapped[str] = mapped_column("trainingTitle")
    training_url: Mapped[str | None] = mapped_column("trainingUrl")
    status: Mapped[str] = mapped_column(server_default=sa.text("'NOT_STARTED'"))
    started_at: Mapped[datetime | None] = mapped_column("startedAt")
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    score: Mapped[int | None] = mapped_column()
    certificate_url: Mapped[str | None] = mapped_column("certificateUrl")
    certificate_expiration: Mapped[datetime | None] = mapped_column("certificateExpiration")
    renewal_required: Mapped[bool] = mapped_column("renewalRequired", server_default=sa.text("false"))
    renewal_date: Mapped[datetime | None] = mapped_column("renewalDate")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[TrainingRecord.user_id]", back_populates="training_records"
    )
