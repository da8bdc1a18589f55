"""`jobs submit score|refactor|train` through the CLI against a real worker (Redis broker), and
the error result a caller gets when a task runs past its soft time limit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from moesuite.cli import cli
from tests.fraud.txn_frames import make_frame
from tests.workers.test_worker_fraud_jobs import make_transactions

pytestmark = pytest.mark.redis


def _base(stack) -> list[str]:
    return [
        "--home", str(stack.home),
        "--broker-url", stack.settings.broker_url,
        "--result-backend", stack.settings.result_backend,
        "--database-url", stack.settings.database_url,
    ]  # fmt: skip


def _submit_and_wait(stack, *args: str, wait: str = "180") -> tuple[int, dict]:
    runner = CliRunner()
    submitted = runner.invoke(cli, [*_base(stack), "jobs", "submit", *args])
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.output.strip()
    waited = runner.invoke(cli, [*_base(stack), "jobs", "result", job_id, "--wait", wait])
    return waited.exit_code, json.loads(waited.output)


def test_jobs_submit_score_refactor_and_train(stack_factory, tmp_path: Path) -> None:
    stack = stack_factory("redis", visibility_timeout=600.0)
    stack.start_worker("cli")

    frame = make_transactions(600, customers=40, seed=5)
    src = tmp_path / "txns.csv"
    frame.to_csv(src, index=False)
    code, result = _submit_and_wait(
        stack, "score", str(src), "-o", str(tmp_path / "scored.csv"), "-O", "chunk_rows=200"
    )
    assert code == 0 and result["ok"] is True, result
    assert (result["rows_in"], result["rows_scored"], result["rows_rejected"]) == (600, 600, 0)
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert sorted(scored["transaction_id"]) == sorted(frame["transaction_id"])

    module = tmp_path / "messy.py"
    module.write_text("import os,sys\ndef f( x ):\n  return x==None\n")
    code, result = _submit_and_wait(stack, "refactor", str(module), "-o", str(tmp_path / "o.py"))
    assert code == 0 and result["ok"] is True, result
    assert (tmp_path / "o.py").read_text() == (
        "import os\nimport sys\n\n\ndef f(x):\n    return x is None\n"
    )
    assert module.read_text().startswith("import os,sys")  # -o leaves the input alone

    labelled = make_frame(n=5000, n_customers=120, days=50, seed=12)
    labelled["country"] = labelled["country"].replace("XX", "US")  # txn_frames' invalid one
    for column in ("timestamp", "label_time"):
        labelled[column] = labelled[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    code, result = _submit_and_wait(
        stack, "train", str(tmp_path / "labelled.csv"), "-o", str(tmp_path / "bundle"),
        "-O", "label_delay_days=3",
    )  # fmt: skip
    assert code == 0 and result["ok"] is True, result
    manifest = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert manifest["metadata"]["rows"] == 5000
    assert manifest["metadata"]["label_delay_days"] == 3  # the -O option reached training


def test_soft_time_limit_gives_the_caller_an_error_result(stack_factory, tmp_path: Path) -> None:
    # A 2 s soft limit: training on 5,000 rows takes longer even on a quiet machine.
    stack = stack_factory("redis", visibility_timeout=600.0, time_limits=(2.0, 120.0))
    stack.start_worker("limits", "train")
    labelled = make_frame(n=5000, n_customers=120, days=50, seed=12)
    labelled["country"] = labelled["country"].replace("XX", "US")  # txn_frames' invalid one
    for column in ("timestamp", "label_time"):
        labelled[column] = labelled[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    code, result = _submit_and_wait(
        stack, "train", str(tmp_path / "labelled.csv"), "-o", str(tmp_path / "bundle")
    )
    assert code == 1, result  # `jobs result` exits 1 on an error result
    assert result["ok"] is False and result["error"]["type"] == "SoftTimeLimitExceeded", result
    assert result["attempts"] == 1  # a time limit is not transient: no retry
    assert not (tmp_path / "bundle").exists()
