"""Leads reassign cases: a pending case goes to a named analyst with a fresh lease.

Kept apart from `fraud.review.queue` (the analyst's own actions): the holder check is replaced
by the lead's authority, which the caller (the web console's role check) establishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from fraud.review.audit import add_event, utc_now
from fraud.review.config import ReviewConfig
from fraud.review.db import write_transaction
from fraud.review.errors import CaseNotFound, InvalidTransition, ReviewError, StaleCaseVersion
from fraud.review.models import CLAIMED, RESOLVED, Case
from fraud.review.views import CaseView, case_view


def reassign(
    engine: Engine,
    case_id: int,
    lead: str,
    to_analyst: str,
    *,
    note: str | None = None,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> CaseView:
    """Give a pending case to ``to_analyst`` with a new lease, whoever held it (audited).

    Raises:
        CaseNotFound, InvalidTransition (the case is resolved), StaleCaseVersion (it changed
        while we wrote), ReviewError (no analyst named).
    """
    if not to_analyst or not to_analyst.strip():
        raise ReviewError("name the analyst to reassign the case to")
    config = config or ReviewConfig()
    now = utc_now(now)
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(Case.__table__).where(Case.id == case_id).with_for_update()
        ).first()
        if row is None:
            raise CaseNotFound(case_id)
        if row.status == RESOLVED:
            raise InvalidTransition(
                case_id, "reassign", RESOLVED, f"{row.decided_by} decided it as {row.resolution}"
            )
        previous = row.analyst if row.status == CLAIMED else None
        result = conn.execute(
            update(Case)
            .where(Case.id == case_id, Case.version == row.version)
            .values(
                status=CLAIMED,
                analyst=to_analyst,
                lease_expires_at=now + timedelta(minutes=config.lease_minutes),
                updated_at=now,
                version=row.version + 1,
            )
        )
        if result.rowcount != 1:
            raise StaleCaseVersion(case_id, row.version, row.version + 1)
        changes = {"analyst": [previous, to_analyst]}
        add_event(conn, case_id, now, lead, "reassigned", row.status, CLAIMED, note, changes)
        fresh = conn.execute(select(Case.__table__).where(Case.id == case_id)).one()
    return case_view(fresh, now, config)
