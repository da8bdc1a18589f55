"""Migration scripts; Alembic loads them by path."""
