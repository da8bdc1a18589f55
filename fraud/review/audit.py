"""Audit-log writes and the injectable clock shared by the queue's write paths."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from fraud.review.errors import ReviewError
from fraud.review.tables import case_events

SYSTEM_ACTOR = "system"


def utc_now(now: datetime | None) -> datetime:
    """``now`` in UTC (the injected clock), or the current time when it is None."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ReviewError(f"now={now!r} is naive; pass a timezone-aware datetime")
    return now.astimezone(UTC)


def add_event(
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
    """Append one row to the audit log (case_events) in the caller's transaction."""
    conn.execute(
        insert(case_events).values(
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
