"""`review ... --format json`: the documented shapes and exit codes an analyst's script relies on
(0 done, 1 nothing to do, 2 usage or input error)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import moesuite.cli as cli
from fraud.review.db import dispose_engines, get_engine
from fraud.review.queue import upsert_cases


@pytest.fixture
def run(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.delenv("MOESUITE_ANALYST", raising=False)
    monkeypatch.setenv("MOESUITE_HOME", str(tmp_path / "home"))

    def invoke(*args: str):
        return CliRunner().invoke(cli.cli, ["--database-url", sqlite_url, *args])

    yield invoke
    dispose_engines()


@pytest.fixture
def seeded(sqlite_url, make_case):
    upsert_cases(get_engine(sqlite_url), [make_case(i, score=0.5 + i / 10) for i in range(2)])


def test_next_decide_show_in_json(run, seeded):
    claimed = run("review", "next", "--analyst", "ann", "--format", "json")
    assert claimed.exit_code == 0
    case = json.loads(claimed.stdout)["case"]
    assert case["id"] == 2 and case["status"] == "claimed" and case["analyst"] == "ann"
    assert case["transaction_id"] == "tx-00001"

    decided = run(
        "review", "decide", "2", "--label", "fraud", "--analyst", "ann", "--format", "json"
    )
    assert decided.exit_code == 0
    case = json.loads(decided.stdout)["case"]
    assert case["status"] == "resolved" and case["resolution"] == "confirmed_fraud"

    shown = json.loads(run("review", "show", "2", "--format", "json").stdout)
    assert shown["case"]["decided_by"] == "ann"
    assert [e["kind"] for e in shown["events"]][-1] == "resolved"
    assert isinstance(shown["history"], list)


def test_release_and_escalate_in_json(run, seeded):
    run("review", "next", "--analyst", "ann")
    released = run("review", "release", "2", "--analyst", "ann", "--format", "json")
    assert released.exit_code == 0 and json.loads(released.stdout)["case"]["status"] == "open"
    run("review", "next", "--analyst", "bob")
    escalated = run("review", "escalate", "2", "--analyst", "bob", "--format", "json")
    assert json.loads(escalated.stdout)["case"]["status"] == "escalated"


def test_empty_queue_is_nothing_to_do(run):
    result = run("review", "next", "--analyst", "ann", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"case": None}


def test_input_errors_exit_2_with_the_message_on_stderr(run, seeded):
    missing = run("review", "show", "42", "--format", "json")
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "case 42 does not exist" in missing.stderr
    not_held = run(
        "review", "decide", "1", "--label", "fraud", "--analyst", "zed", "--format", "json"
    )
    assert not_held.exit_code == 2 and not_held.stdout == ""
    usage = run("review", "decide", "1", "--label", "maybe", "--analyst", "ann")
    assert usage.exit_code == 2 and "Invalid value for '--label'" in usage.stderr


def test_export_labels_and_db_upgrade_in_json(run, seeded, tmp_path):
    run("review", "next", "--analyst", "ann")
    run("review", "decide", "2", "--label", "legit", "--analyst", "ann")
    stream = run("review", "export-labels", "--format", "json")
    records = [json.loads(line) for line in stream.stdout.splitlines()]
    assert [r["analyst"] for r in records] == ["ann"]
    target = tmp_path / "labels.csv"
    written = run("review", "export-labels", "-o", str(target), "--format", "json")
    assert json.loads(written.stdout) == {"labels": 1, "output": str(target)}
    assert json.loads(run("db", "upgrade", "--format", "json").stdout) == {"revision": "head"}
