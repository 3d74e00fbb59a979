"""Billing: subscriptions, payments and AI token balances.

Generated from the repaired Prisma schema, then reviewed; table, column, index and constraint
names are Prisma's exactly (the catalog test compares them with the reference DDL)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column

from hv_pipelines.schema.base import Base, new_uuid, utcnow
from hv_pipelines.schema.enums import SubscriptionStatus, SubscriptionTier, TokenTransactionType, pg_enum

if TYPE_CHECKING:
    from hv_pipelines.schema.users import User


class PaymentIntent(Base):
    __tablename__ = "payment_intents"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="payment_intents_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="payment_intents_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("payment_intents_user_id_idx", "user_id"),
        sa.Index("payment_intents_status_idx", "status"),
        sa.Index("payment_intents_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    amount: Mapped[float] = mapped_column()
    currency: Mapped[str] = mapped_column(server_default=sa.text("'USD'"))
    status: Mapped[str] = mapped_column()
    payment_method: Mapped[str | None] = mapped_column()
    payment_method_id: Mapped[str | None] = mapped_column()
    tokens_purchased: Mapped[int | None] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[PaymentIntent.user_id]", back_populates="payment_intents"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="subscriptions_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="subscriptions_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("subscriptions_user_id_key", "user_id", unique=True),
        sa.Index("subscriptions_user_id_idx", "user_id"),
        sa.Index("subscriptions_status_idx", "status"),
        sa.Index("subscriptions_next_billing_date_idx", "next_billing_date"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    tier: Mapped[SubscriptionTier] = mapped_column(pg_enum(SubscriptionTier))
    status: Mapped[SubscriptionStatus] = mapped_column(
        pg_enum(SubscriptionStatus), server_default=sa.text("'ACTIVE'")
    )
    monthly_price: Mapped[float] = mapped_column()
    billing_cycle_start: Mapped[datetime] = mapped_column()
    billing_cycle_end: Mapped[datetime] = mapped_column()
    next_billing_date: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    trial_ends_at: Mapped[datetime | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[Subscription.user_id]", back_populates="subscription"
    )
    token_balance: Mapped[TokenBalance | None] = orm.relationship(
        foreign_keys="[TokenBalance.subscription_id]", back_populates="subscription", uselist=False
    )
    subscription_history: Mapped[list[SubscriptionHistory]] = orm.relationship(
        foreign_keys="[SubscriptionHistory.subscription_id]",
        back_populates="subscription",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class SubscriptionHistory(Base):
    __tablename__ = "subscription_history"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="subscription_history_pkey"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="subscription_history_subscription_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("subscription_history_subscription_id_idx", "subscription_id"),
        sa.Index("subscription_history_changed_at_idx", "changed_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    subscription_id: Mapped[str] = mapped_column()
    from_tier: Mapped[SubscriptionTier | None] = mapped_column(pg_enum(SubscriptionTier))
    to_tier: Mapped[SubscriptionTier] = mapped_column(pg_enum(SubscriptionTier))
    from_status: Mapped[SubscriptionStatus | None] = mapped_column(pg_enum(SubscriptionStatus))
    to_status: Mapped[SubscriptionStatus] = mapped_column(pg_enum(SubscriptionStatus))
    reason: Mapped[str | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    subscription: Mapped[Subscription] = orm.relationship(
        foreign_keys="[SubscriptionHistory.subscription_id]", back_populates="subscription_history"
    )


class TokenBalance(Base):
    __tablename__ = "token_balances"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="token_balances_pkey"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="token_balances_user_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="token_balances_subscription_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("token_balances_user_id_key", "user_id", unique=True),
        sa.Index("token_balances_subscription_id_key", "subscription_id", unique=True),
        sa.Index("token_balances_user_id_idx", "user_id"),
        sa.Index("token_balances_subscription_id_idx", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    user_id: Mapped[str] = mapped_column()
    subscription_id: Mapped[str] = mapped_column()
    current_balance: Mapped[int] = mapped_column(server_default=sa.text("0"))
    total_earned: Mapped[int] = mapped_column(server_default=sa.text("0"))
    total_used: Mapped[int] = mapped_column(server_default=sa.text("0"))
    total_purchased: Mapped[int] = mapped_column(server_default=sa.text("0"))
    free_upload_used: Mapped[int] = mapped_column(server_default=sa.text("0"))
    last_refresh_date: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = orm.relationship(
        foreign_keys="[TokenBalance.user_id]", back_populates="token_balance"
    )
    subscription: Mapped[Subscription] = orm.relationship(
        foreign_keys="[TokenBalance.subscription_id]", back_populates="token_balance"
    )
    transactions: Mapped[list[TokenTransaction]] = orm.relationship(
        foreign_keys="[TokenTransaction.token_balance_id]",
        back_populates="token_balance",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TokenTransaction(Base):
    __tablename__ = "token_transactions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", name="token_transactions_pkey"),
        sa.ForeignKeyConstraint(
            ["token_balance_id"],
            ["token_balances.id"],
            name="token_transactions_token_balance_id_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.Index("token_transactions_token_balance_id_idx", "token_balance_id"),
        sa.Index("token_transactions_type_idx", "type"),
        sa.Index("token_transactions_reference_id_idx", "reference_id"),
        sa.Index("token_transactions_created_at_idx", "created_at"),
    )

    id: Mapped[str] = mapped_column(default=new_uuid)
    token_balance_id: Mapped[str] = mapped_column()
    type: Mapped[TokenTransactionType] = mapped_column(pg_enum(TokenTransactionType))
    amount: Mapped[int] = mapped_column()
    balance_before: Mapped[int] = mapped_column()
    balance_after: Mapped[int] = mapped_column()
    description: Mapped[str | None] = mapped_column()
    reference_id: Mapped[str | None] = mapped_column()
    reference_type: Mapped[str | None] = mapped_column()
    metadata_: Mapped[str | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))

    token_balance: Mapped[TokenBalance] = orm.relationship(
        foreign_keys="[TokenTransaction.token_balance_id]", back_populates="transactions"
    )
