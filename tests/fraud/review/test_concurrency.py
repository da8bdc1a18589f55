"""8 analyst processes (spawn) drain a SQLite queue: every case claimed and decided exactly once."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from fraud.review.db import get_engine
from fraud.review.drill import run_drill
from fraud.review.models import Case, CaseEvent
from fraud.review.queue import upsert_cases

N_CASES = 240


def drain_and_check(url: str, make_case) -> None:
    """Shared by the SQLite and PostgreSQL drills."""
    engine = get_engine(url)
    assert upsert_cases(engine, [make_case(i) for i in range(N_CASES)]).created == N_CASES
    result = run_drill(url, analysts=8)

    claimed = [case_id for ids in result.claims.values() for case_id in ids]
    assert len(claimed) == N_CASES, "a case was claimed twice or missed"
    assert len(set(claimed)) == N_CASES
    assert len(result.claims) == 8
    # The drill really ran concurrently: more than one analyst got work.
    assert sum(1 for ids in result.claims.values() if ids) >= 2
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        assert statuses == {"resolved": N_CASES}
        rows = conn.execute(select(Case.id, Case.decided_by, Case.resolution)).all()
        events = conn.execute(select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.actor)).all()
    holder = {case_id: name for name, ids in result.claims.items() for case_id in ids}
    for case_id, decided_by, resolution in rows:
        assert decided_by == holder[case_id]  # only the holder decided
        assert resolution == ("confirmed_fraud" if case_id % 3 == 0 else "legitimate")
    # Audit: exactly created, claimed, resolved per case; claims logged by the holder.
    kinds = Counter((case_id, kind) for case_id, kind, _ in events)
    for case_id, *_ in rows:
        assert [kinds[(case_id, k)] for k in ("created", "claimed", "resolved")] == [1, 1, 1]
    assert len(events) == 3 * N_CASES
    assert all(actor == holder[c] for c, kind, actor in events if kind == "claimed")


def test_eight_processes_drain_sqlite_queue_exactly_once(make_case, sqlite_url):
    drain_and_check(sqlite_url, make_case)
