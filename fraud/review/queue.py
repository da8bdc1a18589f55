"""Queue operations: upsert scored cases, claim, decide, release, escalate, export labels.

Every write runs in `write_transaction` (``BEGIN IMMEDIATE`` on SQLite) and every state change
appends a `CaseEvent`. Claims lock with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; the
claiming ``UPDATE`` is also conditional on the version read, so even without row locks (SQLite,
where ``BEGIN IMMEDIATE`` already serializes writers) two analysts never hold one case.

Leases expire lazily: a claim or an action on a case whose lease ran out first returns it to the
queue (event ``lease_expired``). Pass ``now`` to inject a clock; it defaults to the current UTC
time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, or_, select, update

from fraud.review.audit import SYSTEM_ACTOR, add_event, utc_now
from fraud.review.config import ReviewConfig
from fraud.review.db import write_transaction
from fraud.review.errors import (
    CaseNotFound,
    InvalidTransition,
    LeaseExpired,
    NotCaseHolder,
    ReviewError,
    StaleCaseVersion,
)
from fraud.review.intake import CaseInput, UpsertReport, upsert_cases
from fraud.review.tables import (
    CLAIMED,
    CONFIRMED_FRAUD,
    ESCALATED,
    LEGITIMATE,
    OPEN,
    RESOLVED,
    cases,
)
from fraud.review.views import CaseView, case_view

DEFAULT_CONFIG = ReviewConfig()
__all__ = [
    "CaseInput",
    "LabelRow",
    "UpsertReport",
    "claim_next",
    "decide",
    "escalate",
    "expire_leases",
    "export_labels",
    "release",
    "upsert_cases",
]
LABELS = {"fraud": CONFIRMED_FRAUD, "legit": LEGITIMATE}


@dataclass(frozen=True)
class LabelRow:
    """One analyst decision, as a training label."""

    transaction_id: str
    is_fraud: int
    decided_at: datetime
    analyst: str
    model_version: str


def _load(conn: Connection, case_id: int) -> Row:
    row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).first()
    if row is None:
        raise CaseNotFound(case_id)
    return row


def _lapsed(row: Row, now: datetime) -> bool:
    return (
        row.status == CLAIMED and row.lease_expires_at is not None and row.lease_expires_at <= now
    )


def _return_to_queue(
    conn: Connection, row: Row, now: datetime, actor: str, kind: str, note: str | None
) -> bool:
    """Claimed -> open/escalated with an event; False when the row changed under us."""
    to_status = ESCALATED if row.escalated else OPEN
    result = conn.execute(
        update(cases)
        .where(cases.c.id == row.id, cases.c.version == row.version)
        .values(
            status=to_status,
            analyst=None,
            lease_expires_at=None,
            updated_at=now,
            version=row.version + 1,
        )
    )
    if result.rowcount != 1:
        return False
    add_event(conn, row.id, now, actor, kind, CLAIMED, to_status, note=note)
    return True


def _expire(conn: Connection, row: Row, now: datetime) -> None:
    note = f"lease of {row.analyst} expired at {row.lease_expires_at.isoformat()}"
    _return_to_queue(conn, row, now, SYSTEM_ACTOR, "lease_expired", note)


def _view(conn: Connection, case_id: int, now: datetime, config: ReviewConfig) -> CaseView:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
    return case_view(row, now, config)


def claim_next(
    engine: Engine,
    analyst: str,
    *,
    config: ReviewConfig = DEFAULT_CONFIG,
    now: datetime | None = None,
) -> CaseView | None:
    """Claim the highest-priority open or escalated case (or one whose lease ran out).

    Returns:
        The claimed case, or None when the queue is empty.
    """
    if not analyst:
        raise ReviewError("an analyst name is required (--analyst or MOESUITE_ANALYST)")
    now = utc_now(now)
    claimable = or_(
        cases.c.status.in_((OPEN, ESCALATED)),
        and_(cases.c.status == CLAIMED, cases.c.lease_expires_at <= now),
    )
    # One indexed probe per status (the (status, rank_key) index gives each probe its order
    # directly; an OR over statuses would sort the whole backlog on every claim).
    probes = [
        select(cases)
        .where(cases.c.status == status, *extra)
        .order_by(cases.c.rank_key.desc(), cases.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        for status, extra in (
            (OPEN, ()),
            (ESCALATED, ()),
            (CLAIMED, (cases.c.lease_expires_at <= now,)),
        )
    ]

    def best_candidate(conn: Connection) -> Row | None:
        rows = [row for probe in probes if (row := conn.execute(probe).first()) is not None]
        return max(rows, key=lambda r: (r.rank_key, -r.id), default=None)

    lease_until = now + timedelta(minutes=config.lease_minutes)
    with write_transaction(engine) as conn:
        # Each pass either claims or sees the candidate change; bounded for safety.
        for _ in range(100):
            row = best_candidate(conn)
            if row is None:
                return None
            if row.status == CLAIMED:
                _expire(conn, row, now)
                row = _load(conn, row.id)
            result = conn.execute(
                update(cases)
                .where(cases.c.id == row.id, cases.c.version == row.version, claimable)
                .values(
                    status=CLAIMED,
                    analyst=analyst,
                    lease_expires_at=lease_until,
                    updated_at=now,
                    version=row.version + 1,
                )
            )
            if result.rowcount == 1:
                add_event(conn, row.id, now, analyst, "claimed", row.status, CLAIMED)
                return _view(conn, row.id, now, config)
    raise ReviewError("could not claim a case after 100 attempts; try again")


def _held(
    conn: Connection,
    case_id: int,
    analyst: str,
    action: str,
    now: datetime,
    expected_version: int | None,
) -> tuple[Row | None, ReviewError | None]:
    """The case if ``analyst`` holds a live lease on it, else the error to raise after commit."""
    row = _load(conn, case_id)
    if row.status == RESOLVED:
        hint = f"{row.decided_by} decided it as {row.resolution}"
        return None, InvalidTransition(case_id, action, RESOLVED, hint)
    if _lapsed(row, now):
        _expire(conn, row, now)
        if row.analyst == analyst:
            return None, LeaseExpired(case_id, analyst)
        return None, NotCaseHolder(case_id, analyst, None)
    if row.status != CLAIMED:
        return None, NotCaseHolder(case_id, analyst, None)
    if row.analyst != analyst:
        return None, NotCaseHolder(case_id, analyst, row.analyst)
    if expected_version is not None and expected_version != row.version:
        return None, StaleCaseVersion(case_id, expected_version, row.version)
    return row, None


def _guarded_update(conn: Connection, row: Row, holder: str, **values: Any) -> bool:
    """Write only if the case is still the version this holder read (optimistic check)."""
    result = conn.execute(
        update(cases)
        .where(
            cases.c.id == row.id,
            cases.c.version == row.version,
            cases.c.status == CLAIMED,
            cases.c.analyst == holder,
        )
        .values(**values, version=row.version + 1)
    )
    return result.rowcount == 1


def decide(
    engine: Engine,
    case_id: int,
    analyst: str,
    label: str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    config: ReviewConfig = DEFAULT_CONFIG,
    now: datetime | None = None,
) -> CaseView:
    """Resolve a case the analyst holds as ``"fraud"`` or ``"legit"``.

    Args:
        expected_version: The case version the analyst looked at; a different current version
            raises `StaleCaseVersion` instead of overwriting newer information.

    Raises:
        CaseNotFound, NotCaseHolder, LeaseExpired, StaleCaseVersion, InvalidTransition.
    """
    if label not in LABELS:
        raise ReviewError(f"label {label!r} is not one of {', '.join(LABELS)}")
    now = utc_now(now)
    with write_transaction(engine) as conn:
        row, error = _held(conn, case_id, analyst, "decide", now, expected_version)
        if row is not None:
            changes = {"resolution": [None, LABELS[label]]}
            if _guarded_update(
                conn,
                row,
                analyst,
                status=RESOLVED,
                resolution=LABELS[label],
                decided_by=analyst,
                decided_at=now,
                lease_expires_at=None,
                updated_at=now,
            ):
                add_event(conn, case_id, now, analyst, "resolved", CLAIMED, RESOLVED, note, changes)
                return _view(conn, case_id, now, config)
            error = StaleCaseVersion(case_id, row.version, row.version + 1)
    assert error is not None
    raise error


def release(
    engine: Engine,
    case_id: int,
    analyst: str,
    *,
    note: str | None = None,
    config: ReviewConfig = DEFAULT_CONFIG,
    now: datetime | None = None,
) -> CaseView:
    """Give a held case back to the queue (to ``escalated`` if it had been escalated)."""
    now = utc_now(now)
    with write_transaction(engine) as conn:
        row, error = _held(conn, case_id, analyst, "release", now, None)
        if row is not None:
            if _return_to_queue(conn, row, now, analyst, "released", note):
                return _view(conn, case_id, now, config)
            error = StaleCaseVersion(case_id, row.version, row.version + 1)
    assert error is not None
    raise error


def escalate(
    engine: Engine,
    case_id: int,
    analyst: str,
    *,
    note: str | None = None,
    config: ReviewConfig = DEFAULT_CONFIG,
    now: datetime | None = None,
) -> CaseView:
    """Hand a held case to senior review: status ``escalated``, claimable by any analyst."""
    now = utc_now(now)
    with write_transaction(engine) as conn:
        row, error = _held(conn, case_id, analyst, "escalate", now, None)
        if row is not None and row.escalated:
            row, error = (
                None,
                InvalidTransition(
                    case_id, "escalate", "already escalated", "decide it or release it"
                ),
            )
        if row is not None:
            if _guarded_update(
                conn,
                row,
                analyst,
                status=ESCALATED,
                escalated=True,
                analyst=None,
                lease_expires_at=None,
                updated_at=now,
            ):
                add_event(conn, case_id, now, analyst, "escalated", CLAIMED, ESCALATED, note)
                return _view(conn, case_id, now, config)
            error = StaleCaseVersion(case_id, row.version, row.version + 1)
    assert error is not None
    raise error


def expire_leases(engine: Engine, *, now: datetime | None = None) -> int:
    """Return every case whose lease ran out to the queue now (claims also do it lazily).

    Returns:
        How many cases went back.
    """
    now = utc_now(now)
    with write_transaction(engine) as conn:
        rows = conn.execute(
            select(cases)
            .where(cases.c.status == CLAIMED, cases.c.lease_expires_at <= now)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            _expire(conn, row, now)
    return len(rows)


def export_labels(engine: Engine, since: datetime | None = None) -> list[LabelRow]:
    """Decisions as training labels, oldest first; ``since`` keeps decisions made after it."""
    stmt = (
        select(
            cases.c.transaction_id,
            cases.c.resolution,
            cases.c.decided_at,
            cases.c.decided_by,
            cases.c.model_version,
        )
        .where(cases.c.status == RESOLVED)
        .order_by(cases.c.decided_at, cases.c.id)
    )
    if since is not None:
        stmt = stmt.where(cases.c.decided_at > utc_now(since))
    with engine.connect() as conn:
        return [
            LabelRow(
                transaction_id=row.transaction_id,
                is_fraud=int(row.resolution == CONFIRMED_FRAUD),
                decided_at=row.decided_at,
                analyst=row.decided_by,
                model_version=row.model_version,
            )
            for row in conn.execute(stmt)
        ]
