"""Fraud scoring benchmark: batch throughput and memory, single-transaction latency, AP.

    OMP_NUM_THREADS=1 python bench/fraud.py --rows 1000000

Batch: features + booster + reasons + routing on a simulated frame (score_frame) and writing
parquet; fraud.schema ingest is timed separately when it is available. Single: score_one with
the customer's history in SQLite. AP: behavioural features on a later time window.

Which sequence features help (run on a simulator seed other than the benchmark's, so the
choice is not made on the data it is then reported on)::

    OMP_NUM_THREADS=1 python bench/fraud.py --sequence-study --rows 500000 --seed 5

pretrains one record model per step budget on the rows before the cutoff, then fits the same
classifier (train_fraud's settings and time-ordered blocks) on behavioural features plus each
subset of sequence features and reports AP/AUC on the later window.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fraud.evaluation import EvaluateOptions, evaluate_fraud  # noqa: E402
from fraud.pipeline import score_frame, score_one  # noqa: E402
from fraud.simulate import SimulationConfig, simulate  # noqa: E402
from fraud.training import TrainFraudOptions, train_fraud  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batch(frame, bundle) -> tuple[float, float]:
    """Seconds to score ``frame`` and write parquet; peak RSS (MB) afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = score_frame(frame, bundle)
        result.frame.to_parquet(Path(tmp) / "out.parquet")
        return time.perf_counter() - t0, _rss_mb()


def _latency(unlabelled, bundle, n: int, store_all: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU milliseconds of score_one per transaction (CPU time shows the work done
    apart from waiting for the shared cores).

    The history store holds 300 customers' earlier rows, or (``store_all``) every customer's,
    as a live store would: then each terminal's and merchant's rows come from all cards."""
    from fraud.review.db import get_engine
    from fraud.review.history import record_transactions

    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/h.db")
        hist = unlabelled[unlabelled["timestamp"] < "2026-04-20"]
        scored = hist["customer_id"].unique()[:300]
        if not store_all:
            hist = hist[hist["customer_id"].isin(scored)]
        record_transactions(engine, hist)
        later = unlabelled[
            (unlabelled["timestamp"] >= "2026-04-20") & unlabelled["customer_id"].isin(scored)
        ].head(n)
        lat, cpu = [], []
        for row in later.to_dict(orient="records"):
            row["timestamp"] = row["timestamp"].isoformat()
            t0, c0 = time.perf_counter(), time.process_time()
            score_one(row, bundle, engine)
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    return np.array(lat), np.array(cpu)


_CUTOFF, _WINDOW = "2026-03-15", "2026-03-23"
# Feature sets of the study: names, or prefixes ending in "*".
_STUDY = {
    "+ surprisal": ("seq_surprisal",),
    "+ surprisal, per-field surprisal (default)": ("seq_surprisal", "seq_surprisal_*"),
    "+ 8 PCs, surprisal, router entropy (previous default)": (
        "seq_pc*",
        "seq_surprisal",
        "seq_router_entropy",
    ),
    "+ all (8 PCs, surprisal, per-field, router entropy)": ("seq_*",),
}


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in patterns)


def _study(frame, steps_list: list[int]) -> None:
    """AP on the later window: behavioural vs behavioural + subsets of sequence features."""
    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score

    from fraud.features import (
        compute_features,
        fit_feature_schema,
        label_known_ms,
        timestamps_ms,
    )
    from fraud.model import ClassifierConfig, fit_classifier
    from fraud.sequence import SequenceConfig, fit_sequence_model

    ts = timestamps_ms(frame["timestamp"])
    cut = int(pd.Timestamp(_CUTOFF, tz="UTC").value // 1_000_000)
    start = int(pd.Timestamp(_WINDOW, tz="UTC").value // 1_000_000)
    schema = fit_feature_schema(frame[ts <= cut])
    known = label_known_ms(frame, schema.config)
    # As train_fraud: rows up to the cutoff whose labels are known by then, split by time.
    data = frame[ts <= cut].copy()
    data.loc[known[ts <= cut] > cut, "is_fraud"] = pd.NA
    y = pd.to_numeric(frame["is_fraud"], errors="coerce").to_numpy(float)
    train = (ts <= cut) & (known <= cut) & np.isfinite(y)
    window = (ts >= start) & np.isfinite(y)
    q60, q80 = np.quantile(ts[train], [0.6, 0.8])
    fit_m, val_m = ts[train] < q60, (ts[train] >= q60) & (ts[train] < q80)
    y_tr, y_ev = y[train].astype(int), y[window].astype(int)
    # Features are causal, so one pass over the whole frame serves training and the window.
    beh = compute_features(frame, schema).to_numpy(float)

    def measure(x: np.ndarray) -> tuple[float, float]:
        xt = x[train]
        clf = fit_classifier(xt[fit_m], y_tr[fit_m], xt[val_m], y_tr[val_m], ClassifierConfig())
        s = clf.predict_proba(x[window])[:, 1]
        return average_precision_score(y_ev, s), roc_auc_score(y_ev, s)

    print(f"window from {_WINDOW}: {int(window.sum())} labelled rows, {int(y_ev.sum())} frauds")
    print("| pretraining steps | features | AP | AUC-ROC |")
    print("|---|---|---|---|")
    ap, auc = measure(beh)
    print(f"| - | behavioural only (baseline) | {ap:.4f} | {auc:.4f} |")
    for steps in steps_list:
        config = SequenceConfig(steps=steps, pca_dims=8, router_entropy=True)
        model = fit_sequence_model(data, config)
        seq = model.features(frame)
        for label, prefixes in _STUDY.items():
            cols = [c for c in seq.columns if _matches(c, prefixes)]
            ap, auc = measure(np.hstack([beh, seq[cols].to_numpy(float)]))
            print(f"| {steps} | {label} ({len(cols)}) | {ap:.4f} | {auc:.4f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11, help="Simulator seed.")
    parser.add_argument(
        "--sequence-study", action="store_true", help="Only compare sequence feature sets."
    )
    parser.add_argument("--steps", default="120,1000,2000", help="Study: pretraining steps.")
    args = parser.parse_args()
    from core_model.runtime import set_threads

    set_threads(1)
    n_cust = max(100, args.rows // 50)
    t0 = time.perf_counter()
    frame = simulate(
        SimulationConfig(n_transactions=args.rows, n_customers=n_cust, days=120, seed=args.seed)
    )
    if args.sequence_study:
        print(
            f"command: OMP_NUM_THREADS=1 python bench/fraud.py --sequence-study "
            f"--rows {args.rows} --seed {args.seed} --steps {args.steps}"
        )
        _study(frame.reset_index(drop=True), [int(s) for s in args.steps.split(",")])
        return
    gen_s = time.perf_counter() - t0
    train = frame[frame["timestamp"] < _CUTOFF]
    t0 = time.perf_counter()
    beh = train_fraud(train, TrainFraudOptions(until=_CUTOFF))
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Every record model kept (no choice), so the throughput is that of the full feature set.
    seq = train_fraud(train, TrainFraudOptions(until=_CUTOFF, with_sequence=True, choose=False))
    train_seq_s = time.perf_counter() - t0
    unlabelled = frame.drop(columns=["is_fraud", "label_time"])
    rss0 = _rss_mb()
    beh_s, rss1 = _batch(unlabelled, beh)
    seq_s, rss2 = _batch(unlabelled, seq)
    lat_b, cpu_b = _latency(unlabelled, beh, args.single)
    lat_s, cpu_s = _latency(unlabelled, seq, args.single)
    opts = EvaluateOptions(start=_WINDOW)
    mb = evaluate_fraud(frame, beh, opts).metrics
    ms = evaluate_fraud(frame, seq, opts).metrics
    print(
        f"command: OMP_NUM_THREADS=1 python bench/fraud.py --rows {args.rows} "
        f"--single {args.single} --seed {args.seed}"
    )
    print(
        f"simulate {args.rows} rows: {gen_s:.1f} s; train until 2026-03-15: behavioural "
        f"{train_s:.1f} s, +sequence {train_seq_s:.1f} s; peak RSS before scoring {rss0:,.0f} MB"
    )
    print("| measure | behavioural only (baseline) | + MoE sequence features | goal |")
    print("|---|---|---|---|")
    print(
        f"| batch rows/s (score_frame + parquet write) | {args.rows / beh_s:,.0f} | "
        f"{args.rows / seq_s:,.0f} | >= 20,000 with sequence |"
    )
    print(f"| peak RSS after batch (MB, cumulative) | {rss1:,.0f} | {rss2:,.0f} | - |")
    print(
        f"| score_one p50 / p99 ms (SQLite history, n={len(lat_b)}) | "
        f"{np.percentile(lat_b, 50):.1f} / {np.percentile(lat_b, 99):.1f} | "
        f"{np.percentile(lat_s, 50):.1f} / {np.percentile(lat_s, 99):.1f} | p99 <= 15 |"
    )
    print(
        f"| score_one CPU ms p50 / p99 (process time) | "
        f"{np.percentile(cpu_b, 50):.1f} / {np.percentile(cpu_b, 99):.1f} | "
        f"{np.percentile(cpu_s, 50):.1f} / {np.percentile(cpu_s, 99):.1f} | - |"
    )
    print(
        f"| AP, later window {mb['window'][0][:10]}.. ({mb['rows']} rows) | "
        f"{mb['average_precision']:.4f} | {ms['average_precision']:.4f} | report |"
    )
    print(f"| AUC-ROC, same window | {mb['auc_roc']:.4f} | {ms['auc_roc']:.4f} | - |")
    print(
        f"| recall at 1% FPR | {mb['recall_at_1pct_fpr']:.4f} | "
        f"{ms['recall_at_1pct_fpr']:.4f} | - |"
    )


if __name__ == "__main__":
    main()
