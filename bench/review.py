"""Review-queue throughput: case upserts, claim+decide with 1 and 8 analysts, history lookups.

Run: .venv/bin/python bench/review.py [--cases 2000] [--postgres-url URL | --no-postgres]

Baselines from the same run: one upsert call (one transaction) per case vs batched upserts;
one analyst process vs eight; customer_history latency against the 15 ms p99 goal.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fraud.review.db import dispose_engines, get_engine  # noqa: E402
from fraud.review.drill import run_drill  # noqa: E402
from fraud.review.history import customer_history, record_transactions  # noqa: E402
from fraud.review.queue import CaseInput, upsert_cases  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _cases(start: int, n: int, rng: np.random.Generator) -> list[CaseInput]:
    scores = rng.uniform(0.5, 1.0, n)
    amounts = rng.lognormal(4.0, 1.0, n)
    return [
        CaseInput(
            transaction_id=f"tx-{start + i:07d}",
            customer_id=f"cust-{(start + i) % 997}",
            amount=float(amounts[i]),
            currency="EUR",
            score=float(scores[i]),
            band="high" if scores[i] > 0.8 else "medium",
            reasons=("amount_vs_history", "new_device", "night"),
            model_version="bench",
            occurred_at=T0 + timedelta(seconds=start + i),
            transaction={"mcc": "5411", "channel": "web", "card_token": f"tok_{start + i}"},
        )
        for i in range(n)
    ]


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_backend(name: str, url: str, n_cases: int, n_history: int) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(0)
    engine = get_engine(url)
    rows: list[tuple[str, ...]] = []

    per_case = _cases(0, n_cases // 10, rng)
    seconds = _timed(lambda: [upsert_cases(engine, [c]) for c in per_case])
    rows.append((name, "upsert, 1 case per call (baseline)", f"{len(per_case) / seconds:,.0f}"))
    batched = _cases(n_cases, n_cases, rng)
    seconds = _timed(lambda: upsert_cases(engine, batched))
    rows.append((name, f"upsert, batch of {n_cases}", f"{n_cases / seconds:,.0f}"))
    rescored = [CaseInput(**{**c.__dict__, "score": min(1.0, c.score + 0.01)}) for c in batched]
    seconds = _timed(lambda: upsert_cases(engine, rescored))
    rows.append((name, f"re-score, batch of {n_cases}", f"{n_cases / seconds:,.0f}"))

    for analysts in (1, 8):
        result = run_drill(url, analysts)
        assert result.total == len(set(i for ids in result.claims.values() for i in ids))
        rate = result.total / result.seconds
        label = f"claim+decide, {analysts} analyst process{'es' if analysts > 1 else ''}"
        rows.append((name, label, f"{rate:,.0f} ({result.total} cases)"))
        if analysts == 1:
            upsert_cases(engine, _cases(3 * n_cases, n_cases, rng))

    frame = pd.DataFrame(
        {
            "transaction_id": [f"h-{i:08d}" for i in range(n_history)],
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 60 * 86400, n_history), unit="s"),
            "customer_id": [f"cust-{i}" for i in rng.integers(0, 2000, n_history)],
            "amount": rng.lognormal(3.5, 1.0, n_history).round(2),
            "currency": "EUR",
            "merchant_id": [f"m-{i}" for i in rng.integers(0, 500, n_history)],
            "mcc": "5411",
            "channel": "web",
        }
    )
    seconds = _timed(lambda: record_transactions(engine, frame))
    rows.append((name, f"record_transactions ({n_history:,} rows)", f"{n_history / seconds:,.0f}"))
    latencies = []
    before = datetime(2026, 2, 15, tzinfo=UTC)
    for customer in rng.integers(0, 2000, 1000):
        start = time.perf_counter()
        customer_history(engine, f"cust-{customer}", before=before, limit=50)
        latencies.append((time.perf_counter() - start) * 1000)
    p50, p99 = np.percentile(latencies, [50, 99])
    verdict = "goal met" if p99 <= 15 else "GOAL NOT MET"
    rows.append(
        (
            name,
            "customer_history(limit=50) latency",
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms ({verdict})",
        )
    )
    dispose_engines()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    results: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += bench_backend("sqlite", f"sqlite:///{tmp}/bench.db", args.cases, args.history)
    if not args.no_postgres:
        schema = f"review_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
            results += bench_backend("postgresql", url, args.cases, args.history)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    print(f"$ {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print("| backend | operation | per second / latency |")
    print("|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
