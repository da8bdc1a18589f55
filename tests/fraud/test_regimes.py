"""Simulator regimes: their own columns and scenarios, seeded, ingestable, and evaluable."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraud.errors import ConfigError
from fraud.io import write_frame
from fraud.regimes import SCENARIOS
from fraud.schema import IngestOptions, read_transactions
from fraud.simulate import SimulationConfig, simulate

COLUMNS = {
    "terminal": ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount"],
    "merchant": [
        "transaction_id",
        "timestamp",
        "customer_id",
        "merchant_id",
        "category",
        "amount",
        "lat",
        "lon",
        "home_lat",
        "home_lon",
        "city_pop",
        "age",
        "gender",
    ],
    "device": [
        "transaction_id",
        "timestamp",
        "customer_id",
        "merchant_id",
        "amount",
        "currency",
        "country",
        "channel",
        "device_id",
        "device_type",
        "ip_country",
        "email_domain",
        "account_age_days",
    ],
}


def _config(regime: str, seed: int = 1) -> SimulationConfig:
    return SimulationConfig(
        n_transactions=20_000, n_customers=800, n_merchants=150, days=60, seed=seed, regime=regime
    )


@pytest.mark.parametrize("regime", sorted(SCENARIOS))
def test_regime_columns_scenarios_and_rate(regime):
    frame = simulate(_config(regime))
    labels = ["is_fraud", "fraud_scenario"]
    if regime != "terminal":
        labels.insert(1, "label_time")
    assert frame.columns.tolist() == COLUMNS[regime] + labels
    assert len(frame) == 20_000 and frame["transaction_id"].is_unique
    assert frame["timestamp"].is_monotonic_increasing
    assert 0.004 <= frame["is_fraud"].mean() <= 0.006
    fraud = frame[frame["is_fraud"] == 1]
    assert set(fraud["fraud_scenario"]) == set(SCENARIOS[regime])
    assert (frame.loc[frame["is_fraud"] == 0, "fraud_scenario"] == "none").all()
    assert (frame["amount"] > 0).all()
    pd.testing.assert_frame_equal(simulate(_config(regime)), frame)  # seeded
    assert not simulate(_config(regime, seed=2))["amount"].equals(frame["amount"])


def test_regimes_differ_in_what_gives_fraud_away():
    terminal = simulate(_config("terminal"))
    # Compromised terminals: fraud concentrates on a few terminals.
    hit = terminal[terminal["fraud_scenario"] == "compromised_terminal"]
    assert len(hit) >= 4 * hit["terminal_id"].nunique()
    threshold = terminal[terminal["fraud_scenario"] == "amount_threshold"]
    assert (threshold["amount"] >= 220).all()
    assert (terminal.loc[terminal["is_fraud"] == 0, "amount"] >= 220).mean() < 0.01
    big = dict(n_transactions=60_000, n_customers=2_000, fraud_rate_target=0.01)
    merchant = simulate(SimulationConfig(**big, regime="merchant", seed=1))
    spree = merchant[merchant["fraud_scenario"] == "night_net_spree"]
    assert spree["category"].isin(["shopping_net", "misc_net", "grocery_net"]).all()
    hours = spree["timestamp"].dt.hour
    assert ((hours >= 22) | (hours < 3)).all()
    # Victims are older than the customer base (the demographic columns carry signal).
    victims = merchant[merchant["fraud_scenario"].isin(["night_net_spree", "skimmed_card"])]
    victims = victims.drop_duplicates("customer_id")
    customers = merchant.drop_duplicates("customer_id")
    assert (victims["age"] > 65).mean() > 2 * (customers["age"] > 65).mean()
    device = simulate(_config("device"))
    farm = device[device["fraud_scenario"] == "device_farm"]
    accounts_per_device = farm.groupby("device_id")["customer_id"].nunique()
    assert accounts_per_device.max() >= 5
    new = device[device["fraud_scenario"] == "new_account"]
    assert (new["account_age_days"] < 5).all()
    assert new["email_domain"].isin(["mailinator.com", "tempmail.io", "10minute.mail"]).all()


@pytest.mark.parametrize("regime", sorted(SCENARIOS))
def test_regime_files_ingest_without_rejections(tmp_path, regime):
    frame = simulate(_config(regime))
    path = tmp_path / "sim.csv"
    write_frame(frame, path)
    result = read_transactions(path, IngestOptions(now=datetime(2027, 1, 1, tzinfo=UTC)))
    assert result.rejections == [] and len(result.frame) == len(frame)
    extras = [c for c in frame.columns if c in result.extra_columns]
    canonical = {"terminal": [], "merchant": ["lat", "lon"], "device": ["channel"]}[regime]
    assert not set(canonical) & set(extras)
    assert "fraud_scenario" in extras


def test_unknown_regime_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown regime 'bank'"):
        SimulationConfig(regime="bank")


def test_terminal_only_file_trains_scores_and_evaluates_with_the_baseline(tmp_path):
    """A file with only id, time, customer, terminal, amount and label goes end to end."""
    import json

    from moesuite.cli import cli

    runner = CliRunner()
    sim = tmp_path / "sim.csv"
    r = runner.invoke(
        cli,
        [
            "--home",
            str(tmp_path),
            "simulate-transactions",
            "-o",
            str(sim),
            "--regime",
            "terminal",
            "--rows",
            "30000",
            "--customers",
            "1000",
            "--merchants",
            "100",
            "--days",
            "60",
            "--seed",
            "3",
            "--fraud-rate",
            "0.01",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "compromised_terminal" in r.output and "amount_threshold" in r.output
    src = tmp_path / "only.csv"
    pd.read_csv(sim).drop(columns=["fraud_scenario"]).to_csv(src, index=False)
    assert pd.read_csv(src).columns.tolist() == COLUMNS["terminal"] + ["is_fraud"]
    base = ["--home", str(tmp_path), "--database-url", f"sqlite:///{tmp_path / 'm.db'}"]
    r = runner.invoke(
        cli,
        [
            *base,
            "train-fraud",
            str(src),
            "-o",
            str(tmp_path / "b"),
            "--until",
            "2026-02-10",
            "--no-sequence",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        [
            *base,
            "score-transactions",
            str(src),
            "-o",
            str(tmp_path / "o.csv"),
            "--bundle",
            str(tmp_path / "b"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "30000 rows in" in r.output and "0 rejected" in r.output
    r = runner.invoke(
        cli,
        [
            *base,
            "evaluate-fraud",
            str(src),
            "--bundle",
            str(tmp_path / "b"),
            "--from",
            "2026-02-11",
            "--no-ablation",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["metrics"]
    ref = m["reference_baseline"]
    assert "terminal_fraud_rate_7d" in ref["feature_names"]
    assert not any(name.startswith("file_") for name in ref["feature_names"])
    assert np.isfinite([m["average_precision"], ref["average_precision"]]).all()
    assert ref["average_precision"] > 3 * m["frauds"] / m["rows"]  # well above chance
