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

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fraud.review.config import ReviewConfig
from fraud.review.db import write_transaction
from fraud.review.errors import (
    CaseNotFound,
    InvalidCaseInput,
    InvalidTransition,
    LeaseExpired,
    NotCaseHolder,
    ReviewError,
    StaleCaseVersion,
)
from fraud.review.models import (
    CLAIMED,
    CONFIRMED_FRAUD,
    ESCALATED,
    LEGITIMATE,
    OPEN,
    RESOLVED,
    Case,
    CaseEvent,
)
from fraud.review.priority import rank_key
from fraud.review.views import CaseView, case_view

DEFAULT_CONFIG = ReviewConfig()
LABELS = {"fraud": CONFIRMED_FRAUD, "legit": LEGITIMATE}
_BATCH = 500
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class CaseInput:
    """A scored transaction sent to manual review.

    ``transaction`` is the JSON-able row shown to analysts: tokens only, never a card number
    (`upsert_cases` rejects strings that look like one).
    """

    transaction_id: str
    customer_id: str
    amount: float
    currency: str | None
    score: float
    band: str
    reasons: tuple[str, ...]
    model_version: str
    occurred_at: datetime
    transaction: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpsertReport:
    """What `upsert_cases` did; resolved cases count as unchanged (they are never reopened)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class LabelRow:
    """One analyst decision, as a training label."""

    transaction_id: str
    is_fraud: int
    decided_at: datetime
    analyst: str
    model_version: str


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ReviewError(f"now={now!r} is naive; pass a timezone-aware datetime")
    return now.astimezone(UTC)


def _add_event(
    conn: Connection,
    case_id: int,
    at: datetime,
    actor: str,
    kind: str,
    from_status: str | None,
    to_status: str | None,
    note: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(CaseEvent).values(
            case_id=case_id,
            at=at,
            actor=actor,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            note=note,
            changes=dict(changes or {}),
        )
    )


# ---------------------------------------------------------------- upsert


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _find_card_number(value: Any) -> bool:
    if isinstance(value, str):
        compact = value.replace(" ", "").replace("-", "")
        return 13 <= len(compact) <= 19 and compact.isdigit() and _luhn_ok(compact)
    if isinstance(value, Mapping):
        return any(_find_card_number(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_find_card_number(v) for v in value)
    return False


def _validate(case: CaseInput, index: int) -> None:
    where = f"{index} (transaction {case.transaction_id!r})"
    for name in ("transaction_id", "customer_id", "band", "model_version"):
        value = getattr(case, name)
        if not isinstance(value, str) or not value:
            raise InvalidCaseInput(where, name, f"must be a non-empty string, got {value!r}")
    for name in ("amount", "score"):
        value = getattr(case, name)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidCaseInput(where, name, f"must be a finite number, got {value!r}")
    if not isinstance(case.occurred_at, datetime) or case.occurred_at.tzinfo is None:
        raise InvalidCaseInput(where, "occurred_at", "must be a timezone-aware datetime")
    if isinstance(case.reasons, str) or not all(isinstance(r, str) for r in case.reasons):
        raise InvalidCaseInput(where, "reasons", "must be a tuple of strings")
    try:
        json.dumps(dict(case.transaction), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidCaseInput(where, "transaction", f"is not JSON-able: {exc}") from exc
    if _find_card_number(dict(case.transaction)):
        raise InvalidCaseInput(
            where, "transaction", "contains what looks like a card number; send tokens only"
        )


def _insert_ignoring_conflicts(conn: Connection):  # noqa: ANN202
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(Case)
        .on_conflict_do_nothing(index_elements=["transaction_id"])
        .returning(Case.id, Case.transaction_id)
    )


def _new_case_values(case: CaseInput, now: datetime, config: ReviewConfig) -> dict[str, Any]:
    return {
        "transaction_id": case.transaction_id,
        "customer_id": case.customer_id,
        "amount": float(case.amount),
        "currency": case.currency,
        "score": float(case.score),
        "band": case.band,
        "reasons": list(case.reasons),
        "model_version": case.model_version,
        "occurred_at": case.occurred_at,
        "transaction": dict(case.transaction),
        "status": OPEN,
        "escalated": False,
        "rank_key": rank_key(case.score, case.amount, now, config.age_tau_hours),
        "created_at": now,
        "updated_at": now,
        "sla_due_at": now + timedelta(hours=config.sla_for(case.band)),
        "version": 1,
    }


_RESCORED_FIELDS = ("score", "band", "reasons", "model_version")


def _rescore(
    conn: Connection, row: Row, case: CaseInput, now: datetime, config: ReviewConfig, actor: str
) -> bool:
    new = {
        "score": float(case.score),
        "band": case.band,
        "reasons": list(case.reasons),
        "model_version": case.model_version,
    }
    changes = {k: [getattr(row, k), v] for k, v in new.items() if getattr(row, k) != v}
    if not changes or row.status == RESOLVED:
        return False
    conn.execute(
        update(Case)
        .where(Case.id == row.id)
        .values(
            **new,
            rank_key=rank_key(case.score, row.amount, row.created_at, config.age_tau_hours),
            sla_due_at=row.created_at + timedelta(hours=config.sla_for(case.band)),
            updated_at=now,
            version=row.version + 1,
        )
    )
    _add_event(conn, row.id, now, actor, "rescored", row.status, row.status, changes=changes)
    return True


def _chunks(cases: Sequence[CaseInput], size: int) -> Iterator[Sequence[CaseInput]]:
    for start in range(0, len(cases), size):
        yield cases[start : start + size]


def upsert_cases(
    engine: Engine,
    cases: Iterable[CaseInput],
    *,
    config: ReviewConfig = DEFAULT_CONFIG,
    now: datetime | None = None,
    actor: str = "scorer",
) -> UpsertReport:
    """Create one case per new transaction_id; re-scoring updates the existing case.

    A re-scored case keeps its status, claim and age; its score, band, reasons and model version
    change (event ``rescored`` with the old and new values). Resolved cases are left alone.
    Within one call the last input for a transaction_id wins.

    Raises:
        InvalidCaseInput: A case is malformed (nothing of its batch is written).
    """
    now = _clock(now)
    latest: dict[str, CaseInput] = {}
    for index, case in enumerate(cases):
        _validate(case, index)
        latest[case.transaction_id] = case
    created = updated = unchanged = 0
    for chunk in _chunks(list(latest.values()), _BATCH):
        with write_transaction(engine) as conn:
            by_id = {c.transaction_id: c for c in chunk}
            existing = _lock_existing(conn, list(by_id))
            fresh = [c for c in chunk if c.transaction_id not in existing]
            if fresh:
                values = [_new_case_values(c, now, config) for c in fresh]
                inserted = conn.execute(_insert_ignoring_conflicts(conn), values).all()
                created += len(inserted)
                events = [
                    {
                        "case_id": case_id,
                        "at": now,
                        "actor": actor,
                        "kind": "created",
                        "from_status": None,
                        "to_status": OPEN,
                        "note": None,
                        "changes": {},
                    }
                    for case_id, _ in inserted
                ]
                if events:
                    conn.execute(insert(CaseEvent), events)
                raced = {c.transaction_id for c in fresh} - {tid for _, tid in inserted}
                # Another writer created these between our SELECT and INSERT (PostgreSQL only).
                existing.update(_lock_existing(conn, sorted(raced)))
            for tid, row in existing.items():
                if _rescore(conn, row, by_id[tid], now, config, actor):
                    updated += 1
                else:
                    unchanged += 1
    return UpsertReport(created=created, updated=updated, unchanged=unchanged)


def _lock_existing(conn: Connection, transaction_ids: list[str]) -> dict[str, Row]:
    if not transaction_ids:
        return {}
    stmt = (
        select(Case.__table__)
        .where(Case.transaction_id.in_(transaction_ids))
        .order_by(Case.id)
        .with_for_update()
    )
    return {row.transaction_id: row for row in conn.execute(stmt)}


# ---------------------------------------------------------------- claims and decisions


def _load(conn: Connection, case_id: int) -> Row:
    row = conn.execute(select(Case.__table__).where(Case.id == case_id).with_for_update()).first()
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
        update(Case)
        .where(Case.id == row.id, Case.version == row.version)
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
    _add_event(conn, row.id, now, actor, kind, CLAIMED, to_status, note=note)
    return True


def _expire(conn: Connection, row: Row, now: datetime) -> None:
    note = f"lease of {row.analyst} expired at {row.lease_expires_at.isoformat()}"
    _return_to_queue(conn, row, now, SYSTEM_ACTOR, "lease_expired", note)


def _view(conn: Connection, case_id: int, now: datetime, config: ReviewConfig) -> CaseView:
    row = conn.execute(select(Case.__table__).where(Case.id == case_id)).one()
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
    now = _clock(now)
    claimable = or_(
        Case.status.in_((OPEN, ESCALATED)),
        and_(Case.status == CLAIMED, Case.lease_expires_at <= now),
    )
    # One indexed probe per status (the (status, rank_key) index gives each probe its order
    # directly; an OR over statuses would sort the whole backlog on every claim).
    probes = [
        select(Case.__table__)
        .where(Case.status == status, *extra)
        .order_by(Case.rank_key.desc(), Case.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        for status, extra in (
            (OPEN, ()),
            (ESCALATED, ()),
            (CLAIMED, (Case.lease_expires_at <= now,)),
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
                update(Case)
                .where(Case.id == row.id, Case.version == row.version, claimable)
                .values(
                    status=CLAIMED,
                    analyst=analyst,
                    lease_expires_at=lease_until,
                    updated_at=now,
                    version=row.version + 1,
                )
            )
            if result.rowcount == 1:
                _add_event(conn, row.id, now, analyst, "claimed", row.status, CLAIMED)
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
        update(Case)
        .where(
            Case.id == row.id,
            Case.version == row.version,
            Case.status == CLAIMED,
            Case.analyst == holder,
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
    now = _clock(now)
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
                _add_event(
                    conn, case_id, now, analyst, "resolved", CLAIMED, RESOLVED, note, changes
                )
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
    now = _clock(now)
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
    now = _clock(now)
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
                _add_event(conn, case_id, now, analyst, "escalated", CLAIMED, ESCALATED, note)
                return _view(conn, case_id, now, config)
            error = StaleCaseVersion(case_id, row.version, row.version + 1)
    assert error is not None
    raise error


def expire_leases(engine: Engine, *, now: datetime | None = None) -> int:
    """Return every case whose lease ran out to the queue now (claims also do it lazily).

    Returns:
        How many cases went back.
    """
    now = _clock(now)
    with write_transaction(engine) as conn:
        rows = conn.execute(
            select(Case.__table__)
            .where(Case.status == CLAIMED, Case.lease_expires_at <= now)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            _expire(conn, row, now)
    return len(rows)


def export_labels(engine: Engine, since: datetime | None = None) -> list[LabelRow]:
    """Decisions as training labels, oldest first; ``since`` keeps decisions made after it."""
    stmt = (
        select(
            Case.transaction_id,
            Case.resolution,
            Case.decided_at,
            Case.decided_by,
            Case.model_version,
        )
        .where(Case.status == RESOLVED)
        .order_by(Case.decided_at, Case.id)
    )
    if since is not None:
        stmt = stmt.where(Case.decided_at > _clock(since))
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
