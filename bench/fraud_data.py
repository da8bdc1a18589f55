"""Fraud data layer throughput: simulate N rows, then ingest them (CSV and Parquet, with PAN).

Baseline: the bare pandas/pyarrow reader with no validation; ours: `read_transactions`
(column resolution, every row check, PAN tokenization). Goal: 1M rows simulated in < 60 s and
ingested in seconds.

    OMP_NUM_THREADS=1 .venv/bin/python bench/fraud_data.py --rows 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, bench/ is first on sys.path and bench/fraud.py would shadow the package.
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]

import pandas as pd  # noqa: E402

from fraud.io import write_frame  # noqa: E402
from fraud.schema import IngestOptions, read_transactions  # noqa: E402
from fraud.simulate import SimulationConfig, simulate  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--merchants", type=int, default=5_000)
    args = parser.parse_args()
    config = SimulationConfig(
        n_transactions=args.rows,
        n_customers=args.customers,
        n_merchants=args.merchants,
        with_pan=True,
    )
    frame, t_sim = _timed(lambda: simulate(config))
    rows = [("simulate (ours)", t_sim, len(frame))]
    options = IngestOptions(
        pan_key=b"bench-key-0123456789abcdef", now=datetime(2027, 1, 1, tzinfo=UTC)
    )
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, baseline in (
            (".csv", lambda p: pd.read_csv(p, dtype=str)),
            (".parquet", pd.read_parquet),
        ):
            path = Path(tmp) / f"sim{suffix}"
            _, t_write = _timed(lambda path=path: write_frame(frame, path))
            rows.append((f"write {suffix} (ours, atomic)", t_write, len(frame)))
            raw, t_base = _timed(lambda path=path, baseline=baseline: baseline(path))
            rows.append((f"read {suffix} baseline (no checks)", t_base, len(raw)))
            result, t_ours = _timed(lambda path=path: read_transactions(path, options))
            assert result.rows_in == len(frame) and not result.rejections
            rows.append((f"read_transactions {suffix} (ours)", t_ours, len(result.frame)))
    print(f"command: OMP_NUM_THREADS=1 {sys.executable} bench/fraud_data.py --rows {args.rows}")
    print(f"fraud rate {frame['is_fraud'].mean():.4%}")
    print(f"{'step':<40} {'seconds':>8} {'rows/s':>12}")
    for name, seconds, n in rows:
        print(f"{name:<40} {seconds:>8.2f} {n / seconds:>12,.0f}")


if __name__ == "__main__":
    main()
