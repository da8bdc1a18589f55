"""Behavioural features: causality (no label leakage), batch == single, optional columns."""

import numpy as np
import pandas as pd
import pytest

from fraud.features import (
    FeatureSchemaError,
    compute_features,
    features_for_one,
    fit_feature_schema,
    hours_weekdays,
    string_keys,
)
from tests.fraud.txn_frames import make_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(n=3000, n_customers=60, days=40, seed=1)


def test_future_labels_do_not_change_features(frame):
    schema = fit_feature_schema(frame)
    base = compute_features(frame, schema)
    t = frame["timestamp"].iloc[len(frame) // 2]
    perturbed = frame.copy()
    future = (perturbed["label_time"] > t).to_numpy()
    assert future.sum() > 100
    perturbed.loc[future, "is_fraud"] = 1 - perturbed.loc[future, "is_fraud"]
    after = compute_features(perturbed, schema)
    early = (frame["timestamp"] <= t).to_numpy()
    pd.testing.assert_frame_equal(base[early], after[early])
    # The perturbation does reach later rows, so the check above can fail.
    risk = [c for c in base.columns if c.endswith("_risk")]
    assert not np.allclose(base.loc[~early, risk], after.loc[~early, risk])


def test_label_delay_applies_without_label_time(frame):
    no_lt = frame.drop(columns=["label_time"])
    schema = fit_feature_schema(no_lt)
    base = compute_features(no_lt, schema)
    flipped = no_lt.copy()
    last_day = flipped["timestamp"] > flipped["timestamp"].max() - pd.Timedelta(days=6)
    flipped.loc[last_day, "is_fraud"] = 1 - flipped.loc[last_day, "is_fraud"]
    # Labels of the last 6 days become known only after 7 days: nothing in the file sees them.
    pd.testing.assert_frame_equal(base, compute_features(flipped, schema))


def test_single_transaction_matches_batch(frame):
    schema = fit_feature_schema(frame)
    batch = compute_features(frame, schema)
    # Entity features need the entity's rows too (tests/fraud/test_entity_features.py).
    non_risk = [
        c for c in schema.names if not c.startswith(tuple(f"{e}_" for e in schema.entities))
    ]
    cust = frame["customer_id"].value_counts().index[0]
    rows = frame.index[frame["customer_id"] == cust]
    for pos in [rows[0], rows[1], rows[len(rows) // 2], rows[-1]]:
        history = frame.loc[rows[rows < pos]]
        single = features_for_one(frame.loc[pos].to_dict(), history, schema)
        np.testing.assert_allclose(
            single[non_risk].to_numpy(float),
            batch.loc[pos, non_risk].to_numpy(float),
            rtol=1e-5,
            atol=1e-4,  # window sums are cumsum differences
        )


def test_single_customer_risk_matches_batch(frame):
    one = frame[frame["customer_id"] == frame["customer_id"].iloc[0]].reset_index(drop=True)
    schema = fit_feature_schema(frame)
    batch = compute_features(one, schema)
    last = one.index[-1]
    single = features_for_one(one.loc[last].to_dict(), one.iloc[:-1], schema)
    np.testing.assert_allclose(single.to_numpy(float), batch.loc[last].to_numpy(float), atol=1e-9)


def test_absent_columns_produce_no_features(frame):
    slim = frame.drop(columns=["lat", "lon", "merchant_id", "channel"])
    schema = fit_feature_schema(slim)
    assert "dist_home_km" not in schema.names and "merchant_id_risk" not in schema.names
    assert "mcc_risk" in schema.names
    feats = compute_features(slim, schema)
    assert list(feats.columns) == list(schema.names)
    full = fit_feature_schema(frame)
    with pytest.raises(FeatureSchemaError, match="lat"):
        compute_features(slim, full)


def test_windows_and_novelty_by_hand():
    ts = pd.to_datetime(
        ["2026-01-01 00:00", "2026-01-01 00:30", "2026-01-01 02:00", "2026-01-03 00:00"], utc=True
    )
    f = pd.DataFrame(
        {
            "transaction_id": list("abcd"),
            "timestamp": ts,
            "customer_id": "c",
            "amount": [10.0, 20.0, 30.0, 40.0],
            "merchant_id": ["m1", "m1", "m2", "m1"],
        }
    )
    feats = compute_features(f, fit_feature_schema(f))
    assert feats["count_1h"].tolist() == [0, 1, 0, 0]
    assert feats["count_24h"].tolist() == [0, 1, 2, 0]
    assert feats["amount_sum_24h"].tolist() == [0, 10, 30, 0]
    assert feats["new_merchant_id"].tolist() == [1, 0, 1, 0]
    assert np.isnan(feats["secs_since_prev"].iloc[0]) and feats["secs_since_prev"].iloc[1] == 1800


def test_hours_weekdays_match_pandas():
    ts = pd.Series(pd.date_range("1969-12-25", periods=500, freq="7h13min", tz="UTC"))
    hour, weekday = hours_weekdays(ts.to_numpy(dtype="datetime64[ms]").astype(np.int64))
    np.testing.assert_array_equal(hour, ts.dt.hour.to_numpy())
    np.testing.assert_array_equal(weekday, ts.dt.day_of_week.to_numpy())


def test_string_keys_short_and_long_columns_agree():
    values = pd.Series(["m1", None, 5411, 5411.0, np.nan, "x", True] * 400, dtype=object)
    short = [string_keys(values.iloc[i : i + 7]) for i in range(0, len(values), 7)]
    assert len(values) > 2048  # the long column takes pandas' path
    np.testing.assert_array_equal(np.concatenate(short), string_keys(values))
    assert list(short[0]) == ["m1", None, "5411", "5411.0", None, "x", "True"]
