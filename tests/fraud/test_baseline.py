"""The textbook reference baseline: causal features, label delay, file columns, fitting."""

import numpy as np
import pandas as pd
import pytest

from fraud.baseline import (
    BaselineConfig,
    BaselineError,
    baseline_features,
    fit_and_score_baseline,
)
from tests.fraud.txn_frames import make_frame

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _rows(spec):
    """(day offset, customer, terminal, amount, is_fraud) -> a minimal canonical frame."""
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(len(spec))],
            "timestamp": [T0 + d * DAY for d, *_ in spec],
            "customer_id": [c for _, c, *_ in spec],
            "terminal_id": [t for _, _, t, *_ in spec],
            "amount": [float(a) for *_, a, _ in spec],
            "is_fraud": pd.array([y for *_, y in spec], dtype="Int8"),
        }
    )


def test_customer_windows_count_and_mean_by_hand():
    frame = _rows(
        [
            (0.0, "a", "T1", 10, 0),
            (0.5, "a", "T1", 30, 0),
            (0.5, "b", "T1", 1000, 0),  # another customer never counts for "a"
            (3.0, "a", "T2", 50, 0),
            (40.0, "a", "T2", 70, 0),
        ]
    )
    x = baseline_features(frame)
    assert x["customer_count_1d"].tolist() == [1, 2, 1, 1, 1]
    assert x["customer_mean_amount_1d"].tolist() == [10, 20, 1000, 50, 70]
    assert x["customer_count_7d"].tolist() == [1, 2, 1, 3, 1]
    assert x["customer_mean_amount_7d"][3] == pytest.approx(30.0)
    assert x["customer_count_30d"][4] == 1  # day 40: the others are more than 30 days back


def test_terminal_risk_counts_a_label_only_once_it_is_known():
    frame = _rows(
        [
            (0.0, "a", "T1", 10, 1),  # fraud, known on day 7 (no label_time: the delay)
            (3.0, "b", "T1", 10, 0),
            (7.5, "c", "T1", 10, 0),
            (7.5, "d", "T9", 10, 0),  # another terminal
            (20.0, "e", "T1", 10, 0),
        ]
    )
    x = baseline_features(frame, BaselineConfig(label_delay_days=7))
    # The fraud's label is unknown on day 3, known on day 7.5 (within the last 1 day).
    assert x["terminal_labels_30d"].tolist() == [0, 0, 1, 0, 3]  # day 20: rows of days 0-13
    assert x["terminal_fraud_rate_1d"].tolist() == [0, 0, 1.0, 0, 0]
    assert x["terminal_fraud_rate_30d"].tolist() == pytest.approx([0, 0, 1.0, 0, 1 / 3])
    assert x["terminal_count_7d"].tolist() == [1, 2, 2, 1, 1]
    # With label_time, the label counts when it was reported, not after the default delay.
    frame["label_time"] = frame["timestamp"] + pd.Timedelta(days=2)
    x = baseline_features(frame, BaselineConfig(label_delay_days=7))
    assert x["terminal_fraud_rate_1d"][1] == 0 and x["terminal_fraud_rate_7d"][1] == 1.0


def test_features_are_causal():
    frame = make_frame(n=3000, n_customers=60, days=40, seed=3)
    frame["terminal_id"] = frame["merchant_id"] + "-t"
    full = baseline_features(frame)
    cut = frame["timestamp"] < "2026-01-25"
    early = baseline_features(frame[cut])
    pd.testing.assert_frame_equal(full[cut.to_numpy()], early)
    # A later label (even a row's own) never changes an earlier feature.
    flipped = frame.copy()
    later = ~cut.to_numpy()
    flipped.loc[later, "is_fraud"] = 1 - flipped.loc[later, "is_fraud"]
    pd.testing.assert_frame_equal(baseline_features(flipped)[cut.to_numpy()], early)
    own = frame.copy()
    own["label_time"] = own["timestamp"]  # labels "known" at the transaction itself
    own_flipped = own.copy()
    own_flipped["is_fraud"] = 1 - own_flipped["is_fraud"]
    a, b = baseline_features(own), baseline_features(own_flipped)
    first = own.groupby("merchant_id").head(1).index  # first row of each merchant
    assert (a.loc[first, "merchant_labels_30d"] == 0).all()
    pd.testing.assert_series_equal(
        a.loc[first, "merchant_fraud_rate_30d"], b.loc[first, "merchant_fraud_rate_30d"]
    )


def test_file_columns_used_as_they_are_and_identifiers_never():
    frame = make_frame(n=2000, n_customers=40, days=30, seed=4)
    frame["type"] = np.where(np.arange(2000) % 3 == 0, "TRANSFER", "PAYMENT")
    frame["balance"] = np.arange(2000).astype(str)  # numbers as text (CSV pass-through)
    frame["reference"] = [f"ref{i}" for i in range(2000)]  # an identifier: 2000 values
    frame["fraud_scenario"] = np.where(frame["is_fraud"] == 1, "x", "none")
    x = baseline_features(frame)
    assert x["file_type"].dtype == "category"
    assert x["file_balance"].dtype == float and x["file_balance"].iloc[-1] == 1999
    assert "file_reference" not in x and "file_fraud_scenario" not in x
    assert "file_customer_id" not in x and "file_amount" not in x
    assert not any(
        c.startswith("file_") for c in baseline_features(frame, BaselineConfig(file_columns=False))
    )


def test_terminal_only_file_fits_and_ranks_frauds():
    rng = np.random.default_rng(0)
    n = 6000
    t = np.sort(rng.uniform(0, 60, n))
    terminal = rng.integers(0, 50, n)
    bad = terminal < 3  # three compromised terminals
    fraud = bad & (rng.random(n) < 0.5) | (rng.random(n) < 0.002)
    frame = _rows(
        [
            (t[i], f"c{rng.integers(300)}", f"T{terminal[i]}", rng.uniform(5, 100), int(fraud[i]))
            for i in range(n)
        ]
    )
    window = (frame["timestamp"] >= T0 + 40 * DAY).to_numpy()
    cutoff = int((T0 + 39 * DAY).value // 1_000_000)
    result = fit_and_score_baseline(frame, cutoff, window)
    assert result.file_columns == ()
    assert "terminal_fraud_rate_7d" in result.feature_names
    y = fraud[window]
    assert result.scores[y].mean() > 5 * result.scores[~y].mean()
    # Trained only on rows by the cutoff whose labels were known by then (7-day delay).
    assert result.labelled_rows == int((t <= 32).sum())


def test_too_little_history_is_a_clear_error():
    frame = _rows([(i / 10, "a", "T1", 10, i % 2) for i in range(50)])
    with pytest.raises(BaselineError, match="at least 100 labelled rows"):
        fit_and_score_baseline(frame, int((T0 + 100 * DAY).value // 1e6), np.ones(50, bool))
