"""Read side of the queue: case views with live priority and SLA state, listings and audit trails.

Reads never write: a claim whose lease ran out is *shown* as open (or escalated) and is returned
to the queue for real by the next claim or action on it (see `fraud.review.queue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, Row, and_, false, or_, select

from fraud.review.audit import utc_now
from fraud.review.config import ReviewConfig
from fraud.review.errors import CaseNotFound, ReviewError
from fraud.review.priority import priority_at, sla_state
from fraud.review.tables import (
    CLAIMED,
    ESCALATED,
    OPEN,
    RESOLVED,
    STATUSES,
    cases,
)
from fraud.review.tables import case_events as events_table

if TYPE_CHECKING:
    import pandas as pd

# Listing filters beyond the stored statuses: "active" = not resolved.
LIST_FILTERS = (*STATUSES, "active", "all")


@dataclass(frozen=True)
class CaseView:
    """A case as an analyst sees it at ``as_of``."""

    id: int
    transaction_id: str
    customer_id: str
    amount: float
    currency: str | None
    score: float
    band: str
    reasons: tuple[str, ...]
    model_version: str
    occurred_at: datetime
    transaction: dict[str, Any]
    status: str
    escalated: bool
    analyst: str | None
    lease_expires_at: datetime | None
    resolution: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    sla_due_at: datetime
    version: int
    priority: float
    sla: str
    as_of: datetime


@dataclass(frozen=True)
class CaseEventView:
    """One audit-log entry."""

    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    changes: dict[str, Any]


@dataclass(frozen=True)
class CaseDetail:
    """Everything `review show` prints: the case, its audit trail and the customer's history."""

    case: CaseView
    events: list[CaseEventView]
    history: pd.DataFrame


def case_view(row: Row, now: datetime, config: ReviewConfig) -> CaseView:
    """Build a `CaseView` from a ``cases`` row, with lapsed claims shown as back in the queue."""
    status, analyst, lease = row.status, row.analyst, row.lease_expires_at
    if status == CLAIMED and lease is not None and lease <= now:
        status, analyst, lease = (ESCALATED if row.escalated else OPEN), None, None
    if status == RESOLVED:
        sla = "breached" if row.decided_at > row.sla_due_at else "met"
    else:
        sla = sla_state(row.created_at, row.sla_due_at, now, config.at_risk_fraction)
    return CaseView(
        id=row.id,
        transaction_id=row.transaction_id,
        customer_id=row.customer_id,
        amount=row.amount,
        currency=row.currency,
        score=row.score,
        band=row.band,
        reasons=tuple(row.reasons),
        model_version=row.model_version,
        occurred_at=row.occurred_at,
        transaction=dict(row.transaction),
        status=status,
        escalated=row.escalated,
        analyst=analyst,
        lease_expires_at=lease,
        resolution=row.resolution,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        sla_due_at=row.sla_due_at,
        version=row.version,
        priority=priority_at(row.rank_key, now, config.age_tau_hours),
        sla=sla,
        as_of=now,
    )


def effective_status_clause(status: str, now: datetime) -> ColumnElement[bool]:
    """SQL condition for cases whose status, as shown at ``now``, is ``status``."""
    lapsed = and_(cases.c.status == CLAIMED, cases.c.lease_expires_at <= now)
    if status == OPEN:
        return or_(cases.c.status == OPEN, and_(lapsed, cases.c.escalated == false()))
    if status == ESCALATED:
        return or_(cases.c.status == ESCALATED, and_(lapsed, cases.c.escalated))
    if status == CLAIMED:
        return and_(cases.c.status == CLAIMED, cases.c.lease_expires_at > now)
    if status == RESOLVED:
        return cases.c.status == RESOLVED
    if status == "active":
        return cases.c.status != RESOLVED
    raise ReviewError(f"unknown status filter {status!r}; use one of {', '.join(LIST_FILTERS)}")


def list_cases(
    engine: Engine,
    *,
    status: str = "active",
    min_score: float | None = None,
    analyst: str | None = None,
    limit: int = 50,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> list[CaseView]:
    """Cases matching the filters: pending ones by priority, resolved ones newest first.

    Args:
        status: A status, ``"active"`` (not resolved, the default) or ``"all"``.
        min_score: Keep cases scored at least this.
        analyst: Keep cases this analyst holds or decided.
        limit: At most this many rows.
    """
    config = config or ReviewConfig()
    now = utc_now(now)
    if limit < 1:
        raise ReviewError(f"limit must be >= 1, got {limit}")
    stmt = select(cases)
    if status != "all":
        stmt = stmt.where(effective_status_clause(status, now))
    if min_score is not None:
        stmt = stmt.where(cases.c.score >= min_score)
    if analyst is not None:
        stmt = stmt.where(
            or_(
                and_(cases.c.analyst == analyst, cases.c.lease_expires_at > now),
                cases.c.decided_by == analyst,
            )
        )
    if status == RESOLVED:
        stmt = stmt.order_by(cases.c.decided_at.desc(), cases.c.id.desc())
    else:
        stmt = stmt.order_by((cases.c.status == RESOLVED), cases.c.rank_key.desc(), cases.c.id)
    with engine.connect() as conn:
        return [case_view(row, now, config) for row in conn.execute(stmt.limit(limit))]


def get_case(
    engine: Engine,
    case_id: int,
    *,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> CaseView:
    """One case as shown at ``now``.

    Raises:
        CaseNotFound: No case has this id.
    """
    config = config or ReviewConfig()
    now = utc_now(now)
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise CaseNotFound(case_id)
    return case_view(row, now, config)


def case_events(engine: Engine, case_id: int) -> list[CaseEventView]:
    """The audit trail of a case, oldest first."""
    stmt = select(events_table).where(events_table.c.case_id == case_id).order_by(events_table.c.id)
    with engine.connect() as conn:
        return [
            CaseEventView(
                at=row.at,
                actor=row.actor,
                kind=row.kind,
                from_status=row.from_status,
                to_status=row.to_status,
                note=row.note,
                changes=dict(row.changes),
            )
            for row in conn.execute(stmt)
        ]


def describe_case(
    engine: Engine,
    case_id: int,
    *,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> CaseDetail:
    """The case, its audit trail and the customer's transactions before the flagged one."""
    # pandas only here: list/next/decide/stats never need it, and it costs ~0.3 s to import.
    from fraud.review.history import customer_history

    config = config or ReviewConfig()
    case = get_case(engine, case_id, config=config, now=now)
    history = customer_history(
        engine, case.customer_id, before=case.occurred_at, limit=config.history_limit
    )
    return CaseDetail(case=case, events=case_events(engine, case_id), history=history)
