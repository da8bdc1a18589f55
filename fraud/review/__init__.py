"""The manual-review queue: typed tables, queue operations and Alembic migrations."""
