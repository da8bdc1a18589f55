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
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Integer, bindparam, literal, select, union_all

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


@lru_cache(maxsize=64)
def _statement(shape: tuple[tuple[str, bool], ...]):  # noqa: ANN202
    """The UNION ALL for scans of this shape ((column, has since) each), built once: values,
    bounds and limits are bound parameters, so SQLAlchemy's compiled cache serves each call."""
    cols = [getattr(Transaction, c) for c in COLUMNS]
    parts = []
    for i, (column, has_since) in enumerate(shape):
        attr = getattr(Transaction, column)
        cond = [attr == bindparam(f"v{i}"), Transaction.timestamp < bindparam("before")]
        if has_since:
            cond.append(Transaction.timestamp >= bindparam(f"s{i}"))
        inner = (
            select(*cols)
            .where(*cond)
            .order_by(Transaction.timestamp.desc())
            .limit(bindparam(f"l{i}", type_=Integer))
            .subquery()
        )
        # ORDER BY/LIMIT inside a compound SELECT need a subquery on SQLite.
        parts.append(select(*(inner.c[c] for c in COLUMNS), literal(i).label(_BRANCH)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


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
    used = [s for s in scans if s.column in COLUMNS and s.limit > 0]
    rows: list[Any] = []
    if used:
        params: dict[str, Any] = {"before": before}
        for i, scan in enumerate(used):
            params[f"v{i}"], params[f"l{i}"] = scan.value, scan.limit
            if scan.since is not None:
                params[f"s{i}"] = scan.since
        stmt = _statement(tuple((s.column, s.since is not None) for s in used))
        with engine.connect() as conn:
            rows = conn.execute(stmt, params).all()
    # Oldest first per scan, the first scan's copy of a row, then oldest first overall.
    ts_at, branch_at = COLUMNS.index("timestamp"), len(COLUMNS)
    rows.sort(key=lambda r: (r[branch_at], r[ts_at]))
    seen: set[str] = set()
    unique = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]
    unique.sort(key=lambda r: r[ts_at])
    frame = pd.DataFrame.from_records([tuple(r)[:branch_at] for r in unique], columns=COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


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
