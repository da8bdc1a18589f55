"""Transaction history store: the canonical fraud frame's rows, looked up per customer.

`customer_history` serves single-transaction scoring (goal p99 <= 15 ms), so it is one indexed
range scan on ``(customer_id, timestamp)`` and builds the frame straight from the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from fraud.review.db import write_transaction
from fraud.review.errors import InvalidCaseInput, ReviewError
from fraud.review.tables import transactions

COLUMNS = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "amount",
    "currency",
    "merchant_id",
    "mcc",
    "terminal_id",
    "country",
    "channel",
    "device_id",
    "lat",
    "lon",
)
REQUIRED = ("transaction_id", "timestamp", "customer_id")
_FLOATS = ("amount", "lat", "lon")
_BATCH = 2000


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    """A JSON-able Python scalar for an extras value (numpy / pandas scalars included)."""
    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def _timestamp(value: Any, row: int) -> datetime:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidCaseInput(row, "timestamp", f"not a timestamp: {value!r}") from exc
    if stamp is pd.NaT:
        raise InvalidCaseInput(row, "timestamp", "is missing")
    # Naive timestamps in the canonical frame are UTC.
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ReviewError(f"transaction frame lacks required column(s): {', '.join(missing)}")
    extras = [c for c in frame.columns if c not in COLUMNS]
    for position, record in enumerate(frame.to_dict("records")):
        values: dict[str, Any] = {}
        for name in REQUIRED:
            if _is_missing(record[name]):
                raise InvalidCaseInput(position, name, "is missing")
        values["timestamp"] = _timestamp(record["timestamp"], position)
        values["transaction_id"] = str(record["transaction_id"])
        values["customer_id"] = str(record["customer_id"])
        for name in COLUMNS[3:]:
            value = record.get(name)
            if _is_missing(value):
                values[name] = None
            elif name in _FLOATS:
                try:
                    values[name] = float(value)
                except (TypeError, ValueError) as exc:
                    raise InvalidCaseInput(position, name, f"not a number: {value!r}") from exc
            else:
                values[name] = str(value)
        values["extras"] = {c: _plain(record[c]) for c in extras} or None
        yield values


def record_transactions(engine: Engine, frame: pd.DataFrame) -> int:
    """Store transactions; rows whose transaction_id is already stored are skipped.

    Args:
        frame: The canonical fraud frame (``transaction_id``, ``timestamp``, ``customer_id``
            required; the other canonical columns optional and nullable). Other columns go to
            the ``extras`` JSON column.

    Returns:
        How many rows were new.

    Raises:
        InvalidCaseInput: A row misses a required field or has a malformed value (row position).
    """
    rows = list(_rows(frame))
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(transactions).on_conflict_do_nothing(index_elements=["transaction_id"])
    inserted = 0
    for start in range(0, len(rows), _BATCH):
        with write_transaction(engine) as conn:
            result = conn.execute(
                stmt.returning(transactions.c.transaction_id), rows[start : start + _BATCH]
            )
            inserted += len(result.all())
    return inserted


_HISTORY = select(*(transactions.c[c] for c in COLUMNS), transactions.c.extras)


def customer_history(
    engine: Engine, customer_id: str, before: datetime, limit: int = 50
) -> pd.DataFrame:
    """The customer's last ``limit`` transactions strictly before ``before``, oldest first.

    Returns:
        A frame with the canonical columns plus ``extras`` (dict or None); ``timestamp`` is
        tz-aware UTC.
    """
    if before.tzinfo is None:
        raise ReviewError(f"before={before!r} is naive; pass a timezone-aware datetime")
    stmt = (
        _HISTORY.where(transactions.c.customer_id == customer_id, transactions.c.timestamp < before)
        .order_by(transactions.c.timestamp.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all() if limit > 0 else []
    frame = pd.DataFrame.from_records(
        [tuple(r) for r in reversed(rows)], columns=[*COLUMNS, "extras"]
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame
