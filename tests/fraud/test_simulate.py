"""fraud.simulate: deterministic, realistic fraud rate, all scenarios, ingestable, CLI."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fraud.errors import ConfigError
from fraud.schema import IngestOptions, read_transactions
from fraud.simulate import SCENARIOS, SimulationConfig, simulate

CONFIG = SimulationConfig(n_transactions=30_000, n_customers=1_500, n_merchants=300, seed=7)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return simulate(CONFIG)


def test_deterministic_for_a_seed(frame):
    pd.testing.assert_frame_equal(simulate(CONFIG), frame)
    other = simulate(SimulationConfig(n_transactions=30_000, n_customers=1_500, seed=8))
    assert not other["amount"].equals(frame["amount"])


def test_fraud_rate_scenarios_and_labels(frame):
    assert len(frame) == CONFIG.n_transactions
    rate = frame["is_fraud"].mean()
    assert 0.001 <= rate <= 0.01
    fraud = frame[frame["is_fraud"] == 1]
    assert set(fraud["fraud_scenario"]) == set(SCENARIOS)
    assert (frame.loc[frame["is_fraud"] == 0, "fraud_scenario"] == "none").all()
    assert (frame["label_time"] >= frame["timestamp"]).all()
    delay_days = (fraud["label_time"] - fraud["timestamp"]).dt.total_seconds() / 86400
    assert delay_days.max() > 20  # some chargebacks arrive weeks later
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["transaction_id"].is_unique
    assert frame["timestamp"].min() >= pd.Timestamp(CONFIG.start)
    assert frame["timestamp"].max() < pd.Timestamp(CONFIG.start) + pd.Timedelta(days=CONFIG.days)


def test_no_single_field_value_separates_fraud(frame):
    # Every categorical value that fraud uses is mostly legitimate traffic.
    for column in ("channel", "mcc", "country", "currency"):
        share = frame.groupby(column)["is_fraud"].mean()
        assert share.max() < 0.5, column
    legit = frame[frame["is_fraud"] == 0]
    assert (legit["amount"] < 3).sum() > 50  # small legit charges exist beside card testing
    assert legit["country"].nunique() > 5


def test_simulated_file_ingests_cleanly_with_pan(tmp_path):
    from fraud.io import write_frame

    config = SimulationConfig(n_transactions=5_000, n_customers=200, n_merchants=50, with_pan=True)
    data = simulate(config)
    path = tmp_path / "sim.csv"
    write_frame(data, path)
    result = read_transactions(
        path, IngestOptions(pan_key=b"k" * 32, now=datetime(2027, 1, 1, tzinfo=UTC))
    )
    assert result.rejections == []
    assert len(result.frame) == 5_000
    assert "pan" not in result.frame.columns
    assert result.frame["card_token"].nunique() == data["pan"].nunique()
    assert result.extra_columns == ["fraud_scenario"]
    pd.testing.assert_series_equal(
        result.frame["is_fraud"], data["is_fraud"], check_names=False, check_dtype=False
    )


def test_config_validation():
    with pytest.raises(ConfigError, match="fraud rate"):
        SimulationConfig(fraud_rate_target=0.05)
    with pytest.raises(ConfigError, match="days"):
        SimulationConfig(days=2)


def test_cli_writes_file_and_summary(tmp_path):
    from moesuite.cli import cli

    out = tmp_path / "sim.parquet"
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(tmp_path),
            "simulate-transactions",
            "-o",
            str(out),
            "--rows",
            "3000",
            "--customers",
            "100",
            "--merchants",
            "30",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3000 rows" in result.output
    for scenario in SCENARIOS:
        assert scenario in result.output
    assert len(pd.read_parquet(out)) == 3000
    bad = CliRunner().invoke(cli, ["simulate-transactions", "-o", str(out), "--fraud-rate", "0.5"])
    assert bad.exit_code == 2 and "fraud rate" in bad.output
    assert np.isfinite(pd.read_parquet(out)["amount"]).all()


def test_cli_stdout_keeps_data_and_summary_apart():
    from moesuite.cli import cli

    result = CliRunner().invoke(
        cli,
        ["simulate-transactions", "-o", "-", "--rows", "1000", "--customers", "60"]
        + ["--merchants", "20", "--with-pan"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("transaction_id,timestamp,customer_id,amount,")
    assert len(result.stdout.splitlines()) == 1001
    assert "1000 rows" in result.stderr and "1000 rows" not in result.stdout


@pytest.mark.parametrize("days", [7, 10, 15])
def test_a_short_simulation_keeps_every_scenario_inside_its_days(days):
    # A compromised terminal plays out over up to 12 days: shorter runs used to crash.
    config = SimulationConfig(n_transactions=5_000, n_customers=200, n_merchants=60, days=days)
    short = simulate(config)
    assert len(short) == config.n_transactions
    end = pd.Timestamp(config.start) + pd.Timedelta(days=days)
    assert short["timestamp"].max() < end
    assert set(short.loc[short["is_fraud"] == 1, "fraud_scenario"]) == set(SCENARIOS)
