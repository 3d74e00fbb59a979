"""System operations: errors, notifications, health and service configuration.

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

if TYPE_CHECKING:
    from hv_pipelines.schema.users import User


class ErrorLog(Base):
    __tablename__ = "error_logs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="error_logs_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="error_logs_userId_fkey", ondelete="SET NULL", onupdate="CASCADE"
        ),
        sa.Index("error_logs_userId_idx", "userId"),
        sa.Index("error_logs_timestamp_idx", "timestamp"),
        sa.Index("error_logs_severity_idx", "severity"),
        sa.Index("error_logs_code_idx", "code"),
        sa.Index("error_logs_endpoint_idx", "endpoint"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    severity: Mapped[str] = mapped_column()
    message: Mapped[str] = mapped_column()
    code: Mapped[str | None] = mapped_column()
    status_code: Mapped[int | None] = mapped_column("statusCode")
    stack: Mapped[str | None] = mapped_column()
    details: Mapped[str | None] = mapped_column()
    user_id: Mapped[str | None] = mapped_column("userId")
    request_id: Mapped[str | None] = mapped_column("requestId")
    endpoint: Mapped[str | None] = mapped_column()
    method: Mapped[str | None] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column("userAgent")
    ip_address: Mapped[str | None] = mapped_column("ipAddress")
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User | None] = orm.relationship(
        foreign_keys="[ErrorLog.user_id]", back_populates="error_logs"
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="notifications_pkey"),
        sa.Index("notifications_customer_id_idx", "customer_id"),
        sa.Index("notifications_read_idx", "read"),
        sa.Index("notifications_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    customer_id: Mapped[str] = mapped_column()
    type: Mapped[str] = mapped_column()
    message: Mapped[str] = mapped_column()
    requires_action: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    read: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    read_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))


class SystemHealth(Base):
    __tablename__ = "system_health"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="system_health_pkey"),
        sa.Index("system_health_component_idx", "component"),
        sa.Index("system_health_timestamp_idx", "timestamp"),
        sa.Index("system_health_status_idx", "status"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    component: Mapped[str] = mapped_column()
    status: Mapped[str] = mapped_column()
    response_time: Mapped[float | None] = mapped_column("responseTime")
    error_rate: Mapped[float | None] = mapped_column("errorRate")
    throughput: Mapped[float | None] = mapped_column()
    cpu_usage: Mapped[float | None] = mapped_column("cpuUsage")
    memory_usage: Mapped[float | None] = mapped_column("memoryUsage")
    disk_usage: Mapped[float | None] = mapped_column("diskUsage")
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    message: Mapped[str | None] = mapped_column()
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)


class SystemNotification(Base):
    __tablename__ = "system_notifications"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="system_notifications_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="system_notifications_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("system_notifications_user_id_idx", "user_id"),
        sa.Index("system_notifications_created_at_idx", "created_at"),
        sa.Index("system_notifications_read_idx", "read"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    type: Mapped[str] = mapped_column()
    title: Mapped[str] = mapped_column()
    message: Mapped[str] = mapped_column()
    severity: Mapped[str] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    read: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    user_id: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User | None] = orm.relationship(
        foreign_keys="[SystemNotification.user_id]", back_populates="system_notifications"
    )


class ServiceConfiguration(Base):
    __tablename__ = "service_configurations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="service_configurations_pkey"),
        sa.Index("service_configurations_service_name_key", "service_name", unique=True),
        sa.Index("service_configurations_service_name_idx", "service_name"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    service_name: Mapped[str] = mapped_column()
    enabled: Mapped[bool] = mapped_column(server_default=sa.text("false"))
    configuration: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column()


class GitHubConfiguration(Base):
    __tablename__ = "github_configurations"
    __table_args__ = (sa.PrimaryKeyConstraint("id", name="github_configurations_pkey"),)

    id: Mapped[str] = mapped_column(default=new_uuid)
    personal_access_token: Mapped[str] = mapped_column()
    token_name: Mapped[str | None] = mapped_column()
    scopes: Mapped[str | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    is_active: Mapped[bool] = mapped_column(server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column()
