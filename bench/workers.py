"""Benchmark: scoring throughput with 1 and 2 worker processes, and score_one round trips.

    .venv/bin/python bench/workers.py --rows 1000000 --chunk-rows 50000 --repeat 3

Starts real ``cli.py worker`` subprocesses (prefork, concurrency 1, one torch thread each) on
Redis (``--redis``) and on the default SQLite transport, scores one simulated file with 1 and 2
workers (the baseline is 1 worker), and times sequential ``score_one`` round trips. The machine
has 2 cores, which the client, Redis and the workers share.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from moesuite.settings import Settings, load_settings  # noqa: E402
from workers.client import JobClient  # noqa: E402


def start_workers(settings: Settings, home: Path, count: int) -> list[subprocess.Popen]:
    """Start ``count`` single-process workers and wait until each says it is ready."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.update(
        MOESUITE_HOME=str(home),
        MOESUITE_BROKER_URL=settings.broker_url,
        MOESUITE_RESULT_BACKEND=settings.result_backend,
        MOESUITE_DATABASE_URL=settings.database_url,
    )
    processes, logs = [], []
    for i in range(count):
        log = home / f"bench-worker-{uuid.uuid4().hex[:6]}-{i}.log"
        command = [
            sys.executable,
            str(ROOT / "cli.py"),
            "worker",
            "-c",
            "1",
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--hostname",
            f"bench{i}-{uuid.uuid4().hex[:6]}@%h",
        ]
        with log.open("wb") as fh:
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=home,
                    env=env,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        logs.append(log)
    deadline = time.monotonic() + 120
    # Remote control (ping) needs fanout, which the SQL transport lacks: read the logs instead.
    while not all("ready." in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop_workers(processes)
            tails = " | ".join(log.read_text()[-3000:] for log in logs)
            raise RuntimeError(f"workers did not start: {tails}")
        time.sleep(0.1)
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def stack_settings(home: Path, broker: str, backend: str, workers_table: str = "") -> Settings:
    """Settings for one benchmark stack, with unique queue names and a fresh home."""
    prefix = f"b{uuid.uuid4().hex[:6]}-"
    (home / "moesuite.toml").write_text(
        f'[workers]\nqueue_prefix = "{prefix}"\n{workers_table}', "utf-8"
    )
    return load_settings(
        overrides={
            "home": home,
            "broker_url": broker,
            "result_backend": backend,
            "database_url": f"sqlite:///{home / 'review.db'}",
        },
        env={"MOESUITE_HOME": str(home)},
    )


def round_trips(client: JobClient, submit: Callable[[], str], calls: int) -> dict[str, Any]:
    """Sequential submit + wait round trips; p50/p99 in milliseconds (after 5 warm-up calls).

    A task that answers with an error result is not timed: ``{"error": message}``.
    """
    for _ in range(5):
        result = client.result(submit(), timeout=60)
        if not result["ok"]:
            return {"error": str(result["error"].get("message"))[:120]}
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        result = client.result(submit(), timeout=60)
        times.append((time.perf_counter() - start) * 1000)
        if not result["ok"]:
            return {"error": str(result["error"].get("message"))[:120]}
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def _stack(root: Path, kind: str, redis: str, table: str = "") -> Settings:
    home = Path(tempfile.mkdtemp(dir=root, prefix=f"{kind}-"))
    if kind == "sqlite":
        broker, backend = f"sqla+sqlite:///{home / 'b.db'}", f"db+sqlite:///{home / 'r.db'}"
    else:
        broker = backend = redis
    return stack_settings(home, broker, backend, table)


def _submit_next(client: JobClient, transactions: Iterator[dict]) -> str:
    return client.submit_score_one(next(transactions))


def latency_table(
    args: argparse.Namespace, root: Path, transactions: list[dict]
) -> list[tuple[str, str, dict[str, Any]]]:
    """Round trips of a tiny task on SQLite (kombu defaults vs tuned) and Redis, and of
    ``score_one`` on the tuned SQLite transport and Redis."""
    source = root / "tiny.py"
    source.write_text("x = 1\n", encoding="utf-8")
    defaults = "polling_interval = 1.0\nresult_poll_interval = 0.5\n"
    stacks = [
        ("sqla+sqlite, kombu defaults (poll 1 s, get 0.5 s)", "sqlite", defaults),
        ("sqla+sqlite, tuned (poll 0.1 s, get 0.05 s, WAL)", "sqlite", ""),
        ("redis broker + backend", "redis", ""),
    ]
    rows = []
    for label, kind, table in stacks:
        settings = _stack(root, kind, args.redis, table)
        processes = start_workers(settings, settings.home, 1)
        client = JobClient(settings)
        try:
            calls = max(10, args.latency_calls // 10) if table else args.latency_calls
            stats = round_trips(client, partial(client.submit_detect, source), calls)
            rows.append((label, "detect_defects (tiny file)", stats))
            if not table and transactions:
                txns = iter(transactions * (calls // len(transactions) + 2))
                stats = round_trips(client, partial(_submit_next, client, txns), calls)
                rows.append((label, "score_one", stats))
        finally:
            client.close()
            stop_workers(processes)
    return rows


def generate_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Seeded transactions with the columns the shipped bundle's features use.

    Used while ``fraud.simulate`` is unavailable; it has no fraud patterns, which does not
    matter for throughput and latency.
    """
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, max(100, rows // 50), rows)
    merchant = rng.integers(0, 2000, rows)
    seconds = np.sort(rng.uniform(0, 60 * 86400, rows))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i:08d}" for i in range(rows)],
            "timestamp": start + pd.to_timedelta(seconds, unit="s"),
            "customer_id": [f"c{c:06d}" for c in customer],
            "amount": rng.lognormal(3.0, 1.0, rows).round(2),
            "merchant_id": [f"m{m:05d}" for m in merchant],
            "terminal_id": [f"m{m:05d}-{k}" for m, k in zip(merchant, customer % 3, strict=True)],
            "mcc": rng.choice(["5411", "5812", "5999", "4829", "7995"], rows),
            "country": rng.choice(["US", "GB", "DE", "FR"], rows, p=[0.85, 0.05, 0.05, 0.05]),
            "channel": rng.choice(["card_present", "online", "contactless"], rows),
            "device_id": [f"d{c:06d}" for c in customer],
            "lat": (40.0 + customer % 10 + rng.normal(0, 0.05, rows)).round(4),
            "lon": (-74.0 + customer % 7 + rng.normal(0, 0.05, rows)).round(4),
        }
    )


def simulate_file(root: Path, rows: int) -> tuple[Path, list[dict], str]:
    """A seeded transaction file, a few of its rows as score_one inputs, and their source."""
    try:
        from fraud.simulate import SimulationConfig, simulate
    except ImportError:
        frame, source = generate_frame(rows), "bench/workers.py generate_frame"
    else:
        config = SimulationConfig(n_transactions=rows, n_customers=max(100, rows // 50), seed=0)
        frame, source = simulate(config), "fraud.simulate"
    frame = frame.drop(
        columns=[c for c in ("fraud_scenario", "is_fraud", "label_time") if c in frame.columns]
    )
    path = root / "transactions.csv"
    frame.to_csv(path, index=False)
    sample = frame.tail(50).copy()
    sample["transaction_id"] = [f"one-{i}" for i in range(len(sample))]
    sample["timestamp"] = sample["timestamp"].astype(str)
    return path, json.loads(sample.to_json(orient="records")), source


_STAMP = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): [A-Z]+/[^\]]+\] "


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def busy_seconds(home: Path) -> dict[str, float]:
    """Seconds the workers spent per task kind, read from their logs.

    ``split`` is the score_file task (received to ignored: it stores no result of its own),
    ``chunks`` the sum of score_chunk run times, ``aggregate`` the aggregation's.
    """
    text = "".join(p.read_text(errors="replace") for p in home.glob("bench-worker-*.log"))
    busy = {"split": 0.0, "chunks": 0.0, "aggregate": 0.0}
    for name, seconds in re.findall(
        r"Task moesuite\.fraud\.(score_chunk|aggregate)\[[^\]]+\] succeeded in ([0-9.]+)s", text
    ):
        busy["chunks" if name == "score_chunk" else "aggregate"] += float(seconds)
    received = re.findall(_STAMP + r"Task moesuite\.fraud\.score_file\[[^\]]+\] received", text)
    ignored = re.findall(_STAMP + r"Task moesuite\.fraud\.score_file\[[^\]]+\] ignored", text)
    if received and ignored:
        busy["split"] = _stamp(ignored[-1]) - _stamp(received[-1])
    return busy


def score_once(
    args: argparse.Namespace, root: Path, path: Path, count: int
) -> tuple[float, dict[str, float], str]:
    """Seconds to score ``path`` end to end with ``count`` fresh workers on Redis."""
    settings = _stack(root, "redis", args.redis)
    processes = start_workers(settings, settings.home, count)
    client = JobClient(settings)
    try:
        start = time.perf_counter()
        job_id = client.submit_score(
            path, root / f"scored-{count}.parquet", {"chunk_rows": args.chunk_rows}
        )
        result = client.result(job_id, timeout=3600)
        seconds = time.perf_counter() - start
        assert result["ok"] and result["rows_scored"] > 0, result
        assert result["reconciled"], result
        time.sleep(0.5)  # let the last log lines reach the files
        busy = busy_seconds(settings.home)
    finally:
        client.close()
        stop_workers(processes)
    return seconds, busy, result["ingest"]


def throughput_table(
    args: argparse.Namespace, root: Path, path: Path
) -> list[tuple[int, list[float], dict[str, float], str]]:
    """Per worker count (1, 2): the seconds of each repeat, and the busy time of the fastest.

    Repeats alternate 1 and 2 workers, so load from other sessions hits both alike.
    """
    runs: dict[int, list[tuple[float, dict[str, float], str]]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for count in (1, 2):
            runs[count].append(score_once(args, root, path, count))
    rows = []
    for count, results in runs.items():
        fastest = min(results, key=lambda r: r[0])
        rows.append((count, [r[0] for r in results], fastest[1], fastest[2]))
    return rows


def phase_seconds(root: Path, path: Path, chunk_rows: int) -> dict[str, float]:
    """CPU seconds of each phase of one scoring job, run in this process without workers.

    CPU time (``time.process_time``) is what a worker spends whatever else the shared machine
    runs: ``split`` is serial (the score_file task), ``chunks`` is the sum over chunk tasks
    (parallel, review cases written to the home's SQLite review database), ``aggregate`` is
    serial.
    """
    from workers import jobs
    from workers.app import create_app

    home = Path(tempfile.mkdtemp(dir=root, prefix="phases-"))
    app = create_app(stack_settings(home, f"sqla+sqlite:///{home / 'b.db'}", "cache+memory://"))
    chunks: list[tuple[int, str]] = []
    job_id = "phases"
    jobs.fraud_bundle(app)  # loaded once per worker process, before any task
    start = time.process_time()
    jobs.split_job(
        app, job_id, path, root / "phases.parquet", {"chunk_rows": chunk_rows},
        lambda i, chunk: chunks.append((i, chunk)),
    )  # fmt: skip
    split = time.process_time() - start
    start = time.process_time()
    for i, chunk in chunks:
        jobs.score_chunk(app, job_id, i, Path(chunk), {})
    scored = time.process_time() - start
    start = time.process_time()
    result = jobs.aggregate(app, job_id)
    aggregated = time.process_time() - start
    assert result["reconciled"], result
    return {"split": split, "chunks": scored, "aggregate": aggregated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=20_000)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--no-latency", action="store_true", help="skip the round-trip table")
    parser.add_argument("--repeat", type=int, default=1, help="scoring runs per worker count")
    parser.add_argument(
        "--phases-only", action="store_true", help="only the in-process CPU time per phase"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        root = Path(tmp)
        path, transactions, source = simulate_file(root, args.rows)
        phases = phase_seconds(root, path, args.chunk_rows)
        serial, parallel = phases["split"] + phases["aggregate"], phases["chunks"]
        print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
        print()
        print(f"CPU seconds per phase, one process, {args.rows:,} rows ({source}):")
        print("| split (serial) | chunks (parallel) | aggregate (serial) | serial share "
              "| Amdahl bound, 2 free cores |")  # fmt: skip
        print("|---|---|---|---|---|")
        print(
            f"| {phases['split']:.1f} | {parallel:.1f} | {phases['aggregate']:.1f} "
            f"| {serial / (serial + parallel):.0%} "
            f"| {(serial + parallel) / (serial + parallel / 2):.2f}x |"
        )
        print()
        if args.phases_only:
            return
        throughput = throughput_table(args, root, path)
        print(
            f"Scoring {args.rows:,} rows from {source} (chunks of {args.chunk_rows:,}) on Redis, "
            f"best and median of {args.repeat}:"
        )
        print(
            "| workers | best s | rows/s | speed-up (best) | median s | speed-up (median) "
            "| ingest | worker busy s, best run: split / chunks / aggregate |"
        )
        print("|---|---|---|---|---|---|---|---|")
        best1 = min(throughput[0][1])
        median1 = statistics.median(throughput[0][1])
        for count, times, busy, ingest in throughput:
            best, median = min(times), statistics.median(times)
            print(
                f"| {count} | {best:.1f} | {args.rows / best:,.0f} | {best1 / best:.2f}x "
                f"| {median:.1f} | {median1 / median:.2f}x | {ingest} "
                f"| {busy['split']:.1f} / {busy['chunks']:.1f} / {busy['aggregate']:.1f} |"
            )
        sys.stdout.flush()
        if args.no_latency:
            return
        latency = latency_table(args, root, transactions)
        print()
        print("| transport | task | p50 ms | p99 ms |")
        print("|---|---|---|---|")
        for label, task, stats in latency:
            if "error" in stats:
                print(f"| {label} | {task} | not measured: {stats['error']} | |")
                continue
            print(f"| {label} | {task} | {stats['p50_ms']:.1f} | {stats['p99_ms']:.1f} |")


if __name__ == "__main__":
    main()
