"""A schema cut to one transaction's keys gives that transaction the same features."""

import numpy as np
import pandas as pd

from fraud.features import compute_features, fit_feature_schema, with_risk_tables
from fraud.key_tables import schema_for_keys
from tests.fraud.txn_frames import make_frame


def _frame() -> pd.DataFrame:
    frame = make_frame(n=3000, n_customers=60, days=40, seed=1)
    frame["terminal_id"] = [f"T{int(m[1:]) % 25}" for m in frame["merchant_id"]]
    return frame


def test_cut_schema_gives_the_last_row_the_same_features():
    frame = _frame()
    cutoff = frame["timestamp"].iloc[2000]
    schema = with_risk_tables(
        fit_feature_schema(frame), frame[frame["timestamp"] <= cutoff], cutoff.value // 10**6
    )
    later = frame[frame["timestamp"] > cutoff].drop(columns=["is_fraud", "label_time"])
    for pos in later.index[[0, 50, 400]]:
        rows = later.loc[:pos]
        keys = {e: str(rows[e].iloc[-1]) for e in schema.entities if e in rows.columns}
        cut = schema_for_keys(schema, keys)
        # Only the transaction's own entries are left, and they are there.
        assert set(cut.recent["terminal_id"].keys) == {keys["terminal_id"]}
        assert len(cut.recent["terminal_id"].keys) < len(schema.recent["terminal_id"].keys)
        assert list(cut.risk["merchant_id"].counts) == [keys["merchant_id"]]
        full = compute_features(rows, schema).iloc[-1].to_numpy(float)
        np.testing.assert_array_equal(compute_features(rows, cut).iloc[-1].to_numpy(float), full)
