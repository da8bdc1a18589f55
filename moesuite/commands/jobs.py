"""`worker` and `jobs` commands: run a Celery worker, submit jobs and follow them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from moesuite.commands.context import pass_settings
from moesuite.settings import Settings
from workers.app import QUEUES, run_worker
from workers.client import JobClient

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
    names = [q.strip() for q in queues.split(",") if q.strip()]
    run_worker(settings, names, concurrency, pool, loglevel, hostname)


@click.group("jobs")
def jobs() -> None:
    """Submit distributed jobs to the workers and follow them."""


@jobs.group("submit")
def submit() -> None:
    """Queue a job; prints its id."""


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
@pass_settings
def submit_score(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...]
) -> None:
    """Score a transaction FILE, fanned out over the workers by customer."""
    output = output or path.with_name(f"{path.stem}.scored.parquet")
    click.echo(JobClient(settings).submit_score(path, output, _options(option_pairs)))


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
@pass_settings
def submit_refactor(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...]
) -> None:
    """Refactor one Python file."""
    click.echo(JobClient(settings).submit_refactor(path, output, _options(option_pairs)))


@submit.command("detect")
@click.argument("path", type=_FILE)
@_OPTION
@pass_settings
def submit_detect(settings: Settings, path: Path, option_pairs: tuple[str, ...]) -> None:
    """Detect suspected defects in one Python file."""
    click.echo(JobClient(settings).submit_detect(path, _options(option_pairs)))


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
@pass_settings
def submit_train(
    settings: Settings, path: Path, output: Path | None, option_pairs: tuple[str, ...]
) -> None:
    """Train a fraud bundle from a labelled transaction FILE."""
    output = output or settings.home / "fraud-bundle"
    click.echo(JobClient(settings).submit_train(path, output, _options(option_pairs)))


@jobs.command("status")
@click.argument("job_id")
@pass_settings
def status(settings: Settings, job_id: str) -> None:
    """Show a job's state and progress as JSON."""
    _echo_json(JobClient(settings).status(job_id).to_dict())


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
    value = JobClient(settings).result(job_id, timeout=wait or 0.01)
    _echo_json(value)
    if not value.get("ok", True):
        raise SystemExit(1)


@jobs.command("cancel")
@click.argument("job_id")
@pass_settings
def cancel(settings: Settings, job_id: str) -> None:
    """Cancel a queued or running job."""
    JobClient(settings).cancel(job_id)
    click.echo(f"cancelled {job_id}")


COMMANDS: list[click.Command] = [worker, jobs]
