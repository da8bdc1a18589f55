"""`jobs submit --format json` and `jobs status`: shapes a backend script parses (no worker needed:
submitting only queues the job on the default SQLite broker)."""

import json

from click.testing import CliRunner

from moesuite.cli import cli
from moesuite.commands import jobs as jobs_commands


def test_queue_names_match_the_worker_app():
    from workers.app import QUEUES

    assert tuple(QUEUES) == jobs_commands.QUEUES


def test_submit_prints_the_job_as_json_and_status_finds_it(tmp_path):
    source = tmp_path / "f.py"
    source.write_text("x = 1\n")
    runner = CliRunner()
    home = ["--home", str(tmp_path / "home")]
    submit = [*home, "jobs", "submit", "detect", str(source)]
    result = runner.invoke(cli, [*submit, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "detect" and len(document["job_id"]) >= 32
    status = runner.invoke(cli, [*home, "jobs", "status", document["job_id"]])
    assert status.exit_code == 0
    assert json.loads(status.stdout)["state"] == "PENDING"
    text = runner.invoke(cli, submit)
    assert text.stdout.strip() != document["job_id"] and len(text.stdout.strip()) >= 32


def test_submit_of_a_missing_file_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(tmp_path),
            "jobs",
            "submit",
            "score",
            str(tmp_path / "nope.csv"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 2 and result.stdout == ""


# Commands without --format: they print JSON always, or run until stopped, or print a script.
_ALWAYS_JSON_OR_NO_REPORT = {
    "worker",
    "completion",
    "train-defects",
    "calibrate-defects",
    "jobs status",
    "jobs result",
    "serve",  # runs until stopped; reports nothing
}
# Commands added after the --format json pass would go here as known gaps, listed so that none is
# added silently; none is left.
_JSON_NOT_YET: set[str] = set()


def test_every_reporting_command_offers_json():
    def leaves(group, prefix=""):
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            if hasattr(command, "list_commands"):
                yield from leaves(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    missing = []
    for path, command in leaves(cli):
        if path in _ALWAYS_JSON_OR_NO_REPORT | _JSON_NOT_YET:
            continue
        formats = [p for p in command.params if p.name == "fmt"]
        if not formats or "json" not in formats[0].type.choices:
            missing.append(path)
    assert missing == []


def test_simulate_transactions_summary_in_json(tmp_path):
    out = tmp_path / "tx.csv"
    result = CliRunner().invoke(
        cli,
        [
            "simulate-transactions",
            "-o",
            str(out),
            "--rows",
            "5000",
            "--customers",
            "300",
            "--days",
            "30",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["rows"] == 5000 and document["path"] == str(out)
    assert sum(document["per_scenario"].values()) == document["fraud_rows"]
