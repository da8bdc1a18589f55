"""Fraud scoring benchmark: batch throughput and memory, single-transaction latency, AP.

    OMP_NUM_THREADS=1 python bench/fraud.py --rows 1000000

Batch: features + booster + reasons + routing on a simulated frame (score_frame) and writing
parquet; fraud.schema ingest is timed separately when it is available. Single: score_one with
the customer's history in SQLite. AP: behavioural features on a later time window.
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


def _latency(unlabelled, bundle, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU milliseconds of score_one per transaction (CPU time shows the work done
    apart from waiting for the shared cores)."""
    from fraud.review.db import get_engine
    from fraud.review.history import record_transactions

    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/h.db")
        hist = unlabelled[unlabelled["timestamp"] < "2026-04-20"]
        hist = hist[hist["customer_id"].isin(hist["customer_id"].unique()[:300])]
        record_transactions(engine, hist)
        later = unlabelled[
            (unlabelled["timestamp"] >= "2026-04-20")
            & unlabelled["customer_id"].isin(hist["customer_id"].unique())
        ].head(n)
        lat, cpu = [], []
        for row in later.to_dict(orient="records"):
            row["timestamp"] = row["timestamp"].isoformat()
            t0, c0 = time.perf_counter(), time.process_time()
            score_one(row, bundle, engine)
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    return np.array(lat), np.array(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=300)
    args = parser.parse_args()
    from core_model.runtime import set_threads

    set_threads(1)
    n_cust = max(100, args.rows // 50)
    t0 = time.perf_counter()
    frame = simulate(
        SimulationConfig(n_transactions=args.rows, n_customers=n_cust, days=120, seed=11)
    )
    gen_s = time.perf_counter() - t0
    train = frame[frame["timestamp"] < "2026-03-15"]
    t0 = time.perf_counter()
    beh = train_fraud(train, TrainFraudOptions(until="2026-03-15"))
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    seq = train_fraud(train, TrainFraudOptions(until="2026-03-15", with_sequence=True))
    train_seq_s = time.perf_counter() - t0
    unlabelled = frame.drop(columns=["is_fraud", "label_time"])
    rss0 = _rss_mb()
    beh_s, rss1 = _batch(unlabelled, beh)
    seq_s, rss2 = _batch(unlabelled, seq)
    lat_b, cpu_b = _latency(unlabelled, beh, args.single)
    lat_s, cpu_s = _latency(unlabelled, seq, args.single)
    opts = EvaluateOptions(start="2026-03-23")
    mb = evaluate_fraud(frame, beh, opts).metrics
    ms = evaluate_fraud(frame, seq, opts).metrics
    print(f"command: OMP_NUM_THREADS=1 python bench/fraud.py --rows {args.rows}")
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
