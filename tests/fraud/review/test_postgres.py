"""PostgreSQL specifics: SKIP LOCKED claims under 8 processes, concurrent upserts, timezones."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from fraud.review.db import create_review_engine, get_engine, upgrade_database
from fraud.review.models import Case, CaseEvent
from fraud.review.queue import claim_next, upsert_cases

pytestmark = pytest.mark.postgres


def _drain_and_check():
    # test_concurrency.py holds the shared checker; importlib mode gives no package to import
    # it from, so load it by path.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "review_concurrency_checks", Path(__file__).with_name("test_concurrency.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.drain_and_check


def test_eight_processes_drain_postgres_queue_exactly_once(make_case, pg_url):
    _drain_and_check()(pg_url, make_case)


def test_claims_skip_rows_locked_by_another_transaction(make_case, pg_url):
    engine = get_engine(pg_url)
    upsert_cases(engine, [make_case(1, score=0.9), make_case(2, score=0.1)])
    top = select(Case.id).order_by(Case.rank_key.desc()).limit(1)
    with engine.connect() as holder, holder.begin():
        locked = holder.execute(top.with_for_update()).scalar_one()
        # Another analyst does not wait for the lock: it gets the next case at once.
        other = claim_next(engine, "bob")
        assert other is not None and other.id != locked


def test_concurrent_upserts_of_the_same_transactions_make_one_case_each(make_case, pg_url):
    engine = get_engine(pg_url)
    cases = [make_case(i) for i in range(200)]
    reports = []
    barrier = threading.Barrier(4)

    def scorer(order: list) -> None:
        barrier.wait()
        reports.append(upsert_cases(engine, order))

    # Half the scorers send the batch reversed (intake sorts keys so lock order is fixed).
    orders = [cases, cases[::-1], cases, cases[::-1]]
    threads = [threading.Thread(target=scorer, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.created for r in reports) == 200
    assert sum(r.unchanged for r in reports) == 600
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Case)).scalar_one() == 200
        created = select(func.count()).where(CaseEvent.kind == "created")
        assert conn.execute(created).scalar_one() == 200


def test_datetimes_round_trip_as_utc(make_case, pg_url):
    engine = get_engine(pg_url)
    paris = timezone(timedelta(hours=1))
    occurred = datetime(2026, 3, 2, 10, 0, tzinfo=paris)
    upsert_cases(engine, [make_case(1, occurred_at=occurred)])
    with engine.connect() as conn:
        conn.execute(text("SET TIME ZONE 'America/New_York'"))
        stored = conn.execute(select(Case.occurred_at)).scalar_one()
    assert stored == occurred and stored.tzinfo == UTC


def test_concurrent_first_use_migrates_once(pg_url):
    engines = [create_review_engine(pg_url) for _ in range(4)]
    errors = []

    def migrate(engine) -> None:
        try:
            upgrade_database(engine)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    for engine in engines:
        engine.dispose()
