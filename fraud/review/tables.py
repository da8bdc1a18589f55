"""The review queue's tables as SQLAlchemy Core: cases, case_events (audit) and transactions.

This is the schema (Alembic compares the migrations against `metadata`). The queue's reads and
writes use these Table objects directly: importing SQLAlchemy's ORM costs ~0.1 s of CPU, which
every `moesuite review ...` call would pay for nothing (bench/cli.py). `fraud.review.models`
maps ORM classes onto the same tables for code that prefers attribute access.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

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


metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _required(name: str, *args, **kwargs) -> Column:  # noqa: ANN002, ANN003
    return Column(name, *args, nullable=False, **kwargs)


def _optional(name: str, *args, **kwargs) -> Column:  # noqa: ANN002, ANN003
    return Column(name, *args, nullable=True, **kwargs)


# One transaction waiting for (or given) a human decision; one row per transaction_id.
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _required("transaction_id", String(128), unique=True),
    _required("customer_id", String(128), index=True),
    _required("amount", Float),
    _optional("currency", String(8)),
    _required("score", Float),
    _required("band", String(32)),
    _required("reasons", JSON),  # list[str]
    _required("model_version", String(128)),
    _required("occurred_at", UTCDateTime()),
    _required("transaction", JSON),  # dict[str, Any]
    _required("status", String(16)),
    # True once escalated: a released or expired claim then returns the case to "escalated".
    _required("escalated", Boolean, default=False),
    _optional("analyst", String(128)),
    _optional("lease_expires_at", UTCDateTime()),
    _optional("resolution", String(32)),
    _optional("decided_by", String(128)),
    _optional("decided_at", UTCDateTime(), index=True),
    _required("rank_key", Float),
    _required("created_at", UTCDateTime()),
    _required("updated_at", UTCDateTime()),
    _required("sla_due_at", UTCDateTime()),
    # Optimistic concurrency: every write bumps it; writers check the value they read.
    _required("version", Integer, default=1),
    Index("ix_cases_status_rank_key", "status", "rank_key"),
)

# Append-only audit log: one row per transition or field change of a case.
case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _required("case_id", Integer, ForeignKey("cases.id"), index=True),
    _required("at", UTCDateTime()),
    _required("actor", String(128)),
    _required("kind", String(32)),
    _optional("from_status", String(16)),
    _optional("to_status", String(16)),
    _optional("note", Text),
    _required("changes", JSON),  # {field: [old, new]} for rescoring and decisions
)

# Transaction history (the canonical fraud frame's columns): a customer's recent activity.
transactions = Table(
    "transactions",
    metadata,
    Column("transaction_id", String(128), primary_key=True),
    _required("timestamp", UTCDateTime()),
    _required("customer_id", String(128)),
    _optional("amount", Float),
    _optional("currency", String(8)),
    _optional("merchant_id", String(128)),
    _optional("mcc", String(8)),
    _optional("terminal_id", String(128)),
    _optional("country", String(8)),
    _optional("channel", String(32)),
    _optional("device_id", String(128)),
    _optional("lat", Float),
    _optional("lon", Float),
    _optional("extras", JSON),  # dict[str, Any]
    # One range scan per key for single-transaction scoring: the customer's history and the
    # recent rows of its terminal, merchant and device (fraud.entity_history; migration 0002).
    Index("ix_transactions_customer_id_timestamp", "customer_id", "timestamp"),
    Index("ix_transactions_terminal_id_timestamp", "terminal_id", "timestamp"),
    Index("ix_transactions_merchant_id_timestamp", "merchant_id", "timestamp"),
    Index("ix_transactions_device_id_timestamp", "device_id", "timestamp"),
)
