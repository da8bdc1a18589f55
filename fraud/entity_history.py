"""Recent rows of one entity (terminal, merchant, device...) from the transaction history store.

Single-transaction scoring needs them for entity activity features: a file's batch features
see every customer's rows at a terminal, one transaction scored alone sees its customer's
history only, unless these rows are added. The query is a range scan on (column, timestamp);
an index on each entity column keeps it cheap on a large store (migration: see
docs/benchmarks.md, fraud features).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select

from fraud.review.errors import ReviewError
from fraud.review.history import COLUMNS
from fraud.review.models import Transaction


def entity_history(
    engine: Engine, column: str, value: str, since: datetime, before: datetime, limit: int
) -> pd.DataFrame:
    """Rows whose ``column`` equals ``value`` with ``since <= timestamp < before``, oldest first.

    At most the ``limit`` latest rows; a column the store does not hold (a user-named entity
    kept in ``extras``) gives an empty frame.
    """
    if before.tzinfo is None or since.tzinfo is None:
        raise ReviewError("since/before must be timezone-aware datetimes")
    if column not in COLUMNS:
        return pd.DataFrame(columns=list(COLUMNS))
    attr = getattr(Transaction, column)
    stmt = (
        select(*(getattr(Transaction, c) for c in COLUMNS))
        .where(attr == value, Transaction.timestamp >= since, Transaction.timestamp < before)
        .order_by(Transaction.timestamp.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in reversed(rows)], columns=list(COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame
