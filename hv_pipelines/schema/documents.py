"""Uploaded documents, their extracted content and secure file sharing.

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
from hv_pipelines.schema.enums import FileProcessingStatus, pg_enum

if TYPE_CHECKING:
    from hv_pipelines.schema.customers import Customer
    from hv_pipelines.schema.users import User


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="documents_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="documents_user_id_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="documents_customer_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    customer_id: Mapped[str | None] = mapped_column()
    file_path: Mapped[str] = mapped_column()
    file_name: Mapped[str] = mapped_column()
    file_size: Mapped[int | None] = mapped_column()
    mime_type: Mapped[str | None] = mapped_column()
    document_type: Mapped[str | None] = mapped_column()
    upload_date: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    document_date: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(server_default=sa.text("'pending'"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(foreign_keys="[Document.user_id]", back_populates="documents")
    customer: Mapped[Customer | None] = orm.relationship(
        foreign_keys="[Document.customer_id]", back_populates="documents"
    )
    ocr_results: Mapped[list[OcrResult]] = orm.relationship(
        foreign_keys="[OcrResult.document_id]",
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    extracted_data: Mapped[list[ExtractedData]] = orm.relationship(
        foreign_keys="[ExtractedData.document_id]",
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    source_links: Mapped[list[DocumentLink]] = orm.relationship(
        foreign_keys="[DocumentLink.source_document_id]",
        back_populates="source_document",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    target_links: Mapped[list[DocumentLink]] = orm.relationship(
        foreign_keys="[DocumentLink.target_document_id]",
        back_populates="target_document",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    embeddings: Mapped[list[DocumentEmbedding]] = orm.relationship(
        foreign_keys="[DocumentEmbedding.document_id]",
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DocumentEmbedding(Base):
    __tablename__ = "document_embeddings"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="document_embeddings_pkey"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="document_embeddings_document_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    document_id: Mapped[str] = mapped_column()
    chunk_index: Mapped[int] = mapped_column()
    chunk_text: Mapped[str] = mapped_column()
    embedding: Mapped[list[float] | None] = mapped_column(ARRAY(sa.Double))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    document: Mapped[Document] = orm.relationship(
        foreign_keys="[DocumentEmbedding.document_id]", back_populates="embeddings"
    )


class DocumentLink(Base):
    __tablename__ = "document_links"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="document_links_pkey"),
        sa.ForeignKeyConstraint(
            ["source_document_id"],
            ["documents.id"],
            name="document_links_source_document_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_document_id"],
            ["documents.id"],
            name="document_links_target_document_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index(
            "document_links_source_document_id_target_document_id_key",
            "source_document_id",
            "target_document_id",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    source_document_id: Mapped[str] = mapped_column()
    target_document_id: Mapped[str] = mapped_column()
    relationship_type: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    source_document: Mapped[Document] = orm.relationship(
        foreign_keys="[DocumentLink.source_document_id]", back_populates="source_links"
    )
    target_document: Mapped[Document] = orm.relationship(
        foreign_keys="[DocumentLink.target_document_id]", back_populates="target_links"
    )


class ExtractedData(Base):
    __tablename__ = "extracted_data"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="extracted_data_pkey"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="extracted_data_document_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    document_id: Mapped[str] = mapped_column()
    data_type: Mapped[str] = mapped_column()
    field_name: Mapped[str] = mapped_column()
    field_value: Mapped[str] = mapped_column()
    unit: Mapped[str | None] = mapped_column()
    reference_range: Mapped[str | None] = mapped_column()
    is_abnormal: Mapped[bool | None] = mapped_column()
    extracted_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    document: Mapped[Document] = orm.relationship(
        foreign_keys="[ExtractedData.document_id]", back_populates="extracted_data"
    )


class FileAccessGrant(Base):
    __tablename__ = "file_access_grants"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="file_access_grants_pkey"),
        sa.ForeignKeyConstraint(
            ["fileId"],
            ["secure_files.id"],
            name="file_access_grants_fileId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("file_access_grants_userId_idx", "userId"),
        sa.Index("file_access_grants_fileId_userId_key", "fileId", "userId", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    file_id: Mapped[str] = mapped_column("fileId")
    user_id: Mapped[str] = mapped_column("userId")
    granted_by: Mapped[str] = mapped_column("grantedBy")
    granted_at: Mapped[datetime] = mapped_column("grantedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt")

    file: Mapped[SecureFile] = orm.relationship(
        foreign_keys="[FileAccessGrant.file_id]", back_populates="access_grants"
    )


class FileUpload(Base):
    __tablename__ = "file_uploads"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="file_uploads_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="file_uploads_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("file_uploads_user_id_idx", "user_id"),
        sa.Index("file_uploads_status_idx", "status"),
        sa.Index("file_uploads_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    file_name: Mapped[str] = mapped_column()
    file_path: Mapped[str] = mapped_column()
    file_size: Mapped[int] = mapped_column()
    mime_type: Mapped[str] = mapped_column()
    status: Mapped[FileProcessingStatus] = mapped_column(
        pg_enum(FileProcessingStatus), server_default=sa.text("'PENDING'")
    )
    estimated_tokens: Mapped[int | None] = mapped_column()
    estimated_cost: Mapped[float | None] = mapped_column()
    actual_tokens: Mapped[int | None] = mapped_column()
    actual_cost: Mapped[float | None] = mapped_column()
    processing_started_at: Mapped[datetime | None] = mapped_column()
    processing_completed_at: Mapped[datetime | None] = mapped_column()
    scheduled_months: Mapped[int | None] = mapped_column()
    current_month: Mapped[int | None] = mapped_column()
    error_message: Mapped[str | None] = mapped_column()
    used_free_upload: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(foreign_keys="[FileUpload.user_id]", back_populates="file_uploads")


class OcrResult(Base):
    __tablename__ = "ocr_results"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ocr_results_pkey"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="ocr_results_document_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    document_id: Mapped[str] = mapped_column()
    raw_text: Mapped[str] = mapped_column()
    confidence_score: Mapped[float | None] = mapped_column()
    processed_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    document: Mapped[Document] = orm.relationship(
        foreign_keys="[OcrResult.document_id]", back_populates="ocr_results"
    )


class SecureFile(Base):
    __tablename__ = "secure_files"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="secure_files_pkey"),
        sa.Index("secure_files_customerId_idx", "customerId"),
        sa.Index("secure_files_uploadedBy_idx", "uploadedBy"),
        sa.Index("secure_files_category_idx", "category"),
        sa.Index("secure_files_deleted_idx", "deleted"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    file_name: Mapped[str] = mapped_column("fileName")
    file_type: Mapped[str] = mapped_column("fileType")
    file_size: Mapped[int] = mapped_column("fileSize")
    file_hash: Mapped[str] = mapped_column("fileHash")
    category: Mapped[str] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    encrypted: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    encryption_metadata: Mapped[Any | None] = mapped_column("encryptionMetadata", JSONB)
    storage_path: Mapped[str] = mapped_column("storagePath")
    uploaded_by: Mapped[str] = mapped_column("uploadedBy")
    customer_id: Mapped[str | None] = mapped_column("customerId")
    access_count: Mapped[int] = mapped_column("accessCount", server_default=sa.text("0"))
    last_accessed_at: Mapped[datetime | None] = mapped_column("lastAccessedAt")
    deleted: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    deleted_at: Mapped[datetime | None] = mapped_column("deletedAt")
    deleted_by: Mapped[str | None] = mapped_column("deletedBy")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    access_grants: Mapped[list[FileAccessGrant]] = orm.relationship(
        foreign_keys="[FileAccessGrant.file_id]",
        back_populates="file",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
