"""Fraud commands: score-transactions, train-fraud, evaluate-fraud (and simulate-transactions)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fraud.pan import load_or_create_pan_key
from moesuite.commands.context import pass_settings
from moesuite.progress import command_progress
from moesuite.settings import Settings

# --- scoring, training, evaluation ---------------------------------------------------------


def _column_map(text: str | None) -> dict[str, str]:
    """``their=canonical,...`` -> {"their": "canonical"} (validated by fraud.schema)."""
    from fraud.schema import parse_column_map

    return parse_column_map(text) if text else {}


def _bundle_path(settings: Settings, bundle: Path | None) -> Path:
    from fraud.bundle import default_bundle_path

    if bundle is not None:
        return bundle
    configured = settings.section("fraud").get("bundle")
    return Path(configured) if configured else default_bundle_path(settings.home)


@click.command("score-transactions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Scored rows (format from the suffix: .csv, .parquet, .jsonl).",
)
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Model bundle [default: $MOESUITE_HOME/fraud-bundle or the shipped one].",
)
@click.option("--column-map", help="Rename input columns: src=canonical,...")
@click.option(
    "--rejections",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected rows (file, line, field, reason) to this CSV.",
)
@click.option(
    "--no-sequence", is_flag=True, help="Refuse a bundle with sequence features (behavioural only)."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_settings
def score_transactions(settings, file, output, bundle, column_map, rejections, no_sequence, fmt):
    """Score FILE into OUTPUT; review-band rows become review cases."""
    from fraud.bundle import load_bundle
    from fraud.pipeline import ScoreOptions, score_file

    options = ScoreOptions(
        column_map=_column_map(column_map),
        rejections_path=rejections,
        with_sequence=False if no_sequence else None,
        pan_key=load_or_create_pan_key(settings.home),
    )
    progress = command_progress()
    summary = score_file(
        file,
        output,
        options,
        load_bundle(_bundle_path(settings, bundle)),
        settings.database_url,
        progress=progress,
    )
    progress.close()
    if fmt == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    click.echo(
        f"model {summary.model_version}: {summary.rows_in} rows in, "
        f"{summary.rows_scored} scored, {summary.rows_rejected} rejected "
        f"({summary.rows_per_second:,.0f} rows/s)"
    )
    click.echo(f"{'band':<8} {'rows':>9} {'amount':>15}")
    for band, count in summary.bands.items():
        click.echo(f"{band:<8} {count:>9} {summary.amounts[band]:>15,.2f}")
    click.echo(f"review cases: {summary.cases_created} new, {summary.cases_updated} updated")
    click.echo(f"written: {summary.output}")


@click.command("train-fraud")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Bundle directory to write (replaced atomically).",
)
@click.option("--until", help="Training cutoff (ISO date); later rows and labels are ignored.")
@click.option(
    "--label-delay-days",
    type=float,
    default=7.0,
    show_default=True,
    help="Label delay when label_time is absent.",
)
@click.option(
    "--with-review-labels",
    is_flag=True,
    help="Add analyst decisions from the review queue as labels.",
)
@click.option(
    "--no-sequence", is_flag=True, help="Behavioural features only (skip the MoE record model)."
)
@click.option(
    "--sequence-steps",
    type=click.IntRange(min=1),
    help="Self-supervised pretraining steps of the record model [default: 1000].",
)
@click.option("--column-map", help="Rename input columns: src=canonical,...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--entity-columns",
    help="Extra columns to treat as entities (activity and fraud-rate features), comma-separated.",
)
@click.option("--ignore-columns", help="Extra columns never to use as features, comma-separated.")
@click.option(
    "--choose/--no-choose",
    default=True,
    show_default=True,
    help="Choose windows, booster settings and sequence features on a later validation block.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="OpenMP/torch threads (0 = the libraries' defaults); 1 keeps training steady beside "
    "other busy processes.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Booster and model seed.")
@pass_settings
def train_fraud_command(
    settings,
    file,
    output,
    until,
    label_delay_days,
    with_review_labels,
    no_sequence,
    sequence_steps,
    column_map,
    entity_columns,
    ignore_columns,
    choose,
    threads,
    seed,
    fmt="text",
):
    """Train a fraud bundle on labelled transactions in FILE."""
    from fraud.training import TrainFraudOptions, review_labels, train_fraud

    seq_config = None
    if sequence_steps and not no_sequence:
        from fraud.sequence import SequenceConfig  # loads torch: only when asked

        seq_config = SequenceConfig(steps=sequence_steps)

    extra = review_labels(settings.database_url) if with_review_labels else None
    options = TrainFraudOptions(
        until=until,
        label_delay_days=label_delay_days,
        with_sequence=not no_sequence,
        extra_labels=extra,
        column_map=_column_map(column_map),
        pan_key=load_or_create_pan_key(settings.home),
        sequence_config=seq_config,
        entity_columns=_names(entity_columns),
        ignore_columns=_names(ignore_columns),
        choose=choose,
        threads=threads or None,
        seed=seed,
        progress=command_progress(),
    )
    progress = options.progress
    bundle = train_fraud(file, options)
    progress.stage("save bundle")
    path = bundle.save(output)
    progress.close()
    m = bundle.metadata["metrics_calibration_block"]
    if fmt == "json":
        click.echo(json.dumps(_train_summary(bundle, path), indent=2, default=str))
        return
    click.echo(f"bundle {bundle.version} written to {path}")
    click.echo(
        f"data {bundle.metadata['data_from']} .. {bundle.metadata['data_until']}, "
        f"{bundle.metadata['labelled_rows']} labelled rows, {bundle.metadata['frauds']} frauds"
    )
    click.echo(
        f"calibration block: AUC {m['auc_roc']:.4f}, AP {m['average_precision']:.4f}; "
        f"thresholds review {bundle.thresholds.review:.4g}, "
        f"decline {bundle.thresholds.decline:.4g}"
    )
    choice = bundle.metadata["choice"]
    click.echo(f"chose windows {choice['windows']}, booster {choice['booster']}: {choice['why']}")
    for cand in choice["candidates"]:
        seq = f" + {cand['sequence']} sequences" if cand["sequence"] else ""
        seq += " + label state" if cand.get("label_state") else ""
        click.echo(
            f"  windows {cand['windows']:<9} booster {cand['booster']:<12}{seq:<36}"
            f" validation AP {cand['validation_ap']:.4f}"
        )
    click.echo(f"sequence features: {choice['sequence_reason']}")
    state = "on" if choice.get("label_state") else "off"
    click.echo(f"label-state features (entities' and customer's latest known frauds): {state}")
    click.echo(
        f"final booster fitted on: {bundle.metadata.get('final_fit', 'fit + early stopping')}"
    )
    click.echo(f"entities: {', '.join(choice['entities']) or 'none'}")
    extra = choice["numeric_columns"] + choice["categorical_columns"]
    click.echo(f"file columns used: {', '.join(extra) or 'none'}")
    for derived in bundle.schema.derived:
        click.echo(f"  derived {derived.name} ({derived.kind}) from {', '.join(derived.sources)}")
    for col, why in choice["ignored_columns"].items():
        click.echo(f"  left out {col}: {why}")


@click.command("evaluate-fraud")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Model bundle [default: $MOESUITE_HOME/fraud-bundle or the shipped one].",
)
@click.option("--from", "start", help="First evaluated time (ISO); earlier rows are history.")
@click.option("--to", "end", help="Last evaluated time (ISO, inclusive).")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report directory (report.md, metrics.json, PNG plots).",
)
@click.option(
    "--baseline-bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also score the same rows with this bundle (an extra comparison).",
)
@click.option(
    "--ablation/--no-ablation",
    default=True,
    show_default=True,
    help="Also fit the bundle's other feature variant (behavioural only vs + sequence) on the "
    "rows before --from and report both side by side.",
)
@click.option(
    "--baseline/--no-baseline",
    "reference_baseline",
    default=True,
    show_default=True,
    help="Also fit a plain textbook model (windowed customer spending, terminal/merchant "
    "fraud rates, HistGradientBoosting with stock settings) on the same history and report "
    "the bundle against it.",
)
@click.option("--column-map", help="Rename input columns: src=canonical,...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_settings
def evaluate_fraud_command(
    settings,
    file,
    bundle,
    start,
    end,
    output,
    baseline_bundle,
    ablation,
    reference_baseline,
    column_map,
    fmt,
):
    """Measure a bundle on the labelled rows of FILE in [--from, --to]."""
    from fraud.bundle import load_bundle
    from fraud.evaluation import EvaluateOptions, evaluate_fraud

    options = EvaluateOptions(
        start=start,
        end=end,
        output_dir=output,
        column_map=_column_map(column_map),
        database_url=settings.database_url if _has_review_db(settings) else None,
        baseline=load_bundle(baseline_bundle) if baseline_bundle else None,
        ablation=ablation,
        reference_baseline=reference_baseline,
        pan_key=load_or_create_pan_key(settings.home),
    )
    progress = command_progress()
    report = evaluate_fraud(
        file, load_bundle(_bundle_path(settings, bundle)), options, progress=progress
    )
    progress.close()
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
        return
    m = report.metrics
    click.echo(f"model {m['model_version']}: {m['rows']} rows, {m['frauds']} frauds")
    for key in ("auc_roc", "average_precision", "recall_at_1pct_fpr"):
        click.echo(f"{key:<22} {m[key]:.4f}")
    click.echo(report.bands.to_string(index=False))
    for a in m["ablation"]:
        click.echo(
            f"{a['role']:<14} {a['features']:<21} AUC {a['auc_roc']:.4f}  "
            f"AP {a['average_precision']:.4f}  recall@1%FPR {a['recall_at_1pct_fpr']:.4f}"
        )
    ref = m.get("reference_baseline")
    if ref is not None:
        k_key = next(k for k in ref if k.startswith("mean_daily_precision_at_"))
        k = k_key.removeprefix("mean_daily_precision_at_")
        click.echo(f"{'':<20} {'AUC':>7} {'AP':>7} {'recall@1%FPR':>13} {f'prec@{k}/day':>12}")
        for name, r in (("suite", m), ("reference baseline", ref)):
            click.echo(
                f"{name:<20} {r['auc_roc']:>7.4f} {r['average_precision']:>7.4f} "
                f"{r['recall_at_1pct_fpr']:>13.4f} {r[k_key]:>12.4f}"
            )
        click.echo(f"reference baseline: {ref['features']}")
        click.echo(m["versus_baseline"]["verdict"])
    if report.files:
        click.echo(f"report: {Path(output) / 'report.md'}")


def _train_summary(bundle, path: Path) -> dict:
    """train-fraud's --format json document."""
    meta = bundle.metadata
    m = meta["metrics_calibration_block"]
    return {
        "version": bundle.version,
        "path": str(path),
        "data_from": meta["data_from"],
        "data_until": meta["data_until"],
        "labelled_rows": meta["labelled_rows"],
        "frauds": meta["frauds"],
        "calibration_block": {"auc_roc": m["auc_roc"], "average_precision": m["average_precision"]},
        "thresholds": {"review": bundle.thresholds.review, "decline": bundle.thresholds.decline},
    }


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def _has_review_db(settings: Settings) -> bool:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


# --- simulate-transactions ------------------------------------------------------------------


@click.command("simulate-transactions")
@click.option(
    "-o",
    "--output",
    required=True,
    help="File to write (.csv, .csv.gz, .jsonl, .parquet; - for CSV on stdout).",
)
@click.option("--rows", type=int, default=100_000, show_default=True, help="Transactions.")
@click.option("--customers", type=int, default=5_000, show_default=True, help="Customers.")
@click.option("--merchants", type=int, default=800, show_default=True, help="Merchants.")
@click.option("--days", type=int, default=90, show_default=True, help="Days from 2026-01-01.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--fraud-rate", type=float, default=0.005, show_default=True, help="Fraud share, 0.001-0.01."
)
@click.option("--with-pan", is_flag=True, help="Add a test card-number column (pan).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Summary format (with -o - the summary goes to stderr).",
)
@click.option(
    "--regime",
    type=click.Choice(["default", "terminal", "merchant", "device"]),
    default="default",
    show_default=True,
    help="Which world: default (the suite's own), terminal (ids, time, amount and terminal "
    "only), merchant (categories, coordinates, demographics), device (devices and channels).",
)
def simulate_transactions(
    output, rows, customers, merchants, days, seed, fraud_rate, with_pan, regime, fmt="text"
):
    """Write a seeded, labelled synthetic transaction file (fraud scenarios by --regime)."""
    from fraud.simulate import SimulationConfig, write_simulation

    config = SimulationConfig(
        n_transactions=rows,
        n_customers=customers,
        n_merchants=merchants,
        days=days,
        seed=seed,
        fraud_rate_target=fraud_rate,
        with_pan=with_pan,
        regime=regime,
    )
    summary = write_simulation(config, output)
    # With -o - the data owns stdout, so the summary goes to stderr.
    err = output == "-"
    if fmt == "json":
        document = {
            "rows": summary.rows,
            "fraud_rows": summary.fraud_rows,
            "fraud_rate": summary.fraud_rate,
            "per_scenario": dict(summary.per_scenario),
            "path": None if err else str(summary.path),
        }
        click.echo(json.dumps(document, indent=2), err=err)
        return
    click.echo(
        f"{summary.rows} rows, {summary.fraud_rows} fraud ({summary.fraud_rate:.3%})", err=err
    )
    for scenario, count in summary.per_scenario.items():
        click.echo(f"  {scenario:<22} {count:>7}", err=err)
    if not err:
        click.echo(f"written: {summary.path}")


COMMANDS: list[click.Command] = [score_transactions, train_fraud_command, evaluate_fraud_command]
COMMANDS.append(simulate_transactions)
