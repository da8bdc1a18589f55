"""Two bundles on the same rows in one run: batch rows/s and score_one latency.

    ROWS=50000 SINGLE=100 [STORE=all] python bench/fraud_bundles.py OLD_BUNDLE NEW_BUNDLE

Uses bench/fraud.py's batch (score_frame + parquet) and score_one (SQLite history) timings;
STORE=all fills the history store with every customer's earlier rows (default: 300
customers', the scored ones).
"""

import importlib.util
import os
import sys

import numpy as np

from core_model.runtime import set_threads
from fraud.bundle import load_bundle
from fraud.simulate import SimulationConfig, simulate

spec = importlib.util.spec_from_file_location("bf", "bench/fraud.py")
bf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bf)
set_threads(1)
rows = int(os.environ.get("ROWS", "100000"))
frame = simulate(SimulationConfig(n_transactions=rows, n_customers=rows // 50, days=120, seed=11))
un = frame.drop(columns=["is_fraud", "label_time"])
print("| bundle | features | batch rows/s | score_one wall p50 / p99 ms | CPU p50 / p99 ms |")
print("|---|---|---|---|---|")
for name, path in (("baseline", sys.argv[1]), ("ours", sys.argv[2])):
    b = load_bundle(path)
    secs, _ = bf._batch(un, b)
    store_all = os.environ.get("STORE") == "all"
    lat, cpu = bf._latency(un, b, int(os.environ.get("SINGLE", "150")), store_all)
    p = np.percentile
    print(
        f"| {name}: {path} | {len(b.feature_names)} | {rows / secs:,.0f} | "
        f"{p(lat, 50):.1f} / {p(lat, 99):.1f} | {p(cpu, 50):.1f} / {p(cpu, 99):.1f} |",
        flush=True,
    )
print("load average", os.getloadavg())
