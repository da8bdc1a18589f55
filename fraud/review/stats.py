"""Queue health: backlog by age, SLA risk, decisions per analyst and the fraud rate found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from fraud.review.audit import utc_now
from fraud.review.config import ReviewConfig
from fraud.review.tables import CONFIRMED_FRAUD, RESOLVED, cases
from fraud.review.views import case_view

# (label, upper bound in hours) for the age of pending cases.
AGE_BUCKETS = (("<1h", 1.0), ("1-4h", 4.0), ("4-24h", 24.0), ("1-3d", 72.0), (">3d", float("inf")))


@dataclass(frozen=True)
class AnalystStats:
    """Decisions one analyst made."""

    analyst: str
    decided: int
    fraud: int


@dataclass(frozen=True)
class ReviewStats:
    """A snapshot of the queue at ``as_of``."""

    as_of: datetime
    by_status: dict[str, int]
    backlog_by_age: dict[str, int]
    sla_at_risk: int
    sla_breached: int
    resolved_late: int
    analysts: list[AnalystStats]
    resolved: int
    fraud_found: int

    @property
    def fraud_rate(self) -> float | None:
        """Share of decided cases confirmed as fraud (None before the first decision)."""
        return self.fraud_found / self.resolved if self.resolved else None


def review_stats(
    engine: Engine, *, config: ReviewConfig | None = None, now: datetime | None = None
) -> ReviewStats:
    """Compute the queue's statistics at ``now`` (lapsed claims count as back in the queue)."""
    config = config or ReviewConfig()
    now = utc_now(now)
    by_status = {"open": 0, "claimed": 0, "escalated": 0}
    backlog = {label: 0 for label, _ in AGE_BUCKETS}
    at_risk = breached = 0
    fraud = (cases.c.resolution == CONFIRMED_FRAUD).cast(cases.c.version.type)
    with engine.connect() as conn:
        for row in conn.execute(select(cases).where(cases.c.status != RESOLVED)):
            view = case_view(row, now, config)
            by_status[view.status] += 1
            age_hours = (now - view.created_at).total_seconds() / 3600.0
            label = next(label for label, upper in AGE_BUCKETS if age_hours < upper)
            backlog[label] += 1
            at_risk += view.sla == "at_risk"
            breached += view.sla == "breached"
        per_analyst = conn.execute(
            select(cases.c.decided_by, func.count(), func.coalesce(func.sum(fraud), 0))
            .where(cases.c.status == RESOLVED)
            .group_by(cases.c.decided_by)
            .order_by(cases.c.decided_by)
        ).all()
        resolved_late = conn.execute(
            select(func.count()).where(
                cases.c.status == RESOLVED, cases.c.decided_at > cases.c.sla_due_at
            )
        ).scalar_one()
    analysts = [AnalystStats(a, int(n), int(f)) for a, n, f in per_analyst]
    by_status["resolved"] = sum(a.decided for a in analysts)
    return ReviewStats(
        as_of=now,
        by_status=by_status,
        backlog_by_age=backlog,
        sla_at_risk=at_risk,
        sla_breached=breached,
        resolved_late=int(resolved_late),
        analysts=analysts,
        resolved=by_status["resolved"],
        fraud_found=sum(a.fraud for a in analysts),
    )
