"""Evaluation on a later window: metrics, bands, plots and report."""

import json

import numpy as np
import pytest

from fraud.bundle import ensure_version
from fraud.evaluation import EvaluateOptions, EvaluationError, evaluate_fraud, recall_at_fpr
from fraud.sequence import SequenceConfig
from fraud.training import TrainFraudOptions, train_fraud
from tests.fraud.txn_frames import make_frame


def test_recall_at_fpr_by_hand():
    y = np.array([0] * 100 + [1] * 4)
    s = np.concatenate([np.linspace(0, 0.5, 100), [0.6, 0.495, 0.2, 0.9]])
    # 1% of 100 legit = 1 allowed above the cut (0.4949...), so frauds above it: 0.6, 0.9, 0.495.
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(0.75)


def test_evaluate_later_window_writes_report(tmp_path):
    frame = make_frame(n=8000, n_customers=150, days=70, seed=8)
    bundle = train_fraud(frame, TrainFraudOptions(until="2026-02-20"))
    other = train_fraud(frame, TrainFraudOptions(until="2026-02-20", seed=1))
    report = evaluate_fraud(
        frame,
        bundle,
        EvaluateOptions(start="2026-02-21", output_dir=tmp_path / "rep", baseline=other),
    )
    assert [a["role"] for a in report.metrics["ablation"]] == ["baseline", "evaluated"]
    assert report.metrics["ablation"][1]["average_precision"] == report.metrics["average_precision"]
    m = report.metrics
    assert m["window"][0].startswith("2026-02-21")
    window = frame[frame["timestamp"] >= "2026-02-21"]
    assert m["rows"] == len(window) and m["frauds"] == int(window["is_fraud"].sum())
    assert 0.5 < m["auc_roc"] <= 1 and 0 < m["average_precision"] <= 1
    assert report.bands["rows"].sum() == m["rows"]
    assert report.bands["frauds"].sum() == m["frauds"]
    for name in ("pr_curve.png", "score_distribution.png", "threshold_tradeoff.png", "report.md"):
        assert (tmp_path / "rep" / name).stat().st_size > 0
    assert (
        json.loads((tmp_path / "rep" / "metrics.json").read_text())["metrics"]["rows"] == m["rows"]
    )


def test_empty_window_is_a_clear_error():
    frame = make_frame(n=3000, n_customers=60, days=40, seed=9)
    bundle = train_fraud(frame, TrainFraudOptions())
    with pytest.raises(EvaluationError, match="no labelled rows"):
        evaluate_fraud(frame, bundle, EvaluateOptions(start="2030-01-01"))


TINY_SEQ = dict(hidden_size=32, steps=15, batch_size=8, seq_len=32, pca_dims=4)
TINY_SEQ_CONFIG = SequenceConfig(**TINY_SEQ)


def test_ablation_refits_the_other_variant_on_the_same_history(tmp_path):
    frame = make_frame(n=8000, n_customers=150, days=70, seed=8)
    seq_config = SequenceConfig(**TINY_SEQ)
    with_seq = train_fraud(
        frame,
        TrainFraudOptions(until="2026-02-20", with_sequence=True, sequence_config=seq_config),
    )
    behavioural = train_fraud(frame, TrainFraudOptions(until="2026-02-20"))
    options = EvaluateOptions(start="2026-02-21", ablation=True, output_dir=tmp_path / "rep")
    report = evaluate_fraud(frame, with_seq, options)
    evaluated, refit = report.metrics["ablation"]
    assert (evaluated["role"], evaluated["features"]) == ("evaluated", "behavioural+sequence")
    assert (refit["role"], refit["features"]) == ("ablation refit", "behavioural")
    # Same cutoff and rows as the evaluated bundle: the refit is the behavioural model that
    # train-fraud --until 2026-02-20 --no-sequence would have built.
    assert refit["trained_until"] == evaluated["trained_until"]
    assert refit["training_rows"] == evaluated["training_rows"]
    alone = evaluate_fraud(frame, behavioural, EvaluateOptions(start="2026-02-21")).metrics
    assert refit["model_version"] == ensure_version(behavioural) != ensure_version(with_seq)
    assert refit["average_precision"] == pytest.approx(alone["average_precision"], abs=1e-12)
    assert refit["auc_roc"] == pytest.approx(alone["auc_roc"], abs=1e-12)
    assert "ablation refit" in (tmp_path / "rep" / "report.md").read_text()

    # The other way round: a behavioural bundle gets a sequence variant fitted in the run.
    options = EvaluateOptions(start="2026-02-21", ablation=True, sequence_config=seq_config)
    _, refit_seq = evaluate_fraud(frame, behavioural, options).metrics["ablation"]
    assert refit_seq["features"] == "behavioural+sequence"
    assert refit_seq["model_version"] == with_seq.version
    assert refit_seq["average_precision"] == pytest.approx(
        evaluated["average_precision"], abs=1e-9
    )


def test_ablation_without_enough_history_is_a_clear_error():
    frame = make_frame(n=3000, n_customers=60, days=40, seed=9)
    bundle = train_fraud(frame, TrainFraudOptions())
    with pytest.raises(EvaluationError, match="ablation"):
        evaluate_fraud(
            frame,
            bundle,
            EvaluateOptions(start="2026-01-03", ablation=True, sequence_config=TINY_SEQ_CONFIG),
        )
