"""One query for a transaction's stored context: its customer's and its entities' rows."""

from datetime import timedelta

import pandas as pd

from fraud.entity_history import HistoryScan, transaction_history
from fraud.review.history import record_transactions
from tests.fraud.txn_frames import make_frame


def test_one_query_reads_customer_and_entity_rows_once_oldest_first(engine):
    frame = make_frame(n=3000, n_customers=60, days=40, seed=1).drop(
        columns=["is_fraud", "label_time"]
    )
    frame["terminal_id"] = [f"T{int(m[1:]) % 25}" for m in frame["merchant_id"]]
    frame["timestamp"] = frame["timestamp"].dt.floor("us")
    record_transactions(engine, frame)
    last = frame.iloc[-1]
    before = last["timestamp"].to_pydatetime()
    since = before - timedelta(days=7)
    scans = [
        HistoryScan("customer_id", last["customer_id"], None, 20),
        HistoryScan("terminal_id", last["terminal_id"], since, 1000),
        HistoryScan("lat", "1.0", None, 5),  # a column the store has but no entity: nothing
        HistoryScan("not_stored", "x", None, 5),  # a column the store lacks: ignored
    ]
    got = transaction_history(engine, scans, before)
    earlier = frame[frame["timestamp"] < last["timestamp"]]
    customer = earlier[earlier["customer_id"] == last["customer_id"]].tail(20)
    terminal = earlier[
        (earlier["terminal_id"] == last["terminal_id"])
        & (earlier["timestamp"] >= pd.Timestamp(since))
    ]
    expected = set(customer["transaction_id"]) | set(terminal["transaction_id"])
    assert got["transaction_id"].is_unique and set(got["transaction_id"]) == expected
    assert got["timestamp"].is_monotonic_increasing
    assert str(got["timestamp"].dt.tz) == "UTC"
