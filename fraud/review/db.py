"""Engines for the review database: SQLite tuned for concurrent writers, migrations on first use.

SQLite settings follow the measurements in FIELD_NOTES: WAL + ``busy_timeout`` 30 s +
``synchronous=NORMAL`` and ``BEGIN IMMEDIATE`` for write transactions (a deferred transaction that
upgrades from read to write fails at once whatever the timeout says). Use `write_transaction` for
anything that writes; plain ``engine.begin()`` stays a deferred (read) transaction.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from fraud.review.errors import ReviewDatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IMMEDIATE = "review_begin_immediate"
# Any constant works; it only has to be the same for every process migrating one database.
_PG_MIGRATION_LOCK = 7_214_623_001

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_review_engine(url: str) -> Engine:
    """A new engine for ``url`` with the SQLite settings above; no migration.

    Raises:
        ReviewDatabaseError: The URL cannot be parsed or names an unknown driver.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ReviewDatabaseError(f"database URL {url!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise ReviewDatabaseError(f"cannot use database {_safe_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front (``BEGIN IMMEDIATE`` on SQLite)."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


def alembic_config(connection: Connection | None = None, url: str | None = None):  # noqa: ANN201
    """The Alembic `Config` for the packaged migrations, bound to a connection or a URL."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _migrate(engine: Engine, action: str, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    try:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            getattr(command, action)(alembic_config(conn), revision)
    except (SQLAlchemyError, CommandError) as exc:  # CommandError: e.g. an unknown revision
        raise ReviewDatabaseError(
            f"cannot migrate review database {_safe_url(str(engine.url))}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision``; safe to run from many processes at once.

    Concurrent migrators serialize on ``BEGIN IMMEDIATE`` (SQLite) or an advisory lock
    (PostgreSQL), so the second one finds the schema already at head.

    Raises:
        ReviewDatabaseError: The database cannot be reached or a migration fails.
    """
    _migrate(engine, "upgrade", revision)


def downgrade_database(engine: Engine, revision: str) -> None:
    """Revert the schema to ``revision`` (``"base"`` drops every review table and its data).

    Raises:
        ReviewDatabaseError: The database cannot be reached or a migration fails.
    """
    _migrate(engine, "downgrade", revision)


def packaged_heads() -> frozenset[str]:
    """The head revisions of the packaged migrations, read from the files without Alembic.

    Importing Alembic costs 0.2-1 s, which every review command would pay to learn that the
    schema is already current; the files' ``revision`` / ``down_revision`` assignments say it.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
            name = getattr(target, "id", None)
            value = getattr(node, "value", None)
            if name not in ("revision", "down_revision") or value is None:
                continue
            literal = ast.literal_eval(value)
            items = literal if isinstance(literal, (tuple, list)) else [literal]
            (revisions if name == "revision" else parents).update(i for i in items if i)
    return frozenset(revisions - parents)


def current_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions the database stands at (empty at base); None when it cannot be read
    (no ``alembic_version`` table yet, or the server is unreachable)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(rows)
    except SQLAlchemyError:
        return None


def _schema_is_current(engine: Engine) -> bool:
    """True when the database already stands at the packaged heads (no migration needed)."""
    current = current_revisions(engine)
    if current is None:
        return False  # no table yet, or unreachable: the migration reports it properly
    heads = packaged_heads()
    return bool(heads) and current == heads


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``, migrated to the latest schema on first use.

    Creates the SQLite file's directory when needed. Engines are cached per URL, so callers may
    call this on every request.

    Raises:
        ReviewDatabaseError: Invalid URL, unreachable server or failed migration.
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_review_engine(url)
            if not _schema_is_current(engine):
                upgrade_database(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests and short-lived processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
