"""The analyst's work list: filtered and sorted case searches, counts, and related open cases.

Read-only, like `fraud.review.views`, whose status semantics (lapsed claims shown as back in
the queue) it reuses. Serves the web console's queue and case pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select

from fraud.review.audit import utc_now
from fraud.review.config import ReviewConfig
from fraud.review.errors import ReviewError
from fraud.review.models import RESOLVED, Case
from fraud.review.views import LIST_FILTERS, CaseView, case_view, effective_status_clause

SORTS = ("priority", "sla", "newest")


@dataclass(frozen=True)
class CaseQuery:
    """Filters and order of a case search.

    Attributes:
        status: A status, ``"active"`` (not resolved) or ``"all"``.
        band: Keep cases of this band.
        min_score, max_score: Keep cases scored in this closed range.
        min_age_hours, max_age_hours: Keep cases created this long ago.
        analyst: Keep cases this analyst holds (live lease) or decided.
        sort: ``priority`` (highest first), ``sla`` (earliest deadline first) or ``newest``.
        limit: At most this many cases.
    """

    status: str = "active"
    band: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    min_age_hours: float | None = None
    max_age_hours: float | None = None
    analyst: str | None = None
    sort: str = "priority"
    limit: int = 50

    def __post_init__(self) -> None:
        if self.status not in LIST_FILTERS:
            raise ReviewError(
                f"unknown status {self.status!r}; use one of {', '.join(LIST_FILTERS)}"
            )
        if self.sort not in SORTS:
            raise ReviewError(f"unknown sort {self.sort!r}; use one of {', '.join(SORTS)}")
        if not 1 <= self.limit <= 1000:
            raise ReviewError(f"limit must be between 1 and 1000, got {self.limit}")


@dataclass(frozen=True)
class CaseSearch:
    """One page of cases and how many match in all."""

    cases: list[CaseView]
    total: int


def _conditions(query: CaseQuery, now: datetime) -> list:
    where = []
    if query.status != "all":
        where.append(effective_status_clause(query.status, now))
    if query.band is not None:
        where.append(Case.band == query.band)
    if query.min_score is not None:
        where.append(Case.score >= query.min_score)
    if query.max_score is not None:
        where.append(Case.score <= query.max_score)
    if query.min_age_hours is not None:
        where.append(Case.created_at <= now - timedelta(hours=query.min_age_hours))
    if query.max_age_hours is not None:
        where.append(Case.created_at >= now - timedelta(hours=query.max_age_hours))
    if query.analyst is not None:
        where.append(
            or_(
                and_(Case.analyst == query.analyst, Case.lease_expires_at > now),
                Case.decided_by == query.analyst,
            )
        )
    return where


def search_cases(
    engine: Engine,
    query: CaseQuery,
    *,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> CaseSearch:
    """Cases matching ``query`` in its order, and the number that match without the limit."""
    config = config or ReviewConfig()
    now = utc_now(now)
    where = _conditions(query, now)
    stmt = select(Case.__table__).where(*where)
    if query.sort == "sla":
        stmt = stmt.order_by((Case.status == RESOLVED), Case.sla_due_at, Case.id)
    elif query.sort == "newest":
        stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc())
    else:
        stmt = stmt.order_by((Case.status == RESOLVED), Case.rank_key.desc(), Case.id)
    with engine.connect() as conn:
        rows = conn.execute(stmt.limit(query.limit)).all()
        total = conn.execute(select(func.count()).select_from(Case).where(*where)).scalar_one()
    return CaseSearch([case_view(row, now, config) for row in rows], int(total))


def related_open_cases(
    engine: Engine,
    case: CaseView,
    *,
    limit: int = 10,
    config: ReviewConfig | None = None,
    now: datetime | None = None,
) -> list[CaseView]:
    """Other unresolved cases at the same terminal or merchant as ``case``, by priority."""
    config = config or ReviewConfig()
    now = utc_now(now)
    matches = []
    for key in ("terminal_id", "merchant_id"):
        value = case.transaction.get(key)
        if value not in (None, ""):
            matches.append(Case.transaction[key].as_string() == str(value))
    if not matches:
        return []
    stmt = (
        select(Case.__table__)
        .where(Case.id != case.id, Case.status != RESOLVED, or_(*matches))
        .order_by(Case.rank_key.desc(), Case.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [case_view(row, now, config) for row in conn.execute(stmt)]
