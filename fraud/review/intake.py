"""Cases in: validate scored transactions and upsert them, one case per transaction_id.

Re-scoring an existing case updates its score, band, reasons and model version (event
``rescored`` with old and new values); resolved cases are never reopened.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from fraud.review.audit import add_event, utc_now
from fraud.review.config import ReviewConfig
from fraud.review.db import write_transaction
from fraud.review.errors import InvalidCaseInput
from fraud.review.priority import rank_key
from fraud.review.tables import OPEN, RESOLVED, case_events, cases

_BATCH = 500


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
    # Imported here: the PostgreSQL dialect costs ~0.07 s, which review commands on SQLite
    # (and every command that never writes a case) would pay at start-up.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect
    return (
        dialect.insert(cases)
        .on_conflict_do_nothing(index_elements=["transaction_id"])
        .returning(cases.c.id, cases.c.transaction_id)
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
        update(cases)
        .where(cases.c.id == row.id)
        .values(
            **new,
            rank_key=rank_key(case.score, row.amount, row.created_at, config.age_tau_hours),
            sla_due_at=row.created_at + timedelta(hours=config.sla_for(case.band)),
            updated_at=now,
            version=row.version + 1,
        )
    )
    add_event(conn, row.id, now, actor, "rescored", row.status, row.status, changes=changes)
    return True


def _chunks(cases: Sequence[CaseInput], size: int) -> Iterator[Sequence[CaseInput]]:
    for start in range(0, len(cases), size):
        yield cases[start : start + size]


def upsert_cases(
    engine: Engine,
    cases: Iterable[CaseInput],
    *,
    config: ReviewConfig | None = None,
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
    config = config or ReviewConfig()
    now = utc_now(now)
    latest: dict[str, CaseInput] = {}
    for index, case in enumerate(cases):
        _validate(case, index)
        latest[case.transaction_id] = case
    created = updated = unchanged = 0
    # Sorted so concurrent upserts lock and insert keys in one order (no deadlocks on PostgreSQL).
    ordered = [latest[tid] for tid in sorted(latest)]
    for chunk in _chunks(ordered, _BATCH):
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
                    conn.execute(insert(case_events), events)
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
        select(cases)
        .where(cases.c.transaction_id.in_(transaction_ids))
        .order_by(cases.c.id)
        .with_for_update()
    )
    return {row.transaction_id: row for row in conn.execute(stmt)}
