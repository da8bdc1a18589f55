"""Transaction history store: idempotent writes, extras, per-customer lookups, bad rows."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from fraud.review.errors import InvalidCaseInput, ReviewError
from fraud.review.history import COLUMNS, customer_history, record_transactions


def _frame(n: int, start: str = "2026-03-01") -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "transaction_id": [f"h{i:04d}" for i in range(n)],
            "timestamp": pd.date_range(start, periods=n, freq="min", tz="UTC"),
            "customer_id": [f"c{i % 3}" for i in range(n)],
            "amount": rng.uniform(1, 500, n).round(2),
            "currency": "EUR",
            "merchant_id": [f"m{i % 5}" for i in range(n)],
            "mcc": "5411",
            "country": ["FR", None] * (n // 2) + ["FR"] * (n % 2),
            "lat": np.where(np.arange(n) % 4 == 0, np.nan, 48.85),
            "risk_feature": np.arange(n, dtype=np.int64),
        }
    )


def test_record_is_idempotent_and_history_is_ordered(engine):
    frame = _frame(30)
    assert record_transactions(engine, frame) == 30
    assert record_transactions(engine, frame) == 0
    assert record_transactions(engine, _frame(32)) == 2

    before = datetime(2026, 3, 1, 0, 20, tzinfo=UTC)
    history = customer_history(engine, "c1", before=before, limit=4)
    assert list(history.columns) == [*COLUMNS, "extras"]
    expected = frame[(frame.customer_id == "c1") & (frame.timestamp < before)].tail(4)
    assert list(history.transaction_id) == list(expected.transaction_id)
    assert history.timestamp.is_monotonic_increasing
    assert str(history.timestamp.dt.tz) == "UTC"
    assert list(history.amount) == pytest.approx(list(expected.amount))
    row = history.iloc[-1]
    assert row.extras == {"risk_feature": int(expected.risk_feature.iloc[-1])}
    assert row.terminal_id is None  # absent optional column -> NULL
    nan_lat = customer_history(engine, "c0", before=before, limit=50)
    assert nan_lat.lat.isna().any() and not nan_lat.lat.isna().all()


def test_history_edges(engine):
    record_transactions(engine, _frame(10))
    first = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert customer_history(engine, "c0", before=first, limit=10).empty  # strictly before
    assert customer_history(engine, "nobody", before=datetime.now(UTC), limit=10).empty
    assert customer_history(engine, "c0", before=datetime.now(UTC), limit=0).empty
    naive = pd.DataFrame(
        {"transaction_id": ["n1"], "timestamp": ["2026-03-01 12:00"], "customer_id": ["c9"]}
    )
    record_transactions(engine, naive)  # naive timestamps are UTC
    got = customer_history(engine, "c9", before=datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC))
    assert list(got.transaction_id) == ["n1"]


def test_bad_rows_name_row_and_field(engine):
    frame = _frame(3)
    with pytest.raises(ReviewError, match="customer_id"):
        record_transactions(engine, frame.drop(columns=["customer_id"]))
    broken = frame.copy()
    broken.loc[2, "customer_id"] = None
    with pytest.raises(InvalidCaseInput, match="row 2, field 'customer_id'"):
        record_transactions(engine, broken)
    bad_amount = frame.astype({"amount": object})
    bad_amount.loc[1, "amount"] = "lots"
    with pytest.raises(InvalidCaseInput, match="row 1, field 'amount'"):
        record_transactions(engine, bad_amount)
    assert customer_history(engine, "c0", before=datetime.now(UTC)).empty
