"""Indexes on transactions per entity column and timestamp (single-transaction scoring).

Scoring one transaction reads the recent rows of its terminal, merchant and device besides
its customer's (entity activity features, a terminal's record model). Without these indexes
each such read scans the whole history table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 07:45:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTITY_COLUMNS = ("terminal_id", "merchant_id", "device_id")


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        for column in ENTITY_COLUMNS:
            batch_op.create_index(
                f"ix_transactions_{column}_timestamp", [column, "timestamp"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        for column in reversed(ENTITY_COLUMNS):
            batch_op.drop_index(f"ix_transactions_{column}_timestamp")
