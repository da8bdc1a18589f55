"""`/v1/score` over HTTP against `score_one` in process: throughput and p50/p99 latency.

Run: .venv/bin/python bench/service.py [--customers 200 --history 20 --requests 40]
     [--postgres-url URL | --no-postgres] [--server-workers 1]

For each backend (SQLite, PostgreSQL) and each concurrency (1, 8, 32 clients), the same kind of
transactions (a known customer with stored history, a fresh transaction id) are scored
  - in process: ``score_one`` called from that many threads (the baseline), and
  - over HTTP: that many httpx clients against `moesuite serve` (uvicorn in a subprocess),
each on a database of its own seeded with the same history. Goal (issue 18), at 8 clients:
HTTP rate >= 70% of the in-process rate and HTTP p99 <= 3x the in-process p99.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fraud.bundle import default_bundle_path, load_bundle  # noqa: E402
from fraud.pipeline import score_one  # noqa: E402
from fraud.review.db import dispose_engines, get_engine  # noqa: E402
from fraud.review.history import record_transactions  # noqa: E402

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LEVELS = (1, 8, 32)


def _history(customers: int, per_customer: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = customers * per_customer
    return pd.DataFrame(
        {
            "transaction_id": [f"h-{i}" for i in range(n)],
            "timestamp": [
                T0 + timedelta(hours=float(h)) for h in np.sort(rng.uniform(0, 24 * 20, n))
            ],
            "customer_id": [f"c-{i % customers}" for i in range(n)],
            "amount": rng.lognormal(3.5, 1.0, n).round(2),
            "merchant_id": [f"m-{k}" for k in rng.integers(0, 300, n)],
            "terminal_id": [f"t-{k}" for k in rng.integers(0, 900, n)],
            "country": rng.choice(["DE", "FR", "NL", "BR"], n, p=[0.6, 0.2, 0.15, 0.05]),
            "channel": rng.choice(["pos", "online"], n),
        }
    )


class Transactions:
    """Thread-safe stream of new transactions for known customers (ids never repeat)."""

    def __init__(self, customers: int, prefix: str, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.customers = customers
        self.prefix = prefix
        self.count = 0
        self.lock = threading.Lock()

    def next(self) -> dict:
        with self.lock:
            self.count += 1
            i = self.count
            customer = int(self.rng.integers(0, self.customers))
            amount = float(round(self.rng.lognormal(3.5, 1.2), 2))
        return {
            "transaction_id": f"{self.prefix}-{i}",
            "timestamp": (T0 + timedelta(days=21, seconds=i)).isoformat(),
            "customer_id": f"c-{customer}",
            "amount": amount,
            "merchant_id": f"m-{i % 300}",
            "terminal_id": f"t-{i % 900}",
            "country": "DE",
            "channel": "online",
        }


def _run_level(clients: int, total: int, call) -> tuple[float, np.ndarray]:  # noqa: ANN001
    """``total`` calls spread over ``clients`` threads: (calls/s, latencies in ms)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = [total // clients + (1 if k < total % clients else 0) for k in range(clients)]

    def worker(n: int) -> None:
        mine = []
        for _ in range(n):
            start = time.perf_counter()
            call()
            mine.append((time.perf_counter() - start) * 1000.0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in per_client]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total / (time.perf_counter() - start), np.asarray(latencies)


def _seed(url: str, history: pd.DataFrame) -> None:
    engine = get_engine(url)
    record_transactions(engine, history)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(home: Path, url: str, workers: int) -> tuple[subprocess.Popen, str, str]:
    from moesuite.web.store import create_token, open_store

    (home / "moesuite.toml").write_text(
        "[web]\nrate_per_minute = 1e9\nrate_burst = 1000000\n", encoding="utf-8"
    )
    token = create_token(open_store(url), f"bench-{uuid.uuid4().hex[:6]}", ("score",))
    port = _free_port()
    env = dict(os.environ, MOESUITE_HOME=str(home), MOESUITE_DATABASE_URL=url, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=env, cwd=home, start_new_session=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}", token


def _wait_ready(base: str, token: str, stream: Transactions, deadline_s: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + deadline_s
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        try:
            # The first score loads the bundle; a few more warm every server process up.
            if httpx.post(
                f"{base}/v1/score", json=stream.next(), headers=headers, timeout=120
            ).is_success:
                for _ in range(6):
                    httpx.post(f"{base}/v1/score", json=stream.next(), headers=headers, timeout=120)
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not answer")
        time.sleep(0.5)


def bench_backend(name: str, make_url, args: argparse.Namespace, bundle) -> list[tuple]:  # noqa: ANN001
    import httpx

    history = _history(args.customers, args.history)
    rows = []
    # In process: score_one from N threads.
    url = make_url("inproc")
    _seed(url, history)
    engine = get_engine(url)
    stream = Transactions(args.customers, "in")
    for _ in range(5):
        score_one(stream.next(), bundle, engine)
    inproc = {}
    for clients in LEVELS:
        total = args.requests * max(clients, 4)
        rate, lat = _run_level(clients, total, lambda: score_one(stream.next(), bundle, engine))
        inproc[clients] = (rate, lat)
    dispose_engines()

    # Over HTTP: N httpx clients against the server.
    home = Path(tempfile.mkdtemp(prefix="bench-service-"))
    url = make_url("http")
    _seed(url, history)
    dispose_engines()
    process, base, token = _start_server(home, url, args.server_workers)
    try:
        stream = Transactions(args.customers, "http")
        _wait_ready(base, token, stream)
        headers = {"Authorization": f"Bearer {token}"}
        local = threading.local()

        def call() -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base, headers=headers, timeout=120)
            answer = client.post("/v1/score", json=stream.next())
            answer.raise_for_status()

        for clients in LEVELS:
            total = args.requests * max(clients, 4)
            rate, lat = _run_level(clients, total, call)
            in_rate, in_lat = inproc[clients]
            rows.append(
                (
                    name, clients, total,
                    f"{in_rate:.1f}", f"{np.percentile(in_lat, 50):.1f}",
                    f"{np.percentile(in_lat, 99):.1f}",
                    f"{rate:.1f}", f"{np.percentile(lat, 50):.1f}", f"{np.percentile(lat, 99):.1f}",
                    f"{rate / in_rate:.2f}",
                    f"{np.percentile(lat, 99) / np.percentile(in_lat, 99):.2f}",
                )
            )  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--history", type=int, default=20, help="stored transactions per customer")
    parser.add_argument("--requests", type=int, default=40, help="calls per client-level unit")
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    bundle = load_bundle(default_bundle_path(None))
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-db-"))
    backends = [("sqlite", lambda tag: f"sqlite:///{tmp / (tag + '.db')}")]
    schemas: list[str] = []
    if not args.no_postgres:
        admin = create_engine(args.postgres_url)

        def pg_url(tag: str) -> str:
            schema = f"bench_service_{tag}_{uuid.uuid4().hex[:6]}"
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            return f"{args.postgres_url}?options=-csearch_path%3D{schema}"

        backends.append(("postgresql", pg_url))
    rows = []
    try:
        for name, make_url in backends:
            rows.extend(bench_backend(name, make_url, args, bundle))
    finally:
        dispose_engines()
        if schemas:
            with admin.begin() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    header = ("backend", "clients", "calls", "in-proc/s", "in p50 ms", "in p99 ms",
              "http/s", "http p50 ms", "http p99 ms", "rate ratio", "p99 ratio")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("command: " + shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv]))


if __name__ == "__main__":
    main()
