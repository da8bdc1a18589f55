"""Evaluating a bundle on a later time window: metrics, per-band outcomes, plots, a report.

Rows before the window are used only as history (features), never scored. Features use only
labels known at each row's time; the metrics compare scores with the eventual labels.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from core_model.progress import NULL_PROGRESS, Progress
from fraud.baseline import BaselineConfig, BaselineError, describe_features, fit_and_score_baseline
from fraud.bundle import Bundle, ensure_version
from fraud.errors import FraudError
from fraud.features import require_columns, timestamps_ms
from fraud.routing import BANDS, route


class EvaluationError(FraudError):
    """The evaluation window has no labelled rows or only one class."""


@dataclass(frozen=True)
class EvaluateOptions:
    """Options of `evaluate_fraud`.

    Attributes:
        start: first timestamp evaluated (ISO); earlier rows are history only. None = all.
        end: last timestamp evaluated (ISO, inclusive); None = to the end.
        output_dir: where the Markdown report, metrics JSON and PNG plots go; None = none.
        precision_k: k of precision@k per day.
        database_url: review database to read analyst decisions from (review-band precision).
        column_map: input column renames when reading a file.
        pan_key: key that tokenises card numbers at ingest (``fraud.pan``).
        baseline: a second bundle scored on the same rows (an extra comparison).
        ablation: in the same run, fit the bundle's other feature variant (behavioural only
            for a bundle with sequence features, behavioural + sequence otherwise) on the
            history before ``start``, with the bundle's training cutoff, label delay and seed
            (same classifier settings and time-ordered split), and score it on the same rows.
        sequence_config: record model settings (``fraud.sequence.SequenceConfig``) when the
            ablation fits the sequence variant; None = its defaults with the bundle's seed.
        reference_baseline: in the same run, fit the textbook reference model
            (``fraud.baseline``) on the same history as the ablation and report the suite
            against it.
        baseline_config: the reference model's definitions; None = its defaults with the
            bundle's label delay and seed.
    """

    start: str | None = None
    end: str | None = None
    output_dir: Path | None = None
    precision_k: int = 20
    database_url: str | None = None
    column_map: dict[str, str] | None = None
    pan_key: bytes | None = field(default=None, repr=False)
    baseline: Bundle | None = None
    ablation: bool = False
    sequence_config: Any = None
    reference_baseline: bool = True
    baseline_config: BaselineConfig | None = None


@dataclass
class EvaluationReport:
    """Metrics of a bundle on a time window."""

    metrics: dict[str, Any]
    bands: pd.DataFrame
    precision_at_k: pd.DataFrame
    review_precision: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "bands": self.bands.to_dict(orient="records"),
            "precision_at_k": self.precision_at_k.to_dict(orient="records"),
            "review_precision": None
            if self.review_precision is None
            else self.review_precision.to_dict(orient="records"),
            "files": self.files,
        }


def _utc_ms(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise EvaluationError(f"{value!r} is not a date or date-time") from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> float:
    """Share of frauds scoring above the threshold that lets ``fpr`` of legit rows through."""
    legit = np.sort(s[y == 0])
    allowed = int(np.floor(fpr * len(legit)))
    cut = legit[len(legit) - allowed - 1] if allowed < len(legit) else -np.inf
    return float((s[y == 1] > cut).mean())


def evaluate_fraud(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    bundle: Bundle,
    options: EvaluateOptions = EvaluateOptions(),
    progress: Progress = NULL_PROGRESS,
) -> EvaluationReport:
    """Score a labelled window and measure the bundle on it (stages reported to ``progress``).

    Raises:
        EvaluationError: no labelled rows in the window, or only one class.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame
    else:
        from fraud.pipeline import read_input

        progress.stage("read input")
        frame, _, _ = read_input(Path(path_or_frame), options.column_map, options.pan_key)
        require_columns(frame, bundle.schema, str(path_or_frame))
    ts = timestamps_ms(frame["timestamp"])
    lo = _utc_ms(options.start, int(ts.min()))
    hi = _utc_ms(options.end, int(ts.max()))
    from fraud.pipeline import feature_matrix

    progress.stage("features and scores")
    x_all = feature_matrix(frame[ts <= hi], bundle)
    in_window = (ts[ts <= hi] >= lo) & frame.loc[ts <= hi, "is_fraud"].notna().to_numpy()
    window = frame[ts <= hi][in_window]
    if len(window) == 0:
        raise EvaluationError("no labelled rows in the evaluation window (check --from/--to)")
    y = window["is_fraud"].to_numpy().astype(int)
    if y.min() == y.max():
        raise EvaluationError(f"the evaluation window has only {'frauds' if y[0] else 'legit'}")
    s = bundle.classifier.score(x_all[in_window])
    bands = route(s, bundle.thresholds)
    amount = window["amount"].to_numpy(float)
    metrics: dict[str, Any] = {
        "model_version": bundle.version,
        "window": [
            pd.Timestamp(lo, unit="ms", tz="UTC").isoformat(),
            pd.Timestamp(hi, unit="ms", tz="UTC").isoformat(),
        ],
        "rows": int(len(window)),
        "frauds": int(y.sum()),
        "auc_roc": float(roc_auc_score(y, s)),
        "average_precision": float(average_precision_score(y, s)),
        "recall_at_1pct_fpr": recall_at_fpr(y, s, 0.01),
        "fraud_amount_caught": float(amount[(y == 1) & (bands != "approve")].sum()),
        "fraud_amount_total": float(amount[y == 1].sum()),
        "thresholds": bundle.thresholds.to_json(),
    }
    models = [("evaluated", bundle, s)]
    if options.baseline is not None:
        progress.stage("baseline bundle")
        xb = feature_matrix(frame[ts <= hi], options.baseline)[in_window]
        models.insert(0, ("baseline", options.baseline, options.baseline.classifier.score(xb)))
    if options.ablation:
        progress.stage("ablation refit (the other feature variant)")
        other = refit_other_variant(frame[ts < lo], bundle, lo, options.sequence_config)
        xo = feature_matrix(frame[ts <= hi], other)[in_window]
        models.append(("ablation refit", other, other.classifier.score(xo)))
    metrics["ablation"] = [
        {
            "role": role,
            "model_version": b.version,
            "features": "behavioural+sequence" if b.sequence is not None else "behavioural",
            "trained_until": b.metadata.get("data_until"),
            "training_rows": b.metadata.get("rows"),
            "auc_roc": float(roc_auc_score(y, sc)),
            "average_precision": float(average_precision_score(y, sc)),
            "recall_at_1pct_fpr": recall_at_fpr(y, sc, 0.01),
        }
        for role, b, sc in models
    ]
    band_rows = []
    for b in BANDS:
        m = bands == b
        band_rows.append(
            {
                "band": b,
                "rows": int(m.sum()),
                "frauds": int(y[m].sum()),
                "legit": int((1 - y[m]).sum()),
                "fraud_amount": float(amount[m & (y == 1)].sum()),
                "legit_amount": float(amount[m & (y == 0)].sum()),
            }
        )
    day = pd.to_datetime(ts[ts <= hi][in_window], unit="ms", utc=True).strftime("%Y-%m-%d")
    k = options.precision_k
    pk = daily_precision_at_k(day, y, s, k)
    metrics[f"mean_daily_precision_at_{k}"] = float(pk[f"precision_at_{k}"].mean())
    curves = {"suite": s} | {role: sc for role, _, sc in models if role != "evaluated"}
    if options.reference_baseline:
        ref = reference_baseline(frame[ts <= hi], in_window, bundle, lo, options)
        curves["reference baseline"] = ref.scores
        ref_pk = daily_precision_at_k(day, y, ref.scores, k)
        pk[f"baseline_precision_at_{k}"] = ref_pk[f"precision_at_{k}"].to_numpy()
        metrics["reference_baseline"] = {
            "model": "HistGradientBoostingClassifier, stock settings",
            "features": describe_features(ref.feature_names),
            "feature_names": list(ref.feature_names),
            "trained_until": _iso(_history_cutoff(bundle, lo)),
            "training_rows": ref.training_rows,
            "labelled_rows": ref.labelled_rows,
            "frauds": ref.frauds,
            "booster_iterations": ref.iterations,
            "auc_roc": float(roc_auc_score(y, ref.scores)),
            "average_precision": float(average_precision_score(y, ref.scores)),
            "recall_at_1pct_fpr": recall_at_fpr(y, ref.scores, 0.01),
            f"mean_daily_precision_at_{k}": float(ref_pk[f"precision_at_{k}"].mean()),
        }
        metrics["versus_baseline"] = compare_with_baseline(metrics, metrics["reference_baseline"])
    report = EvaluationReport(metrics, pd.DataFrame(band_rows), pk)
    if options.database_url:
        report.review_precision = review_precision(options.database_url)
    if options.output_dir is not None:
        report.files = write_report(report, y, s, Path(options.output_dir), curves)
    return report


def daily_precision_at_k(day: np.ndarray, y: np.ndarray, s: np.ndarray, k: int) -> pd.DataFrame:
    """Per day, the share of frauds among the ``k`` highest scores (columns day, precision_at_k)."""
    daily = pd.DataFrame({"day": day, "y": y, "s": s})
    return (
        daily.groupby("day")
        .apply(lambda g: g.nlargest(k, "s")["y"].mean(), include_groups=False)
        .rename(f"precision_at_{k}")
        .reset_index()
    )


def _iso(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()


def _history_cutoff(bundle: Bundle, start_ms: int) -> int:
    """Training cutoff of the models refitted in an evaluation: the bundle's own when it lies
    before the window (so they see exactly its rows and labels), else the window start."""
    cutoff = start_ms - 1
    until = bundle.metadata.get("data_until")
    if until:
        cutoff = min(cutoff, _utc_ms(str(until), cutoff))
    return cutoff


def reference_baseline(
    frame: pd.DataFrame,
    score_rows: np.ndarray,
    bundle: Bundle,
    start_ms: int,
    options: EvaluateOptions,
) -> Any:
    """Fit the textbook reference model (``fraud.baseline``) on the history the bundle saw and
    score ``score_rows``; returns a `fraud.baseline.BaselineResult`.

    Raises:
        EvaluationError: the history cannot fit it.
    """
    config = options.baseline_config or BaselineConfig(
        label_delay_days=float(bundle.metadata.get("label_delay_days", 7.0)),
        seed=int(bundle.metadata.get("seed", 0)),
    )
    try:
        return fit_and_score_baseline(frame, _history_cutoff(bundle, start_ms), score_rows, config)
    except BaselineError as exc:
        raise EvaluationError(str(exc)) from exc


def compare_with_baseline(suite: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Differences suite - baseline and a plain verdict on average precision."""
    delta = {
        key: suite[key] - baseline[key]
        for key in ("auc_roc", "average_precision", "recall_at_1pct_fpr")
    }
    beats = delta["average_precision"] > 0
    ap, ref = suite["average_precision"], baseline["average_precision"]
    if beats:
        verdict = (
            f"The suite beats its reference baseline: AP {ap:.4f} vs {ref:.4f} "
            f"({delta['average_precision']:+.4f})"
        )
    else:
        verdict = (
            f"THE SUITE DOES NOT BEAT ITS REFERENCE BASELINE on this window: AP {ap:.4f} vs "
            f"{ref:.4f} ({delta['average_precision']:+.4f}); a plain textbook model fitted on "
            "the same history ranks these transactions better"
        )
    return {"suite_beats_baseline": beats, "delta": delta, "verdict": verdict}


def refit_other_variant(
    history: pd.DataFrame, bundle: Bundle, start_ms: int, sequence_config: Any = None
) -> Bundle:
    """Train ``bundle``'s other feature variant on ``history`` (rows before the window).

    The training cutoff is the bundle's own (``data_until``) when it lies inside the history,
    so a bundle trained on the same file with ``train-fraud --until`` is compared with a model
    fitted on exactly its rows and labels; otherwise the cutoff is the window start. Label
    delay and seed are the bundle's; the classifier settings and time-ordered split are
    `train_fraud`'s, as for the bundle.

    Raises:
        EvaluationError: the history cannot train a model (too few labels, a one-class block).
    """
    from fraud.model import TrainingDataError
    from fraud.training import TrainFraudOptions, train_fraud

    options = TrainFraudOptions(
        until=_iso(_history_cutoff(bundle, start_ms)),
        label_delay_days=bundle.schema.config.label_delay_days,
        with_sequence=bundle.sequence is None,
        seed=int(bundle.metadata.get("seed", 0)),
        sequence_config=sequence_config,
    )
    try:
        other = train_fraud(history, options)
    except TrainingDataError as exc:
        raise EvaluationError(
            f"the ablation cannot fit the other feature variant on the rows before the window: "
            f"{exc} (evaluate a later window, or run without the ablation)"
        ) from exc
    ensure_version(other)  # the report names it like a saved bundle
    return other


def review_precision(database_url: str) -> pd.DataFrame | None:
    """Share of analyst decisions that confirmed fraud, per model version (None if none)."""
    from fraud.review.db import get_engine
    from fraud.review.queue import export_labels

    rows = export_labels(get_engine(database_url))
    if not rows:
        return None
    df = pd.DataFrame([{"model_version": r.model_version, "is_fraud": r.is_fraud} for r in rows])
    out = df.groupby("model_version")["is_fraud"].agg(["count", "mean"]).reset_index()
    return out.rename(columns={"count": "decisions", "mean": "review_precision"})


def write_report(
    report: EvaluationReport,
    y: np.ndarray,
    s: np.ndarray,
    out: Path,
    curves: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """PNG plots, metrics.json and report.md under ``out``; returns the file names.

    ``curves`` names the scores drawn on the PR and ROC plots (default: the suite's alone).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    files = []

    def save(fig, name: str) -> None:
        tmp = out / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=90, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, out / name)
        files.append(name)

    curves = curves or {"suite": s}
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, scores in curves.items():
        p, r, _ = precision_recall_curve(y, scores)
        ax.plot(r, p, label=f"{name} (AP {average_precision_score(y, scores):.3f})")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend()
    save(fig, "pr_curve.png")
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, scores in curves.items():
        f, t, _ = roc_curve(y, scores)
        ax.plot(f, t, label=f"{name} (AUC {roc_auc_score(y, scores):.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(xlabel="false-positive rate", ylabel="recall", title="ROC", xscale="log")
    ax.set_xlim(1e-4, 1)
    ax.legend()
    save(fig, "roc_curve.png")
    precision, recall, thr = precision_recall_curve(y, s)
    fig, ax = plt.subplots(figsize=(5, 4))
    bins = np.linspace(0, 1, 41)
    ax.hist(s[y == 0], bins=bins, alpha=0.6, density=True, label="legit")
    ax.hist(s[y == 1], bins=bins, alpha=0.6, density=True, label="fraud")
    ax.set(xlabel="score", ylabel="density", yscale="log", title="Scores by class")
    ax.legend()
    save(fig, "score_distribution.png")
    fig, ax = plt.subplots(figsize=(5, 4))
    legit = np.sort(s[y == 0])
    fpr = 1 - np.searchsorted(legit, thr, side="left") / max(len(legit), 1)
    ax.plot(thr, precision[:-1], label="precision")
    ax.plot(thr, recall[:-1], label="recall")
    ax.plot(thr, fpr, label="false-positive rate")
    t = report.metrics["thresholds"]
    for name in ("review", "decline"):
        ax.axvline(t[name], ls="--", color="grey")
    ax.set(xlabel="threshold", title="Threshold trade-off", xscale="log")
    ax.legend()
    save(fig, "threshold_tradeoff.png")

    m = report.metrics
    lines = [
        f"# Fraud evaluation: {m['model_version']}",
        "",
        f"Window {m['window'][0]} to {m['window'][1]}: {m['rows']} labelled rows, "
        f"{m['frauds']} frauds.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key in ("auc_roc", "average_precision", "recall_at_1pct_fpr"):
        lines.append(f"| {key} | {m[key]:.4f} |")
    k_key = next(k for k in m if k.startswith("mean_daily_precision_at_"))
    lines.append(f"| {k_key} | {m[k_key]:.4f} |")
    lines.append(
        f"| fraud amount caught (review+decline) | {m['fraud_amount_caught']:,.2f} of "
        f"{m['fraud_amount_total']:,.2f} |"
    )
    lines += [
        "",
        "## Bands",
        "",
        "| band | rows | frauds | legit | fraud amount | legit amount |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.bands.to_dict(orient="records"):
        lines.append(
            f"| {r['band']} | {r['rows']} | {r['frauds']} | {r['legit']} | "
            f"{r['fraud_amount']:,.2f} | {r['legit_amount']:,.2f} |"
        )
    lines += [
        "",
        "## Feature ablation (same rows)",
        "",
        "| role | model | features | trained until | training rows | AUC-ROC | AP | "
        "recall@1%FPR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in m["ablation"]:
        lines.append(
            f"| {a['role']} | {a['model_version']} | {a['features']} | {a['trained_until']} | "
            f"{a['training_rows']} | {a['auc_roc']:.4f} | {a['average_precision']:.4f} | "
            f"{a['recall_at_1pct_fpr']:.4f} |"
        )
    if len(m["ablation"]) == 1:
        lines.append("\nAblation not run (`--no-ablation`) and no `--baseline-bundle`.")
    elif any(a["role"] == "ablation refit" for a in m["ablation"]):
        lines.append(
            "\nThe refit variant was trained in this run on the rows before the window, with "
            "the evaluated bundle's cutoff, label delay and seed; equal training rows mean "
            "both saw the same data."
        )
    ref = m.get("reference_baseline")
    if ref is not None:
        k_ref = next(k for k in ref if k.startswith("mean_daily_precision_at_"))
        lines += [
            "",
            "## Suite vs reference baseline (same rows, same history)",
            "",
            f"**{m['versus_baseline']['verdict']}.**",
            "",
            f"| model | AUC-ROC | AP | recall@1%FPR | {k_ref} |",
            "|---|---|---|---|---|",
            f"| suite ({m['model_version']}) | {m['auc_roc']:.4f} | "
            f"{m['average_precision']:.4f} | {m['recall_at_1pct_fpr']:.4f} | {m[k_ref]:.4f} |",
            f"| reference baseline | {ref['auc_roc']:.4f} | {ref['average_precision']:.4f} | "
            f"{ref['recall_at_1pct_fpr']:.4f} | {ref[k_ref]:.4f} |",
            "",
            f"The reference baseline ({ref['model']}; {ref['features']}) was fitted in this run "
            f"on {ref['labelled_rows']} rows labelled by {ref['trained_until']}.",
        ]
    else:
        lines.append("\nReference baseline not run (`--no-baseline`).")
    if report.review_precision is not None:
        lines += [
            "",
            "## Review-band precision by model version",
            "",
            "| model version | decisions | precision |",
            "|---|---|---|",
        ]
        for r in report.review_precision.to_dict(orient="records"):
            lines.append(
                f"| {r['model_version']} | {r['decisions']} | {r['review_precision']:.3f} |"
            )
    lines += [
        "",
        "![PR curve](pr_curve.png) ![ROC](roc_curve.png) ![scores](score_distribution.png) "
        "![trade-off](threshold_tradeoff.png)",
        "",
    ]
    for name, text in (
        ("report.md", "\n".join(lines)),
        ("metrics.json", json.dumps(report.to_dict(), indent=2, default=str)),
    ):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, "utf-8")
        os.replace(tmp, out / name)
        files.append(name)
    return files
