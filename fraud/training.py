"""Training a fraud bundle with time-ordered splits and delayed labels.

Only labels known by the training cutoff (``until``) are used, as in production: a row's label
is known at ``label_time``, or ``label_delay_days`` after the transaction when that is absent.
Labelled rows are split by time: the earliest 60% fit the booster, the next 20% early-stop it,
the latest 20% calibrate scores and choose thresholds.

Rebuild the shipped default bundle (seeded, reproducible)::

    python -m fraud.training --rebuild-default
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from core_model.progress import NULL_PROGRESS, Progress
from fraud.bundle import DEFAULT_BUNDLE, Bundle
from fraud.errors import FraudError
from fraud.features import (
    FeatureConfig,
    compute_features,
    fit_feature_schema,
    label_known_ms,
    timestamps_ms,
    with_risk_tables,
)
from fraud.model import (
    ClassifierConfig,
    TrainedClassifier,
    TrainingDataError,
    calibrated_scores,
    fit_calibrator,
    fit_classifier,
    fit_reason_model,
)
from fraud.routing import RoutingConfig, derive_thresholds

DEFAULT_REBUILD = {"n_transactions": 300_000, "n_customers": 6_000, "days": 90, "seed": 7}


@dataclass(frozen=True)
class TrainFraudOptions:
    """Options of `train_fraud`.

    Attributes:
        until: training cutoff (ISO date/time or None = last transaction); later rows are
            ignored and only labels known by then are used.
        label_delay_days: label delay when ``label_time`` is absent.
        with_sequence: add MoE sequence features (a record model pretrained on the data).
        extra_labels: review-queue decisions, columns (transaction_id, is_fraud, decided_at);
            they override the file's labels and are known at ``decided_at``.
        seed: booster seed.
        routing: how thresholds are chosen.
        column_map: input column renames when reading a file.
        pan_key: key that tokenises card numbers at ingest (``fraud.pan``).
        sequence_config: record model size and pretraining budget (with_sequence only).
    """

    until: str | None = None
    label_delay_days: float = 7.0
    with_sequence: bool = False
    extra_labels: pd.DataFrame | None = None
    seed: int = 0
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    column_map: dict[str, str] | None = None
    pan_key: bytes | None = field(default=None, repr=False)
    sequence_config: Any = None  # fraud.sequence.SequenceConfig; None = its defaults


def apply_extra_labels(frame: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame:
    """Overlay review decisions as labels known at their decision time."""
    if extra is None or len(extra) == 0:
        return frame
    need = {"transaction_id", "is_fraud", "decided_at"}
    if not need.issubset(extra.columns):
        raise FraudError(f"extra labels need columns {sorted(need)}, got {list(extra.columns)}")
    frame = frame.copy()
    if "label_time" not in frame.columns:
        frame["label_time"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if "is_fraud" not in frame.columns:
        frame["is_fraud"] = pd.array([pd.NA] * len(frame), dtype="Int8")
    last = extra.drop_duplicates("transaction_id", keep="last").set_index("transaction_id")
    hit = frame["transaction_id"].astype(str).map(lambda t: t in last.index).to_numpy()
    ids = frame.loc[hit, "transaction_id"].astype(str)
    frame.loc[hit, "is_fraud"] = last.loc[ids, "is_fraud"].astype(int).to_numpy()
    frame.loc[hit, "label_time"] = pd.to_datetime(last.loc[ids, "decided_at"], utc=True).to_numpy()
    return frame


def _cutoff_ms(frame: pd.DataFrame, until: str | None) -> int:
    if until is None:
        return int(timestamps_ms(frame["timestamp"]).max())
    try:
        ts = pd.Timestamp(until)
    except ValueError as exc:
        raise FraudError(f"--until {until!r} is not a date or date-time") from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def review_labels(database_url: str) -> pd.DataFrame:
    """Analyst decisions from the review queue as extra labels (``extra_labels``)."""
    from fraud.review.db import get_engine
    from fraud.review.queue import export_labels

    rows = export_labels(get_engine(database_url))
    return pd.DataFrame(
        [
            {"transaction_id": r.transaction_id, "is_fraud": r.is_fraud, "decided_at": r.decided_at}
            for r in rows
        ],
        columns=["transaction_id", "is_fraud", "decided_at"],
    )


def train_fraud(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame,
    options: TrainFraudOptions,
    progress: Progress = NULL_PROGRESS,
) -> Bundle:
    """Train a bundle (features, booster, calibrator, thresholds) on transactions.

    Args:
        path_or_frame: a transactions file (read with the ingest rules) or a canonical frame.
        options: cutoff, label delay, review labels, seed, routing targets.
        progress: receives the stages (read, features, sequence model, classifier, calibration).

    Returns:
        The trained `Bundle` (not yet saved).

    Raises:
        TrainingDataError: too few labelled rows or a time block without frauds.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        frame, source = path_or_frame, "<frame>"
    else:
        from fraud.pipeline import read_input

        progress.stage("read input")
        frame, _, _ = read_input(Path(path_or_frame), options.column_map, options.pan_key)
        source = str(path_or_frame)
    progress.stage("behavioural features", total=len(frame), unit="rows")
    config = FeatureConfig(label_delay_days=options.label_delay_days)
    frame = apply_extra_labels(frame, options.extra_labels)
    cutoff = _cutoff_ms(frame, options.until)
    ts = timestamps_ms(frame["timestamp"])
    data = frame.loc[ts <= cutoff].copy()
    if "is_fraud" not in data.columns:
        raise TrainingDataError(f"{source}: no is_fraud column; training needs labels")
    # Labels that become known after the cutoff did not exist at training time.
    known = label_known_ms(data, config)
    data.loc[known > cutoff, "is_fraud"] = pd.NA
    schema = fit_feature_schema(data, config)
    x_all = compute_features(data, schema).to_numpy(dtype=np.float64)
    progress.advance(len(frame))
    sequence = None
    names = schema.names
    labelled = data["is_fraud"].notna().to_numpy()
    if labelled.sum() < 1000:
        raise TrainingDataError(
            f"{source}: only {int(labelled.sum())} rows have labels known by the cutoff; "
            "training needs at least 1000"
        )
    if options.with_sequence:
        from fraud.sequence import SequenceConfig, fit_sequence_model

        # Self-supervised on the transactions up to the cutoff: no labels involved.
        seq_config = options.sequence_config or SequenceConfig(seed=options.seed)
        progress.stage("sequence model pretraining", total=seq_config.steps, unit="steps")
        sequence = fit_sequence_model(data, seq_config, progress=progress)
        progress.stage("sequence features", total=len(data), unit="rows")
        x_all = np.hstack([x_all, sequence.features(data).to_numpy(dtype=np.float64)])
        names = (*names, *sequence.names)
        progress.advance(len(data))
    x = x_all[labelled]
    y = data["is_fraud"].to_numpy()[labelled].astype(np.int64)
    t = ts[ts <= cutoff][labelled]
    q60, q80 = np.quantile(t, [0.6, 0.8])
    fit_m, val_m, cal_m = t < q60, (t >= q60) & (t < q80), t >= q80
    cconf = ClassifierConfig(seed=options.seed)
    progress.stage("classifier")
    booster = fit_classifier(x[fit_m], y[fit_m], x[val_m], y[val_m], cconf)
    raw_cal = booster.predict_proba(x[cal_m])[:, 1]
    if y[cal_m].min() == y[cal_m].max():
        raise TrainingDataError(f"{source}: the calibration time block has only one class")
    progress.stage("calibration, reasons and thresholds")
    calibrator = fit_calibrator(raw_cal, y[cal_m], cconf.calibration)
    reasons = fit_reason_model(booster, x[cal_m], y[cal_m], names, seed=options.seed)
    scores = calibrated_scores(booster, calibrator, x[cal_m])
    days = max((t[cal_m].max() - t[cal_m].min()) / 86_400_000, 1e-9)
    thresholds = derive_thresholds(scores, y[cal_m], days, options.routing)
    schema = with_risk_tables(schema, data, cutoff)
    iso = lambda ms: pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()  # noqa: E731
    metadata: dict[str, Any] = {
        "trained_on": source,
        "data_from": iso(ts.min()),
        "data_until": iso(cutoff),
        "rows": int(len(data)),
        "labelled_rows": int(labelled.sum()),
        "frauds": int(y.sum()),
        "blocks": {
            "fit": [iso(t[fit_m].min()), iso(t[fit_m].max())],
            "early_stopping": [iso(t[val_m].min()), iso(t[val_m].max())],
            "calibration": [iso(t[cal_m].min()), iso(t[cal_m].max())],
        },
        "label_delay_days": options.label_delay_days,
        "with_sequence": options.with_sequence,
        "sequence_pretraining": None if sequence is None else sequence.train_info,
        "seed": options.seed,
        "booster_iterations": int(booster.n_iter_),
        "metrics_calibration_block": {
            "auc_roc": float(roc_auc_score(y[cal_m], scores)),
            "average_precision": float(average_precision_score(y[cal_m], scores)),
            "fraud_rate": float(y[cal_m].mean()),
        },
    }
    classifier = TrainedClassifier(booster, calibrator, reasons)
    return Bundle(schema, classifier, thresholds, metadata, sequence=sequence)


def rebuild_default(output: Path = DEFAULT_BUNDLE) -> Bundle:
    """Rebuild the shipped default bundle from seeded simulated data.

    Behavioural + sequence features (they raised average precision on later windows of
    held-out simulated data, docs/benchmarks.md); a behavioural-only model is fitted on the
    same blocks and its calibration-block metrics are recorded beside the bundle's own.
    """
    from core_model.runtime import set_threads
    from fraud.simulate import SimulationConfig, simulate

    set_threads(1)  # one torch thread: the same floating-point sums on every machine
    frame = simulate(SimulationConfig(**DEFAULT_REBUILD))
    bundle = train_fraud(frame, TrainFraudOptions(seed=0, with_sequence=True))
    behavioural = train_fraud(frame, TrainFraudOptions(seed=0, with_sequence=False))
    bundle.metadata["ablation_calibration_block"] = {
        "behavioural": behavioural.metadata["metrics_calibration_block"],
        "behavioural+sequence": bundle.metadata["metrics_calibration_block"],
    }
    bundle.metadata["trained_on"] = f"fraud.simulate {DEFAULT_REBUILD}"
    bundle.metadata.pop("version", None)
    bundle.save(output)
    return bundle


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild-default", action="store_true", required=True)
    parser.add_argument("--output", type=Path, default=DEFAULT_BUNDLE)
    args = parser.parse_args(argv)
    bundle = rebuild_default(args.output)
    print(bundle.version, json.dumps(bundle.metadata["ablation_calibration_block"]))


if __name__ == "__main__":
    main()
