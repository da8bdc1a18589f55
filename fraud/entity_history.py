"""Stored rows one transaction's features read: its customer's and its entities' recent rows.

Single-transaction scoring needs them for entity activity features and record models over a
terminal's sequence: a file's batch features see every customer's rows at a terminal, one
transaction scored alone sees its customer's history only, unless these rows are added.
`transaction_history` reads them all in one round trip (a UNION ALL of one range scan per
key); migration 0002 indexes each entity column with the timestamp so every scan is a short
index range, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, literal, select, union_all

from fraud.review.errors import ReviewError
from fraud.review.history import COLUMNS
from fraud.review.models import Transaction

_BRANCH = "__branch"


@dataclass(frozen=True)
class HistoryScan:
    """Rows whose ``column`` equals ``value``, ``since <= timestamp < before``: the ``limit``
    latest of them."""

    column: str
    value: str
    since: datetime | None
    limit: int


def _scan_select(scan: HistoryScan, before: datetime, branch: int):  # noqa: ANN202
    attr = getattr(Transaction, scan.column)
    cond = [attr == scan.value, Transaction.timestamp < before]
    if scan.since is not None:
        cond.append(Transaction.timestamp >= scan.since)
    inner = (
        select(*(getattr(Transaction, c) for c in COLUMNS))
        .where(*cond)
        .order_by(Transaction.timestamp.desc())
        .limit(scan.limit)
        .subquery()
    )
    # ORDER BY/LIMIT inside a compound SELECT need a subquery on SQLite.
    return select(*(inner.c[c] for c in COLUMNS), literal(branch).label(_BRANCH))


def transaction_history(
    engine: Engine, scans: Sequence[HistoryScan], before: datetime
) -> pd.DataFrame:
    """The rows of every scan before ``before``, in one query; each row once, oldest first.

    A row found by several scans is kept once (the first scan's); rows with the same
    timestamp keep the order of their scans. Scans on a column the store does not hold (a
    user-named entity kept in ``extras``) find nothing.

    Returns:
        The canonical columns; ``timestamp`` is tz-aware UTC.
    """
    if before.tzinfo is None or any(s.since is not None and s.since.tzinfo is None for s in scans):
        raise ReviewError("since/before must be timezone-aware datetimes")
    parts = [
        _scan_select(s, before, i)
        for i, s in enumerate(scans)
        if s.column in COLUMNS and s.limit > 0
    ]
    rows: list = []
    if parts:
        stmt = parts[0] if len(parts) == 1 else union_all(*parts)
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=[*COLUMNS, _BRANCH])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    if len(frame) == 0:
        return frame.drop(columns=[_BRANCH])
    frame = frame.sort_values([_BRANCH, "timestamp"], kind="stable")
    frame = frame.drop_duplicates("transaction_id").sort_values("timestamp", kind="stable")
    return frame.drop(columns=[_BRANCH]).reset_index(drop=True)


def entity_history(
    engine: Engine, column: str, value: str, since: datetime, before: datetime, limit: int
) -> pd.DataFrame:
    """Rows whose ``column`` equals ``value`` with ``since <= timestamp < before``, oldest first.

    At most the ``limit`` latest rows; a column the store does not hold (a user-named entity
    kept in ``extras``) gives an empty frame.
    """
    if since.tzinfo is None:
        raise ReviewError("since/before must be timezone-aware datetimes")
    return transaction_history(engine, [HistoryScan(column, value, since, limit)], before)
