"""`worker` and `jobs` commands: run a Celery worker, submit jobs and follow them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from moesuite.commands.context import pass_settings
from moesuite.formats import echo_json, format_option
from moesuite.settings import Settings

# The worker's queue names, kept here so that `moesuite --help` need not import Celery
# (tests/test_cli_jobs_format.py checks them against workers.app.QUEUES).
QUEUES = ("fraud", "code", "train")


def _client(settings: Settings):  # noqa: ANN202 - JobClient imports Celery
    from workers.client import JobClient

    return JobClient(settings)


def _echo_job(job_id: str, kind: str, fmt: str) -> None:
    if fmt == "json":
        echo_json({"job_id": job_id, "kind": kind})
    else:
        click.echo(job_id)


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a dict; values are parsed as JSON when they can be."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--option")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


_OPTION = click.option(
    "--option",
    "-O",
    "option_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Task option (repeatable); VALUE is parsed as JSON when possible.",
)


@click.command("worker")
@click.option(
    "--queues",
    "-Q",
    default=",".join(QUEUES),
    show_default=True,
    help="Comma-separated queues to consume.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (or threads).",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo", "threads"]),
    default="prefork",
    show_default=True,
)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--hostname", "-n", default=None, help="Node name (default celery@<host>).")
@pass_settings
def worker(
    settings: Settings,
    queues: str,
    concurrency: int,
    pool: str,
    loglevel: str,
    hostname: str | None,
) -> None:
    """Start a Celery worker consuming the suite's queues (runs until stopped)."""
    # One torch/BLAS thread per worker process: several busy processes share the cores.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from workers.app import run_worker

    names = [q.strip() for q in queues.split(",") if q.strip()]
    run_worker(settings, names, concurrency, pool, loglevel, hostname)


@click.group("jobs")
def jobs() -> None:
    """Submit distributed jobs to the workers and follow them."""


@jobs.group("submit")
def submit() -> None:
    """Queue a job; prints its id (--format json: {"job_id": ..., "kind": ...})."""


@submit.command("score")
@click.argument("path", type=_FILE)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Scored rows (.csv or .parquet); default <FILE stem>.scored.parquet.",
)
@_OPTION
@format_option("text", "json")
@pass_settings
def submit_score(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...], fmt: str
) -> None:
    """Score a transaction FILE, fanned out over the workers by customer."""
    output = output or path.with_name(f"{path.stem}.scored.parquet")
    job_id = _client(settings).submit_score(path, output, _options(option_pairs))
    _echo_job(job_id, "score", fmt)


@submit.command("refactor")
@click.argument("path", type=_FILE)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the result; default: rewrite PATH in place.",
)
@_OPTION
@format_option("text", "json")
@pass_settings
def submit_refactor(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...], fmt: str
) -> None:
    """Refactor one Python file."""
    job_id = _client(settings).submit_refactor(path, output, _options(option_pairs))
    _echo_job(job_id, "refactor", fmt)


@submit.command("detect")
@click.argument("path", type=_FILE)
@_OPTION
@format_option("text", "json")
@pass_settings
def submit_detect(settings: Settings, path: Path, option_pairs: tuple[str, ...], fmt: str) -> None:
    """Detect suspected defects in one Python file."""
    _echo_job(_client(settings).submit_detect(path, _options(option_pairs)), "detect", fmt)


@submit.command("train")
@click.argument("path", type=_FILE)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Bundle directory; default <home>/fraud-bundle.",
)
@_OPTION
@format_option("text", "json")
@pass_settings
def submit_train(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...], fmt: str
) -> None:
    """Train a fraud bundle from a labelled transaction FILE."""
    output = output or settings.home / "fraud-bundle"
    _echo_job(_client(settings).submit_train(path, output, _options(option_pairs)), "train", fmt)


@jobs.command("status")
@click.argument("job_id")
@pass_settings
def status(settings: Settings, job_id: str) -> None:
    """Show a job's state and progress as JSON."""
    _echo_json(_client(settings).status(job_id).to_dict())


@jobs.command("result")
@click.argument("job_id")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for the job to finish.",
)
@pass_settings
def result(settings: Settings, job_id: str, wait: float) -> None:
    """Print a finished job's result as JSON; exit 1 when it is an error result."""
    value = _client(settings).result(job_id, timeout=wait or 0.01)
    _echo_json(value)
    if not value.get("ok", True):
        raise SystemExit(1)


@jobs.command("cancel")
@click.argument("job_id")
@format_option("text", "json")
@pass_settings
def cancel(settings: Settings, job_id: str, fmt: str) -> None:
    """Cancel a queued or running job."""
    _client(settings).cancel(job_id)
    if fmt == "json":
        echo_json({"job_id": job_id, "cancelled": True})
    else:
        click.echo(f"cancelled {job_id}")


COMMANDS: list[click.Command] = [worker, jobs]
