"""The SQLite transport's leases: ack deletes, requeue reuses the row, a dead consumer's message
comes back after its lease, a live consumer's lease is renewed (kombu level, no worker)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from workers.transport import (
    LEASE_OPTION,
    LEASE_TABLE,
    POLL_OPTION,
    RESTORE_OPTION,
    SQLiteChannel,
    prepare_sqlite_file,
)

LEASE_S = 0.6


def _connection(db: Path, lease: float = LEASE_S) -> Connection:
    url = f"sqla+sqlite:///{db}"
    prepare_sqlite_file(url)
    return Connection(
        url[len("sqla+") :],
        transport="workers.transport:SQLiteTransport",
        transport_options={POLL_OPTION: 0.02, LEASE_OPTION: lease, RESTORE_OPTION: 0.05},
    )


def _rows(db: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, visible FROM kombu_message ORDER BY id").fetchall()


def _leases(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(f"SELECT message_id FROM {LEASE_TABLE}")]


QUEUE = Queue("lease-test", Exchange("lease-test"), "lease-test")


def _publish(conn: Connection, body: str) -> None:
    with conn.Producer() as producer:
        producer.publish(body, exchange=QUEUE.exchange, routing_key="lease-test", declare=[QUEUE])


def _take(conn: Connection, timeout: float = 5.0):
    """Consume one message without acknowledging it; returns the kombu Message."""
    got = []
    consumer = conn.Consumer([QUEUE], callbacks=[lambda body, msg: got.append(msg)])
    consumer.qos(prefetch_count=1)
    consumer.consume()
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=0.2)
        except TimeoutError:
            pass
    assert got, "no message delivered"
    return got[0]


@pytest.fixture(autouse=True)
def _fresh_engines():
    # kombu caches one engine per URL in a class attribute; each test has its own file anyway.
    yield
    SQLiteChannel._engines.clear()


def test_ack_deletes_the_message_and_its_lease(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    with _connection(db) as conn:
        _publish(conn, "one")
        message = _take(conn)
        assert message.decode() == "one"
        assert _rows(db) == [(1, 0)] and _leases(db) == [1]
        message.ack()
        assert _rows(db) == [] and _leases(db) == []


def test_requeue_makes_the_same_row_visible_again(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    with _connection(db) as conn:
        _publish(conn, "again")
        message = _take(conn)
        message.requeue()
        assert _rows(db) == [(1, 1)] and _leases(db) == []
        assert _take(conn).decode() == "again"


def test_dead_consumers_message_is_redelivered_after_its_lease(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    dead = _connection(db)
    _publish(dead, "orphan")
    assert _take(dead).decode() == "orphan"
    # The consumer "dies": it is never polled, acked or closed again, so it renews nothing.
    before = time.monotonic()
    with _connection(db) as survivor:
        message = _take(survivor, timeout=10)
        waited = time.monotonic() - before
        assert message.decode() == "orphan"
        assert waited >= LEASE_S * 0.8
        message.ack()
    assert _rows(db) == []


def _deadlines(db: Path) -> list[float]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute(f"SELECT deadline FROM {LEASE_TABLE}")]


def _poll(conn: Connection) -> None:
    try:
        conn.drain_events(timeout=0.05)
    except TimeoutError:
        pass


def _poll_round_seconds(db: Path) -> float:
    """The slowest of a few rounds of both consumers polling, on this machine now."""
    with _connection(db) as a, _connection(db) as b:
        a.Consumer([QUEUE], callbacks=[lambda body, msg: None]).consume()
        b.Consumer([QUEUE], callbacks=[lambda body, msg: None]).consume()
        rounds = []
        for _ in range(5):
            start = time.monotonic()
            _poll(a)
            _poll(b)
            rounds.append(time.monotonic() - start)
    SQLiteChannel._engines.clear()
    return max(rounds)


def test_live_consumer_renews_its_lease(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    # The lease must outlast the gap between two polls of the holder; on a loaded machine a
    # poll round can take far longer than on a quiet one, so the lease scales with a measured
    # round (at least LEASE_S, at most 30 s) instead of assuming 0.6 s is always enough.
    lease = min(max(LEASE_S, 8 * _poll_round_seconds(tmp_path / "probe.db")), 30.0)
    with _connection(db, lease) as holder, _connection(db, lease) as other:
        _publish(holder, "held")
        held = _take(holder)
        # Each poll of the holder pushes its lease deadline back.
        first = _deadlines(db)
        time.sleep(max(lease / 4, 0.05) + 0.01)
        _poll(holder)
        assert _deadlines(db)[0] > first[0]
        got = []
        consumer = other.Consumer([QUEUE], callbacks=[lambda body, msg: got.append(body)])
        consumer.consume()
        started = last_poll = time.monotonic()
        longest_gap = 0.0
        while time.monotonic() < started + 4 * lease:
            # The holder keeps polling (its worker is alive while the task runs) ...
            _poll(holder)
            now = time.monotonic()
            longest_gap, last_poll = max(longest_gap, now - last_poll), now
            _poll(other)
        # ... so the other consumer never got the message, though its lease time passed 4x.
        assert longest_gap < lease, f"holder starved for {longest_gap:.2f} s (lease {lease:.2f})"
        assert got == []
        held.ack()
    assert _rows(db) == []
