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
from moesuite.formats import echo_json, format_option
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
@click.option(
    "--learned/--no-learned",
    default=False,
    help="Also run the learned detector (code model + classifier; needs the 'model' extra). "
    "Off by default: on real fixes of the validation repositories it found no bug whose fixed "
    "version it left alone, at ~50x the time (docs/benchmarks.md).",
)
@click.option(
    "--pylint/--no-pylint",
    default=False,
    help="Run pylint's chosen inference checks (no-member, call arguments, ...; slower).",
)
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
    settings: Settings,
    paths,
    fmt,
    min_confidence,
    static,
    semantic,
    learned,
    pylint,
    threads,
    source_root,
):
    """Find likely bugs in PATHS (files, directories, - for stdin). Exit 1 when any are found."""
    from codeassist.defects.detect import detect_paths

    options = DetectOptions(
        static=static,
        semantic=semantic,
        learned=learned,
        min_confidence=min_confidence,
        threads=threads,
        pylint=pylint,
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
@click.option("--steps", type=click.IntRange(1), default=None, help="Optimiser steps [4000].")
@click.option("--seed", type=int, default=0)
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=1,
    help="CPU threads; the shipped model records its own in training.json [1].",
)
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Train on the .py files under DIR (your own code; .gitignore respected) instead of "
    "the installed packages. The shipped defect detector needs the shipped code model.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def train_code_model_command(output, steps, seed, threads, corpus_dir, fmt="text"):
    """Train the default code model (BPE + small MoE) on the installed packages."""
    import dataclasses

    from codeassist.code_model import CODE_MODEL_DIR, CodeModelConfig, train_code_model

    if corpus_dir is not None and output is None:
        # The shipped model is what the shipped detector was trained on: never overwrite it
        # with a model of other text.
        raise click.UsageError("--corpus needs --output (the shipped model stays as it is)")
    config = CodeModelConfig(seed=seed, threads=threads)
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    progress = command_progress()
    report = train_code_model(
        output or CODE_MODEL_DIR, config, progress=progress, corpus_dir=corpus_dir
    )
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
@click.option(
    "--fixes", "fixes_files", multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also learn from real bug fixes (a `mine-fixes` data set: its train split; its "
    "validation split picks --fix-weight); repeatable.",
)  # fmt: skip
@click.option(
    "--fix-weight", "fix_weights", multiple=True, type=click.FloatRange(0), default=None,
    help="With --fixes: sample weights of the fix rows to try; 0 is seeded mutants only "
    "[0, 1, 3]. Nothing is written when 0 does best.",
)  # fmt: skip
@click.option("--max-fix-cases", type=click.IntRange(1), default=400, show_default=True,
              help="With --fixes: training fixes used (sampled statements of each).")  # fmt: skip
@click.option("--max-validation-cases", type=click.IntRange(1), default=150, show_default=True,
              help="With --fixes: validation fixes scored whole.")  # fmt: skip
@click.option("--calibration-files", type=click.IntRange(1), default=None,
              help="Whole files that set the threshold [calibrate-defects' default].")  # fmt: skip
@click.option(
    "--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Keep feature rows here and reuse them (keyed by code model, files and settings).",
)  # fmt: skip
def train_defects(
    output, n_files, mutants, clean_per_file, validation_files, seed, fixes_files, fix_weights,
    max_fix_cases, max_validation_cases, calibration_files, cache_dir,
):  # fmt: skip
    """Train the learned defect detector on seeded bugs in the training packages (and, with
    --fixes, on real bug fixes of training repositories)."""
    import dataclasses

    from codeassist.defects.training import CalibrateConfig, TrainDetectorConfig, train_detector
    from core_model.runtime import set_threads

    set_threads(1)
    config = TrainDetectorConfig(
        files=n_files,
        mutants_per_file=mutants,
        clean_per_file=clean_per_file,
        validation_files=validation_files,
        seed=seed,
    )
    calibrate = CalibrateConfig()
    if calibration_files is not None:
        calibrate = dataclasses.replace(calibrate, files=calibration_files)
    if not fixes_files:
        progress = command_progress()
        report = train_detector(output, config, calibrate, progress=progress)
        progress.close()
        click.echo(json.dumps(report, indent=2))
        return
    from codeassist.defects.fixes_training import FixesTrainConfig, train_with_fixes

    fixes = FixesTrainConfig(
        max_train_cases=max_fix_cases, max_validation_cases=max_validation_cases, seed=seed
    )
    if fix_weights:
        fixes = dataclasses.replace(fixes, fix_weights=tuple(fix_weights))
    report = train_with_fixes(output, list(fixes_files), config, fixes, calibrate, cache_dir)
    click.echo(json.dumps(report, indent=2))
    if report["detector"] is None:
        click.echo("seeded mutants alone did as well on the validation fixes: nothing written",
                   err=True)  # fmt: skip


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
@click.option(
    "--fixes", "fixes_files", multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Judge on real bug fixes (a `mine-fixes` data set) instead of seeded bugs, against "
    "ruff and pylint in the same run; repeatable.",
)  # fmt: skip
@click.option(
    "--split", type=click.Choice(["test", "validation", "train"]), default="test",
    show_default=True, help="With --fixes: whose repositories' fixes.",
)  # fmt: skip
@click.option("--max-cases", type=click.IntRange(1), default=None,
              help="With --fixes: at most this many cases [all].")  # fmt: skip
@click.option(
    "--engine", "engines", multiple=True,
    type=click.Choice(["static", "semantic", "pylint-checks", "learned", "static + semantic",
                       "static + semantic + pylint-checks", "static + learned",
                       "static + semantic + learned", "ruff", "pylint"]),
    help="With --fixes: engines to run; repeatable [all].",
)  # fmt: skip
@click.option(
    "--detector", "detector_dir", type=click.Path(file_okay=False, path_type=Path),
    default=None, help="With --fixes: learned detector to judge [the shipped one].",
)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def evaluate_defects(
    n_files, mutants, seed, max_file_bytes, exclude, gate, fixes_files, split, max_cases,
    engines, detector_dir, fmt,
):  # fmt: skip
    """Precision, recall, ROC-AUC per bug kind and false alarms on held-out packages; with
    --fixes, hits and flagged fixed files on real bug fixes of held-out repositories."""
    import dataclasses

    from codeassist.defects.evaluate import EvaluateConfig, evaluate, render_table
    from core_model.runtime import set_threads

    if fixes_files:
        from codeassist.defects.fixes import load_fixes
        from codeassist.defects.fixes_eval import (
            ENGINES,
            FixesEvalConfig,
            evaluate_fixes,
            render_fixes_table,
        )

        set_threads(1)
        chosen = set(engines or ENGINES)
        chosen |= {part for e in chosen for part in e.split(" + ")}  # combinations need parts
        chosen = tuple(e for e in ENGINES if e in chosen)
        config = FixesEvalConfig(
            split=split, max_cases=max_cases, engines=chosen, detector_dir=detector_dir
        )
        cases = load_fixes(fixes_files, split=split)
        if not cases:
            raise click.UsageError(f"no {split} cases in {', '.join(map(str, fixes_files))}")
        report = evaluate_fixes(cases, config)
        if fmt == "json":
            report["engines"] = {
                e: {k: v for k, v in r.items() if k != "hit_cases"}
                for e, r in report["engines"].items()
            }
        click.echo(json.dumps(report, indent=2) if fmt == "json" else render_fixes_table(report))
        return

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


@click.command("mine-fixes")
@click.argument(
    "repos", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="JSONL data set to write (keep it outside your repository: it is others' code).",
)  # fmt: skip
@click.option(
    "--recipe", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the recipe (settings, HEADs, split, commits kept, data digest) as JSON.",
)  # fmt: skip
@click.option("--max-commits", type=click.IntRange(1), default=20_000, show_default=True,
              help="Commits touching .py files scanned per repository, newest first.")  # fmt: skip
@click.option("--since", default=None, help="Only commits after this date (git log --since).")
@click.option("--max-fixes", type=click.IntRange(1), default=None,
              help="Fixes kept per repository, the newest [all].")  # fmt: skip
@click.option("--max-changed-lines", type=click.IntRange(1), default=6, show_default=True,
              help="Lines added, and lines removed, in the fixed file (each).")  # fmt: skip
@click.option("--max-statements", type=click.IntRange(1), default=3, show_default=True,
              help="Statements the fix touches.")  # fmt: skip
@click.option("--validation", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Share of the cases whose repositories form the validation split.")  # fmt: skip
@click.option("--test", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Share of the cases whose repositories form the test split.")  # fmt: skip
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Repositories mined at a time (one process each).")  # fmt: skip
@format_option("text", "json")
def mine_fixes(
    repos, output, recipe, max_commits, since, max_fixes, max_changed_lines, max_statements,
    validation, test, jobs, fmt,
):  # fmt: skip
    """Extract small bug fixes (one function, a few statements) from git repositories REPOS
    into a JSONL data set, split by repository into train / validation / test."""
    from codeassist.defects.fix_diff import DiffLimits
    from codeassist.defects.fixes import split_repositories, write_fixes
    from codeassist.defects.mining import (
        MineConfig,
        build_recipe,
        mine_repositories,
        with_splits,
    )
    from codeassist.files import write_atomic

    config = MineConfig(
        max_commits=max_commits,
        since=since,
        max_fixes=max_fixes,
        max_changed_lines=max_changed_lines,
        limits=DiffLimits(max_statements=max_statements),
    )
    reports = []
    for report in mine_repositories(list(repos), config, jobs=jobs):
        if report.error:
            click.echo(f"{report.repo}: skipped: {report.error}", err=True)
            reports.append(report)
            continue
        click.echo(
            f"{report.repo}: {report.scanned} commits scanned, {report.candidates} fix-like "
            f"commits read, {len(report.cases)} fixes kept",
            err=True,
        )
        reports.append(report)
    split = split_repositories(
        {r.repo: len(r.cases) for r in reports if not r.error}, validation, test
    )
    cases = with_splits([c for r in reports for c in r.cases], split)
    digest = write_fixes(cases, output)
    if recipe is not None:
        document = build_recipe(reports, config, split, output.name, digest)
        write_atomic(recipe, (json.dumps(document, indent=2) + "\n").encode())
    splits = {
        name: {
            "fixes": sum(c.split == name for c in cases),
            "repositories": sorted(r for r, s in split.items() if s == name),
        }
        for name in ("train", "validation", "test")
    }
    if fmt == "json":
        echo_json(
            {
                "repositories": [
                    {
                        "repo": r.repo,
                        "head": r.head,
                        "scanned": r.scanned,
                        "candidates": r.candidates,
                        "fixes": len(r.cases),
                        "error": r.error,
                    }
                    for r in reports
                ],
                "splits": splits,
                "fixes": len(cases),
                "output": output,
                "sha256": digest,
                "recipe": recipe,
            }
        )
        return
    for name, part in splits.items():
        members = ", ".join(part["repositories"]) or "-"
        click.echo(f"{name}: {part['fixes']} fixes from {members}")
    click.echo(f"{len(cases)} fixes -> {output} (sha256 {digest})")


COMMANDS: list[click.Command] = [
    calibrate_defects,
    mine_fixes,
    detect_defects,
    evaluate_defects,
    train_code_model_command,
    train_defects,
]
