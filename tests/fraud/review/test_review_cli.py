"""`review` and `db` commands through click's CliRunner: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import update

import moesuite.cli as cli
from fraud.review.db import dispose_engines, get_engine
from fraud.review.history import record_transactions
from fraud.review.models import Case
from fraud.review.queue import upsert_cases


@pytest.fixture
def run(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.delenv("MOESUITE_ANALYST", raising=False)
    monkeypatch.setenv("MOESUITE_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, config: str | None = None):
        prefix = ["--database-url", sqlite_url]
        if config is not None:
            path = tmp_path / "moesuite.toml"
            path.write_text(config)
            prefix += ["--config", str(path)]
        return runner.invoke(cli.cli, [*prefix, *args], env=env, catch_exceptions=False)

    yield invoke
    dispose_engines()


@pytest.fixture
def seeded(sqlite_url, make_case):
    engine = get_engine(sqlite_url)
    upsert_cases(engine, [make_case(i, score=0.5 + i / 10) for i in range(3)])
    record_transactions(
        engine,
        pd.DataFrame(
            {
                "transaction_id": ["old-1", "old-2"],
                "timestamp": pd.to_datetime(["2026-03-01 08:00", "2026-03-01 09:00"], utc=True),
                "customer_id": ["cust-2", "cust-2"],
                "amount": [12.5, 99.0],
                "merchant_id": ["shop-a", "shop-b"],
            }
        ),
    )
    return engine


def _assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_full_flow_through_the_cli(run, seeded, tmp_path):
    listed = run("review", "list")
    assert listed.exit_code == 0
    assert [line.split()[-1] for line in listed.output.splitlines()[1:]] == [
        "tx-00002",
        "tx-00001",
        "tx-00000",
    ]
    claimed = run("review", "next", env={"MOESUITE_ANALYST": "ann"})
    assert claimed.exit_code == 0 and "case 3 (tx-00002) claimed by ann" in claimed.output

    shown = run("review", "show", "3")
    assert shown.exit_code == 0
    for fragment in (
        "held by    ann",
        "amount_vs_history, new_device",
        "card_token: tok_2",
        "customer history (2 before",
        "old-1",
        "shop-b",
        "created",
        "claimed",
    ):
        assert fragment in shown.output
    as_json = json.loads(run("review", "show", "3", "--format", "json").output)
    assert as_json["case"]["status"] == "claimed"
    assert [h["transaction_id"] for h in as_json["history"]] == ["old-1", "old-2"]

    decided = run("review", "decide", "3", "--label", "fraud", "--analyst", "ann", "--note", "ok")
    assert decided.exit_code == 0 and "confirmed_fraud" in decided.output
    run("review", "next", "--analyst", "bob")
    assert run("review", "escalate", "2", "--analyst", "bob").exit_code == 0
    assert run("review", "next", "--analyst", "carol").exit_code == 0
    assert run("review", "release", "2", "--analyst", "carol").exit_code == 0

    rows = json.loads(run("review", "list", "--status", "all", "--format", "json").output)
    assert {r["id"]: r["status"] for r in rows} == {1: "open", 2: "escalated", 3: "resolved"}
    assert (
        run("review", "list", "--min-score", "0.55").output.count("tx-") == 1
    )  # 0.6; 0.7 is resolved

    stats = run("review", "stats")
    assert stats.exit_code == 0
    assert "fraud found 1 of 1 decided (100.0%)" in stats.output
    assert "ann" in stats.output
    stats_json = json.loads(run("review", "stats", "--format", "json").output)
    assert stats_json["by_status"]["escalated"] == 1 and stats_json["fraud_rate"] == 1.0

    stdout_csv = run("review", "export-labels")
    assert (
        stdout_csv.output.splitlines()[0]
        == "transaction_id,is_fraud,decided_at,analyst,model_version"
    )
    assert stdout_csv.output.splitlines()[1].startswith("tx-00002,1,")
    target = tmp_path / "labels.jsonl"
    written = run("review", "export-labels", "-o", str(target))
    assert written.exit_code == 0 and "wrote 1 labels" in written.output
    assert json.loads(target.read_text())["analyst"] == "ann"
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert run("review", "export-labels", "--since", later).output.count("\n") == 1


def test_empty_queue(run, sqlite_url):
    result = run("review", "next", "--analyst", "ann")
    # Nothing to do exits 1, so `while moesuite review next ...; do` stops.
    assert result.exit_code == 1 and result.output.strip() == "queue is empty"
    assert "(no cases)" in run("review", "list").output


def test_error_paths_are_one_line_with_exit_code_2(run, seeded, tmp_path):
    _assert_one_line_error(run("review", "show", "42"), "case 42 does not exist")
    _assert_one_line_error(
        run("review", "decide", "1", "--label", "fraud", "--analyst", "ann"), "nobody holds it"
    )
    run("review", "next", "--analyst", "ann")  # claims case 3
    _assert_one_line_error(
        run("review", "decide", "3", "--label", "legit", "--analyst", "bob"), "held by 'ann'"
    )
    _assert_one_line_error(run("review", "release", "3", "--analyst", "bob"), "held by 'ann'")
    _assert_one_line_error(
        run("review", "decide", "3", "--label", "legit", "--analyst", "ann", "--version", "1"),
        "changed since you read it",
    )
    # Let ann's lease lapse (move it into the past instead of sleeping).
    with seeded.begin() as conn:
        past = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(update(Case).where(Case.id == 3).values(lease_expires_at=past))
    _assert_one_line_error(
        run("review", "decide", "3", "--label", "fraud", "--analyst", "ann"),
        "lease of 'ann' expired",
    )
    run("review", "next", "--analyst", "ann")
    run("review", "escalate", "3", "--analyst", "ann")
    run("review", "next", "--analyst", "ann")
    _assert_one_line_error(run("review", "escalate", "3", "--analyst", "ann"), "already escalated")
    run("review", "decide", "3", "--label", "fraud", "--analyst", "ann")
    _assert_one_line_error(
        run("review", "decide", "3", "--label", "legit", "--analyst", "ann"), "resolved"
    )
    _assert_one_line_error(
        run("review", "export-labels", "-o", str(tmp_path / "labels.txt")), ".csv or .jsonl"
    )
    _assert_one_line_error(
        run("review", "list", config="[review]\nlease_minutes = 'soon'\n"), "[review] lease_minutes"
    )


def test_missing_analyst_is_a_usage_error(run, seeded):
    result = run("review", "next")
    assert result.exit_code == 2 and "--analyst" in result.output


def test_bad_database_url_is_one_line(run):
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["--database-url", "nope://", "review", "list"])
    _assert_one_line_error(result, "nope://")


def test_db_upgrade_creates_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite'}"
    result = CliRunner().invoke(cli.cli, ["--database-url", url, "db", "upgrade"])
    assert result.exit_code == 0 and "at head" in result.output
    assert (tmp_path / "fresh" / "db.sqlite").exists()
