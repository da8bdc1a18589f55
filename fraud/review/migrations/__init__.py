"""Alembic migrations of the review queue (a package so that it ships in the wheel)."""
