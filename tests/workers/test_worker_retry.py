"""Retry on a transient error with a real worker: no fake task, no eager mode.

The worker's review database is PostgreSQL. After a first task warms its connection pool, the
test terminates the worker's server connections (as a database restart or failover would); the
next task's first attempt hits the dropped connection, is retried after Celery's backoff, and
succeeds on a fresh connection, recording its transaction exactly once.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.workers.test_worker_fraud_jobs import make_transactions
from workers.client import JobClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[tuple[str, str]]:
    """(URL with a schema of its own and a unique application name, that name)."""
    schema = f"retry_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}&application_name={schema}", schema
    finally:
        with admin.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"),
                {"name": schema},
            )  # fmt: skip
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _transaction(row) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def test_dropped_database_connection_is_retried_with_backoff_once(
    stack_factory, pg_schema_url, postgres_url
) -> None:
    url, app_name = pg_schema_url
    # Redis redelivers a task that runs past the visibility timeout (a first task that loads
    # the bundle on a loaded machine can): far above any run here, so every extra delivery
    # in the log is Celery's retry.
    stack = stack_factory("redis", visibility_timeout=600.0)
    stack.settings = dataclasses.replace(stack.settings, database_url=url)
    stack.client.close()
    stack.client = JobClient(stack.settings)
    worker = stack.start_worker("retry", "fraud")
    frame = make_transactions(40, customers=2, seed=3)
    first, second = _transaction(frame.iloc[0]), _transaction(frame.iloc[1])

    warm = stack.client.result(stack.client.submit_score_one(first), timeout=120)
    assert warm["ok"] is True and warm["attempts"] == 1, warm

    admin = sa.create_engine(postgres_url)
    try:
        with admin.begin() as conn:
            dropped = conn.execute(
                sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name"),
                {"name": app_name},
            ).scalar()  # fmt: skip
        assert dropped >= 1, "the worker kept no pooled connection to drop"

        job = stack.client.submit_score_one(second)
        result = stack.client.result(job, timeout=120)
        assert result["ok"] is True, result
        assert result["attempts"] == 2, result  # the first attempt failed, the retry won
        assert result["decision"]["transaction_id"] == second["transaction_id"]

        log = worker.text()
        # Celery logs the retry with its countdown: retry_backoff=1 with jitter gives 0-1 s
        # before the first retry.
        retries = re.findall(rf"Task moesuite.fraud.score_one\[{job}\] retry: Retry in (\d+)s", log)
        assert len(retries) == 1, log[-3000:]
        assert 0 <= int(retries[0]) <= 1
        assert "TransientError" in log and "transient database error" in log
        assert worker.received(job) == 2  # the original delivery and the retry
        with admin.connect() as conn:
            conn.execute(sa.text(f'SET search_path TO "{app_name}"'))
            stored = conn.execute(
                sa.text("SELECT transaction_id FROM transactions ORDER BY transaction_id")
            ).scalars().all()  # fmt: skip
        # Each transaction stored once: the failed attempt wrote nothing, the retry no twin.
        assert stored == sorted([first["transaction_id"], second["transaction_id"]])
    finally:
        admin.dispose()
