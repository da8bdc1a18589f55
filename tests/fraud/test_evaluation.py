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


def test_reference_baseline_in_metrics_json_report_and_plots(tmp_path):
    frame = make_frame(n=8000, n_customers=150, days=70, seed=8)
    bundle = train_fraud(frame, TrainFraudOptions(until="2026-02-20"))
    report = evaluate_fraud(
        frame, bundle, EvaluateOptions(start="2026-02-21", output_dir=tmp_path / "rep")
    )
    m = report.metrics
    ref = m["reference_baseline"]
    # Fitted on the history the bundle saw: its cutoff, its labels known by then.
    assert ref["trained_until"] == bundle.metadata["data_until"]
    assert ref["training_rows"] == bundle.metadata["rows"]
    assert 0.5 < ref["auc_roc"] <= 1 and 0 < ref["average_precision"] <= 1
    assert "customer windows" in ref["features"]
    delta = m["versus_baseline"]["delta"]["average_precision"]
    assert delta == pytest.approx(m["average_precision"] - ref["average_precision"])
    assert m["versus_baseline"]["suite_beats_baseline"] == (delta > 0)
    assert "baseline_precision_at_20" in report.precision_at_k
    saved = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert saved["metrics"]["reference_baseline"]["average_precision"] == ref["average_precision"]
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Suite vs reference baseline" in text and "roc_curve.png" in text
    assert (tmp_path / "rep" / "roc_curve.png").stat().st_size > 0
    skipped = evaluate_fraud(
        frame, bundle, EvaluateOptions(start="2026-02-21", reference_baseline=False)
    )
    assert "reference_baseline" not in skipped.metrics
    assert "versus_baseline" not in skipped.metrics
    assert skipped.metrics["average_precision"] == m["average_precision"]


def test_a_suite_that_loses_to_its_baseline_is_told_plainly():
    frame = make_frame(n=8000, n_customers=150, days=70, seed=8)
    # A bundle trained on shuffled labels has learnt nothing; the baseline sees true labels.
    noise = frame.copy()
    noise["is_fraud"] = noise["is_fraud"].sample(frac=1.0, random_state=0).to_numpy()
    bundle = train_fraud(noise, TrainFraudOptions(until="2026-02-20"))
    m = evaluate_fraud(frame, bundle, EvaluateOptions(start="2026-02-21")).metrics
    assert m["average_precision"] < m["reference_baseline"]["average_precision"]
    assert m["versus_baseline"]["suite_beats_baseline"] is False
    assert "DOES NOT BEAT ITS REFERENCE BASELINE" in m["versus_baseline"]["verdict"]


def test_cli_evaluate_prints_the_baseline_in_text_and_json(tmp_path):
    from click.testing import CliRunner

    from moesuite.cli import cli

    frame = make_frame(n=6000, n_customers=120, days=60, seed=10)
    src = tmp_path / "txns.parquet"
    frame.to_parquet(src)
    runner = CliRunner()
    base = ["--home", str(tmp_path)]
    r = runner.invoke(
        cli,
        [*base, "train-fraud", str(src), "-o", str(tmp_path / "b"), "--until", "2026-02-15",
         "--no-sequence"],
    )
    assert r.exit_code == 0, r.output
    evaluate = [*base, "evaluate-fraud", str(src), "--bundle", str(tmp_path / "b"), "--from",
                "2026-02-16", "--no-ablation"]
    r = runner.invoke(cli, evaluate)
    assert r.exit_code == 0, r.output
    assert "reference baseline" in r.output and "prec@20/day" in r.output
    assert "its reference baseline" in r.output.splitlines()[-1]
    r = runner.invoke(cli, [*evaluate, "--format", "json"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["metrics"]
    assert set(m["reference_baseline"]) >= {"auc_roc", "average_precision", "recall_at_1pct_fpr"}
    assert m["versus_baseline"]["verdict"]
    r = runner.invoke(cli, [*evaluate, "--no-baseline"])
    assert r.exit_code == 0, r.output
    assert "reference baseline" not in r.output
