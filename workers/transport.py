"""A tuned kombu SQLAlchemy transport for the default SQLite broker, and SQLite file setup.

kombu's SQLAlchemy transport polls every second (a ~1 s round trip per task) and hands every
transport option to ``create_engine``, so ``broker_transport_options={"polling_interval": ...}``
crashes it (FIELD_NOTES, Celery 5.7). The subclasses here take their own options under
``moesuite_*`` keys (popped before ``create_engine``) and open SQLite in WAL mode with a long
busy timeout: with the rollback journal several workers polling with ``BEGIN IMMEDIATE`` fail
with "database is locked".

Redelivery. kombu marks a message it hands out ``visible = 0`` and never looks at it again, so
the task of a worker that died wholesale (main process included: nothing is left to requeue it)
is lost, and acknowledged messages pile up in the table. Here every message taken is *leased*:
a row in ``moesuite_lease`` holds its deadline. The live consumer renews the leases of the
messages it holds on every poll (so a task may run longer than the lease), acknowledging a
message deletes it, requeueing makes the same row visible again, and any consumer makes
messages whose lease ran out visible again (as Redis' ``visibility_timeout`` does). A task can
therefore run twice — after its worker was cut off for longer than the lease — which the tasks
tolerate: their effects are idempotent.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from json import loads
from pathlib import Path
from queue import Empty
from typing import Any

from celery.utils.log import get_logger
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

logger = get_logger(__name__)

#: Seconds SQLite waits for a lock before raising "database is locked".
BUSY_TIMEOUT_S = 30.0
#: The option name this transport reads its polling interval from (popped before create_engine).
POLL_OPTION = "moesuite_polling_interval"
#: Seconds a taken, unacknowledged message stays invisible without its consumer renewing it.
LEASE_OPTION = "moesuite_visibility_timeout"
#: Seconds between sweeps that make messages with an expired lease visible again.
RESTORE_OPTION = "moesuite_restore_interval"
_OWN_OPTIONS = (POLL_OPTION, LEASE_OPTION, RESTORE_OPTION)
#: Where the broker URL points when it names this transport explicitly.
TRANSPORT_PATH = "workers.transport:SQLiteTransport"
#: The table holding the lease deadline of every taken, unacknowledged message.
LEASE_TABLE = "moesuite_lease"

DEFAULT_VISIBILITY_TIMEOUT_S = 3600.0
DEFAULT_RESTORE_INTERVAL_S = 10.0


def _tune_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pollers read while a publisher writes; busy_timeout waits out short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LeasingQoS(virtual.QoS):
    """Acknowledging deletes the message row; rejecting without requeue does too."""

    def ack(self, delivery_tag: str) -> None:
        self.channel._forget(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if not requeue:
            self.channel._forget(delivery_tag)
        super().reject(delivery_tag, requeue=requeue)


class SQLiteChannel(kombu_sqla.Channel):
    """kombu's SQLAlchemy channel with WAL SQLite, busy timeout and leased messages.

    Sessions are per thread: a prefork worker acknowledges from the pool's result thread
    while its consumer thread polls, and one shared session then breaks mid-transaction
    (leaving the file locked for every other worker).
    """

    QoS = LeasingQoS

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self._local = threading.local()
        super().__init__(connection, **kwargs)
        options = connection.client.transport_options
        self.visibility_timeout = float(
            options.get(LEASE_OPTION, DEFAULT_VISIBILITY_TIMEOUT_S)
        )
        self.restore_interval = float(options.get(RESTORE_OPTION, DEFAULT_RESTORE_INTERVAL_S))
        #: delivery tag -> message row id of the messages this channel holds.
        self._taken: dict[str, int] = {}
        self._next_renew = 0.0
        self._next_sweep = 0.0

    def _engine_from_config(self) -> Engine:
        options = self.connection.client.transport_options
        saved = {k: options.pop(k) for k in _OWN_OPTIONS if k in options}
        try:
            engine = super()._engine_from_config()
        finally:
            options.update(saved)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_connection)
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} "
                    "(message_id INTEGER PRIMARY KEY, deadline FLOAT NOT NULL)"
                )
            )
        return engine

    @property
    def session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            _, factory = self._open()
            session = self._local.session = factory()
        return session

    @contextmanager
    def _transaction(self, immediate: bool = False) -> Iterator[Any]:
        """The thread's session in a transaction: committed, or rolled back on any error."""
        session = self.session
        try:
            if immediate and session.bind.name == "sqlite":
                # Take the write lock up front: two pollers must not pick the same message.
                session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
            yield session
        except Empty:
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        session.commit()

    def _get(self, queue: str) -> Any:
        obj = self._get_or_create(queue)
        with self._transaction(immediate=True) as session:
            msg = (
                session.query(self.message_cls)
                .with_for_update()
                .filter(self.message_cls.queue_id == obj.id)
                .filter(self.message_cls.visible != False)  # noqa: E712 - SQL expression
                .order_by(self.message_cls.sent_at)
                .order_by(self.message_cls.id)
                .limit(1)
                .first()
            )
            if msg is None:
                raise Empty()
            msg.visible = False
            session.flush()
            message_id, payload = msg.id, loads(bytes_to_str(msg.payload))
            session.execute(
                text(f"DELETE FROM {LEASE_TABLE} WHERE message_id = :id"), {"id": message_id}
            )
            session.execute(
                text(f"INSERT INTO {LEASE_TABLE} (message_id, deadline) VALUES (:id, :deadline)"),
                {"id": message_id, "deadline": time.time() + self.visibility_timeout},
            )
        self._taken[payload["properties"]["delivery_tag"]] = message_id
        return payload

    def _forget(self, delivery_tag: str) -> None:
        """Delete an acknowledged (or dropped) message and its lease."""
        message_id = self._taken.pop(delivery_tag, None)
        if message_id is None:
            return
        with self._transaction() as session:
            session.execute(
                text(f"DELETE FROM {LEASE_TABLE} WHERE message_id = :id"), {"id": message_id}
            )
            session.execute(
                text(f"DELETE FROM {self.message_tablename} WHERE id = :id"), {"id": message_id}
            )

    def _restore(self, message: Any) -> None:
        # Requeue the row itself (visible again, lease dropped) instead of kombu's copy, which
        # would leave the original invisible row behind.
        message_id = self._taken.pop(message.delivery_tag, None)
        if message_id is None:
            super()._restore(message)
            return
        with self._transaction() as session:
            session.execute(
                text(f"DELETE FROM {LEASE_TABLE} WHERE message_id = :id"), {"id": message_id}
            )
            session.execute(
                text(
                    f"UPDATE {self.message_tablename} SET visible = 1, version = version + 1 "
                    "WHERE id = :id"
                ),
                {"id": message_id},
            )

    def renew_leases(self) -> None:
        """Push back the lease deadline of every message this channel holds."""
        ids = list(self._taken.copy().values())  # the pool's thread may ack meanwhile
        if not ids:
            return
        with self._transaction() as session:
            session.execute(
                text(f"UPDATE {LEASE_TABLE} SET deadline = :deadline WHERE message_id = :id"),
                [{"deadline": time.time() + self.visibility_timeout, "id": i} for i in ids],
            )

    def restore_expired(self) -> int:
        """Make messages whose lease ran out (their consumer died) visible again."""
        with self._transaction(immediate=True) as session:
            now = {"now": time.time()}
            expired = f"SELECT message_id FROM {LEASE_TABLE} WHERE deadline < :now"
            count = session.execute(
                text(
                    f"UPDATE {self.message_tablename} SET visible = 1, version = version + 1 "
                    f"WHERE id IN ({expired})"
                ),
                now,
            ).rowcount
            session.execute(text(f"DELETE FROM {LEASE_TABLE} WHERE deadline < :now"), now)
        if count:
            logger.warning("redelivering %d message(s) whose consumer stopped renewing", count)
        return count

    def drain_events(self, timeout: float | None = None, callback: Any = None) -> Any:
        # Called on every poll of a consuming worker, also while it is busy (prefetch full).
        now = time.monotonic()
        if now >= self._next_renew:
            self.renew_leases()
            self._next_renew = now + max(self.visibility_timeout / 4, 0.05)
        if now >= self._next_sweep:
            self.restore_expired()
            self._next_sweep = now + self.restore_interval
        return super().drain_events(timeout=timeout, callback=callback)


class SQLiteTransport(kombu_sqla.Transport):
    """kombu's SQLAlchemy transport polling every 0.1 s instead of every second."""

    Channel = SQLiteChannel
    polling_interval = 0.1

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        interval = client.transport_options.get(POLL_OPTION)
        if interval is not None:
            self.polling_interval = float(interval)


def is_sqla_sqlite(url: str) -> bool:
    """Whether a broker URL is kombu's SQLAlchemy transport on an SQLite file."""
    return url.startswith("sqla+sqlite:")


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLAlchemy SQLite URL (``sqla+``/``db+`` prefixes allowed), else None."""
    for prefix in ("sqla+", "db+"):
        if url.startswith(prefix):
            url = url[len(prefix) :]
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :].split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest if rest.startswith("/") else rest)


def prepare_sqlite_file(url: str) -> None:
    """Create the directory of an SQLite URL's file and switch the file to WAL mode.

    WAL mode is stored in the file, so setting it once also covers connections opened by code
    that cannot be hooked (Celery's database result backend).
    """
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
