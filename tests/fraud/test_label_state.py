"""Label-state features (fraud.label_state): exact on a hand-made terminal, causal, batch ==
single transaction, and carried past a bundle's cutoff by its recent labels."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from fraud.features import (
    FeatureConfig,
    compute_features,
    features_for_one,
    fit_feature_schema,
    with_risk_tables,
)
from fraud.model import describe
from tests.fraud.txn_frames import make_frame

STATE = ("_fraud_age", "_first_fraud_age", "_labels_since_fraud", "_risk_since_fraud")
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _state_schema(frame: pd.DataFrame):
    return fit_feature_schema(frame, replace(FeatureConfig(), label_state=True))


def _state_cols(names) -> list[str]:
    return [n for n in names if n.endswith(STATE)]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    f = make_frame(n=3000, n_customers=60, days=40, seed=3)
    f["terminal_id"] = [f"T{int(m[1:]) % 7}" for m in f["merchant_id"]]
    return f


def test_names_cover_the_customer_and_every_entity_with_activity(frame):
    schema = _state_schema(frame)
    cols = _state_cols(schema.names)
    assert "customer_id_fraud_age" in cols and "terminal_id_risk_since_fraud" in cols
    assert "merchant_id_labels_since_fraud" in cols
    assert not any(c.startswith(("mcc_", "country_")) for c in cols)  # risk-only entities
    assert not _state_cols(fit_feature_schema(frame).names)  # off unless chosen


def test_a_compromised_terminal_reads_as_one():
    """Terminal T: frauds on days 0 and 2, a legit charge on day 4; labels known 7 days later."""
    rows = [(0, "c1", 1), (2, "c2", 1), (4, "c3", 0), (8, "c4", None), (10, "c5", None)]
    rows += [(12, "c6", None), (40, "c7", None)]
    f = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(len(rows))],
            "timestamp": [T0 + d * DAY for d, _, _ in rows],
            "customer_id": [c for _, c, _ in rows],
            "terminal_id": "T",
            "amount": 10.0,
            "is_fraud": pd.array([y for _, _, y in rows], dtype="Int8"),
        }
    )
    feats = compute_features(f, _state_schema(f))
    age, first = feats["terminal_id_fraud_age"], feats["terminal_id_first_fraud_age"]
    since, share = feats["terminal_id_labels_since_fraud"], feats["terminal_id_risk_since_fraud"]
    # Day 4: no label known yet.
    assert np.isnan(age.iloc[2]) and np.isnan(share.iloc[2])
    # Day 8: the day-0 fraud became known on day 7.
    assert (age.iloc[3], first.iloc[3], since.iloc[3], share.iloc[3]) == (1.0, 1.0, 0.0, 1.0)
    # Day 10: the day-2 fraud is known (day 9): latest 1 day old, first 3 days old.
    assert (age.iloc[4], first.iloc[4], since.iloc[4], share.iloc[4]) == (1.0, 3.0, 0.0, 1.0)
    # Day 12: the day-4 legit label (known day 11) follows the latest fraud.
    assert (age.iloc[5], first.iloc[5], since.iloc[5]) == (3.0, 5.0, 1.0)
    assert share.iloc[5] == pytest.approx(2 / 3)
    # Day 40: both frauds became known more than 30 days (the longest risk window) ago.
    assert np.isnan(age.iloc[6]) and np.isnan(since.iloc[6])
    # The customer's own label state: c1's fraud is never seen by c1's later rows (none).
    assert feats["customer_id_fraud_age"].isna().all()


def test_label_state_is_causal(frame):
    """A later row or label never changes an earlier feature."""
    schema = _state_schema(frame)
    cols = _state_cols(schema.names)
    base = compute_features(frame, schema)
    cut = frame["timestamp"].iloc[len(frame) // 2]
    early = (frame["timestamp"] <= cut).to_numpy()
    later = frame.copy()
    flip = (later["label_time"] > cut).to_numpy()
    later.loc[flip, "is_fraud"] = 1 - later.loc[flip, "is_fraud"]
    extra = frame[~early].copy()
    extra["transaction_id"] = extra["transaction_id"] + "x"
    later = pd.concat([later, extra], ignore_index=True)
    after = compute_features(later, schema)
    pd.testing.assert_frame_equal(base.loc[early, cols], after.loc[np.flatnonzero(early), cols])
    # The flipped labels reach later rows, so the check above can fail.
    late = np.flatnonzero(~early)
    for col in ("terminal_id_fraud_age", "customer_id_risk_since_fraud"):
        assert not base.loc[late, col].fillna(-1).equals(after.loc[late, col].fillna(-1))


def test_single_transaction_matches_batch(frame):
    """score_one's frame (the customer's and the terminal's earlier rows) gives the batch values."""
    schema = _state_schema(frame)
    cols = _state_cols(schema.names)
    batch = compute_features(frame, schema)
    assert batch[cols].notna().mean().min() > 0.05  # the columns are not all missing
    checked = 0
    for pos in frame.index[[500, 1500, 2200, 2900]]:
        txn = frame.loc[pos]
        same = (
            (frame["customer_id"] == txn["customer_id"])
            | (frame["terminal_id"] == txn["terminal_id"])
            | (frame["merchant_id"] == txn["merchant_id"])
        )
        history = frame[(frame.index < pos) & same.to_numpy()]
        mine = [c for c in cols if c.startswith(("customer_id_", "terminal_id_", "merchant_id_"))]
        single = features_for_one(txn.to_dict(), history, schema)
        np.testing.assert_allclose(
            single[mine].to_numpy(float), batch.loc[pos, mine].to_numpy(float), rtol=1e-9
        )
        checked += int(np.isfinite(batch.loc[pos, mine].to_numpy(float)).sum())
    assert checked > 4


def test_bundle_recent_labels_carry_the_state_past_the_cutoff(frame):
    cutoff = frame["timestamp"].iloc[2000]
    cutoff_ms = int(cutoff.value // 1_000_000)
    schema = with_risk_tables(_state_schema(frame), frame[frame["timestamp"] <= cutoff], cutoff_ms)
    assert schema.recent["customer_id"].keys and "customer_id" not in schema.risk
    later = frame[frame["timestamp"] > cutoff].drop(columns=["is_fraud", "label_time"])
    cols = _state_cols(schema.names)
    batch = compute_features(later, schema)
    assert batch["terminal_id_fraud_age"].notna().any()
    for pos in later.index[[0, 50, 400]]:
        single = features_for_one(later.loc[pos].to_dict(), later[later.index < pos], schema)
        np.testing.assert_allclose(
            single[cols].to_numpy(float), batch.loc[pos, cols].to_numpy(float), rtol=1e-9
        )
    again = type(schema).from_json(schema.to_json())
    assert again == schema and again.config.label_state


def test_reasons_read_as_words():
    assert (
        describe("terminal_id_fraud_age", 2.0) == "latest known fraud at this terminal 2.0 days ago"
    )
    assert describe("customer_id_risk_since_fraud", 0.5) == (
        "50% of this card's labels fraud since its first known fraud"
    )
