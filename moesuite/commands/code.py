"""`refactor`: PEP 8 / black formatting with a verification gate, in the conventions of black
and ruff (diff by default, --check, --write; exit 0 clean, 1 would change, 2 error)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

COMMANDS: list[click.Command] = []


@click.command("refactor")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--style", type=click.Choice(["pep8", "black"]), help="[default: pep8]")
@click.option("--line-length", type=int, help="[default: 79 for pep8, 88 for black]")
@click.option("--check", is_flag=True, help="Exit 1 if any file would change; write nothing.")
@click.option("--write", is_flag=True, help="Rewrite files in place (atomically).")
@click.option(
    "--complexity-target",
    type=click.Choice(["low", "medium", "high"]),
    help="Report functions above cyclomatic complexity 5 / 10 / 20 [default: medium].",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--jobs", type=int, help="Worker processes [default: all cores].")
@click.option(
    "--add-noqa/--no-add-noqa",
    "add_noqa",
    default=None,
    help="Under pep8, mark violations with no behaviour-preserving fix (E402, E501 that "
    "cannot be split, E712, E721) with '# noqa' instead of leaving the file untouched "
    "[default: on].",
)
@click.option(
    "--minimal/--no-minimal",
    "minimal",
    default=None,
    help="Under pep8, change only the lines pycodestyle names: quotes and wrapping elsewhere "
    "stay as written (small diffs for old code) [default: off].",
)
@click.option(
    "--quote-style",
    type=click.Choice(["double", "single", "preserve"]),
    help="String quotes when reformatting (ruff format's option) [default: double].",
)
@click.option("--exclude", multiple=True, help="gitignore-style pattern to skip (repeatable).")
@click.option("--detect", is_flag=True, help="Also report likely defects (detect-defects).")
@click.option(
    "--use-model",
    is_flag=True,
    help="Propose model rewrites of functions above the complexity target.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Local HF causal-LM checkpoint for --use-model [default: shipped model].",
)
@click.option("--quantize", type=click.Choice(["4bit"]), help="Load --model in 4-bit.")
@click.option("--verify-with-tests", help="Command whose success accepts a model rewrite.")
def refactor(
    paths,
    style,
    line_length,
    check,
    write,
    complexity_target,
    fmt,
    jobs,
    add_noqa,
    minimal,
    quote_style,
    exclude,
    detect,
    use_model,
    model_path,
    quantize,
    verify_with_tests,
) -> None:
    """Refactor Python PATHS (files, directories, or - for stdin) to PEP 8 without changing
    behaviour: every result must parse, keep its syntax tree (up to named safe rewrites), be
    stable on a second run and, under pep8, pass pycodestyle; else the file is left untouched."""
    from codeassist.config import load_project_config, resolve_options
    from codeassist.refactor.files import refactor_paths, refactor_stdin

    if check and write:
        raise click.UsageError("--check and --write exclude each other")
    flags = {
        "style": style,
        "line-length": line_length,
        "complexity-target": complexity_target,
        "jobs": jobs,
        "add-noqa": add_noqa,
        "minimal": minimal,
        "quote-style": quote_style,
        "exclude": exclude,
        "use-model": use_model or None,
        "model": str(model_path) if model_path else None,
        "quantize": quantize,
        "verify-with-tests": verify_with_tests,
    }
    anchor = next((p for p in paths if str(p) != "-"), Path.cwd())
    options, discovery, n_jobs = resolve_options(flags, load_project_config(anchor))
    mode = "check" if check else "write" if write else "diff"

    if [str(p) for p in paths] == ["-"]:
        outcome = refactor_stdin(sys.stdin.buffer.read(), options)
        if outcome.status == "error":
            click.echo(f"Error: {outcome.reason}", err=True)
            sys.exit(2)
        if not check:
            click.echo(outcome.output if outcome.output is not None else "", nl=False)
        _report_failures([outcome])
        sys.exit(1 if check and outcome.status in ("changed", "failed") else 0)

    from moesuite.progress import command_progress

    progress = command_progress()
    report = refactor_paths(
        [Path(p) for p in paths], options, discovery, mode, n_jobs, progress=progress
    )
    progress.close()
    if use_model:
        from codeassist.refactor.model import apply_model_refactors

        report = apply_model_refactors(report, options, write=write)
    if detect:
        from codeassist.defects.detect import detect_paths
        from codeassist.defects.findings import DetectOptions

        report.extra["findings"] = [
            f.to_dict() if hasattr(f, "to_dict") else f.__dict__
            for f in detect_paths(paths, DetectOptions())
        ]
    _render(report, fmt)
    sys.exit(_exit_code(report))


def _exit_code(report) -> int:
    if report.count("error"):
        return 2
    if report.mode == "check" and (report.count("changed") or report.count("failed")):
        return 1
    return 0


def _report_failures(outcomes) -> None:
    for o in outcomes:
        if o.status in ("failed", "error"):
            click.echo(f"{o.path}: left untouched: {o.reason}", err=True)
            for v in o.violations[:10]:
                click.echo(f"  {v}", err=True)


def _render(report, fmt: str) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "mode": report.mode,
                    "files": [o.to_dict() for o in report.outcomes],
                    "summary": {
                        s: report.count(s) for s in ("changed", "unchanged", "failed", "error")
                    },
                    **report.extra,
                },
                indent=2,
                default=str,
            )
        )
        return
    for o in report.outcomes:
        if report.mode == "diff" and o.diff:
            click.echo(o.diff, nl=False)
        elif report.mode != "diff" and o.status == "changed":
            verb = "would reformat" if report.mode == "check" else "reformatted"
            click.echo(f"{verb} {o.path}", err=True)
        for line, code in o.annotated:
            click.echo(f"{o.path}:{line}: {code} has no safe fix: added '# noqa: {code}'", err=True)
        for kept in o.kept:
            click.echo(f"{o.path}:{kept}", err=True)
        for finding in o.naming:
            click.echo(f"{o.path}:{finding} (pep8-naming: reported, not renamed)", err=True)
        for name, line, value in o.over_target:
            click.echo(
                f"{o.path}:{line}: {name} has cyclomatic complexity {value} "
                f"(target <= {report.max_complexity})",
                err=True,
            )
    _report_failures(report.outcomes)
    for finding in report.extra.get("findings", []):
        click.echo(
            f"{finding.get('path')}:{finding.get('line')}:{finding.get('column')}: "
            f"{finding.get('rule_id')} {finding.get('message')}",
            err=True,
        )
    for line in report.extra.get("model", []):
        click.echo(line, err=True)
    changed = report.count("changed")
    verb = {"check": "would be reformatted", "write": "reformatted", "diff": "would change"}
    click.echo(
        f"{changed} file(s) {verb[report.mode]}, {report.count('unchanged')} unchanged, "
        f"{report.count('failed')} left untouched by the gate, "
        f"{report.count('error')} error(s)",
        err=True,
    )


COMMANDS.append(refactor)
