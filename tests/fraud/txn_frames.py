"""Small seeded canonical transaction frames for the scoring tests (no fraud.simulate needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_frame(
    n: int = 6000, n_customers: int = 150, days: int = 60, seed: int = 0
) -> pd.DataFrame:
    """Canonical columns with ~3% noisy frauds (far away, larger, at a few risky merchants)."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n)
    seconds = np.sort(rng.uniform(0, days * 86400, n))
    ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    home_lat = rng.uniform(40, 50, n_customers)
    home_lon = rng.uniform(0, 10, n_customers)
    fraud = rng.random(n) < 0.03
    signal = fraud & (rng.random(n) < 0.7)  # some frauds look ordinary
    amount = np.round(np.exp(rng.normal(3, 1, n)) * np.where(signal, 3, 1), 2)
    lat = home_lat[cust] + rng.normal(0, 0.05, n) + np.where(signal, rng.normal(3, 1, n), 0)
    lon = home_lon[cust] + rng.normal(0, 0.05, n)
    merchant = rng.integers(0, 200, n)
    merchant = np.where(signal & (rng.random(n) < 0.3), 900 + rng.integers(0, 3, n), merchant)
    return pd.DataFrame(
        {
            "transaction_id": [f"t{i:07d}" for i in range(n)],
            "timestamp": ts,
            "customer_id": [f"c{c:05d}" for c in cust],
            "amount": amount,
            "currency": "EUR",
            "merchant_id": [f"m{m}" for m in merchant],
            "mcc": [f"{5000 + m % 40:04d}" for m in merchant],
            "country": np.where(signal & (rng.random(n) < 0.5), "XX", "FR"),
            "channel": rng.choice(["pos", "ecom", "atm"], n),
            "lat": lat,
            "lon": lon,
            "is_fraud": pd.array(fraud.astype(int), dtype="Int8"),
            "label_time": ts + pd.to_timedelta(rng.uniform(1, 12, n), unit="D"),
        }
    )
