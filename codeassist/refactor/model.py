"""Model-generated refactors (``refactor --use-model``) behind the verification gate.

For each function above the complexity target the code model proposes rewrites, generated
in one batch. A candidate is applied only if all of these hold: it parses and defines the same
function; its complexity is lower; the file with it passes the refactor gate (formats to a
fixed point, pycodestyle clean); and the file's doctests plus the user's ``--verify-with-tests``
command pass on a temporary copy of the project, in a subprocess with a timeout. Analysed code
is never run otherwise, so without ``--verify-with-tests`` every candidate is rejected.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codeassist.config import RefactorOptions
from codeassist.files import encode_source, read_source, write_atomic
from codeassist.refactor.complexity import function_complexities
from codeassist.refactor.errors import ModelRefactorError
from codeassist.refactor.files import FileOutcome, RefactorReport, file_diff
from codeassist.refactor.pipeline import refactor_source

_PROMPT = "# Same behaviour, simpler control flow (lower cyclomatic complexity).\n"
_IGNORED = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "node_modules", "*.pyc")


def _load(options: RefactorOptions):
    from core_model.load import load

    try:
        if options.model_path is not None:
            return load(options.model_path, quantize=options.quantize)
        from codeassist.code_model import load_code_model

        return load_code_model()
    except Exception as exc:  # any loading failure is the user's to fix: say which model
        raise ModelRefactorError(f"cannot load the model for --use-model: {exc}") from exc


def _function_span(tree: ast.Module, name: str, line: int) -> tuple[int, int] | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno == line:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return start, node.end_lineno
    return None


def _candidate_body(header: str, completion: str, indent: str) -> str:
    """The generated function: the header plus completion lines until the first line that is
    not indented deeper than the function itself."""
    lines = [header + completion.split("\n", 1)[0]]
    for line in completion.split("\n")[1:]:
        if (
            line.strip()
            and not line.startswith(indent + " ")
            and not line.startswith(indent + "\t")
        ):
            break
        lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def _verify_behaviour(path: Path, new_source: str, options: RefactorOptions) -> str | None:
    """Run doctests and the user's tests on a temporary copy; None if they pass, else why."""
    if not options.verify_with_tests:
        return "not verified: pass --verify-with-tests (analysed code is never run otherwise)"
    root = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="moesuite-verify-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(root, copy, ignore=_IGNORED, symlinks=True)
        try:
            target = copy / path.resolve().relative_to(root.resolve())
        except ValueError:
            target = copy / path.name
        target.write_text(new_source, encoding="utf-8")
        checks = [[sys.executable, "-m", "doctest", str(target)], options.verify_with_tests]
        for command in checks:
            try:
                done = subprocess.run(
                    command,
                    cwd=copy,
                    shell=isinstance(command, str),
                    capture_output=True,
                    text=True,
                    timeout=options.test_timeout,
                )
            except subprocess.TimeoutExpired:
                return f"tests timed out after {options.test_timeout:.0f} s"
            if done.returncode != 0:
                what = "doctests" if isinstance(command, list) else "tests"
                return f"{what} failed (exit {done.returncode})"
    return None


def _check_candidate(
    source: str,
    span: tuple[int, int],
    name: str,
    complexity: int,
    candidate: str,
    path: Path,
    options: RefactorOptions,
) -> tuple[str | None, str]:
    """(reason it is rejected or None, the whole new file)."""
    try:
        tree = ast.parse(candidate)
    except SyntaxError as exc:
        return f"does not parse (line {exc.lineno}: {exc.msg})", ""
    defined = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(defined) != 1 or defined[0].name != name:
        return f"does not define exactly the function {name}", ""
    lines = source.splitlines(keepends=True)
    new_source = "".join(lines[: span[0] - 1]) + candidate + "".join(lines[span[1] :])
    try:
        new_complexity = max(f.complexity for f in function_complexities(candidate))
    except (SyntaxError, ValueError):
        return "complexity cannot be measured", ""
    if new_complexity >= complexity:
        return f"complexity {new_complexity} is not below {complexity}", ""
    gated = refactor_source(new_source, options, str(path))
    if gated.status == "failed":
        return f"gate: {gated.reason}", ""
    reason = _verify_behaviour(path, gated.output, options)
    return reason, gated.output


def apply_model_refactors(
    report: RefactorReport, options: RefactorOptions, write: bool = False
) -> RefactorReport:
    """Propose, verify and (if accepted) apply model rewrites for over-complex functions."""
    from core_model.config import GenerationConfig
    from core_model.generate import generate

    todo = [o for o in report.outcomes if o.over_target and o.status != "error"]
    lines: list[str] = []
    if not todo:
        return dataclasses.replace(report, extra={**report.extra, "model": lines})
    model = _load(options)
    outcomes = {o.path: o for o in report.outcomes}
    accepted = tried = 0
    for outcome in todo:
        path = Path(outcome.path)
        source = read_source(path)
        tree = ast.parse(source.text)
        for name, line, complexity in outcome.over_target:
            span = _function_span(tree, name.rsplit(".", 1)[-1], line)
            if span is None:
                continue
            original = "".join(source.text.splitlines(keepends=True)[span[0] - 1 : span[1]])
            indent = original[: len(original) - len(original.lstrip())]
            header = original.split("\n", 1)[0].split("(", 1)[0] + "("
            prompt = _PROMPT + original + "\n\n" + _PROMPT + header
            configs = [
                GenerationConfig(max_new_tokens=256, temperature=0.8, top_p=0.95, seed=s)
                for s in range(options.candidates)
            ]
            completions = [generate(model, [prompt], c)[0] for c in configs]
            for k, completion in enumerate(completions):
                tried += 1
                candidate = _candidate_body(header, completion, indent)
                reason, new_file = _check_candidate(
                    source.text, span, name.rsplit(".", 1)[-1], complexity, candidate, path, options
                )
                if reason is not None:
                    lines.append(f"{path}:{line}: {name}: candidate {k + 1} rejected: {reason}")
                    continue
                accepted += 1
                lines.append(f"{path}:{line}: {name}: candidate {k + 1} accepted")
                if write:
                    write_atomic(path, encode_source(source, new_file), source.mode)
                outcomes[outcome.path] = FileOutcome(
                    outcome.path, "changed", diff=file_diff(str(path), source.text, new_file)
                )
                break
    lines.append(f"model refactors: {accepted} of {tried} candidates accepted")
    return dataclasses.replace(
        report,
        outcomes=tuple(outcomes[o.path] for o in report.outcomes),
        extra={**report.extra, "model": lines},
    )
