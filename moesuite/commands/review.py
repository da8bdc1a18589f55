"""`review` (the manual-review queue) and `db` (schema migrations) commands.

The queue's write paths (fraud.review.queue, .labels) are imported by the commands that use
them: `review list / stats / show` load only the read side (bench/cli.py times them).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from fraud.review.config import ReviewConfig, review_config_from_mapping
from fraud.review.db import create_review_engine, get_engine, upgrade_database
from fraud.review.views import LIST_FILTERS, CaseDetail, CaseView, describe_case, list_cases
from moesuite.commands.context import pass_settings
from moesuite.formats import echo_json, format_option
from moesuite.settings import Settings

analyst_option = click.option(
    "--analyst",
    envvar="MOESUITE_ANALYST",
    required=True,
    help="Who is acting [env MOESUITE_ANALYST].",
)


def _open(settings: Settings) -> tuple[Engine, ReviewConfig]:
    return get_engine(settings.database_url), review_config_from_mapping(settings.section("review"))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def _case_line(case: CaseView) -> str:
    return (
        f"{case.id:>6}  {case.status:<9}  {case.score:5.3f}  {case.amount:>10.2f}  "
        f"{case.priority:8.2f}  {case.sla:<8}  {_when(case.sla_due_at):<16}  "
        f"{case.analyst or case.decided_by or '-':<12}  {case.transaction_id}"
    )


_HEADER = (
    f"{'id':>6}  {'status':<9}  {'score':>5}  {'amount':>10}  {'priority':>8}  {'sla':<8}  "
    f"{'due':<16}  {'analyst':<12}  transaction"
)


def _echo_case(case: CaseView, verb: str, fmt: str = "text") -> None:
    if fmt == "json":
        echo_json({"case": asdict(case)})
        return
    lease = f" until {_when(case.lease_expires_at)}" if case.lease_expires_at else ""
    click.echo(f"case {case.id} ({case.transaction_id}) {verb}: {case.status}{lease}")


@click.group("review")
def review() -> None:
    """The manual-review queue: list, claim, decide and export labels."""


@review.command("list")
@click.option("--status", type=click.Choice(LIST_FILTERS), default="active", show_default=True)
@click.option("--min-score", type=float, help="Only cases scored at least this.")
@click.option("--analyst", help="Only cases this analyst holds or decided.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_settings
def list_command(settings: Settings, status, min_score, analyst, limit, fmt) -> None:
    """List cases, highest priority first, with their SLA state."""
    engine, config = _open(settings)
    cases = list_cases(
        engine, status=status, min_score=min_score, analyst=analyst, limit=limit, config=config
    )
    if fmt == "json":
        click.echo(json.dumps([asdict(c) for c in cases], default=_json_default, indent=2))
        return
    click.echo(_HEADER)
    for case in cases:
        click.echo(_case_line(case))
    if not cases:
        click.echo("(no cases)")


@review.command("next")
@analyst_option
@format_option("text", "json")
@pass_settings
def next_command(settings: Settings, analyst: str, fmt: str) -> None:
    """Claim the highest-priority open or escalated case; exit 1 when the queue is empty."""
    from fraud.review.queue import claim_next

    engine, config = _open(settings)
    case = claim_next(engine, analyst, config=config)
    if case is None:
        if fmt == "json":
            echo_json({"case": None})
        else:
            click.echo("queue is empty")
        sys.exit(1)  # nothing to do: lets `while moesuite review next; do ...` stop
    _echo_case(case, f"claimed by {analyst}", fmt)


def _render_detail(detail: CaseDetail) -> None:
    case = detail.case
    click.echo(f"case {case.id}  transaction {case.transaction_id}  customer {case.customer_id}")
    click.echo(f"  status     {case.status}  (version {case.version})")
    if case.analyst:
        click.echo(f"  held by    {case.analyst} until {_when(case.lease_expires_at)}")
    if case.resolution:
        click.echo(
            f"  decided    {case.resolution} by {case.decided_by} at {_when(case.decided_at)}"
        )
    click.echo(f"  amount     {case.amount:.2f} {case.currency or ''}".rstrip())
    click.echo(f"  score      {case.score:.3f}  band {case.band}  model {case.model_version}")
    click.echo(f"  reasons    {', '.join(case.reasons) or '-'}")
    click.echo(f"  priority   {case.priority:.2f}  sla {case.sla} (due {_when(case.sla_due_at)})")
    click.echo(f"  occurred   {_when(case.occurred_at)}")
    for key, value in sorted(case.transaction.items()):
        click.echo(f"    {key}: {value}")
    click.echo(f"customer history ({len(detail.history)} before this transaction):")
    for row in detail.history.itertuples(index=False):
        click.echo(
            f"  {_when(row.timestamp.to_pydatetime())}  {row.amount or 0:>10.2f} "
            f"{row.currency or '':<3}  merchant {row.merchant_id or '-'}  "
            f"{row.channel or '-'}  {row.country or '-'}  {row.transaction_id}"
        )
    click.echo("audit trail:")
    for event in detail.events:
        move = f"{event.from_status or '-'} -> {event.to_status or '-'}"
        note = f"  note: {event.note}" if event.note else ""
        changes = f"  {json.dumps(event.changes)}" if event.changes else ""
        click.echo(f"  {_when(event.at)}  {event.actor:<12} {event.kind:<13} {move}{changes}{note}")


@review.command("show")
@click.argument("case_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_settings
def show_command(settings: Settings, case_id: int, fmt: str) -> None:
    """Show a case: transaction, score, reasons, audit trail and the customer's history."""
    engine, config = _open(settings)
    detail = describe_case(engine, case_id, config=config)
    if fmt == "json":
        payload = {
            "case": asdict(detail.case),
            "events": [asdict(e) for e in detail.events],
            "history": json.loads(detail.history.to_json(orient="records", date_format="iso")),
        }
        click.echo(json.dumps(payload, default=_json_default, indent=2))
        return
    _render_detail(detail)


@review.command("decide")
@click.argument("case_id", type=int)
@click.option("--label", type=click.Choice(["fraud", "legit"]), required=True)
@analyst_option
@click.option("--note", help="Why (kept in the audit trail).")
@click.option(
    "--version",
    "expected_version",
    type=int,
    help="Refuse if the case changed since this version (shown by `review show`).",
)
@format_option("text", "json")
@pass_settings
def decide_command(
    settings: Settings, case_id, label, analyst, note, expected_version, fmt
) -> None:
    """Resolve a case you hold as fraud or legit."""
    from fraud.review.queue import decide

    engine, config = _open(settings)
    case = decide(
        engine,
        case_id,
        analyst,
        label,
        note=note,
        expected_version=expected_version,
        config=config,
    )
    _echo_case(case, f"decided {case.resolution} by {analyst}", fmt)


@review.command("release")
@click.argument("case_id", type=int)
@analyst_option
@click.option("--note", help="Why (kept in the audit trail).")
@format_option("text", "json")
@pass_settings
def release_command(settings: Settings, case_id, analyst, note, fmt) -> None:
    """Give a case you hold back to the queue."""
    from fraud.review.queue import release

    engine, config = _open(settings)
    _echo_case(release(engine, case_id, analyst, note=note, config=config), "released", fmt)


@review.command("escalate")
@click.argument("case_id", type=int)
@analyst_option
@click.option("--note", help="Why (kept in the audit trail).")
@format_option("text", "json")
@pass_settings
def escalate_command(settings: Settings, case_id, analyst, note, fmt) -> None:
    """Escalate a case you hold to senior review."""
    from fraud.review.queue import escalate

    engine, config = _open(settings)
    _echo_case(escalate(engine, case_id, analyst, note=note, config=config), "escalated", fmt)


@review.command("stats")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_settings
def stats_command(settings: Settings, fmt: str) -> None:
    """Backlog by age, SLA at risk / breached, decisions per analyst, fraud rate found."""
    from fraud.review.stats import review_stats

    engine, config = _open(settings)
    stats = review_stats(engine, config=config)
    if fmt == "json":
        payload = {**asdict(stats), "fraud_rate": stats.fraud_rate}
        click.echo(json.dumps(payload, default=_json_default, indent=2))
        return
    click.echo("status      " + "  ".join(f"{k} {v}" for k, v in stats.by_status.items()))
    click.echo("backlog age " + "  ".join(f"{k} {v}" for k, v in stats.backlog_by_age.items()))
    click.echo(
        f"sla         at_risk {stats.sla_at_risk}  breached {stats.sla_breached}  "
        f"resolved_late {stats.resolved_late}"
    )
    rate = "-" if stats.fraud_rate is None else f"{stats.fraud_rate:.1%}"
    click.echo(f"fraud found {stats.fraud_found} of {stats.resolved} decided ({rate})")
    for analyst in stats.analysts:
        click.echo(
            f"  {analyst.analyst:<16} decided {analyst.decided:>5}  fraud {analyst.fraud:>5}"
        )


@review.command("export-labels")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE.csv or FILE.jsonl (atomic); default CSV on stdout.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
    help="Only decisions after this time (UTC when no offset is given).",
)
@format_option("text", "json")
@pass_settings
def export_labels_command(settings: Settings, output: Path | None, since, fmt: str) -> None:
    """Export analyst decisions as training labels."""
    from fraud.review.labels import render_labels, write_labels
    from fraud.review.queue import export_labels

    engine, _ = _open(settings)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = export_labels(engine, since=since)
    if output is None:
        # The labels are the output: CSV, or with --format json a JSON Lines stream.
        click.echo(render_labels(rows, "jsonl" if fmt == "json" else "csv"), nl=False)
        return
    write_labels(rows, output)
    if fmt == "json":
        echo_json({"labels": len(rows), "output": str(output)})
    else:
        click.echo(f"wrote {len(rows)} labels to {output}")


@click.group("db")
def db() -> None:
    """The review database's schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@format_option("text", "json")
@pass_settings
def upgrade_command(settings: Settings, revision: str, fmt: str) -> None:
    """Apply the schema migrations (they also run on first use)."""
    upgrade_database(create_review_engine(settings.database_url), revision)
    if fmt == "json":
        echo_json({"revision": revision})
    else:
        click.echo(f"review database at {revision}")


@db.command("downgrade")
@click.option(
    "--revision",
    required=True,
    help="Revision to go back to; 'base' drops every review table.",
)
@click.option(
    "--yes",
    is_flag=True,
    help="Go ahead without asking: the tables and columns the reverted migrations made are "
    "dropped with their data.",
)
@format_option("text", "json")
@pass_settings
def downgrade_command(settings: Settings, revision: str, yes: bool, fmt: str) -> None:
    """Revert the review schema's migrations to REVISION (drops what they made, data included;
    the web service's token and user tables are left as they are)."""
    from fraud.review.db import current_revisions, downgrade_database

    engine = create_review_engine(settings.database_url)
    before = sorted(current_revisions(engine) or ())
    if not yes:
        if fmt == "json":
            # A script reading the document cannot answer a prompt: it says --yes.
            raise click.UsageError(
                f"downgrading {', '.join(before) or 'the schema'} to {revision} drops data; "
                "pass --yes to go ahead"
            )
        click.confirm(
            f"Revert the review database from {', '.join(before) or '-'} to {revision}? "
            "Tables and columns made since are dropped with their data",
            abort=True,
            err=True,
        )
    downgrade_database(engine, revision)
    after = sorted(current_revisions(engine) or ())
    engine.dispose()
    if fmt == "json":
        echo_json({"from": before, "revision": revision, "now": after})
    else:
        click.echo(f"review database from {', '.join(before) or 'base'} to {revision}")


COMMANDS: list[click.Command] = [review, db]
