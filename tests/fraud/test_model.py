"""Training: reproducible, time-ordered, labels known only after the cutoff."""

import numpy as np
import pytest

from fraud.features import compute_features
from fraud.model import TrainingDataError, describe
from fraud.training import TrainFraudOptions, apply_extra_labels, train_fraud
from tests.fraud.txn_frames import make_frame


@pytest.fixture(scope="module")
def frame():
    return make_frame(n=8000, n_customers=200, days=60, seed=2)


def _scores(bundle, frame):
    return bundle.classifier.score(compute_features(frame, bundle.schema).to_numpy(float))


def test_same_seed_same_scores(frame):
    a = train_fraud(frame, TrainFraudOptions(seed=3))
    b = train_fraud(frame, TrainFraudOptions(seed=3))
    np.testing.assert_array_equal(_scores(a, frame), _scores(b, frame))
    m = a.metadata["metrics_calibration_block"]
    assert m["auc_roc"] > 0.8  # the frame has a learnable signal
    assert a.metadata["blocks"]["fit"][1] < a.metadata["blocks"]["calibration"][0]


def test_until_hides_later_rows_and_unknown_labels(frame):
    bundle = train_fraud(frame, TrainFraudOptions(until="2026-02-20"))
    assert bundle.metadata["data_until"].startswith("2026-02-20")
    before = frame[frame["timestamp"] <= "2026-02-20"]
    known = before["label_time"] <= "2026-02-20"
    assert bundle.metadata["labelled_rows"] == int(known.sum())


def test_extra_labels_override(frame):
    import pandas as pd

    extra = pd.DataFrame(
        {
            "transaction_id": [frame["transaction_id"].iloc[0]],
            "is_fraud": [1],
            "decided_at": [pd.Timestamp("2026-01-02", tz="UTC")],
        }
    )
    out = apply_extra_labels(frame, extra)
    assert out["is_fraud"].iloc[0] == 1
    assert out["label_time"].iloc[0] == pd.Timestamp("2026-01-02", tz="UTC")


def test_no_frauds_is_a_clear_error(frame):
    clean = frame.copy()
    clean["is_fraud"] = 0
    with pytest.raises(TrainingDataError, match="frauds"):
        train_fraud(clean, TrainFraudOptions())


def test_reasons_are_readable():
    assert describe("amount_ratio_mean_30d", 7.5) == "amount 7.5x the customer's 30-day mean"
    assert describe("count_1h", 4) == "4 earlier transactions in the last 1h"


def test_entity_features_read_as_reasons():
    from fraud.model import describe

    assert describe("terminal_id_risk_7d", 0.125) == (
        "terminal fraud rate 12.5% among labels of the last 7d"
    )
    assert describe("merchant_id_count_1d", 14) == "14 transactions at this merchant in the last 1d"
    assert describe("device_id_amount_ratio", 3.2) == "amount 3.2x this device's recent mean"
    assert describe("mcc_risk", 0.02) == "merchant category fraud rate 2.0%"
