"""Refactor files and directories: discovery, decoding, the pure core, diffs and atomic
writes. ``refactor_paths`` is what the CLI, the pre-commit hook and the workers call."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from codeassist.config import DiscoveryOptions, RefactorOptions
from codeassist.errors import CodeassistError
from codeassist.files import (
    SourceFile,
    decode_source,
    discover_files,
    encode_source,
    read_source,
    write_atomic,
)
from codeassist.refactor import RefactorResult, refactor_source

MODES = ("diff", "check", "write")


@dataclass(frozen=True)
class FileOutcome:
    """One file's outcome: ``status`` is unchanged, changed (would change, or was written),
    failed (the gate refused; file untouched) or error (unreadable, unparseable, unwritable)."""

    path: str
    status: str
    diff: str = ""
    reason: str = ""
    violations: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, int], ...] = ()
    over_target: tuple[tuple[str, int, int], ...] = ()
    output: str | None = None  # the new text for stdin input

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "violations": list(self.violations),
            "rewrites": [{"name": n, "sites": c} for n, c in self.rewrites],
            "complexity_over_target": [
                {"function": n, "line": line, "complexity": c} for n, line, c in self.over_target
            ],
        }


@dataclass(frozen=True)
class RefactorReport:
    outcomes: tuple[FileOutcome, ...]
    mode: str
    max_complexity: int
    extra: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def _diff(path: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def _outcome(source: SourceFile, result: RefactorResult) -> FileOutcome:
    over = tuple((f.name, f.line, f.complexity) for f in result.over_target)
    if result.status == "failed":
        return FileOutcome(
            source.path,
            "failed",
            reason=result.reason,
            violations=result.violations,
            over_target=over,
        )
    diff = _diff(source.path, source.text, result.output) if result.changed else ""
    return FileOutcome(
        source.path,
        result.status,
        diff=diff,
        rewrites=result.rewrites,
        over_target=over,
        output=result.output,
    )


def refactor_file(path: str, options: RefactorOptions, mode: str) -> FileOutcome:
    """Refactor one file; in ``write`` mode replace it atomically (mode, encoding, BOM and
    newline style kept). Errors become an ``error`` outcome, never a half-written file."""
    try:
        source = read_source(Path(path))
        result = refactor_source(source.text, options, path)
        outcome = _outcome(source, result)
        if mode == "write" and outcome.status == "changed":
            write_atomic(Path(path), encode_source(source, result.output), source.mode)
        return FileOutcome(**{**outcome.__dict__, "output": None})
    except CodeassistError as exc:
        return FileOutcome(path, "error", reason=str(exc))


def refactor_stdin(data: bytes, options: RefactorOptions) -> FileOutcome:
    """Refactor source read from stdin; the caller writes ``output`` to stdout."""
    try:
        source = decode_source(data, "-")
        return _outcome(source, refactor_source(source.text, options, "-"))
    except CodeassistError as exc:
        return FileOutcome("-", "error", reason=str(exc))


def refactor_paths(
    paths: Sequence[Path],
    options: RefactorOptions,
    discovery: DiscoveryOptions,
    mode: str = "diff",
    jobs: int = 1,
    progress: bool = True,
) -> RefactorReport:
    """Refactor every Python file under ``paths`` (see `FileOutcome` for the statuses)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    files = [str(p) for p in discover_files(paths, discovery)]
    bar = tqdm(
        total=len(files), unit="file", file=sys.stderr, disable=not progress or len(files) < 20
    )
    outcomes: list[FileOutcome] = []
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for outcome in pool.map(
                refactor_file, files, [options] * len(files), [mode] * len(files), chunksize=4
            ):
                outcomes.append(outcome)
                bar.update()
    else:
        for path in files:
            outcomes.append(refactor_file(path, options, mode))
            bar.update()
    bar.close()
    return RefactorReport(tuple(outcomes), mode, options.max_complexity)
