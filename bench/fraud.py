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
from fraud.training import TrainFraudOptions, train_fraud  # noqa: E402
from tests.fraud.txn_frames import make_frame  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--single", type=int, default=300)
    args = parser.parse_args()
    n_cust = max(100, args.rows // 50)
    t0 = time.perf_counter()
    frame = make_frame(n=args.rows, n_customers=n_cust, days=120, seed=11)
    gen_s = time.perf_counter() - t0
    train = frame[frame["timestamp"] < "2026-03-15"]
    t0 = time.perf_counter()
    bundle = train_fraud(train, TrainFraudOptions(until="2026-03-15"))
    train_s = time.perf_counter() - t0
    rss_before = _rss_mb()
    unlabelled = frame.drop(columns=["is_fraud", "label_time"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = score_frame(unlabelled, bundle)
        result.frame.to_parquet(Path(tmp) / "out.parquet")
        batch_s = time.perf_counter() - t0
    rss_after = _rss_mb()

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
        ].head(args.single)
        lat = []
        for row in later.to_dict(orient="records"):
            row["timestamp"] = row["timestamp"].isoformat()
            t0 = time.perf_counter()
            score_one(row, bundle, engine)
            lat.append((time.perf_counter() - t0) * 1000)
    lat = np.array(lat)
    report = evaluate_fraud(frame, bundle, EvaluateOptions(start="2026-03-23"))
    m = report.metrics
    print(f"command: OMP_NUM_THREADS=1 python bench/fraud.py --rows {args.rows}")
    print(f"simulate {args.rows} rows: {gen_s:.1f} s; train (until 2026-03-15): {train_s:.1f} s")
    print("| measure | baseline / goal | ours |")
    print("|---|---|---|")
    print(
        f"| batch rows/s, behavioural only (score_frame + parquet) | goal >= 20,000 | "
        f"{args.rows / batch_s:,.0f} ({batch_s:.1f} s) |"
    )
    print("| batch rows/s, + sequence features | goal >= 20,000 | not implemented |")
    print(f"| peak RSS (MB) before -> after batch | - | {rss_before:,.0f} -> {rss_after:,.0f} |")
    print(
        f"| score_one latency p50 / p99 (ms), SQLite history, n={len(lat)} | goal p99 <= 15 | "
        f"{np.percentile(lat, 50):.1f} / {np.percentile(lat, 99):.1f} |"
    )
    print(
        f"| AP later window ({m['window'][0][:10]}..), behavioural only | - | "
        f"{m['average_precision']:.4f} (AUC {m['auc_roc']:.4f}, rows {m['rows']}) |"
    )
    print("| AP later window, + sequence | - | not implemented |")


if __name__ == "__main__":
    main()
