"""Entity features, the customer's habits and the file's own columns: causal, batch == single,
recorded in the schema, refused clearly when a scored file lacks them."""

import numpy as np
import pandas as pd
import pytest

from fraud.features import (
    FeatureSchemaError,
    compute_features,
    features_for_one,
    fit_feature_schema,
    with_risk_tables,
)
from tests.fraud.txn_frames import make_frame

NEW_FAMILIES = (
    "terminal_id_",
    "merchant_id_",
    "amount_ratio_median",
    "amount_rank_recent",
    "hour_habit",
    "amount_mean_",
    "num_",
    "cat_",
)


def _with_extras(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["terminal_id"] = [f"T{int(m[1:]) * 2 + i % 2}" for i, m in enumerate(out["merchant_id"])]
    out["category"] = rng.choice(["food", "travel", "online"], len(out))
    out["balance"] = np.round(rng.uniform(0, 5000, len(out)), 2).astype(str)  # CSV text
    out["note"] = [f"free text {i}" for i in range(len(out))]
    out["order_no"] = np.arange(len(out)) * 7 + 100_000
    return out


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _with_extras(make_frame(n=3000, n_customers=60, days=40, seed=1))


def _new_family(names):
    return [n for n in names if n.startswith(NEW_FAMILIES)]


def test_schema_records_entities_and_extra_columns(frame):
    schema = fit_feature_schema(frame, entity_columns=("category",), ignore_columns=("balance",))
    assert {"terminal_id", "merchant_id", "mcc", "country", "category"} <= set(schema.entities)
    assert "terminal_id_risk_7d" in schema.names and "category_count_1d" in schema.names
    assert schema.numeric_columns == ()  # balance ignored as asked
    assert schema.ignored["balance"] == "--ignore-columns"
    # Identifiers and free text are never used raw.
    assert "note" in schema.ignored and "order_no" in schema.ignored
    plain = fit_feature_schema(frame)
    assert "num_balance" in plain.names and "cat_category" in plain.names
    assert plain.categories["category"] == ("food", "online", "travel")
    again = type(plain).from_json(plain.to_json())
    assert again == plain


def test_a_column_that_gives_the_label_away_is_left_out(frame):
    leaky = frame.assign(scenario=np.where(frame["is_fraud"] == 1, "stolen_card", "none"))
    schema = fit_feature_schema(leaky)
    assert "cat_scenario" not in schema.names
    assert "label" in schema.ignored["scenario"]


def test_scoring_a_file_without_a_recorded_column_names_it(frame):
    schema = fit_feature_schema(frame)
    with pytest.raises(FeatureSchemaError, match="category"):
        compute_features(frame.drop(columns=["category"]), schema)
    with pytest.raises(FeatureSchemaError, match="terminal_id"):
        compute_features(frame.drop(columns=["terminal_id"]), schema)


def test_new_families_are_causal(frame):
    """A later row or label never changes an earlier feature."""
    schema = fit_feature_schema(frame)
    base = compute_features(frame, schema)
    cut = frame["timestamp"].iloc[len(frame) // 2]
    early = (frame["timestamp"] <= cut).to_numpy()
    later = frame.copy()
    flip = (later["label_time"] > cut).to_numpy()
    later.loc[flip, "is_fraud"] = 1 - later.loc[flip, "is_fraud"]
    # Later rows at the same terminals, with huge amounts, at the same hours.
    extra = frame[~early].copy()
    extra["transaction_id"] = extra["transaction_id"] + "x"
    extra["amount"] = extra["amount"] * 50
    later = pd.concat([later, extra], ignore_index=True)
    after = compute_features(later, schema)
    cols = _new_family(schema.names)
    assert len(cols) > 20
    pd.testing.assert_frame_equal(base.loc[early, cols], after.loc[np.flatnonzero(early), cols])
    # The perturbation reaches later rows, so the check above can fail.
    late = np.flatnonzero(~early)
    assert not np.allclose(
        base.loc[late, "terminal_id_risk_30d"], after.loc[late, "terminal_id_risk_30d"]
    )
    assert not np.allclose(
        base.loc[late, "terminal_id_count_7d"], after.loc[late, "terminal_id_count_7d"]
    )


def test_windowed_risk_counts_only_labels_known_in_the_window():
    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    f = pd.DataFrame(
        {
            "transaction_id": list("abcdefg"),
            "timestamp": [
                t0,
                t0 + day,
                t0 + 5 * day,
                t0 + 9 * day,
                t0 + 30 * day,
                t0,
                t0 + 0.5 * day,
            ],
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "terminal_id": ["T", "T", "T", "T", "T", "U", "U"],
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 1.0, 1.0],
            "is_fraud": pd.array([1, 0, pd.NA, pd.NA, pd.NA, 0, 0], dtype="Int8"),
        }
    )
    schema = fit_feature_schema(f)
    feats = compute_features(f, schema)
    # Rows strictly before t in [t - 7d, t), any customer.
    assert feats["terminal_id_count_7d"].tolist()[:5] == [0, 1, 2, 1, 0]
    assert feats["terminal_id_amount_mean_7d"].iloc[2] == 15.0
    # Labels are known 7 days after the transaction: T's fraud on day 7, T's legit label on
    # day 8, U's on days 7 and 7.5. From day 8 on the global rate is 1/4.
    w, g = schema.config.risk_window_prior_weight, 0.25
    # Day 9, one day back (day 8, day 9]: the window is open at its start -> no label.
    assert feats["terminal_id_risk_1d"].iloc[3] == pytest.approx(g)
    # Day 9, 7 days back (day 2, day 9]: T's fraud and T's legit label.
    assert feats["terminal_id_risk_7d"].iloc[3] == pytest.approx((1 + w * g) / (2 + w))
    # Day 30: both are older than 7 days, still inside 30 days.
    assert feats["terminal_id_risk_7d"].iloc[4] == pytest.approx(g)
    assert feats["terminal_id_risk_30d"].iloc[4] == pytest.approx((1 + w * g) / (2 + w))
    cw = schema.config.risk_prior_weight
    assert feats["terminal_id_risk"].iloc[4] == pytest.approx((1 + cw * g) / (2 + cw))
    # Day 5: no label is known yet anywhere -> the default rate.
    assert feats["terminal_id_risk_30d"].iloc[2] == schema.config.risk_default_rate


def test_single_transaction_matches_batch_with_entity_rows(frame):
    """score_one builds the history from the customer's rows and each entity's recent rows."""
    schema = fit_feature_schema(frame)
    batch = compute_features(frame, schema)
    non_risk = [c for c in schema.names if "_risk" not in c]
    cust = frame["customer_id"].value_counts().index[0]
    rows = frame.index[frame["customer_id"] == cust]
    window = pd.Timedelta(days=30)
    for pos in [rows[1], rows[len(rows) // 2], rows[-1]]:
        txn = frame.loc[pos]
        earlier = frame.index < pos
        same = np.zeros(len(frame), dtype=bool)
        for e in schema.entities:
            same |= (frame[e] == txn[e]).to_numpy()
        recent = (frame["timestamp"] >= txn["timestamp"] - window).to_numpy()
        history = frame[earlier & ((frame["customer_id"] == cust).to_numpy() | (same & recent))]
        single = features_for_one(txn.to_dict(), history, schema)
        np.testing.assert_allclose(
            single[non_risk].to_numpy(float),
            batch.loc[pos, non_risk].to_numpy(float),
            rtol=1e-6,
            atol=1e-4,
        )


def test_single_transaction_risk_matches_batch_after_the_cutoff(frame):
    """Unlabelled rows after a bundle's cutoff: risk comes from the bundle's tables alone."""
    cutoff = frame["timestamp"].iloc[2000]
    cutoff_ms = int(cutoff.value // 1_000_000)
    schema = with_risk_tables(
        fit_feature_schema(frame), frame[frame["timestamp"] <= cutoff], cutoff_ms
    )
    assert schema.recent["terminal_id"].keys
    later = frame[frame["timestamp"] > cutoff].drop(columns=["is_fraud", "label_time"])
    batch = compute_features(later, schema)
    risk = [c for c in schema.names if "_risk" in c]
    for pos in later.index[[0, 50, 400]]:
        txn = later.loc[pos]
        history = later[later.index < pos]
        single = features_for_one(txn.to_dict(), history, schema)
        np.testing.assert_allclose(
            single[risk].to_numpy(float), batch.loc[pos, risk].to_numpy(float), rtol=1e-9
        )
    # The bundle's recent labels matter: without them the 7-day rates right after the
    # cutoff fall back to the prior.
    bare = type(schema)(**{**schema.__dict__, "recent": {}})
    assert not np.allclose(
        compute_features(later, bare)["terminal_id_risk_7d"], batch["terminal_id_risk_7d"]
    )


def test_recent_labels_round_trip_compactly(frame):
    cutoff_ms = int(frame["timestamp"].iloc[2000].value // 1_000_000)
    schema = with_risk_tables(fit_feature_schema(frame), frame, cutoff_ms)
    recent = schema.recent["terminal_id"]
    assert cutoff_ms in recent.known_ms  # labels known on the cutoff's own day count from it
    again = type(schema).from_json(schema.to_json())
    assert again.recent == schema.recent and again == schema
