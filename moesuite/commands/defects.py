"""Defect-detection commands: detect-defects, evaluate-defects, train-code-model, train-defects.

Each parses its flags, calls one codeassist function and renders the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from codeassist.defects.findings import DetectOptions
from moesuite.commands.context import pass_settings
from moesuite.progress import command_progress
from moesuite.settings import Settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moesuite")
    except PackageNotFoundError:
        return "0.1.0+local"


@click.command("detect-defects")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text")
@click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Report findings at or above this confidence [static: 0.75, the bug-tier rules; "
    "learned: the detector's calibrated threshold].",
)
@click.option("--static/--no-static", default=True, help="Run the ruff bug rules.")
@click.option(
    "--semantic/--no-semantic",
    default=True,
    help="Run the semantic rules (self attributes, loop variables, call arity, ...).",
)
@click.option("--learned/--no-learned", default=True, help="Run the learned detector.")
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=1,
    help="CPU threads for the learned part; more than the free cores collapses under load [1].",
)
@click.option(
    "--source-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Root SARIF URIs are relative to [the enclosing git work tree].",
)
@pass_settings
def detect_defects(
    settings: Settings, paths, fmt, min_confidence, static, semantic, learned, threads, source_root
):
    """Find likely bugs in PATHS (files, directories, - for stdin). Exit 1 when any are found."""
    from codeassist.defects.detect import detect_paths

    options = DetectOptions(
        static=static,
        semantic=semantic,
        learned=learned,
        min_confidence=min_confidence,
        threads=threads,
    )
    stdin_text = sys.stdin.read() if "-" in paths else None
    progress = command_progress()
    findings, line_texts = detect_paths(
        list(paths), options, stdin_text=stdin_text, progress=progress
    )
    progress.close()
    if fmt == "json":
        click.echo(json.dumps([f.to_dict() for f in findings], indent=2))
    elif fmt == "sarif":
        from codeassist.defects.sarif import build_sarif, find_source_root, validate_sarif

        root = source_root or find_source_root(Path.cwd())
        from codeassist.defects.semantic import describe_sarif_rules

        document = describe_sarif_rules(build_sarif(findings, root, _version(), line_texts))
        validate_sarif(document)
        click.echo(json.dumps(document, indent=2))
    else:
        for f in findings:
            fix = f" [fix: {f.fix}]" if f.fix else ""
            click.echo(
                f"{f.path}:{f.line}:{f.column}: {f.rule_id} ({f.kind}, "
                f"{f.confidence:.2f}) {f.message}{fix}"
            )
        click.echo(f"{len(findings)} finding(s)", err=True)
    if findings:
        sys.exit(1)


@click.command("train-code-model")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write [codeassist/assets/code_model].",
)
@click.option("--steps", type=int, default=None)
@click.option("--seed", type=int, default=0)
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=1,
    help="CPU threads; the shipped model records its own in training.json [1].",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def train_code_model_command(output, steps, seed, threads, fmt="text"):
    """Train the default code model (BPE + small MoE) on the installed packages."""
    import dataclasses

    from codeassist.code_model import CODE_MODEL_DIR, CodeModelConfig, train_code_model

    config = CodeModelConfig(seed=seed, threads=threads)
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    progress = command_progress()
    report = train_code_model(output or CODE_MODEL_DIR, config, progress=progress)
    progress.close()
    if fmt == "json":
        from dataclasses import asdict

        click.echo(json.dumps(asdict(report), indent=2, default=str))
        return
    click.echo(
        f"code model: {report.files} files, {report.characters} chars, "
        f"eval loss {report.initial_eval_loss:.3f} -> {report.eval_loss:.3f}, "
        f"{report.steps} steps in {report.seconds:.0f} s -> {report.directory}"
    )


@click.command("train-defects")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write [codeassist/assets/defect_detector].",
)
@click.option("--files", "n_files", type=int, default=300, help="Training files.")
@click.option("--mutants", type=int, default=10, help="Seeded bugs per file.")
@click.option("--clean", "clean_per_file", type=int, default=20, help="Clean statements per file.")
@click.option(
    "--validation-files", type=int, default=40, help="Whole files that calibrate the threshold."
)
@click.option("--seed", type=int, default=0)
def train_defects(output, n_files, mutants, clean_per_file, validation_files, seed):
    """Train the learned defect detector on seeded bugs in the training packages."""
    from codeassist.defects.training import TrainDetectorConfig, train_detector
    from core_model.runtime import set_threads

    set_threads(1)
    config = TrainDetectorConfig(
        files=n_files,
        mutants_per_file=mutants,
        clean_per_file=clean_per_file,
        validation_files=validation_files,
        seed=seed,
    )
    progress = command_progress()
    report = train_detector(output, config, progress=progress)
    progress.close()
    click.echo(json.dumps(report, indent=2))


@click.command("calibrate-defects")
@click.option(
    "--detector",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Detector directory to recalibrate in place [codeassist/assets/defect_detector].",
)
@click.option("--files", "n_files", type=int, default=None, help="Whole calibration files.")
@click.option("--target", type=float, default=None, help="Static + learned alarms per 1k lines.")
def calibrate_defects(directory, n_files, target):
    """Set the learned detector's default threshold on packages it was not trained on."""
    import dataclasses

    from codeassist.code_model import load_code_model
    from codeassist.defects.detector import DETECTOR_DIR, load_detector, save_calibration
    from codeassist.defects.training import CalibrateConfig, calibrate_detector
    from core_model.runtime import set_threads

    set_threads(1)
    config = CalibrateConfig()
    if n_files is not None:
        config = dataclasses.replace(config, files=n_files)
    if target is not None:
        config = dataclasses.replace(config, false_alarm_target=target)
    directory = directory or DETECTOR_DIR
    progress = command_progress()
    progress.stage("load models")
    detector = load_detector(directory)
    detector = calibrate_detector(detector, load_code_model(), config, progress=progress)
    save_calibration(detector, directory)
    progress.close()
    click.echo(json.dumps(dict(detector.meta, threshold=detector.threshold), indent=2))


@click.command("evaluate-defects")
@click.option("--files", "n_files", type=int, default=40, help="Held-out files.")
@click.option("--mutants", type=int, default=6, help="Seeded bugs per file.")
@click.option("--seed", type=int, default=1)
@click.option(
    "--max-file-bytes", type=int, default=60_000, show_default=True, help="Skip larger files."
)
@click.option(
    "--exclude-sample",
    "exclude",
    multiple=True,
    metavar="FILES:SEED",
    help="Leave out the files of an earlier sample (--files FILES --seed SEED); repeatable.",
)
@click.option(
    "--gate",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Score a statement's candidate edits in full only where the first pass rates it at "
    "or above G; 0 scores every statement in full [0, as detect-defects does].",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def evaluate_defects(n_files, mutants, seed, max_file_bytes, exclude, gate, fmt):
    """Precision, recall, ROC-AUC per bug kind and false alarms on held-out packages."""
    import dataclasses

    from codeassist.defects.evaluate import EvaluateConfig, evaluate, render_table
    from core_model.runtime import set_threads

    samples = []
    for item in exclude:
        files, _, sample_seed = item.partition(":")
        if not (files.isdigit() and sample_seed.lstrip("-").isdigit()):
            raise click.BadParameter(
                f"{item!r} is not FILES:SEED, e.g. 40:1", param_hint="--exclude-sample"
            )
        samples.append((int(files), int(sample_seed)))
    set_threads(1)
    config = EvaluateConfig(
        files=n_files,
        mutants_per_file=mutants,
        seed=seed,
        max_file_bytes=max_file_bytes,
        exclude_samples=tuple(samples),
    )
    if gate is not None:
        config = dataclasses.replace(config, gate=gate)
    progress = command_progress()
    report = evaluate(config, progress=progress)
    progress.close()
    click.echo(json.dumps(report, indent=2) if fmt == "json" else render_table(report))


COMMANDS: list[click.Command] = [
    calibrate_defects,
    detect_defects,
    evaluate_defects,
    train_code_model_command,
    train_defects,
]
