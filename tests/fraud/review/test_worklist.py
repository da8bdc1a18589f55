"""Work-list searches, related open cases, dashboard figures and lead reassignment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fraud.review.assignment import reassign
from fraud.review.dashboard import dashboard_figures
from fraud.review.errors import InvalidTransition, ReviewError
from fraud.review.queue import claim_next, decide, upsert_cases
from fraud.review.views import get_case
from fraud.review.worklist import CaseQuery, related_open_cases, search_cases
from tests.fraud.review.conftest import T0


def _seed(engine, make_case, n=8):
    upsert_cases(engine, [make_case(i) for i in range(n)], now=T0)


def test_search_filters_sorts_and_counts(engine, make_case):
    _seed(engine, make_case)
    now = T0 + timedelta(hours=2)
    found = search_cases(engine, CaseQuery(band="high", limit=2), now=now)
    assert found.total == 4 and len(found.cases) == 2
    assert all(c.band == "high" for c in found.cases)
    by_priority = search_cases(engine, CaseQuery(), now=now).cases
    assert [c.priority for c in by_priority] == sorted(
        (c.priority for c in by_priority), reverse=True
    )
    scored = search_cases(engine, CaseQuery(min_score=0.53, max_score=0.55), now=now)
    assert sorted(c.score for c in scored.cases) == [0.53, 0.54, 0.55]
    assert search_cases(engine, CaseQuery(min_age_hours=3), now=now).total == 0
    assert search_cases(engine, CaseQuery(max_age_hours=3), now=now).total == 8
    with pytest.raises(ReviewError, match="unknown sort"):
        CaseQuery(sort="random")


def test_related_open_cases_share_a_terminal_or_merchant(engine, make_case):
    cases = [
        make_case(i, transaction={"terminal_id": f"t-{i % 3}", "merchant_id": f"m-{i % 4}"})
        for i in range(12)
    ]
    upsert_cases(engine, cases, now=T0)
    first = search_cases(engine, CaseQuery(status="all", sort="newest", limit=1000), now=T0).cases
    case = next(c for c in first if c.transaction_id == "tx-00000")
    related = related_open_cases(engine, case, now=T0)
    ids = {c.transaction_id for c in related}
    # tx-00000 is at t-0 and m-0: tx 3, 6, 9 share the terminal; 4, 8 the merchant.
    assert ids == {"tx-00003", "tx-00006", "tx-00009", "tx-00004", "tx-00008"}


def test_dashboard_counts_decisions_per_day_and_precision_per_version(engine, make_case):
    upsert_cases(engine, [make_case(i) for i in range(4)], now=T0)
    upsert_cases(engine, [make_case(i, model_version="v2") for i in range(4, 6)], now=T0)
    for day, label in ((0, "fraud"), (0, "legit"), (1, "fraud")):
        moment = T0 + timedelta(days=day, hours=1)
        case = claim_next(engine, "ann", now=moment)
        decide(engine, case.id, "ann", label, now=moment)
    figures = dashboard_figures(engine, days=3, now=T0 + timedelta(days=2))
    assert figures.decisions_per_day == {"ann": [1 + 1, 1, 0]}
    assert figures.fraud_per_day == [1, 1, 0]
    assert figures.current_model == "v2"  # the newest case's version (same time: highest id)
    assert sum(figures.score_histogram) == 2
    by_version = {p.model_version: (p.decided, p.fraud) for p in figures.precision}
    assert sum(d for d, _ in by_version.values()) == 3
    assert sum(f for _, f in by_version.values()) == 2


def test_reassign_moves_the_lease_and_refuses_resolved_cases(engine, make_case):
    _seed(engine, make_case, 2)
    held = claim_next(engine, "bob", now=T0)
    moved = reassign(engine, held.id, "lee", "ann", now=T0 + timedelta(minutes=1))
    assert moved.status == "claimed" and moved.analyst == "ann"
    assert moved.lease_expires_at > T0 + timedelta(minutes=15)
    decide(engine, held.id, "ann", "fraud", now=T0 + timedelta(minutes=2))
    assert get_case(engine, held.id).decided_by == "ann"
    with pytest.raises(InvalidTransition):
        reassign(engine, held.id, "lee", "bob")
