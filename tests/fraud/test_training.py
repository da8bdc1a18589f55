"""Training chooses its settings on a later validation block, deterministically, and trains on
a file with nothing but id, time, customer, terminal, amount and label."""

import numpy as np
import pandas as pd
import pytest

from fraud.bundle import load_bundle
from fraud.evaluation import EvaluateOptions, evaluate_fraud
from fraud.pipeline import score_frame
from fraud.training import TrainFraudOptions, train_fraud
from tests.fraud.txn_frames import make_frame


def minimal_frame(n: int = 8000, days: int = 60, seed: int = 3) -> pd.DataFrame:
    """Only id, time, customer, terminal, amount, label; a few terminals turn fraudulent."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 300, n)
    term = rng.integers(0, 400, n)
    secs = np.sort(rng.uniform(0, days * 86400, n))
    bad_terms = rng.choice(400, 12, replace=False)
    bad_from = rng.uniform(0, days * 86400, 12)
    fraud = np.zeros(n, dtype=bool)
    for t, start in zip(bad_terms, bad_from, strict=True):
        fraud |= (term == t) & (secs >= start) & (secs < start + 20 * 86400)
    amount = np.round(np.exp(rng.normal(3, 0.8, n)), 2)
    fraud |= amount > 150
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(secs, unit="s"),
            "customer_id": [f"c{c}" for c in cust],
            "terminal_id": [f"T{t}" for t in term],
            "amount": amount,
            "is_fraud": pd.array(fraud.astype(int), dtype="Int8"),
        }
    )


def test_choice_is_recorded_and_deterministic_under_a_seed(tmp_path):
    frame = make_frame(n=6000, n_customers=150, days=50, seed=4)
    a = train_fraud(frame, TrainFraudOptions(seed=1, choose=True))
    b = train_fraud(frame, TrainFraudOptions(seed=1, choose=True))
    choice = a.metadata["choice"]
    # Three booster settings on the standard windows, two other window sets, then the
    # label-state features on the best of those.
    assert len(choice["candidates"]) == 6
    assert {c["booster"] for c in choice["candidates"]} == {"regularised", "stock", "deep"}
    assert {c["windows"] for c in choice["candidates"]} == {"standard", "short", "coarse"}
    assert [c.get("label_state", False) for c in choice["candidates"]] == [False] * 5 + [True]
    best = max(choice["candidates"], key=lambda c: c["validation_ap"])
    assert (choice["windows"], choice["booster"]) == (best["windows"], best["booster"])
    state = best.get("label_state", False)
    assert choice["label_state"] == state == a.schema.config.label_state
    assert ("terminal_id_fraud_age" in a.feature_names) == state
    assert choice == b.metadata["choice"]
    assert a.save(tmp_path / "a") and b.save(tmp_path / "b")
    assert load_bundle(tmp_path / "a").version == load_bundle(tmp_path / "b").version
    assert (tmp_path / "a" / "booster.skops").read_bytes() != b""
    # The chosen windows are the schema's: the features a scored file gets.
    assert (
        a.schema.config.windows
        == {
            "standard": (("1h", 3600.0), ("24h", 86400.0), ("7d", 604800.0), ("30d", 2592000.0)),
            "short": (("10m", 600.0), ("1h", 3600.0), ("24h", 86400.0), ("7d", 604800.0)),
            "coarse": (("24h", 86400.0), ("7d", 604800.0), ("30d", 2592000.0)),
        }[choice["windows"]]
    )


def test_without_choice_trains_the_standard_settings():
    frame = make_frame(n=5000, n_customers=120, days=50, seed=14)
    bundle = train_fraud(frame, TrainFraudOptions(seed=0))
    choice = bundle.metadata["choice"]
    assert (choice["windows"], choice["booster"]) == ("standard", "regularised")
    assert len(choice["candidates"]) == 1


def test_progress_reports_each_stage():
    stages: list[str] = []

    class Record:
        def stage(self, name, total=None, unit="items"):
            stages.append(name)

        def advance(self, n=1):
            return None

        def close(self):
            stages.append("<closed>")

    frame = make_frame(n=5000, n_customers=120, days=50, seed=14)
    train_fraud(frame, TrainFraudOptions(seed=0, choose=True, progress=Record()))
    assert stages == [
        "reading",
        "features",
        "choosing settings",
        "calibrating",
        "final fit",
        "risk tables",
        "<closed>",
    ]


@pytest.fixture(scope="module")
def minimal():
    return minimal_frame()


def test_minimal_file_trains_scores_and_evaluates(minimal, tmp_path):
    frame = minimal
    train = frame[frame["timestamp"] < "2026-02-15"]
    bundle = train_fraud(train, TrainFraudOptions(seed=0, choose=True))
    assert bundle.schema.entities == ("terminal_id",)
    assert "terminal_id_risk_7d" in bundle.schema.names
    bundle.save(tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    scored = score_frame(frame, loaded).frame
    assert np.isfinite(scored["score"]).all()
    report = evaluate_fraud(frame, loaded, EvaluateOptions(start="2026-02-22", ablation=False))
    # Terminal activity and recent terminal risk find the compromised terminals: without
    # the terminal as an entity the same training does far worse.
    blind = train_fraud(
        train, TrainFraudOptions(seed=0, choose=True, ignore_columns=("terminal_id",))
    )
    assert not any(n.startswith("terminal_id_") for n in blind.schema.names)
    blind_report = evaluate_fraud(frame, blind, EvaluateOptions(start="2026-02-22", ablation=False))
    ap, blind_ap = (r.metrics["average_precision"] for r in (report, blind_report))
    assert ap > blind_ap + 0.1, (ap, blind_ap)


def test_final_fit_learns_the_latest_block_but_calibrates_out_of_sample():
    frame = make_frame(n=5000, n_customers=120, days=50, seed=14)
    full = train_fraud(frame, TrainFraudOptions(seed=0))
    held = train_fraud(frame, TrainFraudOptions(seed=0, final_fit_all=False))
    assert full.metadata["final_fit"] == "every labelled block"
    assert held.metadata["final_fit"] == "fit + early stopping"
    # Calibration and thresholds come from the booster without the latest block in both.
    assert full.metadata["metrics_calibration_block"] == held.metadata["metrics_calibration_block"]
    assert full.thresholds == held.thresholds
    # The shipped booster saw the calibration block: it ranks that block better than the
    # booster that did not, and the recorded final figures say so.
    final, out = (b.metadata["metrics_calibration_block_final"] for b in (full, held))
    assert out == held.metadata["metrics_calibration_block"]
    assert final["average_precision"] > out["average_precision"]
