"""Code jobs through real workers on each broker: results, error results, cancellation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from workers.errors import WorkersError

# The stack fixture starts its worker on these queues only.
WORKER_QUEUES = "code"
BUGGY = "def f(items):\n    for i in range(len(items)):\n        pass\n    return undefined_name\n"


def test_detect_job_end_to_end(stack, tmp_path: Path) -> None:
    source = tmp_path / "buggy.py"
    source.write_text(BUGGY, encoding="utf-8")
    job_id = stack.client.submit_detect(source)
    result = stack.client.result(job_id, timeout=60)
    assert result["ok"] is True
    assert result["attempts"] == 1
    assert result["path"] == str(source.resolve())
    rules = {f["rule_id"] for f in result["findings"]}
    assert any("F821" in r for r in rules), rules
    status = stack.client.status(job_id)
    assert (status.state, status.ok, status.task) == (
        "SUCCESS",
        True,
        "moesuite.code.detect_defects",
    )


def test_refactor_job_end_to_end(stack, tmp_path: Path) -> None:
    source = tmp_path / "messy.py"
    source.write_text("import os, sys\nx = {  'a':1 }\nif x == None :\n    pass\n")
    output = tmp_path / "clean.py"
    result = stack.client.result(stack.client.submit_refactor(source, output), timeout=60)
    assert result["ok"] is True and result["status"] == "changed", result
    assert output.read_text() == 'import os\nimport sys\n\nx = {"a": 1}\nif x is None:\n    pass\n'
    assert {r["name"] for r in result["rewrites"]} == {"none-comparison", "import-split"}
    assert "x == None" in source.read_text()  # the input is untouched when output is elsewhere


def test_bad_input_is_an_error_result_without_retries(stack, tmp_path: Path) -> None:
    source = tmp_path / "undecodable.py"
    source.write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    job_id = stack.client.submit_detect(source)
    result = stack.client.result(job_id, timeout=60)
    assert result["ok"] is False
    assert result["attempts"] == 1
    assert result["error"]["path"] == str(source.resolve())
    assert result["error"]["line"] == 1
    assert result["error"]["type"]
    # Exactly one delivery across all workers: no retry storm.
    time.sleep(0.5)
    assert sum(w.received(job_id) for w in stack.workers) == 1
    assert stack.client.status(job_id).ok is False


def test_cancel_queued_job(stack, tmp_path: Path) -> None:
    source = tmp_path / "queued.py"
    source.write_text(BUGGY, encoding="utf-8")
    # Held back 3 s so it is certainly still queued when it is cancelled.
    job_id = stack.client.app.send_task(
        "moesuite.code.detect_defects", args=[str(source), {}], countdown=3
    ).id
    stack.client.cancel(job_id)
    assert stack.client.status(job_id).state == "REVOKED"
    time.sleep(4.5)
    assert stack.client.status(job_id).state == "REVOKED"
    with pytest.raises(WorkersError, match="cancelled"):
        stack.client.result(job_id, timeout=1)


def test_cancel_finished_job_is_refused(stack, tmp_path: Path) -> None:
    source = tmp_path / "done.py"
    source.write_text("x = 1\n", encoding="utf-8")
    job_id = stack.client.submit_detect(source)
    stack.client.result(job_id, timeout=60)
    with pytest.raises(WorkersError, match="already finished"):
        stack.client.cancel(job_id)


def test_jobs_commands_submit_wait_and_show(stack, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from moesuite.cli import cli

    source = tmp_path / "cli.py"
    source.write_text(BUGGY, encoding="utf-8")
    base = [
        "--home", str(stack.home),
        "--broker-url", stack.settings.broker_url,
        "--result-backend", stack.settings.result_backend,
    ]  # fmt: skip
    runner = CliRunner()
    submitted = runner.invoke(cli, [*base, "jobs", "submit", "detect", str(source)])
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.output.strip()
    waited = runner.invoke(cli, [*base, "jobs", "result", job_id, "--wait", "60"])
    assert waited.exit_code == 0, waited.output
    assert '"ok": true' in waited.output
    shown = runner.invoke(cli, [*base, "jobs", "status", job_id])
    assert shown.exit_code == 0 and '"state": "SUCCESS"' in shown.output
    refused = runner.invoke(cli, [*base, "jobs", "cancel", job_id])
    assert refused.exit_code == 2 and "already finished" in refused.output
    missing = runner.invoke(cli, [*base, "jobs", "submit", "detect", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2
