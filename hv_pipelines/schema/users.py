"""Users, authentication and role-based access control.

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
from hv_pipelines.schema.enums import PermissionScope, TwoFactorMethod, pg_enum

if TYPE_CHECKING:
    from hv_pipelines.schema.ai import (
        AnalysisCost,
        AnalysisQueue,
        AnalysisSession,
        AnalysisTask,
        ChatbotCost,
        ChatConversation,
        CloudInstance,
        ContextOptimization,
    )
    from hv_pipelines.schema.billing import PaymentIntent, Subscription, TokenBalance
    from hv_pipelines.schema.compliance import (
        AuditLog,
        DataPortabilityRequest,
        DataRectificationRequest,
        LegalAgreement,
        TrainingRecord,
    )
    from hv_pipelines.schema.customers import ConsentGrant, Customer
    from hv_pipelines.schema.documents import Document, FileUpload
    from hv_pipelines.schema.ehr import AthenaHealthSpecificData, EClinicalWorksSpecificData, EHRConnection
    from hv_pipelines.schema.system import ErrorLog, SystemNotification
    from hv_pipelines.schema.terminology import LabResultStandardization


class IdentityChallenge(Base):
    __tablename__ = "identity_challenges"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="identity_challenges_pkey"),
        sa.Index("identity_challenges_repository_id_idx", "repository_id"),
        sa.Index("identity_challenges_expires_at_idx", "expires_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    repository_id: Mapped[str] = mapped_column()
    questions: Mapped[str] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))


class Permission(Base):
    __tablename__ = "permissions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="permissions_pkey"),
        sa.Index("permissions_name_key", "name", unique=True),
        sa.Index("permissions_resource_action_scope_key", "resource", "action", "scope", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    name: Mapped[str] = mapped_column()
    display_name: Mapped[str] = mapped_column("displayName")
    description: Mapped[str | None] = mapped_column()
    resource: Mapped[str] = mapped_column()
    action: Mapped[str] = mapped_column()
    scope: Mapped[PermissionScope] = mapped_column(pg_enum(PermissionScope), server_default=sa.text("'OWN'"))
    conditions: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    role_permissions: Mapped[list[RolePermission]] = orm.relationship(
        foreign_keys="[RolePermission.permission_id]",
        back_populates="permission",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class RBACAccessLog(Base):
    __tablename__ = "rbac_access_logs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="rbac_access_logs_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="rbac_access_logs_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("rbac_access_logs_user_id_idx", "user_id"),
        sa.Index("rbac_access_logs_timestamp_idx", "timestamp"),
        sa.Index("rbac_access_logs_allowed_idx", "allowed"),
        sa.Index("rbac_access_logs_resource_type_idx", "resource_type"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    action: Mapped[str] = mapped_column()
    resource_type: Mapped[str] = mapped_column()
    resource_id: Mapped[str | None] = mapped_column()
    allowed: Mapped[bool] = mapped_column()
    reason: Mapped[str | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column()
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(
        foreign_keys="[RBACAccessLog.user_id]", back_populates="rbac_access_logs"
    )


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="roles_pkey"),
        sa.Index("roles_name_key", "name", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    name: Mapped[str] = mapped_column()
    display_name: Mapped[str] = mapped_column("displayName")
    description: Mapped[str | None] = mapped_column()
    is_system: Mapped[bool] = mapped_column("isSystem", server_default=sa.text("false"))
    is_active: Mapped[bool] = mapped_column("isActive", server_default=sa.text("true"))
    priority: Mapped[int] = mapped_column(server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
    created_by: Mapped[str | None] = mapped_column("createdBy")

    permissions: Mapped[list[RolePermission]] = orm.relationship(
        foreign_keys="[RolePermission.role_id]",
        back_populates="role",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    user_roles: Mapped[list[UserRole]] = orm.relationship(
        foreign_keys="[UserRole.role_id]",
        back_populates="role",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class RolePermission(Base):
    __tablename__ = "role_permissions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="role_permissions_pkey"),
        sa.ForeignKeyConstraint(
            ["roleId"],
            ["roles.id"],
            name="role_permissions_roleId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["permissionId"],
            ["permissions.id"],
            name="role_permissions_permissionId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("role_permissions_roleId_permissionId_key", "roleId", "permissionId", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    role_id: Mapped[str] = mapped_column("roleId")
    permission_id: Mapped[str] = mapped_column("permissionId")
    constraints: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))

    role: Mapped[Role] = orm.relationship(
        foreign_keys="[RolePermission.role_id]", back_populates="permissions"
    )
    permission: Mapped[Permission] = orm.relationship(
        foreign_keys="[RolePermission.permission_id]", back_populates="role_permissions"
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.Index("users_email_key", "email", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    email: Mapped[str] = mapped_column()
    password_hash: Mapped[str] = mapped_column()
    role: Mapped[str] = mapped_column(server_default=sa.text("'CUSTOMER'"))
    mfa_enabled: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    mfa_secret: Mapped[str | None] = mapped_column()
    mfa_backup_codes: Mapped[str | None] = mapped_column()
    failed_login_attempts: Mapped[int] = mapped_column(server_default=sa.text("0"))
    last_failed_login: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customers: Mapped[list[Customer]] = orm.relationship(
        foreign_keys="[Customer.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    documents: Mapped[list[Document]] = orm.relationship(
        foreign_keys="[Document.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    analysis_sessions: Mapped[list[AnalysisSession]] = orm.relationship(
        foreign_keys="[AnalysisSession.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    sessions: Mapped[list[UserSession]] = orm.relationship(
        foreign_keys="[UserSession.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    consent_requests_as_patient: Mapped[list[ConsentGrant]] = orm.relationship(
        foreign_keys="[ConsentGrant.customer_id]",
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    consent_requests_as_specialist: Mapped[list[ConsentGrant]] = orm.relationship(
        foreign_keys="[ConsentGrant.specialist_id]",
        back_populates="specialist",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    audit_logs: Mapped[list[AuditLog]] = orm.relationship(
        foreign_keys="[AuditLog.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    rbac_access_logs: Mapped[list[RBACAccessLog]] = orm.relationship(
        foreign_keys="[RBACAccessLog.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    error_logs: Mapped[list[ErrorLog]] = orm.relationship(
        foreign_keys="[ErrorLog.user_id]", back_populates="user"
    )
    system_notifications: Mapped[list[SystemNotification]] = orm.relationship(
        foreign_keys="[SystemNotification.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    chat_conversations: Mapped[list[ChatConversation]] = orm.relationship(
        foreign_keys="[ChatConversation.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    analysis_queue: Mapped[list[AnalysisQueue]] = orm.relationship(
        foreign_keys="[AnalysisQueue.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    chatbot_costs: Mapped[list[ChatbotCost]] = orm.relationship(
        foreign_keys="[ChatbotCost.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    analysis_costs: Mapped[list[AnalysisCost]] = orm.relationship(
        foreign_keys="[AnalysisCost.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    context_optimizations: Mapped[list[ContextOptimization]] = orm.relationship(
        foreign_keys="[ContextOptimization.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    analysis_tasks: Mapped[list[AnalysisTask]] = orm.relationship(
        foreign_keys="[AnalysisTask.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    cloud_instances: Mapped[list[CloudInstance]] = orm.relationship(
        foreign_keys="[CloudInstance.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    subscription: Mapped[Subscription | None] = orm.relationship(
        foreign_keys="[Subscription.user_id]", back_populates="user", uselist=False
    )
    token_balance: Mapped[TokenBalance | None] = orm.relationship(
        foreign_keys="[TokenBalance.user_id]", back_populates="user", uselist=False
    )
    file_uploads: Mapped[list[FileUpload]] = orm.relationship(
        foreign_keys="[FileUpload.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    payment_intents: Mapped[list[PaymentIntent]] = orm.relationship(
        foreign_keys="[PaymentIntent.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    ehr_connections: Mapped[list[EHRConnection]] = orm.relationship(
        foreign_keys="[EHRConnection.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    athena_health_specific_datas: Mapped[list[AthenaHealthSpecificData]] = orm.relationship(
        foreign_keys="[AthenaHealthSpecificData.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    data_portability_requests: Mapped[list[DataPortabilityRequest]] = orm.relationship(
        foreign_keys="[DataPortabilityRequest.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    data_rectification_requests: Mapped[list[DataRectificationRequest]] = orm.relationship(
        foreign_keys="[DataRectificationRequest.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    eclinical_works_specific_datas: Mapped[list[EClinicalWorksSpecificData]] = orm.relationship(
        foreign_keys="[EClinicalWorksSpecificData.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    lab_result_standardizations: Mapped[list[LabResultStandardization]] = orm.relationship(
        foreign_keys="[LabResultStandardization.customer_id]",
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    legal_agreements: Mapped[list[LegalAgreement]] = orm.relationship(
        foreign_keys="[LegalAgreement.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    training_records: Mapped[list[TrainingRecord]] = orm.relationship(
        foreign_keys="[TrainingRecord.user_id]",
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class User2FA(Base):
    __tablename__ = "user_2fa"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="user_2fa_pkey"),
        sa.Index("user_2fa_userId_method_key", "userId", "method", unique=True),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    method: Mapped[TwoFactorMethod] = mapped_column(pg_enum(TwoFactorMethod))
    secret: Mapped[str | None] = mapped_column()
    phone_number: Mapped[str | None] = mapped_column("phoneNumber")
    sms_code: Mapped[str | None] = mapped_column("smsCode")
    sms_code_expires_at: Mapped[datetime | None] = mapped_column("smsCodeExpiresAt")
    backup_codes: Mapped[str | None] = mapped_column("backupCodes")
    enabled: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="user_roles_pkey"),
        sa.ForeignKeyConstraint(
            ["roleId"], ["roles.id"], name="user_roles_roleId_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.Index("user_roles_userId_idx", "userId"),
        sa.Index("user_roles_roleId_idx", "roleId"),
        sa.Index(
            "user_roles_userId_roleId_scopeType_scopeId_key",
            "userId",
            "roleId",
            "scopeType",
            "scopeId",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    role_id: Mapped[str] = mapped_column("roleId")
    assigned_at: Mapped[datetime] = mapped_column("assignedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    assigned_by: Mapped[str | None] = mapped_column("assignedBy")
    expires_at: Mapped[datetime | None] = mapped_column("expiresAt")
    scope_type: Mapped[str | None] = mapped_column("scopeType")
    scope_id: Mapped[str | None] = mapped_column("scopeId")
    active: Mapped[bool] = mapped_column(server_default=sa.text("true"))

    role: Mapped[Role] = orm.relationship(foreign_keys="[UserRole.role_id]", back_populates="user_roles")


class UserSession(Base):
    __tablename__ = "user_sessions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="user_sessions_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="user_sessions_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("user_sessions_user_id_idx", "user_id"),
        sa.Index("user_sessions_expires_at_idx", "expires_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(foreign_keys="[UserSession.user_id]", back_populates="sessions")
