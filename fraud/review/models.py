"""ORM classes over the review tables of `fraud.review.tables` (the schema lives there).

For code that prefers ``Case.status`` to ``cases.c.status``; both name the same columns. The
queue's own modules use the Core tables, so the review commands never import the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped

from fraud.review.tables import (
    CLAIMED,
    CONFIRMED_FRAUD,
    ESCALATED,
    LEGITIMATE,
    NAMING_CONVENTION,
    OPEN,
    RESOLVED,
    STATUSES,
    UTCDateTime,
    case_events,
    cases,
    metadata,
    transactions,
)

__all__ = [
    "CLAIMED",
    "CONFIRMED_FRAUD",
    "ESCALATED",
    "LEGITIMATE",
    "NAMING_CONVENTION",
    "OPEN",
    "RESOLVED",
    "STATUSES",
    "Base",
    "Case",
    "CaseEvent",
    "Transaction",
    "UTCDateTime",
]


class Base(DeclarativeBase):
    metadata = metadata


class Case(Base):
    """One transaction waiting for (or given) a human decision; one row per transaction_id."""

    __table__ = cases

    id: Mapped[int]
    transaction_id: Mapped[str]
    customer_id: Mapped[str]
    amount: Mapped[float]
    currency: Mapped[str | None]
    score: Mapped[float]
    band: Mapped[str]
    reasons: Mapped[list[str]]
    model_version: Mapped[str]
    occurred_at: Mapped[datetime]
    transaction: Mapped[dict[str, Any]]
    status: Mapped[str]
    escalated: Mapped[bool]
    analyst: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]
    resolution: Mapped[str | None]
    decided_by: Mapped[str | None]
    decided_at: Mapped[datetime | None]
    rank_key: Mapped[float]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sla_due_at: Mapped[datetime]
    version: Mapped[int]


class CaseEvent(Base):
    """Append-only audit log: one row per transition or field change of a case."""

    __table__ = case_events

    id: Mapped[int]
    case_id: Mapped[int]
    at: Mapped[datetime]
    actor: Mapped[str]
    kind: Mapped[str]
    from_status: Mapped[str | None]
    to_status: Mapped[str | None]
    note: Mapped[str | None]
    changes: Mapped[dict[str, Any]]


class Transaction(Base):
    """Transaction history (the canonical fraud frame's columns): a customer's recent activity."""

    __table__ = transactions

    transaction_id: Mapped[str]
    timestamp: Mapped[datetime]
    customer_id: Mapped[str]
    amount: Mapped[float | None]
    currency: Mapped[str | None]
    merchant_id: Mapped[str | None]
    mcc: Mapped[str | None]
    terminal_id: Mapped[str | None]
    country: Mapped[str | None]
    channel: Mapped[str | None]
    device_id: Mapped[str | None]
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    extras: Mapped[dict[str, Any] | None]
