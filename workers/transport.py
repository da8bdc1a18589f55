"""A tuned kombu SQLAlchemy transport for the default SQLite broker, and SQLite file setup.

kombu's SQLAlchemy transport polls every second (a ~1 s round trip per task) and hands every
transport option to ``create_engine``, so ``broker_transport_options={"polling_interval": ...}``
crashes it (FIELD_NOTES, Celery 5.7). The subclasses here take the polling interval from a
class attribute and open SQLite in WAL mode with a long busy timeout: with the rollback journal
several workers polling with ``BEGIN IMMEDIATE`` fail with "database is locked".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import event
from sqlalchemy.engine import Engine

#: Seconds SQLite waits for a lock before raising "database is locked".
BUSY_TIMEOUT_S = 30.0
#: The option name this transport reads its polling interval from (popped before create_engine).
POLL_OPTION = "moesuite_polling_interval"
#: Where the broker URL points when it names this transport explicitly.
TRANSPORT_PATH = "workers.transport:SQLiteTransport"


def _tune_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets pollers read while a publisher writes; busy_timeout waits out short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SQLiteChannel(kombu_sqla.Channel):
    """kombu's SQLAlchemy channel with SQLite opened in WAL mode and a busy timeout."""

    def _engine_from_config(self) -> Engine:
        options = self.connection.client.transport_options
        saved = options.pop(POLL_OPTION, None)
        try:
            engine = super()._engine_from_config()
        finally:
            if saved is not None:
                options[POLL_OPTION] = saved
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_connection)
        return engine


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
