"""App configuration, routing, transient-error classification and chunk splitting (no worker)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from moesuite.settings import load_settings
from workers.app import WorkerOptions, create_app
from workers.errors import JobInputError, TransientError, WorkersError
from workers.partition import split_by_customer
from workers.tasks import TRANSIENT_ERRORS, error_result, transient_sql_errors
from workers.transport import SQLiteTransport, sqlite_path


def _settings(tmp_path: Path, **overrides: str):
    return load_settings(overrides={"home": tmp_path, **overrides}, env={})


def test_default_app_uses_tuned_sqlite_transport_and_reliability_settings(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))
    conf = app.conf
    assert conf.broker_transport == "workers.transport:SQLiteTransport"
    assert app.connection_for_write().transport_cls == "workers.transport:SQLiteTransport"
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost) == (True, True)
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit > conf.task_soft_time_limit
    # The transport's own options must not reach create_engine as unknown keywords.
    assert "polling_interval" not in conf.broker_transport_options
    assert SQLiteTransport.polling_interval == pytest.approx(0.1)
    mode = sqlite3.connect(tmp_path / "celery-broker.db").execute("PRAGMA journal_mode").fetchone()
    assert mode[0].lower() == "wal"


def test_tasks_are_routed_to_their_area_queue_with_prefix(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path), WorkerOptions(queue_prefix="x-"))
    router = app.amqp.router
    for name, queue in [
        ("moesuite.fraud.score_chunk", "x-fraud"),
        ("moesuite.code.refactor_source", "x-code"),
        ("moesuite.train.train_fraud", "x-train"),
    ]:
        assert router.route({}, name, (), {})["queue"].name == queue
    assert {q.name for q in app.conf.task_queues} == {"x-fraud", "x-code", "x-train"}


def test_redis_broker_gets_visibility_timeout(tmp_path: Path, redis_url: str) -> None:
    settings = _settings(tmp_path, broker_url=redis_url.rsplit("/", 1)[0] + "/3")
    app = create_app(
        settings,
        WorkerOptions(
            visibility_timeout=42.0, restore_interval=7.0, time_limit=40, soft_time_limit=30
        ),
    )
    # What kombu's Redis channel really uses, not the dict create_app wrote.
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        assert channel.visibility_timeout == 42.0
        assert channel.unacked_restore_interval == 7.0


def test_worker_options_reject_unknown_keys_and_bad_limits() -> None:
    with pytest.raises(WorkersError, match="unknown key.*chunk_size"):
        WorkerOptions.from_section({"chunk_size": 5})
    with pytest.raises(WorkersError, match="time_limit"):
        WorkerOptions(soft_time_limit=10, time_limit=5)


def test_only_lock_and_connection_errors_are_transient(tmp_path: Path) -> None:
    """Real driver errors, not hand-made ones: a locked SQLite file and refused connections
    are retried; a missing table and bad values are not."""
    import sqlalchemy as sa

    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("create table t (x int)")
    holder.execute("begin exclusive")  # another process in the middle of a write
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(TransientError, match="database is locked"), transient_sql_errors():
            with engine.begin() as conn:
                conn.execute(sa.text("insert into t values (1)"))
        holder.execute("rollback")
        with pytest.raises(OperationalError, match="no such table") as caught:
            with transient_sql_errors(), engine.begin() as conn:
                conn.execute(sa.text("select * from cases"))
        assert not isinstance(caught.value, TRANSIENT_ERRORS)
    finally:
        engine.dispose()
        holder.close()
    # Nothing listens on port 1: what the Redis client and kombu raise there is retried.
    import redis
    from kombu import Connection

    with pytest.raises(TRANSIENT_ERRORS):
        redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1).ping()
    with pytest.raises(TRANSIENT_ERRORS), Connection("amqp://guest:guest@127.0.0.1:1//") as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    with pytest.raises(ValueError) as caught:
        float("not-a-number")
    assert not isinstance(caught.value, TRANSIENT_ERRORS)


def test_error_result_names_path_line_and_field() -> None:
    result = error_result(JobInputError("in.csv", "bad amount", "amount"), attempts=1)
    assert result["ok"] is False
    assert result["error"] == {
        "type": "JobInputError",
        "message": "in.csv: bad amount",
        "path": "in.csv",
        "line": None,
        "field": "amount",
    }


def test_split_keeps_each_customer_in_one_chunk() -> None:
    rng = pd.Series(range(1000)).sample(frac=1.0, random_state=0)
    frame = pd.DataFrame({"customer_id": (rng % 37).astype(str).to_numpy(), "n": range(1000)})
    chunks = split_by_customer(frame, chunk_rows=100)
    assert all(len(c) <= 100 for c in chunks)
    assert 10 <= len(chunks) <= 20
    assert sum(len(c) for c in chunks) == len(frame)
    assert sorted(pd.concat(chunks)["n"]) == list(range(1000))
    owners: dict[str, int] = {}
    for i, chunk in enumerate(chunks):
        for customer in set(chunk["customer_id"]):
            assert owners.setdefault(customer, i) == i


def test_split_gives_a_large_customer_its_own_chunk() -> None:
    frame = pd.DataFrame({"customer_id": ["a"] * 5 + ["big"] * 50 + ["c"] * 5})
    sizes = [len(c) for c in split_by_customer(frame, chunk_rows=10)]
    assert sizes == [5, 50, 5]


def test_sqlite_path_of_urls() -> None:
    assert sqlite_path("sqla+sqlite:////tmp/b.db") == Path("/tmp/b.db")
    assert sqlite_path("db+sqlite:///rel.db") == Path("rel.db")
    assert sqlite_path("redis://localhost/0") is None


class _FakeRequest:
    retries = 2
    id = "job-1"


class _FakeTask:
    request = _FakeRequest()
    app = None


def test_run_reraises_transient_errors_and_reports_input_errors(monkeypatch) -> None:
    from workers import tasks

    monkeypatch.setattr(tasks, "_check_cancelled", lambda task, job_id: None)

    def locked() -> dict:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    with pytest.raises(TransientError):
        tasks._run(_FakeTask(), locked)

    def bad_input() -> dict:
        raise JobInputError("x.csv", "no such column", "amount")

    result = tasks._run(_FakeTask(), bad_input)
    assert result["ok"] is False and result["attempts"] == 3
    assert tasks._run(_FakeTask(), lambda: {"n": 1}) == {"ok": True, "n": 1, "attempts": 3}


def test_every_task_retries_only_transient_errors_with_backoff(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))
    names = [n for n in app.tasks if n.startswith("moesuite.")]
    assert len(names) == 7
    for name in names:
        task = app.tasks[name]
        assert tuple(task.autoretry_for) == TRANSIENT_ERRORS, name
        assert task.retry_backoff and task.max_retries == 5, name


def test_plain_turns_domain_results_into_json_data() -> None:
    import dataclasses
    from datetime import UTC, datetime

    import numpy as np

    from workers.jobs import plain

    @dataclasses.dataclass(frozen=True)
    class Decision:
        score: float
        at: datetime
        reasons: tuple[str, ...]

    value = plain(Decision(np.float32(0.25), datetime(2024, 1, 2, tzinfo=UTC), ("new device",)))
    assert value == {"score": 0.25, "at": "2024-01-02T00:00:00+00:00", "reasons": ["new device"]}
