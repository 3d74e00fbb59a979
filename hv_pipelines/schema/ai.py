"""AI analysis: sessions, queues, chat, prompt optimisation, models and the cloud instances behind them.

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

if TYPE_CHECKING:
    from hv_pipelines.schema.customers import Customer
    from hv_pipelines.schema.users import User


class AiInteraction(Base):
    __tablename__ = "ai_interactions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ai_interactions_pkey"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["analysis_sessions.id"],
            name="ai_interactions_session_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    session_id: Mapped[str] = mapped_column()
    query: Mapped[str] = mapped_column()
    response: Mapped[str | None] = mapped_column()
    context_documents: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    session: Mapped[AnalysisSession] = orm.relationship(
        foreign_keys="[AiInteraction.session_id]", back_populates="interactions"
    )


class AnalysisCost(Base):
    __tablename__ = "analysis_costs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="analysis_costs_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="analysis_costs_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("analysis_costs_userId_idx", "userId"),
        sa.Index("analysis_costs_timestamp_idx", "timestamp"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    task_id: Mapped[str] = mapped_column("taskId")
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    input_tokens: Mapped[int] = mapped_column("inputTokens")
    output_tokens: Mapped[int] = mapped_column("outputTokens")
    total_tokens: Mapped[int] = mapped_column("totalTokens")
    model_cost: Mapped[float] = mapped_column("modelCost")
    infrastructure_cost: Mapped[float] = mapped_column("infrastructureCost")
    total_cost: Mapped[float] = mapped_column("totalCost")
    model: Mapped[str] = mapped_column()
    instance_type: Mapped[str | None] = mapped_column("instanceType")
    duration: Mapped[float] = mapped_column()

    user: Mapped[User] = orm.relationship(
        foreign_keys="[AnalysisCost.user_id]", back_populates="analysis_costs"
    )


class AnalysisQueue(Base):
    __tablename__ = "analysis_queue"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="analysis_queue_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="analysis_queue_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instanceId"],
            ["cloud_instances.id"],
            name="analysis_queue_instanceId_fkey",
            ondelete="SET NULL",
            onupdate="CASCADE",
        ),
        sa.Index("analysis_queue_userId_idx", "userId"),
        sa.Index("analysis_queue_status_idx", "status"),
        sa.Index("analysis_queue_priority_createdAt_idx", "priority", "createdAt"),
        sa.Index("analysis_queue_createdAt_idx", "createdAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    type: Mapped[str] = mapped_column()
    priority: Mapped[int] = mapped_column(server_default=sa.text("3"))
    prompt: Mapped[str] = mapped_column()
    documents: Mapped[Any] = mapped_column(JSONB)
    total_tokens: Mapped[int] = mapped_column("totalTokens")
    context_window: Mapped[int] = mapped_column("contextWindow")
    needs_splitting: Mapped[bool] = mapped_column("needsSplitting", server_default=sa.text("false"))
    split_strategy: Mapped[str | None] = mapped_column("splitStrategy")
    estimated_cost: Mapped[float] = mapped_column("estimatedCost")
    recommended_model: Mapped[str] = mapped_column("recommendedModel")
    status: Mapped[str] = mapped_column(server_default=sa.text("'queued'"))
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    started_at: Mapped[datetime | None] = mapped_column("startedAt")
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    result: Mapped[Any | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column()
    instance_id: Mapped[str | None] = mapped_column("instanceId")
    actual_cost: Mapped[float | None] = mapped_column("actualCost")

    user: Mapped[User] = orm.relationship(
        foreign_keys="[AnalysisQueue.user_id]", back_populates="analysis_queue"
    )
    instance: Mapped[CloudInstance | None] = orm.relationship(
        foreign_keys="[AnalysisQueue.instance_id]", back_populates="tasks"
    )


class AnalysisSession(Base):
    __tablename__ = "analysis_sessions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="analysis_sessions_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="analysis_sessions_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="analysis_sessions_customer_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    customer_id: Mapped[str | None] = mapped_column()
    session_type: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(
        foreign_keys="[AnalysisSession.user_id]", back_populates="analysis_sessions"
    )
    customer: Mapped[Customer | None] = orm.relationship(
        foreign_keys="[AnalysisSession.customer_id]", back_populates="analysis_sessions"
    )
    interactions: Mapped[list[AiInteraction]] = orm.relationship(
        foreign_keys="[AiInteraction.session_id]",
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class AnalysisTask(Base):
    __tablename__ = "AnalysisTask"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="AnalysisTask_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="AnalysisTask_userId_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.Index("AnalysisTask_userId_idx", "userId"),
        sa.Index("AnalysisTask_status_idx", "status"),
        sa.Index("AnalysisTask_priority_idx", "priority"),
        sa.Index("AnalysisTask_type_idx", "type"),
        sa.Index("AnalysisTask_createdAt_idx", "createdAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    type: Mapped[str] = mapped_column()
    priority: Mapped[str] = mapped_column()
    status: Mapped[str] = mapped_column()
    progress: Mapped[int] = mapped_column(server_default=sa.text("0"))
    data: Mapped[str] = mapped_column()
    result: Mapped[str | None] = mapped_column()
    error: Mapped[str | None] = mapped_column()
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=sa.text("0"))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=sa.text("2"))
    estimated_completion_time: Mapped[datetime | None] = mapped_column("estimatedCompletionTime")
    started_at: Mapped[datetime | None] = mapped_column("startedAt")
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)
    metadata_: Mapped[str | None] = mapped_column("metadata")

    user: Mapped[User] = orm.relationship(
        foreign_keys="[AnalysisTask.user_id]", back_populates="analysis_tasks"
    )
    cloud_instances: Mapped[list[CloudInstance]] = orm.relationship(
        foreign_keys="[CloudInstance.task_id]", back_populates="task"
    )


class ChatConversation(Base):
    __tablename__ = "chat_conversations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="chat_conversations_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="chat_conversations_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("chat_conversations_userId_idx", "userId"),
        sa.Index("chat_conversations_lastMessageAt_idx", "lastMessageAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    title: Mapped[str | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column("startedAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    last_message_at: Mapped[datetime] = mapped_column(
        "lastMessageAt", server_default=sa.text("CURRENT_TIMESTAMP")
    )

    user: Mapped[User] = orm.relationship(
        foreign_keys="[ChatConversation.user_id]", back_populates="chat_conversations"
    )
    messages: Mapped[list[ChatMessage]] = orm.relationship(
        foreign_keys="[ChatMessage.conversation_id]",
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="chat_messages_pkey"),
        sa.ForeignKeyConstraint(
            ["conversationId"],
            ["chat_conversations.id"],
            name="chat_messages_conversationId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("chat_messages_conversationId_idx", "conversationId"),
        sa.Index("chat_messages_timestamp_idx", "timestamp"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    conversation_id: Mapped[str] = mapped_column("conversationId")
    role: Mapped[str] = mapped_column()
    content: Mapped[str] = mapped_column()
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    type: Mapped[str] = mapped_column(server_default=sa.text("'quick'"))
    confidence: Mapped[float | None] = mapped_column()
    needs_escalation: Mapped[bool] = mapped_column("needsEscalation", server_default=sa.text("false"))
    escalation_reason: Mapped[str | None] = mapped_column("escalationReason")
    escalated_to_task_id: Mapped[str | None] = mapped_column("escalatedToTaskId")
    document_id: Mapped[str | None] = mapped_column("documentId")
    analysis_id: Mapped[str | None] = mapped_column("analysisId")
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)

    conversation: Mapped[ChatConversation] = orm.relationship(
        foreign_keys="[ChatMessage.conversation_id]", back_populates="messages"
    )


class ChatbotCost(Base):
    __tablename__ = "chatbot_costs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="chatbot_costs_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name="chatbot_costs_userId_fkey", ondelete="CASCADE", onupdate="CASCADE"
        ),
        sa.Index("chatbot_costs_userId_idx", "userId"),
        sa.Index("chatbot_costs_timestamp_idx", "timestamp"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    message_id: Mapped[str] = mapped_column("messageId")
    timestamp: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    input_tokens: Mapped[int] = mapped_column("inputTokens")
    output_tokens: Mapped[int] = mapped_column("outputTokens")
    total_tokens: Mapped[int] = mapped_column("totalTokens")
    cost: Mapped[float] = mapped_column()
    model: Mapped[str] = mapped_column(server_default=sa.text("'gpt-3.5-turbo'"))

    user: Mapped[User] = orm.relationship(
        foreign_keys="[ChatbotCost.user_id]", back_populates="chatbot_costs"
    )


class CloudInstance(Base):
    __tablename__ = "cloud_instances"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="cloud_instances_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="cloud_instances_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taskId"],
            ["AnalysisTask.id"],
            name="cloud_instances_taskId_fkey",
            ondelete="SET NULL",
            onupdate="CASCADE",
        ),
        sa.Index("cloud_instances_userId_idx", "userId"),
        sa.Index("cloud_instances_taskId_idx", "taskId"),
        sa.Index("cloud_instances_status_idx", "status"),
        sa.Index("cloud_instances_provider_idx", "provider"),
        sa.Index("cloud_instances_createdAt_idx", "createdAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    task_id: Mapped[str | None] = mapped_column("taskId")
    provider: Mapped[str] = mapped_column()
    instance_type: Mapped[str] = mapped_column("instanceType")
    region: Mapped[str] = mapped_column()
    cloud_instance_id: Mapped[str | None] = mapped_column("cloudInstanceId")
    public_ip: Mapped[str | None] = mapped_column("publicIp")
    private_ip: Mapped[str | None] = mapped_column("privateIp")
    status: Mapped[str] = mapped_column()
    disk_size_gb: Mapped[int] = mapped_column("diskSizeGB", server_default=sa.text("100"))
    auto_terminate_minutes: Mapped[int] = mapped_column("autoTerminateMinutes", server_default=sa.text("60"))
    cost_per_hour: Mapped[float] = mapped_column("costPerHour")
    total_cost: Mapped[float] = mapped_column("totalCost", server_default=sa.text("0"))
    purpose: Mapped[str | None] = mapped_column()
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    terminated_at: Mapped[datetime | None] = mapped_column("terminatedAt")
    updated_at: Mapped[datetime] = mapped_column("updatedAt", default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[CloudInstance.user_id]", back_populates="cloud_instances"
    )
    task: Mapped[AnalysisTask | None] = orm.relationship(
        foreign_keys="[CloudInstance.task_id]", back_populates="cloud_instances"
    )
    tasks: Mapped[list[AnalysisQueue]] = orm.relationship(
        foreign_keys="[AnalysisQueue.instance_id]", back_populates="instance"
    )


class ContextOptimization(Base):
    __tablename__ = "ContextOptimization"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="ContextOptimization_pkey"),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name="ContextOptimization_userId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("ContextOptimization_userId_idx", "userId"),
        sa.Index("ContextOptimization_createdAt_idx", "createdAt"),
        sa.Index("ContextOptimization_strategy_idx", "strategy"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    user_id: Mapped[str] = mapped_column("userId")
    original_tokens: Mapped[int] = mapped_column("originalTokens")
    optimized_tokens: Mapped[int] = mapped_column("optimizedTokens")
    reduction_percentage: Mapped[float] = mapped_column("reductionPercentage")
    strategy: Mapped[str] = mapped_column()
    compression_ratio: Mapped[float] = mapped_column("compressionRatio")
    relevance_score: Mapped[float] = mapped_column("relevanceScore")
    information_density: Mapped[float] = mapped_column("informationDensity")
    processing_time_ms: Mapped[int] = mapped_column("processingTimeMs")
    quality_score: Mapped[float] = mapped_column("qualityScore")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))

    user: Mapped[User] = orm.relationship(
        foreign_keys="[ContextOptimization.user_id]", back_populates="context_optimizations"
    )


class InstanceCost(Base):
    __tablename__ = "instance_costs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="instance_costs_pkey"),
        sa.Index("instance_costs_createdAt_idx", "createdAt"),
        sa.Index("instance_costs_provider_idx", "provider"),
        sa.Index("instance_costs_model_idx", "model"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    instance_id: Mapped[str] = mapped_column("instanceId")
    provider: Mapped[str] = mapped_column()
    instance_type: Mapped[str] = mapped_column("instanceType")
    model: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column("createdAt")
    terminated_at: Mapped[datetime] = mapped_column("terminatedAt")
    duration: Mapped[float] = mapped_column()
    cost_per_minute: Mapped[float] = mapped_column("costPerMinute")
    total_cost: Mapped[float] = mapped_column("totalCost")
    tasks_completed: Mapped[int] = mapped_column("tasksCompleted", server_default=sa.text("0"))
    tokens_processed: Mapped[int] = mapped_column("tokensProcessed", server_default=sa.text("0"))
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)


class ModelPerformance(Base):
    __tablename__ = "model_performance"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="model_performance_pkey"),
        sa.Index("model_performance_model_idx", "model"),
        sa.Index("model_performance_periodStart_idx", "periodStart"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    model: Mapped[str] = mapped_column()
    provider: Mapped[str] = mapped_column()
    avg_response_time: Mapped[float] = mapped_column("avgResponseTime")
    avg_tokens_per_second: Mapped[float] = mapped_column("avgTokensPerSecond")
    success_rate: Mapped[float] = mapped_column("successRate")
    error_rate: Mapped[float] = mapped_column("errorRate")
    avg_cost_per_request: Mapped[float] = mapped_column("avgCostPerRequest")
    avg_cost_per_token: Mapped[float] = mapped_column("avgCostPerToken")
    total_requests: Mapped[int] = mapped_column("totalRequests")
    total_tokens: Mapped[int] = mapped_column("totalTokens")
    total_cost: Mapped[float] = mapped_column("totalCost")
    period_start: Mapped[datetime] = mapped_column("periodStart")
    period_end: Mapped[datetime] = mapped_column("periodEnd")
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)


class PromptOptimization(Base):
    __tablename__ = "prompt_optimizations"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="prompt_optimizations_pkey"),
        sa.Index("prompt_optimizations_createdAt_idx", "createdAt"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    original_prompt: Mapped[str] = mapped_column("originalPrompt")
    original_tokens: Mapped[int] = mapped_column("originalTokens")
    optimized_prompt: Mapped[str] = mapped_column("optimizedPrompt")
    optimized_tokens: Mapped[int] = mapped_column("optimizedTokens")
    strategy: Mapped[str] = mapped_column()
    token_reduction: Mapped[int] = mapped_column("tokenReduction")
    reduction_percent: Mapped[float] = mapped_column("reductionPercent")
    execution_time: Mapped[float | None] = mapped_column("executionTime")
    success_rate: Mapped[float | None] = mapped_column("successRate")
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    metadata_: Mapped[Any | None] = mapped_column("metadata", JSONB)


class PromptSplit(Base):
    __tablename__ = "prompt_splits"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="prompt_splits_pkey"),
        sa.Index("prompt_splits_taskId_idx", "taskId"),
        sa.Index("prompt_splits_order_idx", "order"),
    )

    id: Mapped[str] = mapped_column(default=new_cuid)
    task_id: Mapped[str] = mapped_column("taskId")
    split_id: Mapped[str] = mapped_column("splitId")
    content: Mapped[str] = mapped_column()
    tokens: Mapped[int] = mapped_column()
    order: Mapped[int] = mapped_column()
    dependencies: Mapped[Any] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(server_default=sa.text("'pending'"))
    result: Mapped[Any | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column("createdAt", server_default=sa.text("CURRENT_TIMESTAMP"))
    completed_at: Mapped[datetime | None] = mapped_column("completedAt")
