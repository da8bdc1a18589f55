"""Typed SQLAlchemy 2.0 tables of the review queue: cases, case_events (audit) and transactions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names are fixed so Alembic migrations name the same objects on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Case statuses. "claimed" always has an analyst and a lease; "escalated" and "open" have none.
OPEN = "open"
CLAIMED = "claimed"
ESCALATED = "escalated"
RESOLVED = "resolved"
STATUSES = (OPEN, CLAIMED, ESCALATED, RESOLVED)

# Decisions: the CLI says fraud/legit, the stored resolution is explicit.
CONFIRMED_FRAUD = "confirmed_fraud"
LEGITIMATE = "legitimate"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type: values are stored as naive UTC text in one fixed format, so
    string comparison in SQL matches time order; reads come back tagged UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Case(Base):
    """One transaction waiting for (or given) a human decision; one row per transaction_id."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list[str]]
    model_version: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    transaction: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    # True once escalated: a released or expired claim then returns the case to "escalated".
    escalated: Mapped[bool] = mapped_column(default=False)
    analyst: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    rank_key: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sla_due_at: Mapped[datetime]
    # Optimistic concurrency: every write bumps it; writers check the value they read.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_cases_status_rank_key", "status", "rank_key"),)


class CaseEvent(Base):
    """Append-only audit log: one row per transition or field change of a case."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    # {field: [old, new]} for rescoring and decisions.
    changes: Mapped[dict[str, Any]]


class Transaction(Base):
    """Transaction history (the canonical fraud frame's columns): a customer's recent activity."""

    __tablename__ = "transactions"

    transaction_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    timestamp: Mapped[datetime]
    customer_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    merchant_id: Mapped[str | None] = mapped_column(String(128))
    mcc: Mapped[str | None] = mapped_column(String(8))
    terminal_id: Mapped[str | None] = mapped_column(String(128))
    country: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str | None] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(128))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    extras: Mapped[dict[str, Any] | None]

    # One range scan per key for single-transaction scoring: the customer's history and the
    # recent rows of its terminal, merchant and device (fraud.entity_history).
    __table_args__ = (
        Index("ix_transactions_customer_id_timestamp", "customer_id", "timestamp"),
        Index("ix_transactions_terminal_id_timestamp", "terminal_id", "timestamp"),
        Index("ix_transactions_merchant_id_timestamp", "merchant_id", "timestamp"),
        Index("ix_transactions_device_id_timestamp", "device_id", "timestamp"),
    )
