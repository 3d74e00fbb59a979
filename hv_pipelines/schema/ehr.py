"""EHR connections, FHIR bulk exports and the FHIR resources they bring.

Generated from the repaired Prisma schema, then reviewed; table, column, index and constraint
names are Prisma's exactly (the catalog test compares them with the reference DDL)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hv_pipelines.schema.base import Base, new_cuid, new_uuid, utcnow
from hv_pipelines.schema.enums import (
    BulkExportStatus,
    BulkExportType,
    ConnectionStatus,
    EHRProvider,
    FHIRResourceType,
    SyncStatus,
    pg_enum,
)

if TYPE_CHECKING:
    from hv_pipelines.schema.terminology import LabResultStandardization
    from hv_pipelines.schema.users import User


class AthenaHealthSpecificData(Base):
    __tablename__ = "AthenaHealthSpecificData"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="AthenaHealthSpecificData_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="AthenaHealthSpecificData_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("AthenaHealthSpecificData_resourceId_key", "resourceId", unique=True),
        sa.Index("AthenaHealthSpecificData_userId_idx", "userId"),
        sa.Index("AthenaHealthSpecificData_resourceType_idx", "resourceType"),
        sa.Index("AthenaHealthSpecificData_resourceId_idx", "resourceId"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    resource_type: Mapped[str] = mapped_column("resourceType")
    resource_id: Mapped[str] = mapped_column("resourceId")
    user_id: Mapped[str] = mapped_column("userId")
    report_type: Mapped[str | None] = mapped_column("reportType")
    status: Mapped[str | None] = mapped_column()
    category: Mapped[str | None] = mapped_column()
    effective_date_time: Mapped[datetime | None] = mapped_column("effectiveDateTime")
    issued: Mapped[datetime | None] = mapped_column()
    conclusion: Mapped[str | None] = mapped_column()
    presented_form: Mapped[Any | None] = mapped_column("presentedForm", JSONB)
    intent: Mapped[str | None] = mapped_column()
    title: Mapped[str | None] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    period: Mapped[Any | None] = mapped_column(JSONB)
    activities: Mapped[Any | None] = mapped_column(JSONB)
    class_: Mapped[str | None] = mapped_column("class")
    type: Mapped[str | None] = mapped_column()
    reason_code: Mapped[Any | None] = mapped_column("reasonCode", JSONB)
    diagnosis: Mapped[Any | None] = mapped_column(JSONB)
    hospitalization: Mapped[Any | None] = mapped_column(JSONB)
    appointment_type: Mapped[str | None] = mapped_column("appointmentType")
    start: Mapped[datetime | None] = mapped_column()
    end: Mapped[datetime | None] = mapped_column()
    minutes_duration: Mapped[int | None] = mapped_column("minutesDuration")
    comment: Mapped[str | None] = mapped_column()
    date: Mapped[datetime | None] = mapped_column()
    content: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[AthenaHealthSpecificData.user_id]", back_populates="athena_health_specific_datas"
    )


class BulkExportJob(Base):
    __tablename__ = "bulk_export_jobs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="bulk_export_jobs_pkey"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="bulk_export_jobs_connection_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("bulk_export_jobs_connection_id_idx", "connection_id"),
        sa.Index("bulk_export_jobs_status_idx", "status"),
        sa.Index("bulk_export_jobs_started_at_idx", "started_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    connection_id: Mapped[str] = mapped_column()
    export_type: Mapped[BulkExportType] = mapped_column(pg_enum(BulkExportType))
    status: Mapped[BulkExportStatus] = mapped_column(
        pg_enum(BulkExportStatus), server_default=sa.text("'INITIATED'")
    )
    kickoff_url: Mapped[str | None] = mapped_column()
    status_url: Mapped[str | None] = mapped_column()
    output_urls: Mapped[str | None] = mapped_column()
    resource_types: Mapped[str | None] = mapped_column()
    since: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    completed_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    resource_count: Mapped[int] = mapped_column(server_default=sa.text("0"))
    total_size: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    error_message: Mapped[str | None] = mapped_column()
    error_details: Mapped[str | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")

    connection: Mapped[EHRConnection] = orm.relationship(
        foreign_keys="[BulkExportJob.connection_id]", back_populates="bulk_export_jobs"
    )


class EClinicalWorksSpecificData(Base):
    __tablename__ = "EClinicalWorksSpecificData"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="EClinicalWorksSpecificData_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="EClinicalWorksSpecificData_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("EClinicalWorksSpecificData_resourceId_key", "resourceId", unique=True),
        sa.Index("EClinicalWorksSpecificData_userId_idx", "userId"),
        sa.Index("EClinicalWorksSpecificData_resourceType_idx", "resourceType"),
        sa.Index("EClinicalWorksSpecificData_resourceId_idx", "resourceId"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    resource_type: Mapped[str] = mapped_column("resourceType")
    resource_id: Mapped[str] = mapped_column("resourceId")
    user_id: Mapped[str] = mapped_column("userId")
    report_type: Mapped[str | None] = mapped_column("reportType")
    status: Mapped[str | None] = mapped_column()
    category: Mapped[str | None] = mapped_column()
    effective_date_time: Mapped[datetime | None] = mapped_column("effectiveDateTime")
    issued: Mapped[datetime | None] = mapped_column()
    conclusion: Mapped[str | None] = mapped_column()
    presented_form: Mapped[Any | None] = mapped_column("presentedForm", JSONB)
    intent: Mapped[str | None] = mapped_column()
    title: Mapped[str | None] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    period: Mapped[Any | None] = mapped_column(JSONB)
    activities: Mapped[Any | None] = mapped_column(JSONB)
    class_: Mapped[str | None] = mapped_column("class")
    type: Mapped[str | None] = mapped_column()
    reason_code: Mapped[Any | None] = mapped_column("reasonCode", JSONB)
    diagnosis: Mapped[Any | None] = mapped_column(JSONB)
    hospitalization: Mapped[Any | None] = mapped_column(JSONB)
    priority: Mapped[str | None] = mapped_column()
    medium: Mapped[Any | None] = mapped_column(JSONB)
    subject: Mapped[str | None] = mapped_column()
    topic: Mapped[str | None] = mapped_column()
    sent: Mapped[datetime | None] = mapped_column()
    received: Mapped[datetime | None] = mapped_column()
    payload: Mapped[Any | None] = mapped_column(JSONB)
    code: Mapped[str | None] = mapped_column()
    authored_on: Mapped[datetime | None] = mapped_column("authoredOn")
    last_modified: Mapped[datetime | None] = mapped_column("lastModified")
    execution_period: Mapped[Any | None] = mapped_column("executionPeriod", JSONB)
    note: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[EClinicalWorksSpecificData.user_id]", back_populates="eclinical_works_specific_datas"
    )


class EHRConnection(Base):
    __tablename__ = "ehr_connections"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ehr_connections_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="ehr_connections_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("ehr_connections_user_id_idx", "user_id"),
        sa.Index("ehr_connections_status_idx", "status"),
        sa.Index("ehr_connections_provider_idx", "provider"),
        sa.Index("ehr_connections_next_sync_at_idx", "next_sync_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    provider: Mapped[EHRProvider] = mapped_column(pg_enum(EHRProvider))
    provider_name: Mapped[str] = mapped_column()
    fhir_base_url: Mapped[str] = mapped_column()
    status: Mapped[ConnectionStatus] = mapped_column(
        pg_enum(ConnectionStatus), server_default=sa.text("'PENDING'")
    )
    access_token: Mapped[str | None] = mapped_column()
    refresh_token: Mapped[str | None] = mapped_column()
    token_expires_at: Mapped[datetime | None] = mapped_column()
    customer_id: Mapped[str | None] = mapped_column()
    customer_name: Mapped[str | None] = mapped_column()
    auto_sync: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    sync_frequency: Mapped[int] = mapped_column(server_default=sa.text("24"))
    last_sync_at: Mapped[datetime | None] = mapped_column()
    next_sync_at: Mapped[datetime | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    error_message: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[EHRConnection.user_id]", back_populates="ehr_connections"
    )
    fhir_resources: Mapped[list[FHIRResource]] = orm.relationship(
        foreign_keys="[FHIRResource.connection_id]",
        back_populates="connection",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    sync_history: Mapped[list[SyncHistory]] = orm.relationship(
        foreign_keys="[SyncHistory.connection_id]",
        back_populates="connection",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    bulk_export_jobs: Mapped[list[BulkExportJob]] = orm.relationship(
        foreign_keys="[BulkExportJob.connection_id]",
        back_populates="connection",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class EpicSpecificData(Base):
    __tablename__ = "epic_specific_data"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="epic_specific_data_pkey"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["fhir_resources.id"],
            name="epic_specific_data_resource_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("epic_specific_data_resource_id_key", "resource_id", unique=True),
        sa.Index("epic_specific_data_resource_id_idx", "resource_id"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    resource_id: Mapped[str] = mapped_column()
    extensions: Mapped[str | None] = mapped_column()
    custom_fields: Mapped[str | None] = mapped_column()
    clinical_notes: Mapped[str | None] = mapped_column()
    lab_result_details: Mapped[str | None] = mapped_column()
    imaging_metadata: Mapped[str | None] = mapped_column()
    care_plan_details: Mapped[str | None] = mapped_column()
    encounter_details: Mapped[str | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    resource: Mapped[FHIRResource] = orm.relationship(
        foreign_keys="[EpicSpecificData.resource_id]", back_populates="epic_specific_data"
    )


class FHIRResource(Base):
    __tablename__ = "fhir_resources"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="fhir_resources_pkey"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="fhir_resources_connection_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("fhir_resources_connection_id_idx", "connection_id"),
        sa.Index("fhir_resources_resource_type_idx", "resource_type"),
        sa.Index("fhir_resources_date_idx", "date"),
        sa.Index("fhir_resources_processed_idx", "processed"),
        sa.Index(
            "fhir_resources_connection_id_fhir_id_resource_type_key",
            "connection_id",
            "fhir_id",
            "resource_type",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    connection_id: Mapped[str] = mapped_column()
    resource_type: Mapped[FHIRResourceType] = mapped_column(pg_enum(FHIRResourceType))
    fhir_id: Mapped[str] = mapped_column()
    fhir_version: Mapped[str] = mapped_column(server_default=sa.text("'R4'"))
    raw_data: Mapped[str] = mapped_column()
    title: Mapped[str | None] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    date: Mapped[datetime | None] = mapped_column()
    category: Mapped[str | None] = mapped_column()
    status: Mapped[str | None] = mapped_column()
    content_type: Mapped[str | None] = mapped_column()
    content_url: Mapped[str | None] = mapped_column()
    content_size: Mapped[int | None] = mapped_column()
    document_downloaded: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    local_file_path: Mapped[str | None] = mapped_column()
    processed: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    processed_at: Mapped[datetime | None] = mapped_column()
    tokens_used: Mapped[int | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    connection: Mapped[EHRConnection] = orm.relationship(
        foreign_keys="[FHIRResource.connection_id]", back_populates="fhir_resources"
    )
    epic_specific_data: Mapped[EpicSpecificData | None] = orm.relationship(
        foreign_keys="[EpicSpecificData.resource_id]", back_populates="resource", uselist=False
    )
    lab_result_standardizations: Mapped[list[LabResultStandardization]] = orm.relationship(
        foreign_keys="[LabResultStandardization.fhir_resource_id]", back_populates="fhir_resource"
    )


class ProviderConfiguration(Base):
    __tablename__ = "provider_configurations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="provider_configurations_pkey"),
        sa.Index("provider_configurations_provider_idx", "provider"),
        sa.Index("provider_configurations_enabled_idx", "enabled"),
        sa.Index(
            "provider_configurations_provider_provider_name_key", "provider", "provider_name", unique=True
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    provider: Mapped[EHRProvider] = mapped_column(pg_enum(EHRProvider))
    provider_name: Mapped[str] = mapped_column()
    fhir_base_url: Mapped[str] = mapped_column()
    authorization_url: Mapped[str] = mapped_column()
    token_url: Mapped[str] = mapped_column()
    client_id: Mapped[str | None] = mapped_column()
    client_secret: Mapped[str | None] = mapped_column()
    redirect_uri: Mapped[str | None] = mapped_column()
    scopes: Mapped[str] = mapped_column()
    supports_document_reference: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_observation: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_condition: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_medication: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_allergy: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_immunization: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    supports_procedure: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    rate_limit: Mapped[int | None] = mapped_column()
    enabled: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    is_sandbox: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncHistory(Base):
    __tablename__ = "sync_history"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="sync_history_pkey"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ehr_connections.id"],
            name="sync_history_connection_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("sync_history_connection_id_idx", "connection_id"),
        sa.Index("sync_history_status_idx", "status"),
        sa.Index("sync_history_started_at_idx", "started_at"),
        sa.Index("sync_history_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    connection_id: Mapped[str] = mapped_column()
    status: Mapped[SyncStatus] = mapped_column(pg_enum(SyncStatus), server_default=sa.text("'QUEUED'"))
    sync_type: Mapped[str] = mapped_column(server_default=sa.text("'incremental'"))
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    duration: Mapped[int | None] = mapped_column()
    resources_queried: Mapped[int] = mapped_column(server_default=sa.text("0"))
    resources_created: Mapped[int] = mapped_column(server_default=sa.text("0"))
    resources_updated: Mapped[int] = mapped_column(server_default=sa.text("0"))
    resources_skipped: Mapped[int] = mapped_column(server_default=sa.text("0"))
    resources_failed: Mapped[int] = mapped_column(server_default=sa.text("0"))
    documents_downloaded: Mapped[int] = mapped_column(server_default=sa.text("0"))
    total_bytes_downloaded: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    tokens_estimated: Mapped[int | None] = mapped_column()
    tokens_used: Mapped[int | None] = mapped_column()
    cost_estimated: Mapped[float | None] = mapped_column()
    cost_actual: Mapped[float | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column()
    error_details: Mapped[str | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    connection: Mapped[EHRConnection] = orm.relationship(
        foreign_keys="[SyncHistory.connection_id]", back_populates="sync_history"
    )
