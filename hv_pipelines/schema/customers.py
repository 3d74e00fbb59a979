"""Customers (patients), their clinical repository, and consent to share it.

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
    AccessRequestStatus,
    AccessRequestType,
    AccessUrgency,
    CommunicationType,
    ConsentStatus,
    ConsentType,
    DeliveryMethod,
    RequestStatus,
    RestrictionType,
    pg_enum,
)

if TYPE_CHECKING:
    from hv_pipelines.schema.ai import AnalysisSession
    from hv_pipelines.schema.documents import Document
    from hv_pipelines.schema.users import User


class AccessLog(Base):
    __tablename__ = "access_logs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="access_logs_pkey"),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent_grants.id"],
            name="access_logs_consent_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("access_logs_consent_id_idx", "consent_id"),
        sa.Index("access_logs_specialist_id_idx", "specialist_id"),
        sa.Index("access_logs_timestamp_idx", "timestamp"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    consent_id: Mapped[str] = mapped_column()
    specialist_id: Mapped[str] = mapped_column()
    action: Mapped[str] = mapped_column()
    resource: Mapped[str] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column()
    details: Mapped[str | None] = mapped_column()
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    success: Mapped[bool] = mapped_column(server_default=sa.text("true"))

    consent: Mapped[ConsentGrant] = orm.relationship(
        foreign_keys="[AccessLog.consent_id]", back_populates="access_logs"
    )


class AccessRequest(Base):
    __tablename__ = "access_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="access_requests_pkey"),
        sa.Index("access_requests_requesterId_idx", "requesterId"),
        sa.Index("access_requests_status_idx", "status"),
        sa.Index("access_requests_resourceType_resourceId_idx", "resourceType", "resourceId"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    requester_id: Mapped[str] = mapped_column("requesterId")
    requester_name: Mapped[str] = mapped_column("requesterName")
    requester_role: Mapped[str] = mapped_column("requesterRole")
    resource_type: Mapped[str] = mapped_column("resourceType")
    resource_id: Mapped[str] = mapped_column("resourceId")
    access_type: Mapped[str] = mapped_column("accessType")
    reason: Mapped[str] = mapped_column()
    urgency: Mapped[AccessUrgency] = mapped_column(pg_enum(AccessUrgency), server_default=sa.text("'NORMAL'"))
    is_emergency: Mapped[bool] = mapped_column("isEmergency", server_default=sa.text("false"))
    emergency_reason: Mapped[str | None] = mapped_column("emergencyReason")
    status: Mapped[AccessRequestStatus] = mapped_column(
        pg_enum(AccessRequestStatus), server_default=sa.text("'PENDING'")
    )
    approved_by: Mapped[str | None] = mapped_column("approvedBy")
    approved_at: Mapped[datetime | None] = mapped_column("approvedAt")
    rejected_by: Mapped[str | None] = mapped_column("rejectedBy")
    rejected_at: Mapped[datetime | None] = mapped_column("rejectedAt")
    rejection_reason: Mapped[str | None] = mapped_column("rejectionReason")
    requested_at: Mapped[datetime] = mapped_column("requestedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    access_start_time: Mapped[datetime | None] = mapped_column("accessStartTime")
    access_end_time: Mapped[datetime | None] = mapped_column("accessEndTime")
    review_notes: Mapped[str | None] = mapped_column("reviewNotes")
    audit_log_id: Mapped[str | None] = mapped_column("auditLogId")


class ConsentGrant(Base):
    __tablename__ = "consent_grants"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="consent_grants_pkey"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["users.id"],
            name="consent_grants_customer_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["users.id"],
            name="consent_grants_specialist_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("consent_grants_customer_id_idx", "customer_id"),
        sa.Index("consent_grants_specialist_id_idx", "specialist_id"),
        sa.Index("consent_grants_status_idx", "status"),
        sa.Index("consent_grants_expires_at_idx", "expires_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    customer_id: Mapped[str] = mapped_column()
    specialist_id: Mapped[str] = mapped_column()
    permissions: Mapped[str] = mapped_column()
    reason: Mapped[str] = mapped_column()
    requested_duration: Mapped[int] = mapped_column()
    urgency: Mapped[str] = mapped_column()
    status: Mapped[str] = mapped_column()
    restrictions: Mapped[str | None] = mapped_column()
    granted_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revocation_reason: Mapped[str | None] = mapped_column()
    denial_reason: Mapped[str | None] = mapped_column()
    last_accessed: Mapped[datetime | None] = mapped_column()
    access_count: Mapped[int] = mapped_column(server_default=sa.text("0"))
    expiration_warning_sent: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[User] = orm.relationship(
        foreign_keys="[ConsentGrant.customer_id]", back_populates="consent_requests_as_patient"
    )
    specialist: Mapped[User] = orm.relationship(
        foreign_keys="[ConsentGrant.specialist_id]", back_populates="consent_requests_as_specialist"
    )
    access_logs: Mapped[list[AccessLog]] = orm.relationship(
        foreign_keys="[AccessLog.consent_id]",
        back_populates="consent",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customers_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="customers_user_id_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    first_name: Mapped[str | None] = mapped_column()
    last_name: Mapped[str | None] = mapped_column()
    date_of_birth: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(foreign_keys="[Customer.user_id]", back_populates="customers")
    documents: Mapped[list[Document]] = orm.relationship(
        foreign_keys="[Document.customer_id]",
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    analysis_sessions: Mapped[list[AnalysisSession]] = orm.relationship(
        foreign_keys="[AnalysisSession.customer_id]",
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CustomerAccessRequest(Base):
    __tablename__ = "customer_access_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_access_requests_pkey"),
        sa.Index("customer_access_requests_customerId_idx", "customerId"),
        sa.Index("customer_access_requests_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    customer_id: Mapped[str] = mapped_column("customerId")
    request_type: Mapped[AccessRequestType] = mapped_column("requestType", pg_enum(AccessRequestType))
    specific_records: Mapped[list[str] | None] = mapped_column("specificRecords", ARRAY(sa.Text))
    start_date: Mapped[datetime | None] = mapped_column("startDate")
    end_date: Mapped[datetime | None] = mapped_column("endDate")
    delivery_method: Mapped[DeliveryMethod] = mapped_column("deliveryMethod", pg_enum(DeliveryMethod))
    delivery_address: Mapped[str | None] = mapped_column("deliveryAddress")
    status: Mapped[RequestStatus] = mapped_column(pg_enum(RequestStatus), server_default=sa.text("'PENDING'"))
    requested_at: Mapped[datetime] = mapped_column("requestedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    fulfilled_at: Mapped[datetime | None] = mapped_column("fulfilledAt")
    fulfilled_by: Mapped[str | None] = mapped_column("fulfilledBy")
    notes: Mapped[str | None] = mapped_column()


class CustomerAllergy(Base):
    __tablename__ = "customer_allergies"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_allergies_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_allergies_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_allergies_repository_id_idx", "repository_id"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    allergen: Mapped[str] = mapped_column()
    type: Mapped[str] = mapped_column()
    reaction: Mapped[str] = mapped_column()
    severity: Mapped[str] = mapped_column()
    diagnosed_date: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerAllergy.repository_id]", back_populates="allergies"
    )


class CustomerAmendmentRequest(Base):
    __tablename__ = "customer_amendment_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_amendment_requests_pkey"),
        sa.Index("customer_amendment_requests_customerId_idx", "customerId"),
        sa.Index("customer_amendment_requests_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    customer_id: Mapped[str] = mapped_column("customerId")
    record_id: Mapped[str] = mapped_column("recordId")
    record_type: Mapped[str] = mapped_column("recordType")
    current_value: Mapped[str] = mapped_column("currentValue")
    proposed_value: Mapped[str] = mapped_column("proposedValue")
    reason: Mapped[str] = mapped_column()
    status: Mapped[RequestStatus] = mapped_column(pg_enum(RequestStatus), server_default=sa.text("'PENDING'"))
    requested_at: Mapped[datetime] = mapped_column("requestedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    reviewed_at: Mapped[datetime | None] = mapped_column("reviewedAt")
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")
    review_notes: Mapped[str | None] = mapped_column("reviewNotes")


class CustomerCommunicationRequest(Base):
    __tablename__ = "customer_communication_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_communication_requests_pkey"),
        sa.Index("customer_communication_requests_customerId_idx", "customerId"),
        sa.Index("customer_communication_requests_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    customer_id: Mapped[str] = mapped_column("customerId")
    communication_type: Mapped[CommunicationType] = mapped_column(
        "communicationType", pg_enum(CommunicationType)
    )
    alternative_contact: Mapped[str] = mapped_column("alternativeContact")
    reason: Mapped[str] = mapped_column()
    status: Mapped[RequestStatus] = mapped_column(pg_enum(RequestStatus), server_default=sa.text("'PENDING'"))
    requested_at: Mapped[datetime] = mapped_column("requestedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    reviewed_at: Mapped[datetime | None] = mapped_column("reviewedAt")
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")


class CustomerConsent(Base):
    __tablename__ = "customer_consents"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_consents_pkey"),
        sa.Index("customer_consents_customerId_idx", "customerId"),
        sa.Index("customer_consents_consentType_idx", "consentType"),
        sa.Index("customer_consents_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    customer_id: Mapped[str] = mapped_column("customerId")
    consent_type: Mapped[ConsentType] = mapped_column("consentType", pg_enum(ConsentType))
    purpose: Mapped[str] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    status: Mapped[ConsentStatus] = mapped_column(pg_enum(ConsentStatus), server_default=sa.text("'ACTIVE'"))
    given_at: Mapped[datetime] = mapped_column("givenAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    given_by: Mapped[str] = mapped_column("givenBy")
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt")
    revoked_at: Mapped[datetime | None] = mapped_column("revokedAt")
    revoked_by: Mapped[str | None] = mapped_column("revokedBy")
    revocation_reason: Mapped[str | None] = mapped_column("revocationReason")
    scope: Mapped[Any | None] = mapped_column(JSONB)
    restrictions: Mapped[Any | None] = mapped_column(JSONB)
    document_url: Mapped[str | None] = mapped_column("documentUrl")
    signature_url: Mapped[str | None] = mapped_column("signatureUrl")
    audit_log_id: Mapped[str | None] = mapped_column("auditLogId")


class CustomerDiagnosis(Base):
    __tablename__ = "customer_diagnoses"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_diagnoses_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_diagnoses_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_diagnoses_repository_id_idx", "repository_id"),
        sa.Index("customer_diagnoses_diagnosed_date_idx", "diagnosed_date"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    condition: Mapped[str] = mapped_column()
    icd10_code: Mapped[str | None] = mapped_column()
    diagnosed_date: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column()
    severity: Mapped[str | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerDiagnosis.repository_id]", back_populates="diagnoses"
    )


class CustomerFamilyHistory(Base):
    __tablename__ = "customer_family_history"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_family_history_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_family_history_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_family_history_repository_id_idx", "repository_id"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    relationship: Mapped[str] = mapped_column()
    condition: Mapped[str] = mapped_column()
    age_at_diagnosis: Mapped[int | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerFamilyHistory.repository_id]", back_populates="family_history"
    )


class CustomerImmunization(Base):
    __tablename__ = "customer_immunizations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_immunizations_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_immunizations_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_immunizations_repository_id_idx", "repository_id"),
        sa.Index("customer_immunizations_date_idx", "date"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    vaccine: Mapped[str] = mapped_column()
    date: Mapped[datetime] = mapped_column()
    dose_number: Mapped[int | None] = mapped_column()
    administered_by: Mapped[str | None] = mapped_column()
    lot_number: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerImmunization.repository_id]", back_populates="immunizations"
    )


class CustomerMedication(Base):
    __tablename__ = "customer_medications"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_medications_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_medications_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_medications_repository_id_idx", "repository_id"),
        sa.Index("customer_medications_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    name: Mapped[str] = mapped_column()
    dosage: Mapped[str] = mapped_column()
    frequency: Mapped[str] = mapped_column()
    start_date: Mapped[datetime] = mapped_column()
    end_date: Mapped[datetime | None] = mapped_column()
    prescribed_by: Mapped[str | None] = mapped_column()
    purpose: Mapped[str | None] = mapped_column()
    status: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerMedication.repository_id]", back_populates="medications"
    )


class CustomerProcedure(Base):
    __tablename__ = "customer_procedures"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_procedures_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_procedures_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_procedures_repository_id_idx", "repository_id"),
        sa.Index("customer_procedures_date_idx", "date"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    name: Mapped[str] = mapped_column()
    date: Mapped[datetime] = mapped_column()
    performed_by: Mapped[str | None] = mapped_column()
    location: Mapped[str | None] = mapped_column()
    notes: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerProcedure.repository_id]", back_populates="procedures"
    )


class CustomerRepository(Base):
    __tablename__ = "customer_repositories"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_repositories_pkey"),
        sa.Index("customer_repositories_user_id_key", "user_id", unique=True),
        sa.Index("customer_repositories_primary_identity_hash_key", "primary_identity_hash", unique=True),
        sa.Index("customer_repositories_composite_identity_hash_key", "composite_identity_hash", unique=True),
        sa.Index("customer_repositories_user_id_idx", "user_id"),
        sa.Index("customer_repositories_composite_identity_hash_idx", "composite_identity_hash"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    primary_identity_hash: Mapped[str] = mapped_column()
    secondary_identity_hash: Mapped[str] = mapped_column()
    composite_identity_hash: Mapped[str] = mapped_column()
    encrypted_personal_info: Mapped[str] = mapped_column()
    has_mothers_maiden_name: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    has_previous_address: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_accessed_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(server_default=sa.text("1"))

    diagnoses: Mapped[list[CustomerDiagnosis]] = orm.relationship(
        foreign_keys="[CustomerDiagnosis.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    medications: Mapped[list[CustomerMedication]] = orm.relationship(
        foreign_keys="[CustomerMedication.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    allergies: Mapped[list[CustomerAllergy]] = orm.relationship(
        foreign_keys="[CustomerAllergy.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    vital_signs: Mapped[list[CustomerVitalSign]] = orm.relationship(
        foreign_keys="[CustomerVitalSign.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    procedures: Mapped[list[CustomerProcedure]] = orm.relationship(
        foreign_keys="[CustomerProcedure.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    immunizations: Mapped[list[CustomerImmunization]] = orm.relationship(
        foreign_keys="[CustomerImmunization.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    family_history: Mapped[list[CustomerFamilyHistory]] = orm.relationship(
        foreign_keys="[CustomerFamilyHistory.repository_id]",
        back_populates="repository",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class PatientRestrictionRequest(Base):
    __tablename__ = "patient_restriction_requests"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="patient_restriction_requests_pkey"),
        sa.Index("patient_restriction_requests_customerId_idx", "customerId"),
        sa.Index("patient_restriction_requests_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    customer_id: Mapped[str] = mapped_column("customerId")
    restriction_type: Mapped[RestrictionType] = mapped_column("restrictionType", pg_enum(RestrictionType))
    data_type: Mapped[str] = mapped_column("dataType")
    recipient: Mapped[str | None] = mapped_column()
    reason: Mapped[str] = mapped_column()
    status: Mapped[RequestStatus] = mapped_column(pg_enum(RequestStatus), server_default=sa.text("'PENDING'"))
    requested_at: Mapped[datetime] = mapped_column("requestedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    reviewed_at: Mapped[datetime | None] = mapped_column("reviewedAt")
    reviewed_by: Mapped[str | None] = mapped_column("reviewedBy")
    review_notes: Mapped[str | None] = mapped_column("reviewNotes")


class CustomerVitalSign(Base):
    __tablename__ = "customer_vital_signs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="customer_vital_signs_pkey"),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["customer_repositories.id"],
            name="customer_vital_signs_repository_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("customer_vital_signs_repository_id_idx", "repository_id"),
        sa.Index("customer_vital_signs_date_idx", "date"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    date: Mapped[datetime] = mapped_column()
    blood_pressure_systolic: Mapped[int | None] = mapped_column()
    blood_pressure_diastolic: Mapped[int | None] = mapped_column()
    heart_rate: Mapped[int | None] = mapped_column()
    temperature: Mapped[float | None] = mapped_column()
    weight: Mapped[float | None] = mapped_column()
    height: Mapped[float | None] = mapped_column()
    bmi: Mapped[float | None] = mapped_column()
    oxygen_saturation: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    repository: Mapped[CustomerRepository] = orm.relationship(
        foreign_keys="[CustomerVitalSign.repository_id]", back_populates="vital_signs"
    )
