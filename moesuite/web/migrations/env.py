"""Alembic environment for the web tables: runs on the connection moesuite.web.store passes in."""

from __future__ import annotations

from alembic import context

from moesuite.web.models import WebBase

VERSION_TABLE = "web_alembic_version"


def _ours(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    # The review queue's tables share the database; they belong to fraud's migrations.
    return type_ != "table" or name in WebBase.metadata.tables


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=WebBase.metadata,
        version_table=VERSION_TABLE,
        include_object=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
run_migrations_online()
