"""Dashboard figures beyond `review_stats`: decisions per analyst per day, the score
distribution of the current model's cases, and review-band precision per model version."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from fraud.review.audit import utc_now
from fraud.review.models import CONFIRMED_FRAUD, RESOLVED, Case

SCORE_BINS = 10


@dataclass(frozen=True)
class VersionPrecision:
    """Of the review cases one model version sent and analysts decided, how many were fraud."""

    model_version: str
    decided: int
    fraud: int

    @property
    def precision(self) -> float | None:
        return self.fraud / self.decided if self.decided else None


@dataclass(frozen=True)
class DashboardFigures:
    """Figures for the console's dashboard at ``as_of``.

    Attributes:
        days: The last days covered, oldest first.
        decisions_per_day: analyst -> decisions on each of ``days``.
        fraud_per_day: Cases confirmed as fraud on each of ``days``.
        current_model: The model version of the newest case (None when there are none).
        score_histogram: Cases of ``current_model`` per score decile ([0, 0.1), ... [0.9, 1]).
        precision: One entry per model version with decisions, newest version first.
    """

    as_of: datetime
    days: list[date]
    decisions_per_day: dict[str, list[int]]
    fraud_per_day: list[int]
    current_model: str | None
    score_histogram: list[int]
    precision: list[VersionPrecision]


def dashboard_figures(
    engine: Engine, *, days: int = 14, now: datetime | None = None
) -> DashboardFigures:
    """Compute the dashboard's figures over the last ``days`` days (UTC calendar days)."""
    now = utc_now(now)
    day_list = [(now - timedelta(days=offset)).date() for offset in range(days - 1, -1, -1)]
    since = datetime.combine(day_list[0], datetime.min.time(), tzinfo=now.tzinfo)
    with engine.connect() as conn:
        decided = conn.execute(
            select(Case.decided_by, Case.decided_at, Case.resolution).where(
                Case.status == RESOLVED, Case.decided_at >= since
            )
        ).all()
        current = conn.execute(
            select(Case.model_version).order_by(Case.created_at.desc(), Case.id.desc()).limit(1)
        ).scalar()
        scores = (
            conn.execute(select(Case.score).where(Case.model_version == current)).scalars().all()
            if current is not None
            else []
        )
        fraud = (Case.resolution == CONFIRMED_FRAUD).cast(Case.version.type)
        per_version = conn.execute(
            select(
                Case.model_version,
                func.count(),
                func.coalesce(func.sum(fraud), 0),
                func.max(Case.created_at),
            )
            .where(Case.status == RESOLVED)
            .group_by(Case.model_version)
        ).all()
    index = {day: i for i, day in enumerate(day_list)}
    per_analyst: dict[str, list[int]] = {}
    fraud_per_day = [0] * len(day_list)
    for analyst, at, resolution in decided:
        slot = index.get(at.date())
        if slot is None:
            continue
        per_analyst.setdefault(analyst, [0] * len(day_list))[slot] += 1
        fraud_per_day[slot] += resolution == CONFIRMED_FRAUD
    bins = Counter(min(int(score * SCORE_BINS), SCORE_BINS - 1) for score in scores)
    precision = [
        VersionPrecision(version, int(n), int(f))
        for version, n, f, _ in sorted(per_version, key=lambda r: r[3], reverse=True)
    ]
    return DashboardFigures(
        as_of=now,
        days=day_list,
        decisions_per_day=dict(sorted(per_analyst.items())),
        fraud_per_day=fraud_per_day,
        current_model=current,
        score_histogram=[bins.get(i, 0) for i in range(SCORE_BINS)],
        precision=precision,
    )
